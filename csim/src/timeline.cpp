#include "ntr/csim/timeline.h"

#include <algorithm>
#include <cstdio>
#include <memory>
#include <stdexcept>

#include <fmt/format.h>

namespace ntr::csim {

Timeline::Timeline(const isa::AccelConfig& cfg, uint64_t max_events)
    : clock_mhz_(static_cast<double>(cfg.clock_mhz)), max_events_(max_events) {}

void Timeline::on_issue(const Issue& i) {
  if (issues_.size() >= max_events_) {
    ++dropped_;
    return;
  }
  issues_.push_back({i, offset_});
}

void Timeline::write(const std::filesystem::path& path) const {
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "w"), &std::fclose);
  if (!f) throw std::runtime_error(path.string() + ": cannot create the timeline file");
  auto us = [&](int64_t cycles) { return static_cast<double>(cycles) / clock_mhz_; };
  fmt::print(f.get(), "{{\"displayTimeUnit\":\"ns\",\"otherData\":{{\"clock_mhz\":{},\"dropped_events\":{}}},\"traceEvents\":[\n",
             clock_mhz_, dropped_);
  for (int s = 0; s < isa::kStreams; ++s)
    fmt::print(f.get(), "{{\"ph\":\"M\",\"pid\":0,\"tid\":{},\"name\":\"thread_name\",\"args\":{{\"name\":\"{}\"}}}},\n", s,
               isa::stream_name(static_cast<isa::Stream>(s)));
  fmt::print(f.get(), "{{\"ph\":\"M\",\"pid\":0,\"tid\":3,\"name\":\"thread_name\",\"args\":{{\"name\":\"mac latency\"}}}},\n");
  fmt::print(f.get(), "{{\"ph\":\"M\",\"pid\":0,\"name\":\"process_name\",\"args\":{{\"name\":\"neutrino (every tile)\"}}}}");
  for (const auto& [i, off] : issues_) {
    std::string name(isa::desc(i.op).name);
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    const int64_t s = off + i.start;
    fmt::print(f.get(), ",\n{{\"ph\":\"X\",\"pid\":0,\"tid\":{},\"name\":\"{}\",\"ts\":{:.3f},\"dur\":{:.3f},\"args\":{{\"pc\":{},\"cycle\":{},\"done\":{}{}}}}}",
               static_cast<int>(i.stream), name, us(s), us(i.busy), i.pc, s, off + i.done,
               i.op == isa::Opcode::Dma ? fmt::format(",\"contention\":{}", i.contention) : std::string());
    if (i.done > i.start + i.busy)
      fmt::print(f.get(), ",\n{{\"ph\":\"X\",\"pid\":0,\"tid\":3,\"name\":\"{} latency\",\"ts\":{:.3f},\"dur\":{:.3f},\"args\":{{\"pc\":{}}}}}",
                 name, us(s + i.busy), us(i.done - i.start - i.busy), i.pc);
  }
  fmt::print(f.get(), "\n]}}\n");
  if (std::ferror(f.get())) throw std::runtime_error(path.string() + ": write failed");
}

}  // namespace ntr::csim
