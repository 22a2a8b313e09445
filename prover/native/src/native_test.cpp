// ozk-native-test: C++ self-checks (`selftest`) and oracle commands the TypeScript tests compare with ffjavascript.
#include <array>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "ozk/devsetup.hpp"
#include "ozk/groth16.hpp"
#include "ozk/msm_plan.hpp"
#include "ozk/scale.hpp"
#include "ozk/serve.hpp"
#include "ozk/zkey_new.hpp"

using namespace ozk;

static int failures = 0;
#define CHECK(cond)                                                    \
  do {                                                                 \
    if (!(cond)) {                                                     \
      fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond); \
      failures++;                                                      \
    }                                                                  \
  } while (0)

static std::vector<uint8_t> read_all(const std::string& p) {
  std::ifstream f(p, std::ios::binary);
  if (!f) throw Error("cannot read " + p);
  return std::vector<uint8_t>((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

template <class P>
static Fp<P> parse(const std::string& s) {
  uint64_t raw[4];
  if (!dec_to_u256(s, raw) || Fp<P>::geq_p(raw)) throw Error("bad field element " + s);
  return Fp<P>::from_raw(raw);
}

static std::string g1_str(const G1& p) {
  if (p.is_inf()) return "inf";
  G1Affine a = p.to_affine();
  return fp_to_dec(a.x) + " " + fp_to_dec(a.y);
}
static std::string g2_str(const G2& p) {
  if (p.is_inf()) return "inf";
  G2Affine a = p.to_affine();
  return fp_to_dec(a.x.a) + " " + fp_to_dec(a.x.b) + " " + fp_to_dec(a.y.a) + " " + fp_to_dec(a.y.b);
}

// Lines "<F> <op> <a> [b]" with F in {q, r}; prints one result per line.
static int cmd_field() {
  std::string line;
  while (std::getline(std::cin, line)) {
    std::istringstream in(line);
    std::string f, op, a, b;
    in >> f >> op >> a >> b;
    std::string out;
    if (f == "q") {
      Fq x = parse<FqParams>(a), y = b.empty() ? Fq::zero() : parse<FqParams>(b);
      if (op == "mul") out = fp_to_dec(x * y);
      else if (op == "add") out = fp_to_dec(x + y);
      else if (op == "sub") out = fp_to_dec(x - y);
      else if (op == "inv") out = fp_to_dec(x.inv());
      else if (op == "sqrt") { Fq s; out = fq_sqrt(x, s) ? fp_to_dec(s) : "none"; }
    } else {
      Fr x = parse<FrParams>(a), y = b.empty() ? Fr::zero() : parse<FrParams>(b);
      if (op == "mul") out = fp_to_dec(x * y);
      else if (op == "add") out = fp_to_dec(x + y);
      else if (op == "sub") out = fp_to_dec(x - y);
      else if (op == "inv") out = fp_to_dec(x.inv());
    }
    if (out.empty()) throw Error("bad field command: " + line);
    printf("%s\n", out.c_str());
  }
  return 0;
}

template <class F>
static int cmd_msm(const std::string& pts, const std::string& sc, bool g2) {
  std::vector<uint8_t> p = read_all(pts), s = read_all(sc);
  size_t n = s.size() / 32;
  if (p.size() != n * sizeof(Affine<F>)) throw Error("points/scalars length mismatch");
  int threads = default_threads();
  if (const char* t = getenv("OZK_THREADS")) threads = atoi(t);
  Jacobian<F> r = msm<F>(p.data(), s.data(), n, threads);
  if constexpr (sizeof(F) == sizeof(Fq)) printf("%s\n", g1_str(r).c_str());
  else printf("%s\n", g2_str(r).c_str());
  (void)g2;
  return 0;
}

// Points P0, P1, ... (LEM affine G1): prints, for each consecutive pair, P+Q (Jacobian), P+Q (mixed), 2P.
static int cmd_g1ops(const std::string& pts) {
  std::vector<uint8_t> p = read_all(pts);
  size_t n = p.size() / sizeof(G1Affine);
  for (size_t i = 0; i + 1 < n; i += 2) {
    G1Affine a, b;
    memcpy(&a, p.data() + i * 64, 64);
    memcpy(&b, p.data() + (i + 1) * 64, 64);
    G1 ja = G1::from_affine(a), jb = G1::from_affine(b);
    printf("%s|%s|%s\n", g1_str(ja + jb).c_str(), g1_str(ja.add_mixed(b)).c_str(), g1_str(ja.dbl()).c_str());
  }
  return 0;
}

static int cmd_g2ops(const std::string& pts) {
  std::vector<uint8_t> p = read_all(pts);
  size_t n = p.size() / sizeof(G2Affine);
  for (size_t i = 0; i + 1 < n; i += 2) {
    G2Affine a, b;
    memcpy(&a, p.data() + i * 128, 128);
    memcpy(&b, p.data() + (i + 1) * 128, 128);
    G2 ja = G2::from_affine(a), jb = G2::from_affine(b);
    printf("%s|%s|%s\n", g2_str(ja + jb).c_str(), g2_str(ja.add_mixed(b)).c_str(), g2_str(ja.dbl()).c_str());
  }
  return 0;
}

// Montgomery-form Fr elements in, transformed elements out (same layout as ffjavascript Fr buffers).
static int cmd_ntt(const std::string& in, const std::string& out, bool inverse) {
  std::vector<uint8_t> d = read_all(in);
  size_t n = d.size() / 32;
  int logn = log2_exact(n);
  if (logn < 0) throw Error("ntt size must be a power of two");
  std::vector<Fr> a(n);
  memcpy(a.data(), d.data(), d.size());
  int threads = default_threads();
  if (inverse) intt_inplace(a.data(), logn, ntt_twiddles(logn, true, threads), threads);
  else ntt_inplace(a.data(), logn, ntt_twiddles(logn, false, threads), threads);
  std::ofstream f(out, std::ios::binary);
  f.write((const char*)a.data(), n * 32);
  return 0;
}

// A point on the G2 twist outside the order-r subgroup: the smallest x = 2, 3, ... with x^3 + b a square.
static G2Affine g2_point_outside_subgroup() {
  Fq2 x = Fq2::one();
  G2Affine p;
  for (int i = 0; i < 1000; i++) {
    x = x + Fq2::one();
    if (fq2_sqrt(x.sqr() * x + G2Curve::b(), p.y)) {
      p.x = x;
      if (!in_g2_subgroup(p)) return p;
    }
  }
  throw Error("no twist point outside G2 found");
}

// Prints that point in the .zkey layout (LEM, Montgomery) as hex, for corrupted-key tests.
static int cmd_g2_outside() {
  G2Affine p = g2_point_outside_subgroup();
  const uint8_t* b = (const uint8_t*)&p;
  for (size_t i = 0; i < sizeof p; i++) printf("%02x", b[i]);
  printf("\n");
  return 0;
}

// A whole proof made with the GPU's steps run on the CPU (quotient_plan_cpu, msm_plan_cpu); the quotient is also
// compared with the CPU prover's. The TypeScript tests verify the proof with snarkjs.
static int cmd_plan_prove(const std::string& zkey, const std::string& wtns, const std::string& proof, const std::string& pub) {
  int threads = default_threads();
  ZKey zk(zkey, threads);
  zk.validate_all(threads);
  Witness wt(wtns, threads);
  check_witness_fits(zk, wt);
  std::vector<Fr> a, b, c;  // the GPU's row-wise QAP evaluation (the CPU quotient below streams the section)
  QapRows rows(zk.coefs.data, zk.n_coefs, zk.domain_size);
  rows.evaluate(wt.values.data, zk.domain_size, a, b, c, threads);
  int logn = zk.log_domain;
  std::vector<Fr> h = quotient_plan_cpu(a, b, c, logn, ntt_twiddles(logn, false, threads), ntt_twiddles(logn, true, threads),
                                        coset_scale_table(logn, threads));
  ProveTimings tm;
  std::vector<Fr> want = quotient_scalars(zk, wt, threads, tm);
  if (memcmp(want.data(), h.data(), h.size() * 32) != 0) throw Error("plan quotient differs from the CPU quotient");
  const uint8_t* w = wt.values.data;
  size_t off = (size_t)zk.n_public + 1;
  ProofParts parts;
  parts.a = msm_plan_cpu<Fq>(zk.A.data, w, zk.n_vars, threads);
  parts.b1 = msm_plan_cpu<Fq>(zk.B1.data, w, zk.n_vars, threads);
  parts.b = msm_plan_cpu<Fq2>(zk.B2.data, w, zk.n_vars, threads);
  parts.c = msm_plan_cpu<Fq>(zk.C.data, w + off * FR_BYTES, zk.n_vars - off, threads);
  parts.h = msm_plan_cpu<Fq>(zk.H.data, (const uint8_t*)h.data(), zk.domain_size, threads);
  write_proof_files(assemble_proof(zk, wt, parts), proof, pub);
  return 0;
}

// ---- self-contained checks -------------------------------------------------------------------------------------

static uint64_t rng_state = 0x1234567;
static Fr rand_fr() {
  SeedStream s{rng_state++ * 0x9e3779b97f4a7c15ULL};
  return s.fr();
}

static int cmd_selftest() {
  // field
  for (int i = 0; i < 200; i++) {
    Fr a = rand_fr(), b = rand_fr(), c = rand_fr();
    CHECK(a * b == b * a);
    CHECK((a + b) * c == a * c + b * c);
    CHECK(a - a == Fr::zero());
    CHECK(a * a.inv() == Fr::one());
    CHECK((a - b) + b == a);
    CHECK(a.neg() + a == Fr::zero());
    uint64_t raw[4];
    a.to_raw(raw);
    CHECK(Fr::from_raw(raw) == a);
    Fq x = Fq::from_raw(raw);
    Fq s;
    CHECK(fq_sqrt(x.sqr(), s) && (s == x || s == x.neg()));
  }
  CHECK(Fr::zero().inv() == Fr::zero());
  // Fq2 inverse and Karatsuba vs schoolbook
  for (int i = 0; i < 50; i++) {
    uint64_t r1[4], r2[4];
    rand_fr().to_raw(r1);
    rand_fr().to_raw(r2);
    Fq2 z; z.a = Fq::from_raw(r1); z.b = Fq::from_raw(r2);
    CHECK(z * z.inv() == Fq2::one());
    CHECK(z.sqr() == z * z);
  }
  // roots of unity: w_k has order exactly 2^k
  for (int k = 1; k <= 28; k++) {
    Fr w = fr_root_of_unity(k);
    for (int i = 0; i < k - 1; i++) w = w.sqr();
    CHECK(w == Fr::one().neg());
  }
  // groups: generators on curve, of order r, group laws incl. infinity
  G1 g1 = g1_generator();
  G2 g2 = g2_generator();
  CHECK(on_curve<G1Curve>(g1.to_affine()));
  CHECK(on_curve<G2Curve>(g2.to_affine()));
  CHECK(g1.mul(FrParams::P).is_inf());
  {
    Fq2 nine_i; nine_i.a = Fq::from_u64(9); nine_i.b = Fq::one();
    Fq2 three; three.a = Fq::from_u64(3); three.b = Fq::zero();
    CHECK(G2Curve::b() == three * nine_i.inv());
    CHECK(G1Curve::b() == Fq::from_u64(3));
  }
  CHECK(g2.mul(FrParams::P).is_inf());
  G1 p = g1.mul(rand_fr().v), q = g1.mul(rand_fr().v);
  CHECK((p + q).eq(q + p));
  CHECK((p + p).eq(p.dbl()));
  CHECK((p + p.neg()).is_inf());
  CHECK((p + G1::inf()).eq(p) && (G1::inf() + p).eq(p));
  CHECK(G1::inf().dbl().is_inf());
  CHECK(p.add_mixed(G1Affine::inf()).eq(p));
  CHECK(G1::inf().add_mixed(p.to_affine()).eq(p));
  CHECK(p.add_mixed(p.to_affine()).eq(p.dbl()));
  CHECK(p.add_mixed(p.neg().to_affine()).is_inf());
  CHECK(((p + q) + g1).eq(p + (q + g1)));
  G2 p2 = g2.mul(rand_fr().v);
  CHECK((p2 + p2).eq(p2.dbl()));
  CHECK(p2.add_mixed(p2.to_affine()).eq(p2.dbl()));
  CHECK((p2 + p2.neg()).is_inf());
  // scalar distributivity: (a+b)G == aG + bG
  {
    Fr a = rand_fr(), b = rand_fr();
    uint64_t ra[4], rb[4], rab[4];
    a.to_raw(ra); b.to_raw(rb); (a + b).to_raw(rab);
    CHECK(g1.mul(rab).eq(g1.mul(ra) + g1.mul(rb)));
    CHECK(g2.mul(rab).eq(g2.mul(ra) + g2.mul(rb)));
  }
  // secret-scalar multiplication: odd base-16 recoding recomposes k, mul_secret == mul, including k = 0, 1, 2,
  // r - 1 and even k (computed as -(r - k))
  {
    std::vector<Fr> ks = {Fr::zero(), Fr::one(), Fr::from_u64(2), Fr::one().neg(), Fr::from_u64(16), Fr::from_u64(15)};
    for (int i = 0; i < 40; i++) ks.push_back(rand_fr());
    for (const Fr& k : ks) {
      uint64_t raw[4];
      k.to_raw(raw);
      CHECK(mul_secret(g1, raw).eq(g1.mul(raw)));
      CHECK(mul_secret(g2, raw).eq(g2.mul(raw)));
      if (raw[0] & 1) {
        int8_t d[64];
        recode_odd_base16(raw, d);
        Fr acc = Fr::zero(), pw = Fr::one(), sixteen = Fr::from_u64(16);
        bool odd = true;
        for (int j = 0; j < 64; j++) {
          odd = odd && (d[j] & 1) && d[j] >= -15 && d[j] <= 15;
          Fr df = Fr::from_u64((uint64_t)(d[j] < 0 ? -d[j] : d[j]));
          acc = acc + (d[j] < 0 ? (df * pw).neg() : df * pw);
          pw = pw * sixteen;
        }
        CHECK(odd && d[63] > 0);
        CHECK(acc == k);
      }
    }
  }
  // G2 subgroup: the generator's multiples are in it; a twist point of the wrong order is not
  {
    CHECK(in_g2_subgroup(g2.mul(rand_fr().v).to_affine()));
    CHECK(in_g2_subgroup(G2Affine::inf()));
    G2Affine p = g2_point_outside_subgroup();
    CHECK(on_curve<G2Curve>(p) && !in_g2_subgroup(p));
  }
  // booth digits recompose the scalar
  for (int c = 2; c <= 18; c++) {
    Fr a = rand_fr();
    uint64_t raw[4];
    a.to_raw(raw);
    Fr acc = Fr::zero(), pw = Fr::one(), two_c = Fr::from_u64(1ULL << c);
    for (int w = 0; w < msm_windows(c); w++) {
      int32_t d = booth_digit(raw, w, c);
      CHECK(d >= -(1 << (c - 1)) && d <= (1 << (c - 1)));
      Fr df = Fr::from_u64((uint64_t)(d < 0 ? -d : d));
      acc = acc + (d < 0 ? (df * pw).neg() : df * pw);
      pw = pw * two_c;
    }
    CHECK(acc == a);
  }
  // MSM vs naive sum, with zero scalars, scalars >= r, repeated points, infinity and P/-P pairs
  for (size_t n : {1u, 2u, 7u, 64u, 300u, 5000u}) {
    std::vector<G1Affine> pts(n);
    std::vector<uint64_t> sc(4 * n);
    for (size_t i = 0; i < n; i++) {
      pts[i] = g1.mul(rand_fr().v).to_affine();
      rand_fr().to_raw(&sc[4 * i]);
      switch (i % 11) {
        case 1: sc[4 * i] = sc[4 * i + 1] = sc[4 * i + 2] = sc[4 * i + 3] = 0; break;
        case 2: pts[i] = G1Affine::inf(); break;
        case 3: if (i > 0) pts[i] = pts[i - 1]; break;
        case 4: if (i > 0) pts[i] = pts[i - 1].neg(); break;
        case 5: {  // s + r (still < 2^256)
          uint64_t carry = 0;
          for (int k = 0; k < 4; k++) {
            u128 t = (u128)sc[4 * i + k] + FrParams::P[k] + carry;
            sc[4 * i + k] = (uint64_t)t;
            carry = (uint64_t)(t >> 64);
          }
          break;
        }
        case 6: sc[4 * i] = 1; sc[4 * i + 1] = sc[4 * i + 2] = sc[4 * i + 3] = 0; break;
        case 7: for (int k = 0; k < 4; k++) sc[4 * i + k] = FrParams::P[k]; sc[4 * i] -= 1; break;  // r - 1
      }
    }
    G1 naive = G1::inf();
    for (size_t i = 0; i < n; i++) naive = naive + G1::from_affine(pts[i]).mul(&sc[4 * i]);
    for (int t : {1, 3}) {
      G1 fast = msm<Fq>((const uint8_t*)pts.data(), (const uint8_t*)sc.data(), n, t);
      CHECK(fast.eq(naive));
    }
  }
  // the GPU's MSM steps (run on the CPU) equal the CPU MSM, for scalar mixes that load buckets unevenly: all
  // ones (one bucket holds every point), all equal, mostly zero, small values, random with infinity points
  for (size_t n : {1u, 5u, 300u, 5000u, 20000u}) {
    std::vector<G1Affine> pts(n);
    std::vector<G2Affine> pts2(std::min<size_t>(n, 300));
    for (size_t i = 0; i < n; i++) pts[i] = i % 97 == 3 ? G1Affine::inf() : g1.mul(rand_fr().v).to_affine();
    for (size_t i = 0; i < pts2.size(); i++) pts2[i] = g2.mul(rand_fr().v).to_affine();
    Fr same = rand_fr();
    for (int mix = 0; mix < 5; mix++) {
      std::vector<uint64_t> sc(4 * n, 0);
      for (size_t i = 0; i < n; i++) {
        uint64_t* k = &sc[4 * i];
        if (mix == 0) k[0] = 1;
        else if (mix == 1) same.to_raw(k);
        else if (mix == 2) { if (i % 10 == 0) rand_fr().to_raw(k); }
        else if (mix == 3) k[0] = (rand_fr().v[0] % 1024);
        else rand_fr().to_raw(k);
      }
      const uint8_t* s8 = (const uint8_t*)sc.data();
      CHECK(msm_plan_cpu<Fq>((const uint8_t*)pts.data(), s8, n, 2).eq(msm<Fq>((const uint8_t*)pts.data(), s8, n, 2)));
      size_t n2 = pts2.size();
      CHECK(msm_plan_cpu<Fq2>((const uint8_t*)pts2.data(), s8, n2, 2).eq(msm<Fq2>((const uint8_t*)pts2.data(), s8, n2, 2)));
    }
  }
  CHECK(plan_chunk_len(0) == 16 && plan_chunk_len(256) == 16 && plan_chunk_len(257) == 32 && plan_chunk_len(1u << 22) == 2048);
  CHECK(plan_key_bits(1) == 1 && plan_key_bits(16384) == 15 && plan_key_bits(16383) == 14);
  // the GPU's NTT steps and its quotient pipeline equal the CPU's
  for (int logn : {1, 4, 10, 11, 12, 15, 16}) {
    size_t n = (size_t)1 << logn;
    std::vector<Fr> a(n), b(n), c(n);
    for (size_t i = 0; i < n; i++) { a[i] = rand_fr(); b[i] = rand_fr(); c[i] = a[i] * b[i]; }
    std::vector<Fr> tw = ntt_twiddles(logn, false, 2), twi = ntt_twiddles(logn, true, 2);
    std::vector<Fr> x = a, y = a;
    ntt_inplace(x.data(), logn, tw, 2);
    ntt_plan_cpu(y.data(), logn, tw.data());
    CHECK(x == y);
    for (uint32_t i = 0; i < n; i++) CHECK(bit_reverse_index(bit_reverse_index(i, logn), logn) == i);
    // quotient: the CPU's intt -> coset -> ntt against the plan with the folded g^i / n table
    std::vector<Fr> h = quotient_plan_cpu(a, b, c, logn, tw, twi, coset_scale_table(logn, 2));
    Fr g = fr_root_of_unity(logn + 1);
    std::vector<Fr> ev[3] = {a, b, c};
    for (auto& v : ev) {
      intt_inplace(v.data(), logn, twi, 2);
      Fr xg = Fr::one();
      for (size_t i = 0; i < n; i++) { v[i] = v[i] * xg; xg = xg * g; }
      ntt_inplace(v.data(), logn, tw, 2);
    }
    for (size_t i = 0; i < n; i++) {
      uint64_t want[4];
      (ev[0][i] * ev[1][i] - ev[2][i]).to_raw(want);
      CHECK(memcmp(want, h[i].v, 32) == 0);
    }
  }
  // split bucket reduction (the GPU's) equals the serial running sum
  {
    std::vector<G1> buckets(1000);
    for (size_t i = 0; i < buckets.size(); i++) buckets[i] = i % 13 == 5 ? G1::inf() : g1.mul(rand_fr().v);
    G1 serial = reduce_buckets(buckets.data(), buckets.size());
    G1 split = G1::inf();
    for (uint32_t lo = 0; lo < 1000; lo += 96) {
      uint32_t hi = std::min<uint32_t>(1000, lo + 96);
      G1 S, T;
      bucket_range_sums(buckets.data(), lo, hi, S, T);
      split = split + T + mul_small(S, lo);
    }
    CHECK(split.eq(serial));
  }
  // NTT: round trip and agreement with a naive DFT
  for (int logn : {1, 3, 6, 13}) {
    size_t n = (size_t)1 << logn;
    std::vector<Fr> a(n), b;
    for (auto& x : a) x = rand_fr();
    b = a;
    ntt_inplace(b.data(), logn, ntt_twiddles(logn, false, 2), 2);
    if (logn <= 6) {
      Fr w = fr_root_of_unity(logn);
      for (size_t k = 0; k < n; k++) {
        uint64_t e[4] = {k, 0, 0, 0};
        Fr wk = w.pow(e), x = Fr::one(), acc = Fr::zero();
        for (size_t j = 0; j < n; j++) { acc = acc + a[j] * x; x = x * wk; }
        CHECK(acc == b[k]);
      }
    }
    intt_inplace(b.data(), logn, ntt_twiddles(logn, true, 2), 2);
    CHECK(a == b);
  }
  // shared-scalar batch scaling (a phase-2 contribution) against one double-and-add per point
  {
    const size_t n = 1100;  // more than two batches of 512 and a partial one
    std::vector<G1Affine> pts(n);
    for (size_t i = 0; i < n; i++) pts[i] = i % 97 == 3 ? G1Affine::inf() : g1.mul(rand_fr().v).to_affine();
    pts[5] = pts[6];  // a repeated point
    const uint64_t small[4] = {1, 0, 0, 0}, r_minus_1[4] = {FrParams::P[0] - 1, FrParams::P[1], FrParams::P[2], FrParams::P[3]};
    std::vector<const uint64_t*> ks = {small, r_minus_1};
    Fr k_rand = rand_fr();
    uint64_t kr[4];
    memcpy(kr, k_rand.v, 32);  // any bits below r will do
    ks.push_back(kr);
    for (int threads : {1, 3})
      for (const uint64_t* k : ks) {
        std::vector<uint8_t> raw(n * 64);
        memcpy(raw.data(), pts.data(), n * 64);
        scale_g1_bytes(raw.data(), n, k, threads);
        for (size_t i = 0; i < n; i++) {
          G1Affine got;
          memcpy(&got, raw.data() + i * 64, 64);
          G1Affine want = G1::from_affine(pts[i]).mul(k).to_affine();
          CHECK(got.x == want.x && got.y == want.y);
        }
      }
    // GLV: phi(G) = lambda G, the basis is in the lattice with determinant r, and the split rebuilds k with short halves
    {
      uint64_t lam[4];
      CHECK(dec_to_u256("21888242871839275217838484774961031246154997185409878258781734729429964517155", lam));
      G1Affine ga = g1.to_affine(), la = g1.mul(lam).to_affine();
      CHECK(la.x == ga.x * Glv::beta() && la.y == ga.y);
      uint64_t det[4], t[4];
      const uint64_t gg[1] = {Glv::G};
      mul_trunc4(Glv::A1, 2, Glv::A2, 2, det);
      mul_trunc4(gg, 1, gg, 1, t);
      add4(det, t);
      CHECK(memcmp(det, FrParams::P, 32) == 0);
      Fr lambda = Fr::from_raw(lam);
      std::vector<std::array<uint64_t, 4>> ks_glv = {{0, 0, 0, 0}, {1, 0, 0, 0}, {FrParams::P[0] - 1, FrParams::P[1], FrParams::P[2], FrParams::P[3]}};
      for (int i = 0; i < 200; i++) {
        Fr x = rand_fr();
        ks_glv.push_back({x.v[0], x.v[1], x.v[2], x.v[3]});
      }
      for (auto& k : ks_glv) {
        uint64_t k1[4], k2[4];
        bool n1, n2;
        glv_split(k.data(), k1, n1, k2, n2);
        CHECK(k1[2] == 0 && k1[3] == 0 && k2[2] == 0 && k2[3] == 0);  // both halves below 2^128
        Fr a = Fr::from_raw(k1), b = Fr::from_raw(k2);
        if (n1) a = a.neg();
        if (n2) b = b.neg();
        CHECK(a + lambda * b == Fr::from_raw(k.data()));
      }
    }
    // width-5 NAF digits rebuild the scalar
    for (int t = 0; t < 50; t++) {
      Fr k = rand_fr();
      int8_t d[260];
      int nd = wnaf_recode(k.v, SCALE_WNAF_W, d);
      Fr acc = Fr::zero(), two = Fr::from_u64(2);
      bool shape = true;
      for (int j = nd - 1; j >= 0; j--) {
        acc = acc * two;
        if (d[j] > 0) acc = acc + Fr::from_u64((uint64_t)d[j]);
        if (d[j] < 0) acc = acc - Fr::from_u64((uint64_t)-d[j]);
        if (d[j] != 0 && ((d[j] & 1) == 0 || d[j] > 15 || d[j] < -15)) shape = false;
      }
      uint64_t raw_k[4];
      memcpy(raw_k, k.v, 32);
      CHECK(acc == Fr::from_raw(raw_k) && shape);
    }
  }
  if (failures) {
    fprintf(stderr, "selftest: %d failures\n", failures);
    return 1;
  }
  printf("selftest: ok\n");
  return 0;
}

// Synthetic benchmark of the contribution's point scaling: 2^logn pseudo-random G1 points times a random scalar.
static int cmd_scale_bench(int logn, int threads) {
  const size_t n = (size_t)1 << logn;
  G1 g1 = g1_generator();
  // distinct points cheaply: a few random multiples, then a running sum (normalized in one pass)
  std::vector<G1> jac(n);
  G1 step = g1.mul(rand_fr().v), cur = g1.mul(rand_fr().v);
  for (size_t i = 0; i < n; i++) { jac[i] = cur; cur = cur + step; }
  std::vector<uint8_t> raw(n * 64);
  std::vector<Fq> scratch(n);
  normalize_batch(jac.data(), reinterpret_cast<G1Affine*>(raw.data()), n, scratch.data());
  jac.clear();
  jac.shrink_to_fit();
  Fr k = rand_fr();
  Timer t;
  scale_g1_bytes(raw.data(), n, k.v, threads);
  double ms = t.ms();
  printf("{\"points\":%zu,\"threads\":%d,\"ms\":%.0f}\n", n, threads, ms);
  return 0;
}

static std::string to_hex(const uint8_t* b, size_t n) {
  std::string s;
  for (size_t i = 0; i < n; i++) { char h[3]; snprintf(h, sizeof h, "%02x", b[i]); s += h; }
  return s;
}
static std::vector<uint8_t> from_hex(const std::string& h) {
  if (h.size() % 2) throw Error("odd hex length");
  std::vector<uint8_t> out(h.size() / 2);
  for (size_t i = 0; i < out.size(); i++) out[i] = (uint8_t)std::stoul(h.substr(2 * i, 2), nullptr, 16);
  return out;
}

// blake2b-512 of a file, hex.
static int cmd_blake2b(const std::string& path) {
  std::vector<uint8_t> d = read_all(path);
  Blake2b h;
  // fed in uneven pieces, as a stream would be
  size_t at = 0, step = 1;
  while (at < d.size()) {
    size_t k = std::min(step, d.size() - at);
    h.update(d.data() + at, k);
    at += k;
    step = step * 3 + 1;
  }
  uint8_t out[64];
  h.final(out);
  printf("%s\n", to_hex(out, 64).c_str());
  return 0;
}

// Lines "<64 bytes raw><64 bytes LEM point q>" (hex): the uncompressed bytes snarkjs's wasm gives for raw - q
// (zkey_new.hpp emulated_sub_affine_u), hex.
static int cmd_sub_affine_u() {
  std::string line;
  while (std::getline(std::cin, line)) {
    std::vector<uint8_t> b = from_hex(line);
    if (b.size() != 128) throw Error("sub-affine-u: expected 128 bytes");
    G1Affine q;
    memcpy(&q, b.data() + 64, 64);
    uint8_t out[64];
    emulated_sub_affine_u(b.data(), q, out);
    printf("%s\n", to_hex(out, 64).c_str());
  }
  return 0;
}

int main(int argc, char** argv) {
  std::vector<std::string> a(argv + 1, argv + argc);
  try {
    if (a.size() == 1 && a[0] == "selftest") return cmd_selftest();
    if (a.size() == 1 && a[0] == "field") return cmd_field();
    if (a.size() == 2 && a[0] == "blake2b") return cmd_blake2b(a[1]);
    if (a.size() == 1 && a[0] == "sub-affine-u") return cmd_sub_affine_u();
    if (a.size() == 3 && a[0] == "msm-g1") return cmd_msm<Fq>(a[1], a[2], false);
    if (a.size() == 3 && a[0] == "msm-g2") return cmd_msm<Fq2>(a[1], a[2], true);
    if (a.size() == 2 && a[0] == "g1-ops") return cmd_g1ops(a[1]);
    if (a.size() == 2 && a[0] == "g2-ops") return cmd_g2ops(a[1]);
    if (a.size() == 3 && a[0] == "ntt") return cmd_ntt(a[1], a[2], false);
    if (a.size() == 3 && a[0] == "intt") return cmd_ntt(a[1], a[2], true);
    if (a.size() == 1 && a[0] == "g2-outside-subgroup") return cmd_g2_outside();
    if (a.size() == 3 && a[0] == "scale-bench") return cmd_scale_bench(std::stoi(a[1]), std::stoi(a[2]));
    if (a.size() == 5 && a[0] == "plan-prove") return cmd_plan_prove(a[1], a[2], a[3], a[4]);
  } catch (const std::exception& e) {
    fprintf(stderr, "ozk-native-test: error: %s\n", e.what());
    return 1;
  }
  fprintf(stderr, "usage: ozk-native-test selftest | field | msm-g1 P S | msm-g2 P S | g1-ops P | g2-ops P | ntt IN OUT | intt IN OUT | plan-prove ZKEY WTNS PROOF PUBLIC | g2-outside-subgroup | scale-bench LOGN THREADS\n");
  return 2;
}
