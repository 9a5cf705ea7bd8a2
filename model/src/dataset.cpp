#include "ns/model/dataset.h"

#include <fstream>

#include <fmt/format.h>

#include "ns/model/error.h"

namespace ns::model {

namespace {

void read_at(const std::filesystem::path& p, uint64_t offset, void* dst, size_t bytes) {
  std::ifstream in(p, std::ios::binary);
  if (!in) throw ModelError(p.string() + ": cannot open");
  in.seekg(static_cast<std::streamoff>(offset));
  if (!in.read(static_cast<char*>(dst), static_cast<std::streamsize>(bytes)))
    throw ModelError(fmt::format("{}: short read of {} bytes at {}", p.string(), bytes, offset));
}

void expect_size(const std::filesystem::path& p, uint64_t want, const std::string& why) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(p, ec);
  if (ec) throw ModelError(p.string() + ": missing");
  if (size != want)
    throw ModelError(fmt::format("{}: {} bytes, expected {} ({})", p.string(), size, want, why));
}

}  // namespace

ProgramShard::ProgramShard(const std::filesystem::path& dir, std::string name, int features, int configs)
    : dir_(dir), name_(std::move(name)), features_(features), configs_(configs) {
  const auto ep = dir_ / "epochs.u64";
  std::error_code ec;
  const auto size = std::filesystem::file_size(ep, ec);
  if (ec) throw ModelError(ep.string() + ": missing");
  if (size % 8 != 0 || size < 16)
    throw ModelError(fmt::format("{}: {} bytes is not E + 1 >= 2 u64 offsets", ep.string(), size));
  epochs_.resize(size / 8);
  read_at(ep, 0, epochs_.data(), size);
  for (size_t k = 0; k < epochs_.size(); ++k)
    if ((k == 0 && epochs_[0] != 0) || (k > 0 && epochs_[k] < epochs_[k - 1]))
      throw ModelError(ep.string() + ": epoch offsets must start at 0 and not decrease");
  const uint64_t n = epochs_.back();
  const std::string why = fmt::format("{} rows from epochs.u64", n);
  expect_size(dir_ / "features.i32", n * features_ * 4, why + fmt::format(" x {} features x 4", features_));
  expect_size(dir_ / "labels.u32", n * configs_ * 4, why + fmt::format(" x {} configs x 4", configs_));
}

void ProgramShard::read_epoch(size_t k, std::vector<int32_t>& features, std::vector<uint32_t>* labels) const {
  if (k >= epoch_count()) throw ModelError(fmt::format("{}: no epoch {}", name_, k));
  const uint64_t a = epochs_[k], rows = epoch_rows(k);
  features.resize(rows * features_);
  if (rows) read_at(dir_ / "features.i32", a * features_ * 4, features.data(), features.size() * 4);
  if (labels) {
    labels->resize(rows * configs_);
    if (rows) read_at(dir_ / "labels.u32", a * configs_ * 4, labels->data(), labels->size() * 4);
  }
}

Dataset::Dataset(const std::filesystem::path& root) : root_(root) {
  const auto path = root / "manifest.json";
  std::ifstream in(path);
  if (!in) throw ModelError(path.string() + ": cannot read (not a dataset folder?)");
  try {
    manifest_ = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw ModelError(path.string() + ": not valid JSON: " + e.what());
  }
  auto fail = [&](const std::string& what) { return ModelError(path.string() + ": " + what); };
  if (!manifest_.is_object() || manifest_.value("version", 0) != 1)
    throw fail("version is not 1");
  try {
    encoding_ = manifest_.at("encoding").get<std::string>();
    feature_names_ = manifest_.at("feature_names").get<std::vector<std::string>>();
    configs_ = manifest_.at("configs").get<std::vector<std::string>>();
    for (const auto& p : manifest_.at("programs")) {
      p.at("name").get<std::string>();
      p.at("split").get<std::string>();
    }
  } catch (const nlohmann::json::exception& e) {
    throw fail(std::string("malformed: ") + e.what());
  }
  if (configs_.empty()) throw fail("no configs");
}

std::vector<std::string> Dataset::names(const std::string& split) const {
  std::vector<std::string> out;
  for (const auto& p : manifest_.at("programs"))
    if (split.empty() || p.at("split").get<std::string>() == split) out.push_back(p.at("name").get<std::string>());
  return out;
}

ProgramShard Dataset::program(const std::string& name) const {
  for (const auto& n : names())
    if (n == name)
      return ProgramShard(root_ / name, name, static_cast<int>(feature_names_.size()),
                          static_cast<int>(configs_.size()));
  throw ModelError(fmt::format("{}: no program '{}' in the manifest", root_.string(), name));
}

std::vector<int> Dataset::design_columns(const std::vector<std::string>& designs) const {
  std::vector<int> cols;
  std::vector<std::string> missing;
  for (const auto& d : designs) {
    const auto it = std::find(configs_.begin(), configs_.end(), d);
    if (it == configs_.end()) missing.push_back(d);
    else cols.push_back(static_cast<int>(it - configs_.begin()));
  }
  if (!missing.empty())
    throw ModelError(fmt::format("{}: designs {} are not labelled in this dataset (configs: {})",
                                 root_.string(), fmt::join(missing, ", "), fmt::join(configs_, ", ")));
  return cols;
}

}  // namespace ns::model
