// The Neutrino device interface: what a host driver can do with an accelerator, whatever sits
// behind it (STYLE.md, "one device interface, many backends"). csim implements it directly
// (ntr::csim::CsimDevice), the SystemC/TLM-2.0 platform through memory-mapped registers and DMA
// (csim/systemc), the Verilated RTL through its testbench. End-to-end tests are written once
// against this interface and run per backend (sw/runtime/tests/device_suite.cpp).
//
// A run's life: load_model() once per model (program + global weight buffer image), then per run
// write_inputs() for every input range, start(), wait(), read_results(). The result ranges are
// fixed per model (set_result_ranges), so a device that pushes results into host memory by DMA
// knows what to copy before it starts.
#pragma once

#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ntr/isa/config.h"
#include "ntr/isa/program.h"

namespace ns::runtime {

// A device refused a request or a run failed: the message names the problem (for a run error the
// stream, program counter, cycle and tile, as csim reports it).
class DeviceError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A range of the global input buffer.
struct GibRange {
  uint64_t offset = 0;
  uint64_t bytes = 0;
};

struct RunStatus {
  uint64_t cycles = 0;       // device cycles of the run (from start to the end of the program)
  double device_seconds = 0; // cycles at the configured clock
};

class Device {
 public:
  virtual ~Device() = default;
  virtual std::string name() const = 0;
  virtual const ntr::isa::AccelConfig& config() const = 0;

  // Loads the program into the instruction memories and `gwb_image` into the global weight
  // buffer from byte 0 (the rest reads as zero). Throws DeviceError for a program that does not
  // decode or fit, or an image larger than the buffer.
  virtual void load_model(const ntr::isa::Program& program, std::span<const uint8_t> gwb_image) = 0;
  // GIB ranges that hold a run's results; read_results() returns them, concatenated.
  virtual void set_result_ranges(std::span<const GibRange> ranges) = 0;
  // Writes bytes into the global input buffer before the next run.
  virtual void write_inputs(uint64_t gib_offset, std::span<const uint8_t> bytes) = 0;
  virtual void start() = 0;
  // Blocks until the run ends; throws DeviceError when it failed.
  virtual RunStatus wait() = 0;
  // The result ranges of the last run, concatenated (sum of their bytes).
  virtual void read_results(std::span<uint8_t> out) = 0;

  // Activity counters summed over the runs since load_model() or clear_counters() (csim: the
  // statistics document of docs/csim.md), or an empty object.
  virtual nlohmann::json counters() const { return nlohmann::json::object(); }
  virtual void clear_counters() {}
};

}  // namespace ns::runtime
