// BN254 G1 (over Fq) and G2 (over Fq2) points: affine storage form and Jacobian arithmetic, shared by CPU and CUDA.
#pragma once
#include "field.hpp"

namespace ozk {

// b coefficients of y^2 = x^3 + b, in Montgomery form.
struct G1Curve {
  typedef Fq F;
  OZK_HD static F b() {  // 3
    F r; r.v[0] = 0x7a17caa950ad28d7ULL; r.v[1] = 0x1f6ac17ae15521b9ULL; r.v[2] = 0x334bea4e696bd284ULL;
    r.v[3] = 0x2a1f6744ce179d8eULL; return r;
  }
};
struct G2Curve {
  typedef Fq2 F;
  OZK_HD static F b() {  // 3 / (9 + i), checked against the formula in the self-test
    F r;
    r.a.v[0] = 0x3bf938e377b802a8ULL; r.a.v[1] = 0x020b1b273633535dULL; r.a.v[2] = 0x26b7edf049755260ULL;
    r.a.v[3] = 0x2514c6324384a86dULL; r.b.v[0] = 0x38e7ecccd1dcff67ULL; r.b.v[1] = 0x65f0b37d93ce0d3eULL;
    r.b.v[2] = 0xd749d0dd22ac00aaULL; r.b.v[3] = 0x0141b9ce4a688d4dULL;
    return r;
  }
};

// Affine point in snarkjs's LEM layout (x then y, Montgomery form). (0, 0) is the point at infinity:
// it is not on the curve because b != 0.
template <class F>
struct Affine {
  F x, y;
  OZK_HD bool is_inf() const { return x.is_zero() && y.is_zero(); }
  OZK_HD static Affine inf() { Affine p; p.x = F::zero(); p.y = F::zero(); return p; }
  OZK_HD Affine neg() const { Affine p; p.x = x; p.y = y.neg(); return p; }
};

// Jacobian (X, Y, Z) represents (X/Z^2, Y/Z^3); Z == 0 is the point at infinity.
template <class F>
struct Jacobian {
  F x, y, z;

  OZK_HD static Jacobian inf() { Jacobian p; p.x = F::one(); p.y = F::one(); p.z = F::zero(); return p; }
  OZK_HD bool is_inf() const { return z.is_zero(); }
  OZK_HD static Jacobian from_affine(const Affine<F>& a) {
    if (a.is_inf()) return inf();
    Jacobian p; p.x = a.x; p.y = a.y; p.z = F::one(); return p;
  }
  OZK_HD Jacobian neg() const { Jacobian p = *this; p.y = y.neg(); return p; }

  // dbl-2009-l (a = 0)
  OZK_HD Jacobian dbl() const {
    if (is_inf()) return *this;
    F A = x.sqr(), B = y.sqr(), C = B.sqr();
    F D = ((x + B).sqr() - A - C).dbl();
    F E = A.dbl() + A;
    F Fv = E.sqr();
    Jacobian r;
    r.x = Fv - D.dbl();
    F C8 = C.dbl().dbl().dbl();
    r.y = E * (D - r.x) - C8;
    r.z = (y * z).dbl();
    return r;
  }

  // madd-2007-bl: this + affine q
  OZK_HD Jacobian add_mixed(const Affine<F>& q) const {
    if (q.is_inf()) return *this;
    if (is_inf()) return from_affine(q);
    F Z1Z1 = z.sqr();
    F U2 = q.x * Z1Z1;
    F S2 = q.y * z * Z1Z1;
    F H = U2 - x;
    F rr = (S2 - y).dbl();
    if (H.is_zero()) {
      if (rr.is_zero()) return dbl();
      return inf();
    }
    F HH = H.sqr();
    F I = HH.dbl().dbl();
    F J = H * I;
    F V = x * I;
    Jacobian r;
    r.x = rr.sqr() - J - V.dbl();
    r.y = rr * (V - r.x) - (y * J).dbl();
    r.z = (z + H).sqr() - Z1Z1 - HH;
    return r;
  }

  // add-2007-bl
  OZK_HD Jacobian operator+(const Jacobian& q) const {
    if (q.is_inf()) return *this;
    if (is_inf()) return q;
    F Z1Z1 = z.sqr(), Z2Z2 = q.z.sqr();
    F U1 = x * Z2Z2, U2 = q.x * Z1Z1;
    F S1 = y * q.z * Z2Z2, S2 = q.y * z * Z1Z1;
    F H = U2 - U1;
    F rr = (S2 - S1).dbl();
    if (H.is_zero()) {
      if (rr.is_zero()) return dbl();
      return inf();
    }
    F I = H.dbl().sqr();
    F J = H * I;
    F V = U1 * I;
    Jacobian r;
    r.x = rr.sqr() - J - V.dbl();
    r.y = rr * (V - r.x) - (S1 * J).dbl();
    r.z = ((z + q.z).sqr() - Z1Z1 - Z2Z2) * H;
    return r;
  }

  OZK_HD Affine<F> to_affine() const {
    if (is_inf()) return Affine<F>::inf();
    F zi = z.inv(), zi2 = zi.sqr();
    Affine<F> a; a.x = x * zi2; a.y = y * zi2 * zi; return a;
  }

  // Equality of the represented points (cross-multiplied, no inversion).
  OZK_HD bool eq(const Jacobian& q) const {
    if (is_inf() || q.is_inf()) return is_inf() && q.is_inf();
    F z1z1 = z.sqr(), z2z2 = q.z.sqr();
    if (x * z2z2 != q.x * z1z1) return false;
    return y * z2z2 * q.z == q.y * z1z1 * z;
  }

  // Double-and-add by a canonical little-endian 256-bit integer (variable time).
  OZK_HD Jacobian mul(const uint64_t k[4]) const {
    Jacobian r = inf();
    for (int i = 3; i >= 0; i--)
      for (int j = 63; j >= 0; j--) {
        r = r.dbl();
        if ((k[i] >> j) & 1) r = r + *this;
      }
    return r;
  }
};

template <class Curve>
OZK_HD bool on_curve(const Affine<typename Curve::F>& p) {
  if (p.is_inf()) return true;
  return p.y.sqr() == p.x.sqr() * p.x + Curve::b();
}

// Masked copy: dst = src where mask is all ones, unchanged where it is zero (no data-dependent branch).
template <class T>
inline void ct_assign(T& dst, const T& src, uint64_t mask) {
  static_assert(sizeof(T) % 8 == 0, "ct_assign works on whole 64-bit words");
  uint64_t* d = (uint64_t*)&dst;
  const uint64_t* s = (const uint64_t*)&src;
  for (size_t i = 0; i < sizeof(T) / 8; i++) d[i] = (d[i] & ~mask) | (s[i] & mask);
}

// Odd signed digits of an odd k < 2^254 in base 16: k = sum_i d[i] * 16^i with every d[i] odd, |d[i]| <= 15,
// d[63] > 0. The same operations run for every k (no branch on its bits).
inline void recode_odd_base16(const uint64_t k_in[4], int8_t d[64]) {
  uint64_t k[4] = {k_in[0], k_in[1], k_in[2], k_in[3]};
  for (int i = 0; i < 63; i++) {
    int64_t di = (int64_t)(k[0] & 31) - 16;
    d[i] = (int8_t)di;
    // k = (k - di) >> 4, with -di sign-extended over the four limbs
    uint64_t sub = (uint64_t)(-di), ext = (uint64_t)((-di) >> 63);
    u128 t = (u128)k[0] + sub;
    k[0] = (uint64_t)t;
    for (int j = 1; j < 4; j++) {
      t = (u128)k[j] + ext + (uint64_t)(t >> 64);
      k[j] = (uint64_t)t;
    }
    k[0] = (k[0] >> 4) | (k[1] << 60);
    k[1] = (k[1] >> 4) | (k[2] << 60);
    k[2] = (k[2] >> 4) | (k[3] << 60);
    k[3] >>= 4;
  }
  d[63] = (int8_t)k[0];
}

// k * P for a secret k < r (the proof's blinding scalars): k is made odd (k or r - k, the result negated back),
// recoded into odd base-16 digits, and each digit's multiple is read from a table of 1P, 3P, ..., 15P by a scan
// of the whole table with masks. The sequence of doublings, additions and memory reads does not depend on k.
// Caveats: the accumulator cannot meet infinity or the table point except with negligible probability for a
// random k, which is when the addition formulas would branch.
template <class F>
Jacobian<F> mul_secret(const Jacobian<F>& P, const uint64_t k_in[4]) {
  typedef Jacobian<F> J;
  uint64_t rk[4], k[4];
  u128 br = 0;
  for (int i = 0; i < 4; i++) {
    u128 t = (u128)FrParams::P[i] - k_in[i] - (uint64_t)br;
    rk[i] = (uint64_t)t;
    br = (t >> 64) & 1;
  }
  uint64_t even = 0 - ((k_in[0] & 1) ^ 1);
  for (int i = 0; i < 4; i++) k[i] = (k_in[i] & ~even) | (rk[i] & even);
  int8_t d[64];
  recode_odd_base16(k, d);
  J tab[8];
  tab[0] = P;
  J p2 = P.dbl();
  for (int i = 1; i < 8; i++) tab[i] = tab[i - 1] + p2;
  auto pick = [&](int8_t digit) {
    int32_t v = digit, sign = v >> 31;
    uint32_t idx = (uint32_t)(((v ^ sign) - sign) >> 1);  // (|d| - 1) / 2 for odd d
    J e = tab[0];
    for (uint32_t j = 1; j < 8; j++) ct_assign(e, tab[j], 0 - (uint64_t)(j == idx));
    J ne = e.neg();
    ct_assign(e, ne, (uint64_t)(int64_t)sign);
    return e;
  };
  J acc = pick(d[63]);
  for (int i = 62; i >= 0; i--) {
    acc = acc.dbl().dbl().dbl().dbl();
    acc = acc + pick(d[i]);
  }
  J nacc = acc.neg();
  ct_assign(acc, nacc, even);
  return acc;
}

// Membership of a point on the G2 twist in the order-r subgroup (the twist has a large cofactor, so a point that
// is on the curve need not be in G2). Variable time: for public key points.
inline bool in_g2_subgroup(const Affine<Fq2>& p) {
  return Jacobian<Fq2>::from_affine(p).mul(FrParams::P).is_inf();
}

typedef Affine<Fq> G1Affine;
typedef Jacobian<Fq> G1;
typedef Affine<Fq2> G2Affine;
typedef Jacobian<Fq2> G2;

}  // namespace ozk
