// `neuroscalar label`: labels a trace on core designs with the reference core (docs/uarch.md);
// `neuroscalar dataset-manifest`: assembles labelled program shards into a training dataset
// (docs/dataset.md).
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "commands.h"
#include "ns/model/features.h"
#include "ns/trace/trace.h"
#include "ns/uarch/labeler.h"
#include "ns/uarch/labels.h"

namespace ns::cli {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// Appends raw little-endian arrays to one file of a shard.
class RawFile {
 public:
  explicit RawFile(const fs::path& p) : path_(p), f_(std::fopen(p.c_str(), "wb")) {
    if (!f_) throw std::runtime_error(fmt::format("{}: cannot create", p.string()));
  }
  ~RawFile() {
    if (f_) std::fclose(f_);
  }
  RawFile(const RawFile&) = delete;
  RawFile& operator=(const RawFile&) = delete;
  template <typename T>
  void append(std::span<const T> v) {
    if (!v.empty() && std::fwrite(v.data(), sizeof(T), v.size(), f_) != v.size())
      throw std::runtime_error(fmt::format("{}: write failed", path_.string()));
  }
  void close() {
    if (std::fclose(f_) != 0) throw std::runtime_error(fmt::format("{}: write failed", path_.string()));
    f_ = nullptr;
  }

 private:
  fs::path path_;
  std::FILE* f_;
};

// One program's training shard (docs/dataset.md), written to <dir>.partial and renamed into
// place when complete, so an interrupted run never leaves a shard that looks finished.
class ShardWriter {
 public:
  ShardWriter(const fs::path& dir, const std::string& encoding, size_t configs)
      : dir_(dir), tmp_(dir.string() + ".partial"), encoder_(encoding), configs_(configs) {
    fs::remove_all(tmp_);
    fs::create_directories(tmp_);
    features_ = std::make_unique<RawFile>(tmp_ / "features.i32");
    labels_ = std::make_unique<RawFile>(tmp_ / "labels.u32");
    side_ = std::make_unique<RawFile>(tmp_ / "side.u8");
    offsets_.push_back(0);
  }
  const model::FeatureEncoder& encoder() const { return encoder_; }

  // Epochs arrive in trace order from the first (Labeler::run), which is what lets an encoder
  // whose state spans the trace carry it from one epoch to the next.
  void add(const uarch::EpochLabels& e) {
    if (!encoder_.spans_trace() || offsets_.size() == 1) encoder_.reset();
    encoder_.warm(e.records.first(e.warmup));
    buffer_.resize(e.rows * static_cast<size_t>(encoder_.feature_count()));
    encoder_.encode(e.records.subspan(e.warmup), buffer_);
    features_->append<int32_t>(buffer_);
    labels_->append(e.labels);
    side_->append(e.side);
    offsets_.push_back(offsets_.back() + e.rows);
  }

  void finish(const json& info) {
    features_->close();
    labels_->close();
    side_->close();
    RawFile epochs(tmp_ / "epochs.u64");
    epochs.append<uint64_t>(offsets_);
    epochs.close();
    std::ofstream(tmp_ / "shard.json") << info.dump(1) << "\n";
    fs::remove_all(dir_);
    fs::rename(tmp_, dir_);
  }

 private:
  fs::path dir_, tmp_;
  model::FeatureEncoder encoder_;
  size_t configs_;
  std::unique_ptr<RawFile> features_, labels_, side_;
  std::vector<int32_t> buffer_;
  std::vector<uint64_t> offsets_;
};

struct LabelOptions {
  std::vector<std::string> cpus;
  std::string trace;
  std::string output;
  std::string shard;
  std::string name;
  std::string encoding = "paper13";
  unsigned threads = 0;
  size_t max_epochs = SIZE_MAX;
  bool json = false;
  bool quiet = false;
};

json design_json(const uarch::CoreConfig& c) {
  return {{"name", c.name}, {"sha256", c.sha256}, {"source", c.source.string()}, {"config", c.tree}};
}

void run_label(const LabelOptions& o) {
  std::vector<uarch::CoreConfig> configs;
  std::set<std::string> names;
  for (const std::string& p : o.cpus) {
    configs.push_back(uarch::load_config(p));
    if (!names.insert(configs.back().name).second)
      throw std::runtime_error(fmt::format("{}: design name '{}' is given twice", p, configs.back().name));
  }
  const trace::Reader reader(o.trace);
  const size_t epochs = std::min(o.max_epochs, reader.epochs().size());
  const size_t nc = configs.size();
  std::vector<std::string> config_names;
  for (const auto& c : configs) config_names.push_back(c.name);

  std::unique_ptr<uarch::LabelWriter> writer;
  if (!o.output.empty()) writer = std::make_unique<uarch::LabelWriter>(o.output, config_names);
  const std::string program = o.name.empty() ? fs::path(o.trace).stem().string() : o.name;
  std::unique_ptr<ShardWriter> shard;
  if (!o.shard.empty()) shard = std::make_unique<ShardWriter>(o.shard, o.encoding, nc);

  uint64_t total_records = 0;
  for (size_t k = 0; k < epochs; ++k)
    total_records += reader.epochs()[k].records + reader.epochs()[k].warmup_records;
  const auto start = std::chrono::steady_clock::now();
  auto elapsed = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  double last_report = 0;
  uint64_t done_records = 0;
  const bool tty = ::isatty(STDERR_FILENO);
  json summaries = json::array();

  uarch::Labeler labeler(configs, o.threads);
  labeler.run(reader, epochs, [&](const uarch::EpochLabels& e) {
    if (writer) writer->write_epoch(e.info->index, e.rows, e.labels, e.side);
    if (shard) shard->add(e);
    json per = json::object();
    for (size_t c = 0; c < nc; ++c) per[config_names[c]] = e.stats[c].to_json();
    summaries.push_back({{"index", e.info->index},
                         {"first_instruction", e.info->first_instruction},
                         {"warmup", e.warmup},
                         {"rows", e.rows},
                         {"signature", trace::to_hex(e.info->signature)},
                         {"stats", per}});
    done_records += e.records.size();
    const double t = elapsed();
    if (!o.quiet && (t - last_report > (tty ? 0.5 : 10.0) || e.info->index + 1 == epochs)) {
      last_report = t;
      fmt::print(stderr, "{}label {}: epoch {}/{}, {:.1f} M records, {:.2f} M records/s{}",
                 tty ? "\r" : "", program, e.info->index + 1, epochs, done_records / 1e6,
                 done_records / 1e6 / std::max(t, 1e-9), tty ? "" : "\n");
    }
  });
  const double seconds = elapsed();
  if (!o.quiet && tty) fmt::print(stderr, "\n");

  json totals = json::array();
  json ipc = json::object(), by_name = json::object();
  for (size_t c = 0; c < nc; ++c) {
    json t = labeler.totals()[c].to_json();
    by_name[config_names[c]] = t;
    ipc[config_names[c]] = labeler.totals()[c].ipc();
    t["config"] = config_names[c];
    totals.push_back(t);
  }
  json designs = json::array();
  for (const auto& c : configs) designs.push_back(design_json(c));
  const json trace_info = {{"file", fs::path(o.trace).filename().string()},
                           {"program", reader.metadata().value("program", "")},
                           {"epochs", epochs}};
  if (writer)
    writer->close({{"format", "neuroscalar-labels"},
                   {"trace", trace_info},
                   {"designs", designs},
                   {"epoch_summaries", summaries},
                   {"totals", by_name}});
  if (shard) {
    const uint64_t rows = labeler.totals().empty() ? 0 : labeler.totals()[0].instructions;
    shard->finish({{"name", program},
                   {"trace", fs::path(o.trace).filename().string()},
                   {"encoding", shard->encoder().encoding()},
                   {"feature_names", shard->encoder().feature_names()},
                   {"configs", config_names},
                   {"designs", designs},
                   {"instructions", rows},
                   {"epochs", epochs},
                   {"ipc", ipc},
                   {"totals", by_name}});
  }

  if (o.json) {
    fmt::print("{}\n", json{{"trace", o.trace},
                            {"epochs", epochs},
                            {"records", total_records},
                            {"seconds", seconds},
                            {"records_per_second", total_records / std::max(seconds, 1e-9)},
                            {"configs", totals}}
                           .dump(2));
    return;
  }
  fmt::print("{}: {} epochs, {} records labelled on {} designs in {:.2f} s ({:.2f} M records/s)\n",
             o.trace, epochs, total_records, nc, seconds, total_records / 1e6 / std::max(seconds, 1e-9));
  fmt::print("{:<10} {:>12} {:>12} {:>7} {:>11} {:>9} {:>8} {:>9} {:>9}\n", "design",
             "instructions", "cycles", "IPC", "branch MPKI", "L1D MPKI", "L2 MPKI", "LLC MPKI",
             "L1I MPKI");
  for (size_t c = 0; c < nc; ++c) {
    const auto& s = labeler.totals()[c];
    fmt::print("{:<10} {:>12} {:>12} {:>7.3f} {:>11.2f} {:>9.2f} {:>8.2f} {:>9.2f} {:>9.2f}\n",
               config_names[c], s.instructions, s.cycles, s.ipc(), s.per_kilo(s.mispredicts),
               s.per_kilo(s.l1d_misses), s.per_kilo(s.l2_misses), s.per_kilo(s.llc_misses),
               s.per_kilo(s.l1i_misses));
  }
}

void add_label(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "label",
      "Label every instruction of a trace with its retirement latency on core designs "
      "(configs/cpu/*.yaml) with the reference out-of-order core, in one pass over the trace");
  static LabelOptions o;
  cmd->add_option("--cpu", o.cpus, "core design YAML (repeat for several designs)")
      ->required()
      ->allow_extra_args(false)
      ->check(CLI::ExistingFile);
  cmd->add_option("TRACE", o.trace, ".nstrace file")->required();
  cmd->add_option("-o,--output", o.output, "write the LABELS file (format: docs/uarch.md)");
  cmd->add_option("--shard", o.shard,
                  "also write a training shard of this program into this folder "
                  "(docs/dataset.md)");
  cmd->add_option("--name", o.name, "program name in the shard (default: the trace file's stem)");
  cmd->add_option("--encoding", o.encoding, "feature encoding of the shard")
      ->check(CLI::IsMember(model::FeatureEncoder::known_encodings()));
  cmd->add_option("--threads", o.threads, "worker threads (default: one per hardware thread)");
  cmd->add_option("--epochs", o.max_epochs, "label only the first N epochs")->check(CLI::PositiveNumber);
  cmd->add_flag("--json", o.json, "print per-design totals as JSON");
  cmd->add_flag("-q,--quiet", o.quiet, "no progress on stderr");
  cmd->callback([] { run_label(o); });
}

// ---- dataset-manifest ----------------------------------------------------------------------

struct ManifestOptions {
  std::string dir;
  std::string splits;
  double validation = 0.15, test = 0.15;
};

// FNV-1a: a fixed, portable hash of a program name (the split must not depend on the platform).
uint64_t name_hash(const std::string& s) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ull;
  return h;
}

void check_size(const fs::path& p, uint64_t want) {
  if (!fs::exists(p)) throw std::runtime_error(fmt::format("{}: missing", p.string()));
  const uint64_t got = fs::file_size(p);
  if (got != want)
    throw std::runtime_error(fmt::format("{}: {} bytes, expected {}", p.string(), got, want));
}

void run_manifest(const ManifestOptions& o) {
  const fs::path root(o.dir);
  std::vector<json> shards;
  for (const auto& entry : fs::directory_iterator(root)) {
    const fs::path info = entry.path() / "shard.json";
    if (!entry.is_directory() || !fs::exists(info)) continue;
    json j;
    try {
      j = json::parse(std::ifstream(info));
    } catch (const json::exception& e) {
      throw std::runtime_error(fmt::format("{}: not valid JSON: {}", info.string(), e.what()));
    }
    if (j.value("name", "") != entry.path().filename().string())
      throw std::runtime_error(
          fmt::format("{}: names program '{}', the folder is '{}'", info.string(),
                      j.value("name", ""), entry.path().filename().string()));
    shards.push_back(j);
  }
  if (shards.empty())
    throw std::runtime_error(fmt::format("{}: no labelled programs (no */shard.json)", root.string()));
  std::sort(shards.begin(), shards.end(),
            [](const json& a, const json& b) { return a["name"] < b["name"]; });

  // Every shard must have been written with the same encoding and designs.
  const json& first = shards.front();
  for (const json& s : shards) {
    for (const char* key : {"encoding", "feature_names", "configs"})
      if (s.at(key) != first.at(key))
        throw std::runtime_error(fmt::format("{}: '{}' differs from {}'s", s["name"].get<std::string>(),
                                             key, first["name"].get<std::string>()));
    for (size_t c = 0; c < s["designs"].size(); ++c)
      if (s["designs"][c]["sha256"] != first["designs"][c]["sha256"])
        throw std::runtime_error(fmt::format("{}: design '{}' is not the one {} was labelled with",
                                             s["name"].get<std::string>(),
                                             s["configs"][c].get<std::string>(),
                                             first["name"].get<std::string>()));
    const fs::path dir = root / s["name"].get<std::string>();
    const uint64_t n = s["instructions"], e = s["epochs"];
    const uint64_t f = s["feature_names"].size(), nc = s["configs"].size();
    check_size(dir / "features.i32", n * f * 4);
    check_size(dir / "labels.u32", n * nc * 4);
    check_size(dir / "side.u8", n * nc);
    check_size(dir / "epochs.u64", (e + 1) * 8);
  }

  // Split by program: names listed in --splits keep their split; the others are ordered by the
  // FNV-1a hash of their name and the first ones go to test, then validation, the rest to train.
  std::map<std::string, std::string> split;
  if (!o.splits.empty()) {
    YAML::Node y;
    try {
      y = YAML::LoadFile(o.splits);
    } catch (const YAML::Exception& e) {
      throw std::runtime_error(fmt::format("{}: {}", o.splits, e.what()));
    }
    if (!y.IsMap()) throw std::runtime_error(fmt::format("{}: must map program -> split", o.splits));
    for (const auto& kv : y) {
      const std::string v = kv.second.as<std::string>();
      if (v != "train" && v != "validation" && v != "test")
        throw std::runtime_error(fmt::format("{}: split '{}' of '{}' is not train, validation or test",
                                             o.splits, v, kv.first.as<std::string>()));
      split[kv.first.as<std::string>()] = v;
    }
  }
  std::vector<std::string> rest;
  for (const json& s : shards)
    if (!split.count(s["name"])) rest.push_back(s["name"]);
  std::sort(rest.begin(), rest.end(),
            [](const std::string& a, const std::string& b) { return name_hash(a) < name_hash(b); });
  const size_t n = rest.size();
  auto share = [&](double frac) {
    return n >= 3 ? std::max<size_t>(1, static_cast<size_t>(frac * n + 0.5)) : 0;
  };
  const size_t n_test = share(o.test), n_val = std::min(share(o.validation), n - n_test);
  for (size_t i = 0; i < n; ++i)
    split[rest[i]] = i < n_test ? "test" : i < n_test + n_val ? "validation" : "train";

  json programs = json::array();
  json config_sha = json::object();
  for (const json& d : first["designs"]) config_sha[d["name"].get<std::string>()] = d["sha256"];
  uint64_t total = 0;
  for (const json& s : shards) {
    total += s["instructions"].get<uint64_t>();
    programs.push_back({{"name", s["name"]},
                        {"split", split[s["name"]]},
                        {"instructions", s["instructions"]},
                        {"epochs", s["epochs"]},
                        {"trace", s["trace"]},
                        {"ipc", s["ipc"]}});
  }
  const json manifest = {
      {"version", 1},
      {"encoding", first["encoding"]},
      {"feature_names", first["feature_names"]},
      {"configs", first["configs"]},
      {"config_sha256", config_sha},
      {"label", "retirement latency in cycles (reference core, docs/uarch.md)"},
      {"side_bits", "bits 0-2 data-access level (0 none, 1 L1, 2 L2, 3 LLC, 4 DRAM), bit 3 branch "
                    "mispredicted, bit 4 I-cache miss"},
      {"instructions", total},
      {"programs", programs}};
  const fs::path out = root / "manifest.json";
  std::ofstream(out.string() + ".tmp") << manifest.dump(1) << "\n";
  fs::rename(out.string() + ".tmp", out);
  std::map<std::string, int> count;
  for (const json& s : shards) ++count[split[s["name"]]];
  fmt::print("{}: {} programs ({} train, {} validation, {} test), {} instructions\n", out.string(),
             shards.size(), count["train"], count["validation"], count["test"], total);
}

void add_manifest(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "dataset-manifest",
      "Write DIR/manifest.json over the program shards `label --shard` wrote into DIR, with a "
      "train/validation/test split by program (docs/dataset.md)");
  static ManifestOptions o;
  cmd->add_option("DIR", o.dir, "dataset folder")->required()->check(CLI::ExistingDirectory);
  cmd->add_option("--splits", o.splits, "YAML map program -> train|validation|test (fixes those)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--validation", o.validation, "share of the other programs for validation")
      ->check(CLI::Range(0.0, 0.5));
  cmd->add_option("--test", o.test, "share of the other programs for test")
      ->check(CLI::Range(0.0, 0.5));
  cmd->callback([] { run_manifest(o); });
}

void add(CLI::App& app) {
  add_label(app);
  add_manifest(app);
}

const Registrar registrar(20, add);

}  // namespace
}  // namespace ns::cli
