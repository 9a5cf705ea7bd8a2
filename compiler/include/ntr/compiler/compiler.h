// The Neutrino compiler: an INT8 model package + an accelerator config + a window -> a program,
// the global weight buffer image, the host layout of the global input buffer (epoch inputs and
// results), a memory map, a listing and the schedule report (docs/schedule.md).
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ns/model/package.h"
#include "ntr/compiler/error.h"
#include "ntr/compiler/timing.h"
#include "ntr/isa/config.h"
#include "ntr/isa/program.h"

namespace ntr::compiler {

struct CompileOptions {
  int window_length = 0;  // 0: the model card's L
  int window_target = 0;  // 0: the model card's T
  int64_t epoch = 100000;             // instructions per epoch (the host splits it into runs)
  int64_t max_windows_per_tile = 0;   // per run; 0: as many as fit the global input buffer
  int burst = 0;                      // projection rows per chain per burst; 0: chosen
  int head_chunk = 0;                 // target positions per head chunk; 0: chosen
  bool extrapolate = true;            // timing model skips periodic windows exactly
};

struct CompiledProgram {
  isa::Program program;
  std::vector<uint8_t> gwb_image;      // bytes 0.. of the global weight buffer
  nlohmann::ordered_json manifest;     // everything a simulator or testbench needs (schedule.md)
  nlohmann::ordered_json report;       // the schedule report
  std::string report_text;             // the same, as a table
  std::string listing;                 // disassembly with comments
  std::string memory_map;              // every allocation, as text
  TimingResult timing;                 // of one run
  std::array<std::vector<Cat>, isa::kStreams> cats;
  std::array<int64_t, isa::kStreams> window_loop_pc{};
};

// Throws CompileError naming the problem (a buffer that overflows: which one and by how much).
CompiledProgram compile(const ns::model::ModelPackage& int8_package, const isa::AccelConfig& cfg,
                        const CompileOptions& opt = {});

// Writes manifest.json, program.bin, gwb.bin, listing.txt, memory_map.txt, report.json into dir.
void write_bundle(const CompiledProgram& c, const std::filesystem::path& dir);

// The MACs of one window position in the LSTM layers (both layers, every direction), and the
// model's MACs per window (projection of L positions, LSTM, heads of T targets): an independent
// count from the model shape, for the report and its tests.
int64_t lstm_macs_per_position(const ns::model::ModelConfig& card);

}  // namespace ntr::compiler
