// Behaviour of the reference core beyond the headline validation kernels: store-to-load
// forwarding and memory dependences, serialization, the instruction cache, the prefetcher,
// labels and epochs, and the Table 4 designs against each other.
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <random>

#include "kernels.h"
#include "test_support.h"

namespace ns::uarch {
namespace {

using namespace kernels;
using test_support::design;
using test_support::run;
using test_support::SimRun;
using test_support::variant;
using trace::OpClass;

double cycles_per_iteration(const SimRun& r, int measured_iterations) {
  return double(r.stats.cycles) / measured_iterations;
}

// A value carried through memory: store r1 -> [A]; load r1 <- [A]; r1 += 1. The load forwards
// from the store queue: store (1 cycle address/data) + forwarding (the L1D latency, 2) + add (1)
// = 4 cycles per iteration.
TEST(UarchCoreTest, ForwardsFromAnOlderStoreToTheSameAddress) {
  Builder b;
  b.loop(1000, [&](int i) {
    b.set_warmup(i < 100);
    b.store(gpr(1), gpr(9), 0x60000000);
    b.load(gpr(1), gpr(9), 0x60000000);
    b.op(OpClass::IntAlu, gpr(1), gpr(1));
  });
  const SimRun r = run(design("8w"), b.take());
  EXPECT_WITHIN(cycles_per_iteration(r, 900), 4.0, 0.02);
  EXPECT_EQ(r.stats.forwarded_loads, 900u);
  EXPECT_EQ(r.side[1] & kSideLevelMask, 1) << "a forwarded load is served at L1 level";
}

// A load that reads more bytes than the older store wrote cannot forward: it waits until the
// store has been written to the cache after commit, which is much slower than forwarding.
TEST(UarchCoreTest, PartiallyOverlappingLoadWaitsForTheStoreToDrain) {
  auto kernel = [](uint16_t store_size) {
    Builder b;
    b.loop(1000, [&](int i) {
      b.set_warmup(i < 100);
      b.store(gpr(1), gpr(9), 0x60000000, store_size);
      b.load(gpr(1), gpr(9), 0x60000000, 8);
      b.op(OpClass::IntAlu, gpr(1), gpr(1));
    });
    return b.take();
  };
  const SimRun full = run(design("8w"), kernel(8));
  const SimRun partial = run(design("8w"), kernel(4));
  EXPECT_EQ(partial.stats.forwarded_loads, 0u);
  // Partial: store issues (1), commits after execute (+1) with the load behind it, drains the
  // next cycle and writes the L1D (2), then the load reads the L1D (2) and the add runs (1).
  EXPECT_GT(cycles_per_iteration(partial, 900), 1.7 * cycles_per_iteration(full, 900));
}

// Loads to other addresses than the in-flight stores do not wait for them.
TEST(UarchCoreTest, LoadsToOtherAddressesIgnoreOlderStores) {
  Builder b;
  b.loop(1000, [&](int i) {
    b.set_warmup(i < 100);
    b.op(OpClass::IntDiv, gpr(1), gpr(1));  // the stores' data arrives late
    b.store(gpr(1), gpr(9), 0x60000000 + 8 * (i % 64));
    b.load(gpr(2), gpr(9), 0x61000000 + 8 * (i % 64));
    b.op(OpClass::IntAlu, gpr(3), gpr(2), gpr(3));
  });
  const SimRun r = run(design("8w"), b.take());
  EXPECT_EQ(r.stats.forwarded_loads, 0u);
  // Bound by the divide chain (20 cycles), not by the loads.
  EXPECT_WITHIN(cycles_per_iteration(r, 900), 20.0, 0.02);
}

// `add r1, [mem]` accumulating into r1: the load issues early, only the add is on the chain:
// one cycle per instruction.
TEST(UarchCoreTest, LoadOpChainsOnlyThroughTheOperation) {
  Builder b;
  b.loop(200, [&](int i) {
    b.set_warmup(i < 20);
    for (int k = 0; k < 32; ++k) b.load_op(OpClass::IntAlu, gpr(1), gpr(9), 0x60000000 + 8 * k);
  });
  const SimRun r = run(design("lsq"), b.take());  // 2 LS units: the port is not the limit
  EXPECT_WITHIN(double(r.stats.cycles) / (32 * 180), 1.0, 0.03);
}

// A serializing instruction waits for every older instruction to commit and holds younger ones
// until it commits. With the pipeline empty behind it: dispatch (1 after the last commit), issue
// (+1), no execution unit, commit (+1) = label 3; the next instruction then dispatches 1 cycle
// after that commit, issues, executes and commits: label 4.
TEST(UarchCoreTest, SerializingInstructionsDrainThePipeline) {
  Builder b;
  b.loop(100, [&](int i) {
    b.set_warmup(i < 10);
    for (int k = 0; k < 30; ++k) b.op(OpClass::IntAlu, gpr(k % 14));
    b.serializing();
    b.op(OpClass::IntAlu, gpr(1));
  });
  const SimRun r = run(design("8w"), b.take());
  EXPECT_EQ(r.stats.serializing, 90u);
  for (size_t row = 30; row < r.labels.size(); row += 33) {
    ASSERT_EQ(r.labels[row], 3u) << "serializing instruction at row " << row;
    ASSERT_EQ(r.labels[row + 1], 4u) << "the instruction after it";
  }
}

// Straight-line code larger than the L1I, looped: every 64-byte line (16 instructions) misses
// the L1I and is fetched from the L2 (its latency, 20, beyond the pipelined L1I hit) and then
// takes 2 fetch cycles: 16 instructions per 22 cycles. Code that fits the L1I runs at 6 IPC.
TEST(UarchCoreTest, InstructionCacheMissesStallFetch) {
  auto code = [](int instructions, int passes) {
    Builder b;
    for (int p = 0; p < passes; ++p) {
      b.set_warmup(p == 0);
      b.set_pc(0x800000);
      for (int k = 0; k < instructions - 1; ++k) b.op(OpClass::IntAlu, gpr(k % 14));
      b.jump(0x800000);
    }
    return b.take();
  };
  const SimRun big = run(design("8w"), code(32768, 3));  // 128 KB of code
  EXPECT_WITHIN(big.stats.ipc(), 16.0 / 22.0, 0.03);
  EXPECT_WITHIN(big.stats.per_kilo(big.stats.l1i_misses), 1000.0 / 16, 0.01);
  EXPECT_TRUE(big.side[16] & kSideIcacheMiss);
  EXPECT_FALSE(big.side[17] & kSideIcacheMiss);
  const SimRun small = run(design("8w"), code(4096, 3));  // 16 KB
  EXPECT_EQ(small.stats.l1i_misses, 0u);
  EXPECT_WITHIN(small.stats.ipc(), 6.0, 0.03);
}

// Streaming loads over 32 MB: without the prefetcher every 8th load misses to DRAM and the 4
// L1D MSHRs bound the overlap; the stride prefetcher requests lines 4 ahead (gem5's degree) on
// top of the demand misses, which about doubles the throughput (the prefetches are still late:
// 4 lines ahead is less than the 163-cycle DRAM latency at this speed).
TEST(UarchCoreTest, StridePrefetcherHidesStreamingMisses) {
  Builder b;
  b.loop(40000, [&](int i) {
    b.set_warmup(i < 4000);
    b.load(gpr(1), gpr(9), 0x80000000 + 8 * uint64_t(i));
    b.op(OpClass::IntAlu, gpr(2), gpr(1), gpr(2));
    b.op(OpClass::IntAlu, gpr(9), gpr(9));
  });
  const auto recs = b.take();
  const SimRun off = run(variant("8w", {{"memory", {{"prefetcher", {{"enabled", false}}}}}}), recs);
  const SimRun on = run(design("8w"), recs);
  EXPECT_EQ(off.stats.prefetches, 0u);
  EXPECT_GT(on.stats.prefetches, 36000u / 8 * 9 / 10) << "about one prefetch per line";
  EXPECT_GT(on.stats.ipc(), 1.8 * off.stats.ipc());
}

// Labels are commit-to-commit cycles: they sum to the epoch's cycles, and with up to `width`
// commits per cycle most of them are 0 (independent ALU ops at IPC 6: 5 of 6 are 0).
TEST(UarchCoreTest, LabelsSumToCyclesAndAreMostlyZeroAtHighIpc) {
  Builder b;
  b.loop(300, [&](int i) {
    b.set_warmup(i < 30);
    for (int k = 0; k < 63; ++k) b.op(OpClass::IntAlu, gpr(k % 14));
  });
  const SimRun r = run(design("8w"), b.take());
  EXPECT_EQ(std::accumulate(r.labels.begin(), r.labels.end(), uint64_t(0)), r.stats.cycles);
  EXPECT_EQ(r.labels.size(), r.stats.instructions);
  EXPECT_EQ(r.stats.instructions, 270u * 64);
  const double zeros = double(std::count(r.labels.begin(), r.labels.end(), 0u)) / r.labels.size();
  EXPECT_WITHIN(zeros, 5.0 / 6.0, 0.02);
  EXPECT_LE(*std::max_element(r.labels.begin(), r.labels.end()), 2u);
}

// Epochs on one core: each starts with the pipeline drained (an ALU op after the drain:
// fetch 1 + front end 4 + issue 1 + execute 1 + commit 1 = 8 cycles after the last commit),
// while caches and predictors keep what the previous epoch left.
TEST(UarchCoreTest, EpochsDrainThePipelineButKeepCachesAndPredictors) {
  const auto ring = chase_ring(0x40000000, 4096, 5);  // 256 KB: L2-resident once touched
  Builder b;
  b.loop(4096, [&](int) { b.load(gpr(1), gpr(1), ring[0]); });
  std::vector<trace::Record> epoch;
  {
    Builder e;
    e.op(OpClass::IntAlu, gpr(2));
    size_t k = 0;
    e.loop(4096, [&](int) { e.load(gpr(1), gpr(1), ring[k++]); });
    epoch = e.take();
  }
  Core core(design("8w"));
  std::vector<uint32_t> labels(epoch.size());
  std::vector<uint8_t> side(epoch.size());
  const EpochStats first = core.run_epoch(epoch, {labels.data(), side.data(), 1});
  const EpochStats second = core.run_epoch(epoch, {labels.data(), side.data(), 1});
  EXPECT_EQ(labels[0], 8u) << "first instruction after the drain (I-cache warm)";
  EXPECT_EQ(first.l2_misses, 4096u) << "cold";
  EXPECT_EQ(second.l2_misses, 0u) << "the second epoch finds the lines in the L2";
  EXPECT_LT(second.cycles, first.cycles / 2);
  EXPECT_LT(second.mispredicts, first.mispredicts) << "the predictor keeps what it learned";
}

// Warm-up records run through the model without labels: here they warm the I-cache, the
// predictor and a dependent chain that the labelled iterations continue at one op per cycle.
TEST(UarchCoreTest, WarmupRecordsGetNoLabels) {
  Builder b;
  b.loop(15, [&](int i) {
    b.set_warmup(i < 10);
    for (int k = 0; k < 10; ++k) b.op(OpClass::IntAlu, gpr(1), gpr(1));
  });
  const SimRun r = run(design("8w"), b.take());
  EXPECT_EQ(r.stats.instructions, 55u);
  EXPECT_EQ(r.labels.size(), 55u);
  EXPECT_EQ(r.stats.cycles, 50u);
}

// Table 4 contrasts: 4w+mem (width 4, L1D 128 KB) loses on compute-bound code and wins when the
// working set fits 128 KB but not 64 KB.
TEST(UarchCoreTest, MoreMemoryDesignWinsOnL1dBoundCodeAndLosesOnComputeBoundCode) {
  Builder compute;
  compute.loop(300, [&](int i) {
    compute.set_warmup(i < 30);
    for (int k = 0; k < 63; ++k) compute.op(OpClass::IntAlu, gpr(k % 14));
  });
  const auto c = compute.take();
  EXPECT_GT(run(design("8w"), c).stats.ipc(), 1.4 * run(design("4w+mem"), c).stats.ipc());

  // Random independent loads over 96 KB (the L1D of 8w thrashes; 4w+mem holds it).
  std::mt19937_64 rng(9);
  Builder mem;
  mem.loop(20000, [&](int i) {
    mem.set_warmup(i < 4000);
    for (int k = 0; k < 2; ++k) {
      mem.load(gpr(1 + k), gpr(9), 0x70000000 + (rng() % (96 * 1024 / 8)) * 8);
      mem.op(OpClass::IntAlu, gpr(3 + k), gpr(1 + k), gpr(3 + k));
    }
  });
  const auto m = mem.take();
  const SimRun base = run(design("8w"), m), more = run(design("4w+mem"), m);
  EXPECT_LT(more.stats.l1d_misses, base.stats.l1d_misses / 10);
  EXPECT_GT(more.stats.ipc(), 1.3 * base.stats.ipc());
}

// Returns are predicted by the return-address stack; call chains deeper than its 16 entries
// mispredict the outer returns.
TEST(UarchCoreTest, ReturnStackPredictsReturnsUpToItsDepth) {
  auto nest = [](int depth) {
    Builder b;
    for (int it = 0; it < 50; ++it) {
      b.set_warmup(it < 5);
      b.set_pc(0x400000);
      std::vector<uint64_t> back;
      for (int d = 0; d < depth; ++d) {
        back.push_back(b.pc() + 4);
        b.call(0x500000 + 0x100 * uint64_t(d));
        b.op(OpClass::IntAlu, gpr(1), gpr(1));
      }
      for (int d = depth - 1; d >= 0; --d) {
        b.op(OpClass::IntAlu, gpr(2), gpr(2));
        b.ret(back[d]);
      }
      b.jump(0x400000);
    }
    return b.take();
  };
  EXPECT_EQ(run(design("8w"), nest(16)).stats.mispredicts, 0u);
  EXPECT_EQ(run(design("8w"), nest(24)).stats.mispredicts, 45u * 8) << "8 returns too deep";
}

}  // namespace
}  // namespace ns::uarch
