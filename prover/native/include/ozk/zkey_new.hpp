// The initial Groth16 phase-2 key of a circuit (`ozk-prover zkey-new`): the same file, byte for byte, as snarkjs's
// zKey.newZKey(r1cs, ptau, zkey) (snarkjs 0.7.6 src/zkey_new.js), which is deterministic.
//
// The key, section by section, in the order snarkjs writes them (1, 2, 4, 3, 9, 8, 5, 6, 7, 10):
//   1  protocol id (1 = Groth16)
//   2  q, r, nVars, nPublic, domainSize; alpha1, beta1, beta2 copied from the ptau (sections 4, 5, 6, first point);
//      gamma2 = delta2 = the G2 generator, delta1 = the G1 generator (delta = 1 until a contribution)
//   4  the A and B coefficients of every constraint in r1cs order, then one A-row (coefficient 1) per public signal
//      and the constant 1 (row nConstraints + s); each value is coef * R^2 mod r (snarkjs's prover format)
//   3  IC, 8 C: per wire, sum over its terms of coef * [beta L_c] (A terms), coef * [alpha L_c] (B terms) and
//      coef * [L_c] (C terms), L_c the Lagrange basis of the domain at tau (ptau sections 15, 14, 12); wires
//      0..nPublic go to IC, the others to C
//   9  H: the odd Lagrange points of the domain of twice the size (ptau section 12), copied
//   5  A: per wire, sum of coef * [L_c] (G1) over its A terms;  6 B1, 7 B2: the same over its B terms, in G1 and
//      G2 (section 13)
//   10 the circuit hash and an empty contribution list
// Points are stored affine, little-endian Montgomery (snarkjs "LEM"), (0, 0) for infinity.
//
// The circuit hash (csHash) is blake2b-512 over, in this order: the six header points, then for IC, H, C, A, B1,
// B2 a big-endian u32 count and the points, all in uncompressed form (big-endian standard coordinates, G2 as
// x.c1 x.c0 y.c1 y.c0, (0, 0) for infinity). For H snarkjs hashes [tau^(i+d)] - [tau^i] (ptau section 2) rather
// than the section's points, with two quirks kept here: the count says d - 1 but from d = 2^15 on its chunk loop
// hashes d points, and when d is the ptau's full power the last of them reads 64 bytes past the end of section 2
// (the next section's header and first bytes), which snarkjs's wasm field code then treats as a point. That one
// value is reproduced by emulating the wasm arithmetic on the raw bytes (wasm_f1m below).
//
// Each linear combination is computed term by term, not with snarkjs's multiexps: r1cs coefficients are mostly
// small or small negatives (1, -1, weights, powers of two), so each term gets a width-w NAF of min(k, r - k) with a
// table sized to it, the terms of one wire share the doublings, and in G1 a large coefficient is split by the GLV
// endomorphism into two halves of about 128 bits. The result of each combination is a group element, so any
// correct method gives the same bytes.
#pragma once
#include <cstdio>
#include <string>
#include <unordered_map>
#include <vector>

#include "blake2b.hpp"
#include "devsetup.hpp"
#include "scale.hpp"

namespace ozk {

// ---- snarkjs's wasm field arithmetic (wasmcurves build_f1m.js) on arbitrary 256-bit words ----
// On canonical inputs these are the field operations; on words >= q (raw file bytes that are not a point) they
// give what the wasm code gives, which is not always congruent mod q (sub adds q once on a borrow, mod 2^256).
namespace wasm_f1m {
inline uint64_t add256(uint64_t r[4], const uint64_t a[4], const uint64_t b[4]) {
  u128 c = 0;
  for (int i = 0; i < 4; i++) { c = (u128)a[i] + b[i] + (uint64_t)(c >> 64); r[i] = (uint64_t)c; }
  return (uint64_t)(c >> 64);
}
inline uint64_t sub256(uint64_t r[4], const uint64_t a[4], const uint64_t b[4]) {
  uint64_t br = 0;
  for (int i = 0; i < 4; i++) {
    u128 t = (u128)a[i] - b[i] - br;
    r[i] = (uint64_t)t;
    br = (uint64_t)(t >> 64) & 1;
  }
  return br;
}
inline bool gte(const uint64_t a[4], const uint64_t b[4]) {
  for (int i = 3; i >= 0; i--) {
    if (a[i] != b[i]) return a[i] > b[i];
  }
  return true;
}
inline void add(const uint64_t a[4], const uint64_t b[4], uint64_t r[4]) {
  uint64_t t[4];
  if (add256(t, a, b)) sub256(t, t, FqParams::P);
  else if (gte(t, FqParams::P)) sub256(t, t, FqParams::P);
  memcpy(r, t, 32);
}
inline void sub(const uint64_t a[4], const uint64_t b[4], uint64_t r[4]) {
  uint64_t t[4];
  if (sub256(t, a, b)) add256(t, t, FqParams::P);
  memcpy(r, t, 32);
}
// Montgomery product: T = (a b + m q) / 2^256 exactly (T < 2^256 + q), minus q once when T >= q.
inline void mul(const uint64_t a[4], const uint64_t b[4], uint64_t r[4]) {
  uint64_t t[9] = {0, 0, 0, 0, 0, 0, 0, 0, 0};
  for (int i = 0; i < 4; i++) {
    u128 c = 0;
    for (int j = 0; j < 4; j++) {
      c = (u128)a[i] * b[j] + t[i + j] + (uint64_t)(c >> 64);
      t[i + j] = (uint64_t)c;
    }
    t[i + 4] = (uint64_t)(c >> 64);
  }
  for (int i = 0; i < 4; i++) {
    uint64_t m = t[i] * FqParams::INV;
    u128 c = 0;
    for (int j = 0; j < 4; j++) {
      c = (u128)m * FqParams::P[j] + t[i + j] + (uint64_t)(c >> 64);
      t[i + j] = (uint64_t)c;
    }
    for (int k = i + 4; k < 9; k++) {
      c = (u128)t[k] + (uint64_t)(c >> 64);
      t[k] = (uint64_t)c;
    }
  }
  uint64_t T[4] = {t[4], t[5], t[6], t[7]};
  if (t[8] || gte(T, FqParams::P)) sub256(T, T, FqParams::P);
  memcpy(r, T, 32);
}
inline bool is_zero(const uint64_t a[4]) { return (a[0] | a[1] | a[2] | a[3]) == 0; }
inline bool eq(const uint64_t a[4], const uint64_t b[4]) { return memcmp(a, b, 32) == 0; }
}  // namespace wasm_f1m

// A 256-bit word reduced mod q (it is below 2^256 < 6q), as an Fq in Montgomery form.
inline Fq fq_from_word(const uint64_t w[4]) {
  uint64_t t[4] = {w[0], w[1], w[2], w[3]};
  while (Fq::geq_p(t)) wasm_f1m::sub256(t, t, FqParams::P);
  Fq r;
  memcpy(r.v, t, 32);
  return r;
}

// Uncompressed encodings (what snarkjs's batchLEMtoU produces): big-endian standard-form coordinates.
inline void fq_be(const Fq& x, uint8_t* out) {
  uint64_t raw[4];
  x.to_raw(raw);
  for (int i = 0; i < 32; i++) out[i] = (uint8_t)(raw[3 - i / 8] >> (8 * (7 - i % 8)));
}
inline void g1_to_u(const G1Affine& p, uint8_t* out) {
  if (p.is_inf()) { memset(out, 0, 64); return; }
  fq_be(p.x, out);
  fq_be(p.y, out + 32);
}
inline void g2_to_u(const G2Affine& p, uint8_t* out) {
  if (p.is_inf()) { memset(out, 0, 128); return; }
  fq_be(p.x.b, out);
  fq_be(p.x.a, out + 32);
  fq_be(p.y.b, out + 64);
  fq_be(p.y.a, out + 96);
}
template <class F>
inline void to_u(const Affine<F>& p, uint8_t* out) {
  if constexpr (sizeof(F) == sizeof(Fq)) g1_to_u(p, out);
  else g2_to_u(p, out);
}

// The uncompressed encoding snarkjs's hashHPoints gets for `raw - q` where `raw` is 64 bytes that need not be a
// point (little-endian Montgomery words) and q a valid affine G1 point: g1m_subAffine (negAffine, then
// addAffine), then g1m_batchToAffine and g1m_LEMtoU, with the wasm field operations. batchToAffine's inverse is
// congruent mod q whatever its input, and LEMtoU's conversion out of Montgomery form reduces, so only the
// addition needs the exact emulation; the rest is done in Fq.
inline void emulated_sub_affine_u(const uint8_t* raw, const G1Affine& q, uint8_t out[64]) {
  using namespace wasm_f1m;
  uint64_t x1[4], y1[4], x2[4], y2[4];
  memcpy(x1, raw, 32);
  memcpy(y1, raw + 32, 32);
  memcpy(x2, q.x.v, 32);
  const uint64_t zero[4] = {0, 0, 0, 0};
  sub(zero, q.y.v, y2);  // negAffine
  if (is_zero(x1) && is_zero(y1)) {  // addAffine returns p2 with z = 1
    G1Affine r;
    memcpy(r.x.v, x2, 32);
    memcpy(r.y.v, y2, 32);
    g1_to_u(r, out);
    return;
  }
  if (is_zero(x2) && is_zero(y2)) {  // p2 at infinity: p1 with z = 1
    G1Affine r;
    r.x = fq_from_word(x1);
    r.y = fq_from_word(y1);
    g1_to_u(r, out);
    return;
  }
  if (eq(x1, x2) && eq(y1, y2)) throw Error("ptau: unsupported bytes after section 2 (equal to a point of it)");
  uint64_t H[4], y2m[4], HH[4], I[4], J[4], rr[4], V[4], r2[4], V2[4], x3[4], y1J2[4], y3[4], z3[4];
  sub(x2, x1, H);
  sub(y2, y1, y2m);
  mul(H, H, HH);
  add(HH, HH, I);
  add(I, I, I);
  mul(H, I, J);
  add(y2m, y2m, rr);
  mul(x1, I, V);
  mul(rr, rr, r2);
  add(V, V, V2);
  sub(r2, J, x3);
  sub(x3, V2, x3);
  mul(y1, J, y1J2);
  add(y1J2, y1J2, y1J2);
  sub(V, x3, y3);
  mul(y3, rr, y3);
  sub(y3, y1J2, y3);
  add(H, H, z3);
  if (is_zero(z3)) { memset(out, 0, 64); return; }  // batchInverse skips a zero z: the point comes out as (0, 0)
  Fq Z = fq_from_word(z3);
  if (Z.is_zero()) throw Error("ptau: unsupported bytes after section 2 (z = 0 mod q)");
  Fq zi = Z.inv(), zi2 = zi.sqr();
  G1Affine r;
  r.x = fq_from_word(x3) * zi2;
  r.y = fq_from_word(y3) * zi2 * zi;
  // LEMtoU writes (0, 0) for a raw-zero result and the reduced coordinates otherwise: the same bytes either way.
  fq_be(r.x, out);
  fq_be(r.y, out + 32);
}

// ---- linear combinations of the ptau's Lagrange points ----

// One r1cs term: the coefficient's offset in the r1cs constraint section (COEF_ONE: the coefficient 1 of a public
// signal's extra A-row), its constraint (row) and matrix (0 A, 1 B, 2 C).
struct TermLoc {
  uint64_t off;
  uint32_t c, m;
};
constexpr uint64_t COEF_ONE = ~(uint64_t)0;

// The terms of every wire, grouped by wire (CSR).
struct WireTerms {
  std::vector<uint64_t> start;  // n_vars + 1
  std::vector<TermLoc> terms;
  const uint8_t* coefs = nullptr;  // r1cs section 2
  void coef(const TermLoc& t, uint64_t k[4]) const {
    if (t.off == COEF_ONE) { k[0] = 1; k[1] = k[2] = k[3] = 0; return; }
    memcpy(k, coefs + t.off, 32);
    // snarkjs reads a coefficient >= r as its residue (Montgomery conversion), and multiexps by it as an integer,
    // which on a point of order r is the same
    while (Fr::geq_p(k)) wasm_f1m::sub256(k, k, FrParams::P);
  }
};

inline int bit_length(const uint64_t k[4]) {
  for (int i = 3; i >= 0; i--)
    if (k[i]) return 64 * i + 64 - __builtin_clzll(k[i]);
  return 0;
}

// out[i] = sum over the terms of wire w_lo + i with matrix m and base[m] != nullptr of coef * base[m][c], affine.
template <class F, bool GLV>
void lincomb_range(const WireTerms& wt, const uint8_t* const base[3], size_t w_lo, size_t w_hi, Affine<F>* out) {
  typedef Affine<F> A;
  typedef Jacobian<F> J;
  struct Stream {
    uint32_t tab, dig;
    uint16_t len;
    uint8_t phi;
  };
  std::vector<A> tab;
  std::vector<J> jt;
  std::vector<uint32_t> jt_dst;
  std::vector<Stream> streams;
  std::vector<int8_t> digits;
  std::vector<uint32_t> first(w_hi - w_lo + 1);
  const uint64_t half_r[4] = {0xa1f0fac9f8000000ULL, 0x9419f4243cdcb848ULL, 0xdc2822db40c0ac2eULL, 0x183227397098d014ULL};
  int8_t d1[260], d2[260];
  // a stream's digits (negated for a negative coefficient) and its largest |digit|
  auto push_digits = [&](const int8_t* d, int n, bool neg, uint32_t t, bool phi) {
    Stream s{t, (uint32_t)digits.size(), (uint16_t)n, (uint8_t)phi};
    for (int j = 0; j < n; j++) digits.push_back(neg ? (int8_t)-d[j] : d[j]);
    streams.push_back(s);
  };
  auto max_digit = [](const int8_t* d, int n) {
    int m = 1;
    for (int j = 0; j < n; j++) m = std::max(m, d[j] < 0 ? -d[j] : (int)d[j]);
    return m;
  };
  // table of P, 3P, ..., (2T-1)P: a single entry goes straight to `tab`, larger ones through `jt` (normalized below)
  // Tables are shared by the terms of one row (same base point) within the range: the wires of a range are
  // consecutive, and consecutive wires (a layer's inputs, a value's bits) tend to appear in the same rows.
  struct Cached {
    uint32_t at;
    int T;
  };
  std::unordered_map<uint64_t, Cached> cache;
  cache.reserve(2 * (size_t)(wt.start[w_hi] - wt.start[w_lo]) + 16);
  auto push_table = [&](const A& p, int T, uint64_t key) -> uint32_t {
    auto it = cache.find(key);
    if (it != cache.end() && it->second.T >= T) return it->second.at;
    uint32_t at = (uint32_t)tab.size();
    cache[key] = Cached{at, T};
    tab.push_back(p);
    if (T == 1) return at;
    J t = J::from_affine(p), p2 = t.dbl();
    for (int j = 1; j < T; j++) {
      t = t + p2;
      tab.push_back(A::inf());
      jt.push_back(t);
      jt_dst.push_back(at + j);
    }
    return at;
  };
  for (size_t w = w_lo; w < w_hi; w++) {
    first[w - w_lo] = (uint32_t)streams.size();
    for (uint64_t i = wt.start[w]; i < wt.start[w + 1]; i++) {
      const TermLoc& t = wt.terms[i];
      const uint8_t* b = base[t.m];
      if (!b) continue;
      uint64_t k[4];
      wt.coef(t, k);
      if ((k[0] | k[1] | k[2] | k[3]) == 0) continue;
      A p;
      memcpy(&p, b + (size_t)t.c * sizeof(A), sizeof(A));
      if (p.is_inf()) continue;
      const uint64_t key = ((uint64_t)t.m << 32) | t.c;
      uint64_t mag[4] = {k[0], k[1], k[2], k[3]};
      bool neg = false;
      if (!wasm_f1m::gte(half_r, k)) {  // k > (r - 1) / 2: use -(r - k)
        uint64_t rk[4];
        wasm_f1m::sub256(rk, FrParams::P, k);
        memcpy(mag, rk, 32);
        neg = true;
      }
      // the table holds the odd multiples up to the largest digit used (none beyond P for a power of two)
      int bits = bit_length(mag);
      if (GLV && bits > 128) {
        uint64_t k1[4], k2[4];
        bool n1, n2;
        glv_split(k, k1, n1, k2, n2);
        int l1 = wnaf_recode(k1, 5, d1), l2 = wnaf_recode(k2, 5, d2);
        uint32_t at = push_table(p, (std::max(max_digit(d1, l1), max_digit(d2, l2)) + 1) / 2, key);
        push_digits(d1, l1, n1, at, false);
        push_digits(d2, l2, n2, at, true);
        continue;
      }
      int wbits = bits <= 2 ? 2 : bits <= 10 ? 3 : bits <= 48 ? 4 : 5;
      int l = wnaf_recode(mag, wbits, d1);
      uint32_t at = push_table(p, (max_digit(d1, l) + 1) / 2, key);
      push_digits(d1, l, neg, at, false);
    }
  }
  first[w_hi - w_lo] = (uint32_t)streams.size();
  if (!jt.empty()) {
    std::vector<A> aff(jt.size());
    std::vector<F> scratch(jt.size());
    normalize_batch(jt.data(), aff.data(), jt.size(), scratch.data());
    for (size_t i = 0; i < jt.size(); i++) tab[jt_dst[i]] = aff[i];
  }
  std::vector<J> res(w_hi - w_lo);
  Fq beta = Glv::beta();
  for (size_t o = 0; o < w_hi - w_lo; o++) {
    uint32_t s0 = first[o], s1 = first[o + 1];
    int maxlen = 0;
    for (uint32_t s = s0; s < s1; s++) maxlen = std::max(maxlen, (int)streams[s].len);
    J r = J::inf();
    for (int j = maxlen - 1; j >= 0; j--) {
      if (!r.is_inf()) r = r.dbl();
      for (uint32_t s = s0; s < s1; s++) {
        const Stream& st = streams[s];
        if (j >= st.len) continue;
        int dj = digits[st.dig + j];
        if (!dj) continue;
        A a = tab[st.tab + ((dj < 0 ? -dj : dj) - 1) / 2];
        if constexpr (GLV) {
          if (st.phi) a.x = a.x * beta;
        }
        if (dj < 0) a = a.neg();
        r = r.add_mixed(a);
      }
    }
    res[o] = r;
  }
  std::vector<F> scratch(res.size());
  normalize_batch(res.data(), out, res.size(), scratch.data());
}

// One query section: the combinations of wires [w0, w1), written (LEM) and hashed (count, then uncompressed).
template <class F, bool GLV>
void write_lincomb_section(ZKeyWriter& out, Blake2b& hash, uint32_t id, const WireTerms& wt, const uint8_t* const base[3],
                           size_t w0, size_t w1, int threads) {
  typedef Affine<F> A;
  const size_t n = w1 - w0, usize = 2 * sizeof(F);
  uint8_t cnt[4] = {(uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n};
  hash.update(cnt, 4);
  out.begin(id);
  const size_t BLOCK = 1 << 16;
  std::vector<A> pts;
  std::vector<uint8_t> ubuf;
  for (size_t b = w0; b < w1; b += BLOCK) {
    size_t e = std::min(w1, b + BLOCK);
    // sub-ranges of about the same number of terms, taken by the threads in turn
    std::vector<size_t> cuts{b};
    uint64_t acc = 0;
    for (size_t w = b; w < e; w++) {
      acc += wt.start[w + 1] - wt.start[w];
      if (acc >= 2048 || w + 1 - cuts.back() >= 4096) { cuts.push_back(w + 1); acc = 0; }
    }
    if (cuts.back() != e) cuts.push_back(e);
    pts.resize(e - b);
    ubuf.resize((e - b) * usize);
    parallel_for(cuts.size() - 1, threads, [&](size_t i) {
      lincomb_range<F, GLV>(wt, base, cuts[i], cuts[i + 1], pts.data() + (cuts[i] - b));
      for (size_t w = cuts[i]; w < cuts[i + 1]; w++) to_u(pts[w - b], ubuf.data() + (w - b) * usize);
    });
    out.put(pts.data(), pts.size() * sizeof(A));
    hash.update(ubuf.data(), ubuf.size());
  }
  out.end();
}

struct ZKeyNewStats {
  uint32_t n_constraints = 0, n_vars = 0, n_public = 0, domain_size = 0, power = 0;
  uint8_t cs_hash[64];
};

inline ZKeyNewStats zkey_new(const std::string& r1cs_path, const std::string& ptau_path, const std::string& zkey_path,
                             int threads, bool timings) {
  Timer t;
  auto lap = [&](const char* what) {
    if (timings) fprintf(stderr, "zkey-new: %s at %.0f ms\n", what, t.ms());
  };
  ZKeyNewStats st;
  BinFile r1cs(r1cs_path, "r1cs", 1);
  BinFile ptau(ptau_path, "ptau", 1);
  const std::string &rp = r1cs.path(), &pp = ptau.path();

  Reader ph(ptau.section(1), pp + " header");
  if (ph.u32() != 32 || !bytes_eq_limbs(ph.bytes(32), FqParams::P)) throw Error(pp + ": not a BN254 (bn128) powers of tau");
  uint32_t power = ph.u32();
  ph.u32();  // ceremony power
  Reader h(r1cs.section(1), rp + " header");
  if (h.u32() != 32 || !bytes_eq_limbs(h.bytes(32), FrParams::P))
    throw Error(rp + ": the r1cs prime is not BN254's scalar field, which the powers of tau is for");
  uint32_t n_vars = h.u32(), n_out = h.u32(), n_pub_in = h.u32();
  h.u32();  // private inputs
  h.u64();  // labels
  uint32_t n_constraints = h.u32();
  if (r1cs.has(4) || r1cs.has(5)) throw Error(rp + ": custom gates are not supported by Groth16");
  uint32_t n_public = n_out + n_pub_in;
  if (n_vars < n_public + 1) throw Error(rp + ": fewer wires than public signals");
  // snarkjs: cirPower = log2(nConstraints + nPublic) + 1 (floor log2; the rows are the constraints and one per
  // public signal and the constant, so the domain must exceed nConstraints + nPublic)
  uint64_t rows = (uint64_t)n_constraints + n_public;
  int cir_power = 1;
  while (((uint64_t)1 << cir_power) <= rows) cir_power++;
  if ((uint32_t)cir_power > power)
    throw Error("circuit too big for this powers of tau: " + rp + " has " + std::to_string(n_constraints) +
                " constraints and " + std::to_string(n_public) + " public signals, which needs a domain of 2^" +
                std::to_string(cir_power) + ", but " + pp + " has power " + std::to_string(power) +
                " (2^" + std::to_string(power) + "): use a powers of tau of power " + std::to_string(cir_power) +
                " or more");
  if (!ptau.has(12))
    throw Error(pp + ": the powers of tau is not prepared for phase 2 (no Lagrange sections 12-15): run "
                     "`snarkjs powersoftau prepare phase2` on it, or use a prepared file (e.g. the Hermez/Polygon "
                     "ceremony's \"final\" files)");
  if (cir_power >= FR_TWO_ADICITY) throw Error(rp + ": domain 2^" + std::to_string(cir_power) + " is not supported");
  const size_t d = (size_t)1 << cir_power;
  st.n_constraints = n_constraints; st.n_vars = n_vars; st.n_public = n_public; st.domain_size = (uint32_t)d;
  st.power = power;

  // The ptau sections this key reads, sized and checked (canonical coordinates on the curve).
  auto need = [&](uint32_t id, uint64_t bytes) -> const Section& {
    const Section& s = ptau.section(id);
    if (s.size < bytes)
      throw Error(pp + ": section " + std::to_string(id) + " is too short for a domain of 2^" + std::to_string(cir_power) +
                  " (truncated or not a prepared ptau)");
    return s;
  };
  const Section& s_tau = need(2, (uint64_t)(2 * d - 1) * G1_BYTES);
  const Section& s_alpha = need(4, G1_BYTES);
  const Section& s_beta1 = need(5, G1_BYTES);
  const Section& s_beta2 = need(6, G2_BYTES);
  const Section& s12 = need(12, (uint64_t)(4 * d - 1) * G1_BYTES);
  const Section& s13 = need(13, (uint64_t)(2 * d - 1) * G2_BYTES);
  const Section& s14 = need(14, (uint64_t)(2 * d - 1) * G1_BYTES);
  const Section& s15 = need(15, (uint64_t)(2 * d - 1) * G1_BYTES);
  const uint8_t* lag_tau = s12.data + (d - 1) * G1_BYTES;
  const uint8_t* lag_tau2 = s13.data + (d - 1) * G2_BYTES;
  const uint8_t* lag_alpha = s14.data + (d - 1) * G1_BYTES;
  const uint8_t* lag_beta = s15.data + (d - 1) * G1_BYTES;
  const uint8_t* lag_h = s12.data + (2 * d - 1) * G1_BYTES;  // domain 2d
  const size_t n_tau = s_tau.size / G1_BYTES;
  auto check = [&](const uint8_t* p, size_t n, bool g2, uint32_t id, size_t first) {
    size_t sz = g2 ? G2_BYTES : G1_BYTES;
    std::atomic<size_t> bad(SIZE_MAX);
    parallel_ranges(n, threads, [&](size_t b, size_t e) {
      for (size_t i = b; i < e; i++)
        if (!(g2 ? valid_affine<G2Curve>(p + i * sz) : valid_affine<G1Curve>(p + i * sz))) {
          size_t cur = bad.load();
          while (i < cur && !bad.compare_exchange_weak(cur, i)) {}
          return;
        }
    });
    if (bad.load() != SIZE_MAX)
      throw Error(pp + ": section " + std::to_string(id) + " point " + std::to_string(first + bad.load()) +
                  " is not a valid curve point (corrupted file?)");
  };
  check(s_alpha.data, 1, false, 4, 0);
  check(s_beta1.data, 1, false, 5, 0);
  check(s_beta2.data, 1, true, 6, 0);
  check(lag_tau, d, false, 12, d - 1);
  check(lag_h, 2 * d, false, 12, 2 * d - 1);
  check(lag_tau2, d, true, 13, d - 1);
  check(lag_alpha, d, false, 14, d - 1);
  check(lag_beta, d, false, 15, d - 1);
  check(s_tau.data, std::min(2 * d, n_tau), false, 2, 0);
  lap("ptau checked");

  ZKeyWriter out(zkey_path + ".tmp");
  Blake2b hash;
  uint8_t u[128];
  // 1, 2: header
  out.begin(1); out.u32(1); out.end();
  out.begin(2);
  out.u32(32); out.put(FqParams::P, 32);
  out.u32(32); out.put(FrParams::P, 32);
  out.u32(n_vars); out.u32(n_public); out.u32((uint32_t)d);
  G1Affine g1 = g1_generator().to_affine();
  G2Affine g2 = g2_generator().to_affine();
  G1Affine a1, b1;
  G2Affine b2;
  memcpy(&a1, s_alpha.data, 64); memcpy(&b1, s_beta1.data, 64); memcpy(&b2, s_beta2.data, 128);
  out.put(&a1, 64); out.put(&b1, 64); out.put(&b2, 128);
  out.put(&g2, 128); out.put(&g1, 64); out.put(&g2, 128);
  out.end();
  g1_to_u(a1, u); hash.update(u, 64);
  g1_to_u(b1, u); hash.update(u, 64);
  g2_to_u(b2, u); hash.update(u, 128);
  g2_to_u(g2, u); hash.update(u, 128);
  g1_to_u(g1, u); hash.update(u, 64);
  g2_to_u(g2, u); hash.update(u, 128);

  // 4: coefficients (A and B terms in r1cs order, then the public rows), and the terms grouped by wire: a first
  // pass counts (terms per wire, section 4's length), the second fills the groups and writes the section
  WireTerms wt;
  wt.coefs = r1cs.section(2).data;
  wt.start.assign((size_t)n_vars + 2, 0);
  uint64_t n_ab = 0, n_terms = 0;
  {
    Reader cr(r1cs.section(2), rp + " constraints");
    for (uint32_t c = 0; c < n_constraints; c++)
      for (uint32_t m = 0; m < 3; m++) {
        uint32_t nt = cr.u32();
        for (uint32_t k = 0; k < nt; k++) {
          uint32_t s = cr.u32();
          if (s >= n_vars)
            throw Error(rp + ": constraint " + std::to_string(c) + " uses wire " + std::to_string(s) + " of " +
                        std::to_string(n_vars));
          cr.bytes(32);
          wt.start[(size_t)s + 2]++;
          if (m < 2) n_ab++;
        }
      }
    for (uint32_t s = 0; s <= n_public; s++) wt.start[(size_t)s + 2]++;
    n_ab += (uint64_t)n_public + 1;
  }
  if (n_ab > 0xffffffffULL) throw Error(rp + ": too many A and B terms for a .zkey");
  // start[s + 1] is the write cursor of wire s while filling, start[s] its first term afterwards
  for (size_t s = 2; s < wt.start.size(); s++) wt.start[s] += wt.start[s - 1];
  n_terms = wt.start.back();
  wt.terms.resize(n_terms);
  {
    Fr r2;
    for (int i = 0; i < 4; i++) r2.v[i] = FrParams::R2[i];
    std::vector<uint8_t> buf;
    buf.reserve(1 << 20);
    auto coef_entry = [&](uint32_t m, uint32_t c, uint32_t s, const uint64_t k[4]) {
      Fr v = Fr::from_raw(k) * r2;  // limbs: coef * R^2 mod r
      uint32_t hdr[3] = {m, c, s};
      size_t at = buf.size();
      buf.resize(at + 44);
      memcpy(buf.data() + at, hdr, 12);
      memcpy(buf.data() + at + 12, v.v, 32);
      if (buf.size() >= (1 << 20) - 44) { out.put(buf.data(), buf.size()); buf.clear(); }
    };
    out.begin(4);
    out.u32((uint32_t)n_ab);
    Reader cr(r1cs.section(2), rp + " constraints");
    for (uint32_t c = 0; c < n_constraints; c++)
      for (uint32_t m = 0; m < 3; m++) {
        uint32_t nt = cr.u32();
        for (uint32_t k = 0; k < nt; k++) {
          uint32_t s = cr.u32();
          TermLoc t{(uint64_t)(cr.p - wt.coefs), c, m};
          cr.bytes(32);
          wt.terms[wt.start[(size_t)s + 1]++] = t;
          if (m == 2) continue;
          uint64_t kk[4];
          wt.coef(t, kk);
          coef_entry(m, c, s, kk);
        }
      }
    const uint64_t one[4] = {1, 0, 0, 0};
    for (uint32_t s = 0; s <= n_public; s++) {
      wt.terms[wt.start[(size_t)s + 1]++] = TermLoc{COEF_ONE, n_constraints + s, 0};
      coef_entry(0, n_constraints + s, s, one);
    }
    out.put(buf.data(), buf.size());
    out.end();
  }
  wt.start.pop_back();
  lap("r1cs read, section 4 written");

  // 3: IC
  const uint8_t* base_ic[3] = {lag_beta, lag_alpha, lag_tau};
  write_lincomb_section<Fq, true>(out, hash, 3, wt, base_ic, 0, (size_t)n_public + 1, threads);
  lap("IC");
  // 9: H, copied; then hashed as snarkjs does (tau^(i+d) - tau^i from section 2)
  out.begin(9);
  {
    std::vector<uint8_t> buf(std::min<size_t>(d, 1 << 16) * G1_BYTES);
    for (size_t b = 0; b < d; b += 1 << 16) {
      size_t e = std::min(d, b + ((size_t)1 << 16));
      for (size_t i = b; i < e; i++) memcpy(buf.data() + (i - b) * G1_BYTES, lag_h + (2 * i + 1) * G1_BYTES, G1_BYTES);
      out.put(buf.data(), (e - b) * G1_BYTES);
    }
  }
  out.end();
  {
    const size_t CH = 1 << 14;
    size_t n_hash = 0;
    for (size_t i = 0; i < d - 1; i += CH) n_hash = i + std::min(d - 1, CH);
    uint32_t cnt = (uint32_t)(d - 1);
    uint8_t be[4] = {(uint8_t)(cnt >> 24), (uint8_t)(cnt >> 16), (uint8_t)(cnt >> 8), (uint8_t)cnt};
    hash.update(be, 4);
    const size_t tau_file = (size_t)(s_tau.data - ptau.base());
    std::vector<uint8_t> ubuf;
    for (size_t b = 0; b < n_hash; b += 1 << 16) {
      size_t e = std::min(n_hash, b + ((size_t)1 << 16));
      ubuf.resize((e - b) * 64);
      // points past the end of section 2 (at most the last one) are done after the threads, which must not throw
      size_t e_in = std::max(b, std::min(e, n_tau > d ? n_tau - d : 0));
      parallel_ranges(e_in - b, threads, [&](size_t lo, size_t hi) {
        std::vector<G1> jac(hi - lo);
        for (size_t i = b + lo; i < b + hi; i++) {
          G1Affine p, q;
          memcpy(&p, s_tau.data + (i + d) * G1_BYTES, 64);
          memcpy(&q, s_tau.data + i * G1_BYTES, 64);
          jac[i - b - lo] = G1::from_affine(p).add_mixed(q.neg());
        }
        std::vector<G1Affine> aff(jac.size());
        std::vector<Fq> scratch(jac.size());
        normalize_batch(jac.data(), aff.data(), jac.size(), scratch.data());
        for (size_t j = 0; j < jac.size(); j++) g1_to_u(aff[j], ubuf.data() + (lo + j) * 64);
      });
      for (size_t i = e_in; i < e; i++) {
        size_t at = tau_file + (i + d) * G1_BYTES;
        if (at + 64 > ptau.file_size()) throw Error(pp + ": the file ends before the tau powers snarkjs reads");
        G1Affine q;
        memcpy(&q, s_tau.data + i * G1_BYTES, 64);
        emulated_sub_affine_u(ptau.base() + at, q, ubuf.data() + (i - b) * 64);
      }
      hash.update(ubuf.data(), ubuf.size());
    }
  }
  lap("H");
  // 8: C (same bases as IC)
  write_lincomb_section<Fq, true>(out, hash, 8, wt, base_ic, (size_t)n_public + 1, n_vars, threads);
  lap("C");
  const uint8_t* base_a[3] = {lag_tau, nullptr, nullptr};
  write_lincomb_section<Fq, true>(out, hash, 5, wt, base_a, 0, n_vars, threads);
  lap("A");
  const uint8_t* base_b1[3] = {nullptr, lag_tau, nullptr};
  write_lincomb_section<Fq, true>(out, hash, 6, wt, base_b1, 0, n_vars, threads);
  lap("B1");
  const uint8_t* base_b2[3] = {nullptr, lag_tau2, nullptr};
  write_lincomb_section<Fq2, false>(out, hash, 7, wt, base_b2, 0, n_vars, threads);
  lap("B2");
  hash.final(st.cs_hash);
  out.begin(10);
  out.put(st.cs_hash, 64);
  out.u32(0);
  out.end();
  out.close();
  if (rename((zkey_path + ".tmp").c_str(), zkey_path.c_str()) != 0) throw Error("cannot rename to " + zkey_path);
  lap("written");
  return st;
}

}  // namespace ozk
