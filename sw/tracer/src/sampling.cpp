#include "ns/tracer/sampling.h"

#include <limits>
#include <stdexcept>

#include <fmt/format.h>

namespace ns::tracer {

namespace {
constexpr uint64_t kMaxEpochs = 1'000'000;
constexpr uint64_t kMaxEpochLength = 1'000'000'000;
}  // namespace

SamplingPlan::SamplingPlan(const SamplingOptions& o) : o_(o) {
  if (o.epoch == 0) throw std::invalid_argument("--epoch must be at least 1 instruction");
  if (o.epoch > kMaxEpochLength)
    throw std::invalid_argument(
        fmt::format("--epoch {} is larger than the limit of {} instructions", o.epoch,
                    kMaxEpochLength));
  if (o.epochs == 0) throw std::invalid_argument("--epochs must be at least 1");
  if (o.epochs > kMaxEpochs)
    throw std::invalid_argument(
        fmt::format("--epochs {} is larger than the limit of {}", o.epochs, kMaxEpochs));
  if (o.warmup > kMaxEpochLength)
    throw std::invalid_argument(
        fmt::format("--warmup {} is larger than the limit of {} instructions", o.warmup,
                    kMaxEpochLength));
  const uint64_t window = o.warmup + o.epoch;
  if (o.interval != 0 && o.interval < window)
    throw std::invalid_argument(fmt::format(
        "--interval {} is shorter than warm-up + epoch = {}: epochs would overlap (use 0 for "
        "back-to-back epochs)",
        o.interval, window));
  period_ = o.interval ? o.interval : window;
  const uint64_t max = std::numeric_limits<uint64_t>::max();
  if (o.skip > max - window || (o.epochs - 1) > (max - window - o.skip) / period_)
    throw std::invalid_argument("--skip, --interval and --epochs reach past 2^64 instructions");
}

uint64_t SamplingPlan::window_at_or_after(uint64_t d) const {
  if (d < o_.skip) return 0;
  uint64_t k = (d - o_.skip) / period_;
  if (k >= o_.epochs) return o_.epochs;
  if (d >= window_end(k)) ++k;
  return k;
}

trace::TraceMeta SamplingPlan::meta() const {
  trace::TraceMeta m;
  m.skip = o_.skip;
  m.warmup = o_.warmup;
  m.epoch_length = o_.epoch;
  m.interval = o_.interval;
  return m;
}

}  // namespace ns::tracer
