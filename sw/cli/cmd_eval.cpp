// neuroscalar eval: a backend's predictions against labels, per program (docs/model.md, Metrics).
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "ns/model/backend.h"
#include "ns/model/dataset.h"
#include "ns/model/error.h"
#include "ns/model/features.h"
#include "ns/model/metrics.h"
#include "ns/model/package.h"
#include "ns/trace/trace.h"
#include "ns/uarch/labels.h"

namespace ns::cli {
namespace {

using ojson = nlohmann::ordered_json;

struct Options {
  std::string model, backend = "fp32", shards, split = "test", png;
  std::vector<std::string> labels, programs;
  size_t epochs = 0;
  int threads = 0, batch = 32;
  uint64_t seed = 1;
  bool json = false, quiet = false;
};

// One program to evaluate: its epochs as (features, labels in the label source's columns).
struct Program {
  std::string name;
  size_t epochs;
  std::vector<std::string> configs;  // label columns
  std::function<void(size_t, std::vector<int32_t>&, std::vector<uint32_t>&)> read;
};

std::vector<Program> programs_from_shards(const Options& o, const model::ModelConfig& card) {
  const auto ds = std::make_shared<model::Dataset>(o.shards);
  if (ds->encoding() != card.encoding || ds->feature_names() != card.feature_names)
    throw model::ModelError(o.shards + ": encoding '" + ds->encoding() + "' differs from the model's");
  auto names = o.programs.empty() ? ds->names(o.split) : o.programs;
  if (names.empty()) throw model::ModelError(o.shards + ": no programs in split '" + o.split + "'");
  std::vector<Program> out;
  for (const auto& name : names) {
    auto shard = std::make_shared<model::ProgramShard>(ds->program(name));
    out.push_back({name, shard->epoch_count(), ds->configs(),
                   [shard](size_t k, std::vector<int32_t>& f, std::vector<uint32_t>& l) { shard->read_epoch(k, f, &l); }});
  }
  return out;
}

Program program_from_labels(const Options& o, const model::ModelConfig& card) {
  const auto labels = std::make_shared<uarch::LabelReader>(o.labels[0]);
  const auto reader = std::make_shared<trace::Reader>(o.labels[1]);
  if (labels->epoch_count() != reader->epochs().size())
    throw model::ModelError(fmt::format("{} has {} epochs, {} has {}", o.labels[0], labels->epoch_count(),
                                        o.labels[1], reader->epochs().size()));
  auto encoder = std::make_shared<model::FeatureEncoder>(card.encoding);
  std::string name = reader->metadata().value("program", std::string());
  name = name.empty() ? std::filesystem::path(o.labels[1]).stem().string()
                      : std::filesystem::path(name).filename().string();
  return {name, reader->epochs().size(), labels->configs(),
          [labels, reader, encoder, o](size_t k, std::vector<int32_t>& f, std::vector<uint32_t>& l) {
            f = model::encode_epoch(*encoder, *reader, k);
            std::vector<uint8_t> side;
            labels->read_epoch(k, l, side);
            if (labels->epoch_rows(k) != reader->epochs()[k].records)
              throw model::ModelError(fmt::format("epoch {}: {} labelled rows for {} trace records", k,
                                                  labels->epoch_rows(k), reader->epochs()[k].records));
          }};
}

void print_text(const ojson& out, const std::vector<std::string>& designs) {
  fmt::print("{} ({}), backend {}: {} instructions\n", out["model"].get<std::string>(),
             out["variant"].get<std::string>(), out["backend"].get<std::string>(),
             out["overall"]["instructions"].get<uint64_t>());
  fmt::print("{:<16} {:<8} {:>7} {:>7} {:>7} {:>7} {:>7} {:>8} {:>8} {:>9}\n", "program", "design", "exact",
             "+-1", "+-2", "rel5%", "RAE", "MAE", "RMSE", "CPI err");
  auto rows = [&](const std::string& name, const ojson& m) {
    for (const auto& d : designs) {
      const auto& x = m["designs"][d];
      fmt::print("{:<16} {:<8} {:>7.4f} {:>7.4f} {:>7.4f} {:>7.4f} {:>7.4f} {:>8.4f} {:>8.4f} {:>8.2f}%\n", name, d,
                 x["exact"].get<double>(), x["within1"].get<double>(), x["within2"].get<double>(),
                 x["rel5"].get<double>(), x["rae"].get<double>(), x["mae"].get<double>(), x["rmse"].get<double>(),
                 100 * x["cpi_error"].get<double>());
    }
    if (m.contains("ranking"))
      fmt::print("{:<16} per instruction: Kendall tau {:.4f}, best-of-{} match {:.4f}, full match {:.4f}; "
                 "per epoch ({}): Kendall tau {:.4f}, best match {:.4f}\n",
                 name, m["ranking"]["kendall_tau"].get<double>(), designs.size(),
                 m["ranking"]["best_match"].get<double>(), m["ranking"]["full_match"].get<double>(),
                 m["ranking"]["epochs"]["count"].get<uint64_t>(), m["ranking"]["epochs"]["kendall_tau"].get<double>(),
                 m["ranking"]["epochs"]["best_match"].get<double>());
  };
  for (const auto& p : out["programs"]) rows(p["program"].get<std::string>(), p);
  if (out["programs"].size() > 1) rows("all", out["overall"]);
}

void run(const Options& o) {
  if (o.shards.empty() == o.labels.empty())
    throw std::invalid_argument("give either --shards DIR or --labels LABELS TRACE");
  const auto& info = model::find_backend(o.backend);
  const model::ModelPackage pkg = model::open_model(o.model, info.format, o.seed);
  auto predictor = model::make_backend(o.backend, pkg, {.threads = o.threads, .batch_windows = o.batch});
  const auto& card = predictor->card();
  const size_t D = card.designs.size(), F = static_cast<size_t>(card.features());

  std::vector<Program> programs;
  if (!o.shards.empty()) programs = programs_from_shards(o, card);
  else programs.push_back(program_from_labels(o, card));

  ojson out = {{"model", o.model},     {"variant", card.variant}, {"format", model::format_name(card.format)},
               {"backend", o.backend}, {"designs", card.designs}, {"clip", card.clip},
               {"programs", ojson::array()}};
  model::MetricsAccumulator overall(card.designs, card.clip, card.summed);
  double seconds = 0;
  std::vector<int32_t> features;
  std::vector<uint32_t> labels, mapped, pred;
  for (const auto& prog : programs) {
    std::vector<size_t> cols;
    for (const auto& d : card.designs) {
      const auto it = std::find(prog.configs.begin(), prog.configs.end(), d);
      if (it == prog.configs.end())
        throw model::ModelError(fmt::format("{}: design '{}' is not labelled (labels: {})", prog.name, d,
                                            fmt::join(prog.configs, ", ")));
      cols.push_back(static_cast<size_t>(it - prog.configs.begin()));
    }
    model::MetricsAccumulator m(card.designs, card.clip, card.summed);
    const size_t epochs = o.epochs ? std::min(o.epochs, prog.epochs) : prog.epochs;
    for (size_t k = 0; k < epochs; ++k) {
      prog.read(k, features, labels);
      const size_t n = features.size() / F, C = prog.configs.size();
      mapped.resize(n * D);
      for (size_t i = 0; i < n; ++i)
        for (size_t d = 0; d < D; ++d) mapped[i * D + d] = labels[i * C + cols[d]];
      pred.assign(n * static_cast<size_t>(card.head_sets()), 0);
      const auto t0 = std::chrono::steady_clock::now();
      predictor->predict_epoch(features, n, pred);
      seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      m.add(pred, mapped);
      if (!o.quiet) fmt::print(stderr, "eval: {} epoch {}/{}: {} instructions\n", prog.name, k + 1, epochs, n);
    }
    ojson r = m.result();
    r["program"] = prog.name;
    r["epochs"] = epochs;
    out["programs"].push_back(r);
    overall.merge(m);
  }
  out["overall"] = overall.result();
  out["seconds"] = seconds;
  out["instructions_per_second"] = seconds > 0 ? double(overall.instructions()) / seconds : 0.0;

  if (!o.png.empty()) {
    std::filesystem::create_directories(o.png);
    const auto json_path = std::filesystem::path(o.png) / "eval.json";
    std::ofstream(json_path) << out.dump(2) << "\n";
    const char* src = std::getenv("NS_SOURCE_DIR");
    const std::filesystem::path script =
        std::filesystem::path(src ? src : NS_MODEL_SOURCE_DIR) / "model/scripts/plot_eval.py";
    const std::string cmd = fmt::format("/usr/bin/python3 '{}' '{}' '{}'", script.string(), json_path.string(), o.png);
    if (std::system(cmd.c_str()) != 0) throw std::runtime_error("plotting failed: " + cmd);
  }
  if (o.json) fmt::print("{}\n", out.dump(2));
  else print_text(out, card.designs);
}

void add(CLI::App& app) {
  static Options o;
  auto* cmd = app.add_subcommand(
      "eval", "Evaluate a model's predictions against labels: per program and design the paper's "
              "accuracy metrics, CPI error, and ranking agreement across designs");
  cmd->footer("Metrics are defined in docs/model.md (Metrics). Labels come from dataset shards "
              "(--shards, features read from the shards) or a LABELS file of `neuroscalar label` "
              "with its trace (--labels).");
  cmd->add_option("--model", o.model, "model package (directory or its model.yaml)")->required();
  cmd->add_option("--backend", o.backend, "backend (neuroscalar predict --help lists them)")->capture_default_str();
  auto* sh = cmd->add_option("--shards", o.shards, "dataset folder (docs/dataset.md)")->check(CLI::ExistingDirectory);
  auto* lb = cmd->add_option("--labels", o.labels, "LABELS file and its .nstrace")->expected(2)->check(CLI::ExistingFile);
  sh->excludes(lb);
  cmd->add_option("--split", o.split, "dataset split (with --shards)")->capture_default_str();
  cmd->add_option("--programs", o.programs, "programs of the dataset (default: all of --split)")->delimiter(',');
  cmd->add_option("--epochs", o.epochs, "first K epochs of each program (0: all)");
  cmd->add_option("--png", o.png, "write eval.json and PNG plots into this directory");
  cmd->add_option("--threads", o.threads, "host threads (0: all)");
  cmd->add_option("--batch", o.batch, "windows per matrix product (host backends)")->check(CLI::PositiveNumber);
  cmd->add_option("--seed", o.seed, "seed of the random weights when --model is a variant config");
  cmd->add_flag("--json", o.json, "print JSON");
  cmd->add_flag("--quiet", o.quiet, "no progress on stderr");
  cmd->callback([] { run(o); });
}

const Registrar registrar(34, add);

}  // namespace
}  // namespace ns::cli
