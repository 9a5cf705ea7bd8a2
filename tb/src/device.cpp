#include "ntr/tb/device.h"

#include <cstring>

#include <fmt/format.h>

#include "ntr/csim/error.h"
#include "xcheck_detail.h"

namespace ntr::tb {

using ns::runtime::DeviceError;

RtlDevice::RtlDevice(const isa::AccelConfig& cfg, bool check) : cfg_(cfg), check_(check), rtl_(RtlTop::create(cfg)) {
  if (check_) csim_.emplace(cfg_);
}

void RtlDevice::load_model(const isa::Program& program, std::span<const uint8_t> gwb_image) {
  if (gwb_image.size() > static_cast<size_t>(cfg_.gwb_bytes))
    throw DeviceError(fmt::format("rtl: the weight image has {} bytes; the global weight buffer holds {}",
                                  gwb_image.size(), cfg_.gwb_bytes));
  for (int s = 0; s < isa::kStreams; ++s)
    if (static_cast<int64_t>(program.stream(static_cast<isa::Stream>(s)).size()) > cfg_.imem_words)
      throw DeviceError(fmt::format("rtl: the {} stream has {} words; the instruction memory holds {}",
                                    isa::stream_name(static_cast<isa::Stream>(s)),
                                    program.stream(static_cast<isa::Stream>(s)).size(), cfg_.imem_words));
  if (csim_) {
    try {
      csim_->load_program(program);
    } catch (const csim::SimError& e) {
      throw DeviceError(e.what());
    }
    std::fill(csim_->gwb().begin(), csim_->gwb().end(), uint8_t{0});
    std::copy(gwb_image.begin(), gwb_image.end(), csim_->gwb().begin());
    std::fill(csim_->gib().begin(), csim_->gib().end(), uint8_t{0});
  }
  // Both global buffers are written whole: the RTL's memories hold whatever a previous model left.
  rtl_->reset();
  std::vector<uint8_t> image(static_cast<size_t>(cfg_.gwb_bytes), 0);
  std::copy(gwb_image.begin(), gwb_image.end(), image.begin());
  rtl_->write_gwb(0, image);
  image.assign(static_cast<size_t>(cfg_.gib_bytes), 0);
  rtl_->write_gib(0, image);
  rtl_->load_program(program);
  loaded_ = true;
  clear_counters();
}

void RtlDevice::set_result_ranges(std::span<const ns::runtime::GibRange> ranges) {
  for (const auto& r : ranges)
    if (r.offset + r.bytes > static_cast<uint64_t>(cfg_.gib_bytes))
      throw DeviceError(fmt::format("rtl: result range {}..{} lies outside the global input buffer", r.offset,
                                    r.offset + r.bytes));
  results_.assign(ranges.begin(), ranges.end());
}

void RtlDevice::write_inputs(uint64_t gib_offset, std::span<const uint8_t> bytes) {
  if (gib_offset + bytes.size() > static_cast<uint64_t>(cfg_.gib_bytes))
    throw DeviceError(fmt::format("rtl: input bytes {}..{} lie outside the global input buffer ({} bytes)", gib_offset,
                                  gib_offset + bytes.size(), cfg_.gib_bytes));
  rtl_->write_gib(gib_offset, bytes);
  if (csim_) std::copy(bytes.begin(), bytes.end(), csim_->gib().begin() + static_cast<std::ptrdiff_t>(gib_offset));
}

void RtlDevice::start() {
  if (!loaded_) throw DeviceError("rtl: start without a loaded model");
  if (running_) throw DeviceError("rtl: start while a run is in progress");
  running_ = true;
  error_.reset();
  last_ = XcheckResult{};
  detail::CsimRecorder rec;
  if (csim_) detail::run_csim(*csim_, rec, last_);
  detail::run_rtl(rtl_.get(), csim_ ? &rec : nullptr, last_, 0);
  result_bytes_.clear();
  for (const auto& r : results_) {
    const auto b = rtl_->read_gib(r.offset, r.bytes);
    if (csim_ && last_.ok) {
      const std::span<const uint8_t> want(csim_->gib().data() + r.offset, r.bytes);
      if (auto d = detail::first_difference(fmt::format("result range at GIB {}", r.offset).c_str(), want, b); !d.empty()) {
        last_.ok = false;
        last_.mismatch = d;
      }
    }
    result_bytes_.insert(result_bytes_.end(), b.begin(), b.end());
  }
  ++totals_.runs;
  totals_.cycles += last_.rtl.cycles;
  totals_.clocks += last_.rtl.clocks;
  totals_.compared += last_.completions;
  totals_.rtl_seconds += last_.rtl_seconds;
  totals_.csim_seconds += last_.csim_seconds;
  if (!last_.rtl.ok)
    error_ = fmt::format("rtl: the run stopped with error kind {} (stream {}, pc {}, tile {}, cycle {})", last_.rtl.err_kind,
                         static_cast<int32_t>(last_.rtl.err_stream), static_cast<int32_t>(last_.rtl.err_pc),
                         static_cast<int32_t>(last_.rtl.err_tile), last_.rtl.err_cycle);
  if (csim_ && !last_.ok) error_ = "rtl: RTL and csim differ: " + last_.mismatch;
}

ns::runtime::RunStatus RtlDevice::wait() {
  if (!running_) throw DeviceError("rtl: wait without a started run");
  running_ = false;
  if (error_) throw DeviceError(*error_);
  return {last_.rtl.cycles, static_cast<double>(last_.rtl.cycles) / cfg_.clock_hz()};
}

void RtlDevice::read_results(std::span<uint8_t> out) {
  if (out.size() != result_bytes_.size())
    throw DeviceError(fmt::format("rtl: {} result bytes requested, the result ranges hold {}", out.size(), result_bytes_.size()));
  std::memcpy(out.data(), result_bytes_.data(), out.size());
}

nlohmann::json RtlDevice::counters() const {
  return {{"runs", totals_.runs},
          {"cycles", totals_.cycles},
          {"clocks", totals_.clocks},
          {"instructions_compared", totals_.compared},
          {"rtl_seconds", totals_.rtl_seconds},
          {"csim_seconds", totals_.csim_seconds}};
}

void RtlDevice::clear_counters() { totals_ = Totals{}; }

}  // namespace ntr::tb
