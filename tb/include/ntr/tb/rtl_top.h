// A Verilated Neutrino top (rtl/ntr_top.sv) for one accelerator config, behind a small C++
// interface: the clock, the host port (docs/rtl.md, "Host interface"), the CSRs and the retire
// port of the lockstep cross-check. One model is built per shipped config (tiny, tiny-2t,
// neutrino-1t, neutrino-8t); create() picks it by the config's name and checks that every
// parameter agrees.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "ntr/isa/config.h"
#include "ntr/isa/program.h"

namespace ntr::tb {

// Host address map and CSR offsets: the twins of rtl/ntr_pkg.sv (a test reads them back).
namespace host {
inline constexpr uint32_t kCsrBase = 0x0000'0000;
inline constexpr uint32_t kImemBase = 0x0100'0000;
inline constexpr uint32_t kImemStride = 0x0010'0000;
inline constexpr uint32_t kGwbBase = 0x0400'0000;
inline constexpr uint32_t kGibBase = 0x0800'0000;
}  // namespace host

namespace csr {
inline constexpr uint32_t kId = 0x000, kVersion = 0x004, kCtrl = 0x008, kStatus = 0x00C,
                          kIrqEnable = 0x010, kCfgTiles = 0x014, kCfgLanes = 0x018, kCfgClock = 0x01C,
                          kCyclesLo = 0x020, kCyclesHi = 0x024, kRuns = 0x028, kErrKind = 0x030,
                          kErrStream = 0x034, kErrPc = 0x038, kErrTile = 0x03C, kErrCycleLo = 0x040,
                          kErrCycleHi = 0x044, kErrInfo = 0x048, kBusyDma = 0x050, kBusyMac = 0x054,
                          kBusyPpu = 0x058, kContention = 0x05C, kMvmRows = 0x060;
inline constexpr uint32_t kIdValue = 0x4E54524E;
inline constexpr uint32_t kStatusBusy = 1u << 0, kStatusDone = 1u << 1, kStatusError = 1u << 2,
                          kStatusHostErr = 1u << 3;
}  // namespace csr

// What the retire port showed in one run cycle (ntr_pkg::retire_t).
struct RetireCycle {
  uint64_t cycle = 0;
  uint8_t exec = 0, issue = 0, done = 0;  // bit s: stream s
  uint16_t pc[3] = {0, 0, 0};
  uint16_t done_pc[3] = {0, 0, 0};
};

// The outcome of a run, from the CSRs.
struct RunResult {
  bool ok = false;
  uint64_t cycles = 0;
  uint32_t err_kind = 0;      // 0 none, else 1 + ntr::csim::ErrorKind
  uint32_t err_stream = ~0u;  // ~0: none
  uint32_t err_pc = ~0u;
  uint32_t err_tile = ~0u;
  uint64_t err_cycle = 0;
  uint32_t err_info = 0;
  uint32_t busy[3] = {0, 0, 0};
  uint32_t contention = 0;
  uint32_t mvm_rows = 0;
  uint64_t clocks = 0;        // clock cycles the host spent in the run (memory clear included)
};

class RtlTop {
 public:
  virtual ~RtlTop() = default;
  // The model for `cfg` (by name, every parameter checked); throws std::runtime_error when no
  // model of that config is built.
  static std::unique_ptr<RtlTop> create(const isa::AccelConfig& cfg);
  // Names of the configs with a model.
  static std::vector<std::string> models();

  const isa::AccelConfig& config() const { return cfg_; }

  // One clock cycle. Inputs set before it are sampled at its rising edge.
  virtual void tick() = 0;
  uint64_t clocks() const { return clocks_; }
  void reset();

  // Host port: one 64-bit access per cycle.
  void write64(uint32_t addr, uint64_t data, uint8_t be = 0xff);
  uint64_t read64(uint32_t addr);
  uint32_t read_csr(uint32_t off);
  void write_csr(uint32_t off, uint32_t v);
  // Byte ranges of the global buffers (offsets inside the buffer) and the instruction memories.
  void write_gwb(uint64_t offset, std::span<const uint8_t> bytes);
  void write_gib(uint64_t offset, std::span<const uint8_t> bytes);
  std::vector<uint8_t> read_gib(uint64_t offset, size_t n);
  std::vector<uint8_t> read_gwb(uint64_t offset, size_t n);
  void load_program(const isa::Program& p);

  // Starts a run; then step() advances one clock and returns false once the run has ended.
  // retire() is the retire port of the cycle step() is about to clock.
  void start();
  bool step();
  bool running() const { return running_; }
  const RetireCycle& retire() const { return retire_; }
  // Runs to the end (at most max_clocks clocks, 0: no limit) and reads the outcome.
  RunResult run(uint64_t max_clocks = 0);
  RunResult result();

 protected:
  explicit RtlTop(const isa::AccelConfig& cfg) : cfg_(cfg) {}
  // Port access of the concrete model.
  struct Ports {
    bool rst_n = false;
    bool req = false, we = false;
    uint32_t addr = 0;
    uint8_t be = 0;
    uint64_t wdata = 0;
  };
  Ports in_;
  bool rvalid_ = false;
  uint64_t rdata_ = 0;
  bool irq_ = false;
  RetireCycle retire_;
  uint64_t clocks_ = 0;

 private:
  void write_bytes(uint32_t base, uint64_t offset, std::span<const uint8_t> bytes);
  std::vector<uint8_t> read_bytes(uint32_t base, uint64_t offset, size_t n);
  isa::AccelConfig cfg_;
  bool running_ = false;
  uint64_t run_start_ = 0;
};

}  // namespace ntr::tb
