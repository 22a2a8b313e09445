pragma circom 2.1.0;
// Stand-alone ReLU and argmax (ReLU after a linear layer is fused into Requantize instead).
include "bits.circom";
include "circomlib/circuits/comparators.circom";

// out = max(in, 0) for in in [-2^(bits-1), 2^(bits-1)).
template Relu(bits) {
    signal input in;
    signal output out;
    component r = SignedRange(bits);
    r.in <== in;
    out <== r.sign * in;
}

// out = index of the maximum of in[0..n), the first one on ties; operands in [-2^(bits-1), 2^(bits-1)).
template Argmax(n, bits) {
    signal input in[n];
    signal output out;
    signal cur[n];
    signal idx[n];
    component gt[n];
    cur[0] <== in[0];
    idx[0] <== 0;
    for (var i = 1; i < n; i++) {
        // strictly greater: a later equal value does not move the index
        gt[i] = GreaterThan(bits);
        gt[i].in <== [in[i], cur[i - 1]];
        cur[i] <== cur[i - 1] + gt[i].out * (in[i] - cur[i - 1]);
        idx[i] <== idx[i - 1] + gt[i].out * (i - idx[i - 1]);
    }
    out <== idx[n - 1];
}
