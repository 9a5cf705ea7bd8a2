#include "output.h"

#include <sys/utsname.h>
#include <unistd.h>

#include <chrono>
#include <ctime>

#include <fmt/format.h>

#include "ns/tracer/tracer.h"

namespace ns::tracer {

std::string TraceResult::ending() const {
  if (signal) return fmt::format("killed by signal {} ({})", signal, strsignal(signal));
  if (exited) return fmt::format("exit status {}", exit_code);
  return "still running (detached)";
}

nlohmann::json TraceResult::to_json() const {
  nlohmann::json j;
  j["output"] = output.string();
  j["epochs"] = epochs;
  j["records"] = records;
  j["instructions"] = instructions;
  j["exited"] = exited;
  if (exited) j["exit_code"] = exit_code;
  if (signal) j["signal"] = signal;
  j["ending"] = ending();
  j["seconds"] = seconds;
  if (cpu_seconds > 0) j["cpu_seconds"] = cpu_seconds;
  j["mode_switches"] = mode_switches;
  return j;
}

namespace detail {

nlohmann::json base_metadata(const char* tracer) {
  nlohmann::json m;
  m["tracer"] = tracer;
  m["tracer_version"] = 1;
  utsname u{};
  if (uname(&u) == 0) {
    m["host"] = u.nodename;
    m["kernel"] = fmt::format("{} {} {}", u.sysname, u.release, u.machine);
  }
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  m["time"] = buf;
  return m;
}

TraceOutput::TraceOutput(const std::filesystem::path& output, const SamplingPlan& plan,
                         const std::string& program, const std::vector<std::string>& args,
                         nlohmann::json metadata)
    : output_(output), temp_(output.string() + fmt::format(".{}.partial", getpid())) {
  trace::TraceMeta meta = plan.meta();
  meta.program = program;
  meta.args = args;
  meta.extra = std::move(metadata);
  try {
    writer_ = std::make_unique<trace::Writer>(temp_, meta);
  } catch (const trace::TraceError& e) {
    throw TracerError(fmt::format("cannot write the trace {}: {}", output_.string(), e.what()));
  }
  assembler_ = std::make_unique<EpochAssembler>(plan, *writer_);
}

TraceOutput::~TraceOutput() {
  if (committed_) return;
  assembler_.reset();
  writer_.reset();
  std::error_code ec;
  std::filesystem::remove(temp_, ec);
}

bool TraceOutput::commit() {
  assembler_->finish();
  if (assembler_->epochs() == 0) return false;
  writer_->close();
  std::error_code ec;
  std::filesystem::rename(temp_, output_, ec);
  if (ec)
    throw TracerError(fmt::format("cannot rename {} to {}: {}", temp_.string(), output_.string(),
                                  ec.message()));
  committed_ = true;
  return true;
}

}  // namespace detail
}  // namespace ns::tracer
