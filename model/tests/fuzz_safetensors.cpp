// libFuzzer target (NS_FUZZ=ON, clang): the safetensors parser and package validation must reject
// any byte string with a ModelError, never crash or read out of bounds.
#include <cstddef>
#include <cstdint>
#include <span>

#include "ns/model/error.h"
#include "ns/model/features.h"
#include "ns/model/package.h"
#include "ns/model/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    auto f = ns::model::parse_safetensors(std::as_bytes(std::span(data, size)), "fuzz");
    // Whatever parsed must also survive validation against a card and a re-serialisation.
    static const ns::model::ModelPackage random = [] {
      ns::model::ModelConfig c;
      c.variant = "fuzz";
      c.arch.input_proj = 4;
      c.arch.hidden = 2;
      c.arch.head_hidden = 2;
      c.window_length = 3;
      c.window_target = 1;
      c.clip = 4;
      c.designs = {"d"};
      c.feature_names = ns::model::FeatureEncoder("paper13").feature_names();
      return ns::model::make_random_int8_package(c, 1);
    }();
    ns::model::ModelPackage p{random.card, f.tensors};
    try {
      ns::model::validate_package(p, "fuzz");
    } catch (const ns::model::ModelError&) {
    }
    (void)ns::model::serialize_safetensors(f);
  } catch (const ns::model::ModelError&) {
  }
  return 0;
}
