#include "memory.h"

#include <algorithm>
#include <bit>
#include <cstdlib>

namespace ns::uarch::detail {

void Cache::init(const CacheConfig& c) {
  ways_ = c.ways;
  latency_ = c.latency;
  set_mask_ = c.sets - 1;
  clock_ = 0;
  const size_t n = size_t(c.sets) * c.ways;
  tags_.assign(n, 0);
  stamp_.assign(n, 0);
  ready_.assign(n, 0);
  level_.assign(n, 0);
  dirty_.assign(n, 0);
  mshr_.assign(c.mshrs, 0);
}

bool Cache::insert(uint64_t line, int64_t ready, uint8_t level, bool dirty, uint64_t* dirty_victim) {
  const size_t base = size_t(line & set_mask_) * ways_;
  size_t victim = base;
  for (uint32_t w = 0; w < ways_; ++w) {
    if (tags_[base + w] == 0) {
      victim = base + w;
      break;
    }
    if (stamp_[base + w] < stamp_[victim]) victim = base + w;
  }
  const bool evicts_dirty = tags_[victim] != 0 && dirty_[victim];
  if (evicts_dirty) *dirty_victim = tags_[victim] - 1;
  tags_[victim] = line + 1;
  stamp_[victim] = ++clock_;
  ready_[victim] = ready;
  level_[victim] = level;
  dirty_[victim] = dirty;
  return evicts_dirty;
}

int64_t Cache::mshr_acquire(int64_t t, int* index) const {
  size_t best = 0;
  for (size_t i = 1; i < mshr_.size(); ++i)
    if (mshr_[i] < mshr_[best]) best = i;
  *index = static_cast<int>(best);
  return std::max(t, mshr_[best]);
}

void Dram::init(uint32_t latency, uint32_t burst) {
  latency_ = latency;
  burst_ = burst;
  slot_tag_.assign(1u << 16, -1);
}

// The bus is tracked per cycle: cycle c is busy when slot_tag_[c mod size] == c. A transfer
// needs `burst` consecutive free cycles at or after earliest_start.
int64_t Dram::reserve(int64_t earliest_start) {
  const int64_t mask = static_cast<int64_t>(slot_tag_.size()) - 1;
  int64_t s = std::max<int64_t>(earliest_start, 0);
  for (;;) {
    int64_t busy = -1;
    for (int64_t c = s; c < s + burst_; ++c)
      if (slot_tag_[c & mask] == c) busy = c;
    if (busy < 0) break;
    s = busy + 1;
  }
  for (int64_t c = s; c < s + burst_; ++c) slot_tag_[c & mask] = c;
  return s;
}

int64_t Dram::read(int64_t t) { return reserve(t + latency_ - burst_) + burst_; }
void Dram::write(int64_t t) { reserve(t); }

MemorySystem::MemorySystem(const CoreConfig& c)
    : line_shift_(static_cast<uint32_t>(std::countr_zero(c.line_bytes))),
      pf_enabled_(c.prefetcher.enabled),
      pf_degree_(c.prefetcher.degree),
      pf_confidence_(c.prefetcher.confidence) {
  l1i_.init(c.l1i);
  l1d_.init(c.l1d);
  l2_.init(c.l2);
  llc_.init(c.llc);
  dram_.init(c.dram_latency_cycles, c.dram_burst_cycles);
  streams_.resize(c.prefetcher.table_entries);
}

Access MemorySystem::access(Cache& l1, uint64_t line, int64_t t, bool write) {
  const int64_t hit_at = t + l1.latency();
  const int s = l1.lookup(line);
  if (s >= 0) {
    if (write) l1.set_dirty(s);
    const int64_t r = l1.ready(s);
    if (r <= hit_at) return {hit_at, 1};
    return {r, l1.level(s)};  // the line is still being filled: wait for it
  }
  int m = 0;
  const int64_t start = l1.mshr_acquire(hit_at, &m);
  const Access a = fill_from(1, line, start);
  l1.mshr_hold(m, a.done);
  uint64_t victim = 0;
  if (l1.insert(line, a.done, a.level, write, &victim)) write_back(1, victim, a.done);
  return a;
}

Access MemorySystem::fill_from(int level, uint64_t line, int64_t t) {
  Cache& c = level == 1 ? l2_ : llc_;
  const int64_t hit_at = t + c.latency();
  const int s = c.lookup(line);
  if (s >= 0) {
    const int64_t r = c.ready(s);
    if (r <= hit_at) return {hit_at, static_cast<uint8_t>(level + 1)};
    return {r, c.level(s)};
  }
  int m = 0;
  const int64_t start = c.mshr_acquire(hit_at, &m);
  Access a;
  if (level == 1) {
    a = fill_from(2, line, start);
  } else {
    a = {dram_.read(start), 4};
    ++stats_.dram_reads;
  }
  c.mshr_hold(m, a.done);
  uint64_t victim = 0;
  if (c.insert(line, a.done, a.level, false, &victim)) write_back(level + 1, victim, a.done);
  return a;
}

void MemorySystem::write_back(int level, uint64_t line, int64_t t) {
  if (level == 3) {
    dram_.write(t);
    ++stats_.dram_writes;
    return;
  }
  Cache& c = level == 1 ? l2_ : llc_;
  const int s = c.lookup(line);
  if (s >= 0) {
    c.set_dirty(s);
    return;
  }
  uint64_t victim = 0;
  if (c.insert(line, t, static_cast<uint8_t>(level + 1), true, &victim))
    write_back(level + 1, victim, t);
}

Access MemorySystem::data(uint64_t pc, uint64_t addr, int64_t t, bool write) {
  const Access a = access(l1d_, addr >> line_shift_, t, write);
  if (pf_enabled_) train(pc, addr, t);
  return a;
}

// One stream per PC: after `confidence` repeats of the same stride it fetches the next `degree`
// lines along it (a stride shorter than a line advances line by line), never across a 4 KB page,
// skipping lines it already requested.
void MemorySystem::train(uint64_t pc, uint64_t addr, int64_t t) {
  Stream& s = streams_[(pc ^ (pc >> 7)) & (streams_.size() - 1)];
  if (s.pc != pc) {
    s = Stream{pc, addr, 0, 0, 0};
    return;
  }
  const int64_t stride = static_cast<int64_t>(addr - s.last);
  if (stride == 0) return;
  if (stride == s.stride) {
    if (s.confidence < 255) ++s.confidence;
  } else {
    s.stride = stride;
    s.confidence = 0;
    s.next_pf = 0;
  }
  s.last = addr;
  if (s.confidence < pf_confidence_) return;
  const int64_t line_bytes = int64_t(1) << line_shift_;
  const int64_t step = std::llabs(stride) < line_bytes ? (stride > 0 ? line_bytes : -line_bytes)
                                                       : stride;
  const uint64_t page = addr >> 12;
  for (uint32_t k = 1; k <= pf_degree_; ++k) {
    const uint64_t target = addr + static_cast<uint64_t>(step * k);
    if ((target >> 12) != page) break;
    const uint64_t tl = target >> line_shift_;
    if (s.next_pf != 0 && (step > 0 ? tl <= s.next_pf : tl >= s.next_pf)) continue;
    prefetch(tl, t);
    s.next_pf = tl;
  }
}

void MemorySystem::prefetch(uint64_t line, int64_t t) {
  if (l1d_.contains(line)) return;
  ++stats_.prefetches;
  const Access a = fill_from(1, line, t + l1d_.latency());
  uint64_t victim = 0;
  if (l1d_.insert(line, a.done, a.level, false, &victim)) write_back(1, victim, a.done);
}

}  // namespace ns::uarch::detail
