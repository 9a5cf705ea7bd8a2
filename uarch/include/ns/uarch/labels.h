// The LABELS file written by `neuroscalar label` (docs/uarch.md, "The LABELS file"): for each
// epoch of a trace, one row per labelled instruction and one column per core design, the
// retirement latency (u32 cycles) and the side bits (u8, SideBit).
#pragma once

#include <array>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace ns::uarch {

// Any problem with a LABELS file: the message names the file and what is wrong.
class LabelError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

namespace labels_format {

inline constexpr std::array<char, 8> kFileMagic = {'N', 'S', 'L', 'A', 'B', 'E', 'L', '\x1a'};
inline constexpr std::array<char, 4> kBlockMagic = {'N', 'S', 'L', 'B'};
inline constexpr uint16_t kVersionMajor = 1;  // readers refuse another major version
inline constexpr uint16_t kVersionMinor = 0;
inline constexpr uint32_t kMaxConfigs = 64;
inline constexpr uint32_t kMaxMetadataBytes = 64u << 20;
enum HeaderFlag : uint32_t { kComplete = 1u << 0 };

// 64 bytes at offset 0, little-endian.
struct FileHeader {
  std::array<char, 8> magic;
  uint16_t version_major;
  uint16_t version_minor;
  uint32_t header_bytes;  // 64
  uint32_t configs;       // C: columns of every block
  uint32_t epochs;        // E: blocks
  uint64_t rows;          // labelled instructions over all epochs
  uint64_t metadata_offset;
  uint32_t metadata_bytes;
  uint32_t metadata_crc32;
  uint64_t file_bytes;
  uint32_t flags;         // kComplete once the writer closed the file
  uint32_t header_crc32;  // CRC-32 of the 60 bytes before it
};
static_assert(sizeof(FileHeader) == 64);

// 32 bytes before each epoch's rows; followed by u32 labels[rows][C] then u8 side[rows][C].
struct BlockHeader {
  std::array<char, 4> magic;
  uint32_t epoch;
  uint64_t rows;
  uint32_t configs;
  uint32_t labels_crc32;
  uint32_t side_crc32;
  uint32_t header_crc32;  // CRC-32 of the 28 bytes before it
};
static_assert(sizeof(BlockHeader) == 32);

}  // namespace labels_format

class LabelWriter {
 public:
  // Creates (truncates) the file; `configs` name the columns.
  LabelWriter(const std::filesystem::path& path, std::vector<std::string> configs);
  ~LabelWriter();  // an unclosed file stays marked incomplete (readers refuse it)
  LabelWriter(const LabelWriter&) = delete;
  LabelWriter& operator=(const LabelWriter&) = delete;

  // Epochs are written in order 0, 1, ...; labels and side hold rows x configs values.
  void write_epoch(uint32_t epoch, uint64_t rows, std::span<const uint32_t> labels,
                   std::span<const uint8_t> side);
  // Writes the metadata (the caller's object plus "configs" and "epochs": [{index, offset,
  // rows}]) and completes the header.
  void close(nlohmann::json metadata);

 private:
  void write(const void* p, size_t n);
  std::filesystem::path path_;
  std::FILE* f_ = nullptr;
  std::vector<std::string> configs_;
  nlohmann::json epochs_ = nlohmann::json::array();
  uint64_t offset_ = 0, rows_ = 0;
};

class LabelReader {
 public:
  // Validates header, metadata and block bounds; throws LabelError.
  explicit LabelReader(const std::filesystem::path& path);
  ~LabelReader();
  LabelReader(const LabelReader&) = delete;
  LabelReader& operator=(const LabelReader&) = delete;

  const nlohmann::json& metadata() const { return meta_; }
  const std::vector<std::string>& configs() const { return configs_; }
  size_t epoch_count() const { return epochs_.size(); }
  uint64_t rows() const { return rows_; }
  uint64_t epoch_rows(size_t k) const { return epochs_.at(k).rows; }

  // Reads epoch k (checking its block header and both checksums) as rows x configs values.
  void read_epoch(size_t k, std::vector<uint32_t>& labels, std::vector<uint8_t>& side) const;

 private:
  [[noreturn]] void fail(const std::string& what) const;
  void pread_exact(void* dst, size_t n, uint64_t offset) const;
  struct Epoch {
    uint64_t offset = 0, rows = 0;
  };
  std::filesystem::path path_;
  int fd_ = -1;
  nlohmann::json meta_;
  std::vector<std::string> configs_;
  std::vector<Epoch> epochs_;
  uint64_t rows_ = 0;
};

}  // namespace ns::uarch
