// Montgomery arithmetic over the BN254 base field Fq and scalar field Fr (4 x 64-bit limbs), shared by the CPU and CUDA builds.
#pragma once
#include <cstdint>
#include <cstring>
#if defined(__x86_64__) && !defined(__CUDA_ARCH__)
#include <immintrin.h>
#define OZK_X86_CARRY 1
#endif

#if defined(__CUDACC__)
#define OZK_HD __host__ __device__ __forceinline__
#define OZK_UNROLL _Pragma("unroll")
#else
#define OZK_HD inline
#define OZK_UNROLL _Pragma("GCC unroll 4")
#endif
// Small hot primitives: forced inline on the host (a call costs as much as a field addition).
#if defined(__CUDACC__)
#define OZK_HOT OZK_HD
#else
#define OZK_HOT inline __attribute__((always_inline))
#endif

// x86-64 with BMI2 (mulx) and ADX (adcx/adox): two independent carry chains in the Montgomery product.
#if defined(__x86_64__) && defined(__ADX__) && defined(__BMI2__) && !defined(__CUDA_ARCH__) && !defined(OZK_NO_ASM)
#define OZK_ASM_MUL 1
#endif

namespace ozk {

typedef unsigned __int128 u128;

struct FqParams {
  static constexpr uint64_t P[4] = {0x3c208c16d87cfd47ULL, 0x97816a916871ca8dULL, 0xb85045b68181585dULL, 0x30644e72e131a029ULL};
  static constexpr uint64_t R[4] = {0xd35d438dc58f0d9dULL, 0x0a78eb28f5c70b3dULL, 0x666ea36f7879462cULL, 0x0e0a77c19a07df2fULL};
  static constexpr uint64_t R2[4] = {0xf32cfc5b538afa89ULL, 0xb5e71911d44501fbULL, 0x47ab1eff0a417ff6ULL, 0x06d89f71cab8351fULL};
  static constexpr uint64_t INV = 0x87d20782e4866389ULL;  // -P^-1 mod 2^64
  OZK_HD static constexpr uint64_t p(int i) { return i == 0 ? 0x3c208c16d87cfd47ULL : i == 1 ? 0x97816a916871ca8dULL : i == 2 ? 0xb85045b68181585dULL : 0x30644e72e131a029ULL; }
  OZK_HD static constexpr uint64_t r(int i) { return i == 0 ? 0xd35d438dc58f0d9dULL : i == 1 ? 0x0a78eb28f5c70b3dULL : i == 2 ? 0x666ea36f7879462cULL : 0x0e0a77c19a07df2fULL; }
  OZK_HD static constexpr uint64_t r2(int i) { return i == 0 ? 0xf32cfc5b538afa89ULL : i == 1 ? 0xb5e71911d44501fbULL : i == 2 ? 0x47ab1eff0a417ff6ULL : 0x06d89f71cab8351fULL; }
  OZK_HD static constexpr uint64_t inv() { return 0x87d20782e4866389ULL; }
};

struct FrParams {
  static constexpr uint64_t P[4] = {0x43e1f593f0000001ULL, 0x2833e84879b97091ULL, 0xb85045b68181585dULL, 0x30644e72e131a029ULL};
  static constexpr uint64_t R[4] = {0xac96341c4ffffffbULL, 0x36fc76959f60cd29ULL, 0x666ea36f7879462eULL, 0x0e0a77c19a07df2fULL};
  static constexpr uint64_t R2[4] = {0x1bb8e645ae216da7ULL, 0x53fe3ab1e35c59e3ULL, 0x8c49833d53bb8085ULL, 0x0216d0b17f4e44a5ULL};
  static constexpr uint64_t INV = 0xc2e1f593efffffffULL;
  OZK_HD static constexpr uint64_t p(int i) { return i == 0 ? 0x43e1f593f0000001ULL : i == 1 ? 0x2833e84879b97091ULL : i == 2 ? 0xb85045b68181585dULL : 0x30644e72e131a029ULL; }
  OZK_HD static constexpr uint64_t r(int i) { return i == 0 ? 0xac96341c4ffffffbULL : i == 1 ? 0x36fc76959f60cd29ULL : i == 2 ? 0x666ea36f7879462eULL : 0x0e0a77c19a07df2fULL; }
  OZK_HD static constexpr uint64_t r2(int i) { return i == 0 ? 0x1bb8e645ae216da7ULL : i == 1 ? 0x53fe3ab1e35c59e3ULL : i == 2 ? 0x8c49833d53bb8085ULL : 0x0216d0b17f4e44a5ULL; }
  OZK_HD static constexpr uint64_t inv() { return 0xc2e1f593efffffffULL; }
};

// An element kept in Montgomery form (value * 2^256 mod P). Both moduli are below 2^254, so sums of two
// reduced elements never overflow 256 bits and the CIOS loop needs no extra carry word.
template <class Params>
struct Fp {
  uint64_t v[4];

  OZK_HD static Fp zero() { Fp r; r.v[0] = r.v[1] = r.v[2] = r.v[3] = 0; return r; }
  OZK_HD static Fp one() { Fp r; for (int i = 0; i < 4; i++) r.v[i] = Params::r(i); return r; }
  OZK_HD bool is_zero() const { return (v[0] | v[1] | v[2] | v[3]) == 0; }
  OZK_HD bool operator==(const Fp& o) const { return ((v[0] ^ o.v[0]) | (v[1] ^ o.v[1]) | (v[2] ^ o.v[2]) | (v[3] ^ o.v[3])) == 0; }
  OZK_HD bool operator!=(const Fp& o) const { return !(*this == o); }

  // true when the raw limbs a[] are >= P
  OZK_HD static bool geq_p(const uint64_t a[4]) {
    for (int i = 3; i >= 0; i--) {
      if (a[i] > Params::p(i)) return true;
      if (a[i] < Params::p(i)) return false;
    }
    return true;
  }
  OZK_HD static void sub_p(uint64_t a[4]) {
    uint64_t borrow = 0;
    for (int i = 0; i < 4; i++) {
      u128 t = (u128)a[i] - Params::p(i) - borrow;
      a[i] = (uint64_t)t;
      borrow = (uint64_t)(t >> 64) & 1;
    }
  }

#ifdef OZK_X86_CARRY
  // add/sub with the carry flag (adc/sbb chains) and a masked correction, no branches.
  OZK_HOT Fp operator+(const Fp& b) const {
    unsigned long long s0, s1, s2, s3, t0, t1, t2, t3;
    unsigned char c = _addcarry_u64(0, v[0], b.v[0], &s0);
    c = _addcarry_u64(c, v[1], b.v[1], &s1);
    c = _addcarry_u64(c, v[2], b.v[2], &s2);
    _addcarry_u64(c, v[3], b.v[3], &s3);
    unsigned char br = _subborrow_u64(0, s0, Params::p(0), &t0);
    br = _subborrow_u64(br, s1, Params::p(1), &t1);
    br = _subborrow_u64(br, s2, Params::p(2), &t2);
    br = _subborrow_u64(br, s3, Params::p(3), &t3);
    uint64_t keep = 0 - (uint64_t)br;  // all ones when s < P
    Fp r;
    r.v[0] = (s0 & keep) | (t0 & ~keep); r.v[1] = (s1 & keep) | (t1 & ~keep);
    r.v[2] = (s2 & keep) | (t2 & ~keep); r.v[3] = (s3 & keep) | (t3 & ~keep);
    return r;
  }
  OZK_HOT Fp operator-(const Fp& b) const {
    unsigned long long d0, d1, d2, d3;
    unsigned char br = _subborrow_u64(0, v[0], b.v[0], &d0);
    br = _subborrow_u64(br, v[1], b.v[1], &d1);
    br = _subborrow_u64(br, v[2], b.v[2], &d2);
    br = _subborrow_u64(br, v[3], b.v[3], &d3);
    uint64_t m = 0 - (uint64_t)br;  // add P back when the subtraction borrowed
    Fp r;
    unsigned long long o0, o1, o2, o3;
    unsigned char c = _addcarry_u64(0, d0, Params::p(0) & m, &o0);
    c = _addcarry_u64(c, d1, Params::p(1) & m, &o1);
    c = _addcarry_u64(c, d2, Params::p(2) & m, &o2);
    _addcarry_u64(c, d3, Params::p(3) & m, &o3);
    r.v[0] = o0; r.v[1] = o1; r.v[2] = o2; r.v[3] = o3;
    return r;
  }
#else
  OZK_HD Fp operator+(const Fp& b) const {
    Fp r;
    uint64_t carry = 0;
    for (int i = 0; i < 4; i++) {
      u128 t = (u128)v[i] + b.v[i] + carry;
      r.v[i] = (uint64_t)t;
      carry = (uint64_t)(t >> 64);
    }
    r.reduce_once();
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
        u128 t = (u128)r.v[i] + Params::p(i) + carry;
        r.v[i] = (uint64_t)t;
        carry = (uint64_t)(t >> 64);
      }
    }
    return r;
  }
#endif
  OZK_HOT Fp neg() const { return is_zero() ? *this : zero() - *this; }
  OZK_HOT Fp dbl() const { return *this + *this; }

  // CIOS Montgomery multiplication in the "no-carry" form (valid because P's top limb is below 2^63 - 1):
  // the running sum fits in 4 limbs after each outer step, so no fifth/sixth word is carried.
  OZK_HOT Fp operator*(const Fp& b) const {
#ifdef OZK_ASM_MUL
    return mul_asm(b);
#else
    return mul_portable(b);
#endif
  }
  OZK_HD Fp mul_portable(const Fp& b) const {
    uint64_t t0 = 0, t1 = 0, t2 = 0, t3 = 0;
OZK_UNROLL
    for (int i = 0; i < 4; i++) {
      const uint64_t bi = b.v[i];
      u128 x = (u128)v[0] * bi + t0;
      uint64_t A = (uint64_t)(x >> 64);
      t0 = (uint64_t)x;
      const uint64_t m = t0 * Params::inv();
      u128 y = (u128)m * Params::p(0) + t0;
      uint64_t C = (uint64_t)(y >> 64);
      x = (u128)v[1] * bi + t1 + A; A = (uint64_t)(x >> 64);
      y = (u128)m * Params::p(1) + (uint64_t)x + C; C = (uint64_t)(y >> 64); t0 = (uint64_t)y;
      x = (u128)v[2] * bi + t2 + A; A = (uint64_t)(x >> 64);
      y = (u128)m * Params::p(2) + (uint64_t)x + C; C = (uint64_t)(y >> 64); t1 = (uint64_t)y;
      x = (u128)v[3] * bi + t3 + A; A = (uint64_t)(x >> 64);
      y = (u128)m * Params::p(3) + (uint64_t)x + C; C = (uint64_t)(y >> 64); t2 = (uint64_t)y;
      t3 = C + A;
    }
    Fp r;
    r.v[0] = t0; r.v[1] = t1; r.v[2] = t2; r.v[3] = t3;
    r.reduce_once();
    return r;
  }
#ifdef OZK_ASM_MUL
#define OZK_MUL_STEP(OFF)                       \
  "movq " #OFF "(%[b]), %%rdx\n\t"              \
  "xorq %%rax, %%rax\n\t"                      \
  "mulxq 0(%[a]), %%rax, %[A]\n\t"             \
  "adoxq %%rax, %[t0]\n\t"                     \
  "adcxq %[A], %[t1]\n\t"                      \
  "mulxq 8(%[a]), %%rax, %[A]\n\t"             \
  "adoxq %%rax, %[t1]\n\t"                     \
  "adcxq %[A], %[t2]\n\t"                      \
  "mulxq 16(%[a]), %%rax, %[A]\n\t"            \
  "adoxq %%rax, %[t2]\n\t"                     \
  "adcxq %[A], %[t3]\n\t"                      \
  "mulxq 24(%[a]), %%rax, %[A]\n\t"            \
  "adoxq %%rax, %[t3]\n\t"                     \
  "movq $0, %%rax\n\t"                         \
  "adcxq %%rax, %[A]\n\t"                      \
  "adoxq %%rax, %[A]\n\t"                      \
  "movq %[t0], %%rdx\n\t"                      \
  "imulq %[inv], %%rdx\n\t"                    \
  "xorq %%rax, %%rax\n\t"                      \
  "mulxq %[q0], %%rax, %[S]\n\t"               \
  "adcxq %[t0], %%rax\n\t"                     \
  "movq %[S], %[t0]\n\t"                       \
  "adcxq %[t1], %[t0]\n\t"                     \
  "mulxq %[q1], %%rax, %[t1]\n\t"              \
  "adoxq %%rax, %[t0]\n\t"                     \
  "adcxq %[t2], %[t1]\n\t"                     \
  "mulxq %[q2], %%rax, %[t2]\n\t"              \
  "adoxq %%rax, %[t1]\n\t"                     \
  "adcxq %[t3], %[t2]\n\t"                     \
  "mulxq %[q3], %%rax, %[t3]\n\t"              \
  "adoxq %%rax, %[t2]\n\t"                     \
  "movq $0, %%rax\n\t"                         \
  "adcxq %%rax, %[t3]\n\t"                     \
  "adoxq %[A], %[t3]\n\t"
  OZK_HOT Fp mul_asm(const Fp& bb) const {
    uint64_t t0 = 0, t1 = 0, t2 = 0, t3 = 0, A, S;
    asm(OZK_MUL_STEP(0) OZK_MUL_STEP(8) OZK_MUL_STEP(16) OZK_MUL_STEP(24)
        : [t0] "+&r"(t0), [t1] "+&r"(t1), [t2] "+&r"(t2), [t3] "+&r"(t3), [A] "=&r"(A), [S] "=&r"(S)
        : [a] "r"(v), [b] "r"(bb.v), [inv] "m"(Params::INV), [q0] "m"(Params::P[0]), [q1] "m"(Params::P[1]),
          [q2] "m"(Params::P[2]), [q3] "m"(Params::P[3])
        : "rax", "rdx", "cc", "memory");
    Fp r;
    r.v[0] = t0; r.v[1] = t1; r.v[2] = t2; r.v[3] = t3;
    r.reduce_once();
    return r;
  }
#undef OZK_MUL_STEP
#endif
  // Branch-free conditional subtraction of P.
  OZK_HOT void reduce_once() {
#ifdef OZK_X86_CARRY
    unsigned long long t0, t1, t2, t3;
    unsigned char br = _subborrow_u64(0, v[0], Params::p(0), &t0);
    br = _subborrow_u64(br, v[1], Params::p(1), &t1);
    br = _subborrow_u64(br, v[2], Params::p(2), &t2);
    br = _subborrow_u64(br, v[3], Params::p(3), &t3);
    uint64_t keep = 0 - (uint64_t)br;
    v[0] = (v[0] & keep) | (t0 & ~keep); v[1] = (v[1] & keep) | (t1 & ~keep);
    v[2] = (v[2] & keep) | (t2 & ~keep); v[3] = (v[3] & keep) | (t3 & ~keep);
#else
    uint64_t s[4], borrow = 0;
    for (int i = 0; i < 4; i++) {
      u128 t = (u128)v[i] - Params::p(i) - borrow;
      s[i] = (uint64_t)t;
      borrow = (uint64_t)(t >> 64) & 1;
    }
    uint64_t keep = 0 - borrow;  // all ones when v < P
    for (int i = 0; i < 4; i++) v[i] = (v[i] & keep) | (s[i] & ~keep);
#endif
  }
  OZK_HOT Fp sqr() const { return *this * *this; }

  // Conversions between the canonical integer (little-endian limbs) and Montgomery form.
  OZK_HD static Fp from_raw(const uint64_t a[4]) {  // a must be < P
    Fp x; for (int i = 0; i < 4; i++) x.v[i] = a[i];
    Fp r2; for (int i = 0; i < 4; i++) r2.v[i] = Params::r2(i);
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
    uint64_t e[4]; for (int i = 0; i < 4; i++) e[i] = Params::p(i);
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

// Square root in Fq2 by the norm method: for z = a + bi with n = sqrt(a^2 + b^2), x = sqrt((a +- n) / 2) and
// y = b / 2x. Returns false when z is not a square. Variable time (tests and key checks only).
inline bool fq2_sqrt(const Fq2& z, Fq2& out) {
  Fq half = Fq::from_u64(2).inv();
  if (z.b.is_zero()) {
    Fq r;
    if (fq_sqrt(z.a, r)) { out.a = r; out.b = Fq::zero(); return true; }
    if (fq_sqrt(z.a.neg(), r)) { out.a = Fq::zero(); out.b = r; return true; }
    return false;
  }
  Fq n;
  if (!fq_sqrt(z.a.sqr() + z.b.sqr(), n)) return false;
  Fq x;
  if (!fq_sqrt((z.a + n) * half, x) && !fq_sqrt((z.a - n) * half, x)) return false;
  Fq2 r;
  r.a = x;
  r.b = z.b * (x + x).inv();
  if (r.sqr() != z) return false;
  out = r;
  return true;
}

}  // namespace ozk
