// INSECURE development setup: a snarkjs-compatible .zkey from an .r1cs with toxic waste derived from a public seed.
// Anyone who knows the seed can forge proofs for the key. For benchmarks and tests only.
#pragma once
#include <cstdio>
#include <string>
#include <vector>

#include "groth16.hpp"

namespace ozk {

template <class F>
void batch_to_affine(const Jacobian<F>* in, Affine<F>* out, size_t n, int threads) {
  parallel_ranges(n, threads, [&](size_t lo, size_t hi) {
    std::vector<F> acc(hi - lo);
    F run = F::one();
    for (size_t i = lo; i < hi; i++) {
      acc[i - lo] = run;
      if (!in[i].is_inf()) run = run * in[i].z;
    }
    F inv = run.inv();
    for (size_t i = hi; i-- > lo;) {
      if (in[i].is_inf()) { out[i] = Affine<F>::inf(); continue; }
      F zi = inv * acc[i - lo];
      inv = inv * in[i].z;
      F zi2 = zi.sqr();
      out[i].x = in[i].x * zi2;
      out[i].y = in[i].y * zi2 * zi;
    }
  });
}

// Fixed-base multiplication with a table of d * 2^(w*k) * G for every window k and digit d.
template <class F>
struct FixedBase {
  int w, windows;
  std::vector<Affine<F>> table;  // windows * 2^w entries, entry 0 of each window unused (infinity)
  FixedBase(const Jacobian<F>& g, int wbits, int threads) : w(wbits), windows((254 + wbits - 1) / wbits) {
    size_t per = (size_t)1 << w;
    std::vector<Jacobian<F>> jt((size_t)windows * per);
    std::vector<Jacobian<F>> base(windows);
    Jacobian<F> b = g;
    for (int k = 0; k < windows; k++) {
      base[k] = b;
      for (int i = 0; i < w; i++) b = b.dbl();
    }
    parallel_for(windows, threads, [&](size_t k) {
      Jacobian<F> acc = Jacobian<F>::inf();
      for (size_t d = 0; d < per; d++) {
        jt[k * per + d] = acc;
        acc = acc + base[k];
      }
    });
    table.resize(jt.size());
    batch_to_affine(jt.data(), table.data(), jt.size(), threads);
  }
  Jacobian<F> mul(const Fr& s) const {
    uint64_t raw[4];
    s.to_raw(raw);
    Jacobian<F> acc = Jacobian<F>::inf();
    size_t per = (size_t)1 << w;
    for (int k = 0; k < windows; k++) {
      uint32_t d = scalar_bits(raw, k * w, w);
      if (d) acc = acc.add_mixed(table[k * per + d]);
    }
    return acc;
  }
  // out[i] = scalars[i] * G, affine
  void mul_batch(const Fr* scalars, size_t n, Affine<F>* out, int threads) const {
    const size_t CH = 1 << 14;
    std::vector<Jacobian<F>> tmp;
    for (size_t b = 0; b < n; b += CH) {
      size_t e = std::min(n, b + CH);
      tmp.resize(e - b);
      parallel_ranges(e - b, threads, [&](size_t lo, size_t hi) {
        for (size_t i = lo; i < hi; i++) tmp[i] = mul(scalars[b + i]);
      });
      batch_to_affine(tmp.data(), out + b, e - b, threads);
    }
  }
};

inline G1 g1_generator() {
  G1Affine a; a.x = Fq::from_u64(1); a.y = Fq::from_u64(2);
  return G1::from_affine(a);
}

inline G2 g2_generator() {
  const char* c[4] = {"10857046999023057135944570762232829481370756359578518086990519993285655852781",
                      "11559732032986387107991004021392285783925812861821192530917403151452391805634",
                      "8495653923123431417604973247489272438418190587263600148770280649306958101930",
                      "4082367875863433681332203403145435568316851327593401208105741076214120093531"};
  Fq v[4];
  for (int i = 0; i < 4; i++) {
    uint64_t raw[4];
    dec_to_u256(c[i], raw);
    v[i] = Fq::from_raw(raw);
  }
  G2Affine a;
  a.x.a = v[0]; a.x.b = v[1]; a.y.a = v[2]; a.y.b = v[3];
  return G2::from_affine(a);
}

// splitmix64 stream: deterministic toxic waste from the seed (that is the point: it is knowable).
struct SeedStream {
  uint64_t x;
  uint64_t next() {
    uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  Fr fr() {
    uint64_t raw[4] = {next(), next(), next(), next() & ((1ULL << 61) - 1)};
    if ((raw[0] | raw[1] | raw[2] | raw[3]) == 0) raw[0] = 7;
    return Fr::from_raw(raw);
  }
};

struct DevSetupStats {
  uint32_t n_constraints, n_vars, n_public, domain_size;
};

class ZKeyWriter {
 public:
  // An iden3 binary file: magic, version 1, the number of sections; then begin(id) ... end() per section.
  explicit ZKeyWriter(const std::string& path, const char magic[4] = "zkey", uint32_t sections = 10) : path_(path) {
    f_ = fopen(path.c_str(), "wb");
    if (!f_) throw Error("cannot create " + path);
    put(magic, 4);
    u32(1);
    u32(sections);
  }
  ~ZKeyWriter() { if (f_) fclose(f_); }
  void begin(uint32_t id) {
    u32(id);
    size_pos_ = ftell(f_);
    u64(0);
  }
  void end() {
    long here = ftell(f_);
    uint64_t len = (uint64_t)(here - size_pos_ - 8);
    fseek(f_, size_pos_, SEEK_SET);
    u64(len);
    fseek(f_, here, SEEK_SET);
  }
  void put(const void* p, size_t n) {
    if (n && fwrite(p, 1, n, f_) != n) throw Error("write failed: " + path_);
  }
  void u32(uint32_t v) { put(&v, 4); }
  void u64(uint64_t v) { put(&v, 8); }
  void close() {
    if (fclose(f_) != 0) { f_ = nullptr; throw Error("write failed: " + path_); }
    f_ = nullptr;
  }

 private:
  std::string path_;
  FILE* f_ = nullptr;
  long size_pos_ = 0;
};

inline DevSetupStats dev_setup(const std::string& r1cs_path, const std::string& zkey_path, uint64_t seed, int threads,
                               bool verbose) {
  BinFile r1cs(r1cs_path, "r1cs", 1);
  const std::string& p = r1cs.path();
  Reader h(r1cs.section(1), p + " header");
  if (h.u32() != 32 || !bytes_eq_limbs(h.bytes(32), FrParams::P)) throw Error(p + ": r1cs prime is not BN254 Fr");
  uint32_t n_wires = h.u32(), n_out = h.u32(), n_pub_in = h.u32();
  h.u32();  // private inputs
  h.u64();  // labels
  uint32_t n_constraints = h.u32();
  if (r1cs.has(4) || r1cs.has(5)) throw Error(p + ": custom gates are not supported by Groth16");
  uint32_t n_public = n_out + n_pub_in;
  uint64_t total = (uint64_t)n_constraints + n_public;
  int log_n = 0;
  while (((uint64_t)1 << log_n) <= total) log_n++;  // snarkjs: floor(log2(total)) + 1
  if (log_n > FR_TWO_ADICITY - 1) throw Error(p + ": circuit too large for BN254 Groth16");
  size_t n = (size_t)1 << log_n;
  Timer t;

  SeedStream rng{seed};
  Fr tau = rng.fr(), alpha = rng.fr(), beta = rng.fr(), gamma = rng.fr(), delta = rng.fr();
  Fr gamma_inv = gamma.inv(), delta_inv = delta.inv();

  // Lagrange basis of the size-m domain at tau: L_k(tau) = (tau^m - 1)/m * g^k / (tau - g^k), g a primitive m-th root.
  auto lagrange = [&](int logm) {
    size_t m = (size_t)1 << logm;
    Fr g = fr_root_of_unity(logm);
    std::vector<Fr> gk(m), den(m), out(m);
    parallel_ranges(m, threads, [&](size_t lo, size_t hi) {
      uint64_t ex[4] = {(uint64_t)lo, 0, 0, 0};
      Fr x = g.pow(ex);
      for (size_t i = lo; i < hi; i++) { gk[i] = x; den[i] = tau - x; x = x * g; }
    });
    uint64_t em[4] = {(uint64_t)m, 0, 0, 0};
    Fr zt = (tau.pow(em) - Fr::one()) * Fr::from_u64(m).inv();
    parallel_ranges(m, threads, [&](size_t lo, size_t hi) {
      std::vector<Fr> acc(hi - lo);
      Fr run = Fr::one();
      for (size_t i = lo; i < hi; i++) { acc[i - lo] = run; run = run * den[i]; }
      Fr inv = run.inv();
      for (size_t i = hi; i-- > lo;) {
        Fr di = inv * acc[i - lo];
        inv = inv * den[i];
        out[i] = zt * gk[i] * di;
      }
    });
    return out;
  };
  std::vector<Fr> L = lagrange(log_n);

  std::vector<Fr> u(n_wires, Fr::zero()), v(n_wires, Fr::zero()), wv(n_wires, Fr::zero());
  Fr r2;
  for (int i = 0; i < 4; i++) r2.v[i] = FrParams::R2[i];
  struct Coef { uint32_t m, c, s; Fr stored; };
  std::vector<Coef> coefs;
  Reader cr(r1cs.section(2), p + " constraints");
  for (uint32_t c = 0; c < n_constraints; c++) {
    for (int mat = 0; mat < 3; mat++) {
      uint32_t nt = cr.u32();
      for (uint32_t k = 0; k < nt; k++) {
        uint32_t s = cr.u32();
        uint64_t raw[4];
        memcpy(raw, cr.bytes(32), 32);
        if (s >= n_wires || Fr::geq_p(raw)) throw Error(p + ": corrupted constraint " + std::to_string(c));
        Fr coef = Fr::from_raw(raw);
        Fr term = coef * L[c];
        std::vector<Fr>& dst = mat == 0 ? u : mat == 1 ? v : wv;
        dst[s] = dst[s] + term;
        if (mat < 2) coefs.push_back(Coef{(uint32_t)mat, c, s, coef * r2});
      }
    }
  }
  // snarkjs binds each public signal (and the constant 1) with an extra A-row: u_s += L_{nConstraints + s}.
  for (uint32_t s = 0; s <= n_public; s++) {
    u[s] = u[s] + L[n_constraints + s];
    coefs.push_back(Coef{0, n_constraints + s, s, Fr::one() * r2});
  }
  if (verbose) fprintf(stderr, "devsetup: QAP at tau in %.0f ms\n", t.ms());

  // Scalars for every query.
  std::vector<Fr> ic_s(n_public + 1), c_s(n_wires - n_public - 1), h_s(n);
  parallel_ranges(n_wires, threads, [&](size_t lo, size_t hi) {
    for (size_t j = lo; j < hi; j++) {
      Fr k = beta * u[j] + alpha * v[j] + wv[j];
      if (j <= n_public) ic_s[j] = k * gamma_inv;
      else c_s[j - n_public - 1] = k * delta_inv;
    }
  });
  {
    std::vector<Fr> L2 = lagrange(log_n + 1);
    for (size_t i = 0; i < n; i++) h_s[i] = L2[2 * i + 1] * delta_inv;
  }
  wv.clear(); wv.shrink_to_fit();

  int wbits = n_wires + n >= (1u << 18) ? 16 : n_wires + n > (1u << 14) ? 12 : 8;
  FixedBase<Fq> fb1(g1_generator(), wbits, threads);
  FixedBase<Fq2> fb2(g2_generator(), wbits, threads);
  if (verbose) fprintf(stderr, "devsetup: tables in %.0f ms\n", t.ms());

  ZKeyWriter out(zkey_path + ".tmp");
  auto write_g1 = [&](const std::vector<Fr>& sc) {
    const size_t CH = 1 << 16;
    std::vector<G1Affine> buf;
    for (size_t b = 0; b < sc.size(); b += CH) {
      size_t e = std::min(sc.size(), b + CH);
      buf.resize(e - b);
      fb1.mul_batch(sc.data() + b, e - b, buf.data(), threads);
      out.put(buf.data(), buf.size() * sizeof(G1Affine));
    }
  };
  auto one_g1 = [&](const Fr& s) { G1Affine a = fb1.mul(s).to_affine(); out.put(&a, sizeof a); };
  auto one_g2 = [&](const Fr& s) { G2Affine a = fb2.mul(s).to_affine(); out.put(&a, sizeof a); };

  out.begin(1); out.u32(1); out.end();
  out.begin(2);
  out.u32(32); out.put(FqParams::P, 32);
  out.u32(32); out.put(FrParams::P, 32);
  out.u32(n_wires); out.u32(n_public); out.u32((uint32_t)n);
  one_g1(alpha); one_g1(beta); one_g2(beta); one_g2(gamma); one_g1(delta); one_g2(delta);
  out.end();
  out.begin(3); write_g1(ic_s); out.end();
  out.begin(4);
  out.u32((uint32_t)coefs.size());
  for (const Coef& c : coefs) {
    out.u32(c.m); out.u32(c.c); out.u32(c.s);
    uint64_t raw[4];
    for (int i = 0; i < 4; i++) raw[i] = c.stored.v[i];  // the integer coef * R^2 mod r
    out.put(raw, 32);
  }
  out.end();
  out.begin(5); write_g1(u); out.end();
  out.begin(6); write_g1(v); out.end();
  out.begin(7);
  {
    const size_t CH = 1 << 15;
    std::vector<G2Affine> buf;
    for (size_t b = 0; b < v.size(); b += CH) {
      size_t e = std::min(v.size(), b + CH);
      buf.resize(e - b);
      fb2.mul_batch(v.data() + b, e - b, buf.data(), threads);
      out.put(buf.data(), buf.size() * sizeof(G2Affine));
    }
  }
  out.end();
  out.begin(8); write_g1(c_s); out.end();
  out.begin(9); write_g1(h_s); out.end();
  out.begin(10);
  uint8_t cs_hash[64] = {0};  // no circuit hash: this key is not the output of a ceremony
  out.put(cs_hash, 64);
  out.u32(0);
  out.end();
  out.close();
  if (rename((zkey_path + ".tmp").c_str(), zkey_path.c_str()) != 0) throw Error("cannot rename to " + zkey_path);
  if (verbose) fprintf(stderr, "devsetup: wrote %s in %.0f ms\n", zkey_path.c_str(), t.ms());
  return DevSetupStats{n_constraints, n_wires, n_public, (uint32_t)n};
}

}  // namespace ozk
