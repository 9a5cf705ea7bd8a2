// The memory side of the reference core: L1I, L1D, L2, LLC (set-associative, LRU, MSHRs,
// write-back, non-inclusive), a DRAM channel with a fixed idle latency and a bandwidth limit, and
// a PC-indexed stride prefetcher into the L1D.
//
// Timing in a trace-driven model: the caches' contents change in program order while the
// accesses happen at the cycles the core computes (out of order). Every line remembers the cycle
// its fill completes, so an access to a line still in flight waits for that fill (an MSHR hit)
// instead of being counted as a fresh hit or a second miss.
#pragma once

#include <cstdint>
#include <vector>

#include "ns/uarch/config.h"

namespace ns::uarch::detail {

// Where an access was served: 1 L1, 2 L2, 3 LLC, 4 DRAM.
struct Access {
  int64_t done = 0;
  uint8_t level = 0;
};

class Cache {
 public:
  void init(const CacheConfig& c);
  uint32_t latency() const { return latency_; }

  // Slot index of `line` if present (updates LRU), else -1.
  int lookup(uint64_t line) {
    const size_t base = size_t(line & set_mask_) * ways_;
    const uint64_t tag = line + 1;
    for (uint32_t w = 0; w < ways_; ++w)
      if (tags_[base + w] == tag) {
        stamp_[base + w] = ++clock_;
        return static_cast<int>(base + w);
      }
    return -1;
  }
  bool contains(uint64_t line) const {
    const size_t base = size_t(line & set_mask_) * ways_;
    for (uint32_t w = 0; w < ways_; ++w)
      if (tags_[base + w] == line + 1) return true;
    return false;
  }
  // Installs `line` in the LRU way of its set; reports the line it evicted, if dirty.
  bool insert(uint64_t line, int64_t ready, uint8_t level, bool dirty, uint64_t* dirty_victim);

  int64_t ready(int slot) const { return ready_[slot]; }
  uint8_t level(int slot) const { return level_[slot]; }
  void set_dirty(int slot) { dirty_[slot] = 1; }

  // Outstanding-miss registers: the earliest cycle >= t at which one is free; hold() marks it
  // busy until the fill returns.
  int64_t mshr_acquire(int64_t t, int* index) const;
  void mshr_hold(int index, int64_t until) { mshr_[index] = until; }

 private:
  uint32_t ways_ = 0, latency_ = 0;
  uint64_t set_mask_ = 0;
  uint64_t clock_ = 0;
  std::vector<uint64_t> tags_;  // line + 1; 0 = invalid
  std::vector<uint64_t> stamp_;
  std::vector<int64_t> ready_;
  std::vector<uint8_t> level_, dirty_;
  std::vector<int64_t> mshr_;
};

// One channel: a read is served `latency` cycles after it arrives unless the channel is busy;
// each line occupies the data bus for `burst` cycles (reads and write-backs alike).
class Dram {
 public:
  void init(uint32_t latency, uint32_t burst);
  int64_t read(int64_t t);
  void write(int64_t t);

 private:
  int64_t reserve(int64_t earliest_start);
  uint32_t latency_ = 0, burst_ = 0;
  std::vector<int64_t> slot_tag_;  // bus slot k is busy when slot_tag_[k % size] == k
};

struct MemStats {
  uint64_t prefetches = 0;
  uint64_t dram_reads = 0, dram_writes = 0;
};

class MemorySystem {
 public:
  explicit MemorySystem(const CoreConfig& c);

  // Instruction fetch of one line at cycle t.
  Access fetch_line(uint64_t line, int64_t t) { return access(l1i_, line, t, false); }
  // Demand data access of the line holding addr; trains the prefetcher with (pc, addr).
  Access data(uint64_t pc, uint64_t addr, int64_t t, bool write);

  uint32_t line_shift() const { return line_shift_; }
  const MemStats& stats() const { return stats_; }

 private:
  Access access(Cache& l1, uint64_t line, int64_t t, bool write);
  Access fill_from(int level, uint64_t line, int64_t t);  // level 1 = L2, 2 = LLC
  void write_back(int level, uint64_t line, int64_t t);  // into level (1 L2, 2 LLC, 3 DRAM)
  void train(uint64_t pc, uint64_t addr, int64_t t);
  void prefetch(uint64_t line, int64_t t);

  uint32_t line_shift_;
  Cache l1i_, l1d_, l2_, llc_;
  Dram dram_;
  MemStats stats_;

  struct Stream {
    uint64_t pc = 0, last = 0, next_pf = 0;
    int64_t stride = 0;
    uint32_t confidence = 0;
  };
  bool pf_enabled_;
  uint32_t pf_degree_, pf_confidence_;
  std::vector<Stream> streams_;
};

}  // namespace ns::uarch::detail
