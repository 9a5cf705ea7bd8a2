// Training shards (docs/dataset.md): manifest.json plus per program features.i32 (N x F),
// labels.u32 (N x C), side.u8 (N x C) and epochs.u64 (E + 1 offsets). Read an epoch at a time;
// every size is checked against the manifest and epochs.u64, errors name the file.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace ns::model {

class ProgramShard {
 public:
  ProgramShard(const std::filesystem::path& dir, std::string name, int features, int configs);
  const std::string& name() const { return name_; }
  size_t rows() const { return epochs_.empty() ? 0 : epochs_.back(); }
  size_t epoch_count() const { return epochs_.size() - 1; }
  size_t epoch_rows(size_t k) const { return epochs_.at(k + 1) - epochs_.at(k); }
  // Epoch k's features (rows x F) and, if wanted, labels (rows x C).
  void read_epoch(size_t k, std::vector<int32_t>& features, std::vector<uint32_t>* labels) const;

 private:
  std::filesystem::path dir_;
  std::string name_;
  int features_, configs_;
  std::vector<uint64_t> epochs_;
};

class Dataset {
 public:
  explicit Dataset(const std::filesystem::path& root);
  const std::filesystem::path& root() const { return root_; }
  const std::string& encoding() const { return encoding_; }
  const std::vector<std::string>& feature_names() const { return feature_names_; }
  const std::vector<std::string>& configs() const { return configs_; }
  const nlohmann::json& manifest() const { return manifest_; }
  // Program names in manifest order, of one split ("" for all).
  std::vector<std::string> names(const std::string& split = "") const;
  ProgramShard program(const std::string& name) const;
  // Label column of each design; throws naming the designs the dataset lacks.
  std::vector<int> design_columns(const std::vector<std::string>& designs) const;

 private:
  std::filesystem::path root_;
  nlohmann::json manifest_;
  std::string encoding_;
  std::vector<std::string> feature_names_, configs_;
};

}  // namespace ns::model
