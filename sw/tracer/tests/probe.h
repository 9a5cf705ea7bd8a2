// The tracers' test program (tests/data/probe.S) and an oracle for its records, built from the
// program's symbol table (nm) independently of the decoder under test.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "ns/trace/record.h"

namespace ns::tracer::testing {

// A program's symbols (nm): name -> address.
std::map<std::string, uint64_t> symbols_of(const std::filesystem::path& program);

struct Probe {
  std::filesystem::path path;
  std::map<std::string, uint64_t> symbols;

  static const Probe& get();  // NS_PROBE_PATH, symbols read once
  uint64_t at(const std::string& symbol) const;

  // Dynamic PCs of loop iteration i, from probe_i0 to probe_i15 inclusive.
  std::vector<uint64_t> iteration(uint64_t i) const;
  // Instructions from _start to the first probe_i0 for "probe N" (N with `digits` digits).
  static uint64_t prologue(int digits) { return 13 + 8 * uint64_t(digits); }
  // What "probe N" writes.
  static std::string output(uint64_t iterations);
};

// Checks that records[from..] follow the loop exactly, starting at probe_i0 of an iteration
// with number i (i % 64 is what matters), up to the end of the records or of the loop (after
// `iterations`): PCs, next_pc, taken flags, array addresses and stack-address consistency.
// Returns the number of records checked; reports failures through gtest.
size_t check_loop(std::span<const trace::Record> records, size_t from, uint64_t i,
                  uint64_t iterations = UINT64_MAX);

}  // namespace ns::tracer::testing
