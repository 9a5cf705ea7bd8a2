#include "ntr/csim/machine.h"

#include <algorithm>
#include <array>
#include <deque>
#include <limits>
#include <queue>

#include <fmt/format.h>

#include "ntr/csim/units.h"
#include "ntr/isa/asm.h"

namespace ntr::csim {

const char* space_name(Space s) {
  static const char* const kNames[] = {"LWB", "LIB", "CB", "VS", "ACC", "GWB", "GIB", "AR"};
  return kNames[static_cast<int>(s)];
}

namespace {

constexpr int64_t kNever = std::numeric_limits<int64_t>::max();
constexpr int kDma = static_cast<int>(isa::Stream::Dma);
constexpr int kMac = static_cast<int>(isa::Stream::Mac);
constexpr int kPpu = static_cast<int>(isa::Stream::Ppu);

// An instruction decoded once at load time.
struct Decoded {
  isa::Fields f;
  bool datapath = false;
  isa::SyncGroup sync;
  isa::Mvm mvm;
  isa::Ppu ppu;
  isa::Psel psel;
  isa::Dma dma;
};

// A range of a local memory an instruction reads or writes, [lo, hi) in the memory's unit.
struct Region {
  Space space = Space::Lib;
  int64_t lo = 0, hi = 0;
};
bool overlaps(const Region& a, const Region& b) { return a.space == b.space && a.lo < b.hi && b.lo < a.hi; }

// A datapath instruction between its start and done: its operands (per tile), computed results
// and the regions it touches (per tile, for hazard checks).
struct Pending {
  bool active = false;
  int stream = 0;
  int64_t pc = 0;
  isa::Opcode op = isa::Opcode::Sync;
  int64_t start = 0, read_end = 0, done = 0;
  uint64_t seq = 0;
  std::array<int, 3> sig{-1, -1, -1};
  std::vector<MvmArgs> mvm;
  std::vector<PpuArgs> ppu;
  std::vector<DmaArgs> dma;
  std::vector<int32_t> words;  // mvm sums or ppu values, tile-major
  std::vector<uint8_t> bytes;  // dma store data, tile-major
  int nreads = 0, nwrites = 0;
  std::vector<Region> reads, writes;  // tile-major, nreads / nwrites per tile
};

struct StreamState {
  std::vector<isa::Fields> fields;
  std::vector<Decoded> code;
  Sequencer seq;
  bool halted = false;
  int64_t halt_cycle = 0;
  int64_t f_next = 0, b_free = 0, b_last_done = 0;
  int64_t arrived = 0;  // cycle the front end reached the current instruction
  std::vector<std::pair<int64_t, int64_t>> wait_blocks;  // [from, to) of failed waits since the last issue
};

struct Arrival {
  int64_t time;
  int sem;
  int stream;
  int64_t pc;
  bool operator>(const Arrival& o) const { return time > o.time; }
};

std::string lower(std::string_view s) {
  std::string r(s);
  std::transform(r.begin(), r.end(), r.begin(), [](unsigned char c) { return std::tolower(c); });
  return r;
}

// Intervals during which a unit uses an LWB half, for counting DMA/MAC conflicts on a half.
struct HalfUse {
  std::deque<std::pair<int64_t, int64_t>> mac, dma;
};

}  // namespace

struct Machine::Impl {
  isa::AccelConfig cfg;
  SimOptions opt;
  int tiles;
  int64_t lanes;
  MacArray mac;
  PostProcessor ppu;
  DmaEngine dma;
  std::vector<TileState> tile;
  std::vector<uint8_t> gwb, gib;
  bool loaded = false;
  Observer* obs = nullptr;

  std::array<StreamState, isa::kStreams> st;
  std::array<int, isa::kSemCount> sem{};
  std::priority_queue<Arrival, std::vector<Arrival>, std::greater<>> arrivals;
  std::vector<Pending> pend;
  std::vector<Pending*> due;
  int64_t now = -1;
  int64_t max_done = 0;
  uint64_t seq_no = 0;
  bool started = false, finished = false, retired = false;
  Stats stats;
  std::array<HalfUse, 2> half_use;

  explicit Impl(const isa::AccelConfig& c, SimOptions o)
      : cfg(c), opt(o), tiles(static_cast<int>(c.tiles)), lanes(c.lanes()), mac(c), ppu(c), dma(c),
        gwb(static_cast<size_t>(c.gwb_bytes), 0), gib(static_cast<size_t>(c.gib_bytes), 0) {
    isa::validate(c, c.name.empty() ? "accelerator config" : c.name);
    tile.reserve(static_cast<size_t>(tiles));
    for (int i = 0; i < tiles; ++i) tile.emplace_back(c);
    pend.resize(8);
  }

  [[noreturn]] void fail(ErrorKind k, const std::string& what, int stream, int64_t pc, int tile_id = -1) {
    finished = true;
    started = false;
    throw SimError(k, what, ErrorSite{stream, pc, now, tile_id});
  }

  // ------------------------------------------------------------------ loading
  void load(const isa::Program& p) {
    for (int s = 0; s < isa::kStreams; ++s) {
      const auto& ws = p.stream(static_cast<isa::Stream>(s));
      if (static_cast<int64_t>(ws.size()) > cfg.imem_words)
        throw SimError(ErrorKind::IllegalInstruction,
                       fmt::format("the {} stream has {} instructions; the instruction memory of '{}' holds {}",
                                   isa::stream_name(static_cast<isa::Stream>(s)), ws.size(), cfg.name, cfg.imem_words));
    }
    isa::DecodedProgram dp;
    try {
      dp = isa::decode_program(p, "program");
    } catch (const isa::IsaError& e) {
      throw SimError(structural_loop_problem(p) ? ErrorKind::LoopMisuse : ErrorKind::IllegalInstruction, e.what());
    }
    for (int s = 0; s < isa::kStreams; ++s) {
      StreamState& S = st[static_cast<size_t>(s)];
      S.fields = dp[static_cast<size_t>(s)];
      S.code.clear();
      for (const isa::Fields& f : S.fields) {
        Decoded d;
        d.f = f;
        d.datapath = isa::is_datapath(f.op);
        if (d.datapath) d.sync = isa::sync_of(f, isa::desc(f.op).nfields);
        switch (f.op) {
          case isa::Opcode::Mvm: d.mvm = isa::as_mvm(f); break;
          case isa::Opcode::Ppu: d.ppu = isa::as_ppu(f); break;
          case isa::Opcode::Psel: d.psel = isa::as_psel(f); break;
          case isa::Opcode::Dma: d.dma = isa::as_dma(f); break;
          default: break;
        }
        S.code.push_back(d);
      }
      S.seq = Sequencer(S.fields, tiles);
    }
    loaded = true;
    finished = true;
    started = false;
  }

  // True when every word decodes on its own, so the program failed on its loop structure.
  static bool structural_loop_problem(const isa::Program& p) {
    for (int s = 0; s < isa::kStreams; ++s) {
      const auto& ws = p.stream(static_cast<isa::Stream>(s));
      std::vector<size_t> ends;
      for (size_t i = 0; i < ws.size(); ++i) {
        std::string why;
        const auto f = isa::decode(ws[i], static_cast<isa::Stream>(s), &why);
        if (!f) return false;
        while (!ends.empty() && ends.back() < i) ends.pop_back();
        if (f->op != isa::Opcode::Loop) continue;
        const size_t end = i + static_cast<size_t>(f->v[isa::fld::kLoopBody]);
        if (end >= ws.size() || (!ends.empty() && end > ends.back())) return true;
        ends.push_back(end);
        if (ends.size() > static_cast<size_t>(isa::kLoopDepth)) return true;
      }
    }
    return false;
  }

  // ------------------------------------------------------------------ run state
  void reset() {
    if (!loaded) throw SimError(ErrorKind::IllegalInstruction, "no program loaded");
    for (auto& t : tile) t.clear();
    sem.fill(0);
    arrivals = {};
    for (auto& p : pend) p.active = false;
    for (auto& S : st) {
      S.seq.reset();
      S.halted = false;
      S.halt_cycle = 0;
      S.f_next = S.b_free = S.b_last_done = S.arrived = 0;
      S.wait_blocks.clear();
    }
    half_use = {};
    now = -1;
    max_done = 0;
    seq_no = 0;
    started = true;
    finished = false;
    stats = Stats{};
    stats.tiles = tiles;
    stats.lanes = lanes;
    stats.clock_mhz = static_cast<double>(cfg.clock_mhz);
  }

  int64_t address(int t, const StreamState& S, int64_t ar, int64_t off) const { return S.seq.address(t, ar, off); }

  // ------------------------------------------------------------------ events
  int64_t wake(int s) const {
    const StreamState& S = st[static_cast<size_t>(s)];
    if (S.halted) return kNever;
    const Decoded& d = S.code[static_cast<size_t>(S.seq.pc())];
    if (!d.datapath) {
      if (d.f.op == isa::Opcode::Wait && sem[static_cast<size_t>(d.f.v[isa::fld::kWaitSem])] == 0) return kNever;
      return S.f_next;
    }
    if (d.sync.wait >= 0 && sem[static_cast<size_t>(d.sync.wait)] == 0) return kNever;
    int64_t t = std::max(S.f_next, S.b_free);
    if (d.f.op == isa::Opcode::Sync) t = std::max(t, S.b_last_done);
    return t;
  }

  int64_t next_event() const {
    int64_t t = kNever;
    for (const auto& p : pend)
      if (p.active) t = std::min(t, p.done);
    if (!arrivals.empty()) t = std::min(t, arrivals.top().time);
    for (int s = 0; s < isa::kStreams; ++s) t = std::min(t, wake(s));
    return t;
  }

  void fire(int sem_id, int64_t at, int stream, int64_t pc) {
    arrivals.push(Arrival{at + isa::kSemLatency, sem_id, stream, pc});
    ++stats.signals;
  }

  void deliver(int64_t t) {
    while (!arrivals.empty() && arrivals.top().time <= t) {
      const Arrival a = arrivals.top();
      arrivals.pop();
      int& v = sem[static_cast<size_t>(a.sem)];
      if (v >= isa::kSemMax)
        fail(ErrorKind::SemaphoreOverflow,
             fmt::format("semaphore s{} signalled beyond {}", a.sem, isa::kSemMax), a.stream, a.pc);
      ++v;
    }
  }

  // ------------------------------------------------------------------ one cycle
  bool cycle(int64_t t) {
    now = t;
    retired = false;
    commit_due(t);
    deliver(t);
    for (int s = 0; s < isa::kStreams; ++s) try_stream(s, t);
    bool all_halted = true;
    for (const auto& S : st) all_halted = all_halted && S.halted;
    bool busy = false;
    for (const auto& p : pend) busy = busy || p.active;
    if (all_halted && !busy) finish();
    return retired;
  }

  void advance_or_fail(StreamState& S, int s, const std::string& problem) {
    if (!problem.empty()) fail(ErrorKind::LoopMisuse, problem, s, S.seq.pc());
  }

  void try_stream(int s, int64_t t) {
    StreamState& S = st[static_cast<size_t>(s)];
    if (S.halted || t < S.f_next) return;
    const int64_t pc = S.seq.pc();
    const Decoded& d = S.code[static_cast<size_t>(pc)];
    StreamStats& ss = stats.streams[static_cast<size_t>(s)];
    if (!d.datapath) {
      Retired r;
      if (d.f.op == isa::Opcode::Wait) {
        int& v = sem[static_cast<size_t>(d.f.v[isa::fld::kWaitSem])];
        if (v == 0) return;
        --v;
        ++stats.waits;
        if (t > S.arrived) {
          ss.front_end_stall[static_cast<size_t>(Stall::Semaphore)] += static_cast<uint64_t>(t - S.arrived);
          S.wait_blocks.emplace_back(S.arrived, t);
        }
        advance_or_fail(S, s, S.seq.advance());
      } else if (d.f.op == isa::Opcode::Halt) {
        const std::string problem = S.seq.check_halt();
        if (!problem.empty()) fail(ErrorKind::LoopMisuse, problem, s, pc);
        S.halted = true;
        S.halt_cycle = t;
        ss.halt_cycle = static_cast<uint64_t>(t);
      } else {
        if (d.f.op == isa::Opcode::Signal) fire(static_cast<int>(d.f.v[isa::fld::kSignalSem]), t, s, pc);
        const bool writes_ar = d.f.op == isa::Opcode::Seti || d.f.op == isa::Opcode::Addi || d.f.op == isa::Opcode::Tile;
        advance_or_fail(S, s, S.seq.execute_control());
        if (writes_ar && obs && obs->wants_writes()) {
          const int64_t ar = d.f.v[0];
          for (int i = 0; i < tiles; ++i) r.writes.push_back(Write{Space::Ar, i, ar, {S.seq.ar(i, ar)}});
        }
      }
      ++ss.control;
      ++ss.by_opcode[static_cast<size_t>(d.f.op)];
      S.f_next = t + 1;
      S.arrived = t + 1;
      retired = true;
      if (obs) {
        r.stream = static_cast<isa::Stream>(s);
        r.pc = pc;
        r.op = d.f.op;
        r.start = r.done = t;
        obs->on_retire(r);
      }
      return;
    }
    if (t < S.b_free) return;
    if (d.f.op == isa::Opcode::Sync && t < S.b_last_done) return;
    if (d.sync.wait >= 0 && sem[static_cast<size_t>(d.sync.wait)] == 0) return;
    issue(s, S, d, t);
    advance_or_fail(S, s, S.seq.advance());
    S.f_next = t + 1;
    S.arrived = t + 1;
  }

  // ------------------------------------------------------------------ issue
  Pending& slot() {
    for (auto& p : pend)
      if (!p.active) return p;
    pend.emplace_back();
    return pend.back();
  }

  void account_start(int s, StreamState& S, const Decoded& d, int64_t t) {
    StreamStats& ss = stats.streams[static_cast<size_t>(s)];
    const int64_t a = S.arrived, blocked = t - a;
    const int64_t busy_part = std::clamp<int64_t>(S.b_free - a, 0, std::max<int64_t>(blocked, 0));
    const int64_t sync_part =
        d.f.op == isa::Opcode::Sync
            ? std::clamp<int64_t>(S.b_last_done - std::max(a, S.b_free), 0, std::max<int64_t>(blocked - busy_part, 0))
            : 0;
    if (blocked > 0) {
      ss.front_end_stall[static_cast<size_t>(Stall::Busy)] += static_cast<uint64_t>(busy_part);
      ss.front_end_stall[static_cast<size_t>(Stall::Sync)] += static_cast<uint64_t>(sync_part);
      ss.front_end_stall[static_cast<size_t>(Stall::Semaphore)] += static_cast<uint64_t>(blocked - busy_part - sync_part);
    }
    // The datapath idled over [b_free, t): while the front end reached this instruction, then
    // while this instruction waited.
    idle_gap(ss, S, S.b_free, std::max(S.b_free, std::min(a, t)), t,
             d.f.op == isa::Opcode::Sync ? S.b_last_done : 0);
    S.wait_blocks.clear();
  }

  // Idle datapath cycles [from, to): up to `mid` the front end was executing earlier
  // instructions (blocked waits count as semaphore stalls), from `mid` the next instruction was
  // blocked (on a sync until sync_until, then on its semaphore).
  static void idle_gap(StreamStats& ss, const StreamState& S, int64_t from, int64_t mid, int64_t to,
                       int64_t sync_until) {
    if (to <= from) return;
    mid = std::clamp(mid, from, to);
    int64_t sem_cycles = 0;
    for (const auto& [a, b] : S.wait_blocks) sem_cycles += std::max<int64_t>(0, std::min(b, mid) - std::max(a, from));
    ss.idle[static_cast<size_t>(Stall::Semaphore)] += static_cast<uint64_t>(sem_cycles);
    ss.idle[static_cast<size_t>(Stall::FrontEnd)] += static_cast<uint64_t>(mid - from - sem_cycles);
    const int64_t sync_cycles = std::clamp<int64_t>(sync_until - mid, 0, to - mid);
    ss.idle[static_cast<size_t>(Stall::Sync)] += static_cast<uint64_t>(sync_cycles);
    ss.idle[static_cast<size_t>(Stall::Semaphore)] += static_cast<uint64_t>(to - mid - sync_cycles);
  }

  void check_args(const std::string& problem, int s, int64_t pc, int tile_id) {
    if (!problem.empty()) fail(ErrorKind::OutOfBounds, problem, s, pc, tile_id);
  }

  void issue(int s, StreamState& S, const Decoded& d, int64_t t) {
    const int64_t pc = S.seq.pc();
    Pending& p = slot();
    p.stream = s;
    p.pc = pc;
    p.op = d.f.op;
    p.start = t;
    p.seq = seq_no++;
    p.sig = d.sync.sig;
    p.nreads = p.nwrites = 0;
    p.reads.clear();
    p.writes.clear();
    int64_t busy = 1, tail = 0, contention = 1;
    switch (d.f.op) {
      case isa::Opcode::Sync:
        break;
      case isa::Opcode::Mvm:
        busy = issue_mvm(p, S, d, t);
        tail = mac.tail();
        break;
      case isa::Opcode::Ppu:
      case isa::Opcode::Psel:
        busy = issue_ppu(p, S, d);
        break;
      case isa::Opcode::Dma:
        busy = issue_dma(p, S, d, t, &contention);
        break;
      default:
        break;
    }
    account_start(s, S, d, t);
    p.read_end = t + busy;
    p.done = t + busy + tail;
    p.active = true;
    S.b_free = t + busy;
    S.b_last_done = std::max(S.b_last_done, p.done);
    if (d.sync.wait >= 0) {
      --sem[static_cast<size_t>(d.sync.wait)];
      ++stats.waits;
    }
    StreamStats& ss = stats.streams[static_cast<size_t>(s)];
    ++ss.datapath;
    ++ss.by_opcode[static_cast<size_t>(d.f.op)];
    ss.busy_cycles += static_cast<uint64_t>(busy);
    if (obs) obs->on_issue(Issue{static_cast<isa::Stream>(s), pc, d.f.op, t, busy, p.done, contention});
  }

  void add_region(Pending& p, bool write, Space sp, int64_t lo, int64_t n) {
    (write ? p.writes : p.reads).push_back(Region{sp, lo, lo + n});
  }

  int64_t issue_mvm(Pending& p, StreamState& S, const Decoded& d, int64_t t) {
    const isa::Mvm& m = d.mvm;
    p.mvm.resize(static_cast<size_t>(tiles));
    for (int i = 0; i < tiles; ++i) {
      MvmArgs& a = p.mvm[static_cast<size_t>(i)];
      a = MvmArgs::from(m, address(i, S, m.x_ar, m.x_off), address(i, S, m.w_ar, m.w_off));
      check_args(mac.check(a), kMac, p.pc, i);
    }
    const MvmArgs& a0 = p.mvm[0];
    p.words.resize(static_cast<size_t>(tiles * lanes));
    // Tiles whose weight rows are the same memory (broadcast loads) share one kernel call.
    bool shared = true;
    for (int i = 1; i < tiles && shared; ++i) {
      const MvmArgs& a = p.mvm[static_cast<size_t>(i)];
      const int8_t* const* r0 = tile[0].lwb.row_pointers() + a0.w;
      const int8_t* const* ri = tile[static_cast<size_t>(i)].lwb.row_pointers() + a.w;
      shared = std::equal(r0, r0 + a0.rows, ri);
    }
    if (shared) {
      std::array<const uint8_t*, 64> x{};
      for (int i = 0; i < tiles; ++i) x[static_cast<size_t>(i)] = tile[static_cast<size_t>(i)].lib.data() + p.mvm[static_cast<size_t>(i)].x;
      MvmArgs a = a0;
      a.x = 0;
      mac.multiply_shared(a, tile[0].lwb, std::span<const uint8_t* const>(x.data(), static_cast<size_t>(tiles)), p.words);
    } else {
      for (int i = 0; i < tiles; ++i)
        mac.multiply(p.mvm[static_cast<size_t>(i)], tile[static_cast<size_t>(i)],
                     std::span<int32_t>(p.words).subspan(static_cast<size_t>(i * lanes), static_cast<size_t>(lanes)));
    }
    const int64_t busy = mac.busy(a0);
    const int64_t xbytes = a0.rows * (a0.wide ? 2 : 1);
    if (opt.check_hazards) {
      p.nreads = 2;
      p.nwrites = 1;
      for (const MvmArgs& a : p.mvm) {
        add_region(p, false, Space::Lwb, a.w, a.rows);
        add_region(p, false, Space::Lib, a.x, xbytes);
        add_region(p, true, Space::Acc, a.bank * lanes, lanes);
      }
    }
    ++stats.mvm;
    if (a0.wide) ++stats.mvm_wide;
    if (a0.clr) ++stats.mvm_clear;
    stats.mac_busy_cycles += static_cast<uint64_t>(busy);
    stats.mac_ops += static_cast<uint64_t>(busy * lanes);
    stats.at(Buffer::Lwb, Port::Mac, Dir::Read).add(static_cast<uint64_t>(busy), static_cast<uint32_t>(lanes));
    stats.at(Buffer::Lib, Port::Mac, Dir::Read).add(static_cast<uint64_t>(busy), 1);
    if (!a0.clr) stats.at(Buffer::Acc, Port::Mac, Dir::Read).add(1, static_cast<uint32_t>(4 * lanes));
    stats.at(Buffer::Acc, Port::Mac, Dir::Write).add(1, static_cast<uint32_t>(4 * lanes));
    const int64_t half = cfg.lwb_half_rows();
    half_conflict(a0.w / half, true, t, t + busy);
    return busy;
  }

  // Counts cycles in which the DMA writes an LWB half while the MAC array reads it.
  void half_conflict(int64_t h, bool mac_use, int64_t from, int64_t to) {
    HalfUse& u = half_use[static_cast<size_t>(h)];
    auto& mine = mac_use ? u.mac : u.dma;
    auto& other = mac_use ? u.dma : u.mac;
    for (const auto& [a, b] : other)
      stats.lwb_half_conflict_cycles += static_cast<uint64_t>(std::max<int64_t>(0, std::min(b, to) - std::max(a, from)));
    while (!other.empty() && other.front().second <= from) other.pop_front();
    mine.emplace_back(from, to);
    while (mine.size() > 8) mine.pop_front();
  }

  int64_t issue_ppu(Pending& p, StreamState& S, const Decoded& d) {
    const bool select = d.f.op == isa::Opcode::Psel;
    p.ppu.resize(static_cast<size_t>(tiles));
    for (int i = 0; i < tiles; ++i) {
      PpuArgs& a = p.ppu[static_cast<size_t>(i)];
      if (select)
        a = PpuArgs::from(d.psel, address(i, S, d.psel.a_ar, d.psel.a_off), address(i, S, d.psel.d_ar, d.psel.d_off));
      else
        a = PpuArgs::from(d.ppu, address(i, S, d.ppu.a_ar, d.ppu.a_off), address(i, S, d.ppu.d_ar, d.ppu.d_off));
      check_args(ppu.check(a), kPpu, p.pc, i);
    }
    const PpuArgs& a0 = p.ppu[0];
    const isa::Ppu& q = a0.insn;
    const int64_t n = q.n;
    p.words.resize(static_cast<size_t>(tiles * n));
    for (int i = 0; i < tiles; ++i)
      ppu.compute(p.ppu[static_cast<size_t>(i)], tile[static_cast<size_t>(i)],
                  std::span<int32_t>(p.words).subspan(static_cast<size_t>(i * n), static_cast<size_t>(n)));
    if (opt.check_hazards) {
      // VS belongs to the PPU alone; ACC, LIB and CB are shared with other units.
      for (const PpuArgs& a : p.ppu) {
        const isa::Ppu& e = a.insn;
        int nr = 0;
        if (!select && e.a_space == isa::Asrc::Acc) add_region(p, false, Space::Acc, a.a, n), ++nr;
        if (!select && e.a_space == isa::Asrc::Lib8) add_region(p, false, Space::Lib, a.a, n), ++nr;
        if (!select && e.mul && e.b_space == isa::Bsrc::Lib8) add_region(p, false, Space::Lib, a.b, n), ++nr;
        if (!select && e.rq == isa::Rq::Row) add_region(p, false, Space::Cb, a.cb, n), ++nr;
        const int64_t dn = e.d_space == isa::Pdst::Lib32 ? 4 * n : n;
        if (!select && e.add && e.d_space != isa::Pdst::Vs) add_region(p, false, Space::Lib, a.d, dn), ++nr;
        p.nreads = nr;
        p.nwrites = e.d_space != isa::Pdst::Vs ? 1 : 0;
        if (p.nwrites) add_region(p, true, Space::Lib, a.d, dn);
      }
    }
    account_ppu(a0, select);
    return ppu.busy(a0);
  }

  void account_ppu(const PpuArgs& a, bool select) {
    const isa::Ppu& q = a.insn;
    const auto n = static_cast<uint64_t>(q.n);
    const auto L = static_cast<uint32_t>(cfg.ppu_lanes);
    auto& P = stats.ppu;
    auto op = [&](PpuOp o, uint64_t k) { P[static_cast<size_t>(o)] += k; };
    auto rd = [&](Buffer b, uint64_t elems, uint32_t bytes) { stats.at(b, Port::Ppu, Dir::Read).add_split(elems * bytes, L * bytes); };
    auto wr = [&](Buffer b, uint64_t elems, uint32_t bytes) { stats.at(b, Port::Ppu, Dir::Write).add_split(elems * bytes, L * bytes); };
    const Buffer dbuf = q.d_space == isa::Pdst::Vs ? Buffer::Vs : Buffer::Lib;
    const uint32_t dbytes = q.d_space == isa::Pdst::Lib8 ? 1 : 4;
    if (select) {
      ++stats.psel_instructions;
      op(PpuOp::Select, n);
      rd(Buffer::Vs, 2 * n, 4);
      rd(Buffer::Vs, 2 * n, 4);
      wr(dbuf, n, 4);
      op(q.d_space == isa::Pdst::Vs ? PpuOp::StoreVs : PpuOp::StoreLib32, n);
      return;
    }
    ++stats.ppu_instructions;
    op(PpuOp::Element, n);
    switch (q.a_space) {
      case isa::Asrc::Acc: rd(Buffer::Acc, n, 4); break;
      case isa::Asrc::Vs: rd(Buffer::Vs, n, 4); break;
      case isa::Asrc::Lib8: rd(Buffer::Lib, n, 1); break;
      case isa::Asrc::Zero: break;
    }
    if (q.rq == isa::Rq::Row) {
      op(PpuOp::RqRow, n);
      rd(Buffer::Cb, n, isa::kCbRowBytes);
      if (q.relu) op(PpuOp::Relu, n);
    }
    if (q.rq == isa::Rq::Shift) op(PpuOp::RqShift, n);
    if (q.sat1 != isa::Sat1::None) op(PpuOp::Sat1, n);
    if (q.act == isa::Act::Sig) op(PpuOp::Sig, n);
    if (q.act == isa::Act::Tanh) op(PpuOp::Tanh, n);
    if (q.mul) {
      op(PpuOp::Mul, n);
      if (q.b_space == isa::Bsrc::Vs) rd(Buffer::Vs, n, 4); else rd(Buffer::Lib, n, 1);
    }
    if (q.add) {
      op(PpuOp::Add, n);
      rd(dbuf, n, dbytes);
    }
    if (q.oshift) op(PpuOp::Oshift, n);
    if (q.sat2 != isa::Sat2::None) op(PpuOp::Sat2, n);
    wr(dbuf, n, dbytes);
    op(q.d_space == isa::Pdst::Vs ? PpuOp::StoreVs : q.d_space == isa::Pdst::Lib8 ? PpuOp::StoreLib8 : PpuOp::StoreLib32, n);
  }

  int64_t issue_dma(Pending& p, StreamState& S, const Decoded& d, int64_t t, int64_t* contention_out) {
    const isa::Dma& m = d.dma;
    p.dma.resize(static_cast<size_t>(tiles));
    for (int i = 0; i < tiles; ++i) {
      DmaArgs& a = p.dma[static_cast<size_t>(i)];
      a = DmaArgs::from(m, address(i, S, m.g_ar, m.g_off), address(i, S, m.l_ar, m.l_off));
      check_args(dma.check(a), kDma, p.pc, i);
    }
    const bool load = m.dir == isa::Dir::Ld;
    const bool to_gwb = m.g_space == isa::Gspace::Gwb;
    const int64_t bytes = p.dma[0].global_bytes();
    // Global bank contention (docs/neutrino.md section 5): per bank, distinct loads or every store.
    const int64_t bank_bytes = to_gwb ? cfg.gwb_bytes : cfg.gib_bank_bytes();
    const int64_t nbanks = to_gwb ? 1 : cfg.gib_banks;
    std::vector<int64_t> per_bank(static_cast<size_t>(nbanks), 0);
    int64_t distinct = 0;
    for (int i = 0; i < tiles; ++i) {
      const DmaArgs& a = p.dma[static_cast<size_t>(i)];
      bool first = true;
      if (load)
        for (int j = 0; j < i && first; ++j) first = p.dma[static_cast<size_t>(j)].g != a.g;
      if (!load)
        for (int j = 0; j < i; ++j) {
          const DmaArgs& b = p.dma[static_cast<size_t>(j)];
          if (a.g < b.g + bytes && b.g < a.g + bytes)
            fail(ErrorKind::StoreConflict,
                 fmt::format("tiles {} and {} store to overlapping {} bytes {}..{} and {}..{}", j, i,
                             to_gwb ? "GWB" : "GIB", b.g, b.g + bytes - 1, a.g, a.g + bytes - 1),
                 kDma, p.pc, i);
        }
      if (!first) continue;
      ++distinct;
      for (int64_t b = a.g / bank_bytes; b <= (a.g + bytes - 1) / bank_bytes && b < nbanks; ++b)
        ++per_bank[static_cast<size_t>(b)];
    }
    const int64_t contention = std::max<int64_t>(1, *std::max_element(per_bank.begin(), per_bank.end()));
    *contention_out = contention;
    const int64_t beats = isa::busy_cycles(d.f, cfg, 1) - cfg.dma_latency;
    const int64_t busy = isa::busy_cycles(d.f, cfg, contention);
    stats.contention_cycles += static_cast<uint64_t>(beats * (contention - 1));
    stats.max_contention = std::max<uint64_t>(stats.max_contention, static_cast<uint64_t>(contention));

    if (!load) {
      p.bytes.resize(static_cast<size_t>(tiles * m.len));
      for (int i = 0; i < tiles; ++i)
        dma.read_local(p.dma[static_cast<size_t>(i)], tile[static_cast<size_t>(i)],
                       std::span<uint8_t>(p.bytes).subspan(static_cast<size_t>(i * m.len), static_cast<size_t>(m.len)));
    }
    const Space lsp = m.l_space == isa::Lspace::Lwb ? Space::Lwb : m.l_space == isa::Lspace::Cb ? Space::Cb : Space::Lib;
    if (opt.check_hazards) {
      p.nreads = load ? 0 : 1;
      p.nwrites = load ? 1 : 0;
      // A load writes the local memory; a store reads the LIB.
      for (const DmaArgs& a : p.dma) add_region(p, load, lsp, a.l, m.len);
    }
    // Counters.
    const DmaPath path = load ? (to_gwb ? (m.l_space == isa::Lspace::Lwb ? DmaPath::GwbToLwb
                                          : m.l_space == isa::Lspace::Cb ? DmaPath::GwbToCb
                                                                          : DmaPath::GwbToLib)
                                        : DmaPath::GibToLib)
                              : (to_gwb ? DmaPath::LibToGwb : DmaPath::LibToGib);
    auto& pc_ = stats.dma[static_cast<size_t>(path)];
    const int64_t moved_global = load ? distinct * bytes : tiles * bytes;
    ++pc_.transfers;
    pc_.local_bytes += static_cast<uint64_t>(tiles * bytes);
    pc_.global_bytes += static_cast<uint64_t>(moved_global);
    pc_.beats += static_cast<uint64_t>(beats);
    if (load) stats.broadcast_saved_bytes += static_cast<uint64_t>((tiles - distinct) * bytes);
    const auto gport = static_cast<uint32_t>(to_gwb ? cfg.dma_gwb_bytes_per_cycle : cfg.dma_gib_bytes_per_cycle);
    PortCounter& g = stats.at(to_gwb ? Buffer::Gwb : Buffer::Gib, Port::Dma, load ? Dir::Read : Dir::Write);
    const int64_t gtransfers = load ? distinct : tiles;
    switch (m.l_space) {
      case isa::Lspace::Lwb: {
        // Each row is its own transfer through the GWB port and the LWB write port.
        PortCounter row;
        row.add_split(static_cast<uint64_t>(m.row_bytes), gport);
        PortCounter& lw = stats.at(Buffer::Lwb, Port::Dma, Dir::Write);
        for (const auto& [w, n] : row.by_width) {
          lw.add(n * static_cast<uint64_t>(m.len), w);
          g.add(n * static_cast<uint64_t>(m.len * gtransfers), w);
        }
        const int64_t half = cfg.lwb_half_rows(), l0 = p.dma[0].l;
        for (int64_t h = l0 / half; h <= (l0 + m.len - 1) / half; ++h) half_conflict(h, false, t, t + busy);
        break;
      }
      case isa::Lspace::Cb: {
        const auto port = static_cast<uint32_t>(std::min(cfg.dma_gwb_bytes_per_cycle, cfg.dma_cb_bytes_per_cycle));
        stats.at(Buffer::Cb, Port::Dma, Dir::Write).add_split(static_cast<uint64_t>(bytes), port);
        for (int64_t k = 0; k < gtransfers; ++k) g.add_split(static_cast<uint64_t>(bytes), gport);
        break;
      }
      case isa::Lspace::Lib: {
        const auto port = static_cast<uint32_t>(std::min<int64_t>(gport, cfg.dma_lib_bytes_per_cycle));
        stats.at(Buffer::Lib, Port::Dma, load ? Dir::Write : Dir::Read).add_split(static_cast<uint64_t>(bytes), port);
        for (int64_t k = 0; k < gtransfers; ++k) g.add_split(static_cast<uint64_t>(bytes), port);
        break;
      }
    }
    return busy;
  }

  // ------------------------------------------------------------------ completion
  void commit_due(int64_t t) {
    due.clear();
    for (auto& p : pend)
      if (p.active && p.done <= t) due.push_back(&p);
    if (due.empty()) return;
    std::sort(due.begin(), due.end(), [](const Pending* a, const Pending* b) { return a->seq < b->seq; });
    if (opt.check_hazards)
      for (const Pending* i : due) check_hazards(*i, t);
    for (Pending* p : due) {
      commit(*p, t);
      p->active = false;
    }
    retired = true;
  }

  void check_hazards(const Pending& I, int64_t t) {
    if (I.nwrites == 0) return;
    for (const Pending& J : pend) {
      if (!J.active || &J == &I || J.stream == I.stream) continue;
      const bool same_cycle = J.done == t;
      const bool reading = J.start < t && t < J.read_end;
      const bool writing = same_cycle || (J.start < t && t < J.done);
      if (!reading && !writing) continue;
      for (int i = 0; i < tiles; ++i) {
        for (int w = 0; w < I.nwrites; ++w) {
          const Region& wr = I.writes[static_cast<size_t>(i * I.nwrites + w)];
          auto race = [&](const Region& other, const char* how) {
            fail(ErrorKind::Hazard,
                 fmt::format("{} {} (pc {}) writes {} {}..{} at cycle {} while {} {} (pc {}, cycles {}..{}) {} {} {}..{}",
                             isa::stream_name(static_cast<isa::Stream>(I.stream)), lower(isa::desc(I.op).name), I.pc,
                             space_name(wr.space), wr.lo, wr.hi - 1, t,
                             isa::stream_name(static_cast<isa::Stream>(J.stream)), lower(isa::desc(J.op).name), J.pc,
                             J.start, J.done, how, space_name(other.space), other.lo, other.hi - 1),
                 I.stream, I.pc, i);
          };
          if (reading)
            for (int r = 0; r < J.nreads; ++r)
              if (overlaps(wr, J.reads[static_cast<size_t>(i * J.nreads + r)])) race(J.reads[static_cast<size_t>(i * J.nreads + r)], "reads");
          if (writing)
            for (int r = 0; r < J.nwrites; ++r)
              if (overlaps(wr, J.writes[static_cast<size_t>(i * J.nwrites + r)])) race(J.writes[static_cast<size_t>(i * J.nwrites + r)], "writes");
        }
      }
    }
  }

  void commit(Pending& p, int64_t t) {
    const bool want = obs && obs->wants_writes();
    Retired r;
    switch (p.op) {
      case isa::Opcode::Mvm:
        for (int i = 0; i < tiles; ++i) {
          const MvmArgs& a = p.mvm[static_cast<size_t>(i)];
          TileState& T = tile[static_cast<size_t>(i)];
          mac.accumulate(a, T, std::span<const int32_t>(p.words).subspan(static_cast<size_t>(i * lanes), static_cast<size_t>(lanes)));
          if (want)
            r.writes.push_back(Write{Space::Acc, i, a.bank * lanes,
                                     std::vector<int64_t>(T.acc.begin() + a.bank * lanes, T.acc.begin() + (a.bank + 1) * lanes)});
        }
        break;
      case isa::Opcode::Ppu:
      case isa::Opcode::Psel:
        for (int i = 0; i < tiles; ++i) {
          const PpuArgs& a = p.ppu[static_cast<size_t>(i)];
          TileState& T = tile[static_cast<size_t>(i)];
          const int64_t n = a.insn.n;
          ppu.store(a, T, std::span<const int32_t>(p.words).subspan(static_cast<size_t>(i * n), static_cast<size_t>(n)));
          if (!want) continue;
          if (a.insn.d_space == isa::Pdst::Vs)
            r.writes.push_back(Write{Space::Vs, i, a.d, std::vector<int64_t>(T.vs.begin() + a.d, T.vs.begin() + a.d + n)});
          else {
            const int64_t bytes = a.insn.d_space == isa::Pdst::Lib8 ? n : 4 * n;
            r.writes.push_back(Write{Space::Lib, i, a.d, std::vector<int64_t>(T.lib.begin() + a.d, T.lib.begin() + a.d + bytes)});
          }
        }
        break;
      case isa::Opcode::Dma:
        commit_dma(p, want ? &r : nullptr);
        break;
      default:
        break;
    }
    for (int s : p.sig)
      if (s >= 0) fire(s, t, p.stream, p.pc);
    max_done = std::max(max_done, p.done);
    if (obs) {
      r.stream = static_cast<isa::Stream>(p.stream);
      r.pc = p.pc;
      r.op = p.op;
      r.start = p.start;
      r.done = p.done;
      obs->on_retire(r);
    }
  }

  void commit_dma(Pending& p, Retired* r) {
    const isa::Dma& m = p.dma[0].insn;
    const bool to_gwb = m.g_space == isa::Gspace::Gwb;
    std::vector<uint8_t>& global = to_gwb ? gwb : gib;
    if (m.dir == isa::Dir::Ld) {
      for (int i = 0; i < tiles; ++i) {
        const DmaArgs& a = p.dma[static_cast<size_t>(i)];
        TileState& T = tile[static_cast<size_t>(i)];
        dma.load(a, global, T);
        if (!r) continue;
        switch (m.l_space) {
          case isa::Lspace::Lwb:
            for (int64_t k = 0; k < m.len; ++k) {
              const int8_t* row = T.lwb.row(a.l + k);
              r->writes.push_back(Write{Space::Lwb, i, (a.l + k) * lanes, std::vector<int64_t>(row, row + m.row_bytes)});
            }
            break;
          case isa::Lspace::Cb: {
            // The 12-byte records as loaded (the CB keeps them decoded).
            const auto* src = global.data() + a.g;
            r->writes.push_back(Write{Space::Cb, i, a.l * isa::kCbRowBytes,
                                      std::vector<int64_t>(src, src + m.len * isa::kCbRowBytes)});
            break;
          }
          case isa::Lspace::Lib:
            r->writes.push_back(Write{Space::Lib, i, a.l, std::vector<int64_t>(T.lib.begin() + a.l, T.lib.begin() + a.l + m.len)});
            break;
        }
      }
      return;
    }
    for (int i = 0; i < tiles; ++i) {
      const DmaArgs& a = p.dma[static_cast<size_t>(i)];
      if (to_gwb) {
        const auto* lo = reinterpret_cast<const int8_t*>(gwb.data() + a.g);
        for (auto& T : tile) T.lwb.detach(lo, lo + m.len);
      }
      const auto data = std::span<const uint8_t>(p.bytes).subspan(static_cast<size_t>(i * m.len), static_cast<size_t>(m.len));
      dma.store(a, data, global);
      if (r) r->writes.push_back(Write{to_gwb ? Space::Gwb : Space::Gib, i, a.g, std::vector<int64_t>(data.begin(), data.end())});
    }
  }

  // ------------------------------------------------------------------ end of run
  void finish() {
    int64_t T = max_done;
    for (const auto& S : st) T = std::max(T, S.halt_cycle + 1);
    stats.cycles = static_cast<uint64_t>(T);
    for (int s = 0; s < isa::kStreams; ++s) {
      StreamState& S = st[static_cast<size_t>(s)];
      StreamStats& ss = stats.streams[static_cast<size_t>(s)];
      const int64_t end_fe = std::max(S.b_free, S.halt_cycle + 1);
      idle_gap(ss, S, S.b_free, end_fe, end_fe, 0);
      if (T > end_fe) ss.idle[static_cast<size_t>(Stall::Halted)] += static_cast<uint64_t>(T - end_fe);
    }
    finished = true;
    started = false;
  }

  void deadlock(int64_t t) {
    std::string who;
    for (int s = 0; s < isa::kStreams; ++s) {
      const StreamState& S = st[static_cast<size_t>(s)];
      if (S.halted) continue;
      const Decoded& d = S.code[static_cast<size_t>(S.seq.pc())];
      const int w = d.datapath ? d.sync.wait : static_cast<int>(d.f.v[isa::fld::kWaitSem]);
      who += fmt::format("{}{} at pc {} ({}) waits on s{}", who.empty() ? "" : "; ",
                         isa::stream_name(static_cast<isa::Stream>(s)), S.seq.pc(),
                         isa::format_insn(d.f), w);
    }
    now = t;
    fail(ErrorKind::Deadlock, "every running stream is blocked on a semaphore: " + who, -1, -1);
  }

  // Evaluates the next event cycle; returns false once the run is over.
  bool advance() {
    if (finished) return false;
    int64_t t = now < 0 ? 0 : next_event();
    if (t == kNever) deadlock(now);
    if (now >= 0) t = std::max(t, now + 1);
    if (opt.max_cycles > 0 && t > opt.max_cycles) {
      now = t;
      fail(ErrorKind::CycleLimit, fmt::format("the run exceeded {} cycles", opt.max_cycles), -1, -1);
    }
    cycle(t);
    return true;
  }
};

Machine::Machine(const isa::AccelConfig& cfg, SimOptions options)
    : impl_(std::make_unique<Impl>(cfg, options)) {}
Machine::~Machine() = default;

const isa::AccelConfig& Machine::config() const { return impl_->cfg; }
int Machine::tiles() const { return impl_->tiles; }
void Machine::load_program(const isa::Program& program) { impl_->load(program); }
void Machine::load_program(const isa::DecodedProgram& program) {
  isa::Program p;
  for (int s = 0; s < isa::kStreams; ++s)
    for (const isa::Fields& f : program[static_cast<size_t>(s)]) {
      try {
        p.stream(static_cast<isa::Stream>(s)).push_back(isa::encode(f));
      } catch (const isa::IsaError& e) {
        throw SimError(ErrorKind::IllegalInstruction,
                       fmt::format("{} stream, instruction {}: {}", isa::stream_name(static_cast<isa::Stream>(s)),
                                   p.stream(static_cast<isa::Stream>(s)).size(), e.what()));
      }
    }
  impl_->load(p);
}
bool Machine::has_program() const { return impl_->loaded; }
std::span<uint8_t> Machine::gwb() { return impl_->gwb; }
std::span<uint8_t> Machine::gib() { return impl_->gib; }
const TileState& Machine::tile(int i) const { return impl_->tile.at(static_cast<size_t>(i)); }
void Machine::set_observer(Observer* observer) { impl_->obs = observer; }
void Machine::reset() { impl_->reset(); }

const Stats& Machine::run(bool fresh) {
  if (fresh || !impl_->started) impl_->reset();
  while (impl_->advance()) {
  }
  return impl_->stats;
}

bool Machine::step() {
  if (!impl_->started) return false;
  while (impl_->advance())
    if (impl_->retired) return true;
  return false;
}

bool Machine::finished() const { return impl_->finished; }
int64_t Machine::cycle() const { return impl_->now; }
const Stats& Machine::stats() const { return impl_->stats; }

}  // namespace ntr::csim
