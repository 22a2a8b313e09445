// Radix-2 NTT over Fr in natural order (same ordering and roots as ffjavascript's Fr.fft / Fr.ifft).
#pragma once
#include <vector>

#include "field.hpp"
#include "parallel.hpp"

namespace ozk {

constexpr int FR_TWO_ADICITY = 28;

// Primitive 2^k-th root of unity, matching ffjavascript's Fr.w[k] (5^((r-1)/2^28) squared 28-k times).
inline Fr fr_root_of_unity(int k) {
  Fr w;
  const uint64_t w28[4] = {0x636e735580d13d9cULL, 0xa22bf3742445ffd6ULL, 0x56452ac01eb203d8ULL, 0x1860ef942963f9e7ULL};
  for (int i = 0; i < 4; i++) w.v[i] = w28[i];
  for (int i = k; i < FR_TWO_ADICITY; i++) w = w.sqr();
  return w;
}

// One butterfly: (a, b) <- (a + w b, a - w b). Shared with the CUDA kernels.
OZK_HOT void ntt_butterfly(Fr& a, Fr& b, const Fr& w) {
  Fr t = b * w;
  b = a - t;
  a = a + t;
}

inline int log2_exact(size_t n) {
  int k = 0;
  while (((size_t)1 << k) < n) k++;
  return ((size_t)1 << k) == n ? k : -1;
}

// Table of w^0 .. w^(n/2 - 1) for the primitive n-th root (or its inverse).
inline std::vector<Fr> ntt_twiddles(int logn, bool inverse, int threads) {
  size_t n = (size_t)1 << logn, half = n / 2;
  std::vector<Fr> tw(half == 0 ? 1 : half);
  Fr w = fr_root_of_unity(logn);
  if (inverse) w = w.inv();
  if (half == 0) { tw[0] = Fr::one(); return tw; }
  // Each range starts from w^begin, then steps by w.
  parallel_ranges(half, threads, [&](size_t b, size_t e) {
    uint64_t ex[4] = {(uint64_t)b, 0, 0, 0};
    Fr x = w.pow(ex);
    for (size_t i = b; i < e; i++) { tw[i] = x; x = x * w; }
  });
  return tw;
}

inline uint32_t reverse_bits(uint32_t x, int logn) {
  x = ((x >> 1) & 0x55555555u) | ((x & 0x55555555u) << 1);
  x = ((x >> 2) & 0x33333333u) | ((x & 0x33333333u) << 2);
  x = ((x >> 4) & 0x0f0f0f0fu) | ((x & 0x0f0f0f0fu) << 4);
  x = __builtin_bswap32(x);
  return logn == 0 ? 0 : x >> (32 - logn);
}

// Each pair is swapped by the thread that owns its smaller index.
inline void bit_reverse(Fr* a, int logn, int threads = 1) {
  size_t n = (size_t)1 << logn;
  parallel_ranges(n, n >= 4096 ? threads : 1, [&](size_t lo, size_t hi) {
    for (size_t i = lo; i < hi; i++) {
      size_t r = reverse_bits((uint32_t)i, logn);
      if (i < r) { Fr t = a[i]; a[i] = a[r]; a[r] = t; }
    }
  });
}

// Stages whose butterflies stay inside blocks of 2^NTT_BLOCK_LOG elements (32 KiB, L1/L2-resident) run block by
// block, all of them before the block is left; the remaining stages run as passes over the whole array.
constexpr int NTT_BLOCK_LOG = 10;

// In-place transform of n = 2^logn Montgomery elements; tw from ntt_twiddles with the same logn and direction.
inline void ntt_inplace(Fr* a, int logn, const std::vector<Fr>& tw, int threads) {
  size_t n = (size_t)1 << logn;
  if (n <= 1) return;
  bit_reverse(a, logn, threads);
  int inner = logn < NTT_BLOCK_LOG ? logn : NTT_BLOCK_LOG;
  size_t block = (size_t)1 << inner, nblocks = n >> inner;
  parallel_for(nblocks, nblocks >= 2 ? threads : 1, [&](size_t blk) {
    Fr* x = a + blk * block;
    for (int s = 1; s <= inner; s++) {
      size_t half = (size_t)1 << (s - 1), stride = n >> s;
      for (size_t i0 = 0; i0 < block; i0 += 2 * half)
        for (size_t j = 0; j < half; j++) ntt_butterfly(x[i0 + j], x[i0 + j + half], tw[j * stride]);
    }
  });
  // Outer stages two at a time (radix 4): each element is loaded once for both stages s and s + 1.
  for (int s = inner + 1; s <= logn;) {
    size_t h = (size_t)1 << (s - 1), st1 = n >> s;
    if (s + 1 <= logn) {
      size_t st2 = n >> (s + 1);
      parallel_ranges(n / 4, threads, [&](size_t b, size_t e) {
        for (size_t k = b; k < e; k++) {
          size_t blk = k / h, j = k % h;
          size_t i0 = blk * 4 * h + j;
          ntt_butterfly(a[i0], a[i0 + h], tw[j * st1]);
          ntt_butterfly(a[i0 + 2 * h], a[i0 + 3 * h], tw[j * st1]);
          ntt_butterfly(a[i0], a[i0 + 2 * h], tw[j * st2]);
          ntt_butterfly(a[i0 + h], a[i0 + 3 * h], tw[(j + h) * st2]);
        }
      });
      s += 2;
    } else {
      parallel_ranges(n / 2, threads, [&](size_t b, size_t e) {
        for (size_t k = b; k < e; k++) {
          size_t blk = k / h, j = k % h;
          size_t i0 = blk * 2 * h + j;
          ntt_butterfly(a[i0], a[i0 + h], tw[j * st1]);
        }
      });
      s += 1;
    }
  }
}

inline void intt_inplace(Fr* a, int logn, const std::vector<Fr>& tw_inv, int threads) {
  ntt_inplace(a, logn, tw_inv, threads);
  size_t n = (size_t)1 << logn;
  Fr ninv = Fr::from_u64(n).inv();
  parallel_ranges(n, threads, [&](size_t b, size_t e) {
    for (size_t i = b; i < e; i++) a[i] = a[i] * ninv;
  });
}

}  // namespace ozk
