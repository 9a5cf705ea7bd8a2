// Labels every epoch of a trace on several core designs in one pass over the trace, on several
// threads: each design is one Core that sees the epochs in order (its caches and predictors
// carry from one epoch to the next); designs run concurrently, and a design may run ahead of
// the others by a few epochs, so the threads stay busy whatever the number of designs.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "ns/trace/trace.h"
#include "ns/uarch/config.h"
#include "ns/uarch/core.h"

namespace ns::uarch {

// One labelled epoch, handed to the caller in epoch order.
struct EpochLabels {
  const trace::EpochInfo* info = nullptr;
  std::span<const trace::Record> records;  // the epoch's warm-up records, then its others
  size_t warmup = 0;                       // warm-up records at the front of `records`
  size_t rows = 0;                         // labelled records: records.size() - warmup
  std::span<const uint32_t> labels;        // rows x configs, row-major
  std::span<const uint8_t> side;           // rows x configs, SideBit
  std::span<const EpochStats> stats;       // one per configuration
};

class Labeler {
 public:
  // threads: 0 = one per hardware thread.
  Labeler(std::vector<CoreConfig> configs, unsigned threads);

  const std::vector<CoreConfig>& configs() const { return configs_; }

  // Labels epochs 0 .. min(max_epochs, epoch count) - 1 of the trace. on_epoch runs once per
  // epoch, in epoch order, never concurrently with itself. Errors (a corrupt trace, an exception
  // from on_epoch) stop the run and are rethrown here.
  void run(const trace::Reader& reader, size_t max_epochs,
           const std::function<void(const EpochLabels&)>& on_epoch);

  // Per-configuration totals over every epoch of the last run.
  const std::vector<EpochStats>& totals() const { return totals_; }

 private:
  std::vector<CoreConfig> configs_;
  unsigned threads_;
  std::vector<EpochStats> totals_;
};

}  // namespace ns::uarch
