pragma circom 2.1.0;
// 2-D convolution (NCHW, groups = 1, zero padding) fused with requantization. Tensors are flattened C-order;
// K = [kh, kw], STRIDE = [sh, sw], PADS = [top, left, bottom, right]; W is [OC][C][kh][kw] flattened.
include "requantize.circom";

template Conv2D(C, H, W, OC, K, STRIDE, PADS, Wt, B, M, S, Q, outBits, relu) {
    var OH = (H + PADS[0] + PADS[2] - K[0]) \ STRIDE[0] + 1;
    var OW = (W + PADS[1] + PADS[3] - K[1]) \ STRIDE[1] + 1;
    signal input in[C * H * W];
    signal output out[OC * OH * OW];
    component rq[OC * OH * OW];
    for (var oc = 0; oc < OC; oc++) for (var i = 0; i < OH; i++) for (var j = 0; j < OW; j++) {
        var o = (oc * OH + i) * OW + j;
        var acc = M[oc] * B[oc];
        for (var c = 0; c < C; c++) for (var u = 0; u < K[0]; u++) for (var v = 0; v < K[1]; v++) {
            var r = i * STRIDE[0] + u - PADS[0];
            var col = j * STRIDE[1] + v - PADS[1];
            if (r >= 0 && r < H && col >= 0 && col < W) {
                acc += M[oc] * Wt[((oc * C + c) * K[0] + u) * K[1] + v] * in[(c * H + r) * W + col];
            }
        }
        rq[o] = Requantize(S[oc], Q[oc], outBits, relu);
        rq[o].in <== acc;
        out[o] <== rq[o].out;
    }
}

template Conv2DCommitted(C, H, W, OC, K, STRIDE, PADS, M, S, Q, outBits, relu) {
    var OH = (H + PADS[0] + PADS[2] - K[0]) \ STRIDE[0] + 1;
    var OW = (W + PADS[1] + PADS[3] - K[1]) \ STRIDE[1] + 1;
    signal input in[C * H * W];
    signal input w[OC * C * K[0] * K[1]];
    signal input b[OC];
    signal output out[OC * OH * OW];
    signal prod[OC * OH * OW][C * K[0] * K[1]];
    component rq[OC * OH * OW];
    for (var oc = 0; oc < OC; oc++) for (var i = 0; i < OH; i++) for (var j = 0; j < OW; j++) {
        var o = (oc * OH + i) * OW + j;
        var acc = M[oc] * b[oc];
        for (var c = 0; c < C; c++) for (var u = 0; u < K[0]; u++) for (var v = 0; v < K[1]; v++) {
            var r = i * STRIDE[0] + u - PADS[0];
            var col = j * STRIDE[1] + v - PADS[1];
            if (r >= 0 && r < H && col >= 0 && col < W) {
                var t = (c * K[0] + u) * K[1] + v;
                prod[o][t] <== w[((oc * C + c) * K[0] + u) * K[1] + v] * in[(c * H + r) * W + col];
                acc += M[oc] * prod[o][t];
            }
        }
        rq[o] = Requantize(S[oc], Q[oc], outBits, relu);
        rq[o].in <== acc;
        out[o] <== rq[o].out;
    }
}

// Conv2D whose padded border holds PADV[c] per input channel instead of 0: the raw value that a model's input
// preprocessing maps to 0 (QLinear.padValue). Each border tap adds the constant M * W * PADV[c]: no constraint.
template Conv2DPadded(C, H, W, OC, K, STRIDE, PADS, PADV, Wt, B, M, S, Q, outBits, relu) {
    var OH = (H + PADS[0] + PADS[2] - K[0]) \ STRIDE[0] + 1;
    var OW = (W + PADS[1] + PADS[3] - K[1]) \ STRIDE[1] + 1;
    signal input in[C * H * W];
    signal output out[OC * OH * OW];
    component rq[OC * OH * OW];
    for (var oc = 0; oc < OC; oc++) for (var i = 0; i < OH; i++) for (var j = 0; j < OW; j++) {
        var o = (oc * OH + i) * OW + j;
        var acc = M[oc] * B[oc];
        for (var c = 0; c < C; c++) for (var u = 0; u < K[0]; u++) for (var v = 0; v < K[1]; v++) {
            var r = i * STRIDE[0] + u - PADS[0];
            var col = j * STRIDE[1] + v - PADS[1];
            if (r >= 0 && r < H && col >= 0 && col < W) {
                acc += M[oc] * Wt[((oc * C + c) * K[0] + u) * K[1] + v] * in[(c * H + r) * W + col];
            } else {
                acc += M[oc] * Wt[((oc * C + c) * K[0] + u) * K[1] + v] * PADV[c];
            }
        }
        rq[o] = Requantize(S[oc], Q[oc], outBits, relu);
        rq[o].in <== acc;
        out[o] <== rq[o].out;
    }
}

// Conv2DCommitted with the border of Conv2DPadded: each border tap adds M * PADV[c] times a weight signal (linear).
template Conv2DPaddedCommitted(C, H, W, OC, K, STRIDE, PADS, PADV, M, S, Q, outBits, relu) {
    var OH = (H + PADS[0] + PADS[2] - K[0]) \ STRIDE[0] + 1;
    var OW = (W + PADS[1] + PADS[3] - K[1]) \ STRIDE[1] + 1;
    signal input in[C * H * W];
    signal input w[OC * C * K[0] * K[1]];
    signal input b[OC];
    signal output out[OC * OH * OW];
    signal prod[OC * OH * OW][C * K[0] * K[1]];
    component rq[OC * OH * OW];
    for (var oc = 0; oc < OC; oc++) for (var i = 0; i < OH; i++) for (var j = 0; j < OW; j++) {
        var o = (oc * OH + i) * OW + j;
        var acc = M[oc] * b[oc];
        for (var c = 0; c < C; c++) for (var u = 0; u < K[0]; u++) for (var v = 0; v < K[1]; v++) {
            var r = i * STRIDE[0] + u - PADS[0];
            var col = j * STRIDE[1] + v - PADS[1];
            if (r >= 0 && r < H && col >= 0 && col < W) {
                var t = (c * K[0] + u) * K[1] + v;
                prod[o][t] <== w[((oc * C + c) * K[0] + u) * K[1] + v] * in[(c * H + r) * W + col];
                acc += M[oc] * prod[o][t];
            } else {
                acc += M[oc] * PADV[c] * w[((oc * C + c) * K[0] + u) * K[1] + v];
            }
        }
        rq[o] = Requantize(S[oc], Q[oc], outBits, relu);
        rq[o].in <== acc;
        out[o] <== rq[o].out;
    }
}
