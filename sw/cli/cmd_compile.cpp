// `neuroscalar compile`: a model (INT8 package or variant config) + an accelerator config ->
// a Neutrino bundle (program, GWB image, manifest, listing, memory map) and the schedule report.
#include <filesystem>
#include <iostream>

#include <fmt/format.h>

#include "commands.h"
#include "ns/model/package.h"
#include "ntr/compiler/compiler.h"
#include "ntr/isa/config.h"

namespace ns::cli {
namespace {

struct Args {
  std::string model, accel, out, window;
  int64_t epoch = 100000;
  uint64_t seed = 1;
  bool report = false, json = false, full_timing = false;
};

void run(const Args& a) {
  const auto cfg = ntr::isa::load_accel_config(a.accel);
  ntr::compiler::CompileOptions opt;
  opt.epoch = a.epoch;
  opt.extrapolate = !a.full_timing;
  if (!a.window.empty()) {
    const auto comma = a.window.find(',');
    try {
      if (comma == std::string::npos) throw std::invalid_argument("");
      std::size_t u1 = 0, u2 = 0;
      opt.window_length = std::stoi(a.window.substr(0, comma), &u1);
      opt.window_target = std::stoi(a.window.substr(comma + 1), &u2);
      if (u1 != comma || u2 != a.window.size() - comma - 1) throw std::invalid_argument("");
    } catch (const std::exception&) {
      throw std::runtime_error(fmt::format("--window '{}': expected L,T (two integers)", a.window));
    }
  }
  if (!a.json) fmt::print(stderr, "compile: loading {}\n", a.model);
  const auto pkg = ns::model::open_model(a.model, ns::model::PackageFormat::Int8, a.seed);
  if (!a.json) fmt::print(stderr, "compile: scheduling {} for {}\n", pkg.card.variant, cfg.name);
  const auto c = ntr::compiler::compile(pkg, cfg, opt);
  if (!a.out.empty()) {
    ntr::compiler::write_bundle(c, a.out);
    if (!a.json) fmt::print(stderr, "compile: wrote {}\n", a.out);
  }
  if (a.json) {
    fmt::print("{}\n", c.report.dump(2));
  } else if (a.report || a.out.empty()) {
    fmt::print("{}", c.report_text);
  }
}

void add(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "compile",
      "Compile a model for Neutrino: INT8 package (or a variant config, with random INT8 weights) + "
      "accelerator config -> program bundle and schedule report (docs/schedule.md)");
  static Args a;
  cmd->add_option("--model", a.model, "INT8 package directory, its model.yaml, or configs/model/<variant>.yaml")
      ->required();
  cmd->add_option("--accel", a.accel, "accelerator config, configs/accel/<name>.yaml")->required();
  cmd->add_option("--window", a.window, "window L,T (default: the model card's)");
  cmd->add_option("--epoch", a.epoch, "instructions per epoch (default 100000)")->check(CLI::Range(1, 100000000));
  cmd->add_option("--seed", a.seed, "seed of the random weights when --model is a variant config");
  cmd->add_option("-o,--out", a.out, "write the bundle (manifest.json, program.bin, gwb.bin, ...) here");
  cmd->add_flag("--report", a.report, "print the schedule report as a table");
  cmd->add_flag("--json", a.json, "print the schedule report as JSON (stdout)");
  cmd->add_flag("--full-timing", a.full_timing, "simulate every window (no periodic extrapolation)");
  cmd->callback([] { run(a); });
}

const Registrar registrar(40, add);

}  // namespace
}  // namespace ns::cli
