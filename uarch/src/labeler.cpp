#include "ns/uarch/labeler.h"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>

namespace ns::uarch {

Labeler::Labeler(std::vector<CoreConfig> configs, unsigned threads)
    : configs_(std::move(configs)),
      threads_(threads ? threads : std::max(1u, std::thread::hardware_concurrency())) {}

namespace {

// One epoch in flight: its records, filled by one loader, labelled column by column.
struct Slot {
  enum State { kEmpty, kLoading, kReady } state = kEmpty;
  std::vector<trace::Record> records;
  size_t warmup = 0, rows = 0, remaining = 0;
  std::vector<uint32_t> labels;
  std::vector<uint8_t> side;
  std::vector<EpochStats> stats;
};

}  // namespace

void Labeler::run(const trace::Reader& reader, size_t max_epochs,
                  const std::function<void(const EpochLabels&)>& on_epoch) {
  const size_t n = std::min(max_epochs, reader.epochs().size());
  const size_t nc = configs_.size();
  totals_.assign(nc, EpochStats{});
  std::vector<Core> cores;
  cores.reserve(nc);
  for (const CoreConfig& c : configs_) cores.emplace_back(c);
  const unsigned workers = static_cast<unsigned>(std::clamp<size_t>(threads_, 1, nc + 1));
  const size_t window = workers + 2;  // epochs held in memory at most

  std::mutex m;
  std::condition_variable cv;
  std::deque<Slot> slots;  // slots[k - base] holds epoch k
  size_t base = 0;         // oldest epoch not yet handed to on_epoch
  std::vector<size_t> next(nc, 0);
  std::vector<bool> busy(nc, false);
  bool emitting = false;
  std::exception_ptr error;

  auto slot = [&](size_t k) -> Slot& {
    while (slots.size() <= k - base) slots.emplace_back();
    return slots[k - base];
  };
  auto fail = [&](std::unique_lock<std::mutex>& lock) {
    if (!lock.owns_lock()) lock.lock();
    if (!error) error = std::current_exception();
    cv.notify_all();
  };

  auto worker = [&] {
    std::unique_lock<std::mutex> lock(m);
    while (!error && base < n) {
      // Hand the oldest finished epoch to the caller (one emitter at a time, in order).
      if (!emitting && !slots.empty() && slots.front().state == Slot::kReady &&
          slots.front().remaining == 0) {
        emitting = true;
        Slot& s = slots.front();
        const EpochLabels out{&reader.epochs()[base], s.records, s.warmup, s.rows, s.labels,
                              s.side, s.stats};
        lock.unlock();
        try {
          on_epoch(out);
        } catch (...) {
          fail(lock);
          return;
        }
        lock.lock();
        for (size_t c = 0; c < nc; ++c) totals_[c] += s.stats[c];
        slots.pop_front();
        ++base;
        emitting = false;
        cv.notify_all();
        continue;
      }
      // Otherwise run the design that is furthest behind and can make progress.
      int pick = -1;
      for (size_t c = 0; c < nc; ++c) {
        if (busy[c] || next[c] >= n || next[c] >= base + window) continue;
        if (slot(next[c]).state == Slot::kLoading) continue;
        if (pick < 0 || next[c] < next[pick]) pick = static_cast<int>(c);
      }
      if (pick < 0) {
        cv.wait(lock);
        continue;
      }
      const size_t k = next[pick];
      if (slot(k).state == Slot::kEmpty) {
        slot(k).state = Slot::kLoading;
        lock.unlock();
        std::vector<trace::Record> records;
        try {
          reader.read_epoch(k, records, true);
        } catch (...) {
          fail(lock);
          return;
        }
        const size_t warm = static_cast<size_t>(
            std::count_if(records.begin(), records.end(), [](const auto& r) { return r.is_warmup(); }));
        lock.lock();
        Slot& s = slot(k);
        s.records = std::move(records);
        s.warmup = warm;
        s.rows = s.records.size() - warm;
        s.labels.resize(s.rows * nc);
        s.side.resize(s.rows * nc);
        s.stats.resize(nc);
        s.remaining = nc;
        s.state = Slot::kReady;
        cv.notify_all();
        continue;
      }
      busy[pick] = true;
      Slot* s = &slot(k);  // stays in place: it is not popped before this design finishes it
      lock.unlock();
      EpochStats st;
      try {
        st = cores[pick].run_epoch(s->records, {s->labels.data() + pick, s->side.data() + pick, nc});
      } catch (...) {
        fail(lock);
        return;
      }
      lock.lock();
      s->stats[pick] = st;
      --s->remaining;
      busy[pick] = false;
      ++next[pick];
      cv.notify_all();
    }
  };

  std::vector<std::thread> pool;
  for (unsigned t = 1; t < workers; ++t) pool.emplace_back(worker);
  worker();
  for (std::thread& t : pool) t.join();
  if (error) std::rethrow_exception(error);
}

}  // namespace ns::uarch
