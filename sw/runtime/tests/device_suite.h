// The end-to-end device tests (device_suite.cpp) are compiled once and linked into each backend's
// test binary, which supplies the device under test.
#pragma once

#include <memory>

#include "ns/runtime/device.h"

namespace ns::runtime::testing {

// The backend's device for `cfg`. Backends that can hold one device per process (SystemC) may
// return a handle to the same device each time (the suite always asks for the same config).
std::unique_ptr<Device> make_device_under_test(const ntr::isa::AccelConfig& cfg);

}  // namespace ns::runtime::testing
