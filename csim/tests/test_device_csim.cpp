// The device suite (sw/runtime/tests/device_suite.cpp) on csim's direct device.
#include "device_suite.h"
#include "ntr/csim/device.h"

namespace ns::runtime::testing {

std::unique_ptr<Device> make_device_under_test(const ntr::isa::AccelConfig& cfg) {
  return std::make_unique<ntr::csim::CsimDevice>(cfg);
}

}  // namespace ns::runtime::testing
