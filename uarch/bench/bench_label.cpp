// Labelling throughput of the reference core: trace records per second over all five Table 4
// designs together (the acceptance figure: >= 2 M records/s on the 2-core VM), plus one design
// on one thread. Runs on a synthetic mixed workload written as an .nstrace (reading and checking
// the trace is part of the measured time), or on the traces given as arguments.
//
//   bench_label [--epochs N] [--threads N] [--write-trace PATH] [TRACE...]
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>
#include <sys/resource.h>
#include <unistd.h>

#include <fmt/format.h>

#include "kernels.h"
#include "ns/trace/trace.h"
#include "ns/uarch/labeler.h"

namespace fs = std::filesystem;
using namespace ns;

namespace {

fs::path source_dir() {
  const char* s = std::getenv("NS_SOURCE_DIR");
  return s ? fs::path(s) : fs::path(NS_DEFAULT_SOURCE_DIR);
}

void write_synthetic(const fs::path& p, int epochs, size_t length, size_t warm) {
  auto recs = uarch::kernels::mixed_workload(epochs * (length + warm), 42);
  trace::TraceMeta meta;
  meta.program = "synthetic-mixed";
  meta.epoch_length = length;
  meta.warmup = warm;
  trace::Writer w(p, meta);
  size_t i = 0;
  for (int e = 0; e < epochs; ++e) {
    w.begin_epoch(i + warm);
    for (size_t k = 0; k < warm; ++k, ++i) {
      recs[i].flags |= trace::kFlagWarmup;
      w.append(recs[i]);
    }
    for (size_t k = 0; k < length; ++k, ++i) w.append(recs[i]);
    w.end_epoch();
  }
  w.close();
}

double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         1e-6 * double(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

struct Rate {
  double wall = 0;  // records per second of elapsed time
  double cpu = 0;   // records per second of this process's CPU time (immune to other load)
};

// Labels the whole trace (reading and checking it included).
Rate measure(const fs::path& trace_path, const std::vector<uarch::CoreConfig>& configs,
             unsigned threads, std::vector<uarch::EpochStats>* totals = nullptr) {
  const trace::Reader reader(trace_path);
  uint64_t records = 0;
  for (const auto& e : reader.epochs()) records += e.records + e.warmup_records;
  uarch::Labeler labeler(configs, threads);
  const double c0 = cpu_seconds();
  const auto t0 = std::chrono::steady_clock::now();
  labeler.run(reader, SIZE_MAX, [](const uarch::EpochLabels&) {});
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double c = cpu_seconds() - c0;
  if (totals) *totals = labeler.totals();
  return {records / s, records / c};
}

}  // namespace

int main(int argc, char** argv) {
  int epochs = 20;
  unsigned threads = std::max(1u, std::thread::hardware_concurrency());
  std::string write_to;
  std::vector<fs::path> traces;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      fmt::print("usage: bench_label [--epochs N] [--threads N] [--write-trace PATH] [TRACE...]\n"
                 "Labelling throughput of the reference core on the five configs/cpu designs.\n");
      return 0;
    } else if (a == "--epochs" && i + 1 < argc) {
      epochs = std::atoi(argv[++i]);
    } else if (a == "--threads" && i + 1 < argc) {
      threads = static_cast<unsigned>(std::atoi(argv[++i]));
    } else if (a == "--write-trace" && i + 1 < argc) {
      write_to = argv[++i];
    } else if (!a.empty() && a[0] != '-') {
      traces.push_back(a);
    } else {
      fmt::print(stderr, "bench_label: unknown argument '{}'\n", a);
      return 2;
    }
  }
  if (epochs < 1) epochs = 1;
  try {
    std::vector<uarch::CoreConfig> configs;
    for (const char* name : {"8w", "6w+ls", "rob", "lsq", "4w+mem"})
      configs.push_back(uarch::load_config(source_dir() / "configs/cpu" / (std::string(name) + ".yaml")));
    fs::path tmp;
    if (traces.empty()) {
      tmp = write_to.empty()
                ? fs::temp_directory_path() / fmt::format("bench_label_{}.nstrace", ::getpid())
                : fs::path(write_to);
      write_synthetic(tmp, epochs, 100000, 10000);
      traces.push_back(tmp);
    }
    for (const fs::path& t : traces) {
      std::vector<uarch::EpochStats> totals;
      const Rate all = measure(t, configs, threads, &totals);
      const Rate one = measure(t, {configs[0]}, 1);
      fmt::print("{}: five designs on {} threads: {:.2f} M records/s elapsed (target >= 2), "
                 "{:.2f} M records per CPU-second (x {} threads = {:.2f} M/s on idle cores)\n",
                 t.filename().string(), threads, all.wall / 1e6, all.cpu / 1e6, threads,
                 all.cpu * threads / 1e6);
      fmt::print("  one design (8w) on one thread: {:.2f} M records/s elapsed, {:.2f} M per "
                 "CPU-second\n",
                 one.wall / 1e6, one.cpu / 1e6);
      for (size_t c = 0; c < configs.size(); ++c)
        fmt::print("  {:<7} IPC {:.3f}\n", configs[c].name, totals[c].ipc());
    }
    if (!tmp.empty() && write_to.empty()) fs::remove(tmp);
  } catch (const std::exception& e) {
    fmt::print(stderr, "bench_label: {}\n", e.what());
    return 1;
  }
  return 0;
}
