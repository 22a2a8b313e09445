// Minimal fork-join helper: run fn(task) for task in [0, n) on up to `threads` std::threads.
#pragma once
#include <algorithm>
#include <atomic>
#include <thread>
#include <vector>

namespace ozk {

inline int default_threads() {
  unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : (int)n;
}

template <class Fn>
void parallel_for(size_t n, int threads, Fn fn) {
  if (n == 0) return;
  int t = (int)std::min<size_t>(n, (size_t)std::max(1, threads));
  if (t == 1) {
    for (size_t i = 0; i < n; i++) fn(i);
    return;
  }
  std::atomic<size_t> next(0);
  std::vector<std::thread> pool;
  auto worker = [&]() {
    for (;;) {
      size_t i = next.fetch_add(1);
      if (i >= n) break;
      fn(i);
    }
  };
  for (int k = 1; k < t; k++) pool.emplace_back(worker);
  worker();
  for (auto& th : pool) th.join();
}

// Split [0, n) into `parts` contiguous ranges and run fn(begin, end) on each in parallel.
template <class Fn>
void parallel_ranges(size_t n, int threads, Fn fn) {
  size_t parts = (size_t)std::max(1, threads);
  if (parts > n) parts = n == 0 ? 1 : n;
  parallel_for(parts, threads, [&](size_t p) {
    size_t b = n * p / parts, e = n * (p + 1) / parts;
    if (b < e) fn(b, e);
  });
}

}  // namespace ozk
