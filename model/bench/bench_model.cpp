// Host backend throughput (predicted instructions/s) of the FP32 golden model and the INT8
// reference on random packages of the three variants, one 100,000-instruction epoch of the
// synthetic instruction stream (counters: instructions/s; threads = all cores). NS_BENCH_EPOCH
// and NS_BENCH_BATCH change the epoch length and the windows per batch (default 32).
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>

#include "ns/model/fp32_model.h"
#include "ns/model/int8_reference.h"
#include "ns/model/synthetic.h"

using namespace ns::model;

namespace {

ModelConfig variant(const char* name) {
  const char* src = std::getenv("NS_SOURCE_DIR");
  return load_model_config(std::filesystem::path(src ? src : ".") / "configs/model" / (std::string(name) + ".yaml"));
}

RunOptions run_options() {
  const char* b = std::getenv("NS_BENCH_BATCH");
  return {.threads = 0, .batch_windows = b ? std::atoi(b) : 32};
}

size_t epoch_length() {
  const char* e = std::getenv("NS_BENCH_EPOCH");
  return e ? std::strtoul(e, nullptr, 10) : 100000;
}

void fp32(benchmark::State& st, const char* name) {
  const auto pkg = make_random_fp32_package(variant(name), 1);
  const Fp32Model model(pkg, run_options());
  const size_t n = epoch_length();
  const auto x = synthetic_features("paper13", n, 2);
  for (auto _ : st) benchmark::DoNotOptimize(model.predict(x, n));
  st.counters["instructions/s"] = benchmark::Counter(double(n) * st.iterations(), benchmark::Counter::kIsRate);
}

void int8ref(benchmark::State& st, const char* name) {
  const auto pkg = make_random_int8_package(variant(name), 1);
  const Int8Reference ref(pkg, run_options());
  const size_t n = epoch_length();
  const auto x = synthetic_features("paper13", n, 2);
  for (auto _ : st) benchmark::DoNotOptimize(ref.predict(x, n));
  st.counters["instructions/s"] = benchmark::Counter(double(n) * st.iterations(), benchmark::Counter::kIsRate);
}

}  // namespace

BENCHMARK_CAPTURE(fp32, paper_uni, "paper-uni")->Unit(benchmark::kSecond)->UseRealTime()->Iterations(1);
BENCHMARK_CAPTURE(fp32, paper_bi_tied, "paper-bi-tied")->Unit(benchmark::kSecond)->UseRealTime()->Iterations(1);
BENCHMARK_CAPTURE(fp32, bi_h128, "bi-h128")->Unit(benchmark::kSecond)->UseRealTime()->Iterations(1);
BENCHMARK_CAPTURE(int8ref, paper_uni, "paper-uni")->Unit(benchmark::kSecond)->UseRealTime()->Iterations(1);
BENCHMARK_CAPTURE(int8ref, paper_bi_tied, "paper-bi-tied")->Unit(benchmark::kSecond)->UseRealTime()->Iterations(1);
BENCHMARK_CAPTURE(int8ref, bi_h128, "bi-h128")->Unit(benchmark::kSecond)->UseRealTime()->Iterations(1);

BENCHMARK_MAIN();
