// ozk-prover: `prove` (snarkjs-compatible Groth16 proof from .zkey + .wtns) and `devsetup` (INSECURE dev .zkey).
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "ozk/devsetup.hpp"
#include "ozk/groth16.hpp"
#include "ozk/serve.hpp"

using namespace ozk;

static void usage() {
  fprintf(stderr,
          "usage:\n"
          "  ozk-prover prove <circuit.zkey> <witness.wtns> <proof.json> <public.json> [--threads N] [--timings]\n"
          "  ozk-prover serve <circuit.zkey> [--threads N]   (resident key; requests on stdin, see serve.hpp)\n"
          "  ozk-prover devsetup-UNSAFE <circuit.r1cs> <out.zkey> [--seed N] [--threads N]\n"
          "  ozk-prover version\n");
}

int main(int argc, char** argv) {
  std::vector<std::string> pos;
  int threads = default_threads();
  bool timings = false;
  uint64_t seed = 0x6f7a6b2d64657631ULL;  // "ozk-dev1"
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    if (a == "--threads" && i + 1 < argc) threads = std::max(1, atoi(argv[++i]));
    else if (a == "--timings") timings = true;
    else if (a == "--seed" && i + 1 < argc) seed = strtoull(argv[++i], nullptr, 0);
    else pos.push_back(a);
  }
  if (pos.empty()) { usage(); return 2; }
  try {
    if (pos[0] == "version") {
      printf("ozk-prover 0.1.0 (%s)\n",
#ifdef OZK_PORTABLE
             "portable"
#else
             "native"
#endif
      );
      return 0;
    }
    if (pos[0] == "prove" && pos.size() == 5) {
      Timer t;
      Witness wt(pos[2], threads);
      ZKey zk(pos[1], threads);
      double load = t.ms();
      ProveTimings tm;
      Proof pf = prove(zk, wt, threads, tm);
      write_proof_files(pf, pos[3], pos[4]);
      if (timings)
        fprintf(stderr, "ozk-prover: load+check %.0f ms, qap %.0f ms, ntt %.0f ms, msm %.0f ms (G2 %.0f ms), total %.0f ms (%d threads)\n",
                load, tm.qap, tm.ntt, tm.msm, tm.msm_g2, t.ms(), threads);
      return 0;
    }
    if (pos[0] == "serve" && pos.size() == 2) {
      Timer t;
      ZKey zk(pos[1], threads);
      zk.validate_all(threads);
      KeyTables tables(zk, threads);
      return serve_loop(zk, "cpu", t.ms(), stdin, stdout, [&](const Witness& wt) {
        ProveTimings tm;
        return prove(zk, wt, threads, tm, /*resident=*/true, &tables);
      }, threads);
    }
    if (pos[0] == "devsetup-UNSAFE" && pos.size() == 3) {
      fprintf(stderr, "WARNING: devsetup-UNSAFE: toxic waste is derived from a public seed; anyone can forge proofs "
                      "for this key. Never use it for anything of value.\n");
      DevSetupStats st = dev_setup(pos[1], pos[2], seed, threads, timings);
      printf("{\"constraints\":%u,\"vars\":%u,\"public\":%u,\"domainSize\":%u}\n", st.n_constraints, st.n_vars,
             st.n_public, st.domain_size);
      return 0;
    }
    usage();
    return 2;
  } catch (const std::exception& e) {
    fprintf(stderr, "ozk-prover: error: %s\n", e.what());
    return 1;
  }
}
