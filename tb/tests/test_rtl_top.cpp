// The Neutrino top on hand-written programs: registers, the host port, and runs cross-checked
// against csim instruction by instruction.
#include "tb_util.h"
#include "ntr/isa/semantics.h"

using namespace ntr;
using namespace ntr::tb;
using namespace ntr::tb::testing;

namespace {

// The hand-timed dense layer of csim's machine test and sw/runtime's device suite: 54 cycles.
isa::Program dense_layer() { return isa::assemble_file(source_dir() / "csim" / "tests" / "data" / "dense_layer.s"); }

}  // namespace

TEST(RtlTopTest, RegistersDescribeTheInstance) {
  for (const char* name : {"tiny", "tiny-2t"}) {
    RtlTop& t = model(name);
    const auto cfg = accel(name);
    EXPECT_EQ(t.read_csr(csr::kId), csr::kIdValue);
    EXPECT_EQ(t.read_csr(csr::kCfgTiles), static_cast<uint32_t>(cfg.tiles));
    EXPECT_EQ(t.read_csr(csr::kCfgLanes), static_cast<uint32_t>(cfg.lanes()));
    EXPECT_EQ(t.read_csr(csr::kCfgClock), static_cast<uint32_t>(cfg.clock_mhz));
    EXPECT_EQ(t.read_csr(csr::kStatus), 0u);
  }
}

TEST(RtlTopTest, HostPortReachesEveryMemory) {
  RtlTop& t = model("tiny");
  const auto a = random_bytes(100, 1), b = random_bytes(77, 2);
  t.write_gwb(13, a);
  t.write_gib(1000, b);
  EXPECT_EQ(t.read_gwb(13, a.size()), a);
  EXPECT_EQ(t.read_gib(1000, b.size()), b);
  const auto p = dense_layer();
  t.load_program(p);
  for (int s = 0; s < 3; ++s) {
    const auto& w = p.stream(static_cast<isa::Stream>(s));
    for (size_t i = 0; i < w.size(); ++i) {
      const uint32_t at = host::kImemBase + static_cast<uint32_t>(s) * host::kImemStride + static_cast<uint32_t>(16 * i);
      EXPECT_EQ(t.read64(at), w[i].lo);
      EXPECT_EQ(t.read64(at + 8), w[i].hi);
    }
  }
}

TEST(RtlTopTest, RunsADenseLayerInstructionByInstruction) {
  std::vector<uint8_t> gwb = random_bytes(448, 21);
  for (int j = 0; j < 16; ++j) {
    isa::CbRow c{static_cast<int32_t>(j * 1000) - 8000, (1 << 30) + j * 12345, static_cast<uint8_t>(36 + j % 4)};
    isa::pack_cb_row(c, &gwb[static_cast<size_t>(256 + 12 * j)]);
  }
  const auto r = expect_match("tiny", dense_layer(), gwb, random_bytes(64, 5));
  EXPECT_EQ(r.rtl.cycles, 54u);
  EXPECT_EQ(r.csim_cycles, 54u);
}

namespace {

struct Example {
  const char* cfg;
  const char* text;
  uint64_t cycles;
};

// docs/neutrino.md section 8, on the RTL.
const Example kExamples[] = {
    {"tiny", ".stream dma\n halt\n.stream mac\n mvm x=0 w=0 rows=16 bank=0 clr\n halt\n.stream ppu\n halt\n", 18},
    {"tiny", ".stream dma\n halt\n.stream mac\n mvm x=0 w=0 rows=16 bank=0 clr wide\n halt\n.stream ppu\n halt\n", 34},
    {"tiny",
     ".stream dma\n halt\n.stream mac\n mvm x=0 w=0 rows=16 bank=0 clr sig=s2\n halt\n"
     ".stream ppu\n ppu n=16 a=acc:0 d=vs:0 wait=s2\n halt\n",
     25},
    {"tiny",
     ".stream dma\n halt\n.stream mac\n signal s3\n wait s3\n mvm x=0 w=0 rows=4 bank=0 clr\n seti a1 1\n seti a2 2\n"
     " mvm x=a1 w=a2 rows=4 bank=1 clr\n halt\n.stream ppu\n halt\n",
     12},
    {"tiny", ".stream dma\n halt\n.stream mac\n loop 3 {\n  mvm x=0 w=0 rows=2 bank=0 clr\n }\n halt\n.stream ppu\n halt\n", 9},
    {"tiny",
     ".stream dma\n halt\n.stream mac\n mvm x=0 w=0 rows=4 bank=0 clr\n sync sig=s1\n halt\n"
     ".stream ppu\n ppu n=4 a=zero:0 d=vs:0 wait=s1\n halt\n",
     11},
    {"tiny",
     ".stream dma\n dma ld g=gib:0 l=lib:0 len=17\n dma ld g=gwb:0 l=lwb:0 len=4 row_bytes=16\n"
     " dma ld g=gwb:0 l=cb:0 len=5\n halt\n.stream mac\n halt\n.stream ppu\n halt\n",
     18},
    {"tiny-2t", ".stream dma\n tile a1 base=0 stride=64\n dma ld g=gib:a1 l=lib:0 len=16\n halt\n.stream mac\n halt\n.stream ppu\n halt\n", 7},
    {"tiny-2t", ".stream dma\n tile a1 base=0 stride=32768\n dma ld g=gib:a1 l=lib:0 len=16\n halt\n.stream mac\n halt\n.stream ppu\n halt\n", 5},
    {"tiny-2t", ".stream dma\n dma ld g=gib:0 l=lib:0 len=16\n halt\n.stream mac\n halt\n.stream ppu\n halt\n", 4},
    {"tiny",
     ".stream dma\n wait s1\n sync sig=s1\n halt\n.stream mac\n wait s1\n mvm x=0 w=0 rows=1 bank=0 clr\n halt\n"
     ".stream ppu\n signal s1\n halt\n",
     8},
};

}  // namespace

TEST(RtlTopTest, WorkedTimingExamplesOfTheArchitectureDocument) {
  for (const Example& e : kExamples) {
    SCOPED_TRACE(e.text);
    const auto r = expect_match(e.cfg, program(e.text), random_bytes(4096, 3), random_bytes(4096, 4));
    EXPECT_EQ(r.rtl.cycles, e.cycles);
  }
}

// Runtime errors: the RTL stops with the error csim reports (kind, stream, pc, tile, cycle).
TEST(RtlTopTest, RuntimeErrorsMatchCsim) {
  struct Case {
    const char* cfg;
    const char* text;
    uint32_t kind;  // 1 + csim::ErrorKind
  };
  const Case cases[] = {
      // OutOfBounds: LIB beyond its end, an mvm crossing the LWB half, a bad bank, ACC across banks.
      {"tiny", ".stream dma\n halt\n.stream mac\n nop\n mvm x=2040 w=0 rows=16 bank=0\n halt\n.stream ppu\n halt\n", 2},
      {"tiny", ".stream dma\n halt\n.stream mac\n mvm x=0 w=60 rows=8 bank=0\n halt\n.stream ppu\n halt\n", 2},
      {"tiny", ".stream dma\n halt\n.stream mac\n mvm x=0 w=0 rows=8 bank=2\n halt\n.stream ppu\n halt\n", 2},
      {"tiny", ".stream dma\n halt\n.stream mac\n halt\n.stream ppu\n ppu n=8 a=acc:12 d=vs:0\n halt\n", 2},
      {"tiny", ".stream dma\n dma ld g=gwb:65530 l=lib:0 len=16\n halt\n.stream mac\n halt\n.stream ppu\n halt\n", 2},
      {"tiny", ".stream dma\n dma ld g=gwb:0 l=lwb:0 len=1 row_bytes=17\n halt\n.stream mac\n halt\n.stream ppu\n halt\n", 2},
      {"tiny", ".stream dma\n seti a1 -4\n dma ld g=gib:0 l=lib:a1 len=8\n halt\n.stream mac\n halt\n.stream ppu\n halt\n", 2},
      // Per tile: only tile 1 is outside (stride pushes it past the LIB).
      {"tiny-2t", ".stream dma\n tile a1 base=1000 stride=1040\n dma ld g=gib:0 l=lib:a1 len=16\n halt\n.stream mac\n halt\n.stream ppu\n halt\n", 2},
      // StoreConflict: both tiles store to overlapping GIB bytes.
      {"tiny-2t", ".stream dma\n tile a1 base=0 stride=4\n dma st g=gib:a1 l=lib:0 len=16\n halt\n.stream mac\n halt\n.stream ppu\n halt\n", 6},
      // SemaphoreOverflow: 256 signals with nobody waiting.
      {"tiny", ".stream dma\n loop 256 {\n  signal s7\n }\n halt\n.stream mac\n halt\n.stream ppu\n halt\n", 5},
      // Deadlock: everyone waits.
      {"tiny", ".stream dma\n wait s1\n halt\n.stream mac\n nop\n nop\n wait s2\n halt\n.stream ppu\n signal s3\n wait s3\n wait s3\n halt\n", 7},
      // Two streams fail in the same cycle: the dma stream is reported.
      {"tiny", ".stream dma\n dma ld g=gwb:65530 l=lib:0 len=16\n halt\n.stream mac\n mvm x=2040 w=0 rows=16 bank=0\n halt\n.stream ppu\n halt\n", 2},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.text);
    const auto r = expect_match(c.cfg, program(c.text), {}, {});
    EXPECT_FALSE(r.rtl.ok);
    EXPECT_EQ(r.rtl.err_kind, c.kind);
    EXPECT_TRUE(r.csim_error);
  }
}

// csim rejects an illegal word when the program is loaded; the RTL traps when a front end reaches
// it, naming the stream, pc and cycle.
TEST(RtlTopTest, IllegalInstructionRaisesTheErrorRegisters) {
  RtlTop& t = model("tiny");
  auto p = program(".stream dma\n halt\n.stream mac\n nop\n nop\n nop\n halt\n.stream ppu\n halt\n");
  p.stream(isa::Stream::Mac)[2].hi |= uint64_t{1} << 40;  // a reserved bit of a nop
  t.reset();
  t.load_program(p);
  t.start();
  const RunResult r = t.run(10000);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.err_kind, 1u);
  EXPECT_EQ(r.err_stream, 1u);
  EXPECT_EQ(r.err_pc, 2u);
  EXPECT_EQ(r.err_cycle, 2u);
  EXPECT_EQ(r.err_tile, ~0u);
  // A datapath opcode in the wrong stream.
  auto q = program(".stream dma\n halt\n.stream mac\n halt\n.stream ppu\n nop\n halt\n");
  q.stream(isa::Stream::Ppu)[0] = isa::encode(isa::Mvm{});
  t.reset();
  t.load_program(q);
  t.start();
  const RunResult r2 = t.run(10000);
  EXPECT_EQ(r2.err_kind, 1u);
  EXPECT_EQ(r2.err_stream, 2u);
  EXPECT_EQ(r2.err_pc, 0u);
  EXPECT_EQ(r2.err_cycle, 0u);
  // Loops nested deeper than four levels (the assembler refuses them; the RTL traps at the fifth).
  isa::Program deep = program(".stream dma\n halt\n.stream mac\n halt\n.stream ppu\n halt\n");
  auto& d = deep.stream(isa::Stream::Dma);
  d.clear();
  for (int i = 0; i < 5; ++i) d.push_back(isa::encode(isa::Loop{2, 5 - i}));
  d.push_back(isa::encode(isa::Nop{}));
  d.push_back(isa::encode(isa::Halt{}));
  t.reset();
  t.load_program(deep);
  t.start();
  const RunResult r4 = t.run(10000);
  EXPECT_EQ(r4.err_kind, 4u);
  EXPECT_EQ(r4.err_stream, 0u);
  EXPECT_EQ(r4.err_pc, 4u);
  EXPECT_EQ(r4.err_cycle, 4u);
  // The device works again afterwards.
  const auto r3 = expect_match("tiny", program(kExamples[0].text), {}, {});
  EXPECT_EQ(r3.rtl.cycles, 18u);
}
