// Unit occupancy as a Chrome trace-event JSON file (opens in Perfetto and chrome://tracing): one
// track per unit (dma, mac, ppu) with a slice per datapath instruction from its start to the end
// of its busy cycles, and the MAC's result latency as a second slice. Times are microseconds at
// the configured clock. Attach as the machine's observer; several runs can be laid end to end.
#pragma once

#include <cstdint>
#include <filesystem>
#include <vector>

#include "ntr/csim/machine.h"

namespace ntr::csim {

class Timeline : public Observer {
 public:
  // Keeps at most max_events slices (the rest are counted, not kept).
  explicit Timeline(const isa::AccelConfig& cfg, uint64_t max_events = 2'000'000);
  void on_issue(const Issue& i) override;
  // Later events start this many cycles later (the cycles of the runs before).
  void set_offset(int64_t cycles) { offset_ = cycles; }
  uint64_t events() const { return static_cast<uint64_t>(issues_.size()); }
  uint64_t dropped() const { return dropped_; }
  void write(const std::filesystem::path& path) const;  // throws std::runtime_error on I/O errors

 private:
  struct Slice {
    Issue issue;
    int64_t offset;
  };
  double clock_mhz_;
  uint64_t max_events_;
  int64_t offset_ = 0;
  uint64_t dropped_ = 0;
  std::vector<Slice> issues_;
};

}  // namespace ntr::csim
