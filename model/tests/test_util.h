// Helpers shared by the model tests.
#pragma once

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "ns/model/config.h"

namespace ns::model::test {

inline std::filesystem::path source_dir() {
  const char* s = std::getenv("NS_SOURCE_DIR");
  return s ? std::filesystem::path(s) : std::filesystem::current_path();
}

inline ModelConfig variant(const std::string& name) {
  return load_model_config(source_dir() / "configs/model" / (name + ".yaml"));
}

// A small model with every feature of the real ones (2 layers, heads, several designs), so
// tests run in milliseconds even under sanitizers.
inline ModelConfig tiny_config(int directions = 2, bool tied = true, int hidden = 8) {
  ModelConfig c = variant("paper-bi-tied");
  c.variant = "tiny";
  c.arch.input_proj = 16;
  c.arch.hidden = hidden;
  c.arch.directions = directions;
  c.arch.tied = tied;
  c.arch.head_hidden = 6;
  c.window_length = 14;
  c.window_target = 4;
  c.clip = 60;
  c.designs = {"a", "b", "c"};
  return c;
}

// A fresh directory removed at scope exit.
class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    path_ = std::filesystem::temp_directory_path() /
            ("ns_model_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& s) const { return path_ / s; }

 private:
  std::filesystem::path path_;
};

inline void write_file(const std::filesystem::path& p, const std::string& text) {
  std::ofstream(p, std::ios::binary) << text;
}

}  // namespace ns::model::test
