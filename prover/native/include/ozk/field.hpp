// Montgomery arithmetic over the BN254 base field Fq and scalar field Fr (4 x 64-bit limbs), shared by the CPU and CUDA builds.
#pragma once
#include <cstdint>
#include <cstring>

#if defined(__CUDACC__)
#define OZK_HD __host__ __device__ __forceinline__
#else
#define OZK_HD inline
#endif

namespace ozk {

typedef unsigned __int128 u128;

struct FqParams {
  static constexpr uint64_t P[4] = {0x3c208c16d87cfd47ULL, 0x97816a916871ca8dULL, 0xb85045b68181585dULL, 0x30644e72e131a029ULL};
  static constexpr uint64_t R[4] = {0xd35d438dc58f0d9dULL, 0x0a78eb28f5c70b3dULL, 0x666ea36f7879462cULL, 0x0e0a77c19a07df2fULL};
  static constexpr uint64_t R2[4] = {0xf32cfc5b538afa89ULL, 0xb5e71911d44501fbULL, 0x47ab1eff0a417ff6ULL, 0x06d89f71cab8351fULL};
  static constexpr uint64_t INV = 0x87d20782e4866389ULL;  // -P^-1 mod 2^64
};

struct FrParams {
  static constexpr uint64_t P[4] = {0x43e1f593f0000001ULL, 0x2833e84879b97091ULL, 0xb85045b68181585dULL, 0x30644e72e131a029ULL};
  static constexpr uint64_t R[4] = {0xac96341c4ffffffbULL, 0x36fc76959f60cd29ULL, 0x666ea36f7879462eULL, 0x0e0a77c19a07df2fULL};
  static constexpr uint64_t R2[4] = {0x1bb8e645ae216da7ULL, 0x53fe3ab1e35c59e3ULL, 0x8c49833d53bb8085ULL, 0x0216d0b17f4e44a5ULL};
  static constexpr uint64_t INV = 0xc2e1f593efffffffULL;
};

// An element kept in Montgomery form (value * 2^256 mod P). Both moduli are below 2^254, so sums of two
// reduced elements never overflow 256 bits and the CIOS loop needs no extra carry word.
template <class Params>
struct Fp {
  uint64_t v[4];

  OZK_HD static Fp zero() { Fp r; r.v[0] = r.v[1] = r.v[2] = r.v[3] = 0; return r; }
  OZK_HD static Fp one() { Fp r; for (int i = 0; i < 4; i++) r.v[i] = Params::R[i]; return r; }
  OZK_HD bool is_zero() const { return (v[0] | v[1] | v[2] | v[3]) == 0; }
  OZK_HD bool operator==(const Fp& o) const { return ((v[0] ^ o.v[0]) | (v[1] ^ o.v[1]) | (v[2] ^ o.v[2]) | (v[3] ^ o.v[3])) == 0; }
  OZK_HD bool operator!=(const Fp& o) const { return !(*this == o); }

  // true when the raw limbs a[] are >= P
  OZK_HD static bool geq_p(const uint64_t a[4]) {
    for (int i = 3; i >= 0; i--) {
      if (a[i] > Params::P[i]) return true;
      if (a[i] < Params::P[i]) return false;
    }
    return true;
  }
  OZK_HD static void sub_p(uint64_t a[4]) {
    uint64_t borrow = 0;
    for (int i = 0; i < 4; i++) {
      u128 t = (u128)a[i] - Params::P[i] - borrow;
      a[i] = (uint64_t)t;
      borrow = (uint64_t)(t >> 64) & 1;
    }
  }

  OZK_HD Fp operator+(const Fp& b) const {
    Fp r;
    uint64_t carry = 0;
    for (int i = 0; i < 4; i++) {
      u128 t = (u128)v[i] + b.v[i] + carry;
      r.v[i] = (uint64_t)t;
      carry = (uint64_t)(t >> 64);
    }
    if (geq_p(r.v)) sub_p(r.v);
    return r;
  }
  OZK_HD Fp operator-(const Fp& b) const {
    Fp r;
    uint64_t borrow = 0;
    for (int i = 0; i < 4; i++) {
      u128 t = (u128)v[i] - b.v[i] - borrow;
      r.v[i] = (uint64_t)t;
      borrow = (uint64_t)(t >> 64) & 1;
    }
    if (borrow) {
      uint64_t carry = 0;
      for (int i = 0; i < 4; i++) {
        u128 t = (u128)r.v[i] + Params::P[i] + carry;
        r.v[i] = (uint64_t)t;
        carry = (uint64_t)(t >> 64);
      }
    }
    return r;
  }
  OZK_HD Fp neg() const { return is_zero() ? *this : zero() - *this; }
  OZK_HD Fp dbl() const { return *this + *this; }

  // CIOS Montgomery multiplication.
  OZK_HD Fp operator*(const Fp& b) const {
    uint64_t t[6] = {0, 0, 0, 0, 0, 0};
    for (int i = 0; i < 4; i++) {
      uint64_t c = 0;
      for (int j = 0; j < 4; j++) {
        u128 x = (u128)v[j] * b.v[i] + t[j] + c;
        t[j] = (uint64_t)x;
        c = (uint64_t)(x >> 64);
      }
      u128 x = (u128)t[4] + c;
      t[4] = (uint64_t)x;
      t[5] = (uint64_t)(x >> 64);
      uint64_t m = t[0] * Params::INV;
      x = (u128)m * Params::P[0] + t[0];
      c = (uint64_t)(x >> 64);
      for (int j = 1; j < 4; j++) {
        x = (u128)m * Params::P[j] + t[j] + c;
        t[j - 1] = (uint64_t)x;
        c = (uint64_t)(x >> 64);
      }
      x = (u128)t[4] + c;
      t[3] = (uint64_t)x;
      t[4] = t[5] + (uint64_t)(x >> 64);
    }
    Fp r;
    r.v[0] = t[0]; r.v[1] = t[1]; r.v[2] = t[2]; r.v[3] = t[3];
    if (geq_p(r.v)) sub_p(r.v);
    return r;
  }
  OZK_HD Fp sqr() const { return *this * *this; }

  // Conversions between the canonical integer (little-endian limbs) and Montgomery form.
  OZK_HD static Fp from_raw(const uint64_t a[4]) {  // a must be < P
    Fp x; for (int i = 0; i < 4; i++) x.v[i] = a[i];
    Fp r2; for (int i = 0; i < 4; i++) r2.v[i] = Params::R2[i];
    return x * r2;
  }
  OZK_HD void to_raw(uint64_t out[4]) const {
    Fp one_raw = zero(); one_raw.v[0] = 1;
    Fp x = *this * one_raw;
    for (int i = 0; i < 4; i++) out[i] = x.v[i];
  }
  OZK_HD static Fp from_u64(uint64_t a) { uint64_t t[4] = {a, 0, 0, 0}; return from_raw(t); }

  // x^e for a little-endian 256-bit exponent.
  OZK_HD Fp pow(const uint64_t e[4]) const {
    Fp r = one(), b = *this;
    for (int i = 0; i < 4; i++) {
      uint64_t w = e[i];
      for (int j = 0; j < 64; j++) {
        if (w & 1) r = r * b;
        b = b.sqr();
        w >>= 1;
      }
    }
    return r;
  }
  OZK_HD Fp inv() const {  // Fermat; inverse of zero is zero
    uint64_t e[4]; for (int i = 0; i < 4; i++) e[i] = Params::P[i];
    e[0] -= 2;  // P is odd and > 2, no borrow
    return pow(e);
  }
};

typedef Fp<FqParams> Fq;

// Square root in Fq (q = 3 mod 4): x^((q+1)/4). Returns false when x is not a square.
OZK_HD bool fq_sqrt(const Fp<FqParams>& x, Fp<FqParams>& out) {
  // (q + 1) / 4
  const uint64_t e[4] = {0x4f082305b61f3f52ULL, 0x65e05aa45a1c72a3ULL, 0x6e14116da0605617ULL, 0x0c19139cb84c680aULL};
  Fp<FqParams> r = x.pow(e);
  if (r.sqr() != x) return false;
  out = r;
  return true;
}
typedef Fp<FrParams> Fr;

// Fq2 = Fq[i]/(i^2 + 1)
struct Fq2 {
  Fq a, b;
  OZK_HD static Fq2 zero() { Fq2 r; r.a = Fq::zero(); r.b = Fq::zero(); return r; }
  OZK_HD static Fq2 one() { Fq2 r; r.a = Fq::one(); r.b = Fq::zero(); return r; }
  OZK_HD bool is_zero() const { return a.is_zero() && b.is_zero(); }
  OZK_HD bool operator==(const Fq2& o) const { return a == o.a && b == o.b; }
  OZK_HD bool operator!=(const Fq2& o) const { return !(*this == o); }
  OZK_HD Fq2 operator+(const Fq2& o) const { Fq2 r; r.a = a + o.a; r.b = b + o.b; return r; }
  OZK_HD Fq2 operator-(const Fq2& o) const { Fq2 r; r.a = a - o.a; r.b = b - o.b; return r; }
  OZK_HD Fq2 neg() const { Fq2 r; r.a = a.neg(); r.b = b.neg(); return r; }
  OZK_HD Fq2 dbl() const { return *this + *this; }
  OZK_HD Fq2 operator*(const Fq2& o) const {  // Karatsuba, 3 base multiplications
    Fq t0 = a * o.a, t1 = b * o.b;
    Fq2 r;
    r.a = t0 - t1;
    r.b = (a + b) * (o.a + o.b) - t0 - t1;
    return r;
  }
  OZK_HD Fq2 sqr() const {  // (a+b)(a-b) + 2ab i
    Fq2 r;
    Fq ab = a * b;
    r.a = (a + b) * (a - b);
    r.b = ab + ab;
    return r;
  }
  OZK_HD Fq2 inv() const {
    Fq t = (a.sqr() + b.sqr()).inv();
    Fq2 r; r.a = a * t; r.b = (b * t).neg(); return r;
  }
};

}  // namespace ozk
