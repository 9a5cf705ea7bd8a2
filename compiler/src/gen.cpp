#include "gen.h"

#include <algorithm>
#include <map>
#include <unordered_map>

#include <fmt/format.h>

#include "ntr/compiler/error.h"

namespace ntr::compiler {

using isa::Stream;

const ChannelInfo& channel_info(int ch) {
  static const ChannelInfo k[] = {
      {"w_full", Stream::Dma, Stream::Mac, 0},    {"w_free", Stream::Mac, Stream::Dma, 2},
      {"a_full0", Stream::Mac, Stream::Ppu, 0},   {"a_full1", Stream::Mac, Stream::Ppu, 0},
      {"a_free0", Stream::Ppu, Stream::Mac, 1},   {"a_free1", Stream::Ppu, Stream::Mac, 1},
      {"u_ready", Stream::Ppu, Stream::Mac, 0},   {"h_ready0", Stream::Ppu, Stream::Mac, 0},
      {"h_ready1", Stream::Ppu, Stream::Mac, 0},  {"x_loaded", Stream::Dma, Stream::Mac, 0},
      {"x_free", Stream::Mac, Stream::Dma, 1},    {"y_loaded0", Stream::Dma, Stream::Mac, 0},
      {"y_loaded1", Stream::Dma, Stream::Mac, 0}, {"y_free0", Stream::Mac, Stream::Dma, 1},
      {"y_free1", Stream::Mac, Stream::Dma, 1},   {"s_ready0", Stream::Ppu, Stream::Dma, 0},
      {"s_ready1", Stream::Ppu, Stream::Dma, 0},  {"s_done0", Stream::Dma, Stream::Ppu, 0},
      {"s_done1", Stream::Dma, Stream::Ppu, 0},   {"p_loaded0", Stream::Dma, Stream::Ppu, 0},
      {"p_loaded1", Stream::Dma, Stream::Ppu, 0}, {"cb_loaded", Stream::Dma, Stream::Ppu, 0},
      {"hy_loaded", Stream::Dma, Stream::Mac, 0}, {"hy_free", Stream::Mac, Stream::Dma, 1},
      {"a2_ready", Stream::Ppu, Stream::Mac, 0},  {"res_ready", Stream::Ppu, Stream::Dma, 0},
      {"res_done", Stream::Dma, Stream::Ppu, 1},
  };
  static_assert(std::size(k) == kChannelCount, "one entry per channel");
  static_assert(kChannelCount <= isa::kSemCount, "every channel needs a semaphore");
  return k[ch];
}

namespace {

// What a chain does with its hidden state after a step.
enum class Out { None, Store, CombineStore, CombineMiddle };

struct ChainStep {
  bool active = false;
  int layer = 0, set = 0;
  int64_t x = 0;          // LIB address of the step's input row
  int x_width = 0;        // its width (the layer's input)
  int x_channel = -1;     // channel announcing the input row (U ring, layer-1 row, h of chain 0)
  int x_free = -1;        // channel released after the last read of the input row
  int h_consumers = 0;    // MVM readers of this step's h (signals on h_ready)
  Out out = Out::None;
  int64_t row = 0;        // spill byte address of the output row (tile 0)
  int64_t row_tile = 0;   // per-tile stride of that address
  int64_t row_off = 0;    // byte offset inside the row (concatenated directions)
};

class Gen {
 public:
  explicit Gen(const Plan& p) : p_(p), m_(p.m), cfg_(p.cfg) {
    for (int c = 0; c < kChannelCount; ++c)
      for (int i = 0; i < channel_info(c).credits; ++i) produced_[c].push_back(0);
  }

  void window(int w, WindowCode& out) {
    cur_ = &out;
    w_ = w;
    if (m_.bidirectional())
      bi_window();
    else
      uni_window();
    finish_window();
  }

  std::array<int, kChannelCount> counts_now() const {
    std::array<int, kChannelCount> c{};
    for (int ch = 0; ch < kChannelCount; ++ch)
      c[ch] = static_cast<int>(static_cast<int64_t>(produced_[ch].size()) - consumed_[ch]);
    return c;
  }
  int64_t mac_time() const { return mac_t_; }

 private:
  // ---------------------------------------------------------------- tokens and ops
  Token consume(int ch) {
    const int64_t id = consumed_[ch]++;
    if (id >= static_cast<int64_t>(produced_[ch].size()))
      throw CompileError(fmt::format("internal: channel {} consumed before it is produced", channel_info(ch).name));
    return {ch, id};
  }
  int64_t ready(const std::vector<Token>& ws) const {
    int64_t t = 0;
    for (const Token& k : ws) t = std::max(t, produced_[k.ch][static_cast<std::size_t>(k.id)]);
    return t;
  }
  GenOp& push(Stream s, GenOp op, std::vector<int> sig_channels, int64_t done) {
    for (int ch : sig_channels) {
      op.sigs.push_back({ch, static_cast<int64_t>(produced_[ch].size())});
      produced_[ch].push_back(done + isa::kSemLatency);
    }
    if (op.sigs.size() > 3) throw CompileError("internal: more than three signals on one instruction");
    op.seq = seq_++;
    op.unit = unit_;
    op.cat = cat_;
    auto& v = cur_->ops[static_cast<std::size_t>(s)];
    v.push_back(std::move(op));
    return v.back();
  }

  void begin_unit(std::string name) {
    unit_ = static_cast<int>(unit_start_.size());
    cur_->unit_names.push_back(std::move(name));
    unit_start_.push_back(mac_t_);
  }

  // ---------------------------------------------------------------- MAC
  struct JobUse {
    int job = -1;
    int64_t half_row = 0;
    Token full;
    int mvms_left = 0;
  };
  JobUse open_job(int job, int uses, const std::string& note) {
    const Job& j = p_.jobs[static_cast<std::size_t>(job)];
    JobUse u;
    u.job = job;
    u.half_row = (job_count_ % 2) * p_.half_rows;
    ++job_count_;
    u.mvms_left = uses;
    // The load waits for the half to be free: the release of the block two loads back.
    GenOp op;
    isa::Dma d;
    d.dir = isa::Dir::Ld;
    d.g_space = isa::Gspace::Gwb;
    d.l_space = isa::Lspace::Lwb;
    d.g_off = j.gwb;
    d.l_off = u.half_row;
    d.len = j.rows;
    d.row_bytes = j.row_bytes;
    op.f = isa::to_fields(d);
    op.addr = {{isa::fld::kDmaGOff, j.gwb, 0, 0}, {isa::fld::kDmaLOff, u.half_row, 0, 0}};
    op.waits = {consume(kWFree)};
    op.t = ready(op.waits);
    op.note = "load " + j.name + (note.empty() ? "" : " (" + note + ")");
    const int64_t done = op.t + isa::busy_cycles(op.f, cfg_);
    GenOp& g = push(Stream::Dma, std::move(op), {kWFull}, done);
    u.full = g.sigs[0];
    return u;
  }

  // One MVM; returns its done time.
  // One MVM into `bank`; a clr MVM starts an accumulation and waits for the bank to be drained.
  int64_t mvm(JobUse& job, int64_t x, int64_t w_row_in_job, int rows, bool wide, bool clr, int bank,
              std::vector<Token> extra_waits, std::vector<int> extra_sigs, const std::string& note) {
    isa::Mvm v;
    v.x_off = x;
    v.w_off = job.half_row + w_row_in_job;
    v.rows = rows;
    v.wide = wide;
    v.clr = clr;
    v.bank = bank;
    if (clr) extra_waits.insert(extra_waits.begin(), consume(kAFree0 + bank));
    GenOp op;
    op.f = isa::to_fields(v);
    op.addr = {{isa::fld::kMvmXOff, x, 0, 0}, {isa::fld::kMvmWOff, v.w_off, 0, 0}};
    if (job.full.ch == kWFull && job.full.id >= 0) {
      // First use of the block waits for its load.
      op.waits.push_back(consume(kWFull));
      job.full.id = -1;
    }
    for (const Token& t : extra_waits) op.waits.push_back(t);
    op.t = std::max(mac_t_, ready(op.waits));
    const int64_t busy = isa::busy_cycles(op.f, cfg_);
    const int64_t done = op.t + busy + cfg_.mac_latency;
    mac_t_ = op.t + busy;
    if (--job.mvms_left == 0) extra_sigs.insert(extra_sigs.begin(), kWFree);
    op.note = note;
    push(Stream::Mac, std::move(op), extra_sigs, done);
    return done;
  }

  // ---------------------------------------------------------------- PPU
  int64_t ppu(isa::Ppu v, std::vector<Token> waits, std::vector<int> sigs, const std::string& note) {
    GenOp op;
    op.f = isa::to_fields(v);
    if (v.a_space != isa::Asrc::Zero) op.addr.push_back({isa::fld::kPpuAOff, v.a_off, 0, 0});
    op.addr.push_back({isa::fld::kPpuDOff, v.d_off, 0, 0});
    op.waits = std::move(waits);
    op.t = std::max(ppu_t_, ready(op.waits));
    const int64_t busy = isa::busy_cycles(op.f, cfg_);
    ppu_t_ = op.t + busy;
    op.note = note;
    push(Stream::Ppu, std::move(op), sigs, op.t + busy);
    return ppu_t_;
  }
  int64_t psel(isa::Psel v, std::vector<Token> waits, std::vector<int> sigs, const std::string& note) {
    GenOp op;
    op.f = isa::to_fields(v);
    op.addr = {{isa::fld::kPselAOff, v.a_off, 0, 0}, {isa::fld::kPselDOff, v.d_off, 0, 0}};
    op.waits = std::move(waits);
    op.t = std::max(ppu_t_, ready(op.waits));
    const int64_t busy = isa::busy_cycles(op.f, cfg_);
    ppu_t_ = op.t + busy;
    op.note = note;
    push(Stream::Ppu, std::move(op), sigs, op.t + busy);
    return ppu_t_;
  }

  // ---------------------------------------------------------------- DMA (LIB transfers)
  int64_t dma_lib(isa::Dir dir, isa::Gspace gs, int64_t g, int64_t g_tile, int64_t g_win, int64_t l,
                  int64_t len, std::vector<Token> waits, std::vector<int> sigs, int64_t not_before,
                  const std::string& note) {
    isa::Dma d;
    d.dir = dir;
    d.g_space = gs;
    d.l_space = isa::Lspace::Lib;
    d.g_off = g;
    d.l_off = l;
    d.len = len;
    GenOp op;
    op.f = isa::to_fields(d);
    op.addr = {{isa::fld::kDmaGOff, g, g_tile, g_win}, {isa::fld::kDmaLOff, l, 0, 0}};
    op.waits = std::move(waits);
    op.t = std::max(not_before, ready(op.waits));
    const int64_t done = op.t + isa::busy_cycles(op.f, cfg_);
    op.note = note;
    push(Stream::Dma, std::move(op), sigs, done);
    return done;
  }

  // Spill addresses: the per-tile area in the GWB or in the tile's GIB bank.
  isa::Gspace spill_space() const { return p_.spill_in_gib ? isa::Gspace::Gib : isa::Gspace::Gwb; }
  int64_t y0_row(int pos) const {
    return p_.spill_base + p_.spill_y0 + static_cast<int64_t>(pos) * m_.out_width;
  }
  int64_t y1_row(int target) const {
    return p_.spill_base + p_.spill_y1 + static_cast<int64_t>(target) * m_.out_width;
  }
  // The raw input row of window position `pos` (this window; tile 0).
  int64_t gib_row(int pos) const {
    return p_.gib_in + (static_cast<int64_t>(w_) * m_.target + pos) * m_.row_bytes;
  }
  int64_t win_in_stride() const { return static_cast<int64_t>(m_.target) * m_.row_bytes; }

  // ---------------------------------------------------------------- projection burst
  // A one-row accumulation that only releases a weight block loaded to keep the LWB halves in
  // step (an empty second copy); drained at once.
  void dummy_use(JobUse& job, int bank) {
    const Cat saved = cat_;
    cat_ = Cat::Other;
    mvm(job, 0, 0, 1, false, true, bank, {}, {kAFull0 + bank}, "keeps the LWB halves in step");
    isa::Ppu drain;
    drain.n = 1;
    drain.a_space = isa::Asrc::Acc;
    drain.a_off = static_cast<int64_t>(bank) * p_.lanes;
    drain.d_space = isa::Pdst::Vs;
    drain.d_off = p_.vs_t[0];
    ppu(drain, {consume(kAFull0 + bank)}, {kAFree0 + bank}, "drain");
    cat_ = saved;
  }

  // Computes the projection rows of `positions` (window positions) into U ring slots 0.. in
  // order. x_blocks: (first position, rows) loaded to consecutive blocks of p.burst rows.
  void burst(const std::vector<int>& positions, const std::vector<std::pair<int, int>>& x_blocks) {
    cat_ = Cat::Proj;
    const int n = static_cast<int>(positions.size());
    std::vector<int64_t> x_of(static_cast<std::size_t>(m_.length), -1);
    int64_t lib = p_.lib_x;
    const Token xfree = consume(kXFree);
    int64_t first_t = 0;
    for (std::size_t b = 0; b < x_blocks.size(); ++b) {
      const auto [first, rows] = x_blocks[b];
      for (int r = 0; r < rows; ++r)
        x_of[static_cast<std::size_t>(first + r)] = lib + static_cast<int64_t>(r) * m_.row_bytes;
      std::vector<Token> ws;
      if (b == 0) ws.push_back(xfree);
      std::vector<int> sg;
      if (b + 1 == x_blocks.size()) sg.push_back(kXLoaded);
      // Every block of the burst follows the first, which waits for the buffer to be free.
      dma_lib(isa::Dir::Ld, isa::Gspace::Gib, gib_row(first), p_.bank_bytes, win_in_stride(), lib,
              static_cast<int64_t>(rows) * m_.row_bytes, ws, sg, first_t,
              fmt::format("raw inputs, positions {}..{}", first, first + rows - 1));
      if (b == 0) first_t = cur_->ops[static_cast<std::size_t>(Stream::Dma)].back().t + 1;
      lib += static_cast<int64_t>(p_.burst) * m_.row_bytes;
    }
    const Token xloaded = consume(kXLoaded);
    // Runs of features of equal width: one MVM each (wide runs take two cycles per row).
    struct Run {
      int first, count, width, byte;
    };
    std::vector<Run> runs;
    int byte = 0;
    for (int j = 0; j < m_.features; ++j) {
      const int wdt = m_.feature_bytes[static_cast<std::size_t>(j)];
      if (!runs.empty() && runs.back().width == wdt)
        ++runs.back().count;
      else
        runs.push_back({j, 1, wdt, byte});
      byte += wdt;
    }
    const int nruns = static_cast<int>(runs.size());
    const int half = (n + 1) / 2;
    for (int part = 0; part < 2; ++part) {
      const int lo = part == 0 ? 0 : half, hi = part == 0 ? half : n;
      JobUse job = open_job(p_.proj_job[0], std::max(1, (hi - lo) * nruns),
                            part == 0 ? "first copy" : "second copy");
      if (hi == lo) {
        dummy_use(job, 0);
        continue;
      }
      for (int i = lo; i < hi; ++i) {
        const int pos = positions[static_cast<std::size_t>(i)];
        const int bank = i % 2;
        const int64_t x = x_of[static_cast<std::size_t>(pos)];
        for (int r = 0; r < nruns; ++r) {
          std::vector<Token> ws;
          if (i == 0 && r == 0) ws.push_back(xloaded);
          std::vector<int> sg;
          if (r + 1 == nruns) sg.push_back(kAFull0 + bank);
          if (i == n - 1 && r + 1 == nruns) sg.push_back(kXFree);
          const Run& run = runs[static_cast<std::size_t>(r)];
          mvm(job, x + run.byte, run.first, run.count, run.width == 2, r == 0, bank, ws, sg,
              fmt::format("input_proj of position {}", pos));
        }
        isa::Ppu u;
        u.n = m_.proj;
        u.a_space = isa::Asrc::Acc;
        u.a_off = static_cast<int64_t>(bank) * p_.lanes;
        u.rq = isa::Rq::Row;
        u.cb_off = p_.cb_proj;
        u.sat1 = isa::Sat1::S8;
        u.d_space = isa::Pdst::Lib8;
        u.d_off = p_.lib_u + static_cast<int64_t>(i) * m_.proj;
        ppu(u, {consume(kAFull0 + bank)}, {kAFree0 + bank, kUReady}, fmt::format("u of position {}", pos));
      }
    }
  }

  // ---------------------------------------------------------------- LSTM step
  void zero_chain(int d, int h_consumers) {
    cat_ = Cat::Lstm;
    isa::Ppu z;
    z.n = m_.hidden;
    z.a_space = isa::Asrc::Zero;
    z.d_space = isa::Pdst::Vs;
    z.d_off = p_.vs_c[d];
    ppu(z, {}, {}, fmt::format("c = 0, chain {}", d));
    z.d_space = isa::Pdst::Lib8;
    z.d_off = p_.lib_h[d];
    std::vector<Token> ws;
    if (pending_[d]) {
      ws.push_back(consume(d ? kSDone1 : kSDone0));
      pending_[d] = false;
    }
    std::vector<int> sg(static_cast<std::size_t>(h_consumers), d ? kHReady1 : kHReady0);
    ppu(z, ws, sg, fmt::format("h = 0, chain {}", d));
  }

  // One LSTM step of up to two chains (bi: forward and backward; uni: layer 0 and layer 1 of the
  // wavefront). Chain d accumulates in bank d. With one shared weight set (tied directions) each
  // weight block serves both chains back to back.
  void step(const std::array<ChainStep, 2>& cs, const std::string& what) {
    cat_ = Cat::Lstm;
    const int G = 4 * m_.hidden, H = m_.hidden, N = p_.lanes;
    std::array<bool, 2> first_ih{true, true}, first_hh{true, true};
    bool first_mvm = true;
    std::array<Token, 2> xtok{};
    for (int d = 0; d < 2; ++d)
      if (cs[d].active && cs[d].x_channel >= 0) xtok[d] = consume(cs[d].x_channel);
    auto chunks_of = [&](int d, int part) {
      return part == 0 ? p_.ih_chunks[static_cast<std::size_t>(cs[d].layer)] : p_.hh_chunks[0];
    };
    auto pick = [&](const auto& table, int d, int c, int part, int q) {
      return table[static_cast<std::size_t>(cs[d].layer)][static_cast<std::size_t>(cs[d].set)][static_cast<std::size_t>(c)]
                  [static_cast<std::size_t>(part)][static_cast<std::size_t>(q)];
    };
    for (int c = 0; c < p_.gate_tiles; ++c) {
      for (int part = 0; part < 2; ++part) {
        int chunks = 0;
        for (int d = 0; d < 2; ++d)
          if (cs[d].active) chunks = std::max(chunks, chunks_of(d, part));
        for (int q = 0; q < chunks; ++q) {
          // Chains whose blocks are in the same job use it back to back (tied directions, or two
          // packed recurrent blocks); a job is loaded once for all its uses.
          std::array<int, 2> id{-1, -1};
          for (int d = 0; d < 2; ++d)
            if (cs[d].active && q < chunks_of(d, part)) id[d] = pick(p_.lstm_job, d, c, part, q);
          std::array<JobUse, 2> jobs;
          std::array<int, 2> job_of{-1, -1};
          for (int d = 0; d < 2; ++d) {
            if (id[d] < 0) continue;
            if (d == 1 && id[1] == id[0]) {
              job_of[1] = 0;
              continue;
            }
            jobs[static_cast<std::size_t>(d)] = open_job(id[d], d == 0 && id[1] == id[0] ? 2 : 1, "");
            job_of[d] = d;
          }
          for (int d = 0; d < 2; ++d) {
            const ChainStep& ch = cs[d];
            if (id[d] < 0) continue;
            JobUse& job = jobs[static_cast<std::size_t>(job_of[d])];
            const int row0 = pick(p_.lstm_row, d, c, part, q);
            const int rows = std::min(p_.half_rows, (part == 0 ? ch.x_width : m_.hidden) - q * p_.half_rows);
            const int64_t x = (part == 0 ? ch.x : p_.lib_h[d]) + static_cast<int64_t>(q) * p_.half_rows;
            std::vector<Token> ws;
            std::vector<int> sg;
            if (part == 0 && first_ih[d]) {
              if (ch.x_channel >= 0) ws.push_back(xtok[d]);
              first_ih[d] = false;
            }
            if (part == 1 && first_hh[d]) {
              ws.push_back(consume(d ? kHReady1 : kHReady0));
              first_hh[d] = false;
            }
            const bool last_ih = part == 0 && c == p_.gate_tiles - 1 && q == chunks_of(d, 0) - 1;
            const bool last_acc = part == 1 && q == chunks_of(d, 1) - 1;
            if (last_acc) sg.push_back(kAFull0 + d);
            if (last_ih && ch.x_free >= 0) sg.push_back(ch.x_free);
            const bool starts = first_mvm;
            first_mvm = false;
            mvm(job, x, row0, rows, false, part == 0 && q == 0, d, ws, sg,
                fmt::format("{} chain {} {} tile {}", what, d, part == 0 ? "W_ih" : "W_hh", c));
            if (starts) cur_->ops[static_cast<std::size_t>(Stream::Mac)].back().step_start = true;
          }
        }
      }
      // Gate post-processing of this tile, chain by chain (the order the accumulations finish).
      for (int d = 0; d < 2; ++d) {
        const ChainStep& ch = cs[d];
        if (!ch.active) continue;
        const int cols = std::min(N, G - c * N);
        const int cb = p_.cb_lstm[static_cast<std::size_t>(ch.layer)][static_cast<std::size_t>(ch.set)];
        struct Seg {
          int gate, u0, u1;
        };
        std::vector<Seg> segs;
        for (int g = 0; g < 4; ++g) {
          const int lo = std::max(c * N, g * H), hi = std::min(c * N + cols, (g + 1) * H);
          if (lo < hi) segs.push_back({g, lo - g * H, hi - g * H});
        }
        for (std::size_t k = 0; k < segs.size(); ++k) {
          const Seg& s = segs[k];
          const bool last = k + 1 == segs.size();
          isa::Ppu v;
          v.n = s.u1 - s.u0;
          v.a_space = isa::Asrc::Acc;
          v.a_off = static_cast<int64_t>(d) * N + (s.gate * H + s.u0 - c * N);
          v.rq = isa::Rq::Row;
          v.cb_off = cb + s.gate * H + s.u0;
          v.sat1 = isa::Sat1::S16;
          v.d_space = isa::Pdst::Vs;
          std::vector<Token> ws;
          if (k == 0) ws.push_back(consume(kAFull0 + d));
          std::vector<int> sg;
          if (last) sg.push_back(kAFree0 + d);
          const std::string gn =
              fmt::format("{} chain {} gate {} units {}..{}", what, d, "ifgo"[s.gate], s.u0, s.u1 - 1);
          if (s.gate == 0) {  // t = sigmoid(i)
            v.act = isa::Act::Sig;
            v.d_off = p_.vs_t[d] + s.u0;
            ppu(v, ws, sg, gn);
          } else if (s.gate == 1) {  // c = rshr(sigmoid(f) * c, 15)
            v.act = isa::Act::Sig;
            v.mul = true;
            v.b_off = p_.vs_c[d] + s.u0;
            v.d_off = p_.vs_c[d] + s.u0;
            ppu(v, ws, sg, gn);
          } else if (s.gate == 2) {  // c = sat19(c + rshr(tanh(g) * t, 15)); t = tanh(c)
            v.act = isa::Act::Tanh;
            v.mul = true;
            v.b_off = p_.vs_t[d] + s.u0;
            v.add = true;
            v.sat2 = isa::Sat2::C19;
            v.d_off = p_.vs_c[d] + s.u0;
            ppu(v, ws, sg, gn);
            isa::Ppu tc;
            tc.n = v.n;
            tc.a_space = isa::Asrc::Vs;
            tc.a_off = p_.vs_c[d] + s.u0;
            tc.rq = isa::Rq::Shift;
            tc.rshift = 3;
            tc.sat1 = isa::Sat1::S16;
            tc.act = isa::Act::Tanh;
            tc.d_space = isa::Pdst::Vs;
            tc.d_off = p_.vs_t[d] + s.u0;
            ppu(tc, {}, {}, fmt::format("{} chain {} tanh(c) units {}..{}", what, d, s.u0, s.u1 - 1));
          } else {  // h = sat8(rshr(rshr(sigmoid(o) * t, 15), 8))
            v.act = isa::Act::Sig;
            v.mul = true;
            v.b_off = p_.vs_t[d] + s.u0;
            v.oshift = 8;
            v.sat2 = isa::Sat2::S8;
            v.d_space = isa::Pdst::Lib8;
            v.d_off = p_.lib_h[d] + s.u0;
            if (s.u0 == 0 && pending_[d]) {  // the previous step's h store must be finished
              ws.push_back(consume(d ? kSDone1 : kSDone0));
              pending_[d] = false;
            }
            if (s.u1 == H) {
              for (int i = 0; i < ch.h_consumers; ++i) sg.push_back(d ? kHReady1 : kHReady0);
              if (ch.out == Out::Store) sg.push_back(d ? kSReady1 : kSReady0);
            }
            const int64_t done = ppu(v, ws, sg, gn);
            if (s.u1 == H) h_done_[d] = done;
          }
        }
      }
    }
    // Outputs of the step.
    for (int d = 0; d < 2; ++d) {
      const ChainStep& ch = cs[d];
      if (!ch.active || ch.out == Out::None) continue;
      const int sready = d ? kSReady1 : kSReady0;
      if (ch.out == Out::Store) {
        const int64_t done = dma_lib(isa::Dir::St, spill_space(), ch.row + ch.row_off, ch.row_tile, 0, p_.lib_h[d],
                                     H, {consume(sready)}, {d ? kSDone1 : kSDone0}, 0,
                                     fmt::format("{} chain {} store h", what, d));
        pending_[d] = true;
        row_store_t_[ch.row] = std::max(row_store_t_[ch.row], done);
        continue;
      }
      // Combine the two directions: P = sat8(rshr(P + h, 1)), P being the partner's row (loaded)
      // or, when both directions reach the position in this step, chain 0's h.
      const int pl = d ? kPLoaded1 : kPLoaded0;
      std::vector<Token> combine_waits;
      if (ch.out == Out::CombineStore) {
        const int64_t nb = std::max(p_store_t_[d] + 1, row_store_t_[ch.row] + 1);
        dma_lib(isa::Dir::Ld, spill_space(), ch.row, ch.row_tile, 0, p_.lib_p[d], H, {}, {pl}, nb,
                fmt::format("{} chain {} load partner row", what, d));
        combine_waits.push_back(consume(pl));
      } else {
        isa::Ppu cp;
        cp.n = H;
        cp.a_space = isa::Asrc::Lib8;
        cp.a_off = p_.lib_h[0];
        cp.d_space = isa::Pdst::Lib8;
        cp.d_off = p_.lib_p[d];
        ppu(cp, {}, {}, fmt::format("{} copy chain 0 h", what));
      }
      isa::Ppu cb;
      cb.n = H;
      cb.a_space = isa::Asrc::Lib8;
      cb.a_off = p_.lib_h[d];
      cb.add = true;
      cb.oshift = 1;
      cb.sat2 = isa::Sat2::S8;
      cb.d_space = isa::Pdst::Lib8;
      cb.d_off = p_.lib_p[d];
      const int64_t done = ppu(cb, combine_waits, {sready}, fmt::format("{} chain {} combine directions", what, d));
      p_store_t_[d] = dma_lib(isa::Dir::St, spill_space(), ch.row, ch.row_tile, 0, p_.lib_p[d], H,
                              {consume(sready)}, {}, done + 1,
                              fmt::format("{} chain {} store combined row", what, d));
      row_store_t_[ch.row] = std::max(row_store_t_[ch.row], p_store_t_[d]);
    }
  }

  // ---------------------------------------------------------------- windows
  void bi_window() {
    const int L = m_.length, T = m_.target, C = m_.context();
    const int64_t spill_tile = p_.spill_in_gib ? p_.bank_bytes : p_.spill_stride;
    begin_unit("window start");
    for (int d = 0; d < 2; ++d) zero_chain(d, 1);
    for (int layer = 0; layer < 2; ++layer) {
      if (layer == 1) {
        begin_unit("layer 1 start");
        for (int d = 0; d < 2; ++d) zero_chain(d, 1);
      }
      for (int s = 0; s < L; ++s) {
        const int pf = s, pb = L - 1 - s;
        if (layer == 0 && s % p_.burst == 0) {
          const int k = std::min(p_.burst, L - s);
          begin_unit(fmt::format("layer 0 burst + step {}", s));
          std::vector<int> pos;
          for (int i = 0; i < k; ++i) {
            pos.push_back(s + i);
            pos.push_back(L - 1 - s - i);
          }
          burst(pos, {{s, k}, {L - s - k, k}});
        } else {
          begin_unit(fmt::format("layer {} step {}", layer, s));
        }
        std::array<ChainStep, 2> cs;
        for (int d = 0; d < 2; ++d) {
          ChainStep& c = cs[d];
          c.active = true;
          c.layer = layer;
          c.set = m_.tied ? 0 : d;
          const int pos = d == 0 ? pf : pb;
          c.h_consumers = s + 1 < L ? 1 : 0;
          if (layer == 0) {
            const int base = s - (s / p_.burst) * p_.burst;  // step index within the burst
            c.x = p_.lib_u + static_cast<int64_t>(2 * base + d) * m_.proj;
            c.x_width = m_.proj;
            c.x_channel = kUReady;
          } else {
            c.x = p_.lib_yin[d];
            c.x_width = m_.out_width;
            c.x_channel = d ? kYLoaded1 : kYLoaded0;
            c.x_free = d ? kYFree1 : kYFree0;
            // Load the input row (layer-0 output) for this step.
            const int64_t row = y0_row(pos);
            dma_lib(isa::Dir::Ld, spill_space(), row, spill_tile, 0, p_.lib_yin[d], m_.out_width,
                    {consume(d ? kYFree1 : kYFree0)}, {c.x_channel}, row_store_t_[row] + 1,
                    fmt::format("layer 1 step {} chain {} input row {}", s, d, pos));
          }
          const bool wanted = layer == 0 || (pos >= C && pos < C + T);
          if (!wanted) continue;
          c.row = layer == 0 ? y0_row(pos) : y1_row(pos - C);
          c.row_tile = spill_tile;
          if (!m_.tied) {
            c.out = Out::Store;
            c.row_off = static_cast<int64_t>(d) * m_.hidden;
          } else if (pf < pb) {
            c.out = Out::Store;
          } else if (pf > pb) {
            c.out = Out::CombineStore;
          } else {
            c.out = d == 1 ? Out::CombineMiddle : Out::None;
          }
        }
        step(cs, fmt::format("layer {} step {}", layer, s));
      }
    }
    heads();
  }

  void uni_window() {
    const int T = m_.target, C = m_.context();
    const int G = C + T;  // positions computed: the right context cannot influence any output
    const int64_t spill_tile = p_.spill_in_gib ? p_.bank_bytes : p_.spill_stride;
    begin_unit("window start");
    zero_chain(0, 1);
    zero_chain(1, 1);
    for (int g = 0; g <= G; ++g) {
      if (g < G && g % p_.burst == 0) {
        const int k = std::min(p_.burst, G - g);
        begin_unit(fmt::format("burst + group {}", g));
        std::vector<int> pos;
        for (int i = 0; i < k; ++i) pos.push_back(g + i);
        burst(pos, {{g, k}});
      } else {
        begin_unit(fmt::format("group {}", g));
      }
      std::array<ChainStep, 2> cs;
      if (g < G) {  // layer 0 at position g
        ChainStep& c = cs[0];
        c.active = true;
        c.layer = 0;
        c.x = p_.lib_u + static_cast<int64_t>(g % p_.burst) * m_.proj;
        c.x_width = m_.proj;
        c.x_channel = kUReady;
        c.h_consumers = (g + 1 < G ? 1 : 0) + 1;  // chain 0's next step, chain 1 in the next group
      }
      if (g >= 1) {  // layer 1 at position g - 1
        ChainStep& c = cs[1];
        const int pos = g - 1;
        c.active = true;
        c.layer = 1;
        c.x = p_.lib_h[0];
        c.x_width = m_.hidden;
        c.x_channel = kHReady0;
        c.h_consumers = g < G ? 1 : 0;
        if (pos >= C && pos < C + T) {
          c.out = Out::Store;
          c.row = y1_row(pos - C);
          c.row_tile = spill_tile;
        }
      }
      step(cs, fmt::format("group {}", g));
    }
    heads();
  }

  void heads() {
    const int T = m_.target, Y = m_.out_width, A = m_.head_hidden, D = m_.design_count(), N = p_.lanes;
    const int Q = p_.head_chunk;
    const int64_t spill_tile = p_.spill_in_gib ? p_.bank_bytes : p_.spill_stride;
    const int AD = A * D;
    cat_ = Cat::Heads;
    for (int j0 = 0; j0 < T; j0 += Q) {
      const int q = std::min(Q, T - j0);
      begin_unit(fmt::format("heads, targets {}..{}", j0, j0 + q - 1));
      int64_t nb = 0;
      for (int i = 0; i < q; ++i) nb = std::max(nb, row_store_t_[y1_row(j0 + i)] + 1);
      dma_lib(isa::Dir::Ld, spill_space(), y1_row(j0), spill_tile, 0, p_.lib_hy, static_cast<int64_t>(q) * Y,
              {consume(kHyFree)}, {kHyLoaded}, nb, fmt::format("head inputs, targets {}..{}", j0, j0 + q - 1));
      const Token hy = consume(kHyLoaded);
      bool first = true;
      int acc = 0;  // accumulations of this chunk: bank acc % 2
      // Blocks of the chunk: the head tiles, then the cls_fc2 row chunks; an odd count gets a
      // second copy of the last block (serving the second half of the positions) so every chunk
      // loads an even number of blocks.
      struct Use {
        int kind;  // >= 0: head tile; < 0: ~cls_fc2 chunk
        int lo, hi;
      };
      std::vector<Use> uses;
      for (int c = 0; c < p_.head_tiles; ++c) uses.push_back({c, 0, q});
      for (int k = 0; k < p_.f2_chunks; ++k) uses.push_back({~k, 0, q});
      if (uses.size() % 2) {
        Use second = uses.back();
        uses.back().hi = q / 2;
        second.lo = q / 2;
        uses.push_back(second);
      }
      for (const Use& u : uses) {
        const bool f2 = u.kind < 0;
        const int jid = f2 ? p_.f2_job[static_cast<std::size_t>(~u.kind)] : p_.head_job[static_cast<std::size_t>(u.kind)];
        JobUse job = open_job(jid, std::max(1, u.hi - u.lo), "");
        if (u.hi == u.lo) {
          dummy_use(job, acc++ % 2);
          continue;
        }
        for (int i = u.lo; i < u.hi; ++i) {
          const int bank = acc++ % 2;
          std::vector<Token> ws;
          if (first) {
            ws.push_back(hy);
            first = false;
          }
          std::vector<int> sg{kAFull0 + bank};
          if (!f2) {
            if (u.kind == p_.head_tiles - 1 && i == q - 1) sg.push_back(kHyFree);
            mvm(job, p_.lib_hy + static_cast<int64_t>(i) * Y, 0, Y, false, true, bank, ws, sg,
                fmt::format("heads tile {} target {}", u.kind, j0 + i));
            const int c0 = u.kind * N, c1 = std::min(p_.head_cols, c0 + N);
            std::vector<Token> aw{consume(kAFull0 + bank)};
            const int f_lo = c0, f_hi = std::min(c1, AD);
            const int r_lo = std::max(c0, AD), r_hi = c1;
            const bool has_reg = r_lo < r_hi;
            if (f_lo < f_hi) {  // a = sat8(requant(max(acc + b, 0)))
              isa::Ppu v;
              v.n = f_hi - f_lo;
              v.a_space = isa::Asrc::Acc;
              v.a_off = static_cast<int64_t>(bank) * N + (f_lo - c0);
              v.rq = isa::Rq::Row;
              v.relu = true;
              v.cb_off = p_.cb_fc1[0] + f_lo;
              v.sat1 = isa::Sat1::S8;
              v.d_space = isa::Pdst::Lib8;
              v.d_off = p_.lib_a + static_cast<int64_t>(i) * AD + f_lo;
              std::vector<int> s2;
              if (!has_reg) s2.push_back(kAFree0 + bank);
              if (f_hi == AD) s2.push_back(kA2Ready);
              ppu(v, aw, s2, fmt::format("cls_fc1 target {} columns {}..{}", j0 + i, f_lo, f_hi - 1));
              aw.clear();
            }
            if (has_reg) {  // r = acc + b (int32)
              isa::Ppu v;
              v.n = r_hi - r_lo;
              v.a_space = isa::Asrc::Acc;
              v.a_off = static_cast<int64_t>(bank) * N + (r_lo - c0);
              v.rq = isa::Rq::Row;
              v.cb_off = p_.cb_reg[0] + (r_lo - AD);
              v.d_space = isa::Pdst::Vs;
              v.d_off = p_.vs_r + static_cast<int64_t>(i) * 2 * D + (r_lo - AD);
              ppu(v, aw, {kAFree0 + bank}, fmt::format("regressors target {}", j0 + i));
            }
            continue;
          }
          const int k = ~u.kind;
          if (k == 0) ws.push_back(consume(kA2Ready));
          const int rows = p_.jobs[static_cast<std::size_t>(jid)].rows;
          mvm(job, p_.lib_a + static_cast<int64_t>(i) * AD + static_cast<int64_t>(k) * p_.half_rows, 0, rows,
              false, true, bank, ws, sg, fmt::format("cls_fc2 rows {}.. target {}", k * p_.half_rows, j0 + i));
          isa::Ppu v;  // z = acc + b (first chunk) or z += acc
          v.n = 2 * D;
          v.a_space = isa::Asrc::Acc;
          v.a_off = static_cast<int64_t>(bank) * N;
          if (k == 0) {
            v.rq = isa::Rq::Row;
            v.cb_off = p_.cb_fc2[0];
          } else {
            v.add = true;
          }
          v.d_space = isa::Pdst::Vs;
          v.d_off = p_.vs_z + static_cast<int64_t>(i) * 2 * D;
          ppu(v, {consume(kAFull0 + bank)}, {kAFree0 + bank}, fmt::format("logits target {}", j0 + i));
          if (k == p_.f2_chunks - 1) {  // r = z1 > z0 ? r_long : r_short
            isa::Psel s;
            s.n = D;
            s.a_space = isa::Asrc::Vs;
            s.a_off = p_.vs_z + static_cast<int64_t>(i) * 2 * D;
            s.b_space = isa::Bsrc::Vs;
            s.b_off = p_.vs_r + static_cast<int64_t>(i) * 2 * D;
            s.d_space = isa::Pdst::Lib32;
            s.d_off = p_.lib_res + static_cast<int64_t>(i) * 4 * D;
            std::vector<Token> pw;
            if (i == 0) pw.push_back(consume(kResDone));
            std::vector<int> ps;
            if (i == q - 1) ps.push_back(kResReady);
            const int64_t done = psel(s, pw, ps, fmt::format("select target {}", j0 + i));
            if (i == q - 1) res_t_ = done;
          }
        }
      }
      dma_lib(isa::Dir::St, isa::Gspace::Gib, p_.gib_res + (static_cast<int64_t>(w_) * T + j0) * 4 * D, p_.bank_bytes,
              static_cast<int64_t>(T) * 4 * D, p_.lib_res, static_cast<int64_t>(q) * 4 * D, {consume(kResReady)},
              {kResDone}, res_t_ + 1, fmt::format("results, targets {}..{}", j0, j0 + q - 1));
    }
  }

  void finish_window() {
    // Order the DMA stream by ideal start (ties: generation order); MAC and PPU keep generation
    // order, which is already their time order. Two DMA operations touching the same memory
    // (16-byte granules of the LIB and of each global buffer, LWB rows, CB rows) keep their
    // generation order whatever their ideal times: their start keys are pushed past each other.
    auto& dma = cur_->ops[static_cast<std::size_t>(Stream::Dma)];
    std::unordered_map<int64_t, int64_t> last;  // granule key -> start key of its last user
    const int64_t read_only_end = p_.spill_in_gib ? p_.gwb.used() : p_.spill_base;  // weights, constants
    for (GenOp& op : dma) {
      const isa::Dma d = isa::as_dma(op.f);
      const int64_t bytes = d.l_space == isa::Lspace::Lwb ? d.len * d.row_bytes
                            : d.l_space == isa::Lspace::Cb ? d.len * isa::kCbRowBytes
                                                           : d.len;
      keys_.clear();
      const bool read_only = d.g_space == isa::Gspace::Gwb && d.dir == isa::Dir::Ld && d.g_off + bytes <= read_only_end;
      if (!read_only) {
        // Windows past the last one of a run (generated when a tile has fewer than three) take
        // the global addresses of the last one: theirs lie outside the run's layout and would
        // collide with whatever follows it (the spills), giving them an order window 1 lacks.
        int64_t g_off = d.g_off;
        const int64_t past = w_ - std::min<int64_t>(w_, p_.windows_per_tile - 1);
        for (const AddrTerm& a : op.addr)
          if (a.field == isa::fld::kDmaGOff) g_off -= past * a.win;
        const int64_t gbase = (d.g_space == isa::Gspace::Gwb ? 1 : 2) * (int64_t{1} << 40);
        for (int64_t g = g_off / 16; g <= (g_off + bytes - 1) / 16; ++g) keys_.push_back(gbase + g);
      }
      const int64_t lbase = (3 + static_cast<int64_t>(d.l_space)) * (int64_t{1} << 40);
      if (d.l_space == isa::Lspace::Lib) {
        for (int64_t g = d.l_off / 16; g <= (d.l_off + d.len - 1) / 16; ++g) keys_.push_back(lbase + g);
      } else if (d.l_space == isa::Lspace::Lwb) {
        for (int64_t h = d.l_off / p_.half_rows; h <= (d.l_off + d.len - 1) / p_.half_rows; ++h) keys_.push_back(lbase + h);
      } else {
        keys_.push_back(lbase);
      }
      int64_t t = op.t;
      for (int64_t k : keys_)
        if (auto it = last.find(k); it != last.end()) t = std::max(t, it->second + 1);
      op.t = t;
      for (int64_t k : keys_) last[k] = t;
    }
    std::stable_sort(dma.begin(), dma.end(), [](const GenOp& a, const GenOp& b) {
      return a.t != b.t ? a.t < b.t : a.seq < b.seq;
    });
    // Units by time for the decoupled streams (never before the window's first unit), made
    // window-local.
    const int base = static_cast<int>(unit_start_.size() - cur_->unit_names.size());
    for (int s : {0, 2}) {
      int u = base;
      for (GenOp& op : cur_->ops[static_cast<std::size_t>(s)]) {
        const auto it = std::upper_bound(unit_start_.begin(), unit_start_.end(), op.t);
        op.unit = std::max<int>(base, static_cast<int>(it - unit_start_.begin()) - 1);
        u = std::max(u, op.unit);  // units must not decrease along the stream
        op.unit = u;
      }
    }
    for (auto& s : cur_->ops)
      for (GenOp& op : s) op.unit -= base;
  }

  const Plan& p_;
  const ModelView& m_;
  const isa::AccelConfig& cfg_;
  WindowCode* cur_ = nullptr;
  int w_ = 0;
  int unit_ = 0;
  std::vector<int64_t> unit_start_;
  int64_t mac_t_ = 0, ppu_t_ = 0, seq_ = 0, res_t_ = 0;
  int64_t job_count_ = 0;
  Cat cat_ = Cat::Other;
  bool pending_[2] = {false, false};
  int64_t h_done_[2] = {0, 0};
  int64_t p_store_t_[2] = {0, 0};
  std::map<int64_t, int64_t> row_store_t_;
  std::vector<int64_t> keys_;
  std::array<std::vector<int64_t>, kChannelCount> produced_;
  std::array<int64_t, kChannelCount> consumed_{};
};

// Checks that every channel is FIFO-consistent: along its producer stream the signals come in
// token order, and along its consumer stream the waits take tokens 0, 1, 2, ... in order.
void verify_channels(const GenResult& r) {
  std::array<int64_t, kChannelCount> next_sig{}, next_wait{};
  for (int c = 0; c < kChannelCount; ++c) next_sig[c] = channel_info(c).credits;
  for (const WindowCode& w : r.windows) {
    for (int s = 0; s < isa::kStreams; ++s) {
      for (const GenOp& op : w.ops[static_cast<std::size_t>(s)]) {
        for (const Token& k : op.sigs) {
          if (channel_info(k.ch).producer != static_cast<isa::Stream>(s) || k.id != next_sig[k.ch])
            throw CompileError(fmt::format("internal: channel {} signalled out of order ({}: token {}, expected {})",
                                           channel_info(k.ch).name, op.note, k.id, next_sig[k.ch]));
          ++next_sig[k.ch];
        }
        for (const Token& k : op.waits) {
          if (channel_info(k.ch).consumer != static_cast<isa::Stream>(s) || k.id != next_wait[k.ch])
            throw CompileError(fmt::format("internal: channel {} waited out of order ({}: token {}, expected {})",
                                           channel_info(k.ch).name, op.note, k.id, next_wait[k.ch]));
          ++next_wait[k.ch];
        }
      }
    }
  }
}

}  // namespace

GenResult generate(const Plan& p) {
  GenResult r;
  Gen g(p);
  std::array<std::array<int, kChannelCount>, 3> entering{};
  for (int w = 0; w < 3; ++w) {
    entering[static_cast<std::size_t>(w)] = g.counts_now();
    const int64_t t0 = g.mac_time();
    g.window(w, r.windows[static_cast<std::size_t>(w)]);
    if (w == 1) r.ideal_window_cycles = g.mac_time() - t0;
  }
  verify_channels(r);
  // Every window must leave the semaphores as it found them for one loop body to serve all
  // windows; the program starts with the counts a window starts with.
  if (entering[1] != entering[2]) throw CompileError("internal: semaphore counts differ between windows");
  r.credits = entering[1];
  return r;
}

}  // namespace ntr::compiler
