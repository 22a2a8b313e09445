// Multiplies many G1 points by one shared scalar: the hot loop of a Groth16 phase-2 contribution, which scales
// every point of the key's L and H sections (snarkjs sections 8 and 9) by delta^-1.
//
// GLV: BN254's G1 has the endomorphism phi(x, y) = (beta x, y) = lambda (x, y), beta a cube root of unity in Fq and
// lambda one in Fr, so k P = k1 P + k2 phi(P) with |k1|, |k2| about 2^128 (the split is computed once, for the
// shared scalar). Both halves are recoded into width-5 NAF digits (on average one nonzero digit per 6 bits), and
// one double-and-add pass of about 128 doublings handles both. Each point needs its own table of odd multiples
// P, 3P, ..., 15P; the phi table follows from it by one multiplication per entry. Points are processed in
// batches: the tables of a whole batch are normalized to affine with a single field inversion (so the main loop
// uses the cheaper mixed addition), and so are the results, which go back to the affine form they are stored in.
//
// Variable time in the scalar (the digit pattern decides where additions happen), as snarkjs's own applyKey: run a
// contribution on a machine nobody else shares.
#pragma once
#include <cstring>
#include <vector>

#include "curve.hpp"
#include "parallel.hpp"

namespace ozk {

constexpr int SCALE_WNAF_W = 5;
constexpr int SCALE_TABLE = 1 << (SCALE_WNAF_W - 2);  // P, 3P, ..., 15P

// Width-w NAF of a 256-bit k: k = sum_i d[i] 2^i with every d[i] zero or odd, |d[i]| < 2^(w-1), and any w
// consecutive digits holding at most one nonzero. Returns the number of digits (at most 257).
inline int wnaf_recode(const uint64_t k_in[4], int w, int8_t* d) {
  uint64_t k[5] = {k_in[0], k_in[1], k_in[2], k_in[3], 0};
  const int64_t full = (int64_t)1 << w, half = full >> 1;
  int n = 0;
  while ((k[0] | k[1] | k[2] | k[3] | k[4]) != 0) {
    int64_t di = 0;
    if (k[0] & 1) {
      di = (int64_t)(k[0] & (uint64_t)(full - 1));
      if (di >= half) di -= full;
      // k -= di: subtract a positive digit, or add the magnitude of a negative one
      if (di > 0) {
        u128 b = 0;
        uint64_t s = (uint64_t)di;
        for (int j = 0; j < 5; j++) {
          u128 t = (u128)k[j] - (j == 0 ? s : 0) - (uint64_t)b;
          k[j] = (uint64_t)t;
          b = (t >> 64) & 1;
        }
      } else {
        u128 c = (uint64_t)(-di);
        for (int j = 0; j < 5; j++) {
          u128 t = (u128)k[j] + (uint64_t)c;
          k[j] = (uint64_t)t;
          c = t >> 64;
        }
      }
    }
    d[n++] = (int8_t)di;
    for (int j = 0; j < 4; j++) k[j] = (k[j] >> 1) | (k[j + 1] << 63);
    k[4] >>= 1;
  }
  return n;
}

// GLV constants (checked in ozk-native-test selftest): the lattice {(a, b) : a + b lambda = 0 mod r} has the short
// basis v1 = (A1, -G), v2 = (G, A2) with A1 A2 + G^2 = r; M1 = floor(2^256 A2 / r), M2 = floor(2^256 G / r).
struct Glv {
  static constexpr uint64_t A1[2] = {0x8211bbeb7d4f1128ULL, 0x6f4d8248eeb859fcULL};
  static constexpr uint64_t A2[2] = {0x0be4e1541221250bULL, 0x6f4d8248eeb859fdULL};
  static constexpr uint64_t G = 0x89d3256894d213e3ULL;
  static constexpr uint64_t M1[3] = {0x5398fd0300ff6565ULL, 0x4ccef014a773d2d2ULL, 0x2ULL};
  static constexpr uint64_t M2[2] = {0xd91d232ec7e0b3d7ULL, 0x2ULL};
  // beta in Montgomery form: phi(x, y) = (beta x, y) = lambda (x, y) for
  // lambda = 21888242871839275217838484774961031246154997185409878258781734729429964517155
  static Fq beta() {
    Fq b; b.v[0] = 0x3350c88e13e80b9cULL; b.v[1] = 0x7dce557cdb5e56b9ULL; b.v[2] = 0x6001b4b8b615564aULL;
    b.v[3] = 0x2682e617020217e0ULL; return b;
  }
};

// out = a * b truncated to 4 limbs (a has na limbs, b has nb).
inline void mul_trunc4(const uint64_t* a, int na, const uint64_t* b, int nb, uint64_t out[4]) {
  uint64_t t[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  for (int i = 0; i < na; i++) {
    u128 c = 0;
    for (int j = 0; j < nb; j++) {
      u128 x = (u128)a[i] * b[j] + t[i + j] + (uint64_t)c;
      t[i + j] = (uint64_t)x;
      c = x >> 64;
    }
    t[i + nb] += (uint64_t)c;
  }
  for (int i = 0; i < 4; i++) out[i] = t[i];
}
inline void add4(uint64_t a[4], const uint64_t b[4]) {
  u128 c = 0;
  for (int i = 0; i < 4; i++) { u128 x = (u128)a[i] + b[i] + (uint64_t)c; a[i] = (uint64_t)x; c = x >> 64; }
}
inline void sub4(uint64_t a[4], const uint64_t b[4]) {
  u128 br = 0;
  for (int i = 0; i < 4; i++) { u128 x = (u128)a[i] - b[i] - (uint64_t)br; a[i] = (uint64_t)x; br = (x >> 64) & 1; }
}
// Two's complement value -> magnitude, returns whether it was negative.
inline bool abs4(uint64_t a[4]) {
  if (!(a[3] >> 63)) return false;
  for (int i = 0; i < 4; i++) a[i] = ~a[i];
  const uint64_t one[4] = {1, 0, 0, 0};
  add4(a, one);
  return true;
}

// k = k1 + k2 lambda (mod r) with |k1|, |k2| about 2^128, for k < r: q1 ~ k A2 / r and q2 ~ k G / r (Babai
// rounding, floor via the M constants), then (k1, k2) = (k, 0) - q1 v1 - q2 v2. The identity holds for any q1, q2
// (v1 and v2 are in the lattice); the rounding only keeps the halves short.
inline void glv_split(const uint64_t k[4], uint64_t k1[4], bool& neg1, uint64_t k2[4], bool& neg2) {
  uint64_t p[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  auto mul_hi = [&](const uint64_t* m, int nm, uint64_t q[4]) {  // q = floor(k m / 2^256)
    for (int i = 0; i < 8; i++) p[i] = 0;
    for (int i = 0; i < 4; i++) {
      u128 c = 0;
      for (int j = 0; j < nm; j++) {
        u128 x = (u128)k[i] * m[j] + p[i + j] + (uint64_t)c;
        p[i + j] = (uint64_t)x;
        c = x >> 64;
      }
      p[i + nm] += (uint64_t)c;
    }
    for (int i = 0; i < 4; i++) q[i] = p[4 + i];
  };
  uint64_t q1[4], q2[4], t[4];
  mul_hi(Glv::M1, 3, q1);  // < 2^128
  mul_hi(Glv::M2, 2, q2);  // < 2^64
  const uint64_t g[1] = {Glv::G};
  for (int i = 0; i < 4; i++) k1[i] = k[i];
  mul_trunc4(q1, 2, Glv::A1, 2, t); sub4(k1, t);
  mul_trunc4(q2, 1, g, 1, t); sub4(k1, t);
  mul_trunc4(q1, 2, g, 1, k2);
  mul_trunc4(q2, 1, Glv::A2, 2, t); sub4(k2, t);
  neg1 = abs4(k1);
  neg2 = abs4(k2);
}

// Affine forms of n Jacobian points with one inversion (Montgomery's trick); `scratch` holds n elements.
template <class F>
void normalize_batch(const Jacobian<F>* in, Affine<F>* out, size_t n, F* scratch) {
  F run = F::one();
  for (size_t i = 0; i < n; i++) {
    scratch[i] = run;
    if (!in[i].is_inf()) run = run * in[i].z;
  }
  F inv = run.inv();
  for (size_t i = n; i-- > 0;) {
    if (in[i].is_inf()) { out[i] = Affine<F>::inf(); continue; }
    F zi = inv * scratch[i];
    inv = inv * in[i].z;
    F zi2 = zi.sqr();
    out[i].x = in[i].x * zi2;
    out[i].y = in[i].y * zi2 * zi;
  }
}

// k * P for every 64-byte point P of `data` (n points), in place, in snarkjs's on-disk encoding: x then y, each
// 32 bytes of little-endian Montgomery limbs, (0, 0) for infinity (which stays infinity). k must be below r. The
// bytes are copied through aligned buffers (a section of a mapped file need not be 8-byte aligned); the limbs are
// host-endian, and x86 and ARM are little-endian like the file.
inline void scale_g1_bytes(uint8_t* data, size_t n, const uint64_t k[4], int threads, size_t batch = 512) {
  static_assert(sizeof(G1Affine) == 64, "G1Affine must match the 64-byte on-disk point");
  uint64_t k1[4], k2[4];
  bool neg1, neg2;
  glv_split(k, k1, neg1, k2, neg2);
  int8_t d1[260], d2[260];
  const int n1 = wnaf_recode(k1, SCALE_WNAF_W, d1), n2 = wnaf_recode(k2, SCALE_WNAF_W, d2);
  const int nd = std::max(n1, n2);
  for (int j = n1; j < nd; j++) d1[j] = 0;
  for (int j = n2; j < nd; j++) d2[j] = 0;
  // the halves' signs folded into the digits
  for (int j = 0; j < nd; j++) {
    if (neg1) d1[j] = (int8_t)-d1[j];
    if (neg2) d2[j] = (int8_t)-d2[j];
  }
  const Fq beta = Glv::beta();
  const size_t chunks = (n + batch - 1) / batch;
  // Contiguous ranges of chunks per thread, so each thread allocates its buffers once.
  parallel_ranges(chunks, threads, [&](size_t c_lo, size_t c_hi) {
    std::vector<G1Affine> p(batch), tab(batch * SCALE_TABLE), tabphi(batch * SCALE_TABLE);
    std::vector<G1> jt(batch * SCALE_TABLE), acc(batch);
    std::vector<Fq> scratch(batch * SCALE_TABLE);
    for (size_t c = c_lo; c < c_hi; c++) {
      uint8_t* raw = data + c * batch * 64;
      const size_t m = std::min(batch, n - c * batch);
      memcpy(p.data(), raw, m * 64);
      // odd multiples of every point of the batch, then all of them to affine with one inversion
      for (size_t i = 0; i < m; i++) {
        G1* t = &jt[i * SCALE_TABLE];
        t[0] = G1::from_affine(p[i]);
        G1 p2 = t[0].dbl();
        for (int j = 1; j < SCALE_TABLE; j++) t[j] = t[j - 1] + p2;
      }
      normalize_batch(jt.data(), tab.data(), m * SCALE_TABLE, scratch.data());
      for (size_t i = 0; i < m * SCALE_TABLE; i++) {
        tabphi[i].x = tab[i].x * beta;  // infinity (0, 0) stays (0, 0)
        tabphi[i].y = tab[i].y;
      }
      // left to right over both digit strings; additions read the affine tables (negated for negative digits)
      for (size_t i = 0; i < m; i++) {
        const G1Affine* t1 = &tab[i * SCALE_TABLE];
        const G1Affine* t2 = &tabphi[i * SCALE_TABLE];
        G1 r = G1::inf();
        for (int j = nd - 1; j >= 0; j--) {
          r = r.dbl();
          const int a = d1[j], b = d2[j];
          if (a > 0) r = r.add_mixed(t1[(a - 1) >> 1]);
          else if (a < 0) r = r.add_mixed(t1[(-a - 1) >> 1].neg());
          if (b > 0) r = r.add_mixed(t2[(b - 1) >> 1]);
          else if (b < 0) r = r.add_mixed(t2[(-b - 1) >> 1].neg());
        }
        acc[i] = r;
      }
      normalize_batch(acc.data(), p.data(), m, scratch.data());
      memcpy(raw, p.data(), m * 64);
    }
  });
  memset(k1, 0, sizeof k1);
  memset(k2, 0, sizeof k2);
}

}  // namespace ozk
