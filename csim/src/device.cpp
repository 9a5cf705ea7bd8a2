#include "ntr/csim/device.h"

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

namespace ntr::csim {

using ns::runtime::DeviceError;

CsimDevice::CsimDevice(const isa::AccelConfig& cfg, SimOptions options) : machine_(cfg, options) {
  clear_counters();
}

void CsimDevice::load_model(const isa::Program& program, std::span<const uint8_t> gwb_image) {
  const auto gwb = machine_.gwb();
  if (gwb_image.size() > gwb.size())
    throw DeviceError(fmt::format("csim: the weight image has {} bytes; the global weight buffer holds {}",
                                  gwb_image.size(), gwb.size()));
  try {
    machine_.load_program(program);
  } catch (const SimError& e) {
    throw DeviceError(e.what());
  }
  std::copy(gwb_image.begin(), gwb_image.end(), gwb.begin());
  std::fill(gwb.begin() + static_cast<std::ptrdiff_t>(gwb_image.size()), gwb.end(), uint8_t{0});
  clear_counters();
}

void CsimDevice::set_result_ranges(std::span<const ns::runtime::GibRange> ranges) {
  for (const auto& r : ranges)
    if (r.offset + r.bytes > machine_.gib().size())
      throw DeviceError(fmt::format("csim: result range {}..{} lies outside the global input buffer",
                                    r.offset, r.offset + r.bytes));
  results_.assign(ranges.begin(), ranges.end());
}

void CsimDevice::write_inputs(uint64_t gib_offset, std::span<const uint8_t> bytes) {
  const auto gib = machine_.gib();
  if (gib_offset + bytes.size() > gib.size())
    throw DeviceError(fmt::format("csim: input bytes {}..{} lie outside the global input buffer ({} bytes)",
                                  gib_offset, gib_offset + bytes.size(), gib.size()));
  std::copy(bytes.begin(), bytes.end(), gib.begin() + static_cast<std::ptrdiff_t>(gib_offset));
  totals_.host_bytes_in += bytes.size();
}

void CsimDevice::start() {
  if (!machine_.has_program()) throw DeviceError("csim: start without a loaded model");
  if (running_) throw DeviceError("csim: start while a run is in progress");
  running_ = true;
  error_.reset();
  try {
    const Stats& s = machine_.run();
    status_.cycles = s.cycles;
    status_.device_seconds = static_cast<double>(s.cycles) / machine_.config().clock_hz();
    totals_.accumulate(s);
  } catch (const SimError& e) {
    error_ = e.what();
  }
}

ns::runtime::RunStatus CsimDevice::wait() {
  if (!running_) throw DeviceError("csim: wait without a started run");
  running_ = false;
  if (error_) throw DeviceError(*error_);
  return status_;
}

void CsimDevice::read_results(std::span<uint8_t> out) {
  uint64_t need = 0;
  for (const auto& r : results_) need += r.bytes;
  if (out.size() != need)
    throw DeviceError(fmt::format("csim: {} result bytes requested, the result ranges hold {}", out.size(), need));
  const auto gib = machine_.gib();
  size_t at = 0;
  for (const auto& r : results_) {
    std::memcpy(out.data() + at, gib.data() + r.offset, r.bytes);
    at += r.bytes;
  }
  totals_.host_bytes_out += need;
}

nlohmann::json CsimDevice::counters() const { return nlohmann::json::parse(to_json(totals_).dump()); }

void CsimDevice::clear_counters() {
  totals_ = Stats{};
  totals_.tiles = machine_.tiles();
  totals_.lanes = machine_.config().lanes();
  totals_.clock_mhz = static_cast<double>(machine_.config().clock_mhz);
}

}  // namespace ntr::csim
