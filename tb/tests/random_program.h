// Random Neutrino programs for the cross-checks: race-free by construction (docs/neutrino.md,
// "Data races"; docs/rtl.md), never failing, with random contents for every unit.
//
// pipeline(): the three units overlap as in a compiled model - the DMA engine loads slot k % 2
// (LWB half, a LIB input region) while the MAC array works on the other slot and the PPU
// post-processes the previous round; semaphores hand slots over. Random: transfer shapes (every
// DMA path, row_bytes, lengths, GIB bank crossings, per-tile addresses with broadcast or
// contention), mvm shapes (rows, wide, banks, clr), every PPU field, loops, nops, syncs.
// control(): random nested hardware loops and address-register arithmetic around small mvm and
// ppu instructions whose addresses stay in range through addi's modulus.
#pragma once

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "ntr/isa/asm.h"
#include "ntr/isa/config.h"
#include "ntr/isa/isa.h"
#include "ntr/isa/program.h"
#include "ntr/isa/semantics.h"

namespace ntr::tb::testing {

struct RandomProgram {
  isa::Program program;
  std::vector<uint8_t> gwb, gib;
  bool stores_gwb = false;
  std::string text() const { return isa::disassemble(program); }
};

class Gen {
 public:
  Gen(const isa::AccelConfig& cfg, uint32_t seed) : c_(cfg), rng_(seed) {}

  int64_t uni(int64_t lo, int64_t hi) {  // inclusive
    return lo >= hi ? lo : lo + static_cast<int64_t>(rng_() % static_cast<uint64_t>(hi - lo + 1));
  }
  bool coin(double p = 0.5) { return std::uniform_real_distribution<double>(0, 1)(rng_) < p; }
  std::mt19937& rng() { return rng_; }

  // Instruction emission into a stream.
  void emit(int s, const isa::Fields& f) { p_.program.stream(static_cast<isa::Stream>(s)).push_back(isa::encode(f)); }
  template <class T>
  void emit(int s, const T& t) {
    emit(s, isa::to_fields(t));
  }
  size_t size(int s) const { return p_.program.stream(static_cast<isa::Stream>(s)).size(); }
  void nops(int s, double p = 0.15) {
    while (coin(p)) emit(s, isa::Nop{});
  }
  void signal(int s, int sem) { emit(s, isa::Signal{sem}); }
  void wait(int s, int sem) { emit(s, isa::Wait{sem}); }
  void seti(int s, int ar, int64_t v) { emit(s, isa::Seti{ar, v}); }
  void sync(int s, std::array<int, 3> sig) {
    isa::Sync y;
    y.sync.sig = sig;
    emit(s, y);
  }
  // Opens a loop whose body is filled afterwards: close_loop() patches the body length.
  size_t open_loop(int s, int64_t count) {
    emit(s, isa::Loop{count, 1});
    return size(s) - 1;
  }
  void close_loop(int s, size_t at) {
    auto& w = p_.program.stream(static_cast<isa::Stream>(s));
    isa::Loop l = isa::as_loop(*isa::decode(w[at], static_cast<isa::Stream>(s), nullptr));
    l.body = static_cast<int64_t>(w.size() - at - 1);
    w[at] = isa::encode(l);
  }
  void halts() {
    for (int s = 0; s < 3; ++s) emit(s, isa::Halt{});
  }

  const isa::AccelConfig& cfg() const { return c_; }
  RandomProgram& out() { return p_; }

 private:
  isa::AccelConfig c_;
  std::mt19937 rng_;
  RandomProgram p_;
};

// Random PPU fields over a given set of regions. `acc_lo`: first ACC word the instruction may
// read (its bank's), `pin`: a LIB region it may read, `out`: a LIB region it may write, VS free.
inline isa::Fields random_ppu(Gen& g, int64_t acc_lo, int64_t pin, int64_t pin_bytes, int64_t out, int64_t out_bytes) {
  const auto& c = g.cfg();
  const int64_t lanes = c.lanes(), vs = c.ppu_vs_words;
  // Disjoint VS ranges [x, x + nx) and [y, y + ny): rejection sampling.
  auto vs_apart = [&](int64_t nx, int64_t y, int64_t ny) {
    for (int tries = 0; tries < 50; ++tries) {
      const int64_t x = g.uni(0, vs - nx);
      if (x + nx <= y || y + ny <= x) return x;
    }
    return y >= nx ? int64_t{0} : y + ny;  // below or above y's range
  };
  if (g.coin(0.15)) {
    // psel over n pairs: a (logits) and b (regressors) in VS, d in VS or LIB32, all disjoint.
    isa::Psel q;
    q.n = g.uni(1, std::min<int64_t>(64, vs / 8));
    q.a_space = isa::Asrc::Vs;
    q.b_space = isa::Bsrc::Vs;
    q.a_off = g.uni(0, vs / 4 - 2 * q.n);
    q.b_off = vs / 4 + g.uni(0, vs / 4 - 2 * q.n);
    if (g.coin() && 4 * q.n <= out_bytes) {
      q.d_space = isa::Pdst::Lib32;
      q.d_off = out + g.uni(0, out_bytes - 4 * q.n);
    } else {
      q.d_space = isa::Pdst::Vs;
      q.d_off = vs / 2 + g.uni(0, vs / 2 - q.n);
    }
    return isa::to_fields(q);
  }
  isa::Ppu p;
  const int a_kind = static_cast<int>(g.uni(0, 3));
  p.a_space = static_cast<isa::Asrc>(a_kind);
  int64_t nmax = 256;
  if (p.a_space == isa::Asrc::Acc) {
    const int64_t o = g.uni(0, lanes - 1);
    p.a_off = acc_lo + o;
    nmax = lanes - o;
  } else if (p.a_space == isa::Asrc::Lib8) {
    nmax = pin_bytes;
  }
  nmax = std::min<int64_t>({nmax, 256, vs / 4, out_bytes / 4});
  p.n = g.uni(1, nmax);
  // The destination first; VS sources keep clear of it (or coincide element for element).
  p.d_space = static_cast<isa::Pdst>(g.uni(0, 2));
  if (p.d_space == isa::Pdst::Vs) {
    p.d_off = g.uni(0, vs - p.n);
  } else {
    const int64_t bytes = p.d_space == isa::Pdst::Lib8 ? p.n : 4 * p.n;
    p.d_off = out + g.uni(0, out_bytes - bytes);
  }
  const bool vs_d = p.d_space == isa::Pdst::Vs;
  if (p.a_space == isa::Asrc::Vs) p.a_off = vs_d ? (g.coin(0.3) ? p.d_off : vs_apart(p.n, p.d_off, p.n)) : g.uni(0, vs - p.n);
  if (p.a_space == isa::Asrc::Lib8) p.a_off = pin + g.uni(0, pin_bytes - p.n);
  p.rq = static_cast<isa::Rq>(g.uni(0, 2));
  if (p.rq == isa::Rq::Row) {
    p.cb_off = g.uni(0, c.ppu_cb_rows - p.n);
    p.relu = g.coin(0.3);
  }
  if (p.rq == isa::Rq::Shift) p.rshift = g.uni(0, 31);
  p.sat1 = static_cast<isa::Sat1>(g.uni(0, 2));
  p.act = static_cast<isa::Act>(g.uni(0, 2));
  p.mul = g.coin(0.4);
  if (p.mul) {
    p.b_space = g.coin() ? isa::Bsrc::Vs : isa::Bsrc::Lib8;
    if (p.b_space == isa::Bsrc::Vs) p.b_off = vs_d ? vs_apart(p.n, p.d_off, p.n) : g.uni(0, vs - p.n);
    else p.b_off = pin + g.uni(0, pin_bytes - p.n);
  }
  p.add = g.coin(0.3);
  p.oshift = g.uni(0, 15);
  p.sat2 = static_cast<isa::Sat2>(g.uni(0, 3));
  return isa::to_fields(p);
}

struct PipelineOptions {
  int rounds = 4;
  bool loops = true;
};

// The pipelined program (see the top of this file).
inline RandomProgram pipeline(const isa::AccelConfig& c, uint32_t seed, const PipelineOptions& o = {}) {
  Gen g(c, seed);
  constexpr int D = 0, M = 1, P = 2;
  // semaphores: 1 slot loaded, 2 slot free, 3 acc ready, 4 bank free, 5 out ready, 6 out free,
  // 7 constants loaded
  const int64_t lanes = c.lanes(), half = c.lwb_half_rows(), lib = c.lib_bytes;
  const int64_t in_bytes = lib / 8, pin = 2 * in_bytes, out_bytes = lib / 4;
  const int64_t in[2] = {0, in_bytes}, out[2] = {3 * in_bytes, 3 * in_bytes + out_bytes};
  const int64_t bank = c.gib_bank_bytes();
  // Per-tile GIB areas: inputs in the first half, one output block per round in the second.
  int64_t area = std::min<int64_t>(c.gib_bytes / c.tiles, bank);
  int64_t stride = area;
  if (c.tiles > 1) {
    const int mode = static_cast<int>(g.uni(0, 2));
    if (mode == 1) stride = area = c.gib_bytes / c.tiles / 2;  // pairs of tiles share a bank
    if (mode == 2) {
      stride = bank - 104;  // areas straddle bank boundaries
      area = std::min(area, stride);
    }
  }
  const int64_t out_area = area / 2;
  const int64_t rounds = std::min<int64_t>(o.rounds, out_area / out_bytes);

  // Global images: random weights and inputs; constant-buffer rows with moderate multipliers.
  auto& img = g.out();
  img.gwb.resize(static_cast<size_t>(c.gwb_bytes));
  img.gib.resize(static_cast<size_t>(c.gib_bytes));
  for (auto& b : img.gwb) b = static_cast<uint8_t>(g.rng()());
  for (auto& b : img.gib) b = static_cast<uint8_t>(g.rng()());
  const int64_t cb_src = g.uni(0, (c.gwb_bytes - 12 * c.ppu_cb_rows) / 2);
  for (int64_t r = 0; r < c.ppu_cb_rows; ++r) {
    isa::CbRow row{static_cast<int32_t>(g.uni(-100000, 100000)), static_cast<int32_t>(g.uni(1, int64_t{1} << 31) - 1),
                   static_cast<uint8_t>(g.uni(0, 63))};
    if (g.coin(0.1)) row.mult = static_cast<int32_t>(g.rng()());  // any int32
    isa::pack_cb_row(row, &img.gwb[static_cast<size_t>(cb_src + 12 * r)]);
  }

  // Prologue: pre-signal the free slots, per-tile GIB base in a1, constants and the PPU's LIB.
  g.signal(M, 2), g.signal(M, 2);
  g.signal(P, 4), g.signal(P, 4);
  g.signal(D, 6), g.signal(D, 6);
  g.emit(D, isa::Tile{1, 0, stride});
  {
    isa::Dma d;
    d.l_space = isa::Lspace::Cb;
    d.g_off = cb_src;
    d.len = c.ppu_cb_rows;
    g.emit(D, d);
    isa::Dma e;
    e.g_space = isa::Gspace::Gib;
    e.l_space = isa::Lspace::Lib;
    e.g_ar = g.coin() ? 1 : 0;  // per tile or one broadcast read
    e.g_off = g.uni(0, area / 2 - in_bytes);
    e.l_off = pin;
    e.len = in_bytes;
    e.sync.sig = {7, -1, -1};
    g.emit(D, e);
  }
  auto gib_in = [&](int64_t len) { return g.uni(0, area / 2 - len); };

  auto dma_loads = [&](int h) {
    const int nl = static_cast<int>(g.uni(1, 2));
    for (int i = 0; i < nl; ++i) {  // LWB rows of half h
      isa::Dma d;
      d.l_space = isa::Lspace::Lwb;
      d.len = g.uni(1, half);
      d.row_bytes = g.coin(0.6) ? lanes : g.uni(1, lanes);
      d.l_off = h * half + g.uni(0, half - d.len);
      d.g_off = g.uni(0, c.gwb_bytes - d.len * d.row_bytes);
      g.emit(D, d);
      g.nops(D);
    }
    const int ni = static_cast<int>(g.uni(1, 3));
    for (int i = 0; i < ni; ++i) {  // LIB input slot h
      isa::Dma d;
      d.l_space = isa::Lspace::Lib;
      d.len = g.uni(1, in_bytes);
      d.l_off = in[h] + g.uni(0, in_bytes - d.len);
      if (g.coin(0.7)) {
        d.g_space = isa::Gspace::Gib;
        d.g_ar = g.coin(0.8) ? 1 : 0;
        d.g_off = gib_in(d.len);
      } else {
        d.g_off = g.uni(0, c.gwb_bytes - d.len);
      }
      g.emit(D, d);
      g.nops(D);
    }
  };
  auto dma_store = [&](int h, int64_t k) {
    isa::Dma d;
    d.dir = isa::Dir::St;
    d.g_space = isa::Gspace::Gib;
    d.l_space = isa::Lspace::Lib;
    d.g_ar = 1;
    d.g_off = out_area + k * out_bytes;
    d.l_off = out[h];
    d.len = out_bytes;
    d.sync.sig = {6, -1, -1};
    if (g.coin()) {
      g.wait(D, 5);
    } else {
      d.sync.wait = 5;
    }
    g.emit(D, d);
    g.nops(D);
  };

  for (int64_t k = 0; k < rounds; ++k) {
    const int h = static_cast<int>(k % 2);
    // ---- DMA: load slot h, then store the previous round's output.
    g.wait(D, 2);
    dma_loads(h);
    g.sync(D, {1, -1, -1});
    if (k >= 1) dma_store(1 - h, k - 1);
    // ---- MAC: the block of slot h into bank h.
    g.wait(M, 1);
    g.wait(M, 4);
    g.nops(M);
    const int nm = static_cast<int>(g.uni(1, 4));
    for (int i = 0; i < nm; ++i) {
      isa::Mvm m;
      m.wide = g.coin(0.3);
      const int64_t span_max = m.wide ? in_bytes / 2 : in_bytes;
      m.rows = g.uni(1, std::min<int64_t>({half, 256, span_max}));
      m.w_off = h * half + g.uni(0, half - m.rows);
      m.bank = h;
      m.clr = i == 0 || g.coin(0.15);
      const int64_t span = m.rows * (m.wide ? 2 : 1);
      if (o.loops && g.coin(0.3) && in_bytes - span >= 2) {
        // loop of mvms walking x through the slot with a register.
        const int64_t step = g.uni(1, std::max<int64_t>(1, (in_bytes - span) / 3));
        const int64_t count = std::min<int64_t>(g.uni(2, 4), (in_bytes - span) / step + 1);
        g.seti(M, 3, in[h]);
        const size_t at = g.open_loop(M, count);
        m.x_ar = 3;
        m.x_off = 0;
        g.emit(M, m);
        g.emit(M, isa::Addi{3, step, 0});
        g.close_loop(M, at);
      } else {
        m.x_off = in[h] + g.uni(0, in_bytes - span);
        g.emit(M, m);
      }
      g.nops(M);
    }
    g.sync(M, {3, 2, -1});  // acc bank h ready, slot h free
    // ---- PPU: post-process bank h into out[h] and VS.
    g.wait(P, 3);
    g.wait(P, 6);
    if (k == 0) g.wait(P, 7);
    const int np = static_cast<int>(g.uni(1, 5));
    for (int i = 0; i < np; ++i) {
      g.emit(P, random_ppu(g, h * lanes, pin, in_bytes, out[h], out_bytes));
      g.nops(P);
    }
    // Something of every round reaches the output: a full-width copy of the accumulators.
    isa::Ppu q;
    q.n = lanes;
    q.a_space = isa::Asrc::Acc;
    q.a_off = h * lanes;
    q.d_space = isa::Pdst::Lib32;
    q.d_off = out[h] + out_bytes - 4 * lanes;
    g.emit(P, q);
    g.sync(P, {4, 5, -1});  // bank h free, out h ready
  }
  dma_store(static_cast<int>((rounds - 1) % 2), rounds - 1);
  if (g.coin(0.3)) {
    // A store into the GWB, after everything (each tile its own bytes).
    isa::Dma d;
    d.dir = isa::Dir::St;
    d.l_space = isa::Lspace::Lib;
    d.g_ar = 1;
    d.len = g.uni(1, std::min(out_bytes, stride));
    d.l_off = out[0];
    const int64_t room = c.gwb_bytes - d.len - (c.tiles - 1) * stride;
    if (room >= 0) {
      d.g_off = g.uni(0, room);
      g.emit(D, d);
      img.stores_gwb = true;
    }
  }
  g.halts();
  return img;
}

// Random control flow: nested loops (up to four levels, bodies ending together, count 1) with
// address registers stepped by addi with a modulus, around mvm, ppu and signal/wait pairs.
inline RandomProgram control(const isa::AccelConfig& c, uint32_t seed) {
  Gen g(c, seed);
  constexpr int M = 1, P = 2, D = 0;
  const int64_t half = c.lwb_half_rows(), vs = c.ppu_vs_words;
  auto& img = g.out();
  img.gwb.resize(static_cast<size_t>(c.gwb_bytes));
  for (auto& b : img.gwb) b = static_cast<uint8_t>(g.rng()());
  // dma: load LWB half 0 and the LIB, then tell mac and ppu.
  isa::Dma d;
  d.l_space = isa::Lspace::Lwb;
  d.len = half;
  d.row_bytes = c.lanes();
  g.emit(D, d);
  isa::Dma e;
  e.l_space = isa::Lspace::Lib;
  e.len = c.lib_bytes;
  e.g_off = 1000;
  e.sync.sig = {1, 2, -1};
  g.emit(D, e);
  g.wait(M, 1);
  g.wait(P, 2);
  // mac: a random loop nest; every mvm reads x = a2 + [0, 16), w = a3 (+ rows within half 0),
  // a2, a3 kept in range by addi's modulus.
  const int64_t xmod = c.lib_bytes - 64, wmod = half - 4;
  g.seti(M, 2, g.uni(0, xmod - 1));
  g.seti(M, 3, g.uni(0, wmod - 1));
  g.seti(P, 2, g.uni(0, vs / 2 - 8));
  auto body = [&](auto&& self, int depth, int budget) -> void {
    const int n = static_cast<int>(g.uni(1, 4));
    for (int i = 0; i < n && budget > 0; ++i, --budget) {
      const int kind = static_cast<int>(g.uni(0, 7));
      if (kind <= 1 && depth < isa::kLoopDepth) {
        const size_t at = g.open_loop(M, g.coin(0.2) ? 1 : g.uni(2, 4));
        self(self, depth + 1, budget / 2);
        if (g.size(M) == at + 1) g.emit(M, isa::Nop{});
        g.close_loop(M, at);
      } else if (kind <= 4) {
        isa::Mvm m;
        m.rows = g.uni(1, 4);
        m.wide = g.coin(0.2);
        m.x_ar = 2;
        m.x_off = g.uni(0, 8);
        m.w_ar = 3;
        m.w_off = 0;
        m.bank = g.uni(0, c.mac_acc_banks - 1);
        m.clr = g.coin(0.3);
        if (depth <= 1 && g.coin(0.3)) {
          // hand a signal to the ppu stream, which waits for as many as were sent.
          m.sync.sig = {5, -1, -1};
        }
        g.emit(M, m);
      } else if (kind == 5) {
        g.emit(M, isa::Addi{2, g.uni(-40, 40), xmod});
      } else if (kind == 6) {
        g.emit(M, isa::Addi{3, g.uni(-(wmod - 1), wmod - 1), wmod});
      } else {
        g.emit(M, isa::Nop{});
      }
    }
  };
  body(body, 0, 24);
  g.sync(M, {-1, -1, -1});  // every mvm done before halt
  g.halts();
  // The ppu stream waits for each signal the mac stream really sends (its loops executed).
  auto& mac = img.program.stream(isa::Stream::Mac);
  int64_t dyn = 0;
  {
    std::vector<isa::Fields> f;
    for (const auto& w : mac) f.push_back(*isa::decode(w, isa::Stream::Mac, nullptr));
    struct Fr { int64_t first, last, left; };
    std::vector<Fr> st;
    int64_t pc = 0;
    while (f[static_cast<size_t>(pc)].op != isa::Opcode::Halt) {
      const auto& x = f[static_cast<size_t>(pc)];
      if (x.op == isa::Opcode::Loop) {
        st.push_back({pc + 1, pc + x.v[isa::fld::kLoopBody], x.v[isa::fld::kLoopCount]});
        ++pc;
        continue;
      }
      if (x.op == isa::Opcode::Mvm && isa::sync_of(x, isa::desc(x.op).nfields).sig[0] == 5) ++dyn;
      int64_t next = pc + 1;
      while (!st.empty() && st.back().last == pc) {
        if (st.back().left > 1) {
          --st.back().left;
          next = st.back().first;
          break;
        }
        st.pop_back();
      }
      pc = next;
    }
  }
  // ppu stream: replace its halt with the waits and a few ppu instructions, then halt.
  auto& ppu = img.program.stream(isa::Stream::Ppu);
  ppu.pop_back();
  for (int64_t i = 0; i < dyn; ++i) {
    if (dyn > 8 && i % 4 != 0) {
      g.wait(P, 5);
      continue;
    }
    isa::Ppu q;
    q.n = g.uni(1, 8);
    q.a_space = isa::Asrc::Vs;
    q.a_ar = 2;
    q.d_space = isa::Pdst::Vs;
    q.d_off = vs / 2 + g.uni(0, vs / 2 - 8);
    q.sync.wait = 5;
    g.emit(P, q);
    g.emit(P, isa::Addi{2, g.uni(-5, 5), vs / 2 - 8});
  }
  g.emit(P, isa::Halt{});
  img.gib.assign(static_cast<size_t>(c.gib_bytes), 0);
  return img;
}

}  // namespace ntr::tb::testing
