// csim behind the host driver's device interface (sw/runtime): the direct backend. A run executes
// when start() is called; wait() reports it (or its error).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "ns/runtime/device.h"
#include "ntr/csim/machine.h"

namespace ntr::csim {

class CsimDevice : public ns::runtime::Device {
 public:
  explicit CsimDevice(const isa::AccelConfig& cfg, SimOptions options = {});

  std::string name() const override { return "csim"; }
  const isa::AccelConfig& config() const override { return machine_.config(); }
  void load_model(const isa::Program& program, std::span<const uint8_t> gwb_image) override;
  void set_result_ranges(std::span<const ns::runtime::GibRange> ranges) override;
  void write_inputs(uint64_t gib_offset, std::span<const uint8_t> bytes) override;
  void start() override;
  ns::runtime::RunStatus wait() override;
  void read_results(std::span<uint8_t> out) override;
  nlohmann::json counters() const override;
  void clear_counters() override;

  Machine& machine() { return machine_; }
  // Statistics summed over the runs since load_model() or clear_counters().
  const Stats& totals() const { return totals_; }

 private:
  Machine machine_;
  std::vector<ns::runtime::GibRange> results_;
  bool running_ = false;
  std::optional<std::string> error_;
  ns::runtime::RunStatus status_;
  Stats totals_;
};

}  // namespace ntr::csim
