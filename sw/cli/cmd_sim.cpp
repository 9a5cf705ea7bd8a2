// `neuroscalar sim`: run a Neutrino program on the cycle-level simulator (csim). The program is a
// compiled bundle, a model (compiled here), or a hand-written program; with an epoch it predicts
// that epoch's latencies and reports cycles, utilisation and the activity counters.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "ns/model/error.h"
#include "ns/model/features.h"
#include "ns/model/int8_reference.h"
#include "ns/model/package.h"
#include "ns/model/synthetic.h"
#include "ns/runtime/bundle.h"
#include "ns/runtime/driver.h"
#include "ns/trace/trace.h"
#include "ntr/compiler/compiler.h"
#include "ntr/csim/accel.h"
#include "ntr/csim/device.h"
#include "ntr/csim/timeline.h"
#include "ntr/csim/units.h"
#include "ntr/isa/asm.h"

namespace ns::cli {
namespace {

namespace fs = std::filesystem;
using ojson = nlohmann::ordered_json;

struct Options {
  std::string program, model, config, epoch, timeline, stats_file, dump, gwb, gib, gib_out;
  int64_t tiles = 0, instructions = 0, max_cycles = 0;
  uint64_t seed = 1, timeline_limit = 2'000'000;
  bool json = false, quiet = false, no_hazards = false;
};

std::vector<uint8_t> read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw std::runtime_error(path + ": cannot open");
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(f), {});
}

enum class Kind { Bundle, Model, Program };

Kind kind_of(const std::string& p) {
  const fs::path path(p);
  if (fs::is_directory(path)) {
    if (fs::exists(path / "manifest.json")) return Kind::Bundle;
    if (fs::exists(path / "model.yaml")) return Kind::Model;
    throw std::runtime_error(p + ": a directory with neither manifest.json (a bundle) nor model.yaml (a model package)");
  }
  if (!fs::exists(path)) throw std::runtime_error(p + ": no such file or directory");
  const auto ext = path.extension().string();
  if (ext == ".yaml" || ext == ".yml") return Kind::Model;
  return Kind::Program;
}

// --trace-epoch: TRACE.nstrace[:K] (epoch K, default 0), FEATURES.i32 (little-endian int32,
// instructions x F) or synthetic[:N] (N program-like instructions, default 100000).
std::vector<int32_t> read_epoch(const std::string& spec, const model::ModelConfig& card, std::string* what) {
  const int F = card.features();
  if (spec.rfind("synthetic", 0) == 0) {
    size_t n = 100000;
    if (spec.size() > 9) {
      if (spec[9] != ':') throw std::runtime_error("--trace-epoch '" + spec + "': expected synthetic[:N]");
      n = std::stoull(spec.substr(10));
    }
    *what = fmt::format("synthetic program, {} instructions", n);
    return model::synthetic_features(card.encoding, n, 1);
  }
  std::string path = spec;
  size_t k = 0;
  if (const auto colon = spec.rfind(':'); colon != std::string::npos && !fs::exists(spec)) {
    path = spec.substr(0, colon);
    try {
      k = std::stoull(spec.substr(colon + 1));
    } catch (const std::exception&) {
      throw std::runtime_error("--trace-epoch '" + spec + "': the epoch after ':' must be a number");
    }
  }
  if (!fs::exists(path)) throw std::runtime_error("--trace-epoch: " + path + ": no such file");
  if (fs::path(path).extension() == ".i32") {
    const auto raw = read_file(path);
    if (raw.size() % (4 * static_cast<size_t>(F)) != 0)
      throw std::runtime_error(fmt::format("{}: {} bytes is not a whole number of {}-feature rows of int32", path,
                                           raw.size(), F));
    std::vector<int32_t> f(raw.size() / 4);
    for (size_t i = 0; i < f.size(); ++i)
      f[i] = static_cast<int32_t>(raw[4 * i] | raw[4 * i + 1] << 8 | raw[4 * i + 2] << 16 |
                                  static_cast<uint32_t>(raw[4 * i + 3]) << 24);
    *what = fmt::format("{} ({} instructions)", path, f.size() / static_cast<size_t>(F));
    return f;
  }
  const trace::Reader reader(path);
  if (k >= reader.epochs().size())
    throw std::runtime_error(fmt::format("{}: epoch {} does not exist ({} epochs)", path, k, reader.epochs().size()));
  model::FeatureEncoder enc(card.encoding);
  if (enc.feature_names() != card.feature_names)
    throw model::ModelError("the model's features differ from encoder '" + card.encoding + "'");
  *what = fmt::format("{} epoch {}", path, k);
  return model::encode_epoch(enc, reader, k);
}

void write_json_file(const std::string& path, const ojson& j) {
  std::ofstream f(path);
  f << j.dump(2) << "\n";
  if (!f) throw std::runtime_error(path + ": cannot write");
}

ojson sim_speed(double wall, uint64_t cycles, uint64_t instructions) {
  ojson j = {{"wall_seconds", wall},
             {"cycles_per_second", wall > 0 ? static_cast<double>(cycles) / wall : 0.0},
             {"mac_kernel", ntr::csim::mac_kernel_name()}};
  if (instructions) j["instructions_per_second"] = wall > 0 ? static_cast<double>(instructions) / wall : 0.0;
  return j;
}

// A hand-written program: run it once on the images given, report the counters.
void run_program(const Options& o) {
  const auto cfg = ntr::csim::resolve_accel(o.config, o.tiles);
  ntr::isa::Program prog;
  const auto bytes = read_file(o.program);
  if (bytes.size() >= 8 && std::equal(bytes.begin(), bytes.begin() + 8, ntr::isa::kProgramMagic))
    prog = ntr::isa::deserialize(bytes, o.program);
  else
    prog = ntr::isa::assemble(std::string(bytes.begin(), bytes.end()), o.program);
  ntr::csim::SimOptions so{!o.no_hazards, o.max_cycles};
  ntr::csim::Machine m(cfg, so);
  m.load_program(prog);
  auto load_image = [&](const std::string& file, std::span<uint8_t> dst, const char* what) {
    if (file.empty()) return;
    const auto img = read_file(file);
    if (img.size() > dst.size())
      throw std::runtime_error(fmt::format("{}: {} bytes do not fit the {} ({} bytes)", file, img.size(), what, dst.size()));
    std::copy(img.begin(), img.end(), dst.begin());
  };
  load_image(o.gwb, m.gwb(), "global weight buffer");
  load_image(o.gib, m.gib(), "global input buffer");
  std::optional<ntr::csim::Timeline> tl;
  if (!o.timeline.empty()) {
    tl.emplace(cfg, o.timeline_limit);
    m.set_observer(&*tl);
  }
  const auto t0 = std::chrono::steady_clock::now();
  const auto& s = m.run();
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!o.gib_out.empty()) {
    std::ofstream f(o.gib_out, std::ios::binary);
    f.write(reinterpret_cast<const char*>(m.gib().data()), static_cast<std::streamsize>(m.gib().size()));
    if (!f) throw std::runtime_error(o.gib_out + ": cannot write");
  }
  if (tl) tl->write(o.timeline);
  ojson out = {{"program", o.program}, {"accel", cfg.name}, {"tiles", cfg.tiles}, {"cycles", s.cycles},
               {"mac_utilization", s.mac_utilization()}, {"instructions", 0}};
  out["simulator"] = sim_speed(wall, s.cycles, 0);
  out["counters"] = ntr::csim::to_json(s);
  if (!o.stats_file.empty()) write_json_file(o.stats_file, out["counters"]);
  if (o.json) {
    fmt::print("{}\n", out.dump(2));
    return;
  }
  fmt::print("{} on {} ({} tile{}): {} cycles, MAC utilisation {:.2f}%\n", o.program, cfg.name, cfg.tiles,
             cfg.tiles > 1 ? "s" : "", s.cycles, 100 * s.mac_utilization());
}

void run(const Options& o) {
  const Kind kind = kind_of(o.program);
  if (kind == Kind::Program) {
    if (!o.epoch.empty() || !o.model.empty())
      throw std::runtime_error("--trace-epoch and --model need a bundle or a model as --program, not a program file");
    run_program(o);
    return;
  }
  if (o.epoch.empty()) throw std::runtime_error("--trace-epoch is needed to run a model or a bundle");
  // The model: for host conversions (features -> device bytes, r -> cycles), and to compile.
  std::optional<model::ModelPackage> pkg;
  if (kind == Kind::Model) pkg = model::open_model(o.program, model::PackageFormat::Int8, o.seed);
  else if (!o.model.empty()) pkg = model::open_model(o.model, model::PackageFormat::Int8, o.seed);
  else
    throw std::runtime_error("--model is needed with a bundle: its quantisation constants turn features into device "
                             "bytes and results into cycles");
  if (pkg->card.training.value("random_weights", false) && !o.quiet)
    fmt::print(stderr, "sim: {} is a variant config: using random weights (seed {})\n",
               kind == Kind::Model ? o.program : o.model, o.seed);
  std::string source;
  auto features = read_epoch(o.epoch, pkg->card, &source);
  size_t n = features.size() / static_cast<size_t>(pkg->card.features());
  if (o.instructions > 0 && static_cast<size_t>(o.instructions) < n) {
    n = static_cast<size_t>(o.instructions);
    features.resize(n * static_cast<size_t>(pkg->card.features()));
  }
  if (n == 0) throw std::runtime_error("the epoch has no instructions");

  ns::runtime::Bundle bundle;
  if (kind == Kind::Bundle) {
    bundle = ns::runtime::load_bundle(o.program);
    if (!o.config.empty() || o.tiles > 0) {
      const auto want = ntr::csim::resolve_accel(o.config.empty() ? bundle.config.name : o.config, o.tiles);
      if (ntr::isa::fingerprint(want) != ntr::isa::fingerprint(bundle.config))
        throw std::runtime_error(fmt::format("{} was compiled for '{}' ({} tiles), not '{}' ({} tiles): recompile it",
                                             o.program, bundle.config.name, bundle.config.tiles, want.name, want.tiles));
    }
  } else {
    const auto cfg = ntr::csim::resolve_accel(o.config, o.tiles);
    if (!o.quiet) fmt::print(stderr, "sim: compiling {} for {}\n", pkg->card.variant, cfg.name);
    ntr::compiler::CompileOptions co;
    co.epoch = static_cast<int64_t>(n);
    bundle = ns::runtime::make_bundle(ntr::compiler::compile(*pkg, cfg, co));
  }
  const auto& cfg = bundle.config;
  const model::int8::FeatureCodec codec = model::int8::FeatureCodec::from_package(*pkg);
  if (codec.row_bytes() != bundle.row_bytes() || pkg->card.head_sets() != bundle.designs())
    throw std::runtime_error(
        "the model does not match the bundle (bytes per instruction or head sets differ)");
  const auto bytes = codec.encode(features);
  const size_t D = pkg->card.designs.size(), K = static_cast<size_t>(pkg->card.head_sets());

  ntr::csim::CsimDevice dev(cfg, ntr::csim::SimOptions{!o.no_hazards, o.max_cycles});
  ns::runtime::Driver drv(dev, bundle);
  std::optional<ntr::csim::Timeline> tl;
  if (!o.timeline.empty()) {
    tl.emplace(cfg, o.timeline_limit);
    dev.machine().set_observer(&*tl);
  }
  std::vector<int32_t> r(n * K);
  const int64_t runs = drv.runs_for(n);
  ns::runtime::EpochStats st;
  const auto t0 = std::chrono::steady_clock::now();
  for (int64_t run = 0; run < runs; ++run) {
    const auto t1 = std::chrono::steady_clock::now();
    const auto s = drv.run_epoch(bytes, n, r, {run, runs});
    st.runs += s.runs;
    st.cycles += s.cycles;
    st.expected_cycles += s.expected_cycles;
    st.device_seconds += s.device_seconds;
    if (tl) tl->set_offset(static_cast<int64_t>(st.cycles));
    if (!o.quiet)
      fmt::print(stderr, "sim: run {}/{}: {} cycles in {:.2f} s\n", run + 1, runs, s.cycles,
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count());
  }
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  st.instructions = n;

  std::vector<uint32_t> cycles(n * K);
  model::CycleDecoder::from_package(*pkg).decode(r, cycles);
  if (!o.dump.empty()) {
    std::ofstream f(o.dump, std::ios::binary | std::ios::trunc);
    f.write(reinterpret_cast<const char*>(cycles.data()), static_cast<std::streamsize>(cycles.size() * 4));
    if (!f) throw std::runtime_error(o.dump + ": cannot write");
  }
  if (tl) tl->write(o.timeline);

  const auto& s = dev.totals();
  ojson lat = {{"total_cycles", ojson::object()}, {"ipc", ojson::object()}};
  const auto sums = pkg->card.summed.sums(cycles, D);
  for (size_t d = 0; d < D; ++d) {
    const auto c = static_cast<uint64_t>(std::llround(sums[d]));
    lat["total_cycles"][pkg->card.designs[d]] = c;
    lat["ipc"][pkg->card.designs[d]] = c ? static_cast<double>(n) / static_cast<double>(c) : 0.0;
  }
  ojson out = {{"program", o.program},
               {"model", pkg->card.variant},
               {"accel", cfg.name},
               {"tiles", cfg.tiles},
               {"clock_mhz", cfg.clock_mhz},
               {"epoch", source},
               {"instructions", n},
               {"runs", st.runs},
               {"cycles", st.cycles},
               {"schedule_cycles", st.expected_cycles},
               {"matches_schedule", st.cycles == st.expected_cycles},
               {"device_seconds", st.device_seconds},
               {"device_instructions_per_second", st.device_seconds > 0 ? static_cast<double>(n) / st.device_seconds : 0.0},
               {"mac_utilization", s.mac_utilization()},
               {"latencies", lat}};
  out["simulator"] = sim_speed(wall, st.cycles, n);
  if (tl) out["timeline"] = {{"file", o.timeline}, {"events", tl->events()}, {"dropped", tl->dropped()}};
  out["counters"] = ntr::csim::to_json(s);
  if (!o.stats_file.empty()) write_json_file(o.stats_file, out);
  if (o.json) {
    fmt::print("{}\n", out.dump(2));
    return;
  }
  fmt::print("{} ({}) on {} ({} tile{}, {} MHz), {}\n", o.program, pkg->card.variant, cfg.name, cfg.tiles,
             cfg.tiles > 1 ? "s" : "", cfg.clock_mhz, source);
  fmt::print("  {} instructions in {} run{}: {} cycles ({}), {:.4f} ms at the clock, {:.0f} instructions/s\n", n,
             st.runs, st.runs > 1 ? "s" : "", st.cycles,
             st.cycles == st.expected_cycles ? "= the schedule report" : fmt::format("schedule report: {}", st.expected_cycles),
             1e3 * st.device_seconds, out["device_instructions_per_second"].get<double>());
  fmt::print("  MAC utilisation {:.2f}%; busy: dma {:.1f}%, mac {:.1f}%, ppu {:.1f}%\n", 100 * s.mac_utilization(),
             100.0 * static_cast<double>(s.streams[0].busy_cycles) / static_cast<double>(st.cycles),
             100.0 * static_cast<double>(s.streams[1].busy_cycles) / static_cast<double>(st.cycles),
             100.0 * static_cast<double>(s.streams[2].busy_cycles) / static_cast<double>(st.cycles));
  for (size_t d = 0; d < D; ++d)
    fmt::print("  {:<10} {:>12} predicted cycles, IPC {:.3f}\n", pkg->card.designs[d],
               lat["total_cycles"][pkg->card.designs[d]].get<uint64_t>(), lat["ipc"][pkg->card.designs[d]].get<double>());
  fmt::print("  simulator: {:.2f} s, {:.3g} cycles/s, {:.0f} instructions/s ({} kernel)\n", wall,
             out["simulator"]["cycles_per_second"].get<double>(), out["simulator"]["instructions_per_second"].get<double>(),
             ntr::csim::mac_kernel_name());
}

void add(CLI::App& app) {
  static Options o;
  auto* cmd = app.add_subcommand(
      "sim", "Run a Neutrino program on the cycle-level simulator: cycles, utilisation, activity counters, "
             "predicted latencies (docs/csim.md)");
  cmd->add_option("--program", o.program,
                  "a bundle (neuroscalar compile -o DIR), a model (INT8 package, or a variant config: random "
                  "weights) to compile here, or a program (.s assembly or a program file)")
      ->required();
  cmd->add_option("--model", o.model, "INT8 package for the host conversions when --program is a bundle");
  cmd->add_option("--config", o.config, "accelerator: a shipped config name (neutrino-1t, ...) or a YAML file");
  cmd->add_option("--tiles", o.tiles, "tiles (scales the config; one GIB bank per tile)")->check(CLI::Range(1, 64));
  cmd->add_option("--trace-epoch", o.epoch,
                  "the epoch to predict: TRACE.nstrace[:K] (epoch K, default 0), FEATURES.i32 (little-endian "
                  "int32, instructions x features, as in training shards) or synthetic[:N]");
  cmd->add_option("--instructions", o.instructions, "predict only the epoch's first N instructions")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--seed", o.seed, "seed of the random weights when the model is a variant config");
  cmd->add_option("--timeline", o.timeline, "write unit occupancy as Chrome trace-event JSON (Perfetto)");
  cmd->add_option("--timeline-limit", o.timeline_limit, "most instructions kept in the timeline")->capture_default_str();
  cmd->add_option("--stats", o.stats_file, "write the JSON report (with every activity counter) to a file");
  cmd->add_option(
      "--dump-latencies", o.dump,
      "write the predicted cycles as little-endian uint32, instruction-major (designs in card "
      "order, then their sum heads if the card has them)");
  cmd->add_option("--gwb", o.gwb, "program runs: an image loaded into the global weight buffer");
  cmd->add_option("--gib", o.gib, "program runs: an image loaded into the global input buffer");
  cmd->add_option("--gib-out", o.gib_out, "program runs: write the global input buffer after the run");
  cmd->add_option("--max-cycles", o.max_cycles, "stop with an error after this many cycles (0: no limit)");
  cmd->add_flag("--no-hazard-check", o.no_hazards, "do not check for data races between units");
  cmd->add_flag("--json", o.json, "print JSON (cycles, mac_utilization, instructions, tiles, counters, ...)");
  cmd->add_flag("--quiet", o.quiet, "no progress on stderr");
  cmd->callback([] { run(o); });
}

const Registrar registrar(50, add);

}  // namespace
}  // namespace ns::cli
