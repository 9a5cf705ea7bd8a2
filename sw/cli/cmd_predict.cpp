// neuroscalar predict: per-epoch cycles and IPC of a trace on every design a model covers.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <optional>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "ns/model/backend.h"
#include "ns/model/error.h"
#include "ns/model/features.h"
#include "ns/model/package.h"
#include "ns/trace/trace.h"

namespace ns::cli {
namespace {

struct Options {
  std::string model, backend = "fp32", trace, dump;
  bool json = false, quiet = false;
  size_t epochs = 0;
  int threads = 0, batch = 32;
  uint64_t seed = 1;
  std::vector<std::string> backend_opts;
};

// KEY=VALUE pairs into an object of strings.
nlohmann::json parse_backend_opts(const std::vector<std::string>& kv) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& s : kv) {
    const auto eq = s.find('=');
    if (eq == std::string::npos || eq == 0)
      throw std::invalid_argument("--backend-opt '" + s + "': expected KEY=VALUE");
    j[s.substr(0, eq)] = s.substr(eq + 1);
  }
  return j;
}

nlohmann::ordered_json ipc_json(uint64_t instructions, uint64_t cycles) {
  return cycles ? nlohmann::ordered_json(double(instructions) / double(cycles)) : nlohmann::ordered_json(nullptr);
}

void run(const Options& o) {
  const auto& info = model::find_backend(o.backend);
  const model::ModelPackage pkg = model::open_model(o.model, info.format, o.seed);
  if (pkg.card.training.value("random_weights", false))
    fmt::print(stderr, "predict: {} is a variant config: using random weights (seed {})\n", o.model, o.seed);
  auto predictor = model::make_backend(
      o.backend, pkg, {.threads = o.threads, .batch_windows = o.batch, .extra = parse_backend_opts(o.backend_opts)});
  const auto& card = predictor->card();
  const size_t D = card.designs.size();

  const trace::Reader reader(o.trace);
  model::FeatureEncoder encoder(card.encoding);
  if (encoder.feature_names() != card.feature_names)
    throw model::ModelError("the model's features differ from encoder '" + card.encoding + "'");
  std::ofstream dump;
  if (!o.dump.empty()) {
    dump.open(o.dump, std::ios::binary | std::ios::trunc);
    if (!dump) throw std::runtime_error(o.dump + ": cannot create");
  }

  const size_t epochs = o.epochs ? std::min(o.epochs, reader.epochs().size()) : reader.epochs().size();
  nlohmann::ordered_json out = {{"trace", o.trace},
                        {"model", o.model},
                        {"variant", card.variant},
                        {"format", model::format_name(card.format)},
                        {"backend", o.backend},
                        {"designs", card.designs},
                        {"epochs", nlohmann::ordered_json::array()}};
  std::vector<uint64_t> total_cycles(D, 0);
  uint64_t total_instr = 0;
  double seconds = 0;
  std::vector<uint32_t> cycles;
  for (size_t k = 0; k < epochs; ++k) {
    const auto features = model::encode_epoch(encoder, reader, k);
    const size_t n = features.size() / static_cast<size_t>(card.features());
    cycles.assign(n * static_cast<size_t>(card.head_sets()), 0);
    const auto t0 = std::chrono::steady_clock::now();
    predictor->predict_epoch(features, n, cycles);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    seconds += s;
    if (dump.is_open()) {
      dump.write(reinterpret_cast<const char*>(cycles.data()), static_cast<std::streamsize>(cycles.size() * 4));
      if (!dump) throw std::runtime_error(o.dump + ": write failed");
    }
    nlohmann::ordered_json e = {{"index", k},
                        {"instructions", n},
                        {"signature", trace::to_hex(reader.epochs()[k].signature)},
                        {"cycles", nlohmann::ordered_json::object()},
                        {"ipc", nlohmann::ordered_json::object()}};
    const auto sums = card.summed.sums(cycles, D);
    for (size_t d = 0; d < D; ++d) {
      const auto c = static_cast<uint64_t>(std::llround(sums[d]));
      e["cycles"][card.designs[d]] = c;
      e["ipc"][card.designs[d]] = ipc_json(n, c);
      total_cycles[d] += c;
    }
    if (const auto st = predictor->last_epoch_stats(); !st.empty()) e["backend_stats"] = nlohmann::ordered_json::parse(st.dump());
    out["epochs"].push_back(e);
    total_instr += n;
    if (!o.quiet)
      fmt::print(stderr, "predict: epoch {}/{}: {} instructions in {:.2f} s ({:.0f} instructions/s)\n",
                 k + 1, epochs, n, s, s > 0 ? n / s : 0.0);
  }
  nlohmann::ordered_json total = {{"instructions", total_instr}, {"cycles", nlohmann::ordered_json::object()},
                          {"ipc", nlohmann::ordered_json::object()}};
  for (size_t d = 0; d < D; ++d) {
    total["cycles"][card.designs[d]] = total_cycles[d];
    total["ipc"][card.designs[d]] = ipc_json(total_instr, total_cycles[d]);
  }
  out["total"] = total;
  out["seconds"] = seconds;
  out["instructions_per_second"] = seconds > 0 ? total_instr / seconds : 0.0;
  if (o.json) {
    fmt::print("{}\n", out.dump(2));
    return;
  }
  fmt::print("{}: {} ({}, {}), backend {}, {} epochs, {} instructions\n", o.trace, o.model, card.variant,
             model::format_name(card.format), o.backend, epochs, total_instr);
  std::string head = fmt::format("{:>6} {:>12}", "epoch", "instructions");
  for (const auto& d : card.designs) head += fmt::format(" {:>12} {:>7}", d + " cyc", "IPC");
  fmt::print("{}\n", head);
  auto row = [&](const std::string& label, const nlohmann::ordered_json& e) {
    std::string line = fmt::format("{:>6} {:>12}", label, e["instructions"].get<uint64_t>());
    for (const auto& d : card.designs) {
      const auto& ipc = e["ipc"][d];
      line += fmt::format(" {:>12} {:>7}", e["cycles"][d].get<uint64_t>(),
                          ipc.is_null() ? std::string("-") : fmt::format("{:.3f}", ipc.get<double>()));
    }
    fmt::print("{}\n", line);
  };
  for (const auto& e : out["epochs"]) row(std::to_string(e["index"].get<size_t>()), e);
  row("total", total);
  fmt::print("{:.0f} predicted instructions/s ({:.2f} s in the backend)\n",
             out["instructions_per_second"].get<double>(), seconds);
}

void add(CLI::App& app) {
  static Options o;
  std::string list;
  for (const auto& b : model::backends())
    list += fmt::format("  {:<14} {} ({} packages)\n", b.name, b.description, model::format_name(b.format));
  auto* cmd = app.add_subcommand(
      "predict", "Predict per-instruction latencies of a trace on every design of a model: "
                 "per-epoch cycles and IPC");
  cmd->footer(
      "Backends:\n" + list +
      "--model also takes a variant config (configs/model/*.yaml): random weights, for "
      "trying the pipeline before a trained model exists.\nAn epoch's cycles are the sum of "
      "its predictions, or, if the card has targets.summed, of the cycles each stands for "
      "(a table) or of its sum heads' predictions (docs/model.md).");
  cmd->add_option("TRACE", o.trace, ".nstrace file")->required()->check(CLI::ExistingFile);
  cmd->add_option("--model", o.model, "model package (directory or its model.yaml) or variant config")
      ->required();
  cmd->add_option("--backend", o.backend, "backend (see below)")->capture_default_str();
  cmd->add_flag("--json", o.json, "print JSON");
  cmd->add_option("--dump-latencies", o.dump,
                  "write every prediction as little-endian uint32, instruction-major (designs in "
                  "card order, then their sum heads if the card has them), epochs in trace order");
  cmd->add_option("--epochs", o.epochs, "predict only the first K epochs (0: all)");
  cmd->add_option("--threads", o.threads, "host threads (0: all)");
  cmd->add_option("--batch", o.batch, "windows per matrix product (host backends)")->check(CLI::PositiveNumber);
  cmd->add_option("--backend-opt", o.backend_opts, "KEY=VALUE passed to the backend (repeatable)");
  cmd->add_option("--seed", o.seed, "seed of the random weights when --model is a variant config");
  cmd->add_flag("--quiet", o.quiet, "no progress on stderr");
  cmd->callback([] { run(o); });
}

const Registrar registrar(32, add);

}  // namespace
}  // namespace ns::cli
