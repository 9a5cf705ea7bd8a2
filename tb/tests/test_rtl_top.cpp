// The Neutrino top on hand-written programs: registers, the host port, and runs cross-checked
// against csim instruction by instruction.
#include "tb_util.h"
#include "ntr/isa/semantics.h"

using namespace ntr;
using namespace ntr::tb;
using namespace ntr::tb::testing;

namespace {

// The dense layer of sw/runtime's device suite: 54 cycles (csim/tests/test_machine.cpp).
const char* kDense = R"(
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
  const auto p = program(kDense);
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
  const auto r = expect_match("tiny", program(kDense), gwb, random_bytes(64, 5));
  EXPECT_EQ(r.rtl.cycles, 54u);
  EXPECT_EQ(r.csim_cycles, 54u);
}
