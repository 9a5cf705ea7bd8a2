// The Verilated RTL behind the host driver's device interface (sw/runtime/include/ns/runtime/
// device.h), so compiled bundles run on it through ns::runtime::Driver exactly as on csim. With
// `check` every run also runs on a csim machine holding the same memories and is compared
// instruction by instruction (cross_check()'s rules: every completion cycle, the run length, the
// error, the busy and contention counters, the result bytes); the first difference fails the run
// with a DeviceError naming it.
#pragma once

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "ns/runtime/device.h"
#include "ntr/csim/machine.h"
#include "ntr/tb/rtl_top.h"
#include "ntr/tb/xcheck.h"

namespace ntr::tb {

class RtlDevice : public ns::runtime::Device {
 public:
  // Throws std::runtime_error when this build has no RTL model of `cfg`.
  explicit RtlDevice(const isa::AccelConfig& cfg, bool check = false);

  std::string name() const override { return check_ ? "rtl+csim" : "rtl"; }
  const isa::AccelConfig& config() const override { return cfg_; }
  void load_model(const isa::Program& program, std::span<const uint8_t> gwb_image) override;
  void set_result_ranges(std::span<const ns::runtime::GibRange> ranges) override;
  void write_inputs(uint64_t gib_offset, std::span<const uint8_t> bytes) override;
  void start() override;
  ns::runtime::RunStatus wait() override;
  void read_results(std::span<uint8_t> out) override;
  // runs, cycles, clocks (host port included), instructions compared, host seconds per side.
  nlohmann::json counters() const override;
  void clear_counters() override;

  // The last run's comparison (csim fields empty without `check`).
  const XcheckResult& last() const { return last_; }
  RtlTop& rtl() { return *rtl_; }

 private:
  isa::AccelConfig cfg_;
  bool check_;
  std::unique_ptr<RtlTop> rtl_;
  std::optional<csim::Machine> csim_;
  bool loaded_ = false, running_ = false;
  std::vector<ns::runtime::GibRange> results_;
  std::vector<uint8_t> result_bytes_;
  XcheckResult last_;
  std::optional<std::string> error_;
  struct Totals {
    uint64_t runs = 0, cycles = 0, clocks = 0, compared = 0;
    double rtl_seconds = 0, csim_seconds = 0;
  } totals_;
};

}  // namespace ntr::tb
