#include "ns/runtime/driver.h"

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

namespace ns::runtime {

Driver::Driver(Device& device, const Bundle& bundle) : device_(device), bundle_(bundle) {
  const auto& want = bundle_.config;
  const auto& have = device_.config();
  if (ntr::isa::fingerprint(want) != ntr::isa::fingerprint(have))
    throw DeviceError(fmt::format("the bundle was compiled for accelerator '{}' ({} tiles); the {} device is '{}' ({} tiles)",
                                  want.name, want.tiles, device_.name(), have.name, have.tiles));
  const auto& L = bundle_.layout;
  const uint64_t in_rows = static_cast<uint64_t>(L.windows_per_tile * L.target + 2 * L.context());
  const uint64_t res = static_cast<uint64_t>(L.windows_per_tile * L.target * L.designs * 4);
  for (int64_t t = 0; t < L.tiles; ++t) {
    const auto base = static_cast<uint64_t>(t * L.tile_bytes);
    inputs_.push_back({base + static_cast<uint64_t>(L.input_offset), in_rows * static_cast<uint64_t>(L.row_bytes)});
    results_.push_back({base + static_cast<uint64_t>(L.result_offset), res});
  }
  uint64_t total = 0;
  for (const auto& r : results_) total += r.bytes;
  result_bytes_.resize(total);
  gib_.assign(static_cast<size_t>(L.gib_bytes), 0);
  device_.load_model(bundle_.program, bundle_.gwb_image);
  device_.set_result_ranges(results_);
}

int64_t Driver::runs_for(size_t n) const {
  const auto& L = bundle_.layout;
  const int64_t windows = (static_cast<int64_t>(n) + L.target - 1) / L.target;
  return (windows + L.windows_per_run() - 1) / L.windows_per_run();
}

ntr::compiler::HostLayout Driver::layout_for(size_t n) const {
  ntr::compiler::HostLayout L = bundle_.layout;
  L.epoch = static_cast<int64_t>(n);
  L.runs = runs_for(n);
  return L;
}

EpochStats Driver::run_epoch(std::span<const int8_t> bytes, size_t n, std::span<int32_t> r, RunSelect select) {
  const auto L = layout_for(n);
  if (bytes.size() != n * static_cast<size_t>(L.row_bytes) || r.size() != n * static_cast<size_t>(L.designs))
    throw DeviceError(fmt::format("driver: {} input bytes and {} results do not fit {} instructions of {} bytes and {} designs",
                                  bytes.size(), r.size(), n, L.row_bytes, L.designs));
  EpochStats st;
  st.instructions = n;
  if (select.first < 0 || select.step < 1) throw DeviceError("driver: bad run selection");
  for (int64_t run = select.first; run < L.runs; run += select.step) {
    L.write_inputs(bytes, run, gib_);
    for (const auto& in : inputs_)
      device_.write_inputs(in.offset, std::span<const uint8_t>(gib_).subspan(in.offset, in.bytes));
    device_.start();
    const RunStatus s = device_.wait();
    device_.read_results(result_bytes_);
    size_t at = 0;
    for (const auto& res : results_) {
      std::memcpy(gib_.data() + res.offset, result_bytes_.data() + at, res.bytes);
      at += res.bytes;
    }
    L.read_results(gib_, run, r);
    ++st.runs;
    st.cycles += s.cycles;
    st.device_seconds += s.device_seconds;
    st.expected_cycles += static_cast<uint64_t>(bundle_.expected_cycles_per_run);
  }
  return st;
}

}  // namespace ns::runtime
