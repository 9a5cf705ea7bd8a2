// `neuroscalar ppa`: the PPA sweep over tile counts (docs/ppa.md). For every tile count: compile
// the model for the config, run a real epoch through csim, synthesise the RTL (cached), and turn
// area, activity and time into area, power, throughput, energy per predicted instruction and the
// paper's sampling interval, beside the paper's Table 3.
// `neuroscalar synth`: the Yosys flow alone, per-module statistics of one config.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <random>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "ns/model/features.h"
#include "ns/model/int8.h"
#include "ns/model/package.h"
#include "ns/runtime/driver.h"
#include "ns/trace/trace.h"
#include "ntr/compiler/compiler.h"
#include "ntr/csim/accel.h"
#include "ntr/csim/device.h"
#include "ntr/synth/ppa.h"

namespace ns::cli {
namespace {

namespace fs = std::filesystem;
using J = nlohmann::ordered_json;

struct PpaArgs {
  std::string tiles = "1,2,4,8,16";
  std::string model = "configs/model/paper-bi-tied.yaml";
  std::string window, trace, accel, tech, out, csv, yosys = "yosys";
  size_t epoch_index = 0;
  int64_t instructions = 0, synthetic = 0, clock_mhz = 0;
  uint64_t seed = 1;
  int threads = 1;
  double host_ips = 3e9, overhead = 0.001;
  bool json = false, quiet = false, no_synth = false, sample_runs = false;
};

std::vector<int64_t> parse_tiles(const std::string& s) {
  std::vector<int64_t> out;
  size_t at = 0;
  while (at <= s.size()) {
    const auto comma = s.find(',', at);
    const std::string item = s.substr(at, comma == std::string::npos ? std::string::npos : comma - at);
    size_t used = 0;
    int64_t v = 0;
    try {
      v = std::stoll(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != item.size() || v < 1 || v > 64)
      throw std::runtime_error(fmt::format("--tiles '{}': expected a comma-separated list of tile counts 1..64", s));
    out.push_back(v);
    if (comma == std::string::npos) break;
    at = comma + 1;
  }
  return out;
}

std::pair<int, int> parse_window(const std::string& w) {
  if (w.empty()) return {0, 0};
  const auto comma = w.find(',');
  try {
    if (comma == std::string::npos) throw std::invalid_argument("");
    size_t u1 = 0, u2 = 0;
    const int l = std::stoi(w.substr(0, comma), &u1);
    const int t = std::stoi(w.substr(comma + 1), &u2);
    if (u1 != comma || u2 != w.size() - comma - 1 || l < 1 || t < 1) throw std::invalid_argument("");
    return {l, t};
  } catch (const std::exception&) {
    throw std::runtime_error(fmt::format("--window '{}': expected L,T (two positive integers)", w));
  }
}

// The epoch to simulate: raw features of a traced epoch, or seeded random ones.
struct Epoch {
  std::vector<int32_t> features;
  size_t n = 0;
  std::string source;
};

Epoch load_epoch(const PpaArgs& a, const model::ModelConfig& card) {
  Epoch e;
  model::FeatureEncoder encoder(card.encoding);
  const size_t f = static_cast<size_t>(encoder.feature_count());
  if (a.synthetic > 0) {
    // Random paper13-like rows: activity does not depend on the values (a static schedule).
    std::mt19937_64 rng(a.seed);
    e.n = static_cast<size_t>(a.synthetic);
    e.features.resize(e.n * f);
    for (auto& x : e.features) x = static_cast<int32_t>(rng() % 64);
    e.source = fmt::format("synthetic ({} instructions, seed {})", e.n, a.seed);
    return e;
  }
  if (a.trace.empty()) throw std::runtime_error("ppa: give --trace FILE (a real epoch) or --synthetic N");
  const trace::Reader reader(a.trace);
  if (a.epoch_index >= reader.epochs().size())
    throw std::runtime_error(fmt::format("{}: has {} epochs, --epoch-index {} is out of range", a.trace,
                                         reader.epochs().size(), a.epoch_index));
  e.features = model::encode_epoch(encoder, reader, a.epoch_index);
  e.n = e.features.size() / f;
  if (a.instructions > 0 && static_cast<size_t>(a.instructions) < e.n) {
    e.n = static_cast<size_t>(a.instructions);
    e.features.resize(e.n * f);
  }
  e.source = fmt::format("{} epoch {} ({} instructions)", fs::path(a.trace).filename().string(), a.epoch_index, e.n);
  return e;
}

// One tile count: compile, simulate the epoch, and the activity totals.
struct Simulated {
  ntr::csim::Stats stats;
  uint64_t cycles = 0, schedule_cycles = 0;
  int64_t runs = 0, simulated_runs = 0;
};

Simulated simulate(const model::ModelPackage& pkg, const ntr::isa::AccelConfig& cfg, const Epoch& ep,
                   std::span<const int8_t> bytes, const PpaArgs& a) {
  const auto [l, t] = parse_window(a.window);
  ntr::compiler::CompileOptions co;
  co.window_length = l;
  co.window_target = t;
  co.epoch = static_cast<int64_t>(ep.n);
  ns::runtime::Bundle bundle;
  try {
    bundle = ns::runtime::make_bundle(ntr::compiler::compile(pkg, cfg, co));
  } catch (const std::exception& x) {
    throw std::runtime_error(fmt::format("ppa: cannot compile {} for {} tiles: {}", pkg.card.variant, cfg.tiles, x.what()));
  }
  Simulated sim;
  std::vector<std::unique_ptr<ntr::csim::CsimDevice>> devices;
  std::vector<std::unique_ptr<ns::runtime::Driver>> drivers;
  devices.push_back(std::make_unique<ntr::csim::CsimDevice>(cfg));
  drivers.push_back(std::make_unique<ns::runtime::Driver>(*devices[0], bundle));
  sim.runs = drivers[0]->runs_for(ep.n);
  // All runs execute the same program on the same number of windows: one run stands for all.
  const int64_t to_run = a.sample_runs ? 1 : sim.runs;
  const int k = static_cast<int>(std::clamp<int64_t>(a.threads, 1, to_run));
  for (int i = 1; i < k; ++i) {
    devices.push_back(std::make_unique<ntr::csim::CsimDevice>(cfg));
    drivers.push_back(std::make_unique<ns::runtime::Driver>(*devices.back(), bundle));
  }
  std::vector<int32_t> r(ep.n * static_cast<size_t>(pkg.card.head_sets()));
  std::vector<ns::runtime::EpochStats> part(static_cast<size_t>(k));
  std::vector<std::exception_ptr> err(static_cast<size_t>(k));
  auto work = [&](int i) {
    try {
      const int64_t step = a.sample_runs ? sim.runs : k;
      part[static_cast<size_t>(i)] = drivers[static_cast<size_t>(i)]->run_epoch(bytes, ep.n, r, {i, step});
    } catch (...) {
      err[static_cast<size_t>(i)] = std::current_exception();
    }
  };
  std::vector<std::thread> pool;
  for (int i = 1; i < k; ++i) pool.emplace_back(work, i);
  work(0);
  for (auto& th : pool) th.join();
  for (const auto& x : err)
    if (x) std::rethrow_exception(x);
  sim.stats = devices[0]->totals();
  for (int i = 0; i < k; ++i) {
    if (i > 0) sim.stats.accumulate(devices[static_cast<size_t>(i)]->totals());
    sim.simulated_runs += static_cast<int64_t>(part[static_cast<size_t>(i)].runs);
  }
  if (sim.simulated_runs < sim.runs) {  // scale the one simulated run to the epoch
    const ntr::csim::Stats one = sim.stats;
    for (int64_t i = 1; i < sim.runs; ++i) sim.stats.accumulate(one);
  }
  sim.cycles = sim.stats.cycles;
  sim.schedule_cycles = static_cast<uint64_t>(bundle.expected_cycles_per_run * sim.runs);
  return sim;
}

std::string fmt_or(const J& j, const char* key, const char* spec) {
  if (!j.contains(key) || !j[key].is_number()) return "-";
  return fmt::format(fmt::runtime(spec), j[key].get<double>());
}

std::string table(const J& rows) {
  std::string s;
  s += "| tiles | area mm2 (paper) | tiles' area mm2 (paper) | power mW (paper) | instr/s (paper) | "
       "nJ/instr (paper) | sampling 1/N (paper) | MAC util. |\n";
  s += "|---|---|---|---|---|---|---|---|\n";
  for (const auto& r : rows) {
    s += fmt::format("| {} | {} ({}) | {} ({}) | {} ({}) | {} ({}) | {} ({}) | {} ({}) | {:.1f}% |\n",
                     r["tiles"].get<int64_t>(), fmt_or(r, "area_mm2", "{:.3f}"), fmt_or(r, "paper_area_mm2", "{:.2f}"),
                     fmt_or(r, "tile_area_mm2", "{:.3f}"), fmt_or(r, "paper_tile_area_mm2", "{:.2f}"),
                     fmt_or(r, "power_mw", "{:.1f}"), fmt_or(r, "paper_power_mw", "{:.0f}"),
                     fmt_or(r, "instr_per_s", "{:.0f}"), fmt_or(r, "paper_instr_per_s", "{:.0f}"),
                     fmt_or(r, "energy_per_instr_nj", "{:.0f}"), fmt_or(r, "paper_energy_per_instr_nj", "{:.0f}"),
                     fmt_or(r, "sampling_interval_epochs", "{:.0f}"), fmt_or(r, "paper_sampling_interval_epochs", "{:.0f}"),
                     100 * r["mac_utilization"].get<double>());
  }
  return s;
}

std::string csv(const J& rows) {
  static const char* const kCols[] = {"tiles", "clock_mhz", "instructions", "cycles", "mac_utilization", "area_mm2",
                                      "tile_area_mm2", "area_per_tile_mm2", "shared_area_mm2", "power_mw", "leakage_mw",
                                      "instr_per_s", "energy_per_instr_nj", "sampling_interval_epochs",
                                      "sampling_period_s", "paper_area_mm2", "paper_tile_area_mm2", "paper_power_mw",
                                      "paper_instr_per_s", "paper_energy_per_instr_nj", "paper_sampling_interval_epochs"};
  std::string s = "model,window";
  for (const char* c : kCols) {
    s += ',';
    s += c;
  }
  s += "\n";
  for (const auto& r : rows) {
    s += fmt::format("{},{}", r["model"].get<std::string>(), r["window"].get<std::string>());
    for (const char* c : kCols) {
      s += ',';
      if (r.contains(c)) s += r[c].dump();
    }
    s += "\n";
  }
  return s;
}

void write_file(const fs::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  if (!out || !(out << text)) throw std::runtime_error(fmt::format("{}: cannot write", p.string()));
}

ntr::synth::YosysFlow make_flow(const std::string& yosys, bool quiet) {
  auto flow = ntr::synth::default_flow();
  flow.yosys = yosys;
  flow.quiet = quiet;
  return flow;
}

void run_ppa(const PpaArgs& a) {
  const auto tiles = parse_tiles(a.tiles);
  if (a.synthetic > 0 && !a.trace.empty()) throw std::runtime_error("ppa: give --trace or --synthetic, not both");
  const auto tech = ntr::synth::resolve_technology(a.tech);
  const auto pkg = model::open_model(a.model, model::PackageFormat::Int8, a.seed);
  const auto ep = load_epoch(a, pkg.card);
  const auto codec = model::int8::FeatureCodec::from_package(pkg);
  const std::vector<int8_t> bytes = codec.encode(ep.features);
  const auto [wl, wt] = parse_window(a.window);
  const std::string window = fmt::format("{},{}", wl ? wl : pkg.card.window_length, wt ? wt : pkg.card.window_target);
  const ntr::synth::HostModel host{a.host_ips, 100000, a.overhead};
  const auto say = [&](const std::string& m) {
    if (!a.quiet) fmt::print(stderr, "ppa: {}\n", m);
  };
  say(fmt::format("{} (window {}), {}, technology {}", pkg.card.variant, window, ep.source, tech.name));

  std::optional<ntr::synth::SynthRun> tile_run;
  const auto flow = make_flow(a.yosys, a.quiet);
  J rows = J::array();
  for (const int64_t n : tiles) {
    auto cfg = ntr::csim::resolve_accel(a.accel, n);
    if (a.clock_mhz > 0) cfg.clock_mhz = a.clock_mhz;
    std::optional<ntr::synth::LogicInventory> logic;
    if (!a.no_synth) {
      if (!tile_run) tile_run = ntr::synth::synthesize(ntr::csim::resolve_accel(a.accel, 1), flow);
      const auto shared = n == 1 && tile_run->part == ntr::synth::SynthPart::Full && cfg.tiles == 1
                              ? *tile_run
                              : ntr::synth::synthesize(cfg, flow, ntr::synth::SynthPart::SharedOnly);
      logic = ntr::synth::logic_from_synthesis(*tile_run, shared, tech);
    }
    say(fmt::format("{} tile(s): compiling and simulating {} instructions on csim", n, ep.n));
    const auto sim = simulate(pkg, cfg, ep, bytes, a);
    if (sim.cycles != sim.schedule_cycles)
      fmt::print(stderr, "ppa: warning: {} tiles: csim took {} cycles, the schedule report says {}\n", n, sim.cycles,
                 sim.schedule_cycles);
    auto point = ntr::synth::evaluate_point(cfg, static_cast<double>(cfg.clock_mhz), sim.stats,
                                            static_cast<int64_t>(ep.n), tech, logic, host);
    point.schedule_cycles = sim.schedule_cycles;
    J row = ntr::synth::to_json(point);
    row["model"] = pkg.card.variant;
    row["window"] = window;
    row["epoch"] = ep.source;
    row["runs"] = sim.runs;
    row["simulated_runs"] = sim.simulated_runs;
    row["technology"] = tech.name;
    say(fmt::format("{} tile(s): {:.3f} mm2, {:.1f} mW, {:.0f} instr/s", n, row["area_mm2"].get<double>(),
                    row["power_mw"].get<double>(), row["instr_per_s"].get<double>()));
    rows.push_back(row);
  }
  if (!a.out.empty()) {
    fs::create_directories(a.out);
    write_file(fs::path(a.out) / "ppa.json", rows.dump(2) + "\n");
    write_file(fs::path(a.out) / "ppa.csv", csv(rows));
    write_file(fs::path(a.out) / "ppa.md", table(rows));
    say("wrote " + (fs::path(a.out) / "ppa.{json,csv,md}").string());
  }
  if (!a.csv.empty()) write_file(a.csv, csv(rows));
  if (a.json)
    fmt::print("{}\n", rows.dump(2));
  else
    fmt::print("{} (window {}), {}, {} MHz, technology {}\n\n{}", pkg.card.variant, window, ep.source,
               rows.empty() ? 0 : rows[0]["clock_mhz"].get<double>(), tech.name, table(rows));
}

void add_ppa(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "ppa",
      "Area, power, throughput and energy per predicted instruction of Neutrino for several tile counts: "
      "compiler + csim on a real epoch, Yosys synthesis of the RTL, SRAM and power models (docs/ppa.md)");
  static PpaArgs a;
  cmd->add_option("--tiles", a.tiles, "tile counts, comma-separated (default 1,2,4,8,16)");
  cmd->add_option("--model", a.model, "INT8 package or configs/model/<variant>.yaml (random weights)")
      ->capture_default_str();
  cmd->add_option("--window", a.window, "window L,T (default: the model card's)");
  cmd->add_option("--trace", a.trace, "trace (.nstrace) holding the epoch to simulate");
  cmd->add_option("--epoch-index", a.epoch_index, "epoch of the trace (default 0)");
  cmd->add_option("--instructions", a.instructions, "simulate only the first N instructions of the epoch")
      ->check(CLI::Range(int64_t{1}, int64_t{100000000}));
  cmd->add_option("--synthetic", a.synthetic, "no trace: N instructions of seeded random features")
      ->check(CLI::Range(int64_t{1}, int64_t{100000000}));
  cmd->add_option("--accel", a.accel,
                  "accelerator config scaled to each tile count (default: neutrino-8t's tile and buffers)");
  cmd->add_option("--clock-mhz", a.clock_mhz, "clock frequency (default: the config's clock_mhz)")
      ->check(CLI::Range(int64_t{1}, int64_t{10000}));
  cmd->add_option("--tech", a.tech, "technology: n16 (built in) or a YAML file like synth/tech/n16.yaml");
  cmd->add_option("--seed", a.seed, "seed of random weights (variant config) and --synthetic features");
  cmd->add_option("--threads", a.threads, "simulate an epoch's runs on this many host threads")
      ->check(CLI::Range(1, 64));
  cmd->add_flag("--sample-runs", a.sample_runs, "simulate one run per tile count and scale it to the epoch");
  cmd->add_flag("--no-synth", a.no_synth, "no Yosys: SRAM area only, no register energy or logic leakage");
  cmd->add_option("--yosys", a.yosys, "Yosys executable");
  cmd->add_option("--host-ips", a.host_ips, "host instructions per second for the sampling interval (3e9)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--overhead", a.overhead, "host time budget of a shared engine (0.001 = 0.1%)")
      ->check(CLI::Range(1e-9, 1.0));
  cmd->add_option("-o,--out", a.out, "write ppa.json, ppa.csv and ppa.md (table) into this folder");
  cmd->add_option("--csv", a.csv, "write the rows as CSV to this file");
  cmd->add_flag("--json", a.json, "print the rows as a JSON array (stdout)");
  cmd->add_flag("-q,--quiet", a.quiet, "no progress on stderr");
  cmd->callback([] { run_ppa(a); });
}

struct SynthArgs {
  std::string accel, tech, yosys = "yosys";
  int64_t tiles = 0;
  bool json = false, shared_only = false, quiet = false;
};

void run_synth(const SynthArgs& a) {
  const auto tech = ntr::synth::resolve_technology(a.tech);
  const auto cfg = ntr::csim::resolve_accel(a.accel, a.tiles);
  const auto flow = make_flow(a.yosys, a.quiet);
  const auto part = a.shared_only ? ntr::synth::SynthPart::SharedOnly : ntr::synth::SynthPart::Full;
  const auto run = ntr::synth::synthesize(cfg, flow, part);
  const auto roll = ntr::synth::rollup(run.stats, run.stats.top, tech);
  J out = {{"accel", cfg.name},
           {"tiles", cfg.tiles},
           {"part", a.shared_only ? "shared" : "full"},
           {"run", run.dir.string()},
           {"cached", run.cached},
           {"creator", run.stats.creator},
           {"cells", roll.cells},
           {"ge", roll.ge},
           {"flops", roll.flops},
           {"area_mm2_at_utilization", tech.ge_to_um2(roll.ge) / tech.placement_utilization * 1e-6},
           {"blackboxes", roll.blackboxes}};
  J mods = J::object();
  for (const auto& [m, ge] : roll.ge_by_module)
    mods[m] = {{"ge", ge}, {"flops", roll.flops_by_module.count(m) ? roll.flops_by_module.at(m) : 0}};
  out["modules"] = mods;
  if (!a.shared_only) out["logic"] = ntr::synth::logic_from_synthesis(run, tech).detail;
  if (a.json) {
    fmt::print("{}\n", out.dump(2));
    return;
  }
  fmt::print("{} ({} tiles, {}): {} generic cells, {:.0f} NAND2-equivalents, {} flip-flops; {}\n\n", cfg.name,
             cfg.tiles, a.shared_only ? "tiles black-boxed" : "full", roll.cells, roll.ge, roll.flops,
             run.cached ? "cached run " + run.dir.string() : "run " + run.dir.string());
  fmt::print("| module (all instances) | NAND2-eq. | flip-flops |\n|---|---|---|\n");
  for (const auto& [m, v] : mods.items())
    fmt::print("| {} | {:.0f} | {} |\n", m, v["ge"].get<double>(), v["flops"].get<int64_t>());
}

void add_synth(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "synth", "Synthesise the Neutrino RTL for a config with Yosys (generic gates, SRAMs as black boxes) and "
               "print NAND2-equivalents and flip-flops per module (docs/ppa.md)");
  static SynthArgs a;
  cmd->add_option("--accel", a.accel, "accelerator config (name or YAML; default neutrino-1t/-8t by --tiles)");
  cmd->add_option("--tiles", a.tiles, "scale the config to this many tiles")->check(CLI::Range(int64_t{1}, int64_t{64}));
  cmd->add_option("--tech", a.tech, "technology: n16 (built in) or a YAML file");
  cmd->add_option("--yosys", a.yosys, "Yosys executable");
  cmd->add_flag("--shared-only", a.shared_only, "black-box the tiles (the shared logic only)");
  cmd->add_flag("--json", a.json, "print JSON (stdout)");
  cmd->add_flag("-q,--quiet", a.quiet, "no progress on stderr");
  cmd->callback([] { run_synth(a); });
}

struct SramArgs {
  int64_t bytes = 0, width = 64, banks = 1;
  int ports = 1;
  std::string tech;
  bool json = false, horowitz = false;
};

// Horowitz's 64-bit cache reads at 45 nm [Hor14], for the comparison of docs/ppa.md.
constexpr std::pair<int64_t, double> kHorowitz64[] = {{8 << 10, 10}, {32 << 10, 20}, {1 << 20, 100}};

void run_sram(const SramArgs& a) {
  const auto tech = ntr::synth::resolve_technology(a.tech);
  J rows = J::array();
  if (a.horowitz) {
    for (const auto& [bytes, pj45] : kHorowitz64) {
      J e = ntr::synth::to_json(ntr::synth::estimate_sram({"cache", bytes, 64, 1, 1}, tech));
      e["horowitz_45nm_pj"] = pj45;
      e["horowitz_scaled_pj"] = pj45 * tech.energy_scale();
      rows.push_back(e);
    }
  } else {
    if (a.bytes <= 0) throw std::runtime_error("sram: give --bytes (or --horowitz)");
    rows.push_back(ntr::synth::to_json(ntr::synth::estimate_sram({"sram", a.bytes, a.width, a.banks, a.ports}, tech)));
  }
  if (a.json) {
    fmt::print("{}\n", rows.dump(2));
    return;
  }
  fmt::print("| bytes | width | banks | ports | rows x cols (mux) | macros/bank | mm2 | efficiency | read pJ | write pJ | "
             "leakage uW |{}\n|---|---|---|---|---|---|---|---|---|---|---|{}\n",
             a.horowitz ? " Horowitz 45 nm pJ | scaled to " + tech.name + " pJ |" : "", a.horowitz ? "---|---|" : "");
  for (const auto& r : rows) {
    const auto& o = r["organisation"];
    fmt::print("| {} | {} | {} | {} | {} x {} ({}) | {} | {:.4f} | {:.0f}% | {:.2f} | {:.2f} | {:.1f} |", r["bytes"].get<int64_t>(),
               r["width_bits"].get<int64_t>(), r["banks"].get<int64_t>(), r["ports"].get<int>(), o["rows"].get<int64_t>(),
               o["cols"].get<int64_t>(), o["mux"].get<int64_t>(), o["macros_per_bank"].get<int64_t>(),
               r["area_mm2"].get<double>(), 100 * r["efficiency"].get<double>(), r["read_pj"].get<double>(),
               r["write_pj"].get<double>(), r["leakage_uw"].get<double>());
    if (a.horowitz)
      fmt::print(" {:.0f} | {:.2f} |", r["horowitz_45nm_pj"].get<double>(), r["horowitz_scaled_pj"].get<double>());
    fmt::print("\n");
  }
}

void add_sram(CLI::App& app) {
  auto* cmd = app.add_subcommand("sram", "The SRAM model: organisation, area, access energy and leakage of a buffer "
                                         "(docs/ppa.md, section 3)");
  static SramArgs a;
  cmd->add_option("--bytes", a.bytes, "capacity in bytes (all banks)")->check(CLI::Range(int64_t{1}, int64_t{1} << 40));
  cmd->add_option("--width", a.width, "access width in bits (default 64)")->check(CLI::Range(int64_t{1}, int64_t{1} << 20));
  cmd->add_option("--banks", a.banks, "banks (default 1)")->check(CLI::Range(int64_t{1}, int64_t{4096}));
  cmd->add_option("--ports", a.ports, "1 (single-port) or 2 (one read + one write)")->check(CLI::Range(1, 2));
  cmd->add_option("--tech", a.tech, "technology: n16 (built in) or a YAML file");
  cmd->add_flag("--horowitz", a.horowitz, "64-bit reads of 8 KB, 32 KB and 1 MB beside Horowitz's table, scaled");
  cmd->add_flag("--json", a.json, "print JSON (stdout)");
  cmd->callback([] { run_sram(a); });
}

const Registrar ppa_registrar(60, add_ppa);
const Registrar sram_registrar(62, add_sram);
const Registrar synth_registrar(61, add_synth);

}  // namespace
}  // namespace ns::cli
