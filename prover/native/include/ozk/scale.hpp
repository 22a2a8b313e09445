// Multiplies many G1 points by one shared scalar: the hot loop of a Groth16 phase-2 contribution, which scales
// every point of the key's L and H sections (snarkjs sections 8 and 9) by delta^-1.
//
// The scalar is recoded once into width-5 NAF digits (on average one nonzero digit per 6 bits). Each point then
// needs its own table of odd multiples P, 3P, ..., 15P and about 254 doublings and 43 additions. Points are processed
// in batches: the tables of a whole batch are normalized to affine with a single field inversion (so the main loop
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
// 32 bytes of little-endian Montgomery limbs, (0, 0) for infinity (which stays infinity). k is a canonical integer
// (the caller passes one below r). The bytes are copied through aligned buffers (a section of a mapped file need
// not be 8-byte aligned); the limbs are host-endian, and x86 and ARM are little-endian like the file.
inline void scale_g1_bytes(uint8_t* data, size_t n, const uint64_t k[4], int threads, size_t batch = 512) {
  static_assert(sizeof(G1Affine) == 64, "G1Affine must match the 64-byte on-disk point");
  int8_t digits[260];
  const int nd = wnaf_recode(k, SCALE_WNAF_W, digits);
  const size_t chunks = (n + batch - 1) / batch;
  // Contiguous ranges of chunks per thread, so each thread allocates its buffers once.
  parallel_ranges(chunks, threads, [&](size_t c_lo, size_t c_hi) {
    std::vector<G1Affine> p(batch), tab(batch * SCALE_TABLE);
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
      // left to right over the digits; additions read the affine table (negated for negative digits)
      for (size_t i = 0; i < m; i++) {
        const G1Affine* t = &tab[i * SCALE_TABLE];
        G1 r = G1::inf();
        for (int j = nd - 1; j >= 0; j--) {
          r = r.dbl();
          const int dj = digits[j];
          if (dj > 0) r = r.add_mixed(t[(dj - 1) >> 1]);
          else if (dj < 0) r = r.add_mixed(t[(-dj - 1) >> 1].neg());
        }
        acc[i] = r;
      }
      normalize_batch(acc.data(), p.data(), m, scratch.data());
      memcpy(raw, p.data(), m * 64);
    }
  });
}

}  // namespace ozk
