#include "ns/uarch/core.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>
#include <vector>

#include "bpred.h"
#include "memory.h"

namespace ns::uarch {

using detail::Access;
using trace::OpClass;
using trace::Record;
using trace::RegClass;

EpochStats& EpochStats::operator+=(const EpochStats& o) {
  instructions += o.instructions;
  cycles += o.cycles;
  branches += o.branches;
  conditional_branches += o.conditional_branches;
  mispredicts += o.mispredicts;
  decode_redirects += o.decode_redirects;
  loads += o.loads;
  stores += o.stores;
  forwarded_loads += o.forwarded_loads;
  l1d_misses += o.l1d_misses;
  l2_misses += o.l2_misses;
  llc_misses += o.llc_misses;
  l1i_misses += o.l1i_misses;
  serializing += o.serializing;
  prefetches += o.prefetches;
  dram_reads += o.dram_reads;
  dram_writes += o.dram_writes;
  return *this;
}

nlohmann::json EpochStats::to_json() const {
  return {{"instructions", instructions},
          {"cycles", cycles},
          {"ipc", ipc()},
          {"branch_mpki", per_kilo(mispredicts)},
          {"l1d_mpki", per_kilo(l1d_misses)},
          {"l2_mpki", per_kilo(l2_misses)},
          {"llc_mpki", per_kilo(llc_misses)},
          {"l1i_mpki", per_kilo(l1i_misses)},
          {"branches", branches},
          {"conditional_branches", conditional_branches},
          {"mispredicts", mispredicts},
          {"decode_redirects", decode_redirects},
          {"loads", loads},
          {"stores", stores},
          {"forwarded_loads", forwarded_loads},
          {"l1d_misses", l1d_misses},
          {"l2_misses", l2_misses},
          {"llc_misses", llc_misses},
          {"l1i_misses", l1i_misses},
          {"serializing", serializing},
          {"prefetches", prefetches},
          {"dram_reads", dram_reads},
          {"dram_writes", dram_writes}};
}

namespace {

// Cycles indexed by a sequence number, for occupancy limits: entry k - N of a ring of the
// cycles at which entries were freed tells when the N-entry structure has room for entry k.
class Ring {
 public:
  void init(size_t n) {
    v_.assign(std::bit_ceil(std::max<size_t>(n, 1)), 0);
    mask_ = v_.size() - 1;
  }
  int64_t& operator[](uint64_t i) { return v_[i & mask_]; }

 private:
  std::vector<int64_t> v_;
  uint64_t mask_ = 0;
};

// One cycle of the issue reservation table: n[0] ops issued, n[1 + u] busy units of kind u.
// The tag is the cycle's low 32 bits (the table index supplies 15 of them).
struct Slot {
  uint32_t tag = ~0u;
  uint8_t n[1 + kMaxUnits] = {};
};
static_assert(sizeof(Slot) == 16);

// Stores still in the store queue, by 8-byte chunk (direct-mapped; a collision forgets the older
// store, which has almost always left the queue already).
struct StoreEntry {
  uint64_t chunk = ~0ull;
  uint64_t addr = 0;
  uint64_t seq = 0;
  uint32_t size = 0;
  int64_t data_ready = 0;
  int64_t release = 0;
};

// Physical register pool of each register class (-1: not renamed).
constexpr int8_t kPoolOf[8] = {-1, kPoolInt, kPoolFloat, kPoolFlags,
                                kPoolFloat, kPoolFloat, -1, -1};

// Cycles the issue reservation table spans ahead of the oldest cycle still queried (a
// reservation further ahead than that is treated as a busy cycle: a one-cycle error in an
// extreme case, never a lost reservation).
constexpr size_t kIssueHorizon = size_t(1) << 15;
constexpr size_t kIqCalendar = size_t(1) << 16;  // IQ releases per cycle, consumed in order
constexpr size_t kStoreTable = 1024;
inline size_t store_index(uint64_t chunk) {
  return static_cast<size_t>((chunk * 0x9E3779B97F4A7C15ull) >> 54);  // 10 bits
}
constexpr uint32_t kMaxChunks = 8;  // a store or load is tracked over its first 64 bytes

}  // namespace

struct Core::Impl {
  explicit Impl(const CoreConfig& c)
      : cfg(c), mem(c), bp(c.branch), width(c.width), fe_depth(c.frontend_depth()) {
    fe_capacity = c.fetch_queue + c.width * fe_depth;
    fetch_block_shift = static_cast<uint32_t>(std::countr_zero(c.fetch_block_bytes));
    line_shift = mem.line_shift();
    mem_unit = c.mem_unit;
    mem_latency = c.ops[size_t(OpClass::MemRead)].latency;
    for (size_t u = 0; u < c.units.size(); ++u) unit_count[u] = static_cast<uint8_t>(c.units[u].count);
    for (int p = 0; p < kPoolCount; ++p) {
      rename_regs[p] = c.phys_regs[p] - kArchRegs[p];
      // At most `rob` instructions are in flight, each with at most two destinations: a pool
      // this large never stalls rename.
      pool_limits[p] = rename_regs[p] < 2 * c.rob;
    }
    commit_ring.init(c.rob);
    dispatch_ring.init(fe_capacity);
    load_commit.init(c.lq);
    store_release.init(c.sq);
    for (int p = 0; p < kPoolCount; ++p) dest_commit[p].init(rename_regs[p]);
    slots.resize(kIssueHorizon);
    stores.resize(kStoreTable);
    reg_ready.fill(0);
    iq_release.assign(kIqCalendar, 0);
  }

  // The reservation-table entry of cycle t, cleared if it last held an older cycle; nullptr if
  // it holds a later one (beyond the horizon).
  Slot* slot(int64_t t) {
    Slot& s = slots[static_cast<size_t>(t) & (kIssueHorizon - 1)];
    const auto tag = static_cast<uint32_t>(t);
    if (s.tag != tag) {
      if (s.tag != ~0u && static_cast<int32_t>(s.tag - tag) > 0) return nullptr;
      s.tag = tag;
      std::memset(s.n, 0, sizeof s.n);
    }
    return &s;
  }

  // First cycle >= t with an issue slot and a free unit of kind `unit` (none if < 0) for
  // `interval` cycles; reserves them.
  int64_t issue(int64_t t, int unit, uint32_t interval) {
    for (;; ++t) {
      Slot* s = slot(t);
      if (!s || s->n[0] >= width) continue;
      if (unit >= 0) {
        const uint8_t cap = unit_count[unit];
        if (s->n[1 + unit] >= cap) continue;
        bool free = true;
        for (uint32_t k = 1; k < interval && free; ++k) {
          const Slot* later = slot(t + k);
          free = later && later->n[1 + unit] < cap;
        }
        if (!free) continue;
        for (uint32_t k = 0; k < interval; ++k) ++slot(t + k)->n[1 + unit];
      }
      ++s->n[0];
      return t;
    }
  }

  // IQ occupancy at dispatch cycle d: micro-ops that issued before d have left.
  void iq_advance(int64_t d) {
    for (; iq_time < d; ++iq_time) {
      uint16_t& r = iq_release[static_cast<size_t>(iq_time) & (kIqCalendar - 1)];
      iq_count -= r;
      r = 0;
    }
  }

  // Counts a demand data access in the statistics.
  static void count_access(const Access& a, EpochStats& st) {
    st.l1d_misses += a.level >= 2;
    st.l2_misses += a.level >= 3;
    st.llc_misses += a.level >= 4;
  }

  // A data access of [addr, addr + size) at cycle t (both lines if it crosses one).
  Access data_access(const Record& r, int64_t t, bool write) {
    Access a = mem.data(r.pc, r.mem_addr, t, write);
    const uint64_t last = r.mem_addr + std::max<uint32_t>(r.mem_size, 1) - 1;
    if ((last >> line_shift) != (r.mem_addr >> line_shift)) {
      const Access b = mem.data(r.pc, last, t, write);
      a.done = std::max(a.done, b.done);
      a.level = std::max(a.level, b.level);
    }
    return a;
  }

  // The load part of a record whose address is known at cycle t: forwarded from the youngest
  // older store that still holds the bytes in the store queue, or read from the caches.
  int64_t load(const Record& r, int64_t t, uint8_t& level, EpochStats& st) {
    const uint64_t a = r.mem_addr, e = a + std::max<uint32_t>(r.mem_size, 1);
    const StoreEntry* best = nullptr;
    const uint64_t first = a >> 3, last = std::min((e - 1) >> 3, first + kMaxChunks - 1);
    for (uint64_t ch = first; ch <= last; ++ch) {
      const StoreEntry& s = stores[store_index(ch)];
      if (s.chunk == ch && s.release > t && s.addr < e && a < s.addr + s.size &&
          (!best || s.seq > best->seq))
        best = &s;
    }
    if (best) {
      if (best->addr <= a && e <= best->addr + best->size) {
        ++st.forwarded_loads;
        level = 1;
        return std::max(t, best->data_ready) + cfg.l1d.latency;
      }
      t = std::max(t, best->release);  // partial overlap: wait until the store is in the cache
    }
    const Access acc = data_access(r, t, false);
    count_access(acc, st);
    level = acc.level;
    return acc.done;
  }

  void begin_epoch() {
    fetch_cycle = last_commit;
    fetch_resume = last_commit + 1;
    group_closed = true;
    last_iline = ~0ull;
  }

  // Runs one record through the pipeline; returns its label (commit-to-commit cycles).
  int64_t step(const Record& r, uint8_t& side, EpochStats& st) {
    const OpClass op = r.op();
    const OpTiming& ot = cfg.ops[r.opclass < trace::kOpClassCount ? r.opclass : 0];
    uint8_t level = 0;
    side = 0;

    // ---- fetch: groups of up to `width` from one fetch block, ended by a taken branch ----
    const uint64_t block = r.pc >> fetch_block_shift;
    const int64_t backpressure = seq >= fe_capacity ? dispatch_ring[seq - fe_capacity] : 0;
    if (group_closed || group_count >= width || block != group_block || backpressure > fetch_cycle) {
      fetch_cycle = std::max({fetch_cycle + 1, fetch_resume, backpressure});
      group_count = 0;
      group_block = block;
      group_closed = false;
    }
    {
      const uint64_t first = r.pc >> line_shift;
      const uint64_t last = (r.pc + std::max<uint8_t>(r.inst_len, 1) - 1) >> line_shift;
      for (uint64_t line = first; line <= std::min(last, first + 1); ++line) {
        if (line == last_iline) continue;
        last_iline = line;
        const Access a = mem.fetch_line(line, fetch_cycle);
        if (a.level > 1) {
          side |= kSideIcacheMiss;
          ++st.l1i_misses;
        }
        const int64_t arrives = a.done - cfg.l1i.latency;  // a hit is part of the fetch stage
        if (arrives > fetch_cycle) {
          fetch_cycle = arrives;
          group_count = 0;
          group_block = block;
        }
      }
    }
    const int64_t f = fetch_cycle;
    ++group_count;

    detail::BranchOutcome bo;
    const bool is_branch = r.is_branch() || trace::is_branch_class(op);
    if (is_branch) {
      bo = bp.process(r);
      ++st.branches;
      st.conditional_branches += r.has(trace::kFlagConditional);
      if (r.has(trace::kFlagTaken)) group_closed = true;
      if (bo.decode_redirect) {
        ++st.decode_redirects;
        fetch_resume = std::max<int64_t>(fetch_resume, f + cfg.fetch_to_decode + 1);
        group_closed = true;
      }
    }

    // ---- dispatch (rename): in order, `width` micro-ops per cycle, when every structure has
    // room. A record is cracked like gem5's x86 decoder cracks it: a load part, an operation
    // and a store part, each a micro-op with its own ROB and IQ entry (at least one micro-op).
    const bool is_load = r.is_load(), is_store = r.is_store();
    const bool serializing =
        op == OpClass::Serializing || op == OpClass::Syscall || r.has(trace::kFlagSerializing);
    const bool compute = ot.unit >= 0 && ot.unit != mem_unit;
    const uint32_t parts = uint32_t(is_load) + uint32_t(compute) + uint32_t(is_store);
    const uint32_t uops = std::max(parts, 1u);
    int64_t d = std::max({f + int64_t(fe_depth), last_dispatch, dispatch_barrier});
    const uint64_t last_uop = uop_seq + uops - 1;
    if (last_uop >= cfg.rob) d = std::max(d, commit_ring[last_uop - cfg.rob] + 1);
    if (is_load && load_seq >= cfg.lq) d = std::max(d, load_commit[load_seq - cfg.lq] + 1);
    if (is_store && store_seq >= cfg.sq) d = std::max(d, store_release[store_seq - cfg.sq] + 1);
    int dest_pool[2];
    int dests = 0;
    for (const trace::RegRef& reg : {r.dst, r.dst2}) {
      if (!reg.valid() || (dests == 1 && reg == r.dst)) continue;
      const int p = kPoolOf[reg.cls & 7];
      if (p < 0 || !pool_limits[p]) continue;
      const uint64_t k = dest_seq[p] + (dests == 1 && dest_pool[0] == p ? 1 : 0);
      if (k >= rename_regs[p]) d = std::max(d, dest_commit[p][k - rename_regs[p]] + 1);
      dest_pool[dests++] = p;
    }
    if (serializing) {
      d = std::max(d, last_commit + 1);  // waits until every older instruction has committed
      ++st.serializing;
    }
    if (parts) {
      iq_advance(d);
      while (iq_count > 0 && iq_count + parts > cfg.iq) iq_advance(++d);  // wait for entries
    }
    if (d != last_dispatch) {
      dispatch_count = 0;
    } else if (dispatch_count > 0 && dispatch_count + uops > width) {
      ++d;
      dispatch_count = 0;
    }
    dispatch_count += uops;
    last_dispatch = d;
    dispatch_ring[seq] = d;

    // ---- issue and execute: load part, operation, store part ----
    // A record does not say which sources are address registers. For a load + operation
    // (`add rax, [rbx]`) a source that is also a destination, or the flags, is taken to be an
    // operand of the operation, so the load part issues without waiting for it; a pure load
    // waits for all its sources (`mov rax, [rax]` chases pointers through its destination).
    int64_t ready = d + cfg.dispatch_to_issue, address_ready = ready;
    for (const trace::RegRef& reg : {r.src1, r.src2, r.src3}) {
      if (!reg.valid()) continue;
      const int64_t t = reg_ready[(reg.cls & 7) * 32 + (reg.idx & 31)];
      ready = std::max(ready, t);
      if (!(compute && (reg == r.dst || reg == r.dst2 || reg.reg_class() == RegClass::Flags)))
        address_ready = std::max(address_ready, t);
    }
    if (r.has(trace::kFlagAtomic)) {
      ready = std::max(ready, last_store_release);
      address_ready = std::max(address_ready, last_store_release);
    }
    // Each part leaves the IQ when it issues.
    auto issued = [&](int64_t t) {
      ++iq_count;
      ++iq_release[static_cast<size_t>(t) & (kIqCalendar - 1)];
      return t;
    };
    int64_t done = ready;
    if (is_load) {
      ++st.loads;
      const int64_t t = issued(issue(address_ready, mem_unit, 1));
      done = std::max(load(r, t + mem_latency, level, st), ready);
    }
    if (compute) done = issued(issue(done, ot.unit, ot.interval)) + ot.latency;
    int64_t store_data = 0;
    if (is_store) {
      ++st.stores;
      done = issued(issue(done, mem_unit, 1)) + mem_latency;
      store_data = done;
    }
    for (const trace::RegRef& reg : {r.dst, r.dst2})
      if (reg.valid()) reg_ready[(reg.cls & 7) * 32 + (reg.idx & 31)] = done;
    if (bo.mispredict) {
      ++st.mispredicts;
      side |= kSideMispredict;
      fetch_resume = std::max<int64_t>(fetch_resume, done + cfg.branch_redirect);
      group_closed = true;
    }

    // ---- commit: in order, `width` micro-ops per cycle ----
    int64_t c = std::max(done + int64_t(cfg.execute_to_commit), last_commit);
    if (c != last_commit) {
      commit_count = 0;
    } else if (commit_count > 0 && commit_count + uops > width) {
      ++c;
      commit_count = 0;
    }
    commit_count += uops;
    const int64_t label = c - last_commit;
    last_commit = c;
    for (uint32_t u = 0; u < uops; ++u) commit_ring[uop_seq++] = c;
    if (serializing) dispatch_barrier = c + 1;
    if (is_load) load_commit[load_seq++] = c;
    for (int k = 0; k < dests; ++k) dest_commit[dest_pool[k]][dest_seq[dest_pool[k]]++] = c;

    // ---- committed stores drain to the L1D in order; the SQ entry is freed when written ----
    if (is_store) {
      int64_t s = std::max(c + 1, drain_cycle);
      if (s == drain_cycle) {
        if (drain_count >= cfg.store_drain_width) {
          ++s;
          drain_count = 0;
        }
      } else {
        drain_count = 0;
      }
      ++drain_count;
      drain_cycle = s;
      const Access a = data_access(r, s, true);
      count_access(a, st);
      if (!is_load) level = a.level;
      const int64_t release = std::max(a.done, last_store_release);
      last_store_release = release;
      store_release[store_seq++] = release;
      const uint64_t first = r.mem_addr >> 3;
      const uint64_t last =
          std::min((r.mem_addr + std::max<uint32_t>(r.mem_size, 1) - 1) >> 3, first + kMaxChunks - 1);
      for (uint64_t ch = first; ch <= last; ++ch)
        stores[store_index(ch)] =
            StoreEntry{ch, r.mem_addr, seq, r.mem_size, store_data, release};
    }
    side |= level;
    ++seq;
    return label;
  }

  CoreConfig cfg;
  detail::MemorySystem mem;
  detail::BranchUnit bp;
  uint32_t width, fe_depth, fe_capacity = 0, fetch_block_shift = 0, line_shift = 0;
  int mem_unit = 0;
  uint32_t mem_latency = 1;
  std::array<uint8_t, kMaxUnits> unit_count{};
  std::array<uint32_t, kPoolCount> rename_regs{};
  std::array<bool, kPoolCount> pool_limits{};

  // front end
  int64_t fetch_cycle = 0, fetch_resume = 0;
  uint32_t group_count = 0;
  uint64_t group_block = ~0ull, last_iline = ~0ull;
  bool group_closed = true;
  // dispatch, commit, store drain
  int64_t last_dispatch = 0, dispatch_barrier = 0, last_commit = 0;
  uint32_t dispatch_count = 0, commit_count = 0;
  int64_t drain_cycle = 0, last_store_release = 0;
  uint32_t drain_count = 0;
  // occupancy
  uint64_t seq = 0, uop_seq = 0, load_seq = 0, store_seq = 0;
  std::array<uint64_t, kPoolCount> dest_seq{};
  Ring commit_ring;  // by micro-op
  Ring dispatch_ring, load_commit, store_release;
  std::array<Ring, kPoolCount> dest_commit;
  // IQ: micro-ops dispatched and not yet issued as of cycle iq_time; iq_release[c] counts the
  // micro-ops that issue in cycle c (they leave after it).
  int64_t iq_time = 0;
  uint32_t iq_count = 0;
  std::vector<uint16_t> iq_release;
  std::array<int64_t, 8 * 32> reg_ready{};
  std::vector<Slot> slots;
  std::vector<StoreEntry> stores;
};

Core::Core(const CoreConfig& config) : impl_(std::make_unique<Impl>(config)) {}
Core::~Core() = default;
Core::Core(Core&&) noexcept = default;
Core& Core::operator=(Core&&) noexcept = default;

const CoreConfig& Core::config() const { return impl_->cfg; }

EpochStats Core::run_epoch(std::span<const Record> records, LabelSink sink) {
  Impl& m = *impl_;
  m.begin_epoch();
  const detail::MemStats before = m.mem.stats();
  EpochStats st, warm;
  size_t row = 0;
  uint8_t side = 0;
  for (const Record& r : records) {
    if (r.is_warmup()) {
      m.step(r, side, warm);
      continue;
    }
    const int64_t label = m.step(r, side, st);
    sink.labels[row * sink.stride] = static_cast<uint32_t>(
        std::min<int64_t>(label, std::numeric_limits<uint32_t>::max()));
    sink.side[row * sink.stride] = side;
    ++row;
    st.cycles += static_cast<uint64_t>(label);
  }
  st.instructions = row;
  const detail::MemStats& after = m.mem.stats();
  st.prefetches = after.prefetches - before.prefetches;
  st.dram_reads = after.dram_reads - before.dram_reads;
  st.dram_writes = after.dram_writes - before.dram_writes;
  return st;
}

}  // namespace ns::uarch
