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

// Points per batched affine addition round: large enough to amortize one inversion, small against the bucket
// count so that few additions collide with a bucket already in the round.
inline size_t msm_batch_size(size_t nbuckets) {
  size_t b = nbuckets / 4;
  return b < 1 ? 1 : b > 1024 ? 1024 : b;
}

// Window width minimizing the estimated cost in field multiplications: per point an affine addition with a
// share of the batch inversion (or a mixed Jacobian addition on a collision), per bucket two additions in the
// running-sum reduction.
inline int msm_window_bits(size_t n) {
  int best = 2;
  double best_cost = 1e300;
  for (int c = 2; c <= 18; c++) {
    double nb = (double)(1u << (c - 1));
    double batch = (double)msm_batch_size((size_t)nb);
    double clash = batch / (2 * nb);
    double per_point = (1 - clash) * (6.0 + 400.0 / batch) + clash * 11.0;
    double cost = (double)msm_windows(c) * ((double)n * per_point + 27.0 * nb);
    if (cost < best_cost) { best_cost = cost; best = c; }
  }
  return best;
}

// Sums of buckets [lo, hi) for a split running-sum reduction: S = sum B_b and T = sum (b - lo + 1) B_b, so that
// the whole window is sum over ranges of (T + lo * S). Lets many GPU threads share one window's reduction.
template <class F>
OZK_HD void bucket_range_sums(const Jacobian<F>* buckets, uint32_t lo, uint32_t hi, Jacobian<F>& S, Jacobian<F>& T) {
  Jacobian<F> running = Jacobian<F>::inf(), total = Jacobian<F>::inf();
  for (uint32_t b = hi; b-- > lo;) {
    running = running + buckets[b];
    total = total + running;
  }
  S = running;
  T = total;
}

// k * P for a small non-negative k (double-and-add over 32 bits).
template <class F>
OZK_HD Jacobian<F> mul_small(const Jacobian<F>& p, uint32_t k) {
  Jacobian<F> r = Jacobian<F>::inf();
  for (int i = 31; i >= 0; i--) {
    r = r.dbl();
    if ((k >> i) & 1) r = r + p;
  }
  return r;
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

// Buckets of one window kept in affine form and updated in rounds: each round collects up to `batch` additions
// into distinct buckets and shares one field inversion among them (Montgomery's trick), about 6.5 multiplications
// per addition against 11 for a mixed Jacobian addition. An addition into a bucket already in the round, and the
// rare doubling case, go to a Jacobian side bucket instead.
template <class F>
struct BucketWindow {
  size_t nb, batch;
  std::vector<Affine<F>> bucket;
  std::vector<uint8_t> has;
  std::vector<uint32_t> round_of;  // round in which the bucket last took a pending addition
  std::vector<Jacobian<F>> side;
  std::vector<uint32_t> pend_b;
  std::vector<Affine<F>> pend_p;
  std::vector<F> den, pref;
  std::vector<std::pair<uint32_t, Affine<F>>> deferred, retry;
  uint32_t round = 1;

  explicit BucketWindow(size_t nbuckets)
      : nb(nbuckets), batch(msm_batch_size(nbuckets)), bucket(nbuckets), has(nbuckets, 0), round_of(nbuckets, 0),
        side(nbuckets, Jacobian<F>::inf()) {
    pend_b.reserve(batch);
    pend_p.reserve(batch);
    den.resize(batch);
    pref.resize(batch);
  }

  void add(uint32_t b, const Affine<F>& p) {
    if (!has[b]) { bucket[b] = p; has[b] = 1; return; }
    if (round_of[b] == round) {  // bucket already in this round: retry next round, or go Jacobian if many do
      if (deferred.size() < batch / 4) deferred.emplace_back(b, p);
      else side[b] = side[b].add_mixed(p);
      return;
    }
    if (bucket[b].x == p.x) {  // doubling or cancellation: leave it to the Jacobian formulas
      side[b] = side[b].add_mixed(p);
      return;
    }
    round_of[b] = round;
    __builtin_prefetch(&bucket[b], 1);
    den[pend_b.size()] = p.x - bucket[b].x;
    pend_b.push_back(b);
    pend_p.push_back(p);
    if (pend_b.size() == batch) flush();
  }

  void flush() {
    size_t k = pend_b.size();
    if (k == 0) return;
    F acc = F::one();
    for (size_t i = 0; i < k; i++) { pref[i] = acc; acc = acc * den[i]; }
    F inv = acc.inv();
    for (size_t i = k; i-- > 0;) {
      F di = inv * pref[i];
      inv = inv * den[i];
      Affine<F>& B = bucket[pend_b[i]];
      const Affine<F>& P = pend_p[i];
      F lambda = (P.y - B.y) * di;
      F x3 = lambda.sqr() - B.x - P.x;
      B.y = lambda * (B.x - x3) - B.y;
      B.x = x3;
    }
    pend_b.clear();
    pend_p.clear();
    round++;
    retry.swap(deferred);
    deferred.clear();
    for (auto& e : retry) add(e.first, e.second);
    retry.clear();
  }

  // sum_b (b+1) * (bucket[b] + side[b])
  Jacobian<F> finish() {
    while (!pend_b.empty() || !deferred.empty()) flush();
    Jacobian<F> running = Jacobian<F>::inf(), total = Jacobian<F>::inf();
    for (size_t b = nb; b-- > 0;) {
      if (has[b]) running = running.add_mixed(bucket[b]);
      running = running + side[b];
      total = total + running;
    }
    return total;
  }
};

// Pippenger over the points whose scalars are not 0 or 1: element k is index idx[k] (or k when idx is null).
template <class F>
Jacobian<F> msm_pippenger(const uint8_t* points, const uint8_t* scalars, const uint32_t* idx, size_t m, int threads) {
  typedef Jacobian<F> J;
  if (m == 0) return J::inf();
  int c = msm_window_bits(m);
  int nw = msm_windows(c);
  size_t nb = (size_t)1 << (c - 1);
  // Split points into chunks only when windows alone cannot keep every thread busy.
  size_t chunks = 1;
  while ((size_t)nw * chunks < (size_t)threads * 2 && m / (chunks * 2) >= 4096) chunks *= 2;
  size_t ntasks = (size_t)nw * chunks;
  std::vector<J> partial(ntasks);
  parallel_for(ntasks, threads, [&](size_t task) {
    int w = (int)(task / chunks);
    size_t ch = task % chunks;
    size_t begin = m * ch / chunks, end = m * (ch + 1) / chunks;
    BucketWindow<F> bw(nb);
    for (size_t k = begin; k < end; k++) {
      size_t i = idx ? idx[k] : k;
      uint64_t s[4];
      memcpy(s, scalars + 32 * i, 32);
      reduce_scalar(s);
      int32_t d = booth_digit(s, w, c);
      if (d == 0) continue;
      Affine<F> p;
      load_affine(p, points + sizeof(Affine<F>) * i);
      if (p.is_inf()) continue;
      if (d > 0) bw.add((uint32_t)(d - 1), p);
      else bw.add((uint32_t)(-d - 1), p.neg());
    }
    partial[task] = bw.finish();
  });
  J acc = J::inf();
  for (int w = nw - 1; w >= 0; w--) {
    for (int k = 0; k < c; k++) acc = acc.dbl();
    for (size_t ch = 0; ch < chunks; ch++) acc = acc + partial[(size_t)w * chunks + ch];
  }
  return acc;
}

// sum_i scalars[i] * points[i]. points: n affine points in LEM layout (sizeof(Affine<F>) bytes each);
// scalars: n canonical 32-byte little-endian integers (values >= r are reduced).
//
// Circuit witnesses are mostly 0 and 1 (bits, flags, zero activations: 95% of the MNIST models' signals), so a
// first pass drops the zeros, adds the points of the ones directly, and runs Pippenger on the rest only.
template <class F>
Jacobian<F> msm(const uint8_t* points, const uint8_t* scalars, size_t n, int threads) {
  typedef Jacobian<F> J;
  if (n == 0) return J::inf();
  size_t parts = (size_t)std::max(1, threads);
  std::vector<std::vector<uint32_t>> rest(parts);
  std::vector<J> ones(parts, J::inf());
  parallel_for(parts, threads, [&](size_t t) {
    size_t b = n * t / parts, e = n * (t + 1) / parts;
    for (size_t i = b; i < e; i++) {
      uint64_t s[4];
      memcpy(s, scalars + 32 * i, 32);
      reduce_scalar(s);
      if ((s[1] | s[2] | s[3]) == 0 && s[0] <= 1) {
        if (s[0] == 1) {
          Affine<F> p;
          load_affine(p, points + sizeof(Affine<F>) * i);
          ones[t] = ones[t].add_mixed(p);
        }
        continue;
      }
      rest[t].push_back((uint32_t)i);
    }
  });
  size_t m = 0;
  for (auto& r : rest) m += r.size();
  J acc = J::inf();
  for (auto& o : ones) acc = acc + o;
  if (m == n) return acc + msm_pippenger<F>(points, scalars, nullptr, n, threads);
  std::vector<uint32_t> idx;
  idx.reserve(m);
  for (auto& r : rest) { idx.insert(idx.end(), r.begin(), r.end()); std::vector<uint32_t>().swap(r); }
  return acc + msm_pippenger<F>(points, scalars, idx.data(), m, threads);
}

}  // namespace ozk
