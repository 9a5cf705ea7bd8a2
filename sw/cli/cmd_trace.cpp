// `neuroscalar trace`: the tracers (docs/tracer.md). Four ways to run it:
//   trace -o OUT [sampling] -- PROGRAM ARGS...   QEMU plugin (fast path)
//   trace -o OUT --pid PID [sampling]            ptrace attach to a running process
//   trace --count -- PROGRAM ARGS...             count the program's instructions
//   trace --workload NAME | --list-workloads     the suite in configs/workloads.yaml
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include <fmt/format.h>

#include "commands.h"
#include "ns/trace/summary.h"
#include "ns/tracer/tracer.h"
#include "ns/tracer/workloads.h"

namespace ns::cli {
namespace {

namespace fs = std::filesystem;

struct Args {
  std::string output;
  std::string skip = "0", warmup = "0", epoch = "100000", epochs = "1", interval = "0";
  pid_t pid = 0;
  double gap_ms = 0;
  unsigned thread = 0;
  std::string in, out, err;
  bool count = false;
  std::string workload, workloads = "configs/workloads.yaml", trace_dir;
  bool list = false, force = false, json = false, quiet = false;
  std::vector<std::string> command;
};
Args a;

std::atomic<bool> g_stop{false};
void on_signal(int) { g_stop.store(true); }

tracer::SamplingOptions sampling() {
  tracer::SamplingOptions s;
  auto count = [](const char* name, const std::string& text) {
    try {
      return tracer::parse_count(text);
    } catch (const std::invalid_argument& e) {
      throw std::runtime_error(fmt::format("{}: {}", name, e.what()));
    }
  };
  s.skip = count("--skip", a.skip);
  s.warmup = count("--warmup", a.warmup);
  s.epoch = count("--epoch", a.epoch);
  s.epochs = count("--epochs", a.epochs);
  s.interval = count("--interval", a.interval);
  tracer::SamplingPlan check(s);  // rejects inconsistent sampling before anything runs
  return s;
}

// 1234567 -> "1.23 M"
std::string si(double v) {
  if (v >= 1e9) return fmt::format("{:.2f} G", v / 1e9);
  if (v >= 1e6) return fmt::format("{:.2f} M", v / 1e6);
  if (v >= 1e3) return fmt::format("{:.1f} k", v / 1e3);
  return fmt::format("{:.0f}", v);
}

tracer::ProgressFn progress(const std::string& label) {
  if (a.quiet) return {};
  return [label, next = 5.0](const tracer::Progress& p) mutable {
    if (p.seconds < next) return;
    next = p.seconds + 5;
    fmt::print(stderr, "[{}] {:.0f} s: {} instructions, {}/{} epochs, {} records\n", label,
               p.seconds, si(double(p.instructions)), p.epochs_done, p.epochs_total,
               si(double(p.records)));
  };
}

// Reads the trace back (every checksum and signature) and prints the result.
void report(const tracer::TraceResult& r, const std::string& label) {
  const trace::Reader reader(r.output);
  const trace::Summary s = trace::summarize(reader);
  if (a.json) {
    nlohmann::json j = {{"trace", r.to_json()}, {"summary", s.to_json()}};
    if (!label.empty()) j["workload"] = label;
    fmt::print("{}\n", j.dump(2));
    return;
  }
  fmt::print("trace: wrote {}: {} epochs, {} records ({} warm-up) from {} instructions in "
             "{:.1f} s ({} instructions/s); program: {}\n",
             r.output.string(), r.epochs, r.records, s.warmup_records, r.instructions, r.seconds,
             si(r.seconds > 0 ? double(r.instructions) / r.seconds : 0), r.ending());
  if (!a.quiet) fmt::print("{}", s.to_text());
}

void print_count(const tracer::TraceResult& r, const std::string& label) {
  if (a.json) {
    nlohmann::json j = {{"instructions", r.instructions},
                        {"seconds", r.seconds},
                        {"cpu_seconds", r.cpu_seconds},
                        {"ending", r.ending()}};
    if (!label.empty()) j["workload"] = label;
    fmt::print("{}\n", j.dump(2));
  } else {
    fmt::print("{}instructions: {} ({:.1f} s; program: {})\n",
               label.empty() ? "" : label + ": ", r.instructions, r.seconds, r.ending());
  }
}

tracer::Program program_from_args() {
  tracer::Program p;
  p.argv = a.command;
  p.stdin_path = a.in;
  p.stdout_path = a.out;
  p.stderr_path = a.err;
  return p;
}

void run_program() {
  if (!a.count && a.output.empty())
    throw std::runtime_error("-o/--output is required (or --count to only count instructions)");
  tracer::QemuOptions o;
  o.count_only = a.count;
  o.thread = a.thread;
  if (!a.count) o.sampling = sampling();
  o.progress = progress(fs::path(a.command[0]).filename().string());
  const tracer::TraceResult r = tracer::trace_program(program_from_args(), o, a.output);
  if (a.count) return print_count(r, "");
  if (r.signal)
    fmt::print(stderr, "trace: warning: the program was {}; the trace holds what was captured\n",
               r.ending());
  report(r, "");
}

void run_attach() {
  if (a.output.empty()) throw std::runtime_error("-o/--output is required with --pid");
  tracer::AttachOptions o;
  o.sampling = sampling();
  o.gap_seconds = a.gap_ms / 1000.0;
  o.progress = progress(fmt::format("pid {}", a.pid));
  o.stop = &g_stop;
  // Ctrl-C ends the capture early but still detaches and writes what was captured.
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  report(tracer::trace_attached(a.pid, o, a.output), "");
}

fs::path trace_dir() {
  if (!a.trace_dir.empty()) return a.trace_dir;
  if (const char* d = std::getenv("NS_TRACE_DIR"); d && *d) return d;
  return "build/traces";
}

void list_workloads() {
  const auto ws = tracer::load_workloads(a.workloads);
  if (a.json) {
    nlohmann::json j = nlohmann::json::array();
    for (const auto& w : ws)
      j.push_back({{"name", w.name},
                   {"suite", w.suite},
                   {"description", w.description},
                   {"command", w.command},
                   {"skip", w.sampling.skip},
                   {"warmup", w.sampling.warmup},
                   {"epoch", w.sampling.epoch},
                   {"epochs", w.sampling.epochs},
                   {"interval", w.sampling.interval},
                   {"thread", w.thread},
                   {"dataset_split", w.dataset_split.empty() ? nlohmann::json()
                                                             : nlohmann::json(w.dataset_split)},
                   {"trace", (trace_dir() / (w.name + ".nstrace")).string()}});
    fmt::print("{}\n", j.dump(2));
    return;
  }
  for (const auto& w : ws) fmt::print("{}\n", w.name);
}

std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

void run_workload() {
  const auto ws = tracer::load_workloads(a.workloads);
  const auto it = std::find_if(ws.begin(), ws.end(), [](const auto& w) { return w.name == a.workload; });
  if (it == ws.end())
    throw std::runtime_error(fmt::format("no workload '{}' in {} (--list-workloads lists them)",
                                         a.workload, a.workloads));
  const tracer::Workload& w = *it;
  const std::string digest = w.digest();
  const fs::path dir = trace_dir();
  const fs::path out = a.output.empty() ? dir / (w.name + ".nstrace") : fs::path(a.output);
  if (!a.force && !a.count && fs::exists(out)) {
    try {
      const trace::Reader r(out);
      if (r.metadata().value("workload_digest", "") == digest) {
        if (a.json)
          fmt::print("{}\n", nlohmann::json({{"workload", w.name},
                                             {"up_to_date", true},
                                             {"trace", out.string()}})
                                 .dump(2));
        else
          fmt::print("{}: up to date ({})\n", w.name, out.string());
        return;
      }
    } catch (const trace::TraceError&) {
      // unreadable: trace it again
    }
  }
  // Generate the input (once per workload definition).
  const fs::path work = dir / "work" / w.name;
  fs::create_directories(work);
  const fs::path marker = work / ".setup-digest";
  std::string done;
  std::ifstream(marker) >> done;
  if (done != digest) {
    fs::remove(marker);
    std::ofstream(work / "setup.sh") << w.setup;
    std::string env;
    for (const auto& [k, v] : w.env) env += k + "=" + shell_quote(v) + " ";
    if (!a.quiet) fmt::print(stderr, "[{}] generating the input\n", w.name);
    const int rc = std::system(
        fmt::format("cd {} && env {}bash -euo pipefail setup.sh > setup.log 2>&1",
                    shell_quote(work.string()), env)
            .c_str());
    if (rc != 0)
      throw std::runtime_error(fmt::format("workload {}: input generation failed (see {})",
                                           w.name, (work / "setup.log").string()));
    std::ofstream(marker) << digest;
  }
  tracer::Program p;
  p.argv = w.command;
  p.workdir = fs::absolute(work);
  p.stdin_path = w.stdin_file.empty() ? "/dev/null" : (p.workdir / w.stdin_file).string();
  p.stdout_path = w.stdout_file.empty() ? "/dev/null" : (p.workdir / w.stdout_file).string();
  p.stderr_path = (p.workdir / "stderr.txt").string();
  p.env = w.env;
  tracer::QemuOptions o;
  o.sampling = w.sampling;
  o.count_only = a.count;
  o.thread = w.thread;
  o.progress = progress(w.name);
  o.metadata = {{"workload", w.name}, {"workload_digest", digest}, {"suite", w.suite}};
  fs::create_directories(out.parent_path().empty() ? fs::path(".") : out.parent_path());
  const tracer::TraceResult r = tracer::trace_program(p, o, out);
  if (r.signal || r.exit_code != w.expect_status) {
    if (!a.count) fs::remove(out);
    throw std::runtime_error(fmt::format(
        "workload {}: the program ended with {}, expected exit status {} (its stderr: {})", w.name,
        r.ending(), w.expect_status, p.stderr_path));
  }
  if (a.count) return print_count(r, w.name);
  report(r, w.name);
}

void add(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "trace",
      "Trace a program into an .nstrace file: run it under QEMU with the tracer plugin "
      "(-- PROGRAM ARGS...), attach to a running process (--pid), or trace a workload of the "
      "suite (--workload). Counts accept k/M/G suffixes.");
  cmd->add_option("-o,--output", a.output, "trace file to write");
  cmd->add_option("--skip", a.skip, "instructions before the first epoch's warm-up")
      ->capture_default_str();
  cmd->add_option("--warmup", a.warmup, "warm-up records before each epoch")->capture_default_str();
  cmd->add_option("--epoch", a.epoch, "records per epoch")->capture_default_str();
  cmd->add_option("--epochs", a.epochs, "number of epochs")->capture_default_str();
  cmd->add_option("--interval", a.interval,
                  "instructions from one epoch start to the next (0: back to back)")
      ->capture_default_str();
  cmd->add_option("--thread", a.thread,
                  "with -- PROGRAM: trace the thread QEMU gives vCPU index K (0: the main "
                  "thread; K: the K-th thread created while none has exited)")
      ->capture_default_str();
  cmd->add_option("--pid", a.pid, "attach to this running process (thread) with ptrace");
  cmd->add_option("--gap-ms", a.gap_ms,
                  "with --pid: let the process run freely this long between epochs");
  cmd->add_option("--stdin", a.in, "the program's standard input (default: inherited)");
  cmd->add_option("--stdout", a.out, "the program's standard output (default: inherited)");
  cmd->add_option("--stderr", a.err, "the program's standard error (default: inherited)");
  cmd->add_flag("--count", a.count, "only count the program's instructions");
  cmd->add_option("--workload", a.workload, "trace this workload of the suite");
  cmd->add_option("--workloads", a.workloads, "the workload suite")->capture_default_str();
  cmd->add_option("--trace-dir", a.trace_dir,
                  "workload traces go here (default: $NS_TRACE_DIR, else build/traces)");
  cmd->add_flag("--force", a.force, "trace a workload even if its trace is up to date");
  cmd->add_flag("--list-workloads", a.list, "print the suite's workload names");
  cmd->add_flag("--json", a.json, "print the result as JSON");
  cmd->add_flag("-q,--quiet", a.quiet, "no progress, no opcode-class table");
  cmd->add_option("command", a.command, "-- PROGRAM ARGS...: the program to trace");
  cmd->callback([] {
    const int modes = !a.command.empty() + (a.pid != 0) + !a.workload.empty() + a.list;
    if (modes != 1)
      throw std::runtime_error(
          "give exactly one of: -- PROGRAM ARGS..., --pid PID, --workload NAME, "
          "--list-workloads");
    if (a.gap_ms != 0 && a.pid == 0) throw std::runtime_error("--gap-ms needs --pid");
    if (a.thread != 0 && a.command.empty())
      throw std::runtime_error("--thread needs -- PROGRAM ARGS... (a workload sets its own)");
    if (a.count && a.command.empty() && a.workload.empty())
      throw std::runtime_error("--count needs -- PROGRAM ARGS... or --workload NAME");
    if ((!a.in.empty() || !a.out.empty() || !a.err.empty()) && a.command.empty())
      throw std::runtime_error("--stdin/--stdout/--stderr need -- PROGRAM ARGS...");
    if (a.pid < 0) throw std::runtime_error(fmt::format("--pid {}: not a process id", a.pid));
    if (a.list) return list_workloads();
    if (!a.workload.empty()) return run_workload();
    if (a.pid != 0) return run_attach();
    run_program();
  });
}

const Registrar registrar(10, add);

}  // namespace
}  // namespace ns::cli
