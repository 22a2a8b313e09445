pragma circom 2.1.0;
// Dense layers fused with requantization: out[o] = Requantize(M[o] * (B[o] + sum_k W[o][k] * in[k])).
include "requantize.circom";

// Constant weights: the whole dot product is a linear combination folded into the requantization constraint.
template Dense(nIn, nOut, W, B, M, S, Q, outBits, relu) {
    signal input in[nIn];
    signal output out[nOut];
    component rq[nOut];
    for (var o = 0; o < nOut; o++) {
        var acc = M[o] * B[o];
        for (var k = 0; k < nIn; k++) acc += M[o] * W[o][k] * in[k];
        rq[o] = Requantize(S[o], Q[o], outBits, relu);
        rq[o].in <== acc;
        out[o] <== rq[o].out;
    }
}

// Committed weights: w and b are private inputs (range-checked and hashed by the caller); one product per weight.
template DenseCommitted(nIn, nOut, M, S, Q, outBits, relu) {
    signal input in[nIn];
    signal input w[nOut][nIn];
    signal input b[nOut];
    signal output out[nOut];
    signal prod[nOut][nIn];
    component rq[nOut];
    for (var o = 0; o < nOut; o++) {
        var acc = M[o] * b[o];
        for (var k = 0; k < nIn; k++) {
            prod[o][k] <== w[o][k] * in[k];
            acc += M[o] * prod[o][k];
        }
        rq[o] = Requantize(S[o], Q[o], outBits, relu);
        rq[o].in <== acc;
        out[o] <== rq[o].out;
    }
}
