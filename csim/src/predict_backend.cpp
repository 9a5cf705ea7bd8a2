// The "neutrino-sim" prediction backend: the INT8 package compiled for a Neutrino instance and
// run on csim through the host driver, so `neuroscalar predict --backend neutrino-sim` and the
// INT8 reference must agree bit for bit. Options (--backend-opt KEY=VALUE): config (a shipped
// config name or a YAML file), tiles (scale the config), check=strict (fail when the device
// cycles differ from the schedule report). --threads runs an epoch's runs on several simulated
// devices at once.
#include <algorithm>
#include <map>
#include <memory>
#include <thread>

#include <fmt/format.h>

#include "ns/model/backend.h"
#include "ns/model/error.h"
#include "ns/runtime/driver.h"
#include "ntr/compiler/compiler.h"
#include "ntr/csim/accel.h"
#include "ntr/csim/device.h"

namespace ntr::csim {

// Referenced from backend_anchor.cpp (an INTERFACE source of ns_csim) so that every executable
// linking ns_csim keeps this object file and its registrar.
int g_neutrino_sim_backend = 0;

namespace {

using ns::model::BackendOptions;
using ns::model::ModelPackage;

class SimPredictor : public ns::model::Int8DevicePredictor {
 public:
  SimPredictor(const ModelPackage& p, const BackendOptions& o) : Int8DevicePredictor(p), package_(p) {
    auto opt = [&](const char* key) { return o.extra.contains(key) ? o.extra.at(key).get<std::string>() : std::string(); };
    for (const auto& [k, v] : o.extra.items())
      if (k != "config" && k != "tiles" && k != "check")
        throw ns::model::ModelError(fmt::format("neutrino-sim: unknown option '{}' (known: config, tiles, check)", k));
    int64_t tiles = 0;
    if (const auto t = opt("tiles"); !t.empty()) {
      try {
        tiles = std::stoll(t);
      } catch (const std::exception&) {
        tiles = -1;
      }
      if (tiles < 1 || tiles > 64) throw ns::model::ModelError(fmt::format("neutrino-sim: tiles={} is not in 1..64", t));
    }
    const std::string check = opt("check");
    if (!check.empty() && check != "strict" && check != "report")
      throw ns::model::ModelError(fmt::format("neutrino-sim: check={} (known: strict, report)", check));
    strict_ = check == "strict";
    try {
      cfg_ = resolve_accel(opt("config"), tiles);
    } catch (const isa::IsaError& e) {
      throw ns::model::ModelError(std::string("neutrino-sim: ") + e.what());
    }
    threads_ = o.threads > 0 ? o.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  }

  nlohmann::json last_epoch_stats() const override { return stats_; }

 protected:
  void run_device(std::span<const int8_t> bytes, size_t n, std::span<int32_t> r) override {
    Engine& e = engine(n);
    const int k = static_cast<int>(std::min<int64_t>(static_cast<int64_t>(e.drivers.size()), e.drivers[0]->runs_for(n)));
    std::vector<ns::runtime::EpochStats> part(static_cast<size_t>(k));
    std::vector<std::exception_ptr> err(static_cast<size_t>(k));
    for (auto& d : e.devices) d->clear_counters();
    auto work = [&](int i) {
      try {
        part[static_cast<size_t>(i)] = e.drivers[static_cast<size_t>(i)]->run_epoch(bytes, n, r, {i, k});
      } catch (...) {
        err[static_cast<size_t>(i)] = std::current_exception();
      }
    };
    std::vector<std::thread> pool;
    for (int i = 1; i < k; ++i) pool.emplace_back(work, i);
    work(0);
    for (auto& t : pool) t.join();
    for (const auto& x : err)
      if (x) std::rethrow_exception(x);
    ns::runtime::EpochStats st;
    Stats total = e.devices[0]->totals();
    for (int i = 0; i < k; ++i) {
      st.runs += part[static_cast<size_t>(i)].runs;
      st.cycles += part[static_cast<size_t>(i)].cycles;
      st.expected_cycles += part[static_cast<size_t>(i)].expected_cycles;
      st.device_seconds += part[static_cast<size_t>(i)].device_seconds;
      if (i > 0) total.accumulate(e.devices[static_cast<size_t>(i)]->totals());
    }
    if (strict_ && st.cycles != st.expected_cycles)
      throw ns::model::ModelError(fmt::format("neutrino-sim: {} device cycles, the schedule report says {}", st.cycles,
                                              st.expected_cycles));
    stats_ = {{"accel", cfg_.name},
              {"tiles", cfg_.tiles},
              {"runs", st.runs},
              {"device_cycles", st.cycles},
              {"schedule_cycles", st.expected_cycles},
              {"matches_schedule", st.cycles == st.expected_cycles},
              {"device_seconds", st.device_seconds},
              {"device_instructions_per_second", st.device_seconds > 0 ? static_cast<double>(n) / st.device_seconds : 0.0},
              {"mac_utilization", total.mac_utilization()}};
  }

 private:
  struct Engine {
    ns::runtime::Bundle bundle;
    std::vector<std::unique_ptr<CsimDevice>> devices;
    std::vector<std::unique_ptr<ns::runtime::Driver>> drivers;
  };

  // Programs are compiled per epoch length: a run holds W windows per tile, and W is chosen for
  // the epoch (a short test epoch should not run hundreds of padding windows).
  Engine& engine(size_t n) {
    auto it = engines_.find(n);
    if (it != engines_.end()) return *it->second;
    if (engines_.size() >= 4) engines_.erase(engines_.begin());
    auto e = std::make_unique<Engine>();
    compiler::CompileOptions co;
    co.epoch = static_cast<int64_t>(std::max<size_t>(n, 1));
    try {
      e->bundle = ns::runtime::make_bundle(compiler::compile(package_, cfg_, co));
    } catch (const compiler::CompileError& x) {
      throw ns::model::ModelError(fmt::format("neutrino-sim: cannot compile for '{}': {}", cfg_.name, x.what()));
    }
    const int64_t runs = std::max<int64_t>(1, e->bundle.layout.runs);
    const int k = static_cast<int>(std::min<int64_t>(threads_, runs));
    for (int i = 0; i < k; ++i) {
      e->devices.push_back(std::make_unique<CsimDevice>(cfg_));
      e->drivers.push_back(std::make_unique<ns::runtime::Driver>(*e->devices.back(), e->bundle));
    }
    return *engines_.emplace(n, std::move(e)).first->second;
  }

  ModelPackage package_;
  isa::AccelConfig cfg_;
  int threads_ = 1;
  bool strict_ = false;
  std::map<size_t, std::unique_ptr<Engine>> engines_;
  nlohmann::json stats_ = nlohmann::json::object();
};

const ns::model::BackendRegistrar kRegistrar({"neutrino-sim",
                                              "cycle-level Neutrino simulator (csim) running the compiled program",
                                              ns::model::PackageFormat::Int8,
                                              [](const ModelPackage& p, const BackendOptions& o) {
                                                return std::make_unique<SimPredictor>(p, o);
                                              }});

}  // namespace
}  // namespace ntr::csim
