// The shared-memory channel between the QEMU plugin (producer, inside the traced process) and
// the trace writer (consumer, in the `neuroscalar trace` process). The consumer creates it as a
// memfd, hands the descriptor to QEMU, and the plugin maps it and closes the descriptor at
// install time, so the guest program can neither see nor close it. Records reach the consumer
// even if the guest later dies from a signal.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "ns/trace/record.h"

namespace ns::tracer::ring {

inline constexpr uint64_t kMagic = 0x31474e52534e4eull;  // "NNSRNG1"
inline constexpr uint32_t kVersion = 1;

enum State : uint32_t {
  kStateInit = 0,     // plugin not loaded yet
  kStateRunning = 1,  // plugin installed
  kStateDone = 2,     // the traced program exited normally; all records published
  kStateFailed = 3,   // the plugin gave up; error holds why
};

// One captured record and its dynamic instruction index.
struct Entry {
  uint64_t index;
  trace::Record rec;
};
static_assert(sizeof(Entry) == 48);

struct Header {
  uint64_t magic;
  uint32_t version;
  uint32_t capacity_log2;  // entries = 1 << capacity_log2
  std::atomic<uint32_t> state;
  uint32_t reserved;
  char error[240];
  alignas(64) std::atomic<uint64_t> write;  // entries published by the producer
  alignas(64) std::atomic<uint64_t> read;   // entries consumed
  // Progress, written by the producer: instructions retired by the traced thread so far, and
  // windows (epochs) completed.
  alignas(64) std::atomic<uint64_t> instructions;
  std::atomic<uint64_t> windows_done;
  std::atomic<uint64_t> mode_switches;  // code-cache flushes between counting and capture
};
static_assert(std::atomic<uint64_t>::is_always_lock_free);
static_assert(sizeof(Header) % 64 == 0);

inline size_t bytes(uint32_t capacity_log2) {
  return sizeof(Header) + (size_t(1) << capacity_log2) * sizeof(Entry);
}
inline Entry* entries(Header* h) { return reinterpret_cast<Entry*>(h + 1); }

}  // namespace ns::tracer::ring
