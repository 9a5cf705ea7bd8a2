// The workload suite (configs/workloads.yaml): real programs from Debian packages, each with an
// input the project generates itself and its own sampling. `make traces` traces them all.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "ns/tracer/sampling.h"

namespace ns::tracer {

struct Workload {
  std::string name;         // [a-z0-9_.+-]+, also the trace's file name
  std::string suite;        // compiler, compression, interpreter, database, text, numeric, ...
  std::string description;
  std::string setup;        // bash script run in the workload's directory: generates the input
  std::vector<std::string> command;  // program (PATH or relative to the directory) and arguments
  std::string stdin_file;   // relative to the directory; empty: /dev/null
  std::string stdout_file;  // relative to the directory; empty: /dev/null
  std::map<std::string, std::string> env;
  SamplingOptions sampling;
  int expect_status = 0;
  unsigned thread = 0;  // the thread to trace (QemuOptions::thread); 0: the main thread
  // For the dataset builder, not the tracer: "train", "validation" or "test" pins the program's
  // split (docs/tracer.md); empty: the builder chooses.
  std::string dataset_split;

  // SHA-256 (hex) over what decides the trace (all of the above but suite, description and
  // dataset_split) and the tracer's record version: a cached trace with the same digest is up
  // to date.
  std::string digest() const;
};

// Reads and validates the suite; throws std::runtime_error naming the file, the workload and the
// field.
std::vector<Workload> load_workloads(const std::filesystem::path& yaml);

// "100000", "100k", "1.5M", "2G" (powers of ten) -> count; throws std::invalid_argument.
uint64_t parse_count(const std::string& text);

// Bumped whenever the records a tracer writes for the same program change meaning.
inline constexpr int kTracerRecordVersion = 1;

}  // namespace ns::tracer
