#include <fmt/format.h>

#include "ns/tracer/sampling.h"

namespace ns::tracer {

EpochAssembler::EpochAssembler(const SamplingPlan& plan, trace::Writer& writer)
    : plan_(plan), writer_(writer) {
  epoch_begin_ = plan_.epoch_start(0);
  window_end_ = plan_.window_end(0);
  expect_ = plan_.window_start(0);
}

void EpochAssembler::add(uint64_t index, trace::Record r) {
  if (index >= window_end_) {
    finish();
    window_ = plan_.window_at_or_after(index);
    if (window_ >= plan_.windows()) {
      window_end_ = UINT64_MAX;  // every later record is ignored
      epoch_begin_ = UINT64_MAX;
      expect_ = UINT64_MAX;
      return;
    }
    epoch_begin_ = plan_.epoch_start(window_);
    window_end_ = plan_.window_end(window_);
    expect_ = plan_.window_start(window_);
  }
  if (window_ >= plan_.windows() || index < plan_.window_start(window_)) return;
  // Within a window records are contiguous; a record that skips ahead means capture started late.
  if (index != expect_) {
    if (in_epoch_ || index < expect_)
      throw trace::TraceError(fmt::format(
          "tracer: record {} arrived where record {} was expected in epoch {}", index, expect_,
          window_));
    warm_.clear();
  }
  expect_ = index + 1;
  if (index < epoch_begin_) {
    r.flags |= trace::kFlagWarmup;
    warm_.push_back(r);
    return;
  }
  r.flags &= static_cast<uint16_t>(~trace::kFlagWarmup);
  if (!in_epoch_) {
    writer_.begin_epoch(index);
    writer_.append(warm_);
    records_ += warm_.size();
    warm_.clear();
    in_epoch_ = true;
    ++epochs_;
  }
  writer_.append(r);
  ++records_;
}

void EpochAssembler::finish() {
  if (in_epoch_) writer_.end_epoch();
  in_epoch_ = false;
  warm_.clear();
}

}  // namespace ns::tracer
