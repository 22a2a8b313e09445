// CUDA kernels: one-line wrappers over the index-parallel steps of include/ozk/msm_plan.hpp (tested on the CPU
// by ozk-native-test), plus device buffers, cub sort/scan/max, and a key kept resident on the device.
#pragma once
#include <cuda_runtime.h>

#include <cub/device/device_radix_sort.cuh>
#include <cub/device/device_reduce.cuh>
#include <cub/device/device_scan.cuh>
#include <string>
#include <vector>

#include "ozk/groth16.hpp"
#include "ozk/msm_plan.hpp"

namespace ozk {
namespace gpu {

inline void check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) throw Error(std::string("CUDA ") + what + ": " + cudaGetErrorString(e));
}

template <class T>
struct DeviceBuffer {
  T* p = nullptr;
  size_t n = 0;
  DeviceBuffer() {}
  explicit DeviceBuffer(size_t count) { resize(count); }
  ~DeviceBuffer() { if (p) cudaFree(p); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  // Grows only: a workspace sized once for the largest MSM of a key is reused by every proof.
  void resize(size_t count) {
    if (count <= n) return;
    if (p) cudaFree(p);
    p = nullptr;
    check(cudaMalloc(&p, count * sizeof(T)), "malloc");
    n = count;
  }
  void upload(const void* src, size_t count) {
    resize(count);
    check(cudaMemcpy(p, src, count * sizeof(T), cudaMemcpyHostToDevice), "upload");
  }
  void download(void* dst, size_t count) const { check(cudaMemcpy(dst, p, count * sizeof(T), cudaMemcpyDeviceToHost), "download"); }
};

constexpr int T = 256;
inline unsigned blocks(uint64_t n) { return (unsigned)((n + T - 1) / T); }

__global__ void digits_kernel(MsmPlan p, const uint8_t* scalars, uint32_t* keys, uint32_t* vals) {
  uint32_t i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < p.n) plan_digits(p, scalars, i, keys, vals);
}
__global__ void bucket_start_kernel(const uint32_t* keys, uint64_t total, uint32_t nball, uint32_t* start) {
  uint32_t b = blockIdx.x * blockDim.x + threadIdx.x;
  if (b <= nball) start[b] = plan_bucket_start(keys, total, b);
}
__global__ void counts_kernel(const uint32_t* start, uint32_t nball, uint32_t* counts) {
  uint32_t b = blockIdx.x * blockDim.x + threadIdx.x;
  if (b < nball) counts[b] = plan_bucket_count(start, b);
}
__global__ void chunk_counts_kernel(const uint32_t* start, uint32_t nball, uint32_t L, uint32_t* out) {
  uint32_t b = blockIdx.x * blockDim.x + threadIdx.x;
  if (b < nball) out[b] = plan_chunk_count(start, b, L);
  if (b == nball) out[b] = 0;  // so that the exclusive scan's last entry is the total
}
template <class F>
__global__ void chunk_sum_kernel(const uint8_t* points, const uint32_t* vals, const uint32_t* start, const uint32_t* chunk_start,
                                 uint32_t nball, uint32_t L, uint32_t nchunks, Jacobian<F>* out) {
  uint32_t j = blockIdx.x * blockDim.x + threadIdx.x;
  if (j < nchunks) out[j] = plan_chunk_sum<F>(points, vals, start, chunk_start, nball, L, j);
}
template <class F>
__global__ void bucket_sum_kernel(const Jacobian<F>* chunks, const uint32_t* chunk_start, uint32_t nball, Jacobian<F>* out) {
  uint32_t b = blockIdx.x * blockDim.x + threadIdx.x;
  if (b < nball) out[b] = plan_bucket_sum<F>(chunks, chunk_start, b);
}
template <class F>
__global__ void window_slice_kernel(MsmPlan p, const Jacobian<F>* buckets, Jacobian<F>* out) {
  uint32_t g = blockIdx.x * blockDim.x + threadIdx.x;
  if (g < (uint32_t)p.nw * p.tpw) out[g] = plan_window_slice<F>(p, buckets, g);
}

struct DeviceRows {  // QapRows on the device
  const uint32_t *a_start, *a_sig, *b_start, *b_sig;
  const Fr *a_coef, *b_coef;
};
__global__ void qap_kernel(DeviceRows m, const uint8_t* witness, uint32_t n, Fr* a, Fr* b, Fr* c) {
  uint32_t r = blockIdx.x * blockDim.x + threadIdx.x;
  if (r < n) plan_qap_row(m.a_start, m.a_sig, m.a_coef, m.b_start, m.b_sig, m.b_coef, witness, r, a, b, c);
}

__global__ void bit_reverse_kernel(Fr* a, int logn) {
  uint32_t i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < (1u << logn)) plan_bit_reverse(a, logn, i);
}
__global__ void butterfly_kernel(Fr* a, const Fr* tw, int logn, int s) {
  uint32_t k = blockIdx.x * blockDim.x + threadIdx.x;
  if (k < (1u << logn) / 2) plan_ntt_butterfly(a, tw, logn, s, k);
}
__global__ void scale_kernel(Fr* a, const Fr* s, uint32_t n) {
  uint32_t i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) plan_scale(a, s, i);
}
__global__ void quotient_kernel(Fr* a, const Fr* b, const Fr* c, uint32_t n) {
  uint32_t i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) plan_quotient_point(a, b, c, i);
}

inline void ntt(Fr* d_a, const Fr* d_tw, int logn) {
  uint32_t n = 1u << logn;
  bit_reverse_kernel<<<blocks(n), T>>>(d_a, logn);
  for (int s = 1; s <= logn; s++) butterfly_kernel<<<blocks(n / 2), T>>>(d_a, d_tw, logn, s);
  check(cudaGetLastError(), "ntt kernels");
}

// Scratch space of the MSM steps, allocated for the largest MSM and reused by every proof.
struct MsmWorkspace {
  DeviceBuffer<uint32_t> keys, vals, keys2, vals2, start, counts, chunk_counts, chunk_start, max_count;
  DeviceBuffer<uint8_t> cub_tmp, chunks, buckets, slices;
};

// sum_i s_i P_i for points and scalars already on the device (the steps of msm_plan.hpp).
template <class F>
Jacobian<F> msm(const uint8_t* d_points, const uint8_t* d_scalars, size_t n, MsmWorkspace& ws) {
  typedef Jacobian<F> J;
  if (n == 0) return J::inf();
  MsmPlan p = msm_plan(n);
  if (p.total >= (1ull << 32)) throw Error("MSM too large for 32-bit sort positions");
  ws.keys.resize(p.total); ws.vals.resize(p.total); ws.keys2.resize(p.total); ws.vals2.resize(p.total);
  ws.start.resize(p.nball + 1); ws.counts.resize(p.nball); ws.chunk_counts.resize(p.nball + 1);
  ws.chunk_start.resize(p.nball + 1); ws.max_count.resize(1);
  digits_kernel<<<blocks(n), T>>>(p, d_scalars, ws.keys.p, ws.vals.p);
  check(cudaGetLastError(), "digits kernel");
  size_t sort_bytes = 0, scan_bytes = 0, max_bytes = 0;
  cub::DeviceRadixSort::SortPairs(nullptr, sort_bytes, ws.keys.p, ws.keys2.p, ws.vals.p, ws.vals2.p, (int)p.total, 0, p.key_bits);
  cub::DeviceScan::ExclusiveSum(nullptr, scan_bytes, ws.chunk_counts.p, ws.chunk_start.p, (int)p.nball + 1);
  cub::DeviceReduce::Max(nullptr, max_bytes, ws.counts.p, ws.max_count.p, (int)p.nball);
  ws.cub_tmp.resize(std::max(sort_bytes, std::max(scan_bytes, max_bytes)));
  check(cub::DeviceRadixSort::SortPairs(ws.cub_tmp.p, sort_bytes, ws.keys.p, ws.keys2.p, ws.vals.p, ws.vals2.p, (int)p.total, 0, p.key_bits), "sort");
  bucket_start_kernel<<<blocks(p.nball + 1), T>>>(ws.keys2.p, p.total, p.nball, ws.start.p);
  counts_kernel<<<blocks(p.nball), T>>>(ws.start.p, p.nball, ws.counts.p);
  check(cub::DeviceReduce::Max(ws.cub_tmp.p, max_bytes, ws.counts.p, ws.max_count.p, (int)p.nball), "max");
  uint32_t max_count = 0;
  ws.max_count.download(&max_count, 1);
  uint32_t L = plan_chunk_len(max_count);
  chunk_counts_kernel<<<blocks(p.nball + 1), T>>>(ws.start.p, p.nball, L, ws.chunk_counts.p);
  check(cub::DeviceScan::ExclusiveSum(ws.cub_tmp.p, scan_bytes, ws.chunk_counts.p, ws.chunk_start.p, (int)p.nball + 1), "scan");
  uint32_t nchunks = 0;
  check(cudaMemcpy(&nchunks, ws.chunk_start.p + p.nball, 4, cudaMemcpyDeviceToHost), "chunk total");
  ws.chunks.resize(std::max<size_t>(nchunks, 1) * sizeof(J));
  ws.buckets.resize((size_t)p.nball * sizeof(J));
  ws.slices.resize((size_t)p.nw * p.tpw * sizeof(J));
  J* chunks = (J*)ws.chunks.p;
  J* buckets = (J*)ws.buckets.p;
  J* slices = (J*)ws.slices.p;
  if (nchunks) chunk_sum_kernel<F><<<blocks(nchunks), T>>>(d_points, ws.vals2.p, ws.start.p, ws.chunk_start.p, p.nball, L, nchunks, chunks);
  bucket_sum_kernel<F><<<blocks(p.nball), T>>>(chunks, ws.chunk_start.p, p.nball, buckets);
  window_slice_kernel<F><<<blocks((uint64_t)p.nw * p.tpw), T>>>(p, buckets, slices);
  check(cudaGetLastError(), "msm kernels");
  std::vector<J> host((size_t)p.nw * p.tpw);
  check(cudaMemcpy(host.data(), slices, host.size() * sizeof(J), cudaMemcpyDeviceToHost), "slices");
  return plan_combine<F>(p, host.data());
}

// A proving key on the device: the five point queries and the NTT tables, uploaded once and reused by every
// proof made with it (`ozk-prover-cuda serve`).
struct DeviceKey {
  const ZKey& zk;
  DeviceBuffer<uint8_t> A, B1, B2, C, H;
  DeviceBuffer<Fr> tw, twi, coset;
  DeviceBuffer<uint32_t> row_start[2], row_sig[2];
  DeviceBuffer<Fr> row_coef[2];
  DeviceBuffer<Fr> qa, qb, qc;     // per proof: QAP evaluations, then the quotient (in qa)
  DeviceBuffer<uint8_t> witness;   // per proof
  MsmWorkspace ws;

  DeviceKey(const ZKey& key, int threads) : zk(key) {
    A.upload(zk.A.data, zk.A.size);
    B1.upload(zk.B1.data, zk.B1.size);
    B2.upload(zk.B2.data, zk.B2.size);
    C.upload(zk.C.data, zk.C.size);
    H.upload(zk.H.data, zk.H.size);
    int logn = zk.log_domain;
    size_t n = zk.domain_size;
    NttTables tables(logn, threads);
    tw.upload(tables.tw.data(), tables.tw.size());
    twi.upload(tables.twi.data(), tables.twi.size());
    std::vector<Fr> cs = coset_scale_table(logn, threads);
    coset.upload(cs.data(), n);
    QapRows rows(zk.coefs.data, zk.n_coefs, zk.domain_size);
    for (int m = 0; m < 2; m++) {
      row_start[m].upload(rows.start[m].data(), rows.start[m].size());
      row_sig[m].upload(rows.sig[m].data(), std::max<size_t>(1, rows.sig[m].size()));
      row_coef[m].upload(rows.coef[m].data(), std::max<size_t>(1, rows.coef[m].size()));
    }
    qa.resize(n); qb.resize(n); qc.resize(n);
    witness.resize((size_t)zk.n_vars * FR_BYTES);
  }

  ProofParts prove_parts(const Witness& wt, int threads) {
    check_witness_fits(zk, wt);
    size_t n = zk.domain_size;
    int logn = zk.log_domain;
    witness.upload(wt.values.data, (size_t)zk.n_vars * FR_BYTES);
    DeviceRows m{row_start[0].p, row_sig[0].p, row_start[1].p, row_sig[1].p, row_coef[0].p, row_coef[1].p};
    qap_kernel<<<blocks(n), T>>>(m, witness.p, (uint32_t)n, qa.p, qb.p, qc.p);
    for (Fr* v : {qa.p, qb.p, qc.p}) {
      ntt(v, twi.p, logn);
      scale_kernel<<<blocks(n), T>>>(v, coset.p, (uint32_t)n);
      ntt(v, tw.p, logn);
    }
    quotient_kernel<<<blocks(n), T>>>(qa.p, qb.p, qc.p, (uint32_t)n);
    check(cudaGetLastError(), "quotient kernels");
    size_t off = (size_t)zk.n_public + 1;
    ProofParts parts;
    parts.a = msm<Fq>(A.p, witness.p, zk.n_vars, ws);
    parts.b1 = msm<Fq>(B1.p, witness.p, zk.n_vars, ws);
    parts.b = msm<Fq2>(B2.p, witness.p, zk.n_vars, ws);
    parts.c = msm<Fq>(C.p, witness.p + off * FR_BYTES, zk.n_vars - off, ws);
    parts.h = msm<Fq>(H.p, (const uint8_t*)qa.p, n, ws);
    return parts;
  }
};

}  // namespace gpu
}  // namespace ozk
