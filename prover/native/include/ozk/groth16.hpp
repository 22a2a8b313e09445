// snarkjs-compatible Groth16 proving for BN254: .zkey/.wtns loading with validation, the quotient on the odd coset
// (as snarkjs groth16_prove.js computes it), the five MSMs and proof assembly.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "binfile.hpp"
#include "msm.hpp"
#include "msm_plan.hpp"
#include "ntt.hpp"
#include "util.hpp"

namespace ozk {

constexpr size_t G1_BYTES = 64, G2_BYTES = 128, FR_BYTES = 32;

inline bool bytes_eq_limbs(const uint8_t* b, const uint64_t limbs[4]) {
  return memcmp(b, limbs, 32) == 0;  // little-endian host
}

// Coordinates must be canonical (< q) Montgomery values and the point on its curve.
template <class Curve>
inline bool valid_affine(const uint8_t* bytes) {
  typedef typename Curve::F F;
  Affine<F> p;
  memcpy(&p, bytes, sizeof p);
  const uint64_t* limbs = (const uint64_t*)&p;
  for (size_t i = 0; i < sizeof p / 32; i++)
    if (Fq::geq_p(limbs + 4 * i)) return false;
  return on_curve<Curve>(p);
}

struct ZKey {
  BinFile file;
  uint32_t n_vars = 0, n_public = 0, domain_size = 0;
  int log_domain = 0;
  G1Affine alpha1, beta1, delta1;
  G2Affine beta2, gamma2, delta2;
  Section coefs, A, B1, B2, C, H;
  uint32_t n_coefs = 0;

  explicit ZKey(const std::string& path, int threads, bool check_points = true) : file(path, "zkey", 1) {
    const std::string& p = file.path();
    Reader h1(file.section(1), p + " header");
    if (h1.u32() != 1) throw Error(p + ": not a Groth16 proving key (protocol id != 1)");
    Reader h(file.section(2), p + " Groth16 header");
    if (h.u32() != 32 || !bytes_eq_limbs(h.bytes(32), FqParams::P)) throw Error(p + ": base field is not BN254 Fq");
    if (h.u32() != 32 || !bytes_eq_limbs(h.bytes(32), FrParams::P)) throw Error(p + ": scalar field is not BN254 Fr");
    n_vars = h.u32();
    n_public = h.u32();
    domain_size = h.u32();
    log_domain = log2_exact(domain_size);
    if (log_domain < 1 || log_domain > FR_TWO_ADICITY - 1) throw Error(p + ": invalid domain size " + std::to_string(domain_size));
    if (n_vars == 0 || n_public + 1 > n_vars) throw Error(p + ": invalid nVars/nPublic");
    struct { void* dst; size_t len; bool g2; const char* name; } hdr[] = {
        {&alpha1, G1_BYTES, false, "alpha1"}, {&beta1, G1_BYTES, false, "beta1"}, {&beta2, G2_BYTES, true, "beta2"},
        {&gamma2, G2_BYTES, true, "gamma2"}, {&delta1, G1_BYTES, false, "delta1"}, {&delta2, G2_BYTES, true, "delta2"}};
    for (auto& e : hdr) {
      const uint8_t* b = h.bytes(e.len);
      bool ok = e.g2 ? valid_affine<G2Curve>(b) : valid_affine<G1Curve>(b);
      if (!ok) throw Error(p + ": header point " + e.name + " is not on the curve");
      memcpy(e.dst, b, e.len);
    }
    // G1 has cofactor 1 (on the curve means in the group); the G2 twist does not.
    for (auto* q : {&beta2, &gamma2, &delta2})
      if (!in_g2_subgroup(*q))
        throw Error(p + ": header point " + (q == &beta2 ? "beta2" : q == &gamma2 ? "gamma2" : "delta2") +
                    " is not in the G2 subgroup");
    coefs = file.section(4);
    if (coefs.size < 4) throw Error(p + ": coefficient section truncated");
    memcpy(&n_coefs, coefs.data, 4);
    if (coefs.size != 4 + (uint64_t)n_coefs * (12 + FR_BYTES)) throw Error(p + ": coefficient section has the wrong size");
    A = sized(5, (uint64_t)n_vars * G1_BYTES, "A");
    B1 = sized(6, (uint64_t)n_vars * G1_BYTES, "B1");
    B2 = sized(7, (uint64_t)n_vars * G2_BYTES, "B2");
    C = sized(8, (uint64_t)(n_vars - n_public - 1) * G1_BYTES, "C");
    H = sized(9, (uint64_t)domain_size * G1_BYTES, "H");
    sized(3, (uint64_t)(n_public + 1) * G1_BYTES, "IC");
    check_coefs(threads);
    check_points_ = check_points;
  }

  // Every point of a query section is checked just before its MSM (so only one section is resident at a time),
  // or all at once by validate_all() for a key that stays loaded across proofs.
  bool check_points_ = true;
  void validate_all(int threads) {
    check_points_in<G1Curve>(A, G1_BYTES, "A", threads);
    check_points_in<G1Curve>(B1, G1_BYTES, "B1", threads);
    check_points_in<G2Curve>(B2, G2_BYTES, "B2", threads);
    check_points_in<G1Curve>(C, G1_BYTES, "C", threads);
    check_points_in<G1Curve>(H, G1_BYTES, "H", threads);
    check_points_ = false;
  }
  template <class Curve>
  void check_query(const Section& s, const char* name, int threads) const {
    if (check_points_) check_points_in<Curve>(s, sizeof(Affine<typename Curve::F>), name, threads);
  }

  Section sized(uint32_t id, uint64_t expect, const char* name) {
    const Section& s = file.section(id);
    if (s.size != expect)
      throw Error(file.path() + ": section " + std::to_string(id) + " (" + name + ") has " + std::to_string(s.size) +
                  " bytes, expected " + std::to_string(expect));
    return s;
  }

  void check_coefs(int threads) {
    std::atomic<bool> bad(false);
    parallel_ranges(n_coefs, threads, [&](size_t b, size_t e) {
      for (size_t i = b; i < e && !bad; i++) {
        const uint8_t* c = coefs.data + 4 + i * (12 + FR_BYTES);
        uint32_t m, ci, s;
        memcpy(&m, c, 4); memcpy(&ci, c + 4, 4); memcpy(&s, c + 8, 4);
        uint64_t v[4];
        memcpy(v, c + 12, 32);
        if (m > 1 || ci >= domain_size || s >= n_vars || Fr::geq_p(v)) bad = true;
      }
    });
    if (bad) throw Error(file.path() + ": corrupted coefficient section (index or value out of range)");
  }

  template <class Curve>
  void check_points_in(const Section& s, size_t sz, const char* name, int threads) const {
    size_t n = s.size / sz;
    std::atomic<bool> bad(false);
    parallel_ranges(n, threads, [&](size_t b, size_t e) {
      for (size_t i = b; i < e && !bad; i++)
        if (!valid_affine<Curve>(s.data + i * sz)) bad = true;
    });
    if (bad) throw Error(file.path() + ": corrupted " + name + " points (not on the curve)");
  }
};

struct Witness {
  BinFile file;
  Section values;
  uint32_t n = 0;
  Witness(const std::string& path, int threads) : file(path, "wtns", 2) {
    const std::string& p = file.path();
    Reader h(file.section(1), p + " header");
    uint32_t n8 = h.u32();
    if (n8 != 32) throw Error(p + ": witness field element size is " + std::to_string(n8) + " bytes, expected 32");
    if (!bytes_eq_limbs(h.bytes(32), FrParams::P)) throw Error(p + ": witness field is not BN254 Fr");
    n = h.u32();
    values = file.section(2);
    if (values.size != (uint64_t)n * FR_BYTES)
      throw Error(p + ": witness section has " + std::to_string(values.size) + " bytes for " + std::to_string(n) + " values");
    std::atomic<bool> bad(false);
    parallel_ranges(n, threads, [&](size_t b, size_t e) {
      for (size_t i = b; i < e && !bad; i++) {
        uint64_t v[4];
        memcpy(v, values.data + i * FR_BYTES, 32);
        if (Fr::geq_p(v)) bad = true;
      }
    });
    if (bad) throw Error(p + ": witness value not reduced modulo r (corrupted witness)");
    uint64_t w0[4];
    if (n > 0) memcpy(w0, values.data, 32);
    if (n == 0 || w0[0] != 1 || (w0[1] | w0[2] | w0[3]) != 0) throw Error(p + ": witness[0] must be 1");
  }
  const uint8_t* at(size_t i) const { return values.data + i * FR_BYTES; }
};

struct Proof {
  G1Affine a, c;
  G2Affine b;
  std::vector<std::string> public_signals;
};

struct ProveTimings {
  double qap = 0, ntt = 0, msm = 0, msm_g1 = 0, msm_g2 = 0, total = 0;
};

// Twiddle tables of the key's domain: built per proof, or once for a key kept loaded.
struct NttTables {
  std::vector<Fr> tw, twi;
  NttTables(int logn, int threads) : tw(ntt_twiddles(logn, false, threads)), twi(ntt_twiddles(logn, true, threads)) {}
};

// What a resident key precomputes once: NTT tables and the A/B matrices in rows.
struct KeyTables {
  NttTables ntt;
  QapRows rows;
  KeyTables(const ZKey& zk, int threads);
};

// a[i], b[i] = sum over the A / B matrix entries of row i of coef * witness, and c[i] = a[i] * b[i] (Montgomery).
inline void qap_evaluations(const ZKey& zk, const Witness& wt, std::vector<Fr>& a, std::vector<Fr>& b,
                            std::vector<Fr>& c, int threads) {
  size_t n = zk.domain_size;
  a.assign(n, Fr::zero());
  b.assign(n, Fr::zero());
  c.resize(n);
  // Section 4 stores coef * R^2, so one Montgomery product with the canonical witness value gives coef*w in
  // Montgomery form. Matrix A and B are accumulated by separate threads.
  parallel_for(2, threads, [&](size_t m) {
    Fr* out = m == 0 ? a.data() : b.data();
    const uint8_t* base = zk.coefs.data + 4;
    for (uint32_t i = 0; i < zk.n_coefs; i++) {
      const uint8_t* e = base + (size_t)i * (12 + FR_BYTES);
      uint32_t mm, ci, s;
      memcpy(&mm, e, 4);
      if (mm != m) continue;
      memcpy(&ci, e + 4, 4); memcpy(&s, e + 8, 4);
      Fr coef, w;
      memcpy(coef.v, e + 12, 32);
      memcpy(w.v, wt.at(s), 32);
      out[ci] = out[ci] + coef * w;
    }
  });
  parallel_ranges(n, threads, [&](size_t lo, size_t hi) {
    for (size_t i = lo; i < hi; i++) c[i] = a[i] * b[i];
  });
}

// Evaluations of a*b - c on the odd coset {g * w^i}, g a primitive 2n-th root, as canonical integers (the
// scalars for the H query), exactly as snarkjs computes them.
inline KeyTables::KeyTables(const ZKey& zk, int threads)
    : ntt(zk.log_domain, threads), rows(zk.coefs.data, zk.n_coefs, zk.domain_size) {}

inline std::vector<Fr> quotient_scalars(const ZKey& zk, const Witness& wt, int threads, ProveTimings& tm,
                                        const KeyTables* cached = nullptr) {
  Timer t;
  size_t n = zk.domain_size;
  std::vector<Fr> a, b, c;
  if (cached) cached->rows.evaluate(wt.values.data, n, a, b, c, threads);
  else qap_evaluations(zk, wt, a, b, c, threads);
  tm.qap += t.ms();
  Timer t2;
  int logn = zk.log_domain;
  std::unique_ptr<NttTables> own;
  if (!cached) own.reset(new NttTables(logn, threads));
  const NttTables& tables = cached ? cached->ntt : *own;
  const std::vector<Fr>& tw = tables.tw;
  const std::vector<Fr>& twi = tables.twi;
  Fr g = fr_root_of_unity(logn + 1), ninv = Fr::from_u64(n).inv();
  for (std::vector<Fr>* v : {&a, &b, &c}) {
    ntt_inplace(v->data(), logn, twi, threads);  // inverse transform without its 1/n ...
    Fr* d = v->data();
    parallel_ranges(n, threads, [&](size_t lo, size_t hi) {  // ... folded into the coset shift: times g^i / n
      uint64_t ex[4] = {(uint64_t)lo, 0, 0, 0};
      Fr x = g.pow(ex) * ninv;
      for (size_t i = lo; i < hi; i++) { d[i] = d[i] * x; x = x * g; }
    });
    ntt_inplace(v->data(), logn, tw, threads);
  }
  // h = a*b - c, converted out of Montgomery form in place (stored as canonical limbs).
  parallel_ranges(n, threads, [&](size_t lo, size_t hi) {
    for (size_t i = lo; i < hi; i++) {
      Fr h = a[i] * b[i] - c[i];
      h.to_raw(a[i].v);
    }
  });
  tm.ntt += t2.ms();
  return a;
}

// The five MSM results of a proof before blinding.
struct ProofParts {
  G1 a, b1, c, h;
  G2 b;
};

// Adds the key's alpha/beta and the random blinding r, s (fresh from the OS CSPRNG, multiplied in by
// mul_secret) and reads the public signals: pi_a = A + alpha + r delta, pi_b = B + beta + s delta,
// pi_c = C + H + s pi_a + r (B1 + beta1) - r s delta, as snarkjs does.
inline Proof assemble_proof(const ZKey& zk, const Witness& wt, const ProofParts& parts) {
  Fr r = random_fr(), s = random_fr();
  uint64_t r_raw[4], s_raw[4], nrs_raw[4];
  r.to_raw(r_raw);
  s.to_raw(s_raw);
  (r * s).neg().to_raw(nrs_raw);
  G1 delta1 = G1::from_affine(zk.delta1);
  G1 pi_a = parts.a.add_mixed(zk.alpha1) + mul_secret(delta1, r_raw);
  G2 pi_b = parts.b.add_mixed(zk.beta2) + mul_secret(G2::from_affine(zk.delta2), s_raw);
  G1 pib1 = parts.b1.add_mixed(zk.beta1) + mul_secret(delta1, s_raw);
  G1 pi_c = parts.c + parts.h + mul_secret(pi_a, s_raw) + mul_secret(pib1, r_raw) + mul_secret(delta1, nrs_raw);
  Proof pf;
  pf.a = pi_a.to_affine();
  pf.b = pi_b.to_affine();
  pf.c = pi_c.to_affine();
  for (uint32_t i = 1; i <= zk.n_public; i++) {
    uint64_t v[4];
    memcpy(v, wt.at(i), 32);
    pf.public_signals.push_back(u256_to_dec(v));
  }
  return pf;
}

inline void check_witness_fits(const ZKey& zk, const Witness& wt) {
  if (wt.n != zk.n_vars)
    throw Error("invalid witness length: circuit has " + std::to_string(zk.n_vars) + " signals, witness has " +
                std::to_string(wt.n));
}

// One proof on the CPU. `resident`: the key stays loaded for further proofs (its pages are kept and `tables`
// may carry the twiddles and the matrices in rows); otherwise each section is dropped after its MSM to bound peak memory.
inline Proof prove(const ZKey& zk, const Witness& wt, int threads, ProveTimings& tm, bool resident = false,
                   const KeyTables* tables = nullptr) {
  Timer total;
  check_witness_fits(zk, wt);
  std::vector<Fr> hs = quotient_scalars(zk, wt, threads, tm, tables);
  auto done = [&](const Section& s) { if (!resident) BinFile::release(s); };
  done(zk.coefs);
  Timer t;
  const uint8_t* w = wt.values.data;
  ProofParts parts;
  zk.check_query<G1Curve>(zk.A, "A", threads);
  parts.a = msm<Fq>(zk.A.data, w, zk.n_vars, threads);
  done(zk.A);
  zk.check_query<G1Curve>(zk.B1, "B1", threads);
  parts.b1 = msm<Fq>(zk.B1.data, w, zk.n_vars, threads);
  done(zk.B1);
  tm.msm_g1 += t.ms();
  Timer t_g2;
  zk.check_query<G2Curve>(zk.B2, "B2", threads);
  parts.b = msm<Fq2>(zk.B2.data, w, zk.n_vars, threads);
  done(zk.B2);
  tm.msm_g2 += t_g2.ms();
  Timer t_c;
  size_t off = (size_t)zk.n_public + 1;
  zk.check_query<G1Curve>(zk.C, "C", threads);
  parts.c = msm<Fq>(zk.C.data, w + off * FR_BYTES, zk.n_vars - off, threads);
  done(zk.C);
  zk.check_query<G1Curve>(zk.H, "H", threads);
  parts.h = msm<Fq>(zk.H.data, (const uint8_t*)hs.data(), zk.domain_size, threads);
  done(zk.H);
  tm.msm_g1 += t_c.ms();
  tm.msm += t.ms();
  hs.clear();
  hs.shrink_to_fit();
  Proof pf = assemble_proof(zk, wt, parts);
  tm.total += total.ms();
  return pf;
}

inline std::string proof_json(const Proof& p) {
  auto q = [](const Fq& x) { return "\"" + fp_to_dec(x) + "\""; };
  // snarkjs writes projective coordinates with z = 1; the point at infinity cannot occur for a valid key and
  // random r, s except with negligible probability, and is written as (0, 1, 0) like ffjavascript's toObject.
  std::string g1a = p.a.is_inf() ? "[\"0\",\"1\",\"0\"]" : "[" + q(p.a.x) + "," + q(p.a.y) + ",\"1\"]";
  std::string g1c = p.c.is_inf() ? "[\"0\",\"1\",\"0\"]" : "[" + q(p.c.x) + "," + q(p.c.y) + ",\"1\"]";
  std::string g2b = p.b.is_inf() ? "[[\"0\",\"0\"],[\"1\",\"0\"],[\"0\",\"0\"]]"
                                 : "[[" + q(p.b.x.a) + "," + q(p.b.x.b) + "],[" + q(p.b.y.a) + "," + q(p.b.y.b) +
                                       "],[\"1\",\"0\"]]";
  return "{\n \"pi_a\": " + g1a + ",\n \"pi_b\": " + g2b + ",\n \"pi_c\": " + g1c +
         ",\n \"protocol\": \"groth16\",\n \"curve\": \"bn128\"\n}\n";
}

inline std::string public_json(const Proof& p) {
  std::string s = "[";
  for (size_t i = 0; i < p.public_signals.size(); i++) s += (i ? ",\n \"" : "\n \"") + p.public_signals[i] + "\"";
  return s + (p.public_signals.empty() ? "]\n" : "\n]\n");
}

}  // namespace ozk
