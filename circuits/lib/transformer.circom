pragma circom 2.1.0;
// Transformer primitives: the circom form of circuits/compiler/nonlinear.ts (softmaxQ, layerNormQ, geluQ, matmulQ),
// gadget for gadget as circuits/compiler/gadgets-nonlinear.ts. The integer constants come from the *Params builders
// of nonlinear.ts. Inputs must be range-checked by the caller (as every activation is). Each `<--` below is a hint
// followed by the range checks that leave it exactly one value (docs/circuits.md, "Transformer primitives").
include "bits.circom";
include "requantize.circom";
include "pool.circom";
include "circomlib/circuits/comparators.circom";

// floor(sqrt(v)), for witness computation only.
function isqrtHint(v) {
    if (v < 2) { return v; }
    var x = v;
    var y = (x + 1) \ 2;
    while (y < x) {
        x = y;
        y = (x + v \ x) \ 2;
    }
    return x;
}

// expQ: round(2^F exp(-z s)) for z in [0, 2^inBits). w = z C + 2^(H-1): bits H..H+G of w are r, the bits above are k;
// P(r) = sum A[i] r^i 2^(G(d-i)) ~ 2^(F+dG) 2^(-r/2^G); S = 2^(Kmax - k) (0 when k > Kmax = 2^KB - 1);
// out = round(P S / 2^D), D = Kmax + dG, in [0, 2^F].
template ExpNeg(C, H, G, KB, wBits, F, d, A) {
    signal input z;
    signal output out;
    var round = 0;
    if (H > 0) { round = 2 ** (H - 1); }
    component wb = Num2Bits(wBits);
    wb.in <== z * C + round;
    var r = 0;
    for (var i = 0; i < G; i++) {
        if (H + i < wBits) { r += wb.out[H + i] * 2 ** i; }
    }
    // pw[i] = r^(i+1)
    signal pw[d];
    pw[0] <== r;
    var P = A[0] * 2 ** (G * d) + A[1] * pw[0] * 2 ** (G * (d - 1));
    for (var i = 2; i <= d; i++) {
        pw[i - 1] <== pw[i - 2] * r;
        P += A[i] * pw[i - 1] * 2 ** (G * (d - i));
    }
    var high = 0;
    for (var i = H + G + KB; i < wBits; i++) high += wb.out[i];
    component inRange = IsZero();
    inRange.in <== high;
    signal S[KB + 1];
    S[0] <== inRange.out;
    for (var j = 0; j < KB; j++) {
        var big = 2 ** (2 ** j);
        if (H + G + j < wBits) {
            S[j + 1] <== S[j] * (big + wb.out[H + G + j] * (1 - big));
        } else {
            S[j + 1] <== S[j] * big;
        }
    }
    signal T <== P * S[KB];
    var D = (2 ** KB - 1) + d * G;
    component tb = Num2Bits(D + F + 1);
    tb.in <== T + 2 ** (D - 1);
    var e = 0;
    for (var i = 0; i <= F; i++) e += tb.out[D + i] * 2 ** i;
    out <== e;
}

// softmaxQ over n inputs of inBits: probabilities at scale 2^-P. The reciprocal q = floor(2^R / E) of E = sum exp is
// a hint pinned by q E + rem = 2^R, 0 <= rem < E (eBits = bit length of n 2^F) and q in [0, 2^(R-F+1)).
template Softmax(n, inBits, C, H, G, KB, wBits, F, d, A, R, P, eBits) {
    signal input in[n];
    signal output out[n];
    component mx[n];
    var m = in[0];
    for (var i = 1; i < n; i++) {
        mx[i] = Max2(inBits);
        mx[i].a <== m;
        mx[i].b <== in[i];
        m = mx[i].out;
    }
    component ex[n];
    var E = 0;
    for (var i = 0; i < n; i++) {
        ex[i] = ExpNeg(C, H, G, KB, wBits, F, d, A);
        ex[i].z <== m - in[i];
        E += ex[i].out;
    }
    signal q;
    q <-- (2 ** R) \ E;
    component qr = Num2Bits(R - F + 1);
    qr.in <== q;
    signal qE <== q * E;
    component rem = Num2Bits(eBits);
    rem.in <== 2 ** R - qE;
    component remBound = Num2Bits(eBits);
    remBound.in <== E - 1 - (2 ** R - qE);
    signal prod[n];
    component pb[n];
    for (var i = 0; i < n; i++) {
        prod[i] <== ex[i].out * q;
        pb[i] = Num2Bits(R + 1);
        pb[i].in <== prod[i] + 2 ** (R - P - 1);
        var y = 0;
        for (var k = 0; k <= P; k++) y += pb[i].out[R - P + k] * 2 ** k;
        out[i] <== y;
    }
}

// layerNormQ over n inputs: c_i = n x_i - sum x, V' = sum c_i^2 + epsQ, the hint r = floor(2^K / sqrt(V')) pinned by
// r in [0, 2^(K+1)), r^2 V' <= 2^2K < (r+1)^2 V'; out_i = Requantize(M (gamma_i c_i r + bias_i)).
template LayerNorm(n, gamma, bias, epsQ, K, M, s, Q, outBits, hiBits) {
    signal input in[n];
    signal output out[n];
    var S = 0;
    for (var i = 0; i < n; i++) S += in[i];
    signal sq[n];
    var V = epsQ;
    for (var i = 0; i < n; i++) {
        sq[i] <== (n * in[i] - S) * (n * in[i] - S);
        V += sq[i];
    }
    signal r;
    r <-- isqrtHint((2 ** (2 * K)) \ V);
    component rr = Num2Bits(K + 1);
    rr.in <== r;
    signal r2 <== r * r;
    signal A <== r2 * V;
    component lo = Num2Bits(2 * K + 1);
    lo.in <== 2 ** (2 * K) - A;
    signal B <== (2 * r + 1) * V;
    component hi = Num2Bits(hiBits);
    hi.in <== A + B - 2 ** (2 * K) - 1;
    signal cr[n];
    component rq[n];
    for (var i = 0; i < n; i++) {
        cr[i] <== (n * in[i] - S) * r;
        rq[i] = Requantize(s, Q, outBits, 0);
        rq[i].in <== M * (gamma[i] * cr[i] + bias[i]);
        out[i] <== rq[i].out;
    }
}

// geluQ of one input of inBits: relu(x) - g(|x|), g a polynomial of degree d in t = |x| mod 2^w on the segment
// |x| >> w (J bits; 0 beyond), its coefficients multilinear in the segment bits: alpha[k][mask] (the Moebius
// transform of the per-segment coefficients, as gadgets-nonlinear.ts computes it).
template Gelu(inBits, w, J, d, alpha, reluMul, shift, Q, outBits) {
    signal input in;
    signal output out;
    component sg = Num2Bits(inBits);
    sg.in <== in + 2 ** (inBits - 1);
    signal rl <== sg.out[inBits - 1] * in;
    component ab = Num2Bits(inBits);
    ab.in <== 2 * rl - in;
    var t = 0;
    for (var i = 0; i < w; i++) t += ab.out[i] * 2 ** i;
    var high = 0;
    for (var i = w + J; i < inBits; i++) high += ab.out[i];
    component inRange = IsZero();
    inRange.in <== high;
    // the products of two or more segment bits, one signal each
    var nProd = 2 ** J - J - 1;
    signal mp[nProd + 1];
    var mo[2 ** J];
    mo[0] = 1;
    var idx = 0;
    for (var mask = 1; mask < 2 ** J; mask++) {
        var low = 0;
        while (((mask >> low) & 1) == 0) low++;
        var rest = mask - 2 ** low;
        if (rest == 0) {
            mo[mask] = ab.out[w + low];
        } else {
            mp[idx] <== mo[rest] * ab.out[w + low];
            mo[mask] = mp[idx];
            idx++;
        }
    }
    mp[nProd] <== 0;
    var g = 0;
    for (var mask = 0; mask < 2 ** J; mask++) g += alpha[0][mask] * mo[mask] * 2 ** (w * d);
    // tp[k-1] = t^k, term[k-1] = C_k(segment) t^k
    signal tp[d];
    signal term[d];
    for (var k = 1; k <= d; k++) {
        if (k == 1) {
            tp[0] <== t;
        } else {
            tp[k - 1] <== tp[k - 2] * t;
        }
        var c = 0;
        for (var mask = 0; mask < 2 ** J; mask++) c += alpha[k][mask] * mo[mask];
        term[k - 1] <== c * tp[k - 1];
        g += term[k - 1] * 2 ** (w * (d - k));
    }
    signal gi <== inRange.out * g;
    component rq = Requantize(shift, Q, outBits, 0);
    rq.in <== reluMul * rl - gi;
    out <== rq.out;
}

// matmulQ: A (n x k) times B (k x m), each sum requantized by M / 2^s.
template MatMul(n, k, m, M, s, Q, outBits) {
    signal input a[n][k];
    signal input b[k][m];
    signal output out[n][m];
    signal p[n][m][k];
    component rq[n][m];
    for (var i = 0; i < n; i++) for (var j = 0; j < m; j++) {
        var acc = 0;
        for (var l = 0; l < k; l++) {
            p[i][j][l] <== a[i][l] * b[l][j];
            acc += p[i][j][l];
        }
        rq[i][j] = Requantize(s, Q, outBits, 0);
        rq[i][j].in <== M * acc;
        out[i][j] <== rq[i][j].out;
    }
}
