#include "ntr/compiler/timing.h"

#include <algorithm>
#include <limits>
#include <queue>
#include <tuple>

#include <fmt/format.h>

#include "ntr/compiler/error.h"

namespace ntr::compiler {

using isa::Fields;
using isa::Opcode;
using isa::Stream;

const char* cat_name(Cat c) {
  switch (c) {
    case Cat::Lstm:
      return "lstm";
    case Cat::Proj:
      return "input_proj";
    case Cat::Heads:
      return "heads";
    default:
      return "other";
  }
}

namespace {

constexpr int64_t kNever = std::numeric_limits<int64_t>::max() / 2;

// Pre-decoded instruction.
struct Op {
  Fields f;
  Opcode op = Opcode::Nop;
  bool datapath = false;
  int wait = -1;
  std::array<int, 3> sig{-1, -1, -1};
  int64_t busy = 0, tail = 0;  // DMA busy is computed at issue (contention)
  Cat cat = Cat::Other;
  // Operand slots: field index of (ar, off) pairs, -1 if absent.
  std::array<std::pair<int, int>, 2> slot{{{-1, -1}, {-1, -1}}};
};

struct Frame {
  int64_t first, last, left;
  bool window;
};

struct StreamState {
  std::vector<Op> ops;
  int64_t pc = 0;
  std::vector<Frame> loops;
  std::array<int64_t, isa::kArCount> ar{}, ar_tile{};
  int64_t f_next = 0, b_free = 0, last_done = 0;
  bool halted = false;
  int64_t halt_t = 0;
  int block_sem = -1;        // semaphore that last blocked this stream
  int64_t window_pc = -1;    // LOOP index of the window loop
};

struct Arrival {
  int64_t t;
  int sem;
  bool operator>(const Arrival& o) const { return std::tie(t, sem) > std::tie(o.t, o.sem); }
};

}  // namespace

struct Engine::Impl {
  const isa::AccelConfig cfg;  // a copy: callers may pass a temporary
  TimingOptions opt;
  std::array<StreamState, isa::kStreams> st;
  std::array<int64_t, isa::kSemCount> sem{};
  std::priority_queue<Arrival, std::vector<Arrival>, std::greater<>> arrivals;
  TimingResult res;
  std::function<void(const Issue&)>* on_issue = nullptr;
  int64_t last_done_all = 0;
  uint64_t rng_state = 0;
  int64_t mac_prev_end = 0;  // end of the MAC's previous busy period

  Impl(const isa::Program& p, const isa::AccelConfig& c, TimingOptions options) : cfg(c), opt(std::move(options)) {
    rng_state = opt.jitter_seed;
    const isa::DecodedProgram dp = isa::decode_program(p, "<program>");
    for (int s = 0; s < isa::kStreams; ++s) {
      auto& ss = st[static_cast<std::size_t>(s)];
      ss.window_pc = opt.window_loop_pc[static_cast<std::size_t>(s)];
      const auto& fs = dp[static_cast<std::size_t>(s)];
      const auto& cats = opt.cats[static_cast<std::size_t>(s)];
      for (std::size_t i = 0; i < fs.size(); ++i) {
        Op o;
        o.f = fs[i];
        o.op = fs[i].op;
        const isa::InsnDesc& d = isa::desc(o.op);
        o.datapath = d.cls == isa::InsnClass::Datapath;
        if (i < cats.size()) o.cat = cats[i];
        if (o.datapath) {
          const isa::SyncGroup sg = isa::sync_of(o.f, d.nfields);
          o.wait = sg.wait;
          o.sig = sg.sig;
          if (o.op != Opcode::Dma) o.busy = isa::busy_cycles(o.f, cfg);
          o.tail = isa::tail_cycles(o.f, cfg);
          switch (o.op) {
            case Opcode::Dma:
              o.slot = {{{isa::fld::kDmaGAr, isa::fld::kDmaGOff}, {isa::fld::kDmaLAr, isa::fld::kDmaLOff}}};
              break;
            case Opcode::Mvm:
              o.slot = {{{isa::fld::kMvmXAr, isa::fld::kMvmXOff}, {isa::fld::kMvmWAr, isa::fld::kMvmWOff}}};
              break;
            case Opcode::Ppu:
            case Opcode::Psel:
              o.slot = {{{isa::fld::kPpuAAr, isa::fld::kPpuAOff}, {isa::fld::kPpuDAr, isa::fld::kPpuDOff}}};
              break;
            default:
              break;
          }
        }
        ss.ops.push_back(o);
      }
    }
  }

  [[noreturn]] void fail(int s, int64_t t, const std::string& what) const {
    throw CompileError(fmt::format("timing: {} stream, instruction {}, cycle {}: {}",
                                   isa::stream_name(static_cast<Stream>(s)),
                                   st[static_cast<std::size_t>(s)].pc, t, what));
  }

  int64_t next_arrival() const { return arrivals.empty() ? kNever : arrivals.top().t; }

  // Earliest cycle at which stream s can act (conservative when blocked on a semaphore).
  int64_t next_time(int s) const {
    const StreamState& ss = st[static_cast<std::size_t>(s)];
    if (ss.halted) return kNever;
    const Op& o = ss.ops[static_cast<std::size_t>(ss.pc)];
    int64_t r = ss.f_next;
    int need = -1;
    if (o.op == Opcode::Wait) {
      need = static_cast<int>(o.f.v[isa::fld::kWaitSem]);
    } else if (o.datapath) {
      r = std::max(r, ss.b_free);
      if (o.op == Opcode::Sync) r = std::max(r, ss.last_done);
      need = o.wait;
    }
    if (need >= 0 && sem[static_cast<std::size_t>(need)] == 0) r = std::max(r, next_arrival());
    return r;
  }

  // The semaphore an instruction needs (-1: none) and when the stream would act without it.
  std::pair<int, int64_t> needs(int s) const {
    const StreamState& ss = st[static_cast<std::size_t>(s)];
    const Op& o = ss.ops[static_cast<std::size_t>(ss.pc)];
    if (o.op == Opcode::Wait) return {static_cast<int>(o.f.v[isa::fld::kWaitSem]), ss.f_next};
    if (!o.datapath) return {-1, ss.f_next};
    int64_t r = std::max(ss.f_next, ss.b_free);
    if (o.op == Opcode::Sync) r = std::max(r, ss.last_done);
    return {o.wait, r};
  }

  void signal(int64_t t_signal, int sm) { arrivals.push({t_signal + isa::kSemLatency, sm}); }

  void apply_arrivals(int64_t t) {
    while (!arrivals.empty() && arrivals.top().t <= t) {
      const int sm = arrivals.top().sem;
      arrivals.pop();
      auto& c = sem[static_cast<std::size_t>(sm)];
      if (++c > isa::kSemMax)
        throw CompileError(fmt::format("timing: semaphore s{} exceeds {} at cycle {}", sm, isa::kSemMax, t));
      res.max_sem = std::max<int>(res.max_sem, static_cast<int>(c));
    }
  }

  void advance(StreamState& ss) {
    int64_t next = ss.pc + 1;
    while (!ss.loops.empty() && ss.pc == ss.loops.back().last) {
      Frame& f = ss.loops.back();
      if (f.left > 1) {
        --f.left;
        next = f.first;
        break;
      }
      ss.loops.pop_back();
    }
    ss.pc = next;
  }

  int64_t dma_contention(const StreamState& ss, const Op& o) const {
    if (cfg.tiles == 1) return 1;
    const auto dm = isa::as_dma(o.f);
    const int64_t stride = ss.ar_tile[static_cast<std::size_t>(dm.g_ar)];
    const int64_t g0 = ss.ar[static_cast<std::size_t>(dm.g_ar)] + dm.g_off;
    const int64_t bytes = dm.l_space == isa::Lspace::Lwb ? dm.len * dm.row_bytes
                          : dm.l_space == isa::Lspace::Cb ? dm.len * isa::kCbRowBytes
                                                          : dm.len;
    if (dm.g_space == isa::Gspace::Gwb) {
      if (dm.dir == isa::Dir::Ld && stride == 0) return 1;
      return cfg.tiles;
    }
    const int64_t bank = cfg.gib_bank_bytes();
    std::vector<int64_t> count(static_cast<std::size_t>(cfg.gib_banks), 0);
    // Identical loads share one read; distinct ranges or stores count per tile.
    const int64_t distinct = dm.dir == isa::Dir::Ld && stride == 0 ? 1 : cfg.tiles;
    for (int64_t t = 0; t < distinct; ++t) {
      const int64_t lo = g0 + t * stride, hi = lo + bytes - 1;
      const int64_t first = lo / bank > 0 ? lo / bank : 0;
      const int64_t last = hi / bank < cfg.gib_banks - 1 ? hi / bank : cfg.gib_banks - 1;
      for (int64_t b = first; b <= last; ++b) ++count[static_cast<std::size_t>(b)];
    }
    int64_t most = 1;
    for (int64_t c : count) most = c > most ? c : most;
    return most;
  }

  // One attempt of stream s at cycle t; returns true if an instruction executed or started.
  bool attempt(int s, int64_t t) {
    StreamState& ss = st[static_cast<std::size_t>(s)];
    Op& o = ss.ops[static_cast<std::size_t>(ss.pc)];
    ss.f_next = t + 1;
    if (!o.datapath) {
      switch (o.op) {
        case Opcode::Nop:
          break;
        case Opcode::Halt:
          ss.halted = true;
          ss.halt_t = t;
          ++res.control[static_cast<std::size_t>(s)];
          return true;
        case Opcode::Loop: {
          if (static_cast<int>(ss.loops.size()) >= isa::kLoopDepth) fail(s, t, "loops nested deeper than 4");
          const int64_t body = o.f.v[isa::fld::kLoopBody];
          ss.loops.push_back({ss.pc + 1, ss.pc + body, o.f.v[isa::fld::kLoopCount], ss.pc == ss.window_pc});
          break;
        }
        case Opcode::Seti: {
          const auto ar = static_cast<std::size_t>(o.f.v[isa::fld::kSetiAr]);
          ss.ar[ar] = o.f.v[isa::fld::kSetiImm];
          ss.ar_tile[ar] = 0;
          break;
        }
        case Opcode::Addi: {
          const auto ar = static_cast<std::size_t>(o.f.v[isa::fld::kAddiAr]);
          const int64_t mod = o.f.v[isa::fld::kAddiMod];
          int64_t r = ss.ar[ar] + o.f.v[isa::fld::kAddiImm];
          if (mod != 0) {
            if (r >= mod)
              r -= mod;
            else if (r < 0)
              r += mod;
          }
          ss.ar[ar] = static_cast<int32_t>(static_cast<uint32_t>(r));
          break;
        }
        case Opcode::Tile: {
          const auto ar = static_cast<std::size_t>(o.f.v[isa::fld::kTileAr]);
          ss.ar[ar] = o.f.v[isa::fld::kTileBase];
          ss.ar_tile[ar] = o.f.v[isa::fld::kTileStride];
          break;
        }
        case Opcode::Signal:
          signal(t, static_cast<int>(o.f.v[isa::fld::kSignalSem]));
          break;
        case Opcode::Wait: {
          auto& c = sem[static_cast<std::size_t>(o.f.v[isa::fld::kWaitSem])];
          if (c == 0) {
            ss.block_sem = static_cast<int>(o.f.v[isa::fld::kWaitSem]);
            return false;
          }
          --c;
          break;
        }
        default:
          fail(s, t, "unexpected control instruction");
      }
      ++res.control[static_cast<std::size_t>(s)];
      advance(ss);
      return true;
    }
    // Datapath.
    if (t < ss.b_free || (o.op == Opcode::Sync && t < ss.last_done)) return false;
    if (o.wait >= 0) {
      auto& c = sem[static_cast<std::size_t>(o.wait)];
      if (c == 0) {
        ss.block_sem = o.wait;
        return false;
      }
      --c;
    }
    int64_t busy = o.busy, contention = 1;
    if (o.op == Opcode::Dma) {
      contention = dma_contention(ss, o);
      busy = isa::busy_cycles(o.f, cfg, contention);
      if (contention > 1) res.contention_cycles += busy - isa::busy_cycles(o.f, cfg, 1);
    }
    if (opt.jitter > 0) {
      rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
      busy += static_cast<int64_t>((rng_state >> 33) % static_cast<uint64_t>(opt.jitter + 1));
    }
    const int64_t done = t + busy + o.tail;
    ss.b_free = t + busy;
    ss.last_done = std::max(ss.last_done, done);
    last_done_all = std::max(last_done_all, done);
    for (int sg : o.sig)
      if (sg >= 0) signal(done, sg);
    res.busy[static_cast<std::size_t>(s)] += busy;
    res.busy_by_cat[static_cast<std::size_t>(s)][static_cast<std::size_t>(o.cat)] += busy;
    ++res.datapath[static_cast<std::size_t>(s)];
    if (s == static_cast<int>(Stream::Mac)) {
      const auto c = static_cast<std::size_t>(o.cat);
      res.mac_busy[c] += busy;
      const int64_t idle = t - mac_prev_end;
      if (idle > 0) {
        res.mac_idle[c] += idle;
        res.mac_idle_by_sem[static_cast<std::size_t>(ss.block_sem >= 0 ? ss.block_sem : isa::kSemCount)] += idle;
      }
      mac_prev_end = t + busy;
      if (o.op == Opcode::Mvm) res.mac_rows += o.f.v[isa::fld::kMvmRows];
    }
    ss.block_sem = -1;
    if (on_issue && *on_issue) {
      Issue is;
      is.stream = static_cast<Stream>(s);
      is.pc = ss.pc;
      is.f = &o.f;
      for (int k = 0; k < 2; ++k) {
        const auto [ar, off] = o.slot[static_cast<std::size_t>(k)];
        if (ar < 0) continue;
        const auto r = static_cast<std::size_t>(o.f.v[static_cast<std::size_t>(ar)]);
        is.addr[static_cast<std::size_t>(k)] = ss.ar[r] + o.f.v[static_cast<std::size_t>(off)];
        is.addr_tile_stride[static_cast<std::size_t>(k)] = ss.ar_tile[r];
      }
      is.start = t;
      is.busy = busy;
      is.done = done;
      is.contention = contention;
      (*on_issue)(is);
    }
    advance(ss);
    return true;
  }

  // ------------------------------------------------------------------ periodicity
  struct Snapshot {
    std::vector<int64_t> key;  // relative state (comparable)
    int64_t t = 0;
    TimingResult stats;
    std::array<std::array<int64_t, isa::kArCount>, isa::kStreams> ar{};
  };

  Snapshot snapshot(int64_t t) const {
    Snapshot sn;
    sn.t = t;
    sn.stats = res;
    auto& k = sn.key;
    for (int s = 0; s < isa::kStreams; ++s) {
      const StreamState& ss = st[static_cast<std::size_t>(s)];
      k.insert(k.end(), {ss.pc, ss.halted ? 1 : 0, ss.f_next - t, ss.b_free - t, ss.last_done - t,
                         static_cast<int64_t>(ss.loops.size())});
      for (const Frame& f : ss.loops) k.insert(k.end(), {f.first, f.last, f.window ? -1 : f.left});
      sn.ar[static_cast<std::size_t>(s)] = ss.ar;
    }
    for (int64_t v : sem) k.push_back(v);
    auto copy = arrivals;
    std::vector<std::pair<int64_t, int>> pend;
    while (!copy.empty()) {
      pend.emplace_back(copy.top().t - t, copy.top().sem);
      copy.pop();
    }
    for (auto& [dt, sm] : pend) k.insert(k.end(), {dt, sm});
    return sn;
  }

  // Shifts the machine forward by `n` windows of `dt` cycles, applying the per-window deltas.
  void jump(int64_t n, int64_t dt, const Snapshot& a, const Snapshot& b) {
    for (int s = 0; s < isa::kStreams; ++s) {
      StreamState& ss = st[static_cast<std::size_t>(s)];
      ss.f_next += n * dt;
      ss.b_free += n * dt;
      ss.last_done += n * dt;
      for (Frame& f : ss.loops)
        if (f.window) f.left -= n;
      for (int r = 0; r < isa::kArCount; ++r)
        ss.ar[static_cast<std::size_t>(r)] += n * (b.ar[static_cast<std::size_t>(s)][static_cast<std::size_t>(r)] -
                                                   a.ar[static_cast<std::size_t>(s)][static_cast<std::size_t>(r)]);
    }
    std::vector<Arrival> pend;
    while (!arrivals.empty()) {
      pend.push_back(arrivals.top());
      arrivals.pop();
    }
    for (auto p : pend) arrivals.push({p.t + n * dt, p.sem});
    last_done_all += n * dt;
    mac_prev_end += n * dt;
    auto add = [n](auto& dst, const auto& x, const auto& y) {
      for (std::size_t i = 0; i < dst.size(); ++i) dst[i] += n * (y[i] - x[i]);
    };
    add(res.busy, a.stats.busy, b.stats.busy);
    add(res.datapath, a.stats.datapath, b.stats.datapath);
    add(res.control, a.stats.control, b.stats.control);
    add(res.mac_busy, a.stats.mac_busy, b.stats.mac_busy);
    for (std::size_t u = 0; u < res.busy_by_cat.size(); ++u)
      add(res.busy_by_cat[u], a.stats.busy_by_cat[u], b.stats.busy_by_cat[u]);
    add(res.mac_idle, a.stats.mac_idle, b.stats.mac_idle);
    add(res.mac_idle_by_sem, a.stats.mac_idle_by_sem, b.stats.mac_idle_by_sem);
    res.mac_rows += n * (b.stats.mac_rows - a.stats.mac_rows);
    res.contention_cycles += n * (b.stats.contention_cycles - a.stats.contention_cycles);
    res.windows_extrapolated += n;
  }

  void record_window(const Snapshot& a, const Snapshot& b) {
    res.window_cycles = b.t - a.t;
    for (std::size_t u = 0; u < res.busy_by_cat.size(); ++u)
      for (std::size_t c = 0; c < res.busy_by_cat[u].size(); ++c)
        res.window_busy_by_cat[u][c] = b.stats.busy_by_cat[u][c] - a.stats.busy_by_cat[u][c];
    for (std::size_t c = 0; c < res.window_mac_busy.size(); ++c) {
      res.window_mac_busy[c] = b.stats.mac_busy[c] - a.stats.mac_busy[c];
      res.window_mac_idle[c] = b.stats.mac_idle[c] - a.stats.mac_idle[c];
    }
    for (std::size_t c = 0; c < res.window_mac_idle_by_sem.size(); ++c)
      res.window_mac_idle_by_sem[c] = b.stats.mac_idle_by_sem[c] - a.stats.mac_idle_by_sem[c];
  }

  TimingResult run() {
    const auto mac = static_cast<std::size_t>(Stream::Mac);
    const int64_t win_body = st[mac].window_pc >= 0 ? st[mac].window_pc + 1 : -1;
    std::vector<Snapshot> snaps;
    bool jumped = false;
    bool at_window = false;  // the MAC has just reached the first instruction of a window
    for (;;) {
      int64_t t = kNever;
      for (int s = 0; s < isa::kStreams; ++s) t = std::min(t, next_time(s));
      if (t >= kNever) {
        bool all = true;
        for (const auto& ss : st) all = all && ss.halted;
        if (all) break;
        std::string who;
        for (int s = 0; s < isa::kStreams; ++s) {
          const auto& ss = st[static_cast<std::size_t>(s)];
          if (ss.halted) continue;
          who += fmt::format(" {} at instruction {} (waiting on s{})", isa::stream_name(static_cast<Stream>(s)), ss.pc,
                             ss.block_sem);
        }
        throw CompileError("timing: deadlock:" + who);
      }
      if (t > opt.max_cycles) throw CompileError(fmt::format("timing: no end after {} cycles", opt.max_cycles));
      apply_arrivals(t);
      for (int s = 0; s < isa::kStreams; ++s) {
        if (next_time(s) > t) continue;
        if (s == static_cast<int>(mac) && at_window) {
          // One snapshot per window, at the MAC's first attempt in it (the same point of every
          // window), so consecutive snapshots compare like with like.
          at_window = false;
          snaps.push_back(snapshot(t));
          ++res.windows_simulated;
          const std::size_t n = snaps.size();
          if (n >= 2) record_window(snaps[n - 2], snaps[n - 1]);
          if (opt.extrapolate && !jumped && n >= 3 && snaps[n - 1].key == snaps[n - 2].key) {
            const int64_t left = st[mac].loops.back().left;  // iterations left, this one included
            if (left > 1) {
              const int64_t dt = snaps[n - 1].t - snaps[n - 2].t;
              jump(left - 1, dt, snaps[n - 2], snaps[n - 1]);
              jumped = true;
              t += (left - 1) * dt;
              apply_arrivals(t);
            }
          }
          if (next_time(s) > t) continue;
        }
        if (const auto [need, r0] = needs(s); need >= 0 && t > r0) st[static_cast<std::size_t>(s)].block_sem = need;
        const bool moved = attempt(s, t);
        if (moved && s == static_cast<int>(mac) && win_body >= 0) {
          const StreamState& ss = st[mac];
          at_window = ss.pc == win_body && !ss.loops.empty() && ss.loops.back().window;
        }
      }
    }
    int64_t end = last_done_all;
    for (const auto& ss : st) end = std::max(end, ss.halt_t + 1);
    res.cycles = end;
    return res;
  }
};

Engine::Engine(const isa::Program& p, const isa::AccelConfig& cfg, TimingOptions opt)
    : impl_(new Impl(p, cfg, std::move(opt))) {}
Engine::~Engine() { delete impl_; }
TimingResult Engine::run() {
  impl_->on_issue = &on_issue;
  return impl_->run();
}

}  // namespace ntr::compiler
