// The timing rules of docs/neutrino.md on small hand-written programs, each with its cycle count
// derived by hand (the derivations are in the comments; docs/neutrino.md section 8 repeats them).
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "ntr/compiler/error.h"
#include "ntr/compiler/timing.h"
#include "ntr/isa/accel_configs_gen.h"
#include "ntr/isa/asm.h"

using namespace ntr::compiler;
using ntr::isa::assemble;

namespace {

ntr::isa::AccelConfig tiny(int tiles = 1) {
  for (const auto& c : ntr::isa::shipped_accel_configs())
    if (c.name == (tiles == 1 ? "tiny" : "tiny-2t")) return c;
  throw std::runtime_error("no tiny config");
}
// tiny: mac.latency 2, ppu.lanes 4, ppu.latency 2, dma.latency 2, GWB 16 B/cycle, GIB 8, LIB 8.

int64_t cycles(const std::string& text, int tiles = 1) {
  return simulate_timing(assemble(text, "t.s"), tiny(tiles)).cycles;
}

std::vector<std::pair<int64_t, int64_t>> starts(const std::string& text, ntr::isa::Stream s, int tiles = 1) {
  Engine e(assemble(text, "t.s"), tiny(tiles));
  std::vector<std::pair<int64_t, int64_t>> v;
  e.on_issue = [&](const Issue& is) {
    if (is.stream == s) v.emplace_back(is.start, is.done);
  };
  e.run();
  return v;
}

}  // namespace

TEST(TimingTest, OneMvmIsBusyForItsRowsThenItsLatency) {
  // mvm starts at 0, busy 16, done 16 + 2 = 18; the halts run at cycles 0 (dma, ppu) and 1 (mac).
  EXPECT_EQ(cycles(".stream dma\n halt\n.stream mac\n mvm x=0 w=0 rows=16 bank=0 clr\n halt\n"
                   ".stream ppu\n halt\n"),
            18);
  // Wide: two cycles per row.
  EXPECT_EQ(cycles(".stream dma\n halt\n.stream mac\n mvm x=0 w=0 rows=16 bank=0 clr wide\n halt\n"
                   ".stream ppu\n halt\n"),
            34);
}

TEST(TimingTest, ASignalArrivesOneCycleAfterDone) {
  // mvm done at 18 signals s2, visible at 19: the ppu instruction starts at 19, busy
  // ceil(16 / 4) + 2 = 6, done 25.
  const std::string p =
      ".stream dma\n halt\n"
      ".stream mac\n mvm x=0 w=0 rows=16 bank=0 clr sig=s2\n halt\n"
      ".stream ppu\n ppu n=16 a=acc:0 d=vs:0 wait=s2\n halt\n";
  EXPECT_EQ(cycles(p), 25);
  EXPECT_EQ(starts(p, ntr::isa::Stream::Ppu), (std::vector<std::pair<int64_t, int64_t>>{{19, 25}}));
}

TEST(TimingTest, TheFrontEndOverlapsTheDatapath) {
  // signal at 0 (arrives 1), wait at 1, mvm starts 2 (busy 4, free at 6, done 8), seti 3, seti 4,
  // the second mvm is fetched at 5 but starts when the MAC is free, at 6 (done 12); halt at 7.
  const std::string p =
      ".stream dma\n halt\n"
      ".stream mac\n signal s3\n wait s3\n mvm x=0 w=0 rows=4 bank=0 clr\n seti a1 1\n seti a2 2\n"
      " mvm x=a1 w=a2 rows=4 bank=1 clr\n halt\n"
      ".stream ppu\n halt\n";
  EXPECT_EQ(starts(p, ntr::isa::Stream::Mac), (std::vector<std::pair<int64_t, int64_t>>{{2, 8}, {6, 12}}));
  EXPECT_EQ(cycles(p), 12);
}

TEST(TimingTest, LoopsCostNothingToRepeat) {
  // loop at 0; the body's mvm (busy 2) starts at 1, 3, 5; the last is done at 9; halt at 6.
  const std::string p =
      ".stream dma\n halt\n"
      ".stream mac\n loop 3 {\n  mvm x=0 w=0 rows=2 bank=0 clr\n }\n halt\n"
      ".stream ppu\n halt\n";
  EXPECT_EQ(starts(p, ntr::isa::Stream::Mac), (std::vector<std::pair<int64_t, int64_t>>{{1, 5}, {3, 7}, {5, 9}}));
  EXPECT_EQ(cycles(p), 9);
}

TEST(TimingTest, SyncWaitsForEverythingBeforeItToBeDone) {
  // mvm 0..4, done 6; sync starts at 6 (not 4), busy 1, done 7, signals s1 (arrives 8); the ppu
  // instruction starts at 8 and is done at 8 + 1 + 2 = 11.
  const std::string p =
      ".stream dma\n halt\n"
      ".stream mac\n mvm x=0 w=0 rows=4 bank=0 clr\n sync sig=s1\n halt\n"
      ".stream ppu\n ppu n=4 a=zero:0 d=vs:0 wait=s1\n halt\n";
  EXPECT_EQ(starts(p, ntr::isa::Stream::Mac), (std::vector<std::pair<int64_t, int64_t>>{{0, 6}, {6, 7}}));
  EXPECT_EQ(cycles(p), 11);
}

TEST(TimingTest, DmaCostsLatencyPlusBeats) {
  // GIB -> LIB, 17 bytes at min(8, 8) bytes/cycle: 2 + 3 = 5. GWB -> LWB, 4 rows of 16 bytes at
  // 16 bytes/cycle: 2 + 4 = 6. GWB -> CB, 5 rows of 12 bytes at min(16, 12): 2 + 5 = 7.
  const std::string p =
      ".stream dma\n dma ld g=gib:0 l=lib:0 len=17\n dma ld g=gwb:0 l=lwb:0 len=4 row_bytes=16\n"
      " dma ld g=gwb:0 l=cb:0 len=5\n halt\n"
      ".stream mac\n halt\n.stream ppu\n halt\n";
  EXPECT_EQ(starts(p, ntr::isa::Stream::Dma),
            (std::vector<std::pair<int64_t, int64_t>>{{0, 5}, {5, 11}, {11, 18}}));
}

TEST(TimingTest, BankContentionSerialisesTiles) {
  // tiny-2t: two tiles, two GIB banks of 32768 bytes. Tile 1's address is base + stride.
  auto dma_done = [](const std::string& setup, const std::string& dma) {
    const std::string p = ".stream dma\n" + setup + " " + dma + "\n halt\n.stream mac\n halt\n.stream ppu\n halt\n";
    const auto s = starts(p, ntr::isa::Stream::Dma, 2);
    return s.at(0).second - s.at(0).first;
  };
  // Each tile in its own bank: no contention, 2 + 2 = 4.
  EXPECT_EQ(dma_done(" tile a1 base=0 stride=32768\n", "dma ld g=gib:a1 l=lib:0 len=16"), 4);
  // Both tiles in bank 0 at different addresses: contention 2, 2 + 2 x 2 = 6.
  EXPECT_EQ(dma_done(" tile a1 base=0 stride=64\n", "dma ld g=gib:a1 l=lib:0 len=16"), 6);
  // The same address on both tiles: one broadcast read, 4.
  EXPECT_EQ(dma_done("", "dma ld g=gib:0 l=lib:0 len=16"), 4);
  // Stores never share: 6 even to the same bank range.
  EXPECT_EQ(dma_done(" tile a1 base=0 stride=64\n", "dma st g=gib:a1 l=lib:0 len=16"), 6);
  // GWB: one bank; identical weight reads broadcast, per-tile writes serialise.
  EXPECT_EQ(dma_done("", "dma ld g=gwb:0 l=lwb:0 len=4 row_bytes=16"), 6);
  // 16 bytes at min(16, 8) bytes/cycle = 2 beats, twice: 2 + 2 x 2 = 6.
  EXPECT_EQ(dma_done(" tile a1 base=0 stride=64\n", "dma st g=gwb:a1 l=lib:0 len=16"), 6);
  const auto r = simulate_timing(
      assemble(".stream dma\n tile a1 base=0 stride=64\n dma ld g=gib:a1 l=lib:0 len=16\n halt\n"
               ".stream mac\n halt\n.stream ppu\n halt\n"),
      tiny(2));
  EXPECT_EQ(r.contention_cycles, 2);
}

TEST(TimingTest, SameCycleWaitsResolveDmaFirst) {
  // s1 is signalled once by the ppu at cycle 0 (arrives 1). dma and mac both wait on it at
  // cycle 1: the dma takes it; the mac waits until the dma signals s1 after its nop-free sync.
  const std::string p =
      ".stream dma\n wait s1\n sync sig=s1\n halt\n"
      ".stream mac\n wait s1\n mvm x=0 w=0 rows=1 bank=0 clr\n halt\n"
      ".stream ppu\n signal s1\n halt\n";
  // dma: wait at 1, sync at 2 (busy 1, done 3), signal arrives 4; mac: wait succeeds at 4,
  // mvm at 5, done 5 + 1 + 2 = 8.
  EXPECT_EQ(starts(p, ntr::isa::Stream::Mac), (std::vector<std::pair<int64_t, int64_t>>{{5, 8}}));
}

TEST(TimingTest, DeadlockAndOverflowAreErrors) {
  EXPECT_THROW(cycles(".stream dma\n halt\n.stream mac\n wait s5\n halt\n.stream ppu\n halt\n"), CompileError);
  std::string many = ".stream dma\n halt\n.stream mac\n";
  for (int i = 0; i < 256; ++i) many += " signal s4\n";
  many += " halt\n.stream ppu\n halt\n";
  try {
    cycles(many);
    ADD_FAILURE() << "no overflow";
  } catch (const CompileError& e) {
    EXPECT_NE(std::string(e.what()).find("semaphore s4 exceeds 255"), std::string::npos) << e.what();
  }
}
