// Decimal formatting/parsing of 256-bit integers, CSPRNG field sampling, timers.
#pragma once
#include <sys/random.h>

#include <chrono>
#include <cstdio>
#include <string>

#include "binfile.hpp"
#include "curve.hpp"

namespace ozk {

inline std::string u256_to_dec(const uint64_t a[4]) {
  uint64_t x[4] = {a[0], a[1], a[2], a[3]};
  std::string out;
  for (;;) {
    bool zero = (x[0] | x[1] | x[2] | x[3]) == 0;
    if (zero) break;
    // divide by 10^19, collect the remainder as 19 digits
    const uint64_t D = 10000000000000000000ULL;
    u128 rem = 0;
    for (int i = 3; i >= 0; i--) {
      u128 cur = (rem << 64) | x[i];
      x[i] = (uint64_t)(cur / D);
      rem = cur % D;
    }
    char buf[32];
    snprintf(buf, sizeof buf, "%019llu", (unsigned long long)rem);
    out = std::string(buf) + out;
  }
  size_t nz = out.find_first_not_of('0');
  return nz == std::string::npos ? "0" : out.substr(nz);
}

// Parses a decimal string into 256 bits; false on overflow or a bad character.
inline bool dec_to_u256(const std::string& s, uint64_t out[4]) {
  out[0] = out[1] = out[2] = out[3] = 0;
  if (s.empty()) return false;
  for (char ch : s) {
    if (ch < '0' || ch > '9') return false;
    u128 carry = (uint64_t)(ch - '0');
    for (int i = 0; i < 4; i++) {
      u128 t = (u128)out[i] * 10 + carry;
      out[i] = (uint64_t)t;
      carry = t >> 64;
    }
    if (carry) return false;
  }
  return true;
}

template <class P>
std::string fp_to_dec(const Fp<P>& x) {
  uint64_t raw[4];
  x.to_raw(raw);
  return u256_to_dec(raw);
}

// Uniform element of Fr from the OS CSPRNG (rejection sampling on 254 bits).
inline Fr random_fr() {
  for (;;) {
    uint64_t raw[4];
    uint8_t* p = (uint8_t*)raw;
    size_t got = 0;
    while (got < sizeof raw) {
      ssize_t k = getrandom(p + got, sizeof raw - got, 0);
      if (k < 0) {
        if (errno == EINTR) continue;
        throw Error("getrandom failed");
      }
      got += (size_t)k;
    }
    raw[3] &= (1ULL << 62) - 1;  // 254 bits
    if (!Fr::geq_p(raw)) return Fr::from_raw(raw);
  }
}

struct Timer {
  std::chrono::steady_clock::time_point t0 = std::chrono::steady_clock::now();
  double ms() const {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  }
};

}  // namespace ozk
