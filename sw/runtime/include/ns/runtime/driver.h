// The host driver: runs epochs of device bytes (docs/int8-spec.md section 3) through a device
// with a compiled bundle loaded, splitting each epoch into the runs the bundle's layout holds.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "ns/runtime/bundle.h"
#include "ns/runtime/device.h"

namespace ns::runtime {

// Which runs of an epoch run_epoch() executes: first, first + step, ... (several drivers, each
// with its own device, can share an epoch's runs between host threads).
struct RunSelect {
  int64_t first = 0;
  int64_t step = 1;
};

struct EpochStats {
  uint64_t instructions = 0;  // predicted instructions
  uint64_t runs = 0;
  uint64_t cycles = 0;        // device cycles over all runs
  double device_seconds = 0;  // at the configured clock
  uint64_t expected_cycles = 0;  // runs x the schedule report's cycles per run
};

class Driver {
 public:
  // Loads the bundle into the device. Throws DeviceError if the bundle was compiled for another
  // accelerator config than the device's.
  Driver(Device& device, const Bundle& bundle);

  // Runs an epoch of n instructions (bytes: n x row_bytes) and writes r (n x designs,
  // instruction-major). The epoch may have any length; each run covers tiles x W windows.
  EpochStats run_epoch(std::span<const int8_t> bytes, size_t n, std::span<int32_t> r, RunSelect select = {});
  // Runs needed for an epoch of n instructions.
  int64_t runs_for(size_t n) const;

  const Bundle& bundle() const { return bundle_; }

 private:
  ntr::compiler::HostLayout layout_for(size_t n) const;
  Device& device_;
  Bundle bundle_;
  std::vector<GibRange> inputs_, results_;
  std::vector<uint8_t> gib_, result_bytes_;
};

}  // namespace ns::runtime
