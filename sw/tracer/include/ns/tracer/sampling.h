// Epoch sampling (docs/trace-format.md, "Epochs and sampling"): which dynamic instructions a
// tracer captures, and how captured records become the epochs of an .nstrace file. The QEMU
// plugin, the ptrace tracer and the trace writer all use the same plan.
#pragma once

#include <cstdint>
#include <vector>

#include "ns/trace/record.h"
#include "ns/trace/trace.h"

namespace ns::tracer {

struct SamplingOptions {
  uint64_t skip = 0;         // instructions before the first epoch's warm-up
  uint64_t warmup = 0;       // warm-up records before each epoch
  uint64_t epoch = 100000;   // records per epoch
  uint64_t epochs = 1;       // number of epochs
  uint64_t interval = 0;     // instructions from one epoch start to the next (0: back to back)
};

// Window k is the span of dynamic instructions captured for epoch k: its warm-up
// [start, start + warmup) followed by the epoch [start + warmup, start + warmup + epoch), with
// start = skip + k * period and period = interval, or warmup + epoch when interval is 0.
class SamplingPlan {
 public:
  // Throws std::invalid_argument naming the offending option.
  explicit SamplingPlan(const SamplingOptions& o);

  const SamplingOptions& options() const { return o_; }
  uint64_t windows() const { return o_.epochs; }
  uint64_t period() const { return period_; }
  uint64_t window_start(uint64_t k) const { return o_.skip + k * period_; }
  uint64_t epoch_start(uint64_t k) const { return window_start(k) + o_.warmup; }
  uint64_t window_end(uint64_t k) const { return epoch_start(k) + o_.epoch; }

  // The first window that has not ended at dynamic instruction d (windows() if none).
  uint64_t window_at_or_after(uint64_t d) const;

  trace::TraceMeta meta() const;  // sampling fields of an .nstrace header

 private:
  SamplingOptions o_;
  uint64_t period_ = 0;
};

// Turns a stream of captured records, each with its dynamic instruction index (increasing,
// contiguous within a window), into the epochs of a trace file. Records outside every window
// are ignored; warm-up flags are set from the plan. An epoch starts at its first non-warm-up
// record: if capture began late, its first_instruction says where it really starts, and a
// window that ends (program exit) before any epoch record is dropped.
class EpochAssembler {
 public:
  EpochAssembler(const SamplingPlan& plan, trace::Writer& writer);

  void add(uint64_t index, trace::Record r);
  // Closes the open epoch. The writer is left open.
  void finish();

  uint32_t epochs() const { return epochs_; }
  uint64_t records() const { return records_; }  // written, including warm-up

 private:
  void flush_warmup();

  const SamplingPlan& plan_;
  trace::Writer& writer_;
  uint64_t window_ = 0;        // current window
  uint64_t epoch_begin_ = 0;   // epoch_start(window_)
  uint64_t window_end_ = 0;    // window_end(window_)
  bool in_epoch_ = false;      // begin_epoch called for window_
  uint64_t expect_ = 0;        // next index expected inside the window
  std::vector<trace::Record> warm_;  // warm-up records held until the epoch's first record
  uint32_t epochs_ = 0;
  uint64_t records_ = 0;
};

}  // namespace ns::tracer
