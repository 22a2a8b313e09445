// The GPU's MSM and NTT as index-parallel steps: every step is a __host__ __device__ function of one index, so
// the CUDA kernels (cuda/gpu.cuh) are one-line wrappers around them, and the same steps run on the CPU here
// (msm_plan_cpu, ntt_plan_cpu), where the tests check them against the CPU prover and snarkjs.
//
// MSM, sum_i s_i P_i with n points:
//   1. digits        (i < n)       Booth digit of every window: key = window * nb + |digit| - 1, value = point
//                                  index with the sign in the top bit; zero digits get the key nball (sorted last)
//   2. sort          (pairs)       by key (cub radix sort on the GPU, std::stable_sort here)
//   3. bucket_start  (b <= nball)  first position of key b (binary search); runs of equal keys are the buckets
//   4. chunking                    a bucket of m points is cut into ceil(m / L) chunks of at most L points, with L
//                                  about sqrt(largest bucket), so one hot bucket (all scalars 1, say) is spread
//                                  over many threads; chunk_start = exclusive prefix sum of the chunk counts
//   5. chunk_sum     (j < chunks)  sum of one chunk's points (mixed additions)
//   6. bucket_sum    (b < nball)   sum of the bucket's chunk sums
//   7. window_slice  (g < nw*tpw)  split running-sum reduction: thread t of window w reduces buckets
//                                  [t*per, (t+1)*per) to T + lo*S (bucket_range_sums)
//   8. combine (host)              sum over windows with c doublings between them
//
// QAP: one independent row sum per constraint (plan_qap_row) over the coefficient section in rows (QapRows).
#pragma once
#include <algorithm>
#include <cstring>
#include <numeric>
#include <vector>

#include "msm.hpp"
#include "ntt.hpp"

namespace ozk {

struct MsmPlan {
  uint32_t n = 0;       // points
  int c = 0;            // window bits
  int nw = 0;           // windows
  uint32_t nb = 0;      // buckets per window (2^(c-1): signed digits)
  uint32_t nball = 0;   // buckets over all windows; also the key of zero digits
  uint64_t total = 0;   // (window, point) pairs = nw * n
  int key_bits = 0;     // bits the sort needs to look at (keys are <= nball)
  uint32_t tpw = 128;   // reduction threads per window
  uint32_t per = 0;     // buckets per reduction thread
};

OZK_HD int plan_key_bits(uint32_t max_key) {
  int b = 1;
  while (b < 32 && (max_key >> b) != 0) b++;
  return b;
}

// Window width for the GPU: fewer, larger windows than the CPU's (buckets are cheap in parallel).
inline MsmPlan msm_plan(size_t n) {
  MsmPlan p;
  p.n = (uint32_t)n;
  p.c = n < (1u << 12) ? 8 : n < (1u << 16) ? 11 : n < (1u << 20) ? 13 : 15;
  p.nw = msm_windows(p.c);
  p.nb = 1u << (p.c - 1);
  p.nball = (uint32_t)p.nw * p.nb;
  p.total = (uint64_t)p.nw * n;
  p.key_bits = plan_key_bits(p.nball);
  p.per = (p.nb + p.tpw - 1) / p.tpw;
  return p;
}

// Chunk length for a largest bucket of `max_count` points: about its square root, at least 16.
OZK_HD uint32_t plan_chunk_len(uint32_t max_count) {
  uint32_t L = 16;
  while ((uint64_t)L * L < max_count) L <<= 1;
  return L;
}

// Step 1: the pairs of point i, one per window, at positions w * n + i.
OZK_HD void plan_digits(const MsmPlan& p, const uint8_t* scalars, uint32_t i, uint32_t* keys, uint32_t* vals) {
  uint64_t s[4];
  memcpy(s, scalars + 32ull * i, 32);
  reduce_scalar(s);
  for (int w = 0; w < p.nw; w++) {
    int32_t d = booth_digit(s, w, p.c);
    uint64_t o = (uint64_t)w * p.n + i;
    keys[o] = d == 0 ? p.nball : (uint32_t)w * p.nb + (uint32_t)((d < 0 ? -d : d) - 1);
    vals[o] = i | (d < 0 ? 0x80000000u : 0u);
  }
}

// Step 3: first position in the sorted keys whose key is >= b.
OZK_HD uint32_t plan_bucket_start(const uint32_t* keys, uint64_t total, uint32_t b) {
  uint64_t lo = 0, hi = total;
  while (lo < hi) {
    uint64_t mid = (lo + hi) / 2;
    if (keys[mid] < b) lo = mid + 1; else hi = mid;
  }
  return (uint32_t)lo;
}

// Step 4 helpers: points and chunks of bucket b.
OZK_HD uint32_t plan_bucket_count(const uint32_t* start, uint32_t b) { return start[b + 1] - start[b]; }
OZK_HD uint32_t plan_chunk_count(const uint32_t* start, uint32_t b, uint32_t L) {
  return (plan_bucket_count(start, b) + L - 1) / L;
}

// Step 5: chunk j belongs to the last bucket b with chunk_start[b] <= j.
template <class F>
OZK_HD Jacobian<F> plan_chunk_sum(const uint8_t* points, const uint32_t* vals, const uint32_t* start,
                                  const uint32_t* chunk_start, uint32_t nball, uint32_t L, uint32_t j) {
  uint32_t lo = 0, hi = nball;  // find b in [0, nball) with chunk_start[b] <= j < chunk_start[b + 1]
  while (hi - lo > 1) {
    uint32_t mid = (lo + hi) / 2;
    if (chunk_start[mid] <= j) lo = mid; else hi = mid;
  }
  uint32_t b = lo;
  uint32_t k0 = start[b] + (j - chunk_start[b]) * L;
  uint32_t k1 = k0 + L < start[b + 1] ? k0 + L : start[b + 1];
  Jacobian<F> acc = Jacobian<F>::inf();
  for (uint32_t k = k0; k < k1; k++) {
    uint32_t v = vals[k];
    Affine<F> pt;
    load_affine(pt, points + sizeof(Affine<F>) * (size_t)(v & 0x7fffffffu));
    if (v & 0x80000000u) pt = pt.neg();
    acc = acc.add_mixed(pt);
  }
  return acc;
}

// Step 6.
template <class F>
OZK_HD Jacobian<F> plan_bucket_sum(const Jacobian<F>* chunks, const uint32_t* chunk_start, uint32_t b) {
  Jacobian<F> acc = Jacobian<F>::inf();
  for (uint32_t j = chunk_start[b]; j < chunk_start[b + 1]; j++) acc = acc + chunks[j];
  return acc;
}

// Step 7.
template <class F>
OZK_HD Jacobian<F> plan_window_slice(const MsmPlan& p, const Jacobian<F>* buckets, uint32_t g) {
  uint32_t w = g / p.tpw, t = g % p.tpw;
  uint32_t lo = t * p.per, hi = lo + p.per < p.nb ? lo + p.per : p.nb;
  if (lo >= hi) return Jacobian<F>::inf();
  Jacobian<F> S, T;
  bucket_range_sums(buckets + (size_t)w * p.nb, lo, hi, S, T);
  return T + mul_small(S, lo);
}

// Step 8.
template <class F>
Jacobian<F> plan_combine(const MsmPlan& p, const Jacobian<F>* slices) {
  Jacobian<F> acc = Jacobian<F>::inf();
  for (int w = p.nw - 1; w >= 0; w--) {
    for (int k = 0; k < p.c; k++) acc = acc.dbl();
    for (uint32_t t = 0; t < p.tpw; t++) acc = acc + slices[(size_t)w * p.tpw + t];
  }
  return acc;
}

// The whole GPU MSM run step by step on the CPU (threads across each step's indices).
template <class F>
Jacobian<F> msm_plan_cpu(const uint8_t* points, const uint8_t* scalars, size_t n, int threads) {
  typedef Jacobian<F> J;
  if (n == 0) return J::inf();
  MsmPlan p = msm_plan(n);
  std::vector<uint32_t> keys(p.total), vals(p.total);
  parallel_ranges(n, threads, [&](size_t b, size_t e) {
    for (size_t i = b; i < e; i++) plan_digits(p, scalars, (uint32_t)i, keys.data(), vals.data());
  });
  std::vector<uint64_t> order(p.total);
  for (uint64_t i = 0; i < p.total; i++) order[i] = ((uint64_t)keys[i] << 32) | vals[i];
  std::stable_sort(order.begin(), order.end(), [](uint64_t a, uint64_t b) { return (a >> 32) < (b >> 32); });
  for (uint64_t i = 0; i < p.total; i++) { keys[i] = (uint32_t)(order[i] >> 32); vals[i] = (uint32_t)order[i]; }
  std::vector<uint32_t> start(p.nball + 1);
  for (uint32_t b = 0; b <= p.nball; b++) start[b] = plan_bucket_start(keys.data(), p.total, b);
  uint32_t max_count = 0;
  for (uint32_t b = 0; b < p.nball; b++) max_count = std::max(max_count, plan_bucket_count(start.data(), b));
  uint32_t L = plan_chunk_len(max_count);
  std::vector<uint32_t> chunk_start(p.nball + 1, 0);
  for (uint32_t b = 0; b < p.nball; b++) chunk_start[b + 1] = chunk_start[b] + plan_chunk_count(start.data(), b, L);
  uint32_t nchunks = chunk_start[p.nball];
  std::vector<J> chunks(nchunks), buckets(p.nball), slices((size_t)p.nw * p.tpw);
  parallel_ranges(nchunks, threads, [&](size_t b, size_t e) {
    for (size_t j = b; j < e; j++)
      chunks[j] = plan_chunk_sum<F>(points, vals.data(), start.data(), chunk_start.data(), p.nball, L, (uint32_t)j);
  });
  parallel_ranges(p.nball, threads, [&](size_t b, size_t e) {
    for (size_t k = b; k < e; k++) buckets[k] = plan_bucket_sum<F>(chunks.data(), chunk_start.data(), (uint32_t)k);
  });
  parallel_ranges(slices.size(), threads, [&](size_t b, size_t e) {
    for (size_t g = b; g < e; g++) slices[g] = plan_window_slice<F>(p, buckets.data(), (uint32_t)g);
  });
  return plan_combine<F>(p, slices.data());
}

// ---- QAP evaluations ---------------------------------------------------------------------------------------------

// Row `row` of the A and B matrices (rows stored contiguously: start[row] .. start[row + 1]): a[row], b[row] as
// sum of coef * witness[signal], and c[row] = a[row] * b[row]. The zkey stores coef * R^2, so one Montgomery
// product with the canonical witness value gives coef * w in Montgomery form.
OZK_HD void plan_qap_row(const uint32_t* a_start, const uint32_t* a_sig, const Fr* a_coef, const uint32_t* b_start,
                         const uint32_t* b_sig, const Fr* b_coef, const uint8_t* witness, uint32_t row, Fr* a, Fr* b, Fr* c) {
  Fr sa = Fr::zero(), sb = Fr::zero();
  for (uint32_t k = a_start[row]; k < a_start[row + 1]; k++) {
    Fr w;
    memcpy(w.v, witness + 32ull * a_sig[k], 32);
    sa = sa + a_coef[k] * w;
  }
  for (uint32_t k = b_start[row]; k < b_start[row + 1]; k++) {
    Fr w;
    memcpy(w.v, witness + 32ull * b_sig[k], 32);
    sb = sb + b_coef[k] * w;
  }
  a[row] = sa;
  b[row] = sb;
  c[row] = sa * sb;
}

// The zkey's coefficient section (entries in any order) as two row-major (CSR) matrices, built once per key.
struct QapRows {
  std::vector<uint32_t> start[2], sig[2];
  std::vector<Fr> coef[2];
  QapRows(const uint8_t* section, uint32_t n_coefs, uint32_t rows) {
    const uint8_t* base = section + 4;
    for (int m = 0; m < 2; m++) start[m].assign(rows + 1, 0);
    for (uint32_t i = 0; i < n_coefs; i++) {
      uint32_t mm, ci;
      memcpy(&mm, base + (size_t)i * 44, 4);
      memcpy(&ci, base + (size_t)i * 44 + 4, 4);
      start[mm][ci + 1]++;
    }
    for (int m = 0; m < 2; m++) {
      for (uint32_t r = 0; r < rows; r++) start[m][r + 1] += start[m][r];
      sig[m].resize(start[m][rows]);
      coef[m].resize(start[m][rows]);
    }
    std::vector<uint32_t> fill[2] = {std::vector<uint32_t>(start[0].begin(), start[0].end() - 1),
                                     std::vector<uint32_t>(start[1].begin(), start[1].end() - 1)};
    for (uint32_t i = 0; i < n_coefs; i++) {
      const uint8_t* e = base + (size_t)i * 44;
      uint32_t mm, ci, s;
      memcpy(&mm, e, 4); memcpy(&ci, e + 4, 4); memcpy(&s, e + 8, 4);
      uint32_t k = fill[mm][ci]++;
      sig[mm][k] = s;
      memcpy(coef[mm][k].v, e + 12, 32);
    }
  }
  // a, b, c for one witness on the CPU, rows spread over all threads.
  void evaluate(const uint8_t* witness, size_t rows, std::vector<Fr>& a, std::vector<Fr>& b, std::vector<Fr>& c, int threads) const {
    a.assign(rows, Fr::zero()); b.assign(rows, Fr::zero()); c.assign(rows, Fr::zero());
    parallel_ranges(rows, threads, [&](size_t lo, size_t hi) {
      for (size_t r = lo; r < hi; r++)
        plan_qap_row(start[0].data(), sig[0].data(), coef[0].data(), start[1].data(), sig[1].data(), coef[1].data(),
                     witness, (uint32_t)r, a.data(), b.data(), c.data());
    });
  }
};

// ---- NTT --------------------------------------------------------------------------------------------------------

OZK_HD uint32_t bit_reverse_index(uint32_t i, int logn) {
#if defined(__CUDA_ARCH__)
  return __brev(i) >> (32 - logn);
#else
  uint32_t r = 0;
  for (int k = 0; k < logn; k++) { r = (r << 1) | (i & 1); i >>= 1; }
  return r;
#endif
}

// Element i of the bit-reversal permutation (swaps each pair once).
OZK_HD void plan_bit_reverse(Fr* a, int logn, uint32_t i) {
  uint32_t r = bit_reverse_index(i, logn);
  if (i < r) { Fr t = a[i]; a[i] = a[r]; a[r] = t; }
}

// Butterfly k (< n/2) of stage s (1..logn): pairs (i0, i0 + half) with twiddle tw[j * (n >> s)].
OZK_HD void plan_ntt_butterfly(Fr* a, const Fr* tw, int logn, int s, uint32_t k) {
  uint32_t half = 1u << (s - 1), stride = (1u << logn) >> s;
  uint32_t blk = k / half, j = k % half;
  uint32_t i0 = blk * 2 * half + j;
  ntt_butterfly(a[i0], a[i0 + half], tw[(size_t)j * stride]);
}

OZK_HD void plan_scale(Fr* a, const Fr* s, uint32_t i) { a[i] = a[i] * s[i]; }

// h[i] = a[i] * b[i] - c[i] as canonical limbs (the H query's scalars), written over a.
OZK_HD void plan_quotient_point(Fr* a, const Fr* b, const Fr* c, uint32_t i) {
  Fr h = a[i] * b[i] - c[i];
  h.to_raw(a[i].v);
}

// Forward transform with the GPU's steps (tw: ntt_twiddles of the same size and direction).
inline void ntt_plan_cpu(Fr* a, int logn, const Fr* tw) {
  uint32_t n = 1u << logn;
  for (uint32_t i = 0; i < n; i++) plan_bit_reverse(a, logn, i);
  for (int s = 1; s <= logn; s++)
    for (uint32_t k = 0; k < n / 2; k++) plan_ntt_butterfly(a, tw, logn, s, k);
}

// g^i / n for the odd coset: the inverse transform's 1/n folded into the coset shift (one scaling pass).
inline std::vector<Fr> coset_scale_table(int logn, int threads) {
  size_t n = (size_t)1 << logn;
  std::vector<Fr> t(n);
  Fr g = fr_root_of_unity(logn + 1), ninv = Fr::from_u64(n).inv();
  parallel_ranges(n, threads, [&](size_t lo, size_t hi) {
    uint64_t ex[4] = {(uint64_t)lo, 0, 0, 0};
    Fr x = g.pow(ex) * ninv;
    for (size_t i = lo; i < hi; i++) { t[i] = x; x = x * g; }
  });
  return t;
}

// The quotient scalars as the GPU computes them: for v in a, b, c: inverse NTT, scale by g^i / n, NTT; then
// a*b - c. Must equal quotient_scalars().
inline std::vector<Fr> quotient_plan_cpu(std::vector<Fr> a, std::vector<Fr> b, std::vector<Fr> c, int logn,
                                         const std::vector<Fr>& tw, const std::vector<Fr>& twi,
                                         const std::vector<Fr>& coset) {
  uint32_t n = 1u << logn;
  for (std::vector<Fr>* v : {&a, &b, &c}) {
    ntt_plan_cpu(v->data(), logn, twi.data());
    for (uint32_t i = 0; i < n; i++) plan_scale(v->data(), coset.data(), i);
    ntt_plan_cpu(v->data(), logn, tw.data());
  }
  for (uint32_t i = 0; i < n; i++) plan_quotient_point(a.data(), b.data(), c.data(), i);
  return a;
}

}  // namespace ozk
