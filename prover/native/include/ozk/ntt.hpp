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

inline void bit_reverse(Fr* a, int logn) {
  size_t n = (size_t)1 << logn;
  for (size_t i = 0; i < n; i++) {
    size_t r = 0, x = i;
    for (int k = 0; k < logn; k++) { r = (r << 1) | (x & 1); x >>= 1; }
    if (i < r) { Fr t = a[i]; a[i] = a[r]; a[r] = t; }
  }
}

// In-place transform of n = 2^logn Montgomery elements; tw from ntt_twiddles with the same logn and direction.
inline void ntt_inplace(Fr* a, int logn, const std::vector<Fr>& tw, int threads) {
  size_t n = (size_t)1 << logn;
  if (n <= 1) return;
  bit_reverse(a, logn);
  for (int s = 1; s <= logn; s++) {
    size_t len = (size_t)1 << s, half = len >> 1, stride = n >> s;
    int t = n >= 4096 ? threads : 1;
    parallel_ranges(n / 2, t, [&](size_t b, size_t e) {
      for (size_t k = b; k < e; k++) {
        size_t blk = k / half, j = k % half;
        size_t i0 = blk * len + j;
        ntt_butterfly(a[i0], a[i0 + half], tw[j * stride]);
      }
    });
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
