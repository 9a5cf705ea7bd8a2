// On-disk layout of .nstrace files (docs/trace-format.md). Only the writer and the reader use
// these structures directly; everything else goes through Writer/Reader.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "ns/trace/record.h"

namespace ns::trace::format {

inline constexpr std::array<char, 8> kFileMagic = {'N', 'S', 'T', 'R', 'A', 'C', 'E', '\x1a'};
inline constexpr std::array<char, 4> kChunkMagic = {'N', 'S', 'C', 'K'};
inline constexpr std::array<char, 4> kIndexMagic = {'N', 'S', 'I', 'X'};
inline constexpr uint16_t kVersionMajor = 1;  // readers refuse any other major version
inline constexpr uint16_t kVersionMinor = 0;  // readers accept newer minors
inline constexpr uint32_t kMaxChunkRecords = 4096;
inline constexpr uint32_t kMaxMetadataBytes = 1u << 20;

enum class Isa : uint32_t { Unknown = 0, X86_64 = 1 };

enum HeaderFlag : uint32_t {
  kHeaderComplete = 1u << 0,  // set by Writer::close(); a file without it was interrupted
};

// 128 bytes at offset 0.
struct FileHeader {
  std::array<char, 8> magic;
  uint16_t version_major;
  uint16_t version_minor;
  uint32_t header_bytes;  // sizeof(FileHeader)
  uint32_t record_bytes;  // sizeof(Record)
  uint32_t isa;           // Isa
  uint32_t flags;         // HeaderFlag
  uint32_t epoch_count;
  uint64_t total_records;  // including warm-up records
  uint64_t warmup_records;
  // Sampling parameters the tracer ran with (instructions).
  uint64_t skip;          // retired before the first epoch's warm-up
  uint64_t warmup;        // warm-up records before each epoch
  uint64_t epoch_length;  // records per epoch (the last epoch may be shorter if the program ended)
  uint64_t interval;      // distance between epoch starts (0: back to back)
  uint64_t metadata_offset;  // JSON object: program, arguments, tracer, host, time
  uint32_t metadata_bytes;
  uint32_t metadata_crc32;
  uint64_t index_offset;  // epoch index, written at close
  uint32_t index_bytes;
  uint32_t reserved0;
  uint64_t file_bytes;  // total size, written at close
  std::array<uint8_t, 4> reserved;
  uint32_t header_crc32;  // CRC-32 of the 124 bytes before it
};
static_assert(sizeof(FileHeader) == 128);

// 32 bytes before each run of records of one epoch.
struct ChunkHeader {
  std::array<char, 4> magic;
  uint32_t epoch;         // epoch index
  uint32_t count;         // records in this chunk, 1..kMaxChunkRecords
  uint32_t flags;         // kFlagWarmup if the chunk holds warm-up records
  uint64_t first_record;  // index of the chunk's first record in the file
  uint32_t payload_crc32;  // CRC-32 of count * sizeof(Record) bytes
  uint32_t header_crc32;   // CRC-32 of the 28 bytes before it
};
static_assert(sizeof(ChunkHeader) == 32);

// One entry per epoch in the index.
struct EpochEntry {
  uint32_t index;
  uint32_t chunk_count;
  uint64_t first_instruction;  // dynamic instruction count of the first (non-warm-up) record
  uint64_t warmup_records;
  uint64_t records;             // non-warm-up records
  uint64_t first_chunk_offset;  // file offset of the epoch's first chunk header
  std::array<uint8_t, 32> signature;  // SHA-256 over the epoch's PCs (u64 LE, no warm-up)
};
static_assert(sizeof(EpochEntry) == 72);

// Index: magic, u32 count, count EpochEntry, u32 CRC-32 of everything before it in the index.
inline constexpr size_t index_bytes(uint32_t epochs) {
  return 8 + size_t(epochs) * sizeof(EpochEntry) + 4;
}

uint32_t crc32(const void* data, size_t bytes, uint32_t seed = 0);

}  // namespace ns::trace::format
