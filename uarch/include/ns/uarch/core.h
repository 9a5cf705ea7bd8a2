// The reference out-of-order core: a trace-driven timing model that labels every traced
// instruction with its retirement latency on one core design (docs/uarch.md).
//
// Method: instruction-driven timestamps. Each record, in program order, gets its fetch,
// dispatch, issue, completion and commit cycles from resource-availability structures (ring
// buffers of ROB/LQ/SQ/register occupancy, per-cycle issue-port and functional-unit reservation
// tables, register ready times, cache lines with fill times, MSHRs, a DRAM bus calendar), so
// structural limits are exact without stepping every cycle.
#pragma once

#include <cstdint>
#include <memory>
#include <span>

#include <nlohmann/json.hpp>

#include "ns/trace/record.h"
#include "ns/uarch/config.h"

namespace ns::uarch {

// Side metrics per labelled instruction (docs/dataset.md, side.u8).
enum SideBit : uint8_t {
  kSideLevelMask = 0x07,  // data access served by: 0 none, 1 L1D (or store forwarding), 2 L2,
                          // 3 LLC, 4 DRAM
  kSideMispredict = 1u << 3,  // branch resolved as mispredicted at execute
  kSideIcacheMiss = 1u << 4,  // fetching this instruction missed in the L1I
};

struct EpochStats {
  uint64_t instructions = 0;  // labelled (non-warm-up) instructions
  uint64_t cycles = 0;        // sum of their labels
  uint64_t branches = 0, conditional_branches = 0, mispredicts = 0, decode_redirects = 0;
  uint64_t loads = 0, stores = 0, forwarded_loads = 0;
  uint64_t l1d_misses = 0, l2_misses = 0, llc_misses = 0;  // demand data accesses
  uint64_t l1i_misses = 0;
  uint64_t serializing = 0;
  uint64_t prefetches = 0, dram_reads = 0, dram_writes = 0;  // whole epoch incl. warm-up

  double ipc() const { return cycles ? double(instructions) / double(cycles) : 0.0; }
  double per_kilo(uint64_t events) const {
    return instructions ? 1000.0 * double(events) / double(instructions) : 0.0;
  }
  EpochStats& operator+=(const EpochStats& o);
  // cycles, instructions, ipc, branch_mpki, l1d_mpki, l2_mpki, llc_mpki, l1i_mpki and the counts.
  nlohmann::json to_json() const;
};

// Where labels go: row i's label is labels[i * stride], its side bits side[i * stride] (so
// several cores can fill one row-major rows x configs array).
struct LabelSink {
  uint32_t* labels = nullptr;
  uint8_t* side = nullptr;
  size_t stride = 1;
};

class Core {
 public:
  explicit Core(const CoreConfig& config);
  ~Core();
  Core(const Core&) = delete;
  Core& operator=(const Core&) = delete;
  Core(Core&&) noexcept;
  Core& operator=(Core&&) noexcept;

  const CoreConfig& config() const;

  // Simulates one epoch. The pipeline first drains (nothing is in flight, fetch restarts after
  // the last commit); caches, predictors and the prefetcher keep the state earlier epochs left.
  // Warm-up records (kFlagWarmup) run through the whole model but get no label; every other
  // record gets one row in `sink`, which must hold one row per non-warm-up record.
  // The label of a row is its commit cycle minus the previous record's commit cycle (for the
  // first record after the drain: minus the last commit before it).
  EpochStats run_epoch(std::span<const trace::Record> records, LabelSink sink);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ns::uarch
