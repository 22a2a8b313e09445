pragma circom 2.1.0;
// Packing and the Poseidon sponge of sdk/hash.ts: inputHash, weightsCommitment and the packed public outputs.
include "bits.circom";
include "circomlib/circuits/poseidon.circom";

// sdk packSigned: values in [-2^(bits-1), 2^(bits-1)) (the caller range-checks them), offset to unsigned and
// packed little-endian, 248 \ bits to a limb.
template PackSigned(n, bits) {
    var k = 248 \ bits;
    var L = (n + k - 1) \ k;
    signal input in[n];
    signal output out[L];
    for (var j = 0; j < L; j++) {
        var limb = 0;
        for (var t = 0; t < k; t++) {
            if (j * k + t < n) limb += (in[j * k + t] + 2 ** (bits - 1)) * 2 ** (bits * t);
        }
        out[j] <== limb;
    }
}

// sdk poseidonSponge: h = 0; per chunk of 15 (zero-padded), h = Poseidon16([h, chunk...]).
template PoseidonSponge(n) {
    var chunks = n == 0 ? 1 : (n + 14) \ 15;
    signal input in[n];
    signal output out;
    component p[chunks];
    for (var c = 0; c < chunks; c++) {
        p[c] = Poseidon(16);
        if (c == 0) {
            p[c].inputs[0] <== 0;
        } else {
            p[c].inputs[0] <== p[c - 1].out;
        }
        for (var t = 0; t < 15; t++) {
            if (c * 15 + t < n) {
                p[c].inputs[t + 1] <== in[c * 15 + t];
            } else {
                p[c].inputs[t + 1] <== 0;
            }
        }
    }
    out <== p[chunks - 1].out;
}

// sdk hashVector(values, bits) with every value range-checked: the input hash (and the weights commitment).
template HashVector(n, bits) {
    signal input in[n];
    signal output out;
    component range[n];
    component pack = PackSigned(n, bits);
    for (var i = 0; i < n; i++) {
        range[i] = SignedRange(bits);
        range[i].in <== in[i];
        pack.in[i] <== in[i];
    }
    component sponge = PoseidonSponge((n + (248 \ bits) - 1) \ (248 \ bits));
    sponge.in <== pack.out;
    out <== sponge.out;
}
