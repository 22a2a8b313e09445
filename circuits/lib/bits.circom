pragma circom 2.1.0;
// Range checks by bit decomposition, the base of every other template's uniqueness argument. Unsigned ones are
// circomlib's Num2Bits(n) (the n bits of a value in [0, 2^n), else no witness; comparisons: circomlib's LessThan
// and GreaterThan); this file adds the signed range check circomlib lacks.
include "circomlib/circuits/bitify.circom";

// `in` must lie in [-2^(n-1), 2^(n-1)); sign = 1 iff in >= 0.
template SignedRange(n) {
    signal input in;
    signal output sign;
    component b = Num2Bits(n);
    b.in <== in + 2 ** (n - 1);
    sign <== b.out[n - 1];
}
