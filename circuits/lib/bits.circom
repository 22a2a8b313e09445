pragma circom 2.1.0;
// Range checks by bit decomposition: the base of every other template's uniqueness argument.

// out = the n bits of `in`, little-endian; `in` must lie in [0, 2^n) (n <= 252), else no witness exists.
template Bits(n) {
    signal input in;
    signal output out[n];
    var acc = 0;
    for (var i = 0; i < n; i++) {
        out[i] <-- (in >> i) & 1;
        out[i] * (out[i] - 1) === 0;
        acc += out[i] * 2 ** i;
    }
    acc === in;
}

// `in` must lie in [-2^(n-1), 2^(n-1)); sign = 1 iff in >= 0.
template SignedRange(n) {
    signal input in;
    signal output sign;
    component b = Bits(n);
    b.in <== in + 2 ** (n - 1);
    sign <== b.out[n - 1];
}
