// ozk-prover: `prove` (snarkjs-compatible Groth16 proof from .zkey + .wtns), `devsetup` (INSECURE dev .zkey),
// `zkey-new` (the initial phase-2 key, byte for byte snarkjs's newZKey), `scale-g1` (the point scaling of a
// phase-2 contribution, see prover/setup/contribute.ts) and `ptau-dev` (an INSECURE prepared powers of tau).
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <iostream>
#include <cstdlib>
#include <string>
#include <vector>

#include "ozk/devsetup.hpp"
#include "ozk/groth16.hpp"
#include "ozk/scale.hpp"
#include "ozk/ptau_dev.hpp"
#include "ozk/serve.hpp"
#include "ozk/zkey_new.hpp"

using namespace ozk;

// Multiplies every G1 point of the given sections of a .zkey by one scalar, in place (the file is mapped shared
// and written back). The scalar is a decimal integer below r read from stdin, not from the command line, because
// in a contribution it is the secret delta^-1 and a command line is visible to every local user.
static void scale_sections(const std::string& path, const std::vector<uint32_t>& ids, int threads, bool timings) {
  std::string line;
  if (!std::getline(std::cin, line)) throw Error("scale-g1: expected the scalar (decimal) on stdin");
  uint64_t k[4];
  if (!dec_to_u256(line, k) || Fr::geq_p(k)) throw Error("scale-g1: the scalar must be a decimal integer below r");
  std::fill(line.begin(), line.end(), '0');
  int fd = open(path.c_str(), O_RDWR);
  if (fd < 0) throw Error("cannot open " + path + ": " + strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0) { close(fd); throw Error("cannot stat " + path); }
  size_t size = (size_t)st.st_size;
  void* m = size >= 12 ? mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) : MAP_FAILED;
  close(fd);
  if (m == MAP_FAILED) throw Error("cannot map " + path + " for writing");
  uint8_t* base = (uint8_t*)m;
  try {
    if (memcmp(base, "zkey", 4) != 0) throw Error(path + ": not a .zkey file (bad magic)");
    uint32_t nsec;
    memcpy(&nsec, base + 8, 4);
    size_t pos = 12;
    std::vector<std::pair<uint8_t*, uint64_t>> todo(ids.size());
    std::vector<bool> seen(ids.size(), false);
    for (uint32_t i = 0; i < nsec; i++) {
      if (pos + 12 > size) throw Error(path + ": truncated section table");
      uint32_t type;
      uint64_t len;
      memcpy(&type, base + pos, 4);
      memcpy(&len, base + pos + 4, 8);
      pos += 12;
      if (len > size - pos) throw Error(path + ": section " + std::to_string(type) + " runs past the end of the file");
      for (size_t j = 0; j < ids.size(); j++)
        if (ids[j] == type) {
          if (seen[j]) throw Error(path + ": section " + std::to_string(type) + " appears twice");
          seen[j] = true;
          todo[j] = {base + pos, len};
        }
      pos += len;
    }
    for (size_t j = 0; j < ids.size(); j++) {
      if (!seen[j]) throw Error(path + ": missing section " + std::to_string(ids[j]));
      if (todo[j].second % 64 != 0) throw Error(path + ": section " + std::to_string(ids[j]) + " is not a list of G1 points");
    }
    for (size_t j = 0; j < ids.size(); j++) {
      Timer t;
      size_t n = todo[j].second / 64;
      scale_g1_bytes(todo[j].first, n, k, threads);
      if (timings) fprintf(stderr, "ozk-prover: section %u: %zu points in %.0f ms (%d threads)\n", ids[j], n, t.ms(), threads);
    }
    if (msync(base, size, MS_SYNC) != 0) throw Error("cannot write " + path + " back");
  } catch (...) {
    munmap(m, size);
    memset(k, 0, sizeof k);
    throw;
  }
  munmap(m, size);
  memset(k, 0, sizeof k);
}

static void usage() {
  fprintf(stderr,
          "usage:\n"
          "  ozk-prover prove <circuit.zkey> <witness.wtns> <proof.json> <public.json> [--threads N] [--timings]\n"
          "  ozk-prover serve <circuit.zkey> [--threads N]   (resident key; requests on stdin, see serve.hpp)\n"
          "  ozk-prover devsetup-UNSAFE <circuit.r1cs> <out.zkey> [--seed N] [--threads N]\n"
          "  ozk-prover zkey-new <circuit.r1cs> <pot.ptau> <out.zkey> [--threads N] [--timings]\n"
          "      (the initial phase-2 key, the same file as snarkjs zkey new / newZKey)\n"
          "  ozk-prover ptau-dev <power> <out-INSECURE.ptau> [--seed N] [--threads N] [--timings]\n"
          "      (INSECURE prepared powers of tau from a public seed; the file name must contain INSECURE)\n"
          "  ozk-prover scale-g1 <circuit.zkey> <section>[,<section>...] [--threads N] [--timings]\n"
          "      (multiplies the sections' G1 points by the scalar read from stdin, in place)\n"
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
    if (pos[0] == "scale-g1" && pos.size() == 3) {
      std::vector<uint32_t> ids;
      size_t at = 0;
      while (at <= pos[2].size()) {
        size_t comma = pos[2].find(',', at);
        std::string id = pos[2].substr(at, comma == std::string::npos ? std::string::npos : comma - at);
        if (id.empty() || id.find_first_not_of("0123456789") != std::string::npos) throw Error("scale-g1: bad section list " + pos[2]);
        ids.push_back((uint32_t)std::stoul(id));
        if (comma == std::string::npos) break;
        at = comma + 1;
      }
      scale_sections(pos[1], ids, threads, timings);
      return 0;
    }
    if (pos[0] == "zkey-new" && pos.size() == 4) {
      ZKeyNewStats st = zkey_new(pos[1], pos[2], pos[3], threads, timings);
      std::string hex;
      for (uint8_t b : st.cs_hash) { char h[3]; snprintf(h, sizeof h, "%02x", b); hex += h; }
      printf("{\"constraints\":%u,\"vars\":%u,\"public\":%u,\"domainSize\":%u,\"power\":%u,\"csHash\":\"%s\"}\n",
             st.n_constraints, st.n_vars, st.n_public, st.domain_size, st.power, hex.c_str());
      return 0;
    }
    if (pos[0] == "ptau-dev" && pos.size() == 3) {
      std::string base = pos[2].substr(pos[2].find_last_of('/') + 1);
      if (base.find("INSECURE") == std::string::npos)
        throw Error("ptau-dev: the output file name must contain INSECURE (its toxic waste is public), e.g. INSECURE_dev_pot" +
                    pos[1] + ".ptau");
      if (pos[1].empty() || pos[1].find_first_not_of("0123456789") != std::string::npos || pos[1].size() > 2)
        throw Error("ptau-dev: the power must be a small integer, got " + pos[1]);
      fprintf(stderr, "WARNING: ptau-dev: tau, alpha and beta are derived from a public seed; keys made from this file "
                      "can be forged. Never use it for anything of value.\n");
      ptau_dev(std::stoi(pos[1]), pos[2], seed, threads, timings);
      return 0;
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
