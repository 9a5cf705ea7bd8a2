// The machine's timing rules, data paths and runtime errors, on hand-written assembly. Expected
// cycle counts are worked out by hand from docs/neutrino.md in the comments.
#include <gtest/gtest.h>

#include <random>

#include "ntr/csim/lockstep.h"
#include "ntr/csim/machine.h"
#include "ntr/csim/units.h"
#include "ntr/isa/semantics.h"
#include "test_util.h"

using namespace ntr;
using namespace ntr::csim;
using ntr::csim::testing::accel;
using ntr::csim::testing::program;
using ntr::csim::testing::dense_layer_program;

namespace {

constexpr int kDma = 0, kMac = 1, kPpu = 2;

// Runs `text` and returns the error it raises (or fails the test).
SimError run_error(const std::string& cfg_name, const std::string& text) {
  Machine m(accel(cfg_name));
  m.load_program(program(text));
  try {
    m.run();
  } catch (const SimError& e) {
    return e;
  }
  ADD_FAILURE() << "no error";
  return SimError(ErrorKind::Deadlock, "none");
}

struct Recorder : Observer {
  bool writes = false;
  std::vector<Retired> retired;
  std::vector<Issue> issued;
  bool wants_writes() const override { return writes; }
  void on_issue(const Issue& i) override { issued.push_back(i); }
  void on_retire(const Retired& r) override { retired.push_back(r); }
};

}  // namespace

TEST(MachineTest, SignalsArriveOneCycleAfterDone) {
  Machine m(accel("tiny"));
  m.load_program(program(R"(
.stream dma
  halt
.stream mac
  mvm x=0 w=0 rows=4 bank=0 clr sig=s0   # 0..4 busy, done 6
  halt                                   # 1
.stream ppu
  ppu n=4 a=acc:0 d=vs:0 wait=s0         # s0 arrives 7: busy ceil(4/4) + 2 = 3, done 10
  halt                                   # 8
)"));
  Recorder rec;
  m.set_observer(&rec);
  const Stats& s = m.run();
  EXPECT_EQ(s.cycles, 10u);
  ASSERT_EQ(rec.issued.size(), 2u);
  EXPECT_EQ(rec.issued[0].start, 0);
  EXPECT_EQ(rec.issued[0].done, 6);
  EXPECT_EQ(rec.issued[1].start, 7);
  EXPECT_EQ(rec.issued[1].done, 10);
  const auto& ppu = s.streams[kPpu];
  EXPECT_EQ(ppu.front_end_stall[static_cast<int>(Stall::Semaphore)], 7u);
  EXPECT_EQ(ppu.idle[static_cast<int>(Stall::Semaphore)], 7u);
  EXPECT_EQ(ppu.busy_cycles, 3u);
  const auto& mac = s.streams[kMac];
  EXPECT_EQ(mac.idle[static_cast<int>(Stall::Halted)], 6u);
  EXPECT_EQ(s.mac_busy_cycles, 4u);
  EXPECT_DOUBLE_EQ(s.mac_utilization(), 0.4);
  // Every unit's datapath cycles add up to the run.
  for (const auto& u : s.streams) {
    uint64_t sum = u.busy_cycles;
    for (auto c : u.idle) sum += c;
    EXPECT_EQ(sum, s.cycles);
  }
}

TEST(MachineTest, ControlInstructionsOverlapTheDatapath) {
  Machine m(accel("tiny"));
  m.load_program(program(R"(
.stream dma
  halt
.stream mac
  mvm x=0 w=0 rows=8 bank=0 clr          # 0, busy to 8
  seti a1 8                              # 1
  addi a1 8                              # 2
  mvm x=a1+0 w=8 rows=8 bank=1 clr       # reached at 3, starts 8, done 18
  halt                                   # 9
.stream ppu
  halt
)"));
  Recorder rec;
  m.set_observer(&rec);
  const Stats& s = m.run();
  EXPECT_EQ(s.cycles, 18u);
  ASSERT_EQ(rec.issued.size(), 2u);
  EXPECT_EQ(rec.issued[1].start, 8);
  EXPECT_EQ(s.streams[kMac].front_end_stall[static_cast<int>(Stall::Busy)], 5u);
  EXPECT_EQ(s.streams[kMac].idle[static_cast<int>(Stall::Halted)], 2u);  // 16..18: the tail
  EXPECT_EQ(s.streams[kMac].control, 3u);
  EXPECT_EQ(s.streams[kMac].datapath, 2u);
}

TEST(MachineTest, RunsADenseLayerBitExactlyWithHandComputedTiming) {
  const auto cfg = accel("tiny");
  Machine m(cfg);
  m.load_program(dense_layer_program());
  std::mt19937 rng(11);
  auto gwb = m.gwb();
  for (int i = 0; i < 128; ++i) gwb[static_cast<size_t>(i)] = static_cast<uint8_t>(rng());
  std::vector<isa::CbRow> cb(16);
  for (int j = 0; j < 16; ++j) {
    cb[static_cast<size_t>(j)] = isa::CbRow{static_cast<int32_t>(rng() % 20001) - 10000,
                                            static_cast<int32_t>((1u << 30) + rng() % (1u << 30)),
                                            static_cast<uint8_t>(36 + j % 4)};
    isa::pack_cb_row(cb[static_cast<size_t>(j)], &gwb[static_cast<size_t>(256 + 12 * j)]);
  }
  auto gib = m.gib();
  for (int i = 0; i < 8; ++i) gib[static_cast<size_t>(i)] = static_cast<uint8_t>(rng());
  const Stats& s = m.run();
  EXPECT_EQ(s.cycles, 54u);
  for (int j = 0; j < 16; ++j) {
    int64_t acc = 0;
    for (int r = 0; r < 8; ++r)
      acc += int64_t{static_cast<int8_t>(gwb[static_cast<size_t>(16 * r + j)])} * static_cast<int8_t>(gib[static_cast<size_t>(r)]);
    const auto& c = cb[static_cast<size_t>(j)];
    const int64_t want = isa::sat(isa::rshr(int64_t{isa::wrap32(acc + c.bias)} * c.mult, c.shift), -128, 127);
    EXPECT_EQ(static_cast<int8_t>(gib[static_cast<size_t>(64 + j)]), want) << "row " << j;
  }
  // Activity: one 8-row mvm, 16 PPU elements, DMA bytes by path.
  EXPECT_EQ(s.mac_ops, 8u * 16u);
  EXPECT_EQ(s.ppu[static_cast<int>(PpuOp::RqRow)], 16u);
  EXPECT_EQ(s.dma[static_cast<int>(DmaPath::GwbToLwb)].local_bytes, 128u);
  EXPECT_EQ(s.dma[static_cast<int>(DmaPath::GwbToCb)].local_bytes, 192u);
  EXPECT_EQ(s.dma[static_cast<int>(DmaPath::LibToGib)].global_bytes, 16u);
  EXPECT_EQ(s.mem[static_cast<int>(Buffer::Lwb)][static_cast<int>(Port::Mac)][0].accesses, 8u);
  EXPECT_EQ(s.mem[static_cast<int>(Buffer::Cb)][static_cast<int>(Port::Ppu)][0].bytes, 192u);
}

TEST(MachineTest, GlobalBankContentionAndBroadcast) {
  const auto cfg = accel("tiny-2t");  // 2 tiles, GIB in 2 banks of 32768 bytes
  Machine m(cfg);
  m.load_program(program(R"(
.stream dma
  tile a1 base=0 stride=0
  dma ld g=gib:a1 l=lib:0 len=64       # same bytes on both tiles: one broadcast read, 1: busy 10
  tile a2 base=0 stride=64
  dma ld g=gib:a2 l=lib:0 len=64       # two reads in bank 0: contention 2, 11: busy 2 + 2 x 8
  tile a3 base=0 stride=32768
  dma ld g=gib:a3 l=lib:64 len=64      # one read per bank: 29: busy 10, done 39
  dma st g=gib:a2+256 l=lib:0 len=8    # two stores into bank 0: 39: busy 2 + 2 x 1, done 43
  halt
.stream mac
  halt
.stream ppu
  halt
)"));
  for (int i = 0; i < cfg.gib_bytes; ++i) m.gib()[static_cast<size_t>(i)] = static_cast<uint8_t>(i * 13 + i / 256);
  Recorder rec;
  m.set_observer(&rec);
  const Stats& s = m.run();
  ASSERT_EQ(rec.issued.size(), 4u);
  EXPECT_EQ(rec.issued[0].contention, 1);
  EXPECT_EQ(rec.issued[1].contention, 2);
  EXPECT_EQ(rec.issued[2].contention, 1);
  EXPECT_EQ(rec.issued[3].contention, 2);
  EXPECT_EQ(rec.issued[1].start, 11);
  EXPECT_EQ(rec.issued[3].done, 43);
  EXPECT_EQ(s.cycles, 43u);
  EXPECT_EQ(s.contention_cycles, 8u + 1u);
  EXPECT_EQ(s.broadcast_saved_bytes, 64u);
  EXPECT_EQ(m.tile(1).lib[5], m.gib()[64 + 5]);
  EXPECT_EQ(m.tile(1).lib[64 + 5], m.gib()[32768 + 5]);
  EXPECT_EQ(m.tile(0).lib[64 + 5], m.gib()[5]);
  // The stores: tile 0 to 256.., tile 1 to 320.., each its own LIB bytes 0..7.
  EXPECT_EQ(m.gib()[256 + 3], m.tile(0).lib[3]);
  EXPECT_EQ(m.gib()[320 + 3], m.tile(1).lib[3]);
}

TEST(MachineTest, LockstepStepsMatchARun) {
  const std::string text = R"(
.stream dma
  dma ld g=gib:0 l=lib:0 len=16 sig=s0
  halt
.stream mac
  seti a1 0
  loop 3 {
    mvm x=a1+0 w=0 rows=4 bank=0 wait=s0 sig=s1
    addi a1 4
  }
  halt
.stream ppu
  loop 3 {
    ppu n=16 a=acc:0 d=vs:0 wait=s1 sig=s0
  }
  halt
)";
  const auto cfg = accel("tiny");
  Machine a(cfg), b(cfg);
  a.load_program(program(text));
  b.load_program(program(text));
  for (int i = 0; i < 16; ++i) a.gib()[static_cast<size_t>(i)] = b.gib()[static_cast<size_t>(i)] = static_cast<uint8_t>(3 * i);
  const uint64_t cycles = a.run().cycles;
  Recorder rec;
  rec.writes = true;
  b.set_observer(&rec);
  b.reset();
  int steps = 0;
  int64_t last = -1;
  while (b.step()) {
    ++steps;
    EXPECT_GT(b.cycle(), last);
    last = b.cycle();
  }
  EXPECT_TRUE(b.finished());
  EXPECT_EQ(b.stats().cycles, cycles);
  EXPECT_EQ(b.tile(0).vs, a.tile(0).vs);
  EXPECT_GT(steps, 5);
  // Every instruction retires once: dma 2, mac seti + loop + 3 x 2 + halt, ppu loop + 3 + halt.
  EXPECT_EQ(rec.retired.size(), 2u + 9u + 5u);
  bool saw_ar = false, saw_vs = false;
  for (const auto& r : rec.retired) {
    for (const auto& w : r.writes) {
      if (w.space == Space::Ar && r.op == isa::Opcode::Addi) saw_ar = true;
      if (w.space == Space::Vs) {
        saw_vs = true;
        EXPECT_EQ(w.values.size(), 16u);
      }
    }
    EXPECT_LE(r.start, r.done);
  }
  EXPECT_TRUE(saw_ar);
  EXPECT_TRUE(saw_vs);
}

// ------------------------------------------------------------------------------- errors

TEST(MachineErrorTest, OutOfBoundsNamesStreamPcCycleAndTile) {
  const SimError e = run_error("tiny", R"(
.stream dma
  halt
.stream mac
  nop
  mvm x=2040 w=0 rows=16 bank=0
  halt
.stream ppu
  halt
)");
  EXPECT_EQ(e.kind(), ErrorKind::OutOfBounds);
  EXPECT_EQ(e.site().stream, kMac);
  EXPECT_EQ(e.site().pc, 1);
  EXPECT_EQ(e.site().cycle, 1);
  EXPECT_EQ(e.site().tile, 0);
  EXPECT_NE(std::string(e.what()).find("LIB bytes 2040..2055 outside 0..2047"), std::string::npos) << e.what();
  EXPECT_NE(std::string(e.what()).find("(stream mac, pc 1, cycle 1, tile 0)"), std::string::npos) << e.what();
}

TEST(MachineErrorTest, MvmCrossingAnLwbHalf) {
  const SimError e = run_error("tiny", ".stream dma\n halt\n.stream mac\n mvm x=0 w=60 rows=8 bank=0\n halt\n.stream ppu\n halt\n");
  EXPECT_EQ(e.kind(), ErrorKind::OutOfBounds);
  EXPECT_NE(std::string(e.what()).find("crossing the half boundary"), std::string::npos);
}

TEST(MachineErrorTest, OnlyTheOffendingTileIsNamed) {
  const SimError e = run_error("tiny-2t", R"(
.stream dma
  tile a1 base=2000 stride=40
  dma ld g=gib:0 l=lib:a1 len=16
  halt
.stream mac
  halt
.stream ppu
  halt
)");
  EXPECT_EQ(e.kind(), ErrorKind::OutOfBounds);
  EXPECT_EQ(e.site().tile, 1);
}

TEST(MachineErrorTest, DmaWritingWhatTheMacReadsIsAHazard) {
  const SimError e = run_error("tiny", R"(
.stream dma
  dma ld g=gib:0 l=lib:8 len=64          # 0..10, lands at 10
  halt
.stream mac
  mvm x=0 w=0 rows=16 bank=0 clr         # reads LIB 0..15 during 0..16
  halt
.stream ppu
  halt
)");
  EXPECT_EQ(e.kind(), ErrorKind::Hazard);
  EXPECT_EQ(e.site().stream, kDma);
  EXPECT_EQ(e.site().pc, 0);
  EXPECT_EQ(e.site().cycle, 10);
  EXPECT_NE(std::string(e.what()).find("mac mvm (pc 0, cycles 0..18) reads LIB 0..15"), std::string::npos) << e.what();
}

TEST(MachineErrorTest, MacWritingAccumulatorsThePpuReadsIsAHazard) {
  const SimError e = run_error("tiny", R"(
.stream dma
  halt
.stream mac
  nop
  mvm x=0 w=0 rows=2 bank=1 clr          # 1..3, lands at 5
  halt
.stream ppu
  ppu n=16 a=acc:16 d=vs:0               # reads ACC bank 1 during 0..6
  halt
)");
  EXPECT_EQ(e.kind(), ErrorKind::Hazard);
  EXPECT_EQ(e.site().cycle, 5);
}

TEST(MachineErrorTest, SynchronisedAccessIsNotAHazard) {
  Machine m(accel("tiny"));
  m.load_program(program(R"(
.stream dma
  dma ld g=gib:0 l=lib:0 len=64 sig=s0
  halt
.stream mac
  mvm x=0 w=0 rows=16 bank=0 clr wait=s0 sig=s1
  halt
.stream ppu
  ppu n=16 a=acc:0 d=lib8:0 wait=s1      # after the mvm, and after the DMA wrote these bytes
  halt
)"));
  EXPECT_NO_THROW(m.run());
}

TEST(MachineErrorTest, DeadlockListsTheBlockedStreams) {
  const SimError e = run_error("tiny", R"(
.stream dma
  halt
.stream mac
  wait s3
  halt
.stream ppu
  nop
  ppu n=4 a=zero:0 d=vs:0 wait=s7
  halt
)");
  EXPECT_EQ(e.kind(), ErrorKind::Deadlock);
  EXPECT_NE(std::string(e.what()).find("mac at pc 0 (wait s3) waits on s3"), std::string::npos) << e.what();
  EXPECT_NE(std::string(e.what()).find("ppu at pc 1"), std::string::npos) << e.what();
  EXPECT_NE(std::string(e.what()).find("waits on s7"), std::string::npos) << e.what();
}

TEST(MachineErrorTest, SemaphoreOverflow) {
  const SimError e = run_error("tiny", ".stream dma\n loop 256 {\n signal s5\n }\n halt\n.stream mac\n halt\n.stream ppu\n halt\n");
  EXPECT_EQ(e.kind(), ErrorKind::SemaphoreOverflow);
  EXPECT_EQ(e.site().stream, kDma);
  EXPECT_EQ(e.site().pc, 1);
  EXPECT_EQ(e.site().cycle, 257);  // the 256th signal, fired at 256
}

TEST(MachineErrorTest, HaltInsideARunningLoop) {
  const SimError e = run_error("tiny", ".stream dma\n loop 3 {\n nop\n halt\n }\n.stream mac\n halt\n.stream ppu\n halt\n");
  EXPECT_EQ(e.kind(), ErrorKind::LoopMisuse);
  EXPECT_EQ(e.site().pc, 2);
  EXPECT_EQ(e.site().cycle, 2);
}

TEST(MachineErrorTest, HaltEndingALoopsLastIterationIsFine) {
  Machine m(accel("tiny"));
  m.load_program(program(".stream dma\n loop 1 {\n nop\n halt\n }\n.stream mac\n halt\n.stream ppu\n halt\n"));
  EXPECT_EQ(m.run().cycles, 3u);
}

TEST(MachineErrorTest, StoreConflictBetweenTiles) {
  const SimError e = run_error("tiny-2t", R"(
.stream dma
  tile a1 base=100 stride=4
  dma st g=gib:a1 l=lib:0 len=8
  halt
.stream mac
  halt
.stream ppu
  halt
)");
  EXPECT_EQ(e.kind(), ErrorKind::StoreConflict);
  EXPECT_NE(std::string(e.what()).find("tiles 0 and 1 store to overlapping GIB bytes 100..107 and 104..111"),
            std::string::npos) << e.what();
}

TEST(MachineErrorTest, IllegalWordsAreRejectedOnLoad) {
  Machine m(accel("tiny"));
  isa::Program p = program(".stream dma\n nop\n halt\n.stream mac\n halt\n.stream ppu\n halt\n");
  p.stream(isa::Stream::Dma)[0].hi |= uint64_t{1} << 40;  // a reserved bit
  try {
    m.load_program(p);
    FAIL() << "loaded";
  } catch (const SimError& e) {
    EXPECT_EQ(e.kind(), ErrorKind::IllegalInstruction);
    EXPECT_NE(std::string(e.what()).find("dma stream, instruction 0"), std::string::npos) << e.what();
  }
  // An mvm in the dma stream.
  isa::Program q = program(".stream dma\n halt\n.stream mac\n mvm x=0 w=0 rows=1 bank=0\n halt\n.stream ppu\n halt\n");
  q.stream(isa::Stream::Dma).insert(q.stream(isa::Stream::Dma).begin(), q.stream(isa::Stream::Mac)[0]);
  EXPECT_THROW(m.load_program(q), SimError);
  // Through the decoded form too.
  isa::DecodedProgram d = isa::decode_program(program(".stream dma\n halt\n.stream mac\n halt\n.stream ppu\n halt\n"), "t");
  isa::Fields bad;
  bad.op = isa::Opcode::Seti;  // a0 is read-only
  d[0].insert(d[0].begin(), bad);
  EXPECT_THROW(m.load_program(d), SimError);
}

TEST(MachineErrorTest, LoopsNestedTooDeepAreLoopMisuse) {
  std::string text = ".stream dma\n";
  for (int i = 0; i < 5; ++i) text += "loop 2 {\n";
  text += "nop\n";
  for (int i = 0; i < 5; ++i) text += "}\n";
  text += "halt\n.stream mac\n halt\n.stream ppu\n halt\n";
  // The assembler refuses it; build the words by hand.
  isa::Program p = program(".stream dma\n halt\n.stream mac\n halt\n.stream ppu\n halt\n");
  auto& ws = p.stream(isa::Stream::Dma);
  ws.clear();
  for (int i = 0; i < 5; ++i) ws.push_back(isa::encode(isa::Loop{2, 5 - i}));
  ws.push_back(isa::encode(isa::Nop{}));
  ws.push_back(isa::encode(isa::Halt{}));
  Machine m(accel("tiny"));
  try {
    m.load_program(p);
    FAIL() << "loaded";
  } catch (const SimError& e) {
    EXPECT_EQ(e.kind(), ErrorKind::LoopMisuse) << e.what();
  }
  EXPECT_THROW(program(text), isa::IsaError);
}

TEST(MachineErrorTest, ProgramLargerThanTheInstructionMemory) {
  std::string text = ".stream dma\n";
  for (int i = 0; i < 1024; ++i) text += " nop\n";
  text += " halt\n.stream mac\n halt\n.stream ppu\n halt\n";
  Machine m(accel("tiny"));
  try {
    m.load_program(program(text));
    FAIL() << "loaded";
  } catch (const SimError& e) {
    EXPECT_EQ(e.kind(), ErrorKind::IllegalInstruction);
    EXPECT_NE(std::string(e.what()).find("1025 instructions"), std::string::npos) << e.what();
  }
}

TEST(MachineErrorTest, CycleLimit) {
  SimOptions o;
  o.max_cycles = 100;
  Machine m(accel("tiny"), o);
  m.load_program(program(".stream dma\n loop 1000 {\n nop\n }\n halt\n.stream mac\n halt\n.stream ppu\n halt\n"));
  try {
    m.run();
    FAIL();
  } catch (const SimError& e) {
    EXPECT_EQ(e.kind(), ErrorKind::CycleLimit);
  }
}

TEST(LockstepTest, AcceptsAnIdenticalRunInAnyStreamOrderAndNamesTheFirstDifference) {
  const std::string text = R"(
.stream dma
  dma ld g=gwb:0 l=lwb:0 len=8 row_bytes=16 sig=s1
  dma ld g=gwb:256 l=cb:0 len=16 sig=s2
  dma ld g=gib:0 l=lib:0 len=8 sig=s3
  dma st g=gib:64 l=lib:32 len=16 wait=s4
  halt
.stream mac
  wait s1
  mvm x=0 w=0 rows=8 bank=0 clr wait=s3 sig=s5
  halt
.stream ppu
  wait s2
  ppu n=16 a=acc:0 d=lib8:32 cb=0 rq=row sat1=s8 wait=s5 sig=s4
  halt
)";
  const auto cfg = accel("tiny");
  auto load = [&](Machine& m) {
    m.load_program(program(text));
    for (int i = 0; i < 448; ++i) m.gwb()[static_cast<size_t>(i)] = static_cast<uint8_t>(i * 37 + 11);
    for (int i = 0; i < 8; ++i) m.gib()[static_cast<size_t>(i)] = static_cast<uint8_t>(i * 91);
  };
  // The "other side": a second csim whose completions are replayed, two of them swapped.
  Machine other(cfg);
  load(other);
  Recorder rec;
  rec.writes = true;
  other.set_observer(&rec);
  other.run();
  std::vector<Retired> seq = rec.retired;
  ASSERT_GT(seq.size(), 8u);
  // Two completions of different streams, reported in the other order.
  ASSERT_NE(seq[0].stream, seq[1].stream);
  std::swap(seq[0], seq[1]);
  {
    Machine m(cfg);
    load(m);
    Lockstep ls(m);
    for (const auto& r : seq) ASSERT_EQ(ls.check(r), "") << describe(r);
    EXPECT_EQ(ls.finish(), "");
    EXPECT_EQ(ls.checked(), seq.size());
  }
  {
    Machine m(cfg);
    load(m);
    Lockstep ls(m);
    std::vector<Retired> bad = rec.retired;
    for (auto& r : bad)
      if (r.op == isa::Opcode::Ppu) r.writes.at(0).values.at(5) ^= 1;
    std::string first;
    for (const auto& r : bad)
      if (first.empty()) first = ls.check(r);
    EXPECT_NE(first.find("ppu pc 1 ppu"), std::string::npos) << first;
    EXPECT_NE(first.find("LIB tile 0 element 37"), std::string::npos) << first;
  }
  {
    Machine m(cfg);
    load(m);
    Lockstep ls(m);
    Retired late = rec.retired.back();
    late.done += 1;
    for (size_t i = 0; i + 1 < rec.retired.size(); ++i) ASSERT_EQ(ls.check(rec.retired[i]), "");
    EXPECT_NE(ls.check(late).find("csim completed"), std::string::npos);
  }
}
