pragma circom 2.1.0;
// Pooling over [C, H, W] (flattened C-order). Max pooling skips padding; average pooling divides by the full
// window (count_include_pad = 1) through a requantization by M / 2^S ~ 1 / (kh * kw).
include "requantize.circom";
include "circomlib/circuits/comparators.circom";

// out = max(a, b) for operands in [-2^(bits-1), 2^(bits-1)) (LessThan(bits) decomposes a - b + 2^bits, which lies
// in [1, 2^(bits+1))).
template Max2(bits) {
    signal input a;
    signal input b;
    signal output out;
    component lt = LessThan(bits);
    lt.in <== [a, b];
    out <== a + lt.out * (b - a);
}

template MaxPool(C, H, W, K, STRIDE, PADS, bits) {
    var OH = (H + PADS[0] + PADS[2] - K[0]) \ STRIDE[0] + 1;
    var OW = (W + PADS[1] + PADS[3] - K[1]) \ STRIDE[1] + 1;
    signal input in[C * H * W];
    signal output out[C * OH * OW];
    component mx[C * OH * OW][K[0] * K[1]];
    for (var c = 0; c < C; c++) for (var i = 0; i < OH; i++) for (var j = 0; j < OW; j++) {
        var o = (c * OH + i) * OW + j;
        var n = 0;
        var cur = 0;
        for (var u = 0; u < K[0]; u++) for (var v = 0; v < K[1]; v++) {
            var r = i * STRIDE[0] + u - PADS[0];
            var col = j * STRIDE[1] + v - PADS[1];
            if (r >= 0 && r < H && col >= 0 && col < W) {
                if (n == 0) {
                    cur = in[(c * H + r) * W + col];
                } else {
                    mx[o][n] = Max2(bits);
                    mx[o][n].a <== cur;
                    mx[o][n].b <== in[(c * H + r) * W + col];
                    cur = mx[o][n].out;
                }
                n++;
            }
        }
        out[o] <== cur;
    }
}

template AvgPool(C, H, W, K, STRIDE, PADS, M, S, Q, bits) {
    var OH = (H + PADS[0] + PADS[2] - K[0]) \ STRIDE[0] + 1;
    var OW = (W + PADS[1] + PADS[3] - K[1]) \ STRIDE[1] + 1;
    signal input in[C * H * W];
    signal output out[C * OH * OW];
    component rq[C * OH * OW];
    for (var c = 0; c < C; c++) for (var i = 0; i < OH; i++) for (var j = 0; j < OW; j++) {
        var o = (c * OH + i) * OW + j;
        var acc = 0;
        for (var u = 0; u < K[0]; u++) for (var v = 0; v < K[1]; v++) {
            var r = i * STRIDE[0] + u - PADS[0];
            var col = j * STRIDE[1] + v - PADS[1];
            if (r >= 0 && r < H && col >= 0 && col < W) acc += M[c] * in[(c * H + r) * W + col];
        }
        rq[o] = Requantize(S[c], Q[c], bits, 0);
        rq[o].in <== acc;
        out[o] <== rq[o].out;
    }
}
