// Speed of the .nstrace writer and reader (records per second), the ceiling of the tracers'
// capture rate and of every labelling or prediction pass over a trace.
#include <unistd.h>

#include <filesystem>

#include <benchmark/benchmark.h>

#include "ns/trace/trace.h"

namespace fs = std::filesystem;
using namespace ns::trace;

namespace {

constexpr size_t kEpoch = 100000;

std::vector<Record> make_epoch() {
  std::vector<Record> v(kEpoch);
  for (size_t i = 0; i < kEpoch; ++i) {
    Record& r = v[i];
    r.pc = 0x400000 + 3 * i;
    r.next_pc = r.pc + 3;
    r.inst_len = 3;
    r.opclass = static_cast<uint8_t>(OpClass::IntAlu);
    if (i % 4 == 0) {
      r.flags = kFlagLoad;
      r.mem_addr = 0x7ffd0000 + 8 * i;
      r.mem_size = 8;
    }
    r.src1 = {1, static_cast<uint8_t>(i % 16)};
    r.dst = {1, static_cast<uint8_t>((i + 3) % 16)};
  }
  return v;
}

fs::path bench_path() {
  return fs::temp_directory_path() / ("ns_bench_trace_" + std::to_string(::getpid()));
}

void BM_WriteEpochs(benchmark::State& state) {
  const auto epoch = make_epoch();
  const fs::path p = bench_path();
  for (auto _ : state) {
    Writer w(p, TraceMeta{});
    for (int e = 0; e < 10; ++e) {
      w.begin_epoch(static_cast<uint64_t>(e) * kEpoch);
      for (const Record& r : epoch) w.append(r);
      w.end_epoch();
    }
    w.close();
  }
  fs::remove(p);
  state.SetItemsProcessed(state.iterations() * 10 * static_cast<int64_t>(kEpoch));
}
BENCHMARK(BM_WriteEpochs)->Unit(benchmark::kMillisecond);

void BM_ReadEpochs(benchmark::State& state) {
  const auto epoch = make_epoch();
  const fs::path p = bench_path();
  {
    Writer w(p, TraceMeta{});
    for (int e = 0; e < 10; ++e) {
      w.begin_epoch(0);
      w.append(epoch);
      w.end_epoch();
    }
    w.close();
  }
  std::vector<Record> out;
  for (auto _ : state) {
    Reader r(p);
    for (size_t k = 0; k < r.epochs().size(); ++k) r.read_epoch(k, out);
    benchmark::DoNotOptimize(out.data());
  }
  fs::remove(p);
  state.SetItemsProcessed(state.iterations() * 10 * static_cast<int64_t>(kEpoch));
}
BENCHMARK(BM_ReadEpochs)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
