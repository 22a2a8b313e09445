// Thin CUDA kernels over the shared field/curve/bucket code (include/ozk): MSM by bucket sort + per-bucket
// accumulation + split running-sum reduction, and radix-2 NTT stages. All arithmetic is the __host__ __device__
// code the CPU build tests.
#pragma once
#include <cuda_runtime.h>

#include <cub/device/device_radix_sort.cuh>
#include <string>
#include <vector>

#include "ozk/groth16.hpp"

namespace ozk {
namespace gpu {

inline void check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) throw Error(std::string("CUDA ") + what + ": " + cudaGetErrorString(e));
}

template <class T>
struct DeviceBuffer {
  T* p = nullptr;
  size_t n = 0;
  explicit DeviceBuffer(size_t count) : n(count) {
    if (count) check(cudaMalloc(&p, count * sizeof(T)), "malloc");
  }
  ~DeviceBuffer() { if (p) cudaFree(p); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  void upload(const void* src, size_t count) { check(cudaMemcpy(p, src, count * sizeof(T), cudaMemcpyHostToDevice), "upload"); }
  void download(void* dst, size_t count) const { check(cudaMemcpy(dst, p, count * sizeof(T), cudaMemcpyDeviceToHost), "download"); }
};

// One (window, point) pair: key = window * nb + bucket, value = point index with the sign in the top bit.
// Zero digits get a key past every bucket so they sort to the end and are ignored.
__global__ void digits_kernel(const uint8_t* scalars, uint32_t n, int c, int nw, uint32_t nb, uint32_t* keys, uint32_t* vals) {
  uint32_t i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= n) return;
  uint64_t s[4];
  memcpy(s, scalars + 32ull * i, 32);
  reduce_scalar(s);
  for (int w = 0; w < nw; w++) {
    int32_t d = booth_digit(s, w, c);
    size_t o = (size_t)w * n + i;
    keys[o] = d == 0 ? 0xffffffffu : (uint32_t)w * nb + (uint32_t)((d < 0 ? -d : d) - 1);
    vals[o] = i | (d < 0 ? 0x80000000u : 0u);
  }
}

// Start offset of each bucket's run in the sorted key array (binary search per bucket).
__global__ void bucket_offsets_kernel(const uint32_t* keys, size_t total, uint32_t nbuckets_all, uint32_t* start) {
  uint32_t b = blockIdx.x * blockDim.x + threadIdx.x;
  if (b > nbuckets_all) return;
  size_t lo = 0, hi = total;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (keys[mid] < b) lo = mid + 1; else hi = mid;
  }
  start[b] = (uint32_t)lo;
}

// One thread per bucket: sum of its points with mixed Jacobian additions.
template <class F>
__global__ void accumulate_kernel(const uint8_t* points, const uint32_t* vals, const uint32_t* start, uint32_t nbuckets_all, Jacobian<F>* buckets) {
  uint32_t b = blockIdx.x * blockDim.x + threadIdx.x;
  if (b >= nbuckets_all) return;
  Jacobian<F> acc = Jacobian<F>::inf();
  for (uint32_t k = start[b]; k < start[b + 1]; k++) {
    uint32_t v = vals[k];
    Affine<F> p;
    load_affine(p, points + sizeof(Affine<F>) * (size_t)(v & 0x7fffffffu));
    if (v & 0x80000000u) p = p.neg();
    acc = acc.add_mixed(p);
  }
  buckets[b] = acc;
}

// Thread t of window w reduces buckets [t*L, (t+1)*L) to T + lo*S.
template <class F>
__global__ void reduce_kernel(const Jacobian<F>* buckets, uint32_t nb, int nw, uint32_t per_thread, uint32_t threads_per_window, Jacobian<F>* out) {
  uint32_t g = blockIdx.x * blockDim.x + threadIdx.x;
  if (g >= (uint32_t)nw * threads_per_window) return;
  uint32_t w = g / threads_per_window, t = g % threads_per_window;
  uint32_t lo = t * per_thread, hi = min(nb, lo + per_thread);
  Jacobian<F> S, T;
  if (lo >= hi) { out[g] = Jacobian<F>::inf(); return; }
  bucket_range_sums(buckets + (size_t)w * nb, lo, hi, S, T);
  out[g] = T + mul_small(S, lo);
}

// Points are uploaded once per MSM call here; a resident-key server would keep them on the device.
template <class F>
Jacobian<F> msm(const uint8_t* points_host, const uint8_t* scalars_host, size_t n) {
  typedef Jacobian<F> J;
  if (n == 0) return J::inf();
  int c = n < (1u << 14) ? 8 : n < (1u << 20) ? 12 : 15;
  int nw = msm_windows(c);
  uint32_t nb = 1u << (c - 1);
  size_t total = (size_t)nw * n;
  uint32_t nball = (uint32_t)nw * nb;
  DeviceBuffer<uint8_t> pts(n * sizeof(Affine<F>)), sc(n * 32);
  pts.upload(points_host, n * sizeof(Affine<F>));
  sc.upload(scalars_host, n * 32);
  DeviceBuffer<uint32_t> keys(total), vals(total), keys2(total), vals2(total), start(nball + 1);
  const int T = 256;
  digits_kernel<<<(unsigned)((n + T - 1) / T), T>>>(sc.p, (uint32_t)n, c, nw, nb, keys.p, vals.p);
  check(cudaGetLastError(), "digits kernel");
  size_t tmp_bytes = 0;
  cub::DeviceRadixSort::SortPairs(nullptr, tmp_bytes, keys.p, keys2.p, vals.p, vals2.p, total);
  DeviceBuffer<uint8_t> tmp(tmp_bytes);
  check(cub::DeviceRadixSort::SortPairs(tmp.p, tmp_bytes, keys.p, keys2.p, vals.p, vals2.p, total), "sort");
  bucket_offsets_kernel<<<(nball + 1 + T - 1) / T, T>>>(keys2.p, total, nball, start.p);
  check(cudaGetLastError(), "offsets kernel");
  DeviceBuffer<J> buckets(nball);
  accumulate_kernel<F><<<(nball + T - 1) / T, T>>>(pts.p, vals2.p, start.p, nball, buckets.p);
  check(cudaGetLastError(), "accumulate kernel");
  uint32_t tpw = 128, per = (nb + tpw - 1) / tpw;
  DeviceBuffer<J> partial((size_t)nw * tpw);
  reduce_kernel<F><<<(nw * tpw + T - 1) / T, T>>>(buckets.p, nb, nw, per, tpw, partial.p);
  check(cudaGetLastError(), "reduce kernel");
  std::vector<J> host((size_t)nw * tpw);
  partial.download(host.data(), host.size());
  J acc = J::inf();
  for (int w = nw - 1; w >= 0; w--) {
    for (int k = 0; k < c; k++) acc = acc.dbl();
    for (uint32_t t = 0; t < tpw; t++) acc = acc + host[(size_t)w * tpw + t];
  }
  return acc;
}

__global__ void bit_reverse_kernel(Fr* a, uint32_t n, int logn) {
  uint32_t i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= n) return;
  uint32_t r = __brev(i) >> (32 - logn);
  if (i < r) { Fr t = a[i]; a[i] = a[r]; a[r] = t; }
}

__global__ void ntt_stage_kernel(Fr* a, const Fr* tw, uint32_t n, uint32_t half, uint32_t stride) {
  uint32_t k = blockIdx.x * blockDim.x + threadIdx.x;
  if (k >= n / 2) return;
  uint32_t blk = k / half, j = k % half;
  uint32_t i0 = blk * 2 * half + j;
  ntt_butterfly(a[i0], a[i0 + half], tw[(size_t)j * stride]);
}

__global__ void scale_kernel(Fr* a, const Fr* s, uint32_t n) {  // a[i] *= s[i]
  uint32_t i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) a[i] = a[i] * s[i];
}

inline void ntt(Fr* d_a, const Fr* d_tw, int logn) {
  uint32_t n = 1u << logn;
  const int T = 256;
  bit_reverse_kernel<<<(n + T - 1) / T, T>>>(d_a, n, logn);
  for (int s = 1; s <= logn; s++) {
    uint32_t half = 1u << (s - 1), stride = n >> s;
    ntt_stage_kernel<<<(n / 2 + T - 1) / T, T>>>(d_a, d_tw, n, half, stride);
  }
  check(cudaGetLastError(), "ntt kernel");
}

}  // namespace gpu
}  // namespace ozk
