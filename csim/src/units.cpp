#include "ntr/csim/units.h"

#include <algorithm>
#include <array>
#include <cstring>

#include <fmt/format.h>

#include "mac_kernel.h"
#include "ns/model/int8.h"

namespace ntr::csim {

namespace {

std::string range_error(const char* what, const char* mem, int64_t lo, int64_t n, int64_t size) {
  return fmt::format("{} {} {}..{} outside 0..{}", what, mem, lo, lo + n - 1, size - 1);
}
bool outside(int64_t lo, int64_t n, int64_t size) { return lo < 0 || n < 0 || lo + n > size; }

int32_t le32(const uint8_t* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= static_cast<uint32_t>(p[i]) << (8 * i);
  return static_cast<int32_t>(v);
}
// rshr of docs/int8-spec.md, (x + 2^(s-1)) >> s, written without the addition so it is exact
// for every int64 x and s in 0..63: the result is floor(x / 2^s) plus bit s-1 of x.
inline int64_t rshr(int64_t x, int s) { return s == 0 ? x : (x >> s) + ((x >> (s - 1)) & 1); }
inline int32_t wrap(int64_t x) { return static_cast<int32_t>(static_cast<uint32_t>(x)); }

void put_le32(uint8_t* p, int32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(static_cast<uint32_t>(v) >> (8 * i));
}

}  // namespace

const isa::ActTables& act_tables() {
  static const isa::ActTables t = [] {
    isa::ActTables a;
    a.sig = ns::model::int8::sigmoid_table();
    a.tanh = ns::model::int8::tanh_table();
    return a;
  }();
  return t;
}

// ---------------------------------------------------------------------------------- MAC array

MvmArgs MvmArgs::from(const isa::Mvm& m, int64_t x_addr, int64_t w_addr) {
  return MvmArgs{x_addr, w_addr, m.rows, m.bank, m.clr, m.wide};
}

MacArray::MacArray(const isa::AccelConfig& cfg)
    : lanes_(cfg.lanes()), half_rows_(cfg.lwb_half_rows()), banks_(cfg.mac_acc_banks),
      latency_(cfg.mac_latency), lib_bytes_(cfg.lib_bytes) {}

std::string MacArray::check(const MvmArgs& a) const {
  if (a.rows < 1 || a.rows > kernel::kMaxRows)
    return fmt::format("mvm of {} rows (1..{})", a.rows, kernel::kMaxRows);
  if (a.bank < 0 || a.bank >= banks_)
    return fmt::format("mvm accumulator bank {} does not exist ({} banks)", a.bank, banks_);
  if (outside(a.w, a.rows, 2 * half_rows_)) return range_error("mvm reads", "LWB rows", a.w, a.rows, 2 * half_rows_);
  if (a.w / half_rows_ != (a.w + a.rows - 1) / half_rows_)
    return fmt::format("mvm reads LWB rows {}..{}, crossing the half boundary at row {}", a.w,
                       a.w + a.rows - 1, (a.w / half_rows_ + 1) * half_rows_);
  const int64_t n = a.rows * (a.wide ? 2 : 1);
  if (outside(a.x, n, lib_bytes_)) return range_error("mvm reads", "LIB bytes", a.x, n, lib_bytes_);
  return {};
}

void MacArray::multiply(const MvmArgs& a, const TileState& t, std::span<int32_t> sums) const {
  const uint8_t* lib = t.lib.data();
  multiply_shared(a, t.lwb, std::span<const uint8_t* const>(&lib, 1), sums);
}

void MacArray::multiply_shared(const MvmArgs& a, const WeightBuffer& lwb,
                               std::span<const uint8_t* const> x, std::span<int32_t> sums) const {
  const auto& k = kernel::select(lanes_);
  const int8_t* const* w = lwb.row_pointers() + a.w;
  const int8_t* xp[kernel::kMaxTiles];
  std::array<int32_t, kernel::kMaxTiles * 256> hi;
  for (size_t t0 = 0; t0 < x.size(); t0 += kernel::kMaxTiles) {
    const int n = static_cast<int>(std::min<size_t>(kernel::kMaxTiles, x.size() - t0));
    int32_t* out = sums.data() + static_cast<int64_t>(t0) * lanes_;
    for (int i = 0; i < n; ++i) xp[i] = reinterpret_cast<const int8_t*>(x[t0 + static_cast<size_t>(i)]) + a.x;
    if (!a.wide) {
      k.fn(w, a.rows, xp, 1, n, lanes_, out);
      continue;
    }
    // Wide inputs are x_lo + 256 x_hi: two narrow passes, combined modulo 2^32.
    k.fn(w, a.rows, xp, 2, n, lanes_, out);
    for (int i = 0; i < n; ++i) ++xp[i];
    k.fn(w, a.rows, xp, 2, n, lanes_, hi.data());
    for (int64_t j = 0; j < n * lanes_; ++j)
      out[j] = static_cast<int32_t>(static_cast<uint32_t>(out[j]) + (static_cast<uint32_t>(hi[static_cast<size_t>(j)]) << 8));
  }
}

void MacArray::accumulate(const MvmArgs& a, TileState& t, std::span<const int32_t> sums) const {
  int32_t* acc = t.acc.data() + a.bank * lanes_;
  if (a.clr) {
    std::memcpy(acc, sums.data(), static_cast<size_t>(lanes_) * sizeof(int32_t));
    return;
  }
  for (int64_t j = 0; j < lanes_; ++j)
    acc[j] = static_cast<int32_t>(static_cast<uint32_t>(acc[j]) + static_cast<uint32_t>(sums[static_cast<size_t>(j)]));
}

const char* mac_kernel_name() { return kernel::preferred_name(); }

// ---------------------------------------------------------------------- post-processing unit

PpuArgs PpuArgs::from(const isa::Ppu& p, int64_t a_addr, int64_t d_addr) {
  return PpuArgs{p, false, a_addr, p.b_off, d_addr, p.cb_off};
}

PpuArgs PpuArgs::from(const isa::Psel& s, int64_t a_addr, int64_t d_addr) {
  isa::Ppu p;
  p.n = s.n;
  p.a_space = s.a_space;
  p.a_ar = s.a_ar;
  p.a_off = s.a_off;
  p.b_space = s.b_space;
  p.b_off = s.b_off;
  p.d_space = s.d_space;
  p.d_ar = s.d_ar;
  p.d_off = s.d_off;
  p.sync = s.sync;
  return PpuArgs{p, true, a_addr, s.b_off, d_addr, 0};
}

PostProcessor::PostProcessor(const isa::AccelConfig& cfg, const isa::ActTables& tables)
    : lanes_(cfg.ppu_lanes), mac_lanes_(cfg.lanes()), banks_(cfg.mac_acc_banks),
      latency_(cfg.ppu_latency), lib_bytes_(cfg.lib_bytes), vs_words_(cfg.ppu_vs_words),
      cb_rows_(cfg.ppu_cb_rows), tables_(tables) {}

int64_t PostProcessor::busy(const PpuArgs& a) const {
  const int64_t elems = a.select ? 2 * a.insn.n : a.insn.n;
  return (elems + lanes_ - 1) / lanes_ + latency_;
}

std::string PostProcessor::check(const PpuArgs& a) const {
  const isa::Ppu& p = a.insn;
  const char* op = a.select ? "psel" : "ppu";
  const int64_t n = p.n;
  if (n < 1 || n > 256) return fmt::format("{} of {} elements (1..256)", op, n);
  if (a.select) {
    if (outside(a.a, 2 * n, vs_words_)) return range_error("psel reads", "VS words", a.a, 2 * n, vs_words_);
    if (outside(a.b, 2 * n, vs_words_)) return range_error("psel reads", "VS words", a.b, 2 * n, vs_words_);
  } else {
    switch (p.a_space) {
      case isa::Asrc::Acc:
        if (outside(a.a, n, banks_ * mac_lanes_))
          return range_error("ppu reads", "ACC words", a.a, n, banks_ * mac_lanes_);
        if (a.a / mac_lanes_ != (a.a + n - 1) / mac_lanes_)
          return fmt::format("ppu reads ACC words {}..{}, crossing from bank {} into bank {}", a.a,
                             a.a + n - 1, a.a / mac_lanes_, (a.a + n - 1) / mac_lanes_);
        break;
      case isa::Asrc::Vs:
        if (outside(a.a, n, vs_words_)) return range_error("ppu reads", "VS words", a.a, n, vs_words_);
        break;
      case isa::Asrc::Lib8:
        if (outside(a.a, n, lib_bytes_)) return range_error("ppu reads", "LIB bytes", a.a, n, lib_bytes_);
        break;
      case isa::Asrc::Zero:
        break;
    }
    if (p.mul) {
      if (p.b_space == isa::Bsrc::Vs && outside(a.b, n, vs_words_))
        return range_error("ppu reads", "VS words", a.b, n, vs_words_);
      if (p.b_space == isa::Bsrc::Lib8 && outside(a.b, n, lib_bytes_))
        return range_error("ppu reads", "LIB bytes", a.b, n, lib_bytes_);
    }
    if (p.rq == isa::Rq::Row && outside(a.cb, n, cb_rows_))
      return range_error("ppu reads", "CB rows", a.cb, n, cb_rows_);
  }
  switch (p.d_space) {
    case isa::Pdst::Vs:
      if (outside(a.d, n, vs_words_)) return range_error(a.select ? "psel writes" : "ppu writes", "VS words", a.d, n, vs_words_);
      break;
    case isa::Pdst::Lib8:
      if (outside(a.d, n, lib_bytes_)) return range_error("ppu writes", "LIB bytes", a.d, n, lib_bytes_);
      break;
    case isa::Pdst::Lib32:
      if (outside(a.d, 4 * n, lib_bytes_))
        return range_error(a.select ? "psel writes" : "ppu writes", "LIB bytes", a.d, 4 * n, lib_bytes_);
      break;
  }
  return {};
}

void PostProcessor::compute(const PpuArgs& a, const TileState& t, std::span<int32_t> out) const {
  const isa::Ppu& p = a.insn;
  const int64_t n = p.n;
  if (a.select) {
    const int32_t* z = t.vs.data() + a.a;
    const int32_t* r = t.vs.data() + a.b;
    for (int64_t k = 0; k < n; ++k)
      out[static_cast<size_t>(k)] = isa::psel_element(z[2 * k], z[2 * k + 1], r[2 * k], r[2 * k + 1]);
    return;
  }
  // The element pipeline of isa::ppu_element, a stage at a time over the instruction's n
  // elements (csim's hot loop: the stages inline and vectorise). Exactness: every intermediate is
  // an int64 well inside its range, and rshr is exact for every int64 (test_units compares this
  // with isa::ppu_element on random instructions and operands, extremes included).
  std::array<int64_t, 256> x;
  const auto N = static_cast<size_t>(n);
  const auto at = [](int64_t base, size_t k) { return static_cast<size_t>(base) + k; };
  switch (p.a_space) {
    case isa::Asrc::Acc: for (size_t k = 0; k < N; ++k) x[k] = t.acc[at(a.a, k)]; break;
    case isa::Asrc::Vs: for (size_t k = 0; k < N; ++k) x[k] = t.vs[at(a.a, k)]; break;
    case isa::Asrc::Lib8: for (size_t k = 0; k < N; ++k) x[k] = static_cast<int8_t>(t.lib[at(a.a, k)]); break;
    case isa::Asrc::Zero: std::fill_n(x.begin(), N, 0); break;
  }
  switch (p.rq) {
    case isa::Rq::None:
      break;
    case isa::Rq::Row:
      for (size_t k = 0; k < N; ++k) {
        const isa::CbRow& c = t.cb[at(a.cb, k)];
        int64_t v = wrap(x[k] + c.bias);
        if (p.relu) v = std::max<int64_t>(v, 0);
        x[k] = rshr(v * c.mult, c.shift & 63);
      }
      break;
    case isa::Rq::Shift:
      for (size_t k = 0; k < N; ++k) x[k] = rshr(x[k], static_cast<int>(p.rshift));
      break;
  }
  if (p.sat1 == isa::Sat1::S8) for (size_t k = 0; k < N; ++k) x[k] = std::clamp<int64_t>(x[k], -128, 127);
  if (p.sat1 == isa::Sat1::S16) for (size_t k = 0; k < N; ++k) x[k] = std::clamp<int64_t>(x[k], -32768, 32767);
  if (p.act != isa::Act::None) {
    const auto& table = p.act == isa::Act::Sig ? tables_.sig : tables_.tanh;
    for (size_t k = 0; k < N; ++k) {
      const int64_t q = std::clamp<int64_t>(x[k], -32768, 32767) + 32768;
      const auto i = static_cast<size_t>(q >> 8);
      x[k] = table[i] + rshr((int64_t{table[i + 1]} - table[i]) * (q & 255), 8);
    }
  }
  if (p.mul) {
    for (size_t k = 0; k < N; ++k) {
      const int64_t b = p.b_space == isa::Bsrc::Vs ? int64_t{t.vs[at(a.b, k)]} : int64_t{static_cast<int8_t>(t.lib[at(a.b, k)])};
      x[k] = rshr(int64_t{wrap(x[k])} * b, 15);
    }
  }
  if (p.add) {
    switch (p.d_space) {
      case isa::Pdst::Vs: for (size_t k = 0; k < N; ++k) x[k] += t.vs[at(a.d, k)]; break;
      case isa::Pdst::Lib8: for (size_t k = 0; k < N; ++k) x[k] += static_cast<int8_t>(t.lib[at(a.d, k)]); break;
      case isa::Pdst::Lib32: for (size_t k = 0; k < N; ++k) x[k] += le32(t.lib.data() + a.d + 4 * static_cast<int64_t>(k)); break;
    }
  }
  if (p.oshift) for (size_t k = 0; k < N; ++k) x[k] = rshr(x[k], static_cast<int>(p.oshift));
  switch (p.sat2) {
    case isa::Sat2::None: break;
    case isa::Sat2::S8: for (size_t k = 0; k < N; ++k) x[k] = std::clamp<int64_t>(x[k], -128, 127); break;
    case isa::Sat2::S16: for (size_t k = 0; k < N; ++k) x[k] = std::clamp<int64_t>(x[k], -32768, 32767); break;
    case isa::Sat2::C19: for (size_t k = 0; k < N; ++k) x[k] = std::clamp<int64_t>(x[k], -(1 << 18), (1 << 18) - 1); break;
  }
  // Narrowing to the destination: int8 for LIB8, int32 otherwise.
  if (p.d_space == isa::Pdst::Lib8)
    for (size_t k = 0; k < N; ++k) out[k] = static_cast<int8_t>(static_cast<uint8_t>(x[k]));
  else
    for (size_t k = 0; k < N; ++k) out[k] = wrap(x[k]);
}

void PostProcessor::store(const PpuArgs& a, TileState& t, std::span<const int32_t> values) const {
  const int64_t n = a.insn.n;
  switch (a.insn.d_space) {
    case isa::Pdst::Vs:
      std::copy_n(values.begin(), n, t.vs.begin() + a.d);
      break;
    case isa::Pdst::Lib8:
      for (int64_t k = 0; k < n; ++k)
        t.lib[static_cast<size_t>(a.d + k)] = static_cast<uint8_t>(values[static_cast<size_t>(k)]);
      break;
    case isa::Pdst::Lib32:
      for (int64_t k = 0; k < n; ++k) put_le32(t.lib.data() + a.d + 4 * k, values[static_cast<size_t>(k)]);
      break;
  }
}

// ------------------------------------------------------------------------------ DMA engine

DmaArgs DmaArgs::from(const isa::Dma& d, int64_t g_addr, int64_t l_addr) { return DmaArgs{d, g_addr, l_addr}; }

int64_t DmaArgs::global_bytes() const {
  switch (insn.l_space) {
    case isa::Lspace::Lwb: return insn.len * insn.row_bytes;
    case isa::Lspace::Cb: return insn.len * isa::kCbRowBytes;
    case isa::Lspace::Lib: return insn.len;
  }
  return 0;
}

int64_t DmaArgs::local_bytes() const { return global_bytes(); }

DmaEngine::DmaEngine(const isa::AccelConfig& cfg) : cfg_(cfg) {}

std::string DmaEngine::check(const DmaArgs& a) const {
  const isa::Dma& d = a.insn;
  const char* verb = d.dir == isa::Dir::Ld ? "dma ld" : "dma st";
  switch (d.l_space) {
    case isa::Lspace::Lwb:
      if (d.row_bytes > cfg_.lanes())
        return fmt::format("dma row_bytes {} exceed the {} bytes of an LWB row", d.row_bytes, cfg_.lanes());
      if (outside(a.l, d.len, cfg_.lwb_rows())) return range_error(verb, "LWB rows", a.l, d.len, cfg_.lwb_rows());
      break;
    case isa::Lspace::Cb:
      if (outside(a.l, d.len, cfg_.ppu_cb_rows)) return range_error(verb, "CB rows", a.l, d.len, cfg_.ppu_cb_rows);
      break;
    case isa::Lspace::Lib:
      if (outside(a.l, d.len, cfg_.lib_bytes)) return range_error(verb, "LIB bytes", a.l, d.len, cfg_.lib_bytes);
      break;
  }
  const bool gwb = d.g_space == isa::Gspace::Gwb;
  const int64_t size = gwb ? cfg_.gwb_bytes : cfg_.gib_bytes;
  if (outside(a.g, a.global_bytes(), size))
    return range_error(verb, gwb ? "GWB bytes" : "GIB bytes", a.g, a.global_bytes(), size);
  return {};
}

int64_t DmaEngine::beats(const DmaArgs& a) const {
  return isa::busy_cycles(isa::to_fields(a.insn), cfg_, 1) - cfg_.dma_latency;
}

int64_t DmaEngine::busy(const DmaArgs& a, int64_t contention) const {
  return isa::busy_cycles(isa::to_fields(a.insn), cfg_, contention);
}

void DmaEngine::load(const DmaArgs& a, std::span<const uint8_t> global, TileState& t) const {
  const isa::Dma& d = a.insn;
  const uint8_t* src = global.data() + a.g;
  switch (d.l_space) {
    case isa::Lspace::Lwb:
      for (int64_t r = 0; r < d.len; ++r) {
        const auto* row = reinterpret_cast<const int8_t*>(src + r * d.row_bytes);
        if (d.row_bytes == t.lwb.lanes())
          t.lwb.refer_row(a.l + r, row);
        else
          t.lwb.write_row(a.l + r, row, d.row_bytes);
      }
      break;
    case isa::Lspace::Cb:
      for (int64_t r = 0; r < d.len; ++r) t.cb[static_cast<size_t>(a.l + r)] = isa::unpack_cb_row(src + r * isa::kCbRowBytes);
      break;
    case isa::Lspace::Lib:
      std::memcpy(t.lib.data() + a.l, src, static_cast<size_t>(d.len));
      break;
  }
}

void DmaEngine::read_local(const DmaArgs& a, const TileState& t, std::span<uint8_t> out) const {
  std::memcpy(out.data(), t.lib.data() + a.l, static_cast<size_t>(a.insn.len));
}

void DmaEngine::store(const DmaArgs& a, std::span<const uint8_t> data, std::span<uint8_t> global) const {
  std::memcpy(global.data() + a.g, data.data(), static_cast<size_t>(a.insn.len));
}

// ------------------------------------------------------------------------- front end

Sequencer::Sequencer(std::span<const isa::Fields> code, int tiles)
    : code_(code), tiles_(tiles), ar_(static_cast<size_t>(tiles * isa::kArCount), 0) {}

void Sequencer::reset() {
  pc_ = 0;
  depth_ = 0;
  std::fill(ar_.begin(), ar_.end(), 0);
}

std::string Sequencer::advance() {
  const int64_t pc = pc_;
  while (depth_ > 0 && frames_[depth_ - 1].last == pc) {
    Frame& f = frames_[depth_ - 1];
    if (f.left > 1) {
      --f.left;
      pc_ = f.first;
      return {};
    }
    --depth_;
  }
  pc_ = pc + 1;
  if (pc_ >= static_cast<int64_t>(code_.size()))
    return fmt::format("pc {} runs past the end of the stream ({} instructions)", pc_, code_.size());
  return {};
}

std::string Sequencer::execute_control() {
  const isa::Fields& f = insn();
  auto set = [&](int64_t r, auto value_of_tile) {
    for (int t = 0; t < tiles_; ++t)
      ar_[static_cast<size_t>(t * isa::kArCount + r)] = isa::wrap32(value_of_tile(t));
  };
  switch (f.op) {
    case isa::Opcode::Loop: {
      if (depth_ >= isa::kLoopDepth)
        return fmt::format("loop nested deeper than {} levels", isa::kLoopDepth);
      const int64_t body = f.v[isa::fld::kLoopBody];
      frames_[depth_++] = Frame{pc_ + 1, pc_ + body, f.v[isa::fld::kLoopCount]};
      break;
    }
    case isa::Opcode::Seti: {
      const int64_t r = f.v[isa::fld::kSetiAr], imm = f.v[isa::fld::kSetiImm];
      if (r != 0) set(r, [&](int) { return imm; });
      break;
    }
    case isa::Opcode::Addi: {
      const int64_t r = f.v[isa::fld::kAddiAr], imm = f.v[isa::fld::kAddiImm], mod = f.v[isa::fld::kAddiMod];
      if (r != 0)
        set(r, [&](int t) {
          int64_t v = int64_t{ar(t, r)} + imm;
          if (mod != 0) {
            if (v >= mod)
              v -= mod;
            else if (v < 0)
              v += mod;
          }
          return v;
        });
      break;
    }
    case isa::Opcode::Tile: {
      const int64_t r = f.v[isa::fld::kTileAr], base = f.v[isa::fld::kTileBase], stride = f.v[isa::fld::kTileStride];
      if (r != 0) set(r, [&](int t) { return base + int64_t{t} * stride; });
      break;
    }
    default:
      break;
  }
  return advance();
}

std::string Sequencer::check_halt() const {
  for (int d = depth_ - 1; d >= 0; --d) {
    const Frame& f = frames_[d];
    if (f.last != pc_ || f.left > 1)
      return fmt::format("halt inside a hardware loop (pcs {}..{}, {} iteration(s) left)", f.first, f.last,
                         f.last == pc_ ? f.left - 1 : f.left);
  }
  return {};
}

}  // namespace ntr::csim
