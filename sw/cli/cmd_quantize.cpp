// neuroscalar quantize: FP32 package -> INT8 package, calibrated on training windows
// (docs/int8-spec.md section 9).
#include <algorithm>
#include <filesystem>
#include <functional>
#include <memory>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "ns/model/dataset.h"
#include "ns/model/error.h"
#include "ns/model/features.h"
#include "ns/model/int8.h"
#include "ns/model/fp32_model.h"
#include "ns/model/package.h"
#include "ns/model/quantize.h"
#include "ns/trace/trace.h"

namespace ns::cli {
namespace {

struct Options {
  std::string model, out, split = "train";
  std::vector<std::string> calib, wide;
  size_t windows = 256;
  double percentile = 100.0;
  int threads = 0;
  bool json = false, quiet = false;
};

// One calibration epoch: where it comes from and its features.
struct Epoch {
  std::string source;
  std::vector<int32_t> features;
};

void run(const Options& o) {
  const model::ModelPackage fp32 = model::load_package(o.model);
  if (fp32.card.format != model::PackageFormat::Fp32)
    throw model::ModelError(o.model + ": quantize needs a neuroscalar-fp32 package");
  const auto& card = fp32.card;
  const size_t F = static_cast<size_t>(card.features());

  // Gather calibration epochs: a dataset folder (its programs of --split) or traces.
  std::vector<std::function<Epoch()>> epochs;
  nlohmann::ordered_json sources = nlohmann::ordered_json::array();
  for (const auto& path : o.calib) {
    if (std::filesystem::is_directory(path)) {
      const auto ds = std::make_shared<model::Dataset>(path);
      if (ds->encoding() != card.encoding || ds->feature_names() != card.feature_names)
        throw model::ModelError(path + ": dataset encoding '" + ds->encoding() +
                                "' differs from the model's '" + card.encoding + "'");
      const auto names = ds->names(o.split);
      if (names.empty()) throw model::ModelError(path + ": no programs in split '" + o.split + "'");
      for (const auto& name : names) {
        const auto shard = std::make_shared<model::ProgramShard>(ds->program(name));
        for (size_t k = 0; k < shard->epoch_count(); ++k)
          epochs.push_back([shard, k, path, name] {
            Epoch e{fmt::format("{}/{} epoch {}", path, name, k), {}};
            shard->read_epoch(k, e.features, nullptr);
            return e;
          });
      }
      sources.push_back({{"dataset", path}, {"split", o.split}, {"programs", names}});
    } else {
      const auto reader = std::make_shared<trace::Reader>(path);
      for (size_t k = 0; k < reader->epochs().size(); ++k)
        epochs.push_back([reader, k, path, enc = card.encoding] {
          model::FeatureEncoder encoder(enc);
          return Epoch{fmt::format("{} epoch {}", path, k), model::encode_epoch(encoder, *reader, k)};
        });
      sources.push_back({{"trace", path}, {"epochs", reader->epochs().size()}});
    }
  }
  if (epochs.empty()) throw model::ModelError("quantize: the calibration data holds no epochs");

  // Spread the window budget evenly over the epochs.
  const model::Fp32Model fm(fp32, {.threads = o.threads});
  model::Calibrator cal(fm);
  const size_t per_epoch = std::max<size_t>(1, (o.windows + epochs.size() - 1) / epochs.size());
  const size_t stride = std::max<size_t>(1, epochs.size() * per_epoch / std::max<size_t>(o.windows, 1));
  for (size_t k = 0; k < epochs.size(); k += stride) {
    const Epoch e = epochs[k]();
    cal.add_epoch(e.features, e.features.size() / F, per_epoch);
    if (!o.quiet)
      fmt::print(stderr, "quantize: calibrated on {} ({} windows so far)\n", e.source, cal.stats().windows);
  }

  model::QuantizeOptions qo;
  qo.percentile = o.percentile;
  qo.calibration_source = sources;
  if (!o.wide.empty()) {
    qo.feature_bytes.assign(F, 1);
    for (const auto& w : o.wide) {
      const auto it = std::find(card.feature_names.begin(), card.feature_names.end(), w);
      if (it == card.feature_names.end())
        throw model::ModelError(fmt::format("--wide-feature '{}': no such feature (features: {})", w,
                                            fmt::join(card.feature_names, ", ")));
      qo.feature_bytes[static_cast<size_t>(it - card.feature_names.begin())] = 2;
    }
  }
  const model::ModelPackage q = model::quantize(fp32, cal.stats(), qo);
  model::save_package(q, o.out);
  const auto& st = cal.stats();
  nlohmann::ordered_json report = {{"output", o.out},
                                   {"model", o.model},
                                   {"calibration", {{"epochs", st.epochs}, {"windows", st.windows},
                                                    {"instructions", st.instructions}}},
                                   {"device_bytes_per_instruction", model::int8::FeatureCodec::from_package(q).row_bytes()},
                                   {"quantization", q.card.quantization}};
  if (o.json) fmt::print("{}\n", report.dump(2));
  else
    fmt::print("wrote {} ({} windows of {} epochs calibrated; {} device bytes per instruction; gate "
               "pre-activations saturated: {:.4f}%)\n",
               o.out, st.windows, st.epochs, report["device_bytes_per_instruction"].get<int>(),
               100.0 * q.card.quantization["diagnostics"]["gate_preactivation_saturated_fraction"].get<double>());
}

void add(CLI::App& app) {
  static Options o;
  auto* cmd = app.add_subcommand(
      "quantize", "Quantise an FP32 model package to an INT8 package (docs/int8-spec.md), "
                  "calibrated on training windows");
  cmd->add_option("--model", o.model, "FP32 package (directory or its model.yaml)")->required();
  cmd->add_option("--calib", o.calib, "dataset folder(s) (docs/dataset.md) and/or .nstrace files")
      ->required()
      ->check(CLI::ExistingPath);
  cmd->add_option("-o,--output", o.out, "INT8 package directory to write")->required();
  cmd->add_option("--split", o.split, "dataset split to calibrate on")->capture_default_str();
  cmd->add_option("--calib-windows", o.windows, "windows to calibrate on, spread over the epochs")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--percentile", o.percentile,
                  "percentile of |activation| that maps to 127 (100: the maximum)")
      ->capture_default_str()
      ->check(CLI::Range(50.0, 100.0));
  cmd->add_option("--wide-feature", o.wide,
                  "give this feature 2 device bytes instead of 1 (repeatable; e.g. pc_lo)");
  cmd->add_option("--threads", o.threads, "host threads (0: all)");
  cmd->add_flag("--json", o.json, "print a JSON report");
  cmd->add_flag("--quiet", o.quiet, "no progress on stderr");
  cmd->callback([] { run(o); });
}

const Registrar registrar(33, add);

}  // namespace
}  // namespace ns::cli
