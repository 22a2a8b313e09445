pragma circom 2.1.0;
// Requantization: y = clamp(floor((in + 2^(s-1)) / 2^s)) with `in` = M * acc already scaled by the caller.
include "bits.circom";
include "circomlib/circuits/comparators.circom";

// s: shift; Q: signed width of the unclamped quotient (from the overflow analysis, |q| < 2^(Q-1));
// outBits: signed width of the result; relu = 1 clamps to [0, 2^(outBits-1) - 1].
// The s low bits of the decomposition are the remainder, range-checked to [0, 2^s) by Num2Bits: the quotient is unique.
template Requantize(s, Q, outBits, relu) {
    signal input in;
    signal output out;
    var T = s + Q;
    var round = 0;
    if (s > 0) { round = 2 ** (s - 1); }
    component v = Num2Bits(T);
    v.in <== in + round + 2 ** (Q - 1 + s);
    var q = -(2 ** (Q - 1));
    for (var i = s; i < T; i++) q += v.out[i] * 2 ** (i - s);
    signal sign <== v.out[T - 1];
    var hi = 2 ** (outBits - 1) - 1;
    var lo = -(2 ** (outBits - 1));
    if (Q <= outBits) {
        if (relu == 1) {
            out <== sign * q;
        } else {
            out <== q;
        }
    } else {
        // bits outBits-1 .. Q-2 of q + 2^(Q-1): any set (q >= 0) means above hi; all set (q < 0) means >= lo.
        var high = 0;
        for (var i = s + outBits - 1; i <= T - 2; i++) high += v.out[i];
        component none = IsZero();
        none.in <== high;
        signal over <== sign * (1 - none.out);
        if (relu == 1) {
            signal t <== (1 - over) * q;
            out <== sign * (over * hi + t);
        } else {
            component all = IsZero();
            all.in <== high - (Q - outBits);
            signal under <== (1 - sign) * (1 - all.out);
            signal t <== (1 - over - under) * q;
            out <== over * hi + under * lo + t;
        }
    }
}
