// Pippenger multi-scalar multiplication with signed (Booth) window digits: the digit/bucket logic is shared with
// CUDA; the CPU driver runs (window, chunk) tasks on threads.
#pragma once
#include <cstring>
#include <vector>

#include "curve.hpp"
#include "parallel.hpp"

namespace ozk {

// Bits [pos, pos+len) of a 256-bit little-endian integer; bits past 255 read as zero. len <= 32.
OZK_HD uint32_t scalar_bits(const uint64_t s[4], int pos, int len) {
  int limb = pos >> 6, off = pos & 63;
  if (limb >= 4) return 0;
  uint64_t v = s[limb] >> off;
  if (off + len > 64 && limb + 1 < 4) v |= s[limb + 1] << (64 - off);
  return (uint32_t)(v & ((1ULL << len) - 1));
}

// Signed digit of window w (width c) in [-2^(c-1), 2^(c-1)]: raw window - 2^c * (its top bit) + (bit below it).
// Sum_w digit_w * 2^(w*c) == s whenever s < 2^(windows*c - 1).
OZK_HD int32_t booth_digit(const uint64_t s[4], int w, int c) {
  int pos = w * c;
  int32_t raw = (int32_t)scalar_bits(s, pos, c);
  int32_t top = (raw >> (c - 1)) & 1;
  int32_t below = pos == 0 ? 0 : (int32_t)scalar_bits(s, pos - 1, 1);
  return raw - (top << c) + below;
}

// Scalars must be below 2^255 for the digit decomposition; reduce anything >= r (a few subtractions at most).
OZK_HD void reduce_scalar(uint64_t s[4]) {
  while (Fr::geq_p(s)) Fr::sub_p(s);
}

OZK_HD int msm_windows(int c) { return (255 + c - 1) / c; }

// Window width minimizing windows * (n + 2^c) point additions.
inline int msm_window_bits(size_t n) {
  int best = 2;
  double best_cost = 1e300;
  for (int c = 2; c <= 18; c++) {
    double cost = (double)msm_windows(c) * ((double)n + (double)(1u << c));
    if (cost < best_cost) { best_cost = cost; best = c; }
  }
  return best;
}

template <class F>
OZK_HD void load_affine(Affine<F>& p, const uint8_t* bytes) { memcpy(&p, bytes, sizeof(Affine<F>)); }

// Running-sum reduction: sum_{b} (b+1) * bucket[b].
template <class F>
Jacobian<F> reduce_buckets(const Jacobian<F>* buckets, size_t nb) {
  Jacobian<F> running = Jacobian<F>::inf(), total = Jacobian<F>::inf();
  for (size_t b = nb; b-- > 0;) {
    running = running + buckets[b];
    total = total + running;
  }
  return total;
}

// sum_i scalars[i] * points[i]. points: n affine points in LEM layout (sizeof(Affine<F>) bytes each);
// scalars: n canonical 32-byte little-endian integers (values >= r are reduced).
template <class F>
Jacobian<F> msm(const uint8_t* points, const uint8_t* scalars, size_t n, int threads) {
  typedef Jacobian<F> J;
  if (n == 0) return J::inf();
  int c = msm_window_bits(n);
  int nw = msm_windows(c);
  size_t nb = (size_t)1 << (c - 1);
  // Split points into chunks only when windows alone cannot keep every thread busy.
  size_t chunks = 1;
  while ((size_t)nw * chunks < (size_t)threads * 2 && n / (chunks * 2) >= 4096) chunks *= 2;
  size_t ntasks = (size_t)nw * chunks;
  std::vector<J> partial(ntasks);
  parallel_for(ntasks, threads, [&](size_t task) {
    int w = (int)(task / chunks);
    size_t ch = task % chunks;
    size_t begin = n * ch / chunks, end = n * (ch + 1) / chunks;
    std::vector<J> buckets(nb, J::inf());
    for (size_t i = begin; i < end; i++) {
      uint64_t s[4];
      memcpy(s, scalars + 32 * i, 32);
      reduce_scalar(s);
      int32_t d = booth_digit(s, w, c);
      if (d == 0) continue;
      Affine<F> p;
      load_affine(p, points + sizeof(Affine<F>) * i);
      if (d > 0) buckets[d - 1] = buckets[d - 1].add_mixed(p);
      else buckets[-d - 1] = buckets[-d - 1].add_mixed(p.neg());
    }
    partial[task] = reduce_buckets(buckets.data(), nb);
  });
  J acc = J::inf();
  for (int w = nw - 1; w >= 0; w--) {
    for (int k = 0; k < c; k++) acc = acc.dbl();
    for (size_t ch = 0; ch < chunks; ch++) acc = acc + partial[(size_t)w * chunks + ch];
  }
  return acc;
}

}  // namespace ozk
