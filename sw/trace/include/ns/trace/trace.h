// Writer and reader of .nstrace files (docs/trace-format.md).
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ns/trace/format.h"
#include "ns/trace/record.h"

namespace ns::trace {

// Any problem with a trace file: the message names the file and what is wrong.
class TraceError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// What the tracer knows when it starts.
struct TraceMeta {
  format::Isa isa = format::Isa::X86_64;
  std::string program;
  std::vector<std::string> args;
  uint64_t skip = 0;
  uint64_t warmup = 0;
  uint64_t epoch_length = 100000;
  uint64_t interval = 0;
  nlohmann::json extra = nlohmann::json::object();  // tracer name, host, time, ...
};

using Signature = std::array<uint8_t, 32>;
std::string to_hex(const Signature& s);

// SHA-256 over a sequence of PCs, each as 8 little-endian bytes: the epoch signature.
class PcHasher {
 public:
  PcHasher();
  ~PcHasher();
  PcHasher(const PcHasher&) = delete;
  PcHasher& operator=(const PcHasher&) = delete;
  void add(uint64_t pc);
  void add(std::span<const Record> records);  // PCs of the non-warm-up records
  Signature finish();  // also resets for the next epoch

 private:
  void* ctx_;
};

class Writer {
 public:
  Writer(const std::filesystem::path& path, const TraceMeta& meta);
  ~Writer();  // an unclosed writer flushes its data but leaves the header marked incomplete
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  // Starts epoch k = epochs so far. first_instruction is the dynamic instruction count (from
  // program start) of the epoch's first non-warm-up record.
  void begin_epoch(uint64_t first_instruction);
  // Warm-up records (kFlagWarmup) must precede the epoch's other records.
  void append(const Record& r);
  void append(std::span<const Record> rs);
  void end_epoch();
  void close();

  uint64_t records_written() const { return total_records_; }
  uint32_t epochs_written() const { return static_cast<uint32_t>(index_.size()); }

 private:
  void flush_chunk();
  void write_bytes(const void* p, size_t n);
  void flush_file_buffer();

  std::filesystem::path path_;
  int fd_ = -1;
  format::FileHeader header_{};
  std::vector<uint8_t> file_buffer_;
  uint64_t file_offset_ = 0;  // bytes handed to write_bytes so far
  std::vector<Record> chunk_;
  bool chunk_warmup_ = false;
  bool in_epoch_ = false;
  bool body_started_ = false;
  uint64_t total_records_ = 0;
  uint64_t warmup_records_ = 0;
  std::vector<format::EpochEntry> index_;
  PcHasher hasher_;
};

struct EpochInfo {
  uint32_t index = 0;
  uint32_t chunk_count = 0;
  uint64_t first_instruction = 0;
  uint64_t warmup_records = 0;
  uint64_t records = 0;
  uint64_t offset = 0;
  Signature signature{};
};

class Reader {
 public:
  // Validates header, metadata and index against the file; throws TraceError.
  explicit Reader(const std::filesystem::path& path);
  ~Reader();
  Reader(const Reader&) = delete;
  Reader& operator=(const Reader&) = delete;

  const std::filesystem::path& path() const { return path_; }
  const format::FileHeader& header() const { return header_; }
  const nlohmann::json& metadata() const { return metadata_; }
  const std::vector<EpochInfo>& epochs() const { return epochs_; }
  uint64_t total_records() const { return header_.total_records; }

  // Reads epoch k (warm-up records first when include_warmup), checking every chunk's CRC and
  // the epoch signature.
  std::vector<Record> read_epoch(size_t k, bool include_warmup = true) const;
  void read_epoch(size_t k, std::vector<Record>& out, bool include_warmup = true) const;

  // Calls fn for every chunk in file order (checked like read_epoch).
  void for_each_chunk(
      const std::function<void(const EpochInfo&, std::span<const Record>)>& fn) const;

 private:
  [[noreturn]] void fail(const std::string& what) const;
  void pread_exact(void* dst, size_t n, uint64_t offset, const char* what) const;

  std::filesystem::path path_;
  int fd_ = -1;
  uint64_t file_bytes_ = 0;
  format::FileHeader header_{};
  nlohmann::json metadata_;
  std::vector<EpochInfo> epochs_;
};

}  // namespace ns::trace
