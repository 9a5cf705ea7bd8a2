#include <cmath>

#include <gtest/gtest.h>

#include "ntr/synth/sram.h"
#include "test_util.h"

namespace ntr::synth {
namespace {

const Technology& n16() {
  static const Technology t = resolve_technology("n16");
  return t;
}

// The local weight buffer half of the paper's tile, by hand: 64 KB read 2048 bits at a time.
// 256 words per bank; a macro is at most 256 bits wide, so 8 macros side by side, each 256 x 256
// bit cells without column mux (mux 2 would make 128 x 512 macros: larger periphery).
TEST(SramTest, OrganisesAndPricesAHandComputedBuffer) {
  const auto e = estimate_sram({"lwb", 131072, 2048, 2, 1}, n16());
  EXPECT_EQ(e.org.macros_wide, 8);
  EXPECT_EQ(e.org.macros_deep, 1);
  EXPECT_EQ(e.org.macro_width_bits, 256);
  EXPECT_EQ(e.org.mux, 1);
  EXPECT_EQ(e.org.rows, 256);
  EXPECT_EQ(e.org.cols, 256);
  // Macro: 0.07 um^2 x (256 + 24) x (256 + 32) + 500 um^2 = 6144.8 um^2.
  EXPECT_NEAR(e.macro_um2, 6144.8, 1e-6);
  EXPECT_NEAR(e.bank_um2, 8 * 6144.8, 1e-6);
  EXPECT_NEAR(e.area_um2, 2 * 8 * 6144.8, 1e-6);
  EXPECT_NEAR(e.efficiency, 131072 * 8 * 0.07 / (16 * 6144.8), 1e-12);
  // Read, per macro: decode 100 fJ + word line 256 x 0.16 fF x 0.8^2 V^2 + 256 bit lines of
  // 256 x 0.08 fF swinging 0.1 V from 0.8 V; per bit: sense 5 fJ + wire 0.032 fJ/um x half the
  // bank's side.
  const double wire_um = 0.5 * std::sqrt(8 * 6144.8);
  const double fixed_read = 100 + 256 * 0.16 * 0.64 + 256 * 256 * 0.08 * 0.8 * 0.1;
  const double bit_read = 5 + 0.032 * wire_um;
  EXPECT_NEAR(e.read_pj, (8 * fixed_read + 2048 * bit_read) * 1e-3, 1e-9);
  // Write: no half-selected columns (mux 1); per bit the bit line swings fully, plus the driver.
  const double fixed_write = 100 + 256 * 0.16 * 0.64;
  const double bit_write = 256 * 0.08 * 0.64 + 2 + 0.032 * wire_um;
  EXPECT_NEAR(e.write_pj, (8 * fixed_write + 2048 * bit_write) * 1e-3, 1e-9);
  // Leakage: 25 pW per bit plus the periphery as logic (1 nW per NAND2-equivalent).
  const double periphery_ge = (e.area_um2 - 131072 * 8 * 0.07) / 0.15552;
  EXPECT_NEAR(e.leakage_uw, 131072 * 8 * 25e-6 + periphery_ge * 1e-3, 1e-9);
}

TEST(SramTest, PartialAndWideAccesses) {
  const auto e = estimate_sram({"lwb", 131072, 2048, 2, 1}, n16());
  // One byte touches one macro of the eight.
  EXPECT_LT(e.read_pj_bits(8), e.read_pj / 7);
  EXPECT_NEAR(e.read_pj_bits(2 * 2048), 2 * e.read_pj, 1e-9);
  EXPECT_NEAR(e.read_pj_bits(2048 + 256), e.read_pj + e.read_pj_bits(256), 1e-9);
  EXPECT_EQ(e.read_pj_bits(0), 0);
}

TEST(SramTest, TwoPortMacrosAreLargerAndDeepMemoriesSplit) {
  const auto one = estimate_sram({"b", 16384, 512, 1, 1}, n16());
  const auto two = estimate_sram({"b", 16384, 512, 1, 2}, n16());
  EXPECT_GT(two.area_um2, one.area_um2 * 1.2);
  // 1.25 MB read 256 B at a time: 5120 words of 2048 bits -> 8 macros wide, 10 deep of 512 rows.
  const auto gwb = estimate_sram({"gwb", 1310720, 2048, 1, 1}, n16());
  EXPECT_EQ(gwb.org.macros_wide, 8);
  EXPECT_EQ(gwb.org.macros_deep * gwb.org.rows * gwb.org.mux, 5120);
  EXPECT_LE(gwb.org.rows, 512);
  EXPECT_GT(gwb.efficiency, 0.7);
  EXPECT_LT(gwb.efficiency, 0.9);
  // Banks: the same capacity in 8 banks costs more periphery, each access less energy.
  const auto banked = estimate_sram({"gib", 1310720, 512, 8, 1}, n16());
  const auto single = estimate_sram({"gib", 1310720, 512, 1, 1}, n16());
  EXPECT_GE(banked.area_um2, single.area_um2);
  EXPECT_LT(banked.read_pj, single.read_pj);
}

// Area and leakage never decrease with capacity, for every width, bank count and port count
// (the organisation is re-chosen at every size). Access energy never decreases from one power of
// two to the next; in between, an extra macro with shorter bit lines can make an access cheaper,
// as in a real compiler's macros (docs/ppa.md, section 3).
TEST(SramTest, MonotoneInCapacity) {
  for (int64_t width : {8, 64, 128, 512, 1536, 2048})
    for (int64_t banks : {1, 2, 8})
      for (int ports : {1, 2}) {
        SramEstimate prev, prev_pow2;
        bool first = true;
        for (int64_t kib = 1; kib <= 4096; kib += (kib < 64 ? 1 : kib / 16)) {
          const int64_t bytes = kib * 1024 * banks;
          const auto e = estimate_sram({"m", bytes, width, banks, ports}, n16());
          const auto at = ::testing::Message() << width << " bits, " << banks << " banks, " << ports << " ports, "
                                               << kib << " KiB per bank";
          if (!first) {
            EXPECT_GE(e.area_um2, prev.area_um2) << at;
            EXPECT_GE(e.leakage_uw, prev.leakage_uw) << at;
          }
          if ((kib & (kib - 1)) == 0) {
            if (!first) {
              EXPECT_GE(e.read_pj + 1e-12, prev_pow2.read_pj) << at;
              EXPECT_GE(e.write_pj + 1e-12, prev_pow2.write_pj) << at;
            }
            prev_pow2 = e;
          }
          prev = e;
          first = false;
        }
      }
}

TEST(SramTest, RejectsImpossibleSpecs) {
  EXPECT_THROW(estimate_sram({"m", 0, 64, 1, 1}, n16()), SynthError);
  EXPECT_THROW(estimate_sram({"m", 1024, 0, 1, 1}, n16()), SynthError);
  EXPECT_THROW(estimate_sram({"m", 1024, 64, 0, 1}, n16()), SynthError);
  EXPECT_THROW(estimate_sram({"m", 1024, 64, 3, 1}, n16()), SynthError);  // 1024 B into 3 banks
  EXPECT_THROW(estimate_sram({"m", 1024, 64, 1, 3}, n16()), SynthError);
}

}  // namespace
}  // namespace ntr::synth
