// The "neutrino-rtl" prediction backend: the INT8 package compiled for a Neutrino instance and run
// on the Verilated RTL through the host driver (RtlDevice), so `--backend neutrino-rtl` must agree
// bit for bit with the `int8` reference and `neutrino-sim`. Options (--backend-opt KEY=VALUE):
// config (a config with an RTL model in this build: tiny, tiny-2t, neutrino-1t; default
// neutrino-1t), check=csim (run every run in lockstep with csim and fail on any difference).
// Slow by nature (docs/results/rtl.md: ~50 K cycles/s at full size): a verification backend.
#include <map>
#include <memory>

#include <fmt/format.h>

#include "ns/model/backend.h"
#include "ns/model/error.h"
#include "ns/runtime/driver.h"
#include "ntr/compiler/compiler.h"
#include "ntr/csim/accel.h"
#include "ntr/tb/device.h"

namespace ntr::tb {

// Referenced from backend_anchor.cpp (an INTERFACE source of ns_tb), as csim's backend.
int g_neutrino_rtl_backend = 0;

namespace {

using ns::model::BackendOptions;
using ns::model::ModelPackage;

class RtlPredictor : public ns::model::Int8DevicePredictor {
 public:
  RtlPredictor(const ModelPackage& p, const BackendOptions& o) : Int8DevicePredictor(p), package_(p) {
    std::string config = "neutrino-1t", check;
    for (const auto& [k, v] : o.extra.items()) {
      if (k == "config") config = v.get<std::string>();
      else if (k == "check") check = v.get<std::string>();
      else throw ns::model::ModelError(fmt::format("neutrino-rtl: unknown option '{}' (known: config, check)", k));
    }
    if (!check.empty() && check != "csim")
      throw ns::model::ModelError(fmt::format("neutrino-rtl: check={} (known: csim)", check));
    try {
      cfg_ = csim::resolve_accel(config);
      device_ = std::make_unique<RtlDevice>(cfg_, check == "csim");
    } catch (const std::exception& e) {
      throw ns::model::ModelError(std::string("neutrino-rtl: ") + e.what());
    }
  }

  nlohmann::json last_epoch_stats() const override { return stats_; }

 protected:
  void run_device(std::span<const int8_t> bytes, size_t n, std::span<int32_t> r) override {
    ns::runtime::Driver& drv = driver(n);
    device_->clear_counters();
    const auto st = drv.run_epoch(bytes, n, r);
    stats_ = {{"accel", cfg_.name},
              {"runs", st.runs},
              {"device_cycles", st.cycles},
              {"schedule_cycles", st.expected_cycles},
              {"matches_schedule", st.cycles == st.expected_cycles},
              {"device_seconds", st.device_seconds},
              {"rtl", device_->counters()}};
  }

 private:
  // One compiled bundle per epoch length, as neutrino-sim (the last one kept).
  ns::runtime::Driver& driver(size_t n) {
    if (driver_ && n_ == n) return *driver_;
    compiler::CompileOptions co;
    co.epoch = static_cast<int64_t>(std::max<size_t>(n, 1));
    try {
      bundle_ = ns::runtime::make_bundle(compiler::compile(package_, cfg_, co));
    } catch (const compiler::CompileError& x) {
      throw ns::model::ModelError(fmt::format("neutrino-rtl: cannot compile for '{}': {}", cfg_.name, x.what()));
    }
    driver_ = std::make_unique<ns::runtime::Driver>(*device_, bundle_);
    n_ = n;
    return *driver_;
  }

  ModelPackage package_;
  isa::AccelConfig cfg_;
  std::unique_ptr<RtlDevice> device_;
  ns::runtime::Bundle bundle_;
  std::unique_ptr<ns::runtime::Driver> driver_;
  size_t n_ = 0;
  nlohmann::json stats_ = nlohmann::json::object();
};

const ns::model::BackendRegistrar kRegistrar({"neutrino-rtl",
                                              "Verilated Neutrino RTL running the compiled program (verification; slow)",
                                              ns::model::PackageFormat::Int8,
                                              [](const ModelPackage& p, const BackendOptions& o) {
                                                return std::make_unique<RtlPredictor>(p, o);
                                              }});

}  // namespace
}  // namespace ntr::tb
