// The resident prover protocol shared by ozk-prover and ozk-prover-cuda (`serve <zkey>`): the key is loaded and
// checked once, then proofs are made on request, one line each, until standard input closes.
//
//   started:  stdout  ready\t{"nVars":N,"nPublic":P,"domainSize":D,"loadMs":T,"backend":"cpu"|"cuda"}
//   request:  stdin   prove\t<witness.wtns>\t<proof.json>\t<public.json>
//   reply:    stdout  ok\t<milliseconds>          (both files written)
//             stdout  error\t<one-line message>   (nothing written; the server keeps serving)
//
// A key that fails its checks ends the process before `ready` (exit 1, message on stderr, as for `prove`).
#pragma once
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "groth16.hpp"

namespace ozk {

// Writes through a temporary file and rename, so a failed run never leaves a partial proof behind.
inline void write_file_atomic(const std::string& path, const std::string& text) {
  std::string tmp = path + ".tmp";
  FILE* f = fopen(tmp.c_str(), "wb");
  if (!f) throw Error("cannot create " + tmp);
  bool ok = fwrite(text.data(), 1, text.size(), f) == text.size();
  ok = (fclose(f) == 0) && ok;
  if (!ok || rename(tmp.c_str(), path.c_str()) != 0) throw Error("cannot write " + path);
}

inline void write_proof_files(const Proof& pf, const std::string& proof_path, const std::string& public_path) {
  write_file_atomic(proof_path, proof_json(pf));
  write_file_atomic(public_path, public_json(pf));
}

inline std::vector<std::string> split_tabs(const std::string& line) {
  std::vector<std::string> out;
  size_t b = 0;
  for (;;) {
    size_t e = line.find('\t', b);
    out.push_back(line.substr(b, e == std::string::npos ? std::string::npos : e - b));
    if (e == std::string::npos) return out;
    b = e + 1;
  }
}

inline std::string one_line(std::string m) {
  for (char& ch : m)
    if (ch == '\n' || ch == '\r' || ch == '\t') ch = ' ';
  return m;
}

// Announces the loaded key, then answers requests from `in` until EOF. `prove_one(wtns)` returns the proof.
inline int serve_loop(const ZKey& zk, const char* backend, double load_ms, FILE* in, FILE* out,
                      const std::function<Proof(const Witness&)>& prove_one, int threads) {
  fprintf(out, "ready\t{\"nVars\":%u,\"nPublic\":%u,\"domainSize\":%u,\"loadMs\":%.0f,\"backend\":\"%s\"}\n",
          zk.n_vars, zk.n_public, zk.domain_size, load_ms, backend);
  fflush(out);
  std::string line;
  int ch;
  for (;;) {
    line.clear();
    while ((ch = fgetc(in)) != EOF && ch != '\n') line.push_back((char)ch);
    if (ch == EOF && line.empty()) return 0;
    if (line.empty()) continue;
    std::vector<std::string> f = split_tabs(line);
    try {
      if (f[0] != "prove" || f.size() != 4) throw Error("bad request (expected prove<TAB>wtns<TAB>proof<TAB>public)");
      Timer t;
      Witness wt(f[1], threads);
      check_witness_fits(zk, wt);
      Proof pf = prove_one(wt);
      write_proof_files(pf, f[2], f[3]);
      fprintf(out, "ok\t%.0f\n", t.ms());
    } catch (const std::exception& e) {
      fprintf(out, "error\t%s\n", one_line(e.what()).c_str());
    }
    fflush(out);
    if (ch == EOF) return 0;
  }
}

}  // namespace ozk
