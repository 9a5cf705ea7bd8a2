// Writing a trace file from either tracer: the Writer goes to a temporary name that becomes the
// output only when the trace is complete, so an interrupted run never leaves a file that looks
// finished.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ns/trace/trace.h"
#include "ns/tracer/sampling.h"

namespace ns::tracer::detail {

class TraceOutput {
 public:
  TraceOutput(const std::filesystem::path& output, const SamplingPlan& plan,
              const std::string& program, const std::vector<std::string>& args,
              nlohmann::json metadata);
  ~TraceOutput();  // removes the temporary file unless committed
  TraceOutput(const TraceOutput&) = delete;
  TraceOutput& operator=(const TraceOutput&) = delete;

  EpochAssembler& assembler() { return *assembler_; }
  // Closes the open epoch and the file and renames it to the output; false (and nothing written)
  // when no epoch was captured.
  bool commit();

 private:
  std::filesystem::path output_, temp_;
  std::unique_ptr<trace::Writer> writer_;
  std::unique_ptr<EpochAssembler> assembler_;
  bool committed_ = false;
};

// Metadata common to both tracers: host, time, tracer version.
nlohmann::json base_metadata(const char* tracer);

}  // namespace ns::tracer::detail
