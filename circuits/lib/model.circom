pragma circom 2.1.0;
// The whole template library, for generated model circuits (circuits/compiler/circom.ts).
include "bits.circom";
include "requantize.circom";
include "dense.circom";
include "conv.circom";
include "pool.circom";
include "activation.circom";
include "hash.circom";
