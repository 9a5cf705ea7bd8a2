#include "ntr/compiler/exec.h"

#include <algorithm>
#include <array>
#include <cstdlib>

#include <fmt/format.h>

#include "ntr/compiler/error.h"

namespace ntr::compiler {

using isa::Stream;

namespace {

// Race bookkeeping of one memory location (or granule).
struct Access {
  int64_t w_done = INT64_MIN;
  int64_t w_start = INT64_MIN;
  int8_t w_unit = -1;
  std::array<int64_t, isa::kStreams> r_done{INT64_MIN, INT64_MIN, INT64_MIN};
};

class Races {
 public:
  Races(std::string name, std::size_t locations) : name_(std::move(name)), loc_(locations) {}
  void read(std::size_t i, int unit, int64_t s, int64_t d, std::vector<std::string>& rep, int64_t& n) {
    Access& a = loc_[i];
    if (a.w_unit >= 0 && a.w_unit != unit && a.w_done > s) report(i, "read while a write is in flight", rep, n);
    a.r_done[static_cast<std::size_t>(unit)] = std::max(a.r_done[static_cast<std::size_t>(unit)], d);
  }
  void write(std::size_t i, int unit, int64_t s, int64_t d, std::vector<std::string>& rep, int64_t& n) {
    Access& a = loc_[i];
    if (a.w_unit >= 0 && a.w_unit != unit && a.w_done > s) report(i, "two writes in flight", rep, n);
    for (int v = 0; v < isa::kStreams; ++v)
      if (v != unit && a.r_done[static_cast<std::size_t>(v)] > d)
        report(i, fmt::format("written before a {} read finished", isa::stream_name(static_cast<Stream>(v))), rep, n);
    a.w_unit = static_cast<int8_t>(unit);
    a.w_done = d;
    a.w_start = s;
  }

 private:
  void report(std::size_t i, const std::string& what, std::vector<std::string>& rep, int64_t& n) {
    ++n;
    if (rep.size() < 8) rep.push_back(fmt::format("{} location {}: {} (cycle context: {})", name_, i, what, ctx));
  }
  std::string name_;
  std::vector<Access> loc_;

 public:
  std::string ctx;
};

struct Tile {
  std::vector<int8_t> lwb;   // rows x lanes
  std::vector<uint8_t> lib;
  std::vector<uint8_t> cb;   // rows x 12
  std::vector<int32_t> vs;
  std::vector<int32_t> acc;  // banks x lanes
};

}  // namespace

ExecResult execute(const isa::Program& prog, const isa::AccelConfig& cfg, const isa::ActTables& tables,
                   std::span<const uint8_t> gwb_in, std::vector<uint8_t> gib, TimingOptions opt,
                   bool check_races) {
  ExecResult r;
  if (static_cast<int64_t>(gwb_in.size()) > cfg.gwb_bytes)
    throw CompileError(fmt::format("GWB image of {} bytes exceeds the {}-byte buffer", gwb_in.size(), cfg.gwb_bytes));
  if (static_cast<int64_t>(gib.size()) != cfg.gib_bytes)
    throw CompileError(fmt::format("GIB image has {} bytes, the buffer {}", gib.size(), cfg.gib_bytes));
  std::vector<uint8_t> gwb(static_cast<std::size_t>(cfg.gwb_bytes), 0);
  std::copy(gwb_in.begin(), gwb_in.end(), gwb.begin());
  const int64_t lanes = cfg.lanes(), half = cfg.lwb_half_rows(), tiles = cfg.tiles;
  std::vector<Tile> tile(static_cast<std::size_t>(tiles));
  for (Tile& t : tile) {
    t.lwb.assign(static_cast<std::size_t>(2 * half * lanes), 0);
    t.lib.assign(static_cast<std::size_t>(cfg.lib_bytes), 0);
    t.cb.assign(static_cast<std::size_t>(cfg.cb_bytes()), 0);
    t.vs.assign(static_cast<std::size_t>(cfg.ppu_vs_words), 0);
    t.acc.assign(static_cast<std::size_t>(cfg.mac_acc_banks * lanes), 0);
  }
  constexpr int64_t kGranule = 16;
  std::vector<Races> lib_r, vs_r, acc_r, lwb_r, cb_r;
  for (int64_t t = 0; t < tiles; ++t) {
    lib_r.emplace_back("LIB", static_cast<std::size_t>(cfg.lib_bytes));
    vs_r.emplace_back("VS", static_cast<std::size_t>(cfg.ppu_vs_words));
    acc_r.emplace_back("ACC", static_cast<std::size_t>(cfg.mac_acc_banks * lanes));
    lwb_r.emplace_back("LWB row", static_cast<std::size_t>(2 * half));
    cb_r.emplace_back("CB row", static_cast<std::size_t>(cfg.ppu_cb_rows));
  }
  Races gwb_r("GWB granule", static_cast<std::size_t>(cfg.gwb_bytes / kGranule + 1));
  Races gib_r("GIB granule", static_cast<std::size_t>(cfg.gib_bytes / kGranule + 1));

  opt.extrapolate = false;
  Engine eng(prog, cfg, opt);
  eng.on_issue = [&](const Issue& is) {
    const int unit = static_cast<int>(is.stream);
    auto fail = [&](int64_t t, const std::string& what) {
      throw CompileError(fmt::format("{} stream, instruction {}, cycle {}, tile {}: {}", isa::stream_name(is.stream),
                                     is.pc, is.start, t, what));
    };
    auto range = [&](int64_t t, int64_t lo, int64_t n, int64_t cap, const char* what) {
      if (n < 0 || lo < 0 || lo + n > cap)
        fail(t, fmt::format("{} range [{}, {}) outside [0, {})", what, lo, lo + n, cap));
    };
    const std::string ctx = fmt::format("{}:{} at {}", isa::stream_name(is.stream), is.pc, is.start);
    for (int64_t ti = 0; ti < tiles; ++ti) {
      Tile& T = tile[static_cast<std::size_t>(ti)];
      const int64_t a0 = is.addr[0] + ti * is.addr_tile_stride[0];
      const int64_t a1 = is.addr[1] + ti * is.addr_tile_stride[1];
      auto& rep = r.race_reports;
      auto& nr = r.races;
      lib_r[static_cast<std::size_t>(ti)].ctx = vs_r[static_cast<std::size_t>(ti)].ctx =
          acc_r[static_cast<std::size_t>(ti)].ctx = lwb_r[static_cast<std::size_t>(ti)].ctx =
              cb_r[static_cast<std::size_t>(ti)].ctx = gwb_r.ctx = gib_r.ctx = ctx;
      switch (is.f->op) {
        case isa::Opcode::Sync:
          break;
        case isa::Opcode::Dma: {
          const isa::Dma d = isa::as_dma(*is.f);
          std::vector<uint8_t>& G = d.g_space == isa::Gspace::Gwb ? gwb : gib;
          Races& GR = d.g_space == isa::Gspace::Gwb ? gwb_r : gib_r;
          const int64_t gcap = static_cast<int64_t>(G.size());
          const int64_t g = a0, l = a1;
          if (d.l_space == isa::Lspace::Lwb) {
            range(ti, g, d.len * d.row_bytes, gcap, "global");
            range(ti, l, d.len, 2 * half, "LWB rows");
            if (d.row_bytes > lanes) fail(ti, "row_bytes exceeds the lanes");
            for (int64_t row = 0; row < d.len; ++row) {
              for (int64_t b = 0; b < d.row_bytes; ++b)
                T.lwb[static_cast<std::size_t>((l + row) * lanes + b)] =
                    static_cast<int8_t>(G[static_cast<std::size_t>(g + row * d.row_bytes + b)]);
              if (check_races) lwb_r[static_cast<std::size_t>(ti)].write(static_cast<std::size_t>(l + row), unit, is.start, is.done, rep, nr);
            }
            if (check_races)
              for (int64_t k = g / kGranule; k <= (g + d.len * d.row_bytes - 1) / kGranule; ++k)
                GR.read(static_cast<std::size_t>(k), unit, is.start, is.done, rep, nr);
          } else if (d.l_space == isa::Lspace::Cb) {
            range(ti, g, d.len * isa::kCbRowBytes, gcap, "global");
            range(ti, l, d.len, cfg.ppu_cb_rows, "CB rows");
            std::copy_n(G.begin() + g, d.len * isa::kCbRowBytes, T.cb.begin() + l * isa::kCbRowBytes);
            if (check_races)
              for (int64_t row = 0; row < d.len; ++row)
                cb_r[static_cast<std::size_t>(ti)].write(static_cast<std::size_t>(l + row), unit, is.start, is.done, rep, nr);
          } else {
            range(ti, g, d.len, gcap, "global");
            range(ti, l, d.len, cfg.lib_bytes, "LIB");
            if (d.dir == isa::Dir::Ld) {
              std::copy_n(G.begin() + g, d.len, T.lib.begin() + l);
              if (check_races) {
                for (int64_t b = 0; b < d.len; ++b)
                  lib_r[static_cast<std::size_t>(ti)].write(static_cast<std::size_t>(l + b), unit, is.start, is.done, rep, nr);
                for (int64_t k = g / kGranule; k <= (g + d.len - 1) / kGranule; ++k)
                  GR.read(static_cast<std::size_t>(k), unit, is.start, is.done, rep, nr);
              }
            } else {
              if (tiles > 1 && ti == 0 && std::abs(is.addr_tile_stride[0]) < d.len)
                fail(ti, "tiles store to overlapping global bytes");
              std::copy_n(T.lib.begin() + l, d.len, G.begin() + g);
              if (check_races) {
                for (int64_t b = 0; b < d.len; ++b)
                  lib_r[static_cast<std::size_t>(ti)].read(static_cast<std::size_t>(l + b), unit, is.start, is.done, rep, nr);
                // Global stores of different tiles go to different granules (checked by
                // contention rules); track per tile only for the first tile.
                if (ti == 0)
                  for (int64_t k = g / kGranule; k <= (g + d.len - 1) / kGranule; ++k)
                    GR.write(static_cast<std::size_t>(k), unit, is.start, is.done, rep, nr);
              }
            }
          }
          break;
        }
        case isa::Opcode::Mvm: {
          const isa::Mvm m = isa::as_mvm(*is.f);
          const int64_t x = a0, w = a1;
          if (m.bank >= cfg.mac_acc_banks) fail(ti, fmt::format("bank {} does not exist", m.bank));
          if (w < 0 || w / half != (w + m.rows - 1) / half || w + m.rows > 2 * half)
            fail(ti, fmt::format("weight rows [{}, {}) are not inside one LWB half", w, w + m.rows));
          range(ti, x, m.rows * (m.wide ? 2 : 1), cfg.lib_bytes, "LIB input");
          int32_t* acc = T.acc.data() + m.bank * lanes;
          if (m.clr) std::fill(acc, acc + lanes, 0);
          for (int64_t row = 0; row < m.rows; ++row) {
            const int64_t xr = isa::mvm_input(T.lib, x, row, m.wide);
            const int8_t* wr = T.lwb.data() + (w + row) * lanes;
            for (int64_t j = 0; j < lanes; ++j)
              acc[j] = static_cast<int32_t>(static_cast<uint32_t>(acc[j]) + static_cast<uint32_t>(wr[j] * xr));
            if (check_races) lwb_r[static_cast<std::size_t>(ti)].read(static_cast<std::size_t>(w + row), unit, is.start, is.done, rep, nr);
          }
          if (check_races) {
            for (int64_t b = 0; b < m.rows * (m.wide ? 2 : 1); ++b)
              lib_r[static_cast<std::size_t>(ti)].read(static_cast<std::size_t>(x + b), unit, is.start, is.done, rep, nr);
            for (int64_t j = 0; j < lanes; ++j)
              acc_r[static_cast<std::size_t>(ti)].write(static_cast<std::size_t>(m.bank * lanes + j), unit, is.start, is.done, rep, nr);
          }
          break;
        }
        case isa::Opcode::Ppu:
        case isa::Opcode::Psel: {
          const isa::Ppu p = isa::as_ppu(*is.f);
          const bool sel = is.f->op == isa::Opcode::Psel;
          const int64_t n = p.n, a = a0, dst = a1;
          auto& LR = lib_r[static_cast<std::size_t>(ti)];
          auto& VR = vs_r[static_cast<std::size_t>(ti)];
          auto& AR = acc_r[static_cast<std::size_t>(ti)];
          // Loads.
          auto load_a = [&](int64_t k) -> int64_t {
            switch (p.a_space) {
              case isa::Asrc::Acc:
                if (check_races) AR.read(static_cast<std::size_t>(a + k), unit, is.start, is.done, rep, nr);
                return T.acc[static_cast<std::size_t>(a + k)];
              case isa::Asrc::Vs:
                if (check_races) VR.read(static_cast<std::size_t>(a + k), unit, is.start, is.done, rep, nr);
                return T.vs[static_cast<std::size_t>(a + k)];
              case isa::Asrc::Lib8:
                if (check_races) LR.read(static_cast<std::size_t>(a + k), unit, is.start, is.done, rep, nr);
                return static_cast<int8_t>(T.lib[static_cast<std::size_t>(a + k)]);
              default:
                return 0;
            }
          };
          auto load_b = [&](int64_t k) -> int64_t {
            if (p.b_space == isa::Bsrc::Vs) {
              if (check_races) VR.read(static_cast<std::size_t>(p.b_off + k), unit, is.start, is.done, rep, nr);
              return T.vs[static_cast<std::size_t>(p.b_off + k)];
            }
            if (check_races) LR.read(static_cast<std::size_t>(p.b_off + k), unit, is.start, is.done, rep, nr);
            return static_cast<int8_t>(T.lib[static_cast<std::size_t>(p.b_off + k)]);
          };
          auto load_d = [&](int64_t k) -> int64_t {
            switch (p.d_space) {
              case isa::Pdst::Vs:
                return T.vs[static_cast<std::size_t>(dst + k)];
              case isa::Pdst::Lib8:
                return static_cast<int8_t>(T.lib[static_cast<std::size_t>(dst + k)]);
              default: {
                const uint8_t* q = &T.lib[static_cast<std::size_t>(dst + 4 * k)];
                return static_cast<int32_t>(q[0] | q[1] << 8 | q[2] << 16 | static_cast<uint32_t>(q[3]) << 24);
              }
            }
          };
          const int64_t na = sel ? 2 * n : n;
          if (p.a_space == isa::Asrc::Acc) {
            range(ti, a, na, cfg.mac_acc_banks * lanes, "ACC");
            if (a / lanes != (a + na - 1) / lanes) fail(ti, "ACC range crosses a bank");
          } else if (p.a_space == isa::Asrc::Vs) {
            range(ti, a, na, cfg.ppu_vs_words, "VS a");
          } else if (p.a_space == isa::Asrc::Lib8) {
            range(ti, a, na, cfg.lib_bytes, "LIB a");
          }
          if (p.mul || sel) range(ti, p.b_off, na, p.b_space == isa::Bsrc::Vs ? cfg.ppu_vs_words : cfg.lib_bytes, "b");
          if (p.rq == isa::Rq::Row) range(ti, p.cb_off, n, cfg.ppu_cb_rows, "CB rows");
          const int64_t esize = p.d_space == isa::Pdst::Lib32 ? 4 : 1;
          range(ti, dst, n * esize, p.d_space == isa::Pdst::Vs ? cfg.ppu_vs_words : cfg.lib_bytes, "destination");
          std::vector<int64_t> out(static_cast<std::size_t>(n));
          for (int64_t k = 0; k < n; ++k) {
            if (sel) {
              const int64_t z0 = load_a(2 * k), z1 = load_a(2 * k + 1), r0 = load_b(2 * k), r1 = load_b(2 * k + 1);
              out[static_cast<std::size_t>(k)] =
                  isa::psel_element(static_cast<int32_t>(z0), static_cast<int32_t>(z1), static_cast<int32_t>(r0),
                                    static_cast<int32_t>(r1));
              continue;
            }
            isa::CbRow row;
            if (p.rq == isa::Rq::Row) {
              row = isa::unpack_cb_row(&T.cb[static_cast<std::size_t>((p.cb_off + k) * isa::kCbRowBytes)]);
              if (check_races) cb_r[static_cast<std::size_t>(ti)].read(static_cast<std::size_t>(p.cb_off + k), unit, is.start, is.done, rep, nr);
            }
            const int64_t av = load_a(k);
            const int64_t bv = p.mul ? load_b(k) : 0;
            const int64_t old = p.add ? load_d(k) : 0;
            if (p.add && check_races) {
              if (p.d_space == isa::Pdst::Vs)
                VR.read(static_cast<std::size_t>(dst + k), unit, is.start, is.done, rep, nr);
              else
                for (int64_t e = 0; e < esize; ++e) LR.read(static_cast<std::size_t>(dst + esize * k + e), unit, is.start, is.done, rep, nr);
            }
            out[static_cast<std::size_t>(k)] = isa::ppu_element(p, av, bv, old, row, tables);
          }
          for (int64_t k = 0; k < n; ++k) {
            const int64_t v = isa::store_narrow(p.d_space, out[static_cast<std::size_t>(k)]);
            if (p.d_space == isa::Pdst::Vs) {
              T.vs[static_cast<std::size_t>(dst + k)] = static_cast<int32_t>(v);
              if (check_races) VR.write(static_cast<std::size_t>(dst + k), unit, is.start, is.done, rep, nr);
            } else if (p.d_space == isa::Pdst::Lib8) {
              T.lib[static_cast<std::size_t>(dst + k)] = static_cast<uint8_t>(v);
              if (check_races) LR.write(static_cast<std::size_t>(dst + k), unit, is.start, is.done, rep, nr);
            } else {
              for (int64_t e = 0; e < 4; ++e) {
                T.lib[static_cast<std::size_t>(dst + 4 * k + e)] = static_cast<uint8_t>(static_cast<uint32_t>(v) >> (8 * e));
                if (check_races) LR.write(static_cast<std::size_t>(dst + 4 * k + e), unit, is.start, is.done, rep, nr);
              }
            }
          }
          break;
        }
        default:
          fail(ti, "unexpected datapath instruction");
      }
    }
  };
  r.timing = eng.run();
  r.gwb = std::move(gwb);
  r.gib = std::move(gib);
  return r;
}

}  // namespace ntr::compiler
