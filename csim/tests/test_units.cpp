// The unit models on their own: MAC kernels against the scalar reference and the literal formula,
// the PPU against isa/semantics.h, DMA costs against the YAML formula, the sequencer's loops.
#include <gtest/gtest.h>

#include <random>

#include "../src/mac_kernel.h"
#include "ntr/isa/asm.h"
#include "ntr/csim/units.h"
#include "test_util.h"

using namespace ntr;
using namespace ntr::csim;
using ntr::csim::testing::accel;

namespace {

std::vector<int8_t> random_bytes(std::mt19937& rng, size_t n) {
  std::uniform_int_distribution<int> d(-128, 127);
  std::vector<int8_t> v(n);
  for (auto& b : v) b = static_cast<int8_t>(d(rng));
  return v;
}

}  // namespace

TEST(MacKernelTest, EveryKernelMatchesTheScalarReference) {
  const kernel::Kernel* ks[4];
  const int nk = kernel::available(ks, 4);
  ASSERT_GE(nk, 1);
  std::mt19937 rng(7);
  for (int64_t lanes : {16, 32, 64, 96, 256})
    for (int64_t rows : {1, 2, 3, 17, 255, 256})
      for (int tiles : {1, 2, 3, 5, 8, 16})
        for (int64_t stride : {1, 2}) {
          const auto w = random_bytes(rng, static_cast<size_t>(rows * lanes));
          std::vector<const int8_t*> wp;
          for (int64_t r = 0; r < rows; ++r) wp.push_back(w.data() + r * lanes);
          std::vector<std::vector<int8_t>> xs;
          std::vector<const int8_t*> xp;
          for (int t = 0; t < tiles; ++t) xs.push_back(random_bytes(rng, static_cast<size_t>(rows * stride)));
          for (auto& x : xs) xp.push_back(x.data());
          // Extreme values where products are largest.
          xs[0][0] = -128;
          const_cast<int8_t&>(w[0]) = -128;
          std::vector<int32_t> want(static_cast<size_t>(tiles * lanes));
          for (int t = 0; t < tiles; ++t)
            for (int64_t j = 0; j < lanes; ++j) {
              int32_t s = 0;
              for (int64_t r = 0; r < rows; ++r) s += int32_t{xs[static_cast<size_t>(t)][static_cast<size_t>(r * stride)]} * w[static_cast<size_t>(r * lanes + j)];
              want[static_cast<size_t>(t * lanes + j)] = s;
            }
          for (int k = 0; k < nk; ++k) {
            if (lanes % ks[k]->lane_multiple) continue;
            std::vector<int32_t> got(want.size(), 12345);
            ks[k]->fn(wp.data(), rows, xp.data(), stride, tiles, lanes, got.data());
            ASSERT_EQ(got, want) << ks[k]->name << " lanes " << lanes << " rows " << rows << " tiles " << tiles
                                 << " stride " << stride;
          }
        }
}

TEST(MacArrayTest, MultipliesNarrowAndWideInputsExactly) {
  const auto cfg = accel("tiny");
  MacArray mac(cfg);
  TileState t(cfg);
  std::mt19937 rng(3);
  const auto w = random_bytes(rng, static_cast<size_t>(cfg.lwb_rows() * cfg.lanes()));
  for (int64_t r = 0; r < cfg.lwb_rows(); ++r) t.lwb.write_row(r, w.data() + r * cfg.lanes(), cfg.lanes());
  const auto x = random_bytes(rng, t.lib.size());
  std::memcpy(t.lib.data(), x.data(), x.size());
  for (bool wide : {false, true}) {
    const MvmArgs a{100, 70, 50, 1, false, wide};  // rows 70..119 of the upper half
    ASSERT_EQ(mac.check(a), "");
    EXPECT_EQ(mac.busy(a), wide ? 100 : 50);
    std::vector<int32_t> sums(static_cast<size_t>(cfg.lanes()));
    mac.multiply(a, t, sums);
    for (int64_t j = 0; j < cfg.lanes(); ++j) {
      int64_t s = 0;
      for (int64_t r = 0; r < a.rows; ++r) s += int64_t{w[static_cast<size_t>((a.w + r) * cfg.lanes() + j)]} * isa::mvm_input(t.lib, a.x, r, wide);
      EXPECT_EQ(sums[static_cast<size_t>(j)], isa::wrap32(s)) << "lane " << j;
    }
    // accumulate: clr replaces, otherwise adds with int32 wraparound.
    t.acc.assign(t.acc.size(), 0);
    t.acc[static_cast<size_t>(cfg.lanes())] = INT32_MAX;
    mac.accumulate(a, t, sums);
    EXPECT_EQ(t.acc[static_cast<size_t>(cfg.lanes())], isa::wrap32(int64_t{INT32_MAX} + sums[0]));
    MvmArgs c = a;
    c.clr = true;
    mac.accumulate(c, t, sums);
    EXPECT_EQ(t.acc[static_cast<size_t>(cfg.lanes()) + 3], sums[3]);
    EXPECT_EQ(t.acc[3], 0);  // bank 0 untouched
  }
}

TEST(MacArrayTest, RejectsBadOperands) {
  const auto cfg = accel("tiny");  // 2 halves of 64 rows, 2 banks, LIB 2048 bytes
  MacArray mac(cfg);
  EXPECT_NE(mac.check({0, 60, 8, 0, false, false}).find("crossing the half boundary at row 64"), std::string::npos);
  EXPECT_NE(mac.check({0, 120, 16, 0, false, false}).find("LWB rows 120..135 outside 0..127"), std::string::npos);
  EXPECT_NE(mac.check({0, 0, 4, 2, false, false}).find("bank 2 does not exist"), std::string::npos);
  EXPECT_NE(mac.check({2040, 0, 5, 0, false, true}).find("LIB bytes 2040..2049"), std::string::npos);
  EXPECT_NE(mac.check({-1, 0, 5, 0, false, false}).find("LIB bytes -1..3"), std::string::npos);
  EXPECT_EQ(mac.check({1983, 64, 64, 1, false, false}), "");
}

TEST(WeightBufferTest, ReferredRowsReadTheirSourceUntilDetached) {
  WeightBuffer lwb(4, 8);
  std::vector<int8_t> g(32);
  for (int i = 0; i < 32; ++i) g[static_cast<size_t>(i)] = static_cast<int8_t>(i);
  lwb.refer_row(1, g.data() + 8);
  EXPECT_TRUE(lwb.refers(1));
  EXPECT_EQ(lwb.row(1)[3], 11);
  // A partial write keeps the rest of the referred row.
  lwb.refer_row(2, g.data() + 16);
  const int8_t two[2] = {-1, -2};
  lwb.write_row(2, two, 2);
  EXPECT_FALSE(lwb.refers(2));
  EXPECT_EQ(lwb.row(2)[0], -1);
  EXPECT_EQ(lwb.row(2)[5], 21);
  lwb.detach(g.data() + 12, g.data() + 13);
  EXPECT_FALSE(lwb.refers(1));
  g[11] = 99;
  EXPECT_EQ(lwb.row(1)[3], 11);
  const WeightBuffer copy = lwb;
  EXPECT_EQ(copy.row(2)[5], 21);
  EXPECT_NE(copy.row(2), lwb.row(2));
}

TEST(PostProcessorTest, FollowsTheElementSemantics) {
  const auto cfg = accel("tiny");
  PostProcessor ppu(cfg);
  TileState t(cfg);
  std::mt19937 rng(5);
  std::uniform_int_distribution<int32_t> big(-300000, 300000);
  for (auto& a : t.acc) a = big(rng);
  for (auto& v : t.vs) v = big(rng) / 8;
  for (auto& b : t.lib) b = static_cast<uint8_t>(rng());
  for (int r = 0; r < 16; ++r)
    t.cb[static_cast<size_t>(r)] = isa::CbRow{big(rng), (1 << 30) + r * 1000, static_cast<uint8_t>(20 + r % 10)};

  isa::Ppu p;
  p.n = 8;
  p.a_space = isa::Asrc::Acc;
  p.rq = isa::Rq::Row;
  p.sat1 = isa::Sat1::S16;
  p.act = isa::Act::Sig;
  p.mul = true;
  p.b_space = isa::Bsrc::Vs;
  p.add = true;
  p.oshift = 2;
  p.sat2 = isa::Sat2::C19;
  p.d_space = isa::Pdst::Vs;
  const PpuArgs a = PpuArgs::from(p, 20, 100);  // ACC bank 1 lanes 4..11
  ASSERT_EQ(ppu.check(a), "");
  EXPECT_EQ(ppu.busy(a), 2 + cfg.ppu_latency);
  std::vector<int32_t> out(8);
  ppu.compute(a, t, out);
  for (int k = 0; k < 8; ++k) {
    const int64_t want = isa::ppu_element(p, t.acc[static_cast<size_t>(20 + k)], t.vs[static_cast<size_t>(k)],
                                          t.vs[static_cast<size_t>(100 + k)],
                                          t.cb[static_cast<size_t>(k)], act_tables());
    EXPECT_EQ(out[static_cast<size_t>(k)], isa::wrap32(want));
  }
  ppu.store(a, t, out);
  EXPECT_EQ(t.vs[103], out[3]);

  // LIB8 destination narrows to a byte; LIB32 writes little-endian words.
  isa::Ppu q;
  q.n = 4;
  q.a_space = isa::Asrc::Vs;
  q.rq = isa::Rq::Shift;
  q.rshift = 3;
  q.sat2 = isa::Sat2::S8;
  q.d_space = isa::Pdst::Lib8;
  const PpuArgs b = PpuArgs::from(q, 0, 1000);
  ppu.compute(b, t, out);
  ppu.store(b, t, out);
  EXPECT_EQ(static_cast<int8_t>(t.lib[1001]), isa::sat(isa::rshr(t.vs[1], 3), -128, 127));
  q.d_space = isa::Pdst::Lib32;
  q.sat2 = isa::Sat2::None;
  const PpuArgs c = PpuArgs::from(q, 0, 1200);
  ppu.compute(c, t, out);
  ppu.store(c, t, out);
  const int32_t w2 = static_cast<int32_t>(t.lib[1208] | t.lib[1209] << 8 | t.lib[1210] << 16 | static_cast<uint32_t>(t.lib[1211]) << 24);
  EXPECT_EQ(w2, isa::rshr(t.vs[2], 3));
}

// csim's PPU loop runs the pipeline a stage at a time; isa::ppu_element is the reference for one
// element. Random instructions over every field, operands with the extremes of their types.
TEST(PostProcessorTest, MatchesTheElementReferenceOnRandomInstructions) {
  const auto cfg = accel("tiny");
  PostProcessor ppu(cfg);
  TileState t(cfg);
  std::mt19937_64 rng(99);
  auto word = [&]() -> int32_t {
    switch (rng() % 6) {
      case 0: return INT32_MIN;
      case 1: return INT32_MAX;
      case 2: return static_cast<int32_t>(rng() % 512) - 256;
      case 3: return static_cast<int32_t>(rng() % 65536) - 32768;
      default: return static_cast<int32_t>(rng());
    }
  };
  for (int iter = 0; iter < 4000; ++iter) {
    for (auto& v : t.acc) v = word();
    for (auto& v : t.vs) v = word();
    for (auto& b : t.lib) b = static_cast<uint8_t>(rng());
    for (auto& c : t.cb) c = isa::CbRow{word(), word(), static_cast<uint8_t>(rng() % 64)};
    isa::Ppu p;
    p.n = 1 + static_cast<int64_t>(rng() % 16);
    p.a_space = static_cast<isa::Asrc>(rng() % 4);
    p.rq = static_cast<isa::Rq>(rng() % 3);
    p.relu = p.rq == isa::Rq::Row && rng() % 2;
    p.rshift = p.rq == isa::Rq::Shift ? static_cast<int64_t>(rng() % 32) : 0;
    p.sat1 = static_cast<isa::Sat1>(rng() % 3);
    p.act = static_cast<isa::Act>(rng() % 3);
    p.mul = rng() % 2;
    p.b_space = p.mul ? static_cast<isa::Bsrc>(rng() % 2) : isa::Bsrc::Vs;
    p.add = rng() % 2;
    p.oshift = static_cast<int64_t>(rng() % 16);
    p.sat2 = static_cast<isa::Sat2>(rng() % 4);
    p.d_space = static_cast<isa::Pdst>(rng() % 3);
    PpuArgs a = PpuArgs::from(p, p.a_space == isa::Asrc::Acc ? 16 : 40, 100);
    a.b = p.mul ? 200 : 0;
    a.cb = p.rq == isa::Rq::Row ? 7 : 0;
    ASSERT_EQ(ppu.check(a), "");
    std::vector<int32_t> out(static_cast<size_t>(p.n));
    ppu.compute(a, t, out);
    for (int64_t k = 0; k < p.n; ++k) {
      const auto K = static_cast<size_t>(k);
      int64_t av = 0, bv = 0, old = 0;
      switch (p.a_space) {
        case isa::Asrc::Acc: av = t.acc[static_cast<size_t>(a.a) + K]; break;
        case isa::Asrc::Vs: av = t.vs[static_cast<size_t>(a.a) + K]; break;
        case isa::Asrc::Lib8: av = static_cast<int8_t>(t.lib[static_cast<size_t>(a.a) + K]); break;
        case isa::Asrc::Zero: break;
      }
      if (p.mul) bv = p.b_space == isa::Bsrc::Vs ? t.vs[200 + K] : static_cast<int8_t>(t.lib[200 + K]);
      switch (p.d_space) {
        case isa::Pdst::Vs: old = t.vs[100 + K]; break;
        case isa::Pdst::Lib8: old = static_cast<int8_t>(t.lib[100 + K]); break;
        case isa::Pdst::Lib32: {
          const uint8_t* b = t.lib.data() + 100 + 4 * k;
          old = static_cast<int32_t>(b[0] | b[1] << 8 | b[2] << 16 | static_cast<uint32_t>(b[3]) << 24);
          break;
        }
      }
      const isa::CbRow cb = p.rq == isa::Rq::Row ? t.cb[7 + K] : isa::CbRow{};
      const int64_t want = isa::store_narrow(p.d_space, isa::ppu_element(p, av, bv, old, cb, act_tables()));
      ASSERT_EQ(out[K], want) << "iteration " << iter << " element " << k << ": " << isa::format_insn(isa::to_fields(p));
    }
  }
}

TEST(PostProcessorTest, SelectsTheLongOrShortRegressor) {
  const auto cfg = accel("tiny");
  PostProcessor ppu(cfg);
  TileState t(cfg);
  const int32_t z[] = {5, 7, 9, 2, -3, -3};   // logits pairs: long, short, tie -> short
  const int32_t r[] = {10, 20, 30, 40, 50, 60};
  std::copy(z, z + 6, t.vs.begin());
  std::copy(r, r + 6, t.vs.begin() + 16);
  isa::Psel s;
  s.n = 3;
  s.a_space = isa::Asrc::Vs;
  s.b_space = isa::Bsrc::Vs;
  s.b_off = 16;
  s.d_space = isa::Pdst::Vs;
  const PpuArgs a = PpuArgs::from(s, 0, 32);
  EXPECT_EQ(ppu.busy(a), 2 + cfg.ppu_latency);  // ceil(6 / 4) + latency
  std::vector<int32_t> out(3);
  ppu.compute(a, t, out);
  EXPECT_EQ(out, (std::vector<int32_t>{20, 30, 50}));
}

TEST(PostProcessorTest, RejectsBadOperands) {
  const auto cfg = accel("tiny");  // 16 lanes, 2 banks, VS 256 words, CB 256 rows
  PostProcessor ppu(cfg);
  isa::Ppu p;
  p.n = 8;
  p.a_space = isa::Asrc::Acc;
  EXPECT_NE(ppu.check(PpuArgs::from(p, 12, 0)).find("crossing from bank 0 into bank 1"), std::string::npos);
  EXPECT_NE(ppu.check(PpuArgs::from(p, 30, 0)).find("ACC words 30..37 outside 0..31"), std::string::npos);
  p.a_space = isa::Asrc::Vs;
  EXPECT_NE(ppu.check(PpuArgs::from(p, 0, 250)).find("writes VS words 250..257"), std::string::npos);
  p.d_space = isa::Pdst::Lib32;
  EXPECT_NE(ppu.check(PpuArgs::from(p, 0, 2020)).find("LIB bytes 2020..2051"), std::string::npos);
  p.d_space = isa::Pdst::Vs;
  p.rq = isa::Rq::Row;
  p.cb_off = 250;
  EXPECT_NE(ppu.check(PpuArgs::from(p, 0, 0)).find("CB rows 250..257"), std::string::npos);
}

TEST(DmaEngineTest, CostsFollowTheIsaFormula) {
  const auto cfg = accel("neutrino-1t");  // latency 4, gwb 256 B/c, gib 64, lib 64, cb 48
  DmaEngine dma(cfg);
  isa::Dma d;
  d.l_space = isa::Lspace::Lwb;
  d.len = 256;
  d.row_bytes = 256;
  EXPECT_EQ(dma.busy(DmaArgs::from(d, 0, 0), 1), 4 + 256);
  EXPECT_EQ(dma.busy(DmaArgs::from(d, 0, 0), 3), 4 + 3 * 256);
  d.l_space = isa::Lspace::Cb;
  d.row_bytes = 1;
  d.len = 10;  // 120 bytes at 48 B/cycle
  EXPECT_EQ(dma.beats(DmaArgs::from(d, 0, 0)), 3);
  d.l_space = isa::Lspace::Lib;
  d.g_space = isa::Gspace::Gib;
  d.len = 130;
  EXPECT_EQ(dma.beats(DmaArgs::from(d, 0, 0)), 3);
  EXPECT_NE(dma.check(DmaArgs::from(d, cfg.gib_bytes - 100, 0)).find("GIB bytes"), std::string::npos);
  EXPECT_NE(dma.check(DmaArgs::from(d, 0, cfg.lib_bytes - 1)).find("LIB bytes"), std::string::npos);
}

TEST(DmaEngineTest, LoadsAndStores) {
  const auto cfg = accel("tiny");  // 16-byte LWB rows
  DmaEngine dma(cfg);
  TileState t(cfg);
  std::vector<uint8_t> g(static_cast<size_t>(cfg.gwb_bytes));
  for (size_t i = 0; i < g.size(); ++i) g[i] = static_cast<uint8_t>(i * 7);
  isa::Dma d;
  d.l_space = isa::Lspace::Lwb;
  d.len = 2;
  d.row_bytes = 16;
  dma.load(DmaArgs::from(d, 32, 5), g, t);
  EXPECT_TRUE(t.lwb.refers(5));
  EXPECT_EQ(static_cast<uint8_t>(t.lwb.row(6)[1]), g[49]);
  d.row_bytes = 4;
  dma.load(DmaArgs::from(d, 100, 5), g, t);
  EXPECT_FALSE(t.lwb.refers(5));
  EXPECT_EQ(static_cast<uint8_t>(t.lwb.row(6)[3]), g[107]);
  EXPECT_EQ(static_cast<uint8_t>(t.lwb.row(6)[4]), g[52]);  // beyond row_bytes: unchanged
  d.l_space = isa::Lspace::Cb;
  d.row_bytes = 1;
  dma.load(DmaArgs::from(d, 12, 3), g, t);
  EXPECT_EQ(t.cb[4].bias, isa::unpack_cb_row(&g[24]).bias);
  EXPECT_EQ(t.cb[4].shift, g[24 + 8] & 63);
  d.l_space = isa::Lspace::Lib;
  d.len = 5;
  dma.load(DmaArgs::from(d, 1000, 10), g, t);
  EXPECT_EQ(t.lib[14], g[1004]);
  d.dir = isa::Dir::St;
  std::vector<uint8_t> out(5);
  dma.read_local(DmaArgs::from(d, 0, 10), t, out);
  dma.store(DmaArgs::from(d, 2000, 10), out, g);
  EXPECT_EQ(g[2004], g[1004]);
}

TEST(SequencerTest, RunsNestedLoopsAndAddressArithmetic) {
  const auto p = isa::decode_program(ntr::csim::testing::program(R"(
.stream dma
  seti a1 10
  tile a2 base=100 stride=1000
  loop 3 {
    loop 2 {
      addi a1 7 mod=16
    }
    nop
  }
  halt
.stream mac
  halt
.stream ppu
  halt
)"), "t");
  Sequencer s(p[0], 3);
  int executed = 0;
  while (s.insn().op != isa::Opcode::Halt) {
    ASSERT_EQ(s.execute_control(), "");
    ++executed;
  }
  EXPECT_EQ(executed, 2 + 1 + 3 * (1 + 2 + 1));
  // 10 + 6 * 7 = 52, wrapped into [0, 16) after each step: 10 -> 1 -> 8 -> 15 -> 6 -> 13 -> 4
  EXPECT_EQ(s.ar(0, 1), 4);
  EXPECT_EQ(s.ar(2, 2), 2100);
  EXPECT_EQ(s.address(1, 2, 5), 1105);
  EXPECT_EQ(s.address(1, 0, 5), 5);
  EXPECT_EQ(s.check_halt(), "");
}

TEST(SequencerTest, ReportsHaltInsideARunningLoop) {
  const auto p = isa::decode_program(ntr::csim::testing::program(R"(
.stream dma
  loop 2 {
    nop
    halt
  }
.stream mac
  halt
.stream ppu
  halt
)"), "t");
  Sequencer s(p[0], 1);
  ASSERT_EQ(s.execute_control(), "");
  ASSERT_EQ(s.execute_control(), "");
  EXPECT_NE(s.check_halt().find("halt inside a hardware loop"), std::string::npos);
}
