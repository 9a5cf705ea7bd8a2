#include "ns/model/backend.h"

#include <map>
#include <mutex>

#include <fmt/format.h>

#include "ns/model/error.h"
#include "ns/model/fp32_model.h"

namespace ns::model {

namespace {

class Fp32Predictor : public Predictor {
 public:
  Fp32Predictor(const ModelPackage& p, const BackendOptions& o)
      : model_(p, RunOptions{o.threads, o.batch_windows}) {}
  const ModelConfig& card() const override { return model_.card(); }
  void predict_epoch(std::span<const int32_t> features, size_t n, std::span<uint32_t> cycles) override {
    model_.predict(features, n, Fp32Outputs{.cycles = cycles});
  }

 private:
  Fp32Model model_;
};

class Int8ReferencePredictor : public Int8DevicePredictor {
 public:
  Int8ReferencePredictor(const ModelPackage& p, const BackendOptions& o)
      : Int8DevicePredictor(p), ref_(p, RunOptions{o.threads, o.batch_windows}) {}

 protected:
  void run_device(std::span<const int8_t> bytes, size_t n, std::span<int32_t> r) override {
    ref_.run_device(bytes, n, r);
  }

 private:
  Int8Reference ref_;
};

struct Registry {
  std::mutex mutex;
  std::map<std::string, BackendInfo, std::less<>> map;
};

// Built-ins are added on first use, so no static-initialisation order matters.
Registry& registry() {
  static Registry* r = [] {
    auto* reg = new Registry;
    auto add = [&](BackendInfo i) { reg->map.emplace(i.name, std::move(i)); };
    add({"fp32", "FP32 golden model on the host CPU (Eigen)", PackageFormat::Fp32,
         [](const ModelPackage& p, const BackendOptions& o) { return std::make_unique<Fp32Predictor>(p, o); }});
    add({"int8", "bit-exact INT8 reference on the host CPU (docs/int8-spec.md)", PackageFormat::Int8,
         [](const ModelPackage& p, const BackendOptions& o) {
           return std::make_unique<Int8ReferencePredictor>(p, o);
         }});
    return reg;
  }();
  return *r;
}

}  // namespace

Int8DevicePredictor::Int8DevicePredictor(const ModelPackage& p)
    : card_(p.card), codec_(int8::FeatureCodec::from_package(p)), decoder_(CycleDecoder::from_package(p)) {
  if (p.card.format != PackageFormat::Int8)
    throw ModelError("an INT8 device backend needs a neuroscalar-int8 package");
}

void Int8DevicePredictor::predict_epoch(std::span<const int32_t> features, size_t n,
                                        std::span<uint32_t> cycles) {
  const size_t D = static_cast<size_t>(card_.head_sets());
  if (features.size() != n * static_cast<size_t>(card_.features()) || cycles.size() != n * D)
    throw ModelError(fmt::format("backend: {} features and {} outputs do not fit {} instructions",
                                 features.size(), cycles.size(), n));
  bytes_.resize(n * static_cast<size_t>(codec_.row_bytes()));
  codec_.encode(features, bytes_);
  r_.resize(n * D);
  run_device(bytes_, n, r_);
  decoder_.decode(r_, cycles);
}

void register_backend(BackendInfo info) {
  auto& r = registry();
  const std::lock_guard lock(r.mutex);
  if (info.name.empty() || !info.make) throw ModelError("a backend needs a name and a factory");
  const std::string name = info.name;
  if (!r.map.emplace(name, std::move(info)).second)
    throw ModelError("backend '" + name + "' is registered twice");
}

std::vector<BackendInfo> backends() {
  auto& r = registry();
  const std::lock_guard lock(r.mutex);
  std::vector<BackendInfo> out;
  for (const auto& [name, info] : r.map) out.push_back(info);
  return out;
}

const BackendInfo& find_backend(std::string_view name) {
  auto& r = registry();
  const std::lock_guard lock(r.mutex);
  const auto it = r.map.find(name);
  if (it == r.map.end()) {
    std::vector<std::string> known;
    for (const auto& [n, i] : r.map) known.push_back(n);
    throw ModelError(fmt::format("unknown backend '{}' (known: {})", name, fmt::join(known, ", ")));
  }
  return it->second;
}

std::unique_ptr<Predictor> make_backend(std::string_view name, const ModelPackage& package,
                                        const BackendOptions& options) {
  const BackendInfo& info = find_backend(name);
  if (package.card.format != info.format)
    throw ModelError(fmt::format("backend '{}' runs {} packages, the model is {}", name,
                                 format_name(info.format), format_name(package.card.format)));
  return info.make(package, options);
}

}  // namespace ns::model
