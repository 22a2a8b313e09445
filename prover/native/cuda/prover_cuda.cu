// ozk-prover-cuda: the Groth16 prover with the quotient NTTs and the five MSMs on the GPU.
//   probe                      exit 0 when a CUDA device answers (the benchmark and the service use it to decide)
//   check                      GPU MSM and NTT against the CPU code on random and skewed inputs
//   prove <zkey> <wtns> <proof.json> <public.json>
//   serve <zkey>               key uploaded once, proofs on request (protocol in include/ozk/serve.hpp)
#include <cstdio>
#include <string>
#include <vector>

#include "gpu.cuh"
#include "ozk/devsetup.hpp"
#include "ozk/serve.hpp"

using namespace ozk;

static int cmd_check() {
  int failures = 0;
  SeedStream rng{0x6f7a6b2d67707531ULL};
  G1 g1 = g1_generator();
  G2 g2 = g2_generator();
  gpu::MsmWorkspace ws;
  for (size_t n : {1u, 1000u, 70000u}) {
    std::vector<G1Affine> p1(n);
    std::vector<G2Affine> p2(n);
    for (size_t i = 0; i < n; i++) {
      p1[i] = g1.mul(rng.fr().v).to_affine();
      p2[i] = i < 2000 ? g2.mul(rng.fr().v).to_affine() : p2[i % 2000];
    }
    gpu::DeviceBuffer<uint8_t> d1, d2, ds;
    d1.upload(p1.data(), n * sizeof(G1Affine));
    d2.upload(p2.data(), n * sizeof(G2Affine));
    for (int mix = 0; mix < 3; mix++) {  // random, all ones, small values
      std::vector<uint64_t> sc(4 * n, 0);
      for (size_t i = 0; i < n; i++) {
        if (mix == 0) rng.fr().to_raw(&sc[4 * i]);
        else if (mix == 1) sc[4 * i] = 1;
        else sc[4 * i] = rng.fr().v[0] % 1024;
      }
      ds.upload(sc.data(), n * 32);
      const uint8_t* s8 = (const uint8_t*)sc.data();
      bool ok1 = gpu::msm<Fq>(d1.p, ds.p, n, ws).eq(msm<Fq>((const uint8_t*)p1.data(), s8, n, default_threads()));
      bool ok2 = gpu::msm<Fq2>(d2.p, ds.p, n, ws).eq(msm<Fq2>((const uint8_t*)p2.data(), s8, n, default_threads()));
      printf("msm n=%zu mix=%d: G1 %s, G2 %s\n", n, mix, ok1 ? "ok" : "FAIL", ok2 ? "ok" : "FAIL");
      failures += !ok1 + !ok2;
    }
  }
  for (int logn : {1, 10, 16}) {
    size_t n = (size_t)1 << logn;
    std::vector<Fr> a(n), b;
    for (auto& x : a) x = rng.fr();
    b = a;
    std::vector<Fr> tw = ntt_twiddles(logn, false, default_threads());
    ntt_inplace(b.data(), logn, tw, default_threads());
    gpu::DeviceBuffer<Fr> da, dtw;
    da.upload(a.data(), n);
    dtw.upload(tw.data(), tw.size());
    gpu::ntt(da.p, dtw.p, logn);
    gpu::check(cudaDeviceSynchronize(), "ntt");
    da.download(a.data(), n);
    bool ok = a == b;
    printf("ntt 2^%d: %s\n", logn, ok ? "ok" : "FAIL");
    failures += !ok;
  }
  printf("check: %s\n", failures ? "FAILED" : "ok");
  return failures ? 1 : 0;
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
    if (count == 0 && !a.empty() && (a[0] == "check" || a[0] == "prove" || a[0] == "serve")) throw Error("no CUDA device");
    int threads = default_threads();
    if (a.size() == 1 && a[0] == "check") return cmd_check();
    if (a.size() == 5 && a[0] == "prove") {
      Timer t;
      Witness wt(a[2], threads);
      ZKey zk(a[1], threads);
      zk.validate_all(threads);
      gpu::DeviceKey dk(zk, threads);
      write_proof_files(assemble_proof(zk, wt, dk.prove_parts(wt, threads)), a[3], a[4]);
      fprintf(stderr, "ozk-prover-cuda: %.0f ms\n", t.ms());
      return 0;
    }
    if (a.size() == 2 && a[0] == "serve") {
      Timer t;
      ZKey zk(a[1], threads);
      zk.validate_all(threads);
      gpu::DeviceKey dk(zk, threads);
      return serve_loop(zk, "cuda", t.ms(), stdin, stdout, [&](const Witness& wt) {
        return assemble_proof(zk, wt, dk.prove_parts(wt, threads));
      }, threads);
    }
  } catch (const std::exception& e) {
    fprintf(stderr, "ozk-prover-cuda: error: %s\n", e.what());
    return 1;
  }
  fprintf(stderr, "usage: ozk-prover-cuda probe | check | prove <zkey> <wtns> <proof.json> <public.json> | serve <zkey>\n");
  return 2;
}
