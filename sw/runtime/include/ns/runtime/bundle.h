// A compiled model as the host driver needs it: the program, the global weight buffer image and
// the manifest (docs/schedule.md, "Output bundle") with the accelerator config it was compiled
// for and the layout of epoch inputs and results in the global input buffer.
#pragma once

#include <cstdint>
#include <filesystem>
#include <vector>

#include <nlohmann/json.hpp>

#include "ntr/compiler/compiler.h"
#include "ntr/compiler/host.h"
#include "ntr/isa/config.h"
#include "ntr/isa/program.h"

namespace ns::runtime {

struct Bundle {
  ntr::isa::Program program;
  std::vector<uint8_t> gwb_image;
  nlohmann::ordered_json manifest;
  ntr::isa::AccelConfig config;      // from the manifest, fingerprint checked
  ntr::compiler::HostLayout layout;  // from the manifest
  int64_t expected_cycles_per_run = 0;

  int designs() const { return layout.designs; }
  int row_bytes() const { return layout.row_bytes; }
};

// Reads manifest.json, program.bin and gwb.bin of a bundle directory (neuroscalar compile -o).
// Throws DeviceError naming the file and the problem (missing file, bad manifest, a config whose
// fingerprint differs, an image larger than the global weight buffer).
Bundle load_bundle(const std::filesystem::path& dir);
// The same from a program compiled in memory.
Bundle make_bundle(const ntr::compiler::CompiledProgram& compiled);

// The accelerator config recorded in a manifest ("accel": flat parameter names).
ntr::isa::AccelConfig config_from_manifest(const nlohmann::ordered_json& manifest);

}  // namespace ns::runtime
