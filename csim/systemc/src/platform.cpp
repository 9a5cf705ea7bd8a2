#include "ntr/csim/systemc/platform.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>

#include "ntr/csim/error.h"
#include "ntr/isa/program.h"

namespace ntr::csim::platform {

using ns::runtime::DeviceError;
using sc_core::sc_time;
using sc_core::SC_NS;

namespace {

void put32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
uint32_t get32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 | static_cast<uint32_t>(p[2]) << 16 |
         static_cast<uint32_t>(p[3]) << 24;
}

void fill_payload(tlm::tlm_generic_payload& p, tlm::tlm_command cmd, uint64_t addr, uint8_t* data, uint64_t n) {
  p.set_command(cmd);
  p.set_address(addr);
  p.set_data_ptr(data);
  p.set_data_length(static_cast<unsigned>(n));
  p.set_streaming_width(static_cast<unsigned>(n));
  p.set_byte_enable_ptr(nullptr);
  p.set_byte_enable_length(0);
  p.set_dmi_allowed(false);
  p.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
}

}  // namespace

// ------------------------------------------------------------------------------------ memory

Memory::Memory(sc_core::sc_module_name name, const PlatformOptions& o)
    : sc_module(name), cpu_port("cpu_port"), dma_port("dma_port"),
      data_(static_cast<size_t>(o.memory_bytes), 0), latency_(o.memory_latency), bytes_per_ns_(o.memory_bytes_per_ns) {
  cpu_port.register_b_transport(this, &Memory::b_transport);
  dma_port.register_b_transport(this, &Memory::b_transport);
}

void Memory::b_transport(tlm::tlm_generic_payload& p, sc_time& delay) {
  const uint64_t addr = p.get_address(), n = p.get_data_length();
  if (p.get_byte_enable_ptr()) {
    p.set_response_status(tlm::TLM_BYTE_ENABLE_ERROR_RESPONSE);
    return;
  }
  if (p.get_streaming_width() < n) {
    p.set_response_status(tlm::TLM_BURST_ERROR_RESPONSE);
    return;
  }
  if (addr > data_.size() || n > data_.size() - addr) {
    p.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);
    return;
  }
  if (p.is_read())
    std::memcpy(p.get_data_ptr(), data_.data() + addr, n);
  else if (p.is_write())
    std::memcpy(data_.data() + addr, p.get_data_ptr(), n);
  delay += latency_ + sc_time(static_cast<double>(n) / bytes_per_ns_, SC_NS);
  p.set_response_status(tlm::TLM_OK_RESPONSE);
}

// ------------------------------------------------------------------------------------ router

Router::Router(sc_core::sc_module_name name, uint64_t memory_bytes)
    : sc_module(name), cpu("cpu"), memory("memory"), csr("csr"), memory_bytes_(memory_bytes) {
  cpu.register_b_transport(this, &Router::b_transport);
}

void Router::b_transport(tlm::tlm_generic_payload& p, sc_time& delay) {
  const uint64_t a = p.get_address();
  if (a >= kMemoryBase && a - kMemoryBase < memory_bytes_) {
    p.set_address(a - kMemoryBase);
    memory->b_transport(p, delay);
    p.set_address(a);
  } else if (a >= kCsrBase && a - kCsrBase < reg::kSize) {
    p.set_address(a - kCsrBase);
    csr->b_transport(p, delay);
    p.set_address(a);
  } else {
    p.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);
  }
}

// ----------------------------------------------------------------------------------- neutrino

NeutrinoTlm::NeutrinoTlm(sc_core::sc_module_name name, const isa::AccelConfig& cfg, const PlatformOptions& o)
    : sc_module(name), csr("csr"), dma("dma"), irq("irq"), machine_(cfg, o.sim), opt_(o),
      regs_(reg::kSize / 4, 0) {
  csr.register_b_transport(this, &NeutrinoTlm::b_transport);
  regs_[reg::kId / 4] = kIdValue;
  regs_[reg::kVersion / 4] = kVersionValue;
  regs_[reg::kErrorStream / 4] = 0xffffffffu;
  clear_totals();
  SC_THREAD(worker);
  SC_METHOD(drive_irq);
  sensitive << irq_event_;
  dont_initialize();
}

void NeutrinoTlm::update_irq() { irq_event_.notify(sc_core::SC_ZERO_TIME); }

void NeutrinoTlm::drive_irq() {
  irq.write((regs_[reg::kIrqEnable / 4] & 1) && (regs_[reg::kStatus / 4] & (kStatusDone | kStatusError)));
}

void NeutrinoTlm::clear_totals() {
  totals_ = Stats{};
  totals_.tiles = machine_.tiles();
  totals_.lanes = machine_.config().lanes();
  totals_.clock_mhz = static_cast<double>(machine_.config().clock_mhz);
}

uint64_t NeutrinoTlm::reg64(uint32_t at) const {
  return static_cast<uint64_t>(regs_[at / 4]) | static_cast<uint64_t>(regs_[at / 4 + 1]) << 32;
}

void NeutrinoTlm::b_transport(tlm::tlm_generic_payload& p, sc_time& delay) {
  const uint64_t a = p.get_address();
  delay += sc_time(10, SC_NS);
  if (p.get_data_length() != 4 || a % 4 != 0 || a >= reg::kSize || p.get_byte_enable_ptr()) {
    p.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);
    return;
  }
  const auto r = static_cast<uint32_t>(a);
  uint32_t& cell = regs_[r / 4];
  if (p.is_read()) {
    put32(p.get_data_ptr(), cell);
  } else if (p.is_write()) {
    const uint32_t v = get32(p.get_data_ptr());
    switch (r) {
      case reg::kCtrl:
        if (v & (kCtrlStart | kCtrlLoad)) {
          if (regs_[reg::kStatus / 4] & kStatusBusy) break;  // ignored while busy
          pending_ |= v & (kCtrlStart | kCtrlLoad);
          regs_[reg::kStatus / 4] = kStatusBusy;
          update_irq();
          go_.notify(sc_core::SC_ZERO_TIME);
        }
        break;
      case reg::kStatus:
        cell &= ~(v & (kStatusDone | kStatusError));
        update_irq();
        break;
      case reg::kIrqEnable:
        cell = v & 1;
        update_irq();
        break;
      case reg::kProgramBase: case reg::kProgramBase + 4:
      case reg::kWeightsBase: case reg::kWeightsBase + 4: case reg::kWeightsBytes:
      case reg::kEpochBase: case reg::kEpochBase + 4: case reg::kEpochCount:
      case reg::kResultBase: case reg::kResultBase + 4: case reg::kResultCount:
      case reg::kErrorMsgBase: case reg::kErrorMsgBase + 4:
        cell = v;
        break;
      default:
        break;  // read-only or unused
    }
  }
  p.set_response_status(tlm::TLM_OK_RESPONSE);
}

void NeutrinoTlm::dma_transfer(tlm::tlm_command cmd, uint64_t host, uint8_t* data, uint64_t n) {
  for (uint64_t off = 0; off < n; off += opt_.dma_burst_bytes) {
    const uint64_t len = std::min<uint64_t>(opt_.dma_burst_bytes, n - off);
    tlm::tlm_generic_payload p;
    fill_payload(p, cmd, host + off, data + off, len);
    sc_time delay = sc_core::SC_ZERO_TIME;
    dma->b_transport(p, delay);
    if (p.get_response_status() != tlm::TLM_OK_RESPONSE)
      throw DeviceError(fmt::format("DMA {} of {} bytes at host address 0x{:x} failed ({})",
                                    cmd == tlm::TLM_READ_COMMAND ? "read" : "write", len, host + off,
                                    p.get_response_string()));
    wait(delay);
  }
}

Descriptor NeutrinoTlm::read_descriptor(uint64_t at) {
  uint8_t b[kDescriptorBytes];
  dma_transfer(tlm::TLM_READ_COMMAND, at, b, kDescriptorBytes);
  Descriptor d;
  d.host = static_cast<uint64_t>(get32(b)) | static_cast<uint64_t>(get32(b + 4)) << 32;
  d.gib = get32(b + 8);
  d.bytes = get32(b + 12);
  return d;
}

void NeutrinoTlm::report_error(uint32_t kind, const ErrorSite& site, const std::string& message) {
  regs_[reg::kErrorKind / 4] = kind;
  regs_[reg::kErrorStream / 4] = site.stream < 0 ? 0xffffffffu : static_cast<uint32_t>(site.stream);
  regs_[reg::kErrorPc / 4] = static_cast<uint32_t>(site.pc);
  regs_[reg::kErrorTile / 4] = static_cast<uint32_t>(site.tile);
  regs_[reg::kErrorCycle / 4] = static_cast<uint32_t>(site.cycle);
  regs_[reg::kErrorCycle / 4 + 1] = static_cast<uint32_t>(static_cast<uint64_t>(site.cycle) >> 32);
  if (const uint64_t at = reg64(reg::kErrorMsgBase)) {
    std::vector<uint8_t> text(kErrorMsgBytes, 0);
    std::memcpy(text.data(), message.data(), std::min<size_t>(message.size(), kErrorMsgBytes - 1));
    try {
      dma_transfer(tlm::TLM_WRITE_COMMAND, at, text.data(), text.size());
    } catch (const DeviceError&) {
      // The registers still say what happened.
    }
  }
}

void NeutrinoTlm::do_load() {
  loaded_ = false;
  const uint64_t base = reg64(reg::kProgramBase);
  std::vector<uint8_t> image(isa::kProgramHeaderBytes);
  dma_transfer(tlm::TLM_READ_COMMAND, base, image.data(), image.size());
  uint64_t words = 0;
  for (int s = 0; s < isa::kStreams; ++s) words += get32(image.data() + 20 + 4 * s);
  if (words > static_cast<uint64_t>(isa::kStreams * machine_.config().imem_words))
    throw SimError(ErrorKind::IllegalInstruction,
                   fmt::format("the program at 0x{:x} claims {} instructions; the instruction memories hold {}", base,
                               words, isa::kStreams * machine_.config().imem_words));
  image.resize(isa::kProgramHeaderBytes + 16 * words);
  dma_transfer(tlm::TLM_READ_COMMAND, base + isa::kProgramHeaderBytes, image.data() + isa::kProgramHeaderBytes,
               16 * words);
  isa::Program program;
  try {
    program = isa::deserialize(image, fmt::format("program at host address 0x{:x}", base));
  } catch (const isa::IsaError& e) {
    throw SimError(ErrorKind::IllegalInstruction, e.what());
  }
  machine_.load_program(program);
  const uint64_t n = regs_[reg::kWeightsBytes / 4];
  auto gwb = machine_.gwb();
  if (n > gwb.size())
    throw SimError(ErrorKind::OutOfBounds,
                   fmt::format("the weight image has {} bytes; the global weight buffer holds {}", n, gwb.size()));
  std::fill(gwb.begin(), gwb.end(), uint8_t{0});
  dma_transfer(tlm::TLM_READ_COMMAND, reg64(reg::kWeightsBase), gwb.data(), n);
  loaded_ = true;
}

void NeutrinoTlm::do_run() {
  if (!loaded_) throw SimError(ErrorKind::IllegalInstruction, "start without a loaded program");
  auto gib = machine_.gib();
  auto copy = [&](uint32_t base_reg, uint32_t count_reg, bool in) {
    const uint64_t table = reg64(base_reg);
    for (uint32_t i = 0; i < regs_[count_reg / 4]; ++i) {
      const Descriptor d = read_descriptor(table + i * kDescriptorBytes);
      if (uint64_t{d.gib} + d.bytes > gib.size())
        throw SimError(ErrorKind::OutOfBounds,
                       fmt::format("{} descriptor {}: GIB bytes {}..{} outside the global input buffer", in ? "input" : "result",
                                   i, d.gib, uint64_t{d.gib} + d.bytes));
      dma_transfer(in ? tlm::TLM_READ_COMMAND : tlm::TLM_WRITE_COMMAND, d.host, gib.data() + d.gib, d.bytes);
    }
  };
  copy(reg::kEpochBase, reg::kEpochCount, true);
  const Stats& s = machine_.run();
  wait(sc_time(static_cast<double>(s.cycles) * 1000.0 / static_cast<double>(machine_.config().clock_mhz), SC_NS));
  totals_.accumulate(s);
  regs_[reg::kCycles / 4] = static_cast<uint32_t>(s.cycles);
  regs_[reg::kCycles / 4 + 1] = static_cast<uint32_t>(s.cycles >> 32);
  ++regs_[reg::kRuns / 4];
  copy(reg::kResultBase, reg::kResultCount, false);
}

void NeutrinoTlm::worker() {
  for (;;) {
    while (pending_ == 0) wait(go_);
    const uint32_t cmd = pending_;
    pending_ = 0;
    regs_[reg::kErrorKind / 4] = 0;
    regs_[reg::kErrorStream / 4] = 0xffffffffu;
    uint32_t status = kStatusDone;
    try {
      if (cmd & kCtrlLoad) do_load();
      if (cmd & kCtrlStart) do_run();
    } catch (const SimError& e) {
      report_error(1 + static_cast<uint32_t>(e.kind()), e.site(), e.what());
      status = kStatusError;
    } catch (const DeviceError& e) {
      report_error(1 + static_cast<uint32_t>(ErrorKind::OutOfBounds), ErrorSite{}, e.what());
      status = kStatusError;
    }
    regs_[reg::kStatus / 4] = status;
    update_irq();
  }
}

// ----------------------------------------------------------------------------------- host CPU

HostCpu::HostCpu(sc_core::sc_module_name name) : sc_module(name), bus("bus"), irq("irq") { SC_THREAD(thread); }

void HostCpu::thread() {
  for (;;) {
    while (jobs_.empty()) wait(job_event_);
    const auto job = std::move(jobs_.front());
    jobs_.pop_front();
    try {
      job();
    } catch (...) {
      job_error_ = std::current_exception();
    }
    job_done_ = true;
  }
}

void HostCpu::call(const std::function<void()>& job) {
  job_done_ = false;
  job_error_ = nullptr;
  jobs_.push_back(job);
  job_event_.notify(sc_core::SC_ZERO_TIME);
  sc_core::sc_start();
  if (!job_done_) {
    jobs_.clear();
    throw DeviceError("systemc platform: the simulation ran out of events before the host finished (no interrupt?)");
  }
  if (job_error_) std::rethrow_exception(job_error_);
}

void HostCpu::transport(tlm::tlm_command cmd, uint64_t addr, uint8_t* data, uint64_t n) {
  tlm::tlm_generic_payload p;
  fill_payload(p, cmd, addr, data, n);
  sc_time delay = sc_core::SC_ZERO_TIME;
  bus->b_transport(p, delay);
  if (p.get_response_status() != tlm::TLM_OK_RESPONSE)
    throw DeviceError(fmt::format("bus {} of {} bytes at 0x{:x} failed ({})", cmd == tlm::TLM_READ_COMMAND ? "read" : "write",
                                  n, addr, p.get_response_string()));
  wait(delay);
}

void HostCpu::write(uint64_t addr, std::span<const uint8_t> bytes) {
  transport(tlm::TLM_WRITE_COMMAND, addr, const_cast<uint8_t*>(bytes.data()), bytes.size());
}
void HostCpu::read(uint64_t addr, std::span<uint8_t> bytes) { transport(tlm::TLM_READ_COMMAND, addr, bytes.data(), bytes.size()); }
void HostCpu::write32(uint64_t addr, uint32_t v) {
  uint8_t b[4];
  put32(b, v);
  transport(tlm::TLM_WRITE_COMMAND, addr, b, 4);
}
uint32_t HostCpu::read32(uint64_t addr) {
  uint8_t b[4];
  transport(tlm::TLM_READ_COMMAND, addr, b, 4);
  return get32(b);
}
void HostCpu::write64(uint64_t addr, uint64_t v) {
  write32(addr, static_cast<uint32_t>(v));
  write32(addr + 4, static_cast<uint32_t>(v >> 32));
}
uint64_t HostCpu::read64(uint64_t addr) { return read32(addr) | static_cast<uint64_t>(read32(addr + 4)) << 32; }
void HostCpu::wait_irq() {
  while (!irq.read()) wait(irq.value_changed_event());
}

// ----------------------------------------------------------------------------------- platform

Platform::Platform(const isa::AccelConfig& cfg, const PlatformOptions& o)
    : memory("memory", o), router("router", o.memory_bytes), neutrino("neutrino", cfg, o), cpu("cpu"), irq("irq") {
  cpu.bus.bind(router.cpu);
  router.memory.bind(memory.cpu_port);
  router.csr.bind(neutrino.csr);
  neutrino.dma.bind(memory.dma_port);
  neutrino.irq(irq);
  cpu.irq(irq);
}

// ------------------------------------------------------------------------------------- device

namespace {
bool g_platform_exists = false;
}

SystemcDevice::SystemcDevice(const isa::AccelConfig& cfg, const PlatformOptions& o) : cfg_(cfg) {
  if (g_platform_exists)
    throw DeviceError("systemc platform: SystemC elaborates once per process; this process already has a platform");
  g_platform_exists = true;
  setenv("SYSTEMC_DISABLE_COPYRIGHT_MESSAGE", "1", 0);
  platform_ = std::make_unique<Platform>(cfg, o);
  msg_ = alloc(kErrorMsgBytes);
  model_top_ = top_;
  HostCpu& cpu = platform_->cpu;
  cpu.call([&] {
    if (cpu.read32(kCsrBase + reg::kId) != kIdValue) throw DeviceError("systemc platform: no Neutrino at the register window");
    cpu.write64(kCsrBase + reg::kErrorMsgBase, msg_);
    cpu.write32(kCsrBase + reg::kIrqEnable, 1);
  });
}

SystemcDevice::~SystemcDevice() = default;

uint64_t SystemcDevice::alloc(uint64_t bytes) {
  const uint64_t at = (top_ + 63) / 64 * 64;
  if (at + bytes > platform_->memory.bytes().size())
    throw DeviceError(fmt::format("systemc platform: the host memory model ({} bytes) cannot hold another {} bytes",
                                  platform_->memory.bytes().size(), bytes));
  top_ = at + bytes;
  return at;
}

void SystemcDevice::device_failed(const std::string& during) {
  HostCpu& cpu = platform_->cpu;
  std::string text(kErrorMsgBytes, '\0');
  cpu.read(kMemoryBase + msg_, std::span<uint8_t>(reinterpret_cast<uint8_t*>(text.data()), text.size()));
  text.resize(std::strlen(text.c_str()));
  const uint32_t kind = cpu.read32(kCsrBase + reg::kErrorKind);
  throw DeviceError(text.empty() ? fmt::format("systemc platform: {} failed (error kind {})", during, kind) : text);
}

void SystemcDevice::load_model(const isa::Program& program, std::span<const uint8_t> gwb_image) {
  if (gwb_image.size() > static_cast<size_t>(cfg_.gwb_bytes))
    throw DeviceError(fmt::format("systemc platform: the weight image has {} bytes; the global weight buffer holds {}",
                                  gwb_image.size(), cfg_.gwb_bytes));
  loaded_ = false;
  top_ = msg_ + kErrorMsgBytes;
  const std::vector<uint8_t> image = isa::serialize(program);
  const uint64_t p = alloc(image.size()), w = alloc(gwb_image.size());
  model_top_ = top_;
  results_.clear();
  HostCpu& cpu = platform_->cpu;
  cpu.call([&] {
    cpu.write(kMemoryBase + p, image);
    cpu.write(kMemoryBase + w, gwb_image);
    cpu.write64(kCsrBase + reg::kProgramBase, kMemoryBase + p);
    cpu.write64(kCsrBase + reg::kWeightsBase, kMemoryBase + w);
    cpu.write32(kCsrBase + reg::kWeightsBytes, static_cast<uint32_t>(gwb_image.size()));
    cpu.write32(kCsrBase + reg::kResultCount, 0);
    cpu.write32(kCsrBase + reg::kCtrl, kCtrlLoad);
    cpu.wait_irq();
    const uint32_t st = cpu.read32(kCsrBase + reg::kStatus);
    cpu.write32(kCsrBase + reg::kStatus, kStatusDone | kStatusError);
    if (st & kStatusError) device_failed("loading the model");
  });
  platform_->neutrino.clear_totals();
  loaded_ = true;
}

void SystemcDevice::set_result_ranges(std::span<const ns::runtime::GibRange> ranges) {
  if (!loaded_) throw DeviceError("systemc platform: set_result_ranges before load_model");
  top_ = model_top_;
  results_.assign(ranges.begin(), ranges.end());
  result_bytes_ = 0;
  for (const auto& r : results_) result_bytes_ += r.bytes;
  result_desc_ = alloc(kDescriptorBytes * results_.size());
  result_area_ = alloc(result_bytes_);
  std::vector<uint8_t> table(kDescriptorBytes * results_.size());
  uint64_t at = result_area_;
  for (size_t i = 0; i < results_.size(); ++i) {
    uint8_t* d = table.data() + i * kDescriptorBytes;
    put32(d, static_cast<uint32_t>(kMemoryBase + at));
    put32(d + 4, static_cast<uint32_t>((kMemoryBase + at) >> 32));
    put32(d + 8, static_cast<uint32_t>(results_[i].offset));
    put32(d + 12, static_cast<uint32_t>(results_[i].bytes));
    at += results_[i].bytes;
  }
  HostCpu& cpu = platform_->cpu;
  cpu.call([&] {
    cpu.write(kMemoryBase + result_desc_, table);
    cpu.write64(kCsrBase + reg::kResultBase, kMemoryBase + result_desc_);
    cpu.write32(kCsrBase + reg::kResultCount, static_cast<uint32_t>(results_.size()));
  });
  model_top_ = top_;
}

void SystemcDevice::write_inputs(uint64_t gib_offset, std::span<const uint8_t> bytes) {
  if (!loaded_) throw DeviceError("systemc platform: write_inputs before load_model");
  if (gib_offset + bytes.size() > static_cast<uint64_t>(cfg_.gib_bytes))
    throw DeviceError(fmt::format("systemc platform: input bytes {}..{} lie outside the global input buffer ({} bytes)",
                                  gib_offset, gib_offset + bytes.size(), cfg_.gib_bytes));
  const uint64_t h = alloc(bytes.size());
  HostCpu& cpu = platform_->cpu;
  cpu.call([&] { cpu.write(kMemoryBase + h, bytes); });
  inputs_.push_back(Descriptor{kMemoryBase + h, static_cast<uint32_t>(gib_offset), static_cast<uint32_t>(bytes.size())});
}

void SystemcDevice::start() {
  if (!loaded_) throw DeviceError("systemc platform: start without a loaded model");
  if (started_) throw DeviceError("systemc platform: start while a run is in progress");
  std::vector<uint8_t> table(kDescriptorBytes * inputs_.size());
  for (size_t i = 0; i < inputs_.size(); ++i) {
    uint8_t* d = table.data() + i * kDescriptorBytes;
    put32(d, static_cast<uint32_t>(inputs_[i].host));
    put32(d + 4, static_cast<uint32_t>(inputs_[i].host >> 32));
    put32(d + 8, inputs_[i].gib);
    put32(d + 12, inputs_[i].bytes);
  }
  const uint64_t desc = alloc(std::max<size_t>(table.size(), 1));
  HostCpu& cpu = platform_->cpu;
  cpu.call([&] {
    cpu.write(kMemoryBase + desc, table);
    cpu.write64(kCsrBase + reg::kEpochBase, kMemoryBase + desc);
    cpu.write32(kCsrBase + reg::kEpochCount, static_cast<uint32_t>(inputs_.size()));
    cpu.write32(kCsrBase + reg::kCtrl, kCtrlStart);
  });
  // The device has copied the inputs by the time the simulation goes quiet: reuse the space.
  inputs_.clear();
  top_ = model_top_;
  started_ = true;
}

ns::runtime::RunStatus SystemcDevice::wait() {
  if (!started_) throw DeviceError("systemc platform: wait without a started run");
  started_ = false;
  ns::runtime::RunStatus s;
  HostCpu& cpu = platform_->cpu;
  cpu.call([&] {
    cpu.wait_irq();
    const uint32_t st = cpu.read32(kCsrBase + reg::kStatus);
    cpu.write32(kCsrBase + reg::kStatus, kStatusDone | kStatusError);
    if (st & kStatusError) device_failed("the run");
    s.cycles = cpu.read64(kCsrBase + reg::kCycles);
  });
  s.device_seconds = static_cast<double>(s.cycles) / cfg_.clock_hz();
  return s;
}

void SystemcDevice::read_results(std::span<uint8_t> out) {
  if (out.size() != result_bytes_)
    throw DeviceError(fmt::format("systemc platform: {} result bytes requested, the result ranges hold {}", out.size(),
                                  result_bytes_));
  HostCpu& cpu = platform_->cpu;
  cpu.call([&] { cpu.read(kMemoryBase + result_area_, out); });
}

nlohmann::json SystemcDevice::counters() const {
  Stats s = platform_->neutrino.totals();
  return nlohmann::json::parse(to_json(s).dump());
}

void SystemcDevice::clear_counters() { platform_->neutrino.clear_totals(); }

double SystemcDevice::simulated_seconds() const { return sc_core::sc_time_stamp().to_seconds(); }

}  // namespace ntr::csim::platform
