#include "ns/uarch/labels.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "ns/trace/format.h"

namespace ns::uarch {

using namespace labels_format;
using trace::format::crc32;

namespace {

uint32_t header_crc(const FileHeader& h) { return crc32(&h, offsetof(FileHeader, header_crc32)); }
uint32_t block_crc(const BlockHeader& b) { return crc32(&b, offsetof(BlockHeader, header_crc32)); }

FileHeader make_header(uint32_t configs) {
  FileHeader h{};
  h.magic = kFileMagic;
  h.version_major = kVersionMajor;
  h.version_minor = kVersionMinor;
  h.header_bytes = sizeof(FileHeader);
  h.configs = configs;
  return h;
}

}  // namespace

LabelWriter::LabelWriter(const std::filesystem::path& path, std::vector<std::string> configs)
    : path_(path), configs_(std::move(configs)) {
  if (configs_.empty() || configs_.size() > kMaxConfigs)
    throw LabelError(fmt::format("{}: a LABELS file holds 1 to {} configurations, not {}",
                                 path_.string(), kMaxConfigs, configs_.size()));
  f_ = std::fopen(path_.c_str(), "wb");
  if (!f_)
    throw LabelError(fmt::format("{}: cannot create: {}", path_.string(), std::strerror(errno)));
  FileHeader h = make_header(static_cast<uint32_t>(configs_.size()));
  h.header_crc32 = header_crc(h);
  write(&h, sizeof h);
}

LabelWriter::~LabelWriter() {
  if (f_) std::fclose(f_);
}

void LabelWriter::write(const void* p, size_t n) {
  if (n && std::fwrite(p, 1, n, f_) != n)
    throw LabelError(fmt::format("{}: write failed: {}", path_.string(), std::strerror(errno)));
  offset_ += n;
}

void LabelWriter::write_epoch(uint32_t epoch, uint64_t rows, std::span<const uint32_t> labels,
                              std::span<const uint8_t> side) {
  const uint64_t n = rows * configs_.size();
  if (!f_) throw LabelError(fmt::format("{}: write after close", path_.string()));
  if (epoch != epochs_.size())
    throw LabelError(fmt::format("{}: epoch {} written out of order", path_.string(), epoch));
  if (labels.size() != n || side.size() != n)
    throw LabelError(fmt::format("{}: epoch {}: {} rows x {} configurations need {} values",
                                 path_.string(), epoch, rows, configs_.size(), n));
  BlockHeader b{};
  b.magic = kBlockMagic;
  b.epoch = epoch;
  b.rows = rows;
  b.configs = static_cast<uint32_t>(configs_.size());
  b.labels_crc32 = crc32(labels.data(), labels.size_bytes());
  b.side_crc32 = crc32(side.data(), side.size_bytes());
  b.header_crc32 = block_crc(b);
  epochs_.push_back({{"index", epoch}, {"offset", offset_}, {"rows", rows}});
  write(&b, sizeof b);
  write(labels.data(), labels.size_bytes());
  write(side.data(), side.size_bytes());
  rows_ += rows;
}

void LabelWriter::close(nlohmann::json metadata) {
  if (!f_) throw LabelError(fmt::format("{}: closed twice", path_.string()));
  if (!metadata.is_object()) metadata = nlohmann::json::object();
  metadata["configs"] = configs_;
  metadata["epochs"] = epochs_;
  const std::string text = metadata.dump();
  if (text.size() > kMaxMetadataBytes)
    throw LabelError(fmt::format("{}: metadata of {} bytes is too large", path_.string(),
                                 text.size()));
  FileHeader h = make_header(static_cast<uint32_t>(configs_.size()));
  h.epochs = static_cast<uint32_t>(epochs_.size());
  h.rows = rows_;
  h.metadata_offset = offset_;
  h.metadata_bytes = static_cast<uint32_t>(text.size());
  h.metadata_crc32 = crc32(text.data(), text.size());
  write(text.data(), text.size());
  h.file_bytes = offset_;
  h.flags = kComplete;
  h.header_crc32 = header_crc(h);
  if (std::fseek(f_, 0, SEEK_SET) != 0 || std::fwrite(&h, 1, sizeof h, f_) != sizeof h ||
      std::fclose(f_) != 0) {
    f_ = nullptr;
    throw LabelError(fmt::format("{}: cannot finish the file: {}", path_.string(),
                                 std::strerror(errno)));
  }
  f_ = nullptr;
}

LabelReader::LabelReader(const std::filesystem::path& path) : path_(path) {
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) fail(fmt::format("cannot open: {}", std::strerror(errno)));
  struct stat st {};
  if (::fstat(fd_, &st) != 0) fail("cannot stat");
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  if (size < sizeof(FileHeader)) fail(fmt::format("{} bytes: too short for a LABELS file", size));
  FileHeader h;
  pread_exact(&h, sizeof h, 0);
  if (h.magic != kFileMagic) fail("not a LABELS file (bad magic)");
  if (h.version_major != kVersionMajor)
    fail(fmt::format("format version {}.{} is not supported (this reader: {}.x)", h.version_major,
                     h.version_minor, kVersionMajor));
  if (h.header_crc32 != header_crc(h)) fail("header checksum mismatch");
  if (h.header_bytes != sizeof(FileHeader)) fail("unexpected header size");
  if (!(h.flags & kComplete)) fail("the file is incomplete (the writer did not finish it)");
  if (h.file_bytes != size)
    fail(fmt::format("size is {} bytes, the header says {} (truncated or appended)", size,
                     h.file_bytes));
  if (h.configs == 0 || h.configs > kMaxConfigs) fail("bad configuration count");
  if (h.metadata_bytes > kMaxMetadataBytes || h.metadata_offset < sizeof(FileHeader) ||
      h.metadata_offset + h.metadata_bytes != size)
    fail("metadata out of bounds");
  std::string text(h.metadata_bytes, '\0');
  pread_exact(text.data(), text.size(), h.metadata_offset);
  if (crc32(text.data(), text.size()) != h.metadata_crc32) fail("metadata checksum mismatch");
  try {
    meta_ = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    fail(fmt::format("metadata is not valid JSON: {}", e.what()));
  }
  try {
    configs_ = meta_.at("configs").get<std::vector<std::string>>();
    for (const auto& e : meta_.at("epochs"))
      epochs_.push_back({e.at("offset").get<uint64_t>(), e.at("rows").get<uint64_t>()});
  } catch (const nlohmann::json::exception& e) {
    fail(fmt::format("metadata lacks configs/epochs: {}", e.what()));
  }
  if (configs_.size() != h.configs) fail("metadata and header disagree on the configurations");
  if (epochs_.size() != h.epochs) fail("metadata and header disagree on the epoch count");
  uint64_t expect = sizeof(FileHeader), rows = 0;
  for (const Epoch& e : epochs_) {
    if (e.offset != expect) fail("epoch blocks are not contiguous");
    const uint64_t payload = e.rows * h.configs * (sizeof(uint32_t) + 1);
    if (e.rows > size || expect + sizeof(BlockHeader) + payload > h.metadata_offset)
      fail("an epoch block runs past the data section");
    expect += sizeof(BlockHeader) + payload;
    rows += e.rows;
  }
  if (expect != h.metadata_offset) fail("bytes between the last epoch and the metadata");
  if (rows != h.rows) fail("row counts disagree");
  rows_ = rows;
}

LabelReader::~LabelReader() {
  if (fd_ >= 0) ::close(fd_);
}

void LabelReader::fail(const std::string& what) const {
  throw LabelError(fmt::format("{}: {}", path_.string(), what));
}

void LabelReader::pread_exact(void* dst, size_t n, uint64_t offset) const {
  auto* p = static_cast<char*>(dst);
  while (n) {
    const ssize_t got = ::pread(fd_, p, n, static_cast<off_t>(offset));
    if (got <= 0) fail(fmt::format("read failed at offset {}", offset));
    p += got;
    n -= static_cast<size_t>(got);
    offset += static_cast<uint64_t>(got);
  }
}

void LabelReader::read_epoch(size_t k, std::vector<uint32_t>& labels,
                             std::vector<uint8_t>& side) const {
  if (k >= epochs_.size())
    fail(fmt::format("epoch {} requested, the file has {}", k, epochs_.size()));
  const Epoch& e = epochs_[k];
  BlockHeader b;
  pread_exact(&b, sizeof b, e.offset);
  if (b.magic != kBlockMagic || b.header_crc32 != block_crc(b))
    fail(fmt::format("corrupt block header of epoch {}", k));
  if (b.epoch != k || b.rows != e.rows || b.configs != configs_.size())
    fail(fmt::format("block of epoch {} disagrees with the metadata", k));
  const size_t n = static_cast<size_t>(e.rows * configs_.size());
  labels.resize(n);
  side.resize(n);
  pread_exact(labels.data(), n * sizeof(uint32_t), e.offset + sizeof b);
  pread_exact(side.data(), n, e.offset + sizeof b + n * sizeof(uint32_t));
  if (crc32(labels.data(), n * sizeof(uint32_t)) != b.labels_crc32)
    fail(fmt::format("label checksum mismatch in epoch {}", k));
  if (crc32(side.data(), n) != b.side_crc32)
    fail(fmt::format("side-metric checksum mismatch in epoch {}", k));
}

}  // namespace ns::uarch
