// INSECURE development powers of tau (`ozk-prover ptau-dev`): a prepared BN254 .ptau, laid out as snarkjs writes
// one (`powersoftau new`, then `prepare phase2`), whose tau, alpha and beta come from a public seed. Anyone who
// knows the seed can forge proofs for every key made from it: for benchmarks and tests only (the file name must
// say INSECURE). It records no contribution, so `snarkjs powersoftau verify` rejects it; newZKey reads it.
//
// Sections: 1 header (n8, q, power, ceremony power), 2 [tau^i]_1 for i < 2^(power+1) - 1, 3 [tau^i]_2, 4
// [alpha tau^i]_1, 5 [beta tau^i]_1 for i < 2^power, 6 [beta]_2, 7 no contributions, then the Lagrange sections
// 12-15: for every domain 2^k (k = 0..power; for 12 also power + 1) the points L_i(tau) of 2, 3, 4, 5. snarkjs
// computes them as the inverse FFT of the section's first 2^k points; for 12 at k = power + 1 the section has one
// point too few and snarkjs pads it with zero, so those points are L_i(tau) - omega^i tau^(N-1) / N (N = 2^k).
#pragma once
#include <cstdio>
#include <string>
#include <vector>

#include "devsetup.hpp"

namespace ozk {

// out[i] = c * x^(b + i) for i < n.
inline void fr_powers(const Fr& x, const Fr& c, size_t b, size_t n, Fr* out, int threads) {
  parallel_ranges(n, threads, [&](size_t lo, size_t hi) {
    uint64_t e[4] = {(uint64_t)(b + lo), 0, 0, 0};
    Fr v = c * x.pow(e);
    for (size_t i = lo; i < hi; i++) { out[i] = v; v = v * x; }
  });
}

// The points snarkjs's prepare phase 2 computes for the domain of size 2^k from [x^i]: c * L_i(x), and with
// `pad` (the last power missing) c * (L_i(x) - omega^i x^(N-1) / N).
inline std::vector<Fr> lagrange_at(const Fr& x, const Fr& c, int k, bool pad, int threads) {
  size_t m = (size_t)1 << k;
  Fr g = fr_root_of_unity(k);
  std::vector<Fr> gk(m), out(m);
  uint64_t em[4] = {(uint64_t)m, 0, 0, 0}, em1[4] = {(uint64_t)m - 1, 0, 0, 0};
  Fr minv = Fr::from_u64(m).inv();
  Fr zt = (x.pow(em) - Fr::one()) * minv * c;
  Fr top = x.pow(em1) * minv * c;
  parallel_ranges(m, threads, [&](size_t lo, size_t hi) {
    uint64_t ex[4] = {(uint64_t)lo, 0, 0, 0};
    Fr w = g.pow(ex);
    std::vector<Fr> den(hi - lo), acc(hi - lo);
    Fr run = Fr::one();
    for (size_t i = lo; i < hi; i++) {
      gk[i] = w;
      den[i - lo] = x - w;
      acc[i - lo] = run;
      run = run * den[i - lo];
      w = w * g;
    }
    Fr inv = run.inv();
    for (size_t i = hi; i-- > lo;) {
      Fr di = inv * acc[i - lo];
      inv = inv * den[i - lo];
      out[i] = zt * gk[i] * di;
      if (pad) out[i] = out[i] - gk[i] * top;
    }
  });
  return out;
}

struct PtauDevStats {
  Fr tau, alpha, beta;
};

inline PtauDevStats ptau_dev(int power, const std::string& path, uint64_t seed, int threads, bool timings) {
  if (power < 1 || power > FR_TWO_ADICITY - 2) throw Error("ptau-dev: power must be 1 to " + std::to_string(FR_TWO_ADICITY - 2));
  Timer t;
  auto lap = [&](const char* what) {
    if (timings) fprintf(stderr, "ptau-dev: %s at %.0f ms\n", what, t.ms());
  };
  SeedStream rng{seed};
  PtauDevStats st{rng.fr(), rng.fr(), rng.fr()};
  const size_t n = (size_t)1 << power;
  int wbits = power >= 16 ? 16 : power >= 10 ? 12 : 8;
  FixedBase<Fq> fb1(g1_generator(), wbits, threads);
  FixedBase<Fq2> fb2(g2_generator(), wbits, threads);
  lap("tables");

  ZKeyWriter out(path + ".tmp", "ptau", 11);
  const size_t CH = 1 << 16;
  std::vector<Fr> sc;
  std::vector<G1Affine> b1;
  std::vector<G2Affine> b2;
  auto g1_of = [&](const Fr* s, size_t cnt) {
    for (size_t b = 0; b < cnt; b += CH) {
      size_t e = std::min(cnt, b + CH);
      b1.resize(e - b);
      fb1.mul_batch(s + b, e - b, b1.data(), threads);
      out.put(b1.data(), b1.size() * sizeof(G1Affine));
    }
  };
  auto g2_of = [&](const Fr* s, size_t cnt) {
    for (size_t b = 0; b < cnt; b += CH) {
      size_t e = std::min(cnt, b + CH);
      b2.resize(e - b);
      fb2.mul_batch(s + b, e - b, b2.data(), threads);
      out.put(b2.data(), b2.size() * sizeof(G2Affine));
    }
  };
  auto powers_g1 = [&](const Fr& c, size_t cnt) {
    for (size_t b = 0; b < cnt; b += CH) {
      size_t e = std::min(cnt, b + CH);
      sc.resize(e - b);
      fr_powers(st.tau, c, b, e - b, sc.data(), threads);
      g1_of(sc.data(), sc.size());
    }
  };

  out.begin(1);
  out.u32(32); out.put(FqParams::P, 32); out.u32((uint32_t)power); out.u32((uint32_t)power);
  out.end();
  out.begin(2); powers_g1(Fr::one(), 2 * n - 1); out.end();
  lap("tauG1");
  out.begin(3);
  for (size_t b = 0; b < n; b += CH) {
    size_t e = std::min(n, b + CH);
    sc.resize(e - b);
    fr_powers(st.tau, Fr::one(), b, e - b, sc.data(), threads);
    g2_of(sc.data(), sc.size());
  }
  out.end();
  lap("tauG2");
  out.begin(4); powers_g1(st.alpha, n); out.end();
  out.begin(5); powers_g1(st.beta, n); out.end();
  out.begin(6); g2_of(&st.beta, 1); out.end();
  out.begin(7); out.u32(0); out.end();
  lap("alpha, beta");
  out.begin(12);
  for (int k = 0; k <= power + 1; k++) {
    std::vector<Fr> l = lagrange_at(st.tau, Fr::one(), k, k == power + 1, threads);
    g1_of(l.data(), l.size());
  }
  out.end();
  lap("Lagrange tauG1");
  out.begin(13);
  for (int k = 0; k <= power; k++) {
    std::vector<Fr> l = lagrange_at(st.tau, Fr::one(), k, false, threads);
    g2_of(l.data(), l.size());
  }
  out.end();
  lap("Lagrange tauG2");
  for (int id = 14; id <= 15; id++) {
    out.begin((uint32_t)id);
    for (int k = 0; k <= power; k++) {
      std::vector<Fr> l = lagrange_at(st.tau, id == 14 ? st.alpha : st.beta, k, false, threads);
      g1_of(l.data(), l.size());
    }
    out.end();
  }
  lap("Lagrange alpha, beta");
  out.close();
  if (rename((path + ".tmp").c_str(), path.c_str()) != 0) throw Error("cannot rename to " + path);
  return st;
}

}  // namespace ozk
