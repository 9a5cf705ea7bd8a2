#include "ns/trace/trace.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>
#include <isa-l/crc.h>
#include <openssl/evp.h>

namespace ns::trace {

namespace format {
// CRC-32 with the zlib/IEEE polynomial; ISA-L computes it with carry-less multiplication,
// several times faster than zlib's table method (the writer checksums every record it writes).
uint32_t crc32(const void* data, size_t bytes, uint32_t seed) {
  return crc32_gzip_refl(seed, static_cast<const unsigned char*>(data), bytes);
}
}  // namespace format

using namespace format;

namespace {
constexpr size_t kFileBufferBytes = 1 << 20;

uint32_t header_crc(const FileHeader& h) {
  return crc32(&h, offsetof(FileHeader, header_crc32));
}
uint32_t chunk_header_crc(const ChunkHeader& c) {
  return crc32(&c, offsetof(ChunkHeader, header_crc32));
}
}  // namespace

std::string to_hex(const Signature& s) {
  std::string out;
  out.reserve(64);
  for (uint8_t b : s) out += fmt::format("{:02x}", b);
  return out;
}

// ---------------------------------------------------------------------------------------------
PcHasher::PcHasher() : ctx_(EVP_MD_CTX_new()) {
  if (!ctx_ || EVP_DigestInit_ex(static_cast<EVP_MD_CTX*>(ctx_), EVP_sha256(), nullptr) != 1)
    throw std::runtime_error("OpenSSL SHA-256 initialisation failed");
}
PcHasher::~PcHasher() { EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(ctx_)); }

void PcHasher::add(uint64_t pc) {
  EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(ctx_), &pc, sizeof pc);
}

void PcHasher::add(std::span<const Record> records) {
  uint64_t pcs[256];
  size_t n = 0;
  for (const Record& r : records) {
    if (r.is_warmup()) continue;
    pcs[n++] = r.pc;
    if (n == std::size(pcs)) {
      EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(ctx_), pcs, sizeof pcs);
      n = 0;
    }
  }
  if (n) EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(ctx_), pcs, n * sizeof(uint64_t));
}

Signature PcHasher::finish() {
  Signature s{};
  unsigned int len = 0;
  auto* ctx = static_cast<EVP_MD_CTX*>(ctx_);
  EVP_DigestFinal_ex(ctx, s.data(), &len);
  EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
  return s;
}

// ---------------------------------------------------------------------------------------------
Writer::Writer(const std::filesystem::path& path, const TraceMeta& meta) : path_(path) {
  fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0)
    throw TraceError(fmt::format("{}: cannot create trace file: {}", path.string(),
                                 std::strerror(errno)));
  file_buffer_.reserve(kFileBufferBytes);
  chunk_.reserve(kMaxChunkRecords);

  nlohmann::json m = meta.extra;
  m["program"] = meta.program;
  m["args"] = meta.args;
  const std::string meta_text = m.dump();
  if (meta_text.size() > kMaxMetadataBytes)
    throw TraceError(fmt::format("{}: metadata of {} bytes exceeds the {}-byte limit",
                                 path.string(), meta_text.size(), kMaxMetadataBytes));

  header_.magic = kFileMagic;
  header_.version_major = kVersionMajor;
  header_.version_minor = kVersionMinor;
  header_.header_bytes = sizeof(FileHeader);
  header_.record_bytes = sizeof(Record);
  header_.isa = static_cast<uint32_t>(meta.isa);
  header_.skip = meta.skip;
  header_.warmup = meta.warmup;
  header_.epoch_length = meta.epoch_length;
  header_.interval = meta.interval;
  header_.metadata_offset = sizeof(FileHeader);
  header_.metadata_bytes = static_cast<uint32_t>(meta_text.size());
  header_.metadata_crc32 = crc32(meta_text.data(), meta_text.size());
  header_.header_crc32 = header_crc(header_);  // incomplete until close()
  write_bytes(&header_, sizeof header_);
  write_bytes(meta_text.data(), meta_text.size());
}

Writer::~Writer() {
  if (fd_ < 0) return;
  try {
    if (in_epoch_) flush_chunk();
    flush_file_buffer();
  } catch (...) {
    // A destructor cannot report; the header stays marked incomplete.
  }
  ::close(fd_);
}

void Writer::write_bytes(const void* p, size_t n) {
  const auto* b = static_cast<const uint8_t*>(p);
  if (file_buffer_.size() + n > kFileBufferBytes) flush_file_buffer();
  if (n >= kFileBufferBytes) {
    file_buffer_.insert(file_buffer_.end(), b, b + n);
    flush_file_buffer();
  } else {
    file_buffer_.insert(file_buffer_.end(), b, b + n);
  }
  file_offset_ += n;
}

void Writer::flush_file_buffer() {
  const uint8_t* p = file_buffer_.data();
  size_t left = file_buffer_.size();
  while (left > 0) {
    const ssize_t w = ::write(fd_, p, left);
    if (w < 0) {
      if (errno == EINTR) continue;
      throw TraceError(
          fmt::format("{}: write failed: {}", path_.string(), std::strerror(errno)));
    }
    p += w;
    left -= static_cast<size_t>(w);
  }
  file_buffer_.clear();
}

void Writer::begin_epoch(uint64_t first_instruction) {
  if (fd_ < 0) throw TraceError(path_.string() + ": writer is closed");
  if (in_epoch_) throw TraceError(path_.string() + ": begin_epoch inside an open epoch");
  EpochEntry e{};
  e.index = static_cast<uint32_t>(index_.size());
  e.first_instruction = first_instruction;
  e.first_chunk_offset = file_offset_;
  index_.push_back(e);
  in_epoch_ = true;
  body_started_ = false;
}

void Writer::append(const Record& r) {
  if (!in_epoch_) throw TraceError(path_.string() + ": record appended outside an epoch");
  const bool warm = r.is_warmup();
  if (warm && body_started_)
    throw TraceError(path_.string() + ": warm-up record after the epoch's first record");
  if (!chunk_.empty() && warm != chunk_warmup_) flush_chunk();
  if (chunk_.empty()) chunk_warmup_ = warm;
  chunk_.push_back(r);
  EpochEntry& e = index_.back();
  if (warm) {
    ++e.warmup_records;
    ++warmup_records_;
  } else {
    body_started_ = true;
    ++e.records;
  }
  ++total_records_;
  if (chunk_.size() == kMaxChunkRecords) flush_chunk();
}

void Writer::append(std::span<const Record> rs) {
  for (const Record& r : rs) append(r);
}

void Writer::flush_chunk() {
  if (chunk_.empty()) return;
  ChunkHeader c{};
  c.magic = kChunkMagic;
  c.epoch = index_.back().index;
  c.count = static_cast<uint32_t>(chunk_.size());
  c.flags = chunk_warmup_ ? kFlagWarmup : 0;
  c.first_record = total_records_ - chunk_.size();
  c.payload_crc32 = crc32(chunk_.data(), chunk_.size() * sizeof(Record));
  if (!chunk_warmup_) hasher_.add(chunk_);  // one digest update per chunk, not per record
  c.header_crc32 = chunk_header_crc(c);
  write_bytes(&c, sizeof c);
  write_bytes(chunk_.data(), chunk_.size() * sizeof(Record));
  ++index_.back().chunk_count;
  chunk_.clear();
}

void Writer::end_epoch() {
  if (!in_epoch_) throw TraceError(path_.string() + ": end_epoch without begin_epoch");
  flush_chunk();
  index_.back().signature = hasher_.finish();
  in_epoch_ = false;
}

void Writer::close() {
  if (fd_ < 0) return;
  if (in_epoch_) end_epoch();
  std::vector<uint8_t> idx(index_bytes(static_cast<uint32_t>(index_.size())));
  std::memcpy(idx.data(), kIndexMagic.data(), 4);
  const auto n = static_cast<uint32_t>(index_.size());
  std::memcpy(idx.data() + 4, &n, 4);
  std::memcpy(idx.data() + 8, index_.data(), index_.size() * sizeof(EpochEntry));
  const uint32_t icrc = crc32(idx.data(), idx.size() - 4);
  std::memcpy(idx.data() + idx.size() - 4, &icrc, 4);

  header_.index_offset = file_offset_;
  header_.index_bytes = static_cast<uint32_t>(idx.size());
  write_bytes(idx.data(), idx.size());
  flush_file_buffer();

  header_.flags |= kHeaderComplete;
  header_.epoch_count = n;
  header_.total_records = total_records_;
  header_.warmup_records = warmup_records_;
  header_.file_bytes = file_offset_;
  header_.header_crc32 = header_crc(header_);
  if (::pwrite(fd_, &header_, sizeof header_, 0) != static_cast<ssize_t>(sizeof header_) ||
      ::fsync(fd_) != 0) {
    const std::string err = std::strerror(errno);
    ::close(fd_);
    fd_ = -1;
    throw TraceError(fmt::format("{}: finishing the header failed: {}", path_.string(), err));
  }
  ::close(fd_);
  fd_ = -1;
}

// ---------------------------------------------------------------------------------------------
Reader::Reader(const std::filesystem::path& path) : path_(path) {
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) fail(fmt::format("cannot open: {}", std::strerror(errno)));
  struct stat st {};
  if (::fstat(fd_, &st) != 0) fail("cannot stat");
  if (!S_ISREG(st.st_mode)) fail("not a regular file");
  file_bytes_ = static_cast<uint64_t>(st.st_size);

  if (file_bytes_ < sizeof(FileHeader))
    fail(fmt::format("truncated: {} bytes, shorter than the {}-byte header", file_bytes_,
                     sizeof(FileHeader)));
  pread_exact(&header_, sizeof header_, 0, "header");
  if (header_.magic != kFileMagic) fail("not an .nstrace file (bad magic)");
  if (header_.version_major != kVersionMajor)
    fail(fmt::format("unsupported format version {}.{} (this reader reads {}.x)",
                     header_.version_major, header_.version_minor, kVersionMajor));
  if (header_crc(header_) != header_.header_crc32) fail("header checksum mismatch (corrupt)");
  if (header_.header_bytes != sizeof(FileHeader) || header_.record_bytes != sizeof(Record))
    fail(fmt::format("unexpected header/record size {}/{}", header_.header_bytes,
                     header_.record_bytes));
  if (!(header_.flags & kHeaderComplete))
    fail("incomplete trace: the writer was interrupted before closing the file");
  if (header_.file_bytes != file_bytes_)
    fail(fmt::format("file is {} bytes but its header says {} (truncated or appended to)",
                     file_bytes_, header_.file_bytes));

  if (header_.metadata_bytes > kMaxMetadataBytes ||
      header_.metadata_offset + header_.metadata_bytes > file_bytes_)
    fail("metadata section out of bounds");
  std::string meta(header_.metadata_bytes, '\0');
  pread_exact(meta.data(), meta.size(), header_.metadata_offset, "metadata");
  if (crc32(meta.data(), meta.size()) != header_.metadata_crc32)
    fail("metadata checksum mismatch (corrupt)");
  metadata_ = nlohmann::json::parse(meta, nullptr, /*allow_exceptions=*/false);
  if (!metadata_.is_object()) fail("metadata is not a JSON object");

  const uint64_t expect_index = index_bytes(header_.epoch_count);
  if (header_.index_bytes != expect_index || header_.index_offset + expect_index != file_bytes_)
    fail("epoch index out of bounds");
  std::vector<uint8_t> idx(expect_index);
  pread_exact(idx.data(), idx.size(), header_.index_offset, "epoch index");
  uint32_t count = 0, icrc = 0;
  std::memcpy(&count, idx.data() + 4, 4);
  std::memcpy(&icrc, idx.data() + idx.size() - 4, 4);
  if (std::memcmp(idx.data(), kIndexMagic.data(), 4) != 0 || count != header_.epoch_count)
    fail("epoch index is damaged");
  if (crc32(idx.data(), idx.size() - 4) != icrc) fail("epoch index checksum mismatch (corrupt)");

  uint64_t records = 0, warm = 0;
  const uint64_t data_begin = header_.metadata_offset + header_.metadata_bytes;
  for (uint32_t i = 0; i < count; ++i) {
    EpochEntry e;
    std::memcpy(&e, idx.data() + 8 + i * sizeof(EpochEntry), sizeof e);
    if (e.index != i) fail(fmt::format("epoch index entry {} is numbered {}", i, e.index));
    if (e.first_chunk_offset < data_begin || e.first_chunk_offset > header_.index_offset)
      fail(fmt::format("epoch {} starts outside the data section", i));
    const uint64_t max_chunks = (e.records + e.warmup_records + kMaxChunkRecords - 1) /
                                    kMaxChunkRecords + 2;
    if (e.chunk_count > max_chunks) fail(fmt::format("epoch {} has an implausible chunk count", i));
    EpochInfo info;
    info.index = e.index;
    info.chunk_count = e.chunk_count;
    info.first_instruction = e.first_instruction;
    info.warmup_records = e.warmup_records;
    info.records = e.records;
    info.offset = e.first_chunk_offset;
    info.signature = e.signature;
    epochs_.push_back(info);
    records += e.records + e.warmup_records;
    warm += e.warmup_records;
  }
  if (records != header_.total_records || warm != header_.warmup_records)
    fail("record counts in the header and the epoch index disagree");
}

Reader::~Reader() {
  if (fd_ >= 0) ::close(fd_);
}

void Reader::fail(const std::string& what) const {
  throw TraceError(fmt::format("{}: {}", path_.string(), what));
}

void Reader::pread_exact(void* dst, size_t n, uint64_t offset, const char* what) const {
  auto* p = static_cast<uint8_t*>(dst);
  while (n > 0) {
    const ssize_t r = ::pread(fd_, p, n, static_cast<off_t>(offset));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) fail(fmt::format("truncated while reading the {} at offset {}", what, offset));
    p += r;
    n -= static_cast<size_t>(r);
    offset += static_cast<uint64_t>(r);
  }
}

void Reader::read_epoch(size_t k, std::vector<Record>& out, bool include_warmup) const {
  if (k >= epochs_.size())
    fail(fmt::format("epoch {} requested, the trace has {}", k, epochs_.size()));
  const EpochInfo& e = epochs_[k];
  out.clear();
  out.reserve(e.records + (include_warmup ? e.warmup_records : 0));
  uint64_t offset = e.offset, warm = 0, body = 0;
  std::vector<Record> buf;
  PcHasher hasher;
  for (uint32_t c = 0; c < e.chunk_count; ++c) {
    ChunkHeader ch;
    if (offset + sizeof ch > header_.index_offset)
      fail(fmt::format("epoch {} chunk {} runs past the data section", k, c));
    pread_exact(&ch, sizeof ch, offset, "chunk header");
    if (ch.magic != kChunkMagic || chunk_header_crc(ch) != ch.header_crc32)
      fail(fmt::format("corrupt chunk header at offset {} (epoch {})", offset, k));
    if (ch.epoch != k || ch.count == 0 || ch.count > kMaxChunkRecords)
      fail(fmt::format("chunk at offset {} does not belong to epoch {}", offset, k));
    const uint64_t bytes = uint64_t(ch.count) * sizeof(Record);
    if (offset + sizeof ch + bytes > header_.index_offset)
      fail(fmt::format("chunk at offset {} runs past the data section", offset));
    buf.resize(ch.count);
    pread_exact(buf.data(), bytes, offset + sizeof ch, "records");
    if (crc32(buf.data(), bytes) != ch.payload_crc32)
      fail(fmt::format("record checksum mismatch in the chunk at offset {} (epoch {})", offset,
                       k));
    const bool warm_chunk = (ch.flags & kFlagWarmup) != 0;
    for (const Record& r : buf) {
      if (r.is_warmup() != warm_chunk)
        fail(fmt::format("record warm-up flag disagrees with its chunk at offset {}", offset));
      const std::string_view bad = validate_record(r);
      if (!bad.empty()) fail(fmt::format("invalid record in epoch {}: {}", k, bad));
    }
    if (warm_chunk) {
      if (body) fail(fmt::format("epoch {}: warm-up records after the epoch body", k));
      warm += ch.count;
    } else {
      body += ch.count;
      hasher.add(buf);
    }
    if (include_warmup || !warm_chunk) out.insert(out.end(), buf.begin(), buf.end());
    offset += sizeof ch + bytes;
  }
  if (warm != e.warmup_records || body != e.records)
    fail(fmt::format("epoch {}: chunks hold {}+{} records, the index says {}+{}", k, warm, body,
                     e.warmup_records, e.records));
  if (hasher.finish() != e.signature)
    fail(fmt::format("epoch {}: PC signature does not match its records", k));
}

std::vector<Record> Reader::read_epoch(size_t k, bool include_warmup) const {
  std::vector<Record> out;
  read_epoch(k, out, include_warmup);
  return out;
}

void Reader::for_each_chunk(
    const std::function<void(const EpochInfo&, std::span<const Record>)>& fn) const {
  std::vector<Record> recs;
  for (size_t k = 0; k < epochs_.size(); ++k) {
    read_epoch(k, recs, true);
    for (size_t i = 0; i < recs.size(); i += kMaxChunkRecords)
      fn(epochs_[k],
         std::span<const Record>(recs).subspan(i, std::min<size_t>(kMaxChunkRecords,
                                                                   recs.size() - i)));
  }
}

}  // namespace ns::trace
