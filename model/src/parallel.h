// Runs independent batches of windows on a few threads (internal to ns_model).
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace ns::model::detail {

inline int resolve_threads(int requested) {
  if (requested > 0) return requested;
  return std::max(1u, std::thread::hardware_concurrency());
}

// Calls fn(worker, first, last) for consecutive slices [first, last) of [0, count), each at most
// `batch` long, on up to `threads` workers (worker in 0..threads-1 owns its scratch space).
// The first exception thrown by any call is rethrown after all workers stop.
inline void parallel_batches(size_t count, size_t batch, int threads,
                             const std::function<void(int, size_t, size_t)>& fn) {
  const size_t batches = (count + batch - 1) / batch;
  const int workers = static_cast<int>(std::min<size_t>(resolve_threads(threads), batches));
  if (workers <= 1) {
    for (size_t b = 0; b < batches; ++b) fn(0, b * batch, std::min(count, (b + 1) * batch));
    return;
  }
  std::atomic<size_t> next{0};
  std::exception_ptr error;
  std::mutex error_mutex;
  std::vector<std::thread> pool;
  for (int w = 0; w < workers; ++w)
    pool.emplace_back([&, w] {
      for (size_t b; (b = next.fetch_add(1)) < batches;) {
        try {
          fn(w, b * batch, std::min(count, (b + 1) * batch));
        } catch (...) {
          const std::lock_guard lock(error_mutex);
          if (!error) error = std::current_exception();
          next = batches;
        }
      }
    });
  for (auto& t : pool) t.join();
  if (error) std::rethrow_exception(error);
}

}  // namespace ns::model::detail
