// ozk-prover-cuda: the Groth16 prover with the quotient NTTs and the five MSMs on the GPU. `probe` exits 0 when
// a CUDA device answers (the benchmark and the service use it to decide).
#include <cstdio>
#include <string>
#include <vector>

#include "gpu.cuh"

using namespace ozk;

static std::vector<Fr> quotient_gpu(const ZKey& zk, const Witness& wt) {
  size_t n = zk.domain_size;
  int logn = zk.log_domain;
  std::vector<Fr> a(n, Fr::zero()), b(n, Fr::zero()), c(n);
  const uint8_t* base = zk.coefs.data + 4;
  for (uint32_t i = 0; i < zk.n_coefs; i++) {
    const uint8_t* e = base + (size_t)i * (12 + FR_BYTES);
    uint32_t m, ci, s;
    memcpy(&m, e, 4); memcpy(&ci, e + 4, 4); memcpy(&s, e + 8, 4);
    Fr coef, w;
    memcpy(coef.v, e + 12, 32);
    memcpy(w.v, wt.at(s), 32);
    Fr& dst = m == 0 ? a[ci] : b[ci];
    dst = dst + coef * w;
  }
  for (size_t i = 0; i < n; i++) c[i] = a[i] * b[i];
  std::vector<Fr> tw = ntt_twiddles(logn, false, default_threads()), twi = ntt_twiddles(logn, true, default_threads());
  Fr g = fr_root_of_unity(logn + 1), ninv = Fr::from_u64(n).inv();
  std::vector<Fr> coset(n);  // g^i / n: the inverse NTT's scaling folded into the coset shift
  Fr x = ninv;
  for (size_t i = 0; i < n; i++) { coset[i] = x; x = x * g; }
  gpu::DeviceBuffer<Fr> d_tw(n / 2), d_twi(n / 2), d_coset(n), d_v(n);
  d_tw.upload(tw.data(), n / 2);
  d_twi.upload(twi.data(), n / 2);
  d_coset.upload(coset.data(), n);
  const int T = 256;
  for (std::vector<Fr>* v : {&a, &b, &c}) {
    d_v.upload(v->data(), n);
    gpu::ntt(d_v.p, d_twi.p, logn);
    gpu::scale_kernel<<<(unsigned)((n + T - 1) / T), T>>>(d_v.p, d_coset.p, (uint32_t)n);
    gpu::ntt(d_v.p, d_tw.p, logn);
    gpu::check(cudaDeviceSynchronize(), "ntt");
    d_v.download(v->data(), n);
  }
  for (size_t i = 0; i < n; i++) {
    Fr h = a[i] * b[i] - c[i];
    h.to_raw(a[i].v);
  }
  return a;
}

int main(int argc, char** argv) {
  std::vector<std::string> a(argv + 1, argv + argc);
  try {
    int count = 0;
    if (cudaGetDeviceCount(&count) != cudaSuccess) count = 0;
    if (a.size() == 1 && a[0] == "probe") {
      printf("cuda devices: %d\n", count);
      return count > 0 ? 0 : 1;
    }
    if (a.size() == 5 && a[0] == "prove") {
      if (count == 0) throw Error("no CUDA device");
      Timer t;
      Witness wt(a[2], default_threads());
      ZKey zk(a[1], default_threads());
      if (wt.n != zk.n_vars) throw Error("invalid witness length");
      std::vector<Fr> hs = quotient_gpu(zk, wt);
      const uint8_t* w = wt.values.data;
      G1 pi_a = gpu::msm<Fq>(zk.A.data, w, zk.n_vars);
      G1 pib1 = gpu::msm<Fq>(zk.B1.data, w, zk.n_vars);
      G2 pi_b = gpu::msm<Fq2>(zk.B2.data, w, zk.n_vars);
      size_t off = (size_t)zk.n_public + 1;
      G1 pi_c = gpu::msm<Fq>(zk.C.data, w + off * FR_BYTES, zk.n_vars - off);
      G1 res_h = gpu::msm<Fq>(zk.H.data, (const uint8_t*)hs.data(), zk.domain_size);
      Fr r = random_fr(), s = random_fr();
      uint64_t rr[4], sr[4], nrs[4];
      r.to_raw(rr); s.to_raw(sr); (r * s).neg().to_raw(nrs);
      G1 d1 = G1::from_affine(zk.delta1);
      pi_a = pi_a.add_mixed(zk.alpha1) + d1.mul(rr);
      pi_b = pi_b.add_mixed(zk.beta2) + G2::from_affine(zk.delta2).mul(sr);
      pib1 = pib1.add_mixed(zk.beta1) + d1.mul(sr);
      pi_c = pi_c + res_h + pi_a.mul(sr) + pib1.mul(rr) + d1.mul(nrs);
      Proof pf;
      pf.a = pi_a.to_affine(); pf.b = pi_b.to_affine(); pf.c = pi_c.to_affine();
      for (uint32_t i = 1; i <= zk.n_public; i++) {
        uint64_t v[4];
        memcpy(v, wt.at(i), 32);
        pf.public_signals.push_back(u256_to_dec(v));
      }
      FILE* f = fopen(a[3].c_str(), "wb");
      if (!f) throw Error("cannot write " + a[3]);
      fputs(proof_json(pf).c_str(), f); fclose(f);
      f = fopen(a[4].c_str(), "wb");
      if (!f) throw Error("cannot write " + a[4]);
      fputs(public_json(pf).c_str(), f); fclose(f);
      fprintf(stderr, "ozk-prover-cuda: %.0f ms\n", t.ms());
      return 0;
    }
  } catch (const std::exception& e) {
    fprintf(stderr, "ozk-prover-cuda: error: %s\n", e.what());
    return 1;
  }
  fprintf(stderr, "usage: ozk-prover-cuda probe | prove <zkey> <wtns> <proof.json> <public.json>\n");
  return 2;
}
