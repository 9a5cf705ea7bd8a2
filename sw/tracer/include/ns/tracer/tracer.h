// The two tracers (docs/tracer.md):
//  * trace_program(): the fast path. Runs an x86-64 Linux program under QEMU user-mode with the
//    project's TCG plugin and writes the sampled epochs to an .nstrace file.
//  * trace_attached(): the attach path. Samples epochs of a running process by single-stepping
//    it with ptrace, then detaches and leaves it running.
// Both produce the same records (x86_decode.h) and epochs (sampling.h).
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ns/tracer/sampling.h"

namespace ns::tracer {

// A problem the user can fix (bad program, missing QEMU, no permission to attach, ...).
class TracerError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct Progress {
  uint64_t instructions = 0;  // retired by the traced thread so far
  uint64_t epochs_done = 0;
  uint64_t epochs_total = 0;
  uint64_t records = 0;  // written so far, including warm-up
  double seconds = 0;
};
using ProgressFn = std::function<void(const Progress&)>;

struct TraceResult {
  std::filesystem::path output;
  uint32_t epochs = 0;
  uint64_t records = 0;       // written, including warm-up records
  uint64_t instructions = 0;  // retired by the traced thread while traced (QEMU: its whole run)
  bool exited = false;        // the program ended (QEMU: always; attach: while attached)
  int exit_code = 0;          // exit status if it exited normally
  int signal = 0;             // signal that killed it, else 0
  double seconds = 0;         // wall time
  double cpu_seconds = 0;     // QEMU: CPU time of the QEMU process (user + system)
  uint64_t mode_switches = 0; // QEMU: code-cache flushes between counting and capture
  std::string ending() const;  // "exit status 0", "killed by signal 11 (Segmentation fault)", ...
  nlohmann::json to_json() const;
};

struct Program {
  std::vector<std::string> argv;  // argv[0]: a path, or a name looked up in PATH
  std::filesystem::path workdir;  // empty: the current directory
  std::string stdin_path, stdout_path, stderr_path;  // empty: inherited
  std::map<std::string, std::string> env;            // added to (or replacing in) the environment
};

struct QemuOptions {
  SamplingOptions sampling;
  bool count_only = false;  // only count the program's instructions; no trace file
  // The thread to trace: QEMU's vCPU index. 0 is the main thread; a new thread gets one more
  // than the highest index alive, so K is the K-th thread created while none has exited yet.
  unsigned thread = 0;
  std::filesystem::path qemu;    // empty: $NS_QEMU, else qemu-x86_64 from PATH
  std::filesystem::path plugin;  // empty: find_qemu_plugin()
  ProgressFn progress;           // called about once a second
  nlohmann::json metadata = nlohmann::json::object();  // added to the trace metadata
};

// Runs the program under QEMU with the tracer plugin. Writes `output` (through a temporary
// name, renamed when complete) unless count_only. Throws TracerError when the program cannot be
// run, the plugin fails, or the program ends before the first epoch.
TraceResult trace_program(const Program& program, const QemuOptions& options,
                          const std::filesystem::path& output);

// The program's absolute path: argv[0] as given (relative to workdir), or found in PATH; checked
// to be an x86-64 ELF executable. Throws TracerError naming the problem.
std::filesystem::path resolve_program(const std::string& name, const std::filesystem::path& workdir);

// The tracer plugin: $NS_QEMU_PLUGIN, next to the running executable, in ../lib/neuroscalar/
// relative to it (installed layout), or in this build tree.
std::filesystem::path find_qemu_plugin();

struct AttachOptions {
  SamplingOptions sampling;
  // > 0: between epochs the process runs freely for this long instead of being single-stepped
  // through the interval (sampling.interval must then be 0).
  double gap_seconds = 0;
  ProgressFn progress;
  const std::atomic<bool>* stop = nullptr;  // set (e.g. from a signal handler) to end early
  nlohmann::json metadata = nlohmann::json::object();
};

// Attaches to the thread `pid` of a running process, captures the epochs, detaches. Epoch
// positions count the instructions single-stepped since the attach (time running freely in
// gaps is not counted). Throws TracerError (no such process, not permitted, ...).
TraceResult trace_attached(pid_t pid, const AttachOptions& options,
                           const std::filesystem::path& output);

}  // namespace ns::tracer
