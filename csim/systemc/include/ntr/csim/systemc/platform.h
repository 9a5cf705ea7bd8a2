// The SystemC/TLM-2.0 platform: Neutrino as a TLM target with memory-mapped registers
// (registers.h), a DMA initiator into a host memory model and an interrupt line, plus a host CPU
// model whose bus operations the driver uses. SystemcDevice puts the platform behind the host
// driver's device interface (sw/runtime), so the same driver and end-to-end tests run on it.
//
//   HostCpu --bus--> Router --+--> Memory (cpu port)       0x0000_0000, PlatformOptions::memory_bytes
//     ^                       +--> NeutrinoTlm (csr)       kCsrBase, reg::kSize
//     | irq                          |
//     +------------------------ NeutrinoTlm --dma--> Memory (dma port)
//
// SystemC elaborates once per process: at most one SystemcDevice may exist in a process
// (constructing a second throws DeviceError). Build with SC_CPLUSPLUS=201703L (docs/csim.md).
#pragma once

#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <systemc>
#include <tlm>
#include <tlm_utils/simple_initiator_socket.h>
#include <tlm_utils/simple_target_socket.h>

#include "ns/runtime/device.h"
#include "ntr/csim/machine.h"
#include "ntr/csim/systemc/registers.h"

namespace ntr::csim::platform {

inline constexpr uint64_t kMemoryBase = 0x0000'0000;
inline constexpr uint64_t kCsrBase = 0x4000'0000;

struct PlatformOptions {
  uint64_t memory_bytes = 32ull << 20;
  sc_core::sc_time memory_latency = sc_core::sc_time(20, sc_core::SC_NS);  // per transaction
  double memory_bytes_per_ns = 16.0;                                        // bandwidth
  uint32_t dma_burst_bytes = 4096;                                          // per DMA transaction
  SimOptions sim;
};

// Host memory: a byte array with two target ports (the CPU's bus and Neutrino's DMA).
class Memory : public sc_core::sc_module {
 public:
  tlm_utils::simple_target_socket<Memory> cpu_port;
  tlm_utils::simple_target_socket<Memory> dma_port;
  Memory(sc_core::sc_module_name name, const PlatformOptions& o);
  std::vector<uint8_t>& bytes() { return data_; }

 private:
  void b_transport(tlm::tlm_generic_payload& p, sc_core::sc_time& delay);
  std::vector<uint8_t> data_;
  sc_core::sc_time latency_;
  double bytes_per_ns_;
};

// Address decoder of the CPU's bus.
class Router : public sc_core::sc_module {
 public:
  tlm_utils::simple_target_socket<Router> cpu;
  tlm_utils::simple_initiator_socket<Router> memory;
  tlm_utils::simple_initiator_socket<Router> csr;
  Router(sc_core::sc_module_name name, uint64_t memory_bytes);

 private:
  void b_transport(tlm::tlm_generic_payload& p, sc_core::sc_time& delay);
  uint64_t memory_bytes_;
};

// Neutrino: registers, DMA, interrupt, and csim's machine doing the work.
class NeutrinoTlm : public sc_core::sc_module {
 public:
  tlm_utils::simple_target_socket<NeutrinoTlm> csr;
  tlm_utils::simple_initiator_socket<NeutrinoTlm> dma;
  sc_core::sc_out<bool> irq;

  NeutrinoTlm(sc_core::sc_module_name name, const isa::AccelConfig& cfg, const PlatformOptions& o);
  Machine& machine() { return machine_; }
  const Stats& totals() const { return totals_; }
  void clear_totals();

 private:
  SC_HAS_PROCESS(NeutrinoTlm);
  void b_transport(tlm::tlm_generic_payload& p, sc_core::sc_time& delay);
  void worker();
  void do_load();
  void do_run();
  void dma_transfer(tlm::tlm_command cmd, uint64_t host, uint8_t* data, uint64_t n);
  Descriptor read_descriptor(uint64_t at);
  void report_error(uint32_t kind, const ErrorSite& site, const std::string& message);
  uint64_t reg64(uint32_t at) const;
  // The interrupt line has one driver (a method process); others request a new level.
  void update_irq();
  void drive_irq();

  Machine machine_;
  PlatformOptions opt_;
  std::vector<uint32_t> regs_;
  uint32_t pending_ = 0;  // kCtrl bits not yet served
  bool loaded_ = false;   // the last LOAD succeeded
  sc_core::sc_event go_, irq_event_;
  Stats totals_;
};

// The host CPU: runs jobs (driver code) in its own SystemC thread, issuing bus transactions.
class HostCpu : public sc_core::sc_module {
 public:
  tlm_utils::simple_initiator_socket<HostCpu> bus;
  sc_core::sc_in<bool> irq;
  explicit HostCpu(sc_core::sc_module_name name);

  // From outside the simulation: runs `job` in the CPU thread and lets the simulation run until
  // nothing is left to do. Rethrows what the job threw; throws DeviceError if the simulation
  // stopped before the job finished.
  void call(const std::function<void()>& job);

  // Bus operations, inside jobs.
  void write(uint64_t addr, std::span<const uint8_t> bytes);
  void read(uint64_t addr, std::span<uint8_t> bytes);
  void write32(uint64_t addr, uint32_t v);
  uint32_t read32(uint64_t addr);
  void write64(uint64_t addr, uint64_t v);
  uint64_t read64(uint64_t addr);
  void wait_irq();

 private:
  SC_HAS_PROCESS(HostCpu);
  void thread();
  void transport(tlm::tlm_command cmd, uint64_t addr, uint8_t* data, uint64_t n);
  std::deque<std::function<void()>> jobs_;
  sc_core::sc_event job_event_;
  bool job_done_ = false;
  std::exception_ptr job_error_;
};

class Platform {
 public:
  Platform(const isa::AccelConfig& cfg, const PlatformOptions& o);
  Memory memory;
  Router router;
  NeutrinoTlm neutrino;
  HostCpu cpu;
  sc_core::sc_signal<bool> irq;
};

// The driver side: sw/runtime's device interface over the platform's registers and host memory.
class SystemcDevice : public ns::runtime::Device {
 public:
  explicit SystemcDevice(const isa::AccelConfig& cfg, const PlatformOptions& o = {});
  ~SystemcDevice() override;

  std::string name() const override { return "systemc"; }
  const isa::AccelConfig& config() const override { return cfg_; }
  void load_model(const isa::Program& program, std::span<const uint8_t> gwb_image) override;
  void set_result_ranges(std::span<const ns::runtime::GibRange> ranges) override;
  void write_inputs(uint64_t gib_offset, std::span<const uint8_t> bytes) override;
  void start() override;
  ns::runtime::RunStatus wait() override;
  void read_results(std::span<uint8_t> out) override;
  nlohmann::json counters() const override;
  void clear_counters() override;

  Platform& platform() { return *platform_; }
  // Simulated time of the platform (DMA and compute), in seconds.
  double simulated_seconds() const;

 private:
  uint64_t alloc(uint64_t bytes);
  [[noreturn]] void device_failed(const std::string& during);
  isa::AccelConfig cfg_;
  std::unique_ptr<Platform> platform_;
  uint64_t top_ = 0x1000;    // host memory bump allocator (address 0 means "none" to the device)
  uint64_t model_top_ = 0;   // end of the model's allocations (program, weights, tables)
  uint64_t msg_ = 0;         // error text buffer
  uint64_t result_desc_ = 0, result_area_ = 0, result_bytes_ = 0;
  std::vector<ns::runtime::GibRange> results_;
  std::vector<Descriptor> inputs_;
  bool loaded_ = false, started_ = false;
};

}  // namespace ntr::csim::platform
