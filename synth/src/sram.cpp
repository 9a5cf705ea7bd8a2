#include "ntr/synth/sram.h"

#include <cmath>
#include <limits>

#include <fmt/format.h>

namespace ntr::synth {
namespace {

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

constexpr int64_t kMinRows = 16;  // smallest macro a compiler builds

}  // namespace

SramEstimate estimate_sram(const SramSpec& spec, const Technology& tech) {
  const auto& t = tech.sram;
  if (spec.bytes <= 0 || spec.width_bits <= 0 || spec.banks <= 0)
    throw SynthError(fmt::format("SRAM '{}': bytes {}, width {} bits and banks {} must be positive", spec.name,
                                 spec.bytes, spec.width_bits, spec.banks));
  if (spec.ports != 1 && spec.ports != 2)
    throw SynthError(fmt::format("SRAM '{}': {} ports (1: single-port, 2: one read + one write)", spec.name,
                                 spec.ports));
  if (spec.bytes % spec.banks != 0)
    throw SynthError(fmt::format("SRAM '{}': {} bytes do not split into {} equal banks", spec.name, spec.bytes,
                                 spec.banks));
  const int64_t bank_bits = spec.bytes * 8 / spec.banks;
  const int64_t words = ceil_div(bank_bits, spec.width_bits);
  const double cell = t.bitcell_um2 * (spec.ports == 2 ? t.two_port_cell_factor : 1.0);
  auto macro_area = [&](int64_t rows, int64_t cols) {
    return cell * (static_cast<double>(rows) + t.periphery_rows) * (static_cast<double>(cols) + t.periphery_cols) +
           t.control_um2;
  };

  SramEstimate e;
  e.spec = spec;
  SramOrganisation& o = e.org;
  o.macros_wide = ceil_div(spec.width_bits, t.max_width_bits);
  o.macro_width_bits = ceil_div(spec.width_bits, o.macros_wide);
  double best = std::numeric_limits<double>::infinity();
  for (int64_t mux = 1; mux <= 32; mux *= 2) {
    const int64_t cols = o.macro_width_bits * mux;
    if (cols > t.max_cols) break;
    const int64_t rows_needed = ceil_div(words, mux);
    const int64_t deep = ceil_div(rows_needed, t.max_rows);
    const int64_t rows = std::max(kMinRows, ceil_div(rows_needed, deep));
    const double area = static_cast<double>(o.macros_wide * deep) * macro_area(rows, cols);
    if (area < best) {  // ties keep the smaller mux: fewer bit lines swing per access
      best = area;
      o.mux = mux;
      o.cols = cols;
      o.rows = rows;
      o.macros_deep = deep;
    }
  }
  e.macro_um2 = macro_area(o.rows, o.cols);
  e.bank_um2 = static_cast<double>(o.macros()) * e.macro_um2;
  e.area_um2 = static_cast<double>(spec.banks) * e.bank_um2;
  e.cell_area_um2 = static_cast<double>(spec.bytes * 8) * cell;
  e.efficiency = e.cell_area_um2 / e.area_um2;
  e.wire_um = 0.5 * std::sqrt(e.bank_um2);

  // Energies in fJ (capacitance in fF times volts squared), then pJ.
  const double v = tech.vdd_v;
  const double rows = static_cast<double>(o.rows), cols = static_cast<double>(o.cols);
  const double wl = cols * t.wordline_ff_per_cell * v * v;
  const double bl_read = rows * t.bitline_ff_per_cell * v * t.read_swing_v;  // one column, sensed
  const double bl_write = rows * t.bitline_ff_per_cell * v * v;              // one column, full swing
  const double wire = tech.wire_fj_per_bit_um() * e.wire_um;
  e.read_fixed_pj_ = (t.decode_fj + wl + cols * bl_read) * 1e-3;
  e.write_fixed_pj_ = (t.decode_fj + wl + (cols - static_cast<double>(o.macro_width_bits)) * bl_read) * 1e-3;
  e.read_bit_pj_ = (t.sense_fj_per_bit + wire) * 1e-3;
  e.write_bit_pj_ = (bl_write + t.write_fj_per_bit + wire) * 1e-3;
  e.read_pj = e.read_pj_bits(spec.width_bits);
  e.write_pj = e.write_pj_bits(spec.width_bits);

  // Leakage of every bit cell built (words are padded to whole macros) and of the periphery.
  const double cells = static_cast<double>(spec.banks * o.macros() * o.rows * o.cols);
  const double periphery_ge = (e.area_um2 - cells * cell) / tech.nand2_um2();
  e.leakage_uw = cells * t.leakage_pw_per_bit * 1e-6 + periphery_ge * tech.leakage_nw_per_ge * 1e-3;
  return e;
}

double SramEstimate::access_pj(int64_t bits, bool write) const {
  if (bits <= 0) return 0;
  const double fixed = write ? write_fixed_pj_ : read_fixed_pj_;
  const double per_bit = write ? write_bit_pj_ : read_bit_pj_;
  const int64_t full = bits / spec.width_bits;
  const int64_t rest = bits % spec.width_bits;
  double e = static_cast<double>(full) * static_cast<double>(org.macros_wide) * fixed;
  if (rest > 0) e += static_cast<double>(ceil_div(rest, org.macro_width_bits)) * fixed;
  return e + static_cast<double>(bits) * per_bit;
}

double SramEstimate::read_pj_bits(int64_t bits) const { return access_pj(bits, false); }
double SramEstimate::write_pj_bits(int64_t bits) const { return access_pj(bits, true); }

nlohmann::ordered_json to_json(const SramEstimate& e) {
  return {{"name", e.spec.name},
          {"bytes", e.spec.bytes},
          {"width_bits", e.spec.width_bits},
          {"banks", e.spec.banks},
          {"ports", e.spec.ports},
          {"organisation",
           {{"rows", e.org.rows},
            {"cols", e.org.cols},
            {"mux", e.org.mux},
            {"macro_width_bits", e.org.macro_width_bits},
            {"macros_per_bank", e.org.macros()},
            {"macros_wide", e.org.macros_wide},
            {"macros_deep", e.org.macros_deep}}},
          {"area_mm2", e.area_um2 * 1e-6},
          {"efficiency", e.efficiency},
          {"read_pj", e.read_pj},
          {"write_pj", e.write_pj},
          {"leakage_uw", e.leakage_uw}};
}

}  // namespace ntr::synth
