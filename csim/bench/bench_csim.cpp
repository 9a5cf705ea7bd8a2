// csim benchmark (`make bench`): the MAC kernels' throughput, then paper-bi-tied (random INT8
// weights, a synthetic epoch) on 1, 2, 4, 8 and 16 tiles: the device's predicted instructions per
// second at its clock and their scaling with tiles (the paper: 8 tiles = 7.85x of 1), and the
// simulator's own speed (simulated cycles and predicted instructions per wall-second, and per
// CPU-second, which a shared machine does not disturb).
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <random>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "../src/mac_kernel.h"
#include "ns/model/config.h"
#include "ns/model/int8.h"
#include "ns/model/package.h"
#include "ns/model/synthetic.h"
#include "ns/runtime/bundle.h"
#include "ns/runtime/driver.h"
#include "ntr/compiler/compiler.h"
#include "ntr/csim/accel.h"
#include "ntr/csim/device.h"

namespace {

using ojson = nlohmann::ordered_json;

double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec) + 1e-6 * static_cast<double>(u.ru_utime.tv_usec);
}
double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

ojson kernels() {
  ojson out = ojson::array();
  const ntr::csim::kernel::Kernel* ks[4];
  const int nk = ntr::csim::kernel::available(ks, 4);
  std::mt19937 rng(1);
  std::vector<int8_t> w(256 * 256), x(16 * 256);
  for (auto& v : w) v = static_cast<int8_t>(rng());
  for (auto& v : x) v = static_cast<int8_t>(rng());
  std::vector<const int8_t*> rows, xs;
  for (int r = 0; r < 256; ++r) rows.push_back(w.data() + 256 * r);
  for (int t = 0; t < 16; ++t) xs.push_back(x.data() + 256 * t);
  std::vector<int32_t> sums(16 * 256);
  for (int k = 0; k < nk; ++k)
    for (int tiles : {1, 8}) {
      // At least a quarter of a CPU-second per figure (getrusage counts in ticks).
      int reps = 0;
      const double c0 = cpu_seconds();
      double c = 0;
      while (c < 0.25) {
        for (int i = 0; i < 10; ++i) ks[k]->fn(rows.data(), 256, xs.data(), 1, tiles, 256, sums.data());
        reps += 10;
        c = cpu_seconds() - c0;
      }
      const double gmacs = 256.0 * 256.0 * tiles * reps / c / 1e9;
      out.push_back({{"kernel", ks[k]->name}, {"tiles", tiles}, {"gmac_per_cpu_second", gmacs}});
      fmt::print("  MAC kernel {:<7} {:>2} tile(s) sharing the weights: {:6.2f} GMAC per CPU-second\n", ks[k]->name,
                 tiles, gmacs);
    }
  return out;
}

struct Point {
  int64_t tiles = 0;
  bool fits = true;
  std::string why;
  uint64_t cycles = 0, runs = 0, schedule = 0;
  double device_ips = 0, wall = 0, cpu = 0, mac_util = 0;
};

Point run_point(const ns::model::ModelPackage& pkg, int L, int T, int64_t tiles, const std::vector<int8_t>& bytes,
                size_t n) {
  Point p;
  p.tiles = tiles;
  const auto cfg = ntr::csim::resolve_accel("", tiles);
  ntr::compiler::CompileOptions co;
  co.window_length = L;
  co.window_target = T;
  co.epoch = static_cast<int64_t>(n);
  ns::runtime::Bundle b;
  try {
    b = ns::runtime::make_bundle(ntr::compiler::compile(pkg, cfg, co));
  } catch (const ntr::compiler::CompileError& e) {
    p.fits = false;
    p.why = e.what();
    return p;
  }
  ntr::csim::CsimDevice dev(cfg);
  ns::runtime::Driver drv(dev, b);
  std::vector<int32_t> r(n * pkg.card.designs.size());
  const double w0 = now(), c0 = cpu_seconds();
  const auto st = drv.run_epoch(bytes, n, r);
  p.wall = now() - w0;
  p.cpu = cpu_seconds() - c0;
  p.cycles = st.cycles;
  p.runs = st.runs;
  p.schedule = st.expected_cycles;
  p.device_ips = static_cast<double>(n) / st.device_seconds;
  p.mac_util = dev.totals().mac_utilization();
  return p;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"csim benchmark: MAC kernels, and paper-bi-tied on 1-16 tiles (device throughput, scaling, simulator speed)"};
  std::string json_out, model = "configs/model/paper-bi-tied.yaml";
  std::vector<int64_t> tile_counts = {1, 2, 4, 8, 16};
  int windows = 64;
  app.add_option("--model", model, "variant config (random INT8 weights) or INT8 package")->capture_default_str();
  app.add_option("--tiles", tile_counts, "tile counts")->capture_default_str();
  app.add_option("--windows", windows, "windows of the short-window epoch (a multiple of 16 keeps every tile count busy)")
      ->capture_default_str();
  app.add_option("--json", json_out, "also write the figures as JSON");
  CLI11_PARSE(app, argc, argv);
  try {
    fmt::print("csim benchmark ({} MAC kernel)\n", ntr::csim::kernel::preferred_name());
    ojson out;
    out["kernels"] = kernels();
    const auto pkg = ns::model::open_model(model, ns::model::PackageFormat::Int8, 1);
    const auto codec = ns::model::int8::FeatureCodec::from_package(pkg);
    // Two windows: the card's (L = 512, T = 128), and L = 128, T = 32 with the same L / T (so the
    // same LSTM steps per predicted instruction) that fits 16 tiles' global buffers.
    struct Series {
      int L, T;
      size_t n;
    };
    const std::vector<Series> series = {{pkg.card.window_length, pkg.card.window_target, static_cast<size_t>(8 * pkg.card.window_target)},
                                        {128, 32, static_cast<size_t>(windows) * 32}};
    out["series"] = ojson::array();
    for (const auto& s : series) {
      const auto feats = ns::model::synthetic_features(pkg.card.encoding, s.n, 3);
      const auto bytes = codec.encode(feats);
      fmt::print("\n{} L={} T={}, {} instructions ({} windows), random INT8 weights\n", pkg.card.variant, s.L, s.T, s.n,
                 (s.n + static_cast<size_t>(s.T) - 1) / static_cast<size_t>(s.T));
      fmt::print("  {:>5} {:>5} {:>13} {:>9} {:>13} {:>8} {:>9} {:>12} {:>12} {:>12}\n", "tiles", "runs", "cycles",
                 "MAC util", "device ips", "scaling", "schedule", "sim cyc/s", "sim ips", "sim ips/cpu");
      ojson rows = ojson::array();
      double base = 0;
      for (const int64_t t : tile_counts) {
        const Point p = run_point(pkg, s.L, s.T, t, bytes, s.n);
        if (!p.fits) {
          fmt::print("  {:>5} does not compile: {}\n", t, p.why.substr(0, 150));
          rows.push_back({{"tiles", t}, {"fits", false}, {"error", p.why}});
          continue;
        }
        if (t == 1) base = p.device_ips;
        const double scaling = base > 0 ? p.device_ips / base : 0.0;
        fmt::print("  {:>5} {:>5} {:>13} {:>8.2f}% {:>13.0f} {:>7.2f}x {:>9} {:>12.3g} {:>12.0f} {:>12.0f}\n", t, p.runs,
                   p.cycles, 100 * p.mac_util, p.device_ips, scaling, p.cycles == p.schedule ? "equal" : "DIFFERS",
                   static_cast<double>(p.cycles) / p.wall, static_cast<double>(s.n) / p.wall,
                   static_cast<double>(s.n) / p.cpu);
        rows.push_back({{"tiles", t},
                        {"fits", true},
                        {"runs", p.runs},
                        {"cycles", p.cycles},
                        {"schedule_cycles", p.schedule},
                        {"mac_utilization", p.mac_util},
                        {"device_instructions_per_second", p.device_ips},
                        {"scaling_vs_1_tile", scaling},
                        {"wall_seconds", p.wall},
                        {"cpu_seconds", p.cpu},
                        {"sim_cycles_per_second", static_cast<double>(p.cycles) / p.wall},
                        {"sim_cycles_per_cpu_second", static_cast<double>(p.cycles) / p.cpu},
                        {"sim_instructions_per_second", static_cast<double>(s.n) / p.wall},
                        {"sim_instructions_per_cpu_second", static_cast<double>(s.n) / p.cpu}});
      }
      out["series"].push_back({{"variant", pkg.card.variant}, {"window_length", s.L}, {"window_target", s.T},
                               {"instructions", s.n}, {"points", rows}});
    }
    fmt::print("\npaper: 1 tile 0.02 M instr/s, 8 tiles 0.157 M instr/s (7.85x)\n");
    if (!json_out.empty()) {
      std::ofstream f(json_out);
      f << out.dump(2) << "\n";
    }
  } catch (const std::exception& e) {
    fmt::print(stderr, "bench_csim: error: {}\n", e.what());
    return 1;
  }
  return 0;
}
