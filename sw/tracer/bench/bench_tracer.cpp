// Tracer speed (docs/results/tracer.md): capture with full records, counting (skip) mode and
// ptrace attach, on xz compressing generated text. Prints a table and one JSON line.
//
//   bench_tracer [--quick]      (--quick: smaller inputs for the skip and attach runs)
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "ns/trace/trace.h"
#include "ns/tracer/tracer.h"

namespace fs = std::filesystem;
using namespace ns::tracer;

namespace {

double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

double self_cpu() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         1e-6 * double(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

// Deterministic text: words and numbers, like the workload suite's input.
void make_text(const fs::path& path, size_t bytes) {
  std::mt19937_64 rng(557);
  std::vector<std::string> words(5000);
  for (auto& w : words) {
    const size_t n = 2 + rng() % 10;
    for (size_t i = 0; i < n; ++i) w += char('a' + rng() % 26);
  }
  std::ofstream f(path);
  size_t size = 0;
  while (size < bytes) {
    std::string line;
    for (size_t i = 0, n = 4 + rng() % 13; i < n; ++i) line += words[rng() % words.size()] + " ";
    line += std::to_string(rng() % 100000) + "\n";
    size += line.size();
    f << line;
  }
}

Program xz(const fs::path& input) {
  Program p;
  p.argv = {"xz", "-6", "-T1", "-c", input.string()};
  p.stdout_path = "/dev/null";
  return p;
}

}  // namespace

int main(int argc, char** argv) {
  const bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
  const fs::path dir = fs::temp_directory_path() / fmt::format("ns_bench_tracer_{}", getpid());
  fs::create_directories(dir);
  nlohmann::json result;
  double load[1] = {0};
  if (getloadavg(load, 1) == 1) result["load_average_start"] = load[0];
  try {
    const fs::path whole = dir / "whole.txt", large = dir / "large.txt";
    make_text(whole, 20'000);
    make_text(large, quick ? 200'000 : 1'500'000);

    // 1. Capture with full records: xz's whole run on a 20 KB input (~23 M instructions, most
    //    of them setting up its dictionary), every instruction recorded.
    {
      QemuOptions o;
      o.sampling = {.skip = 0, .warmup = 0, .epoch = 100'000, .epochs = 1000};
      const double cpu0 = self_cpu();
      const TraceResult r = trace_program(xz(whole), o, dir / "full.nstrace");
      const double writer = self_cpu() - cpu0;
      if (r.records != r.instructions)
        throw std::runtime_error(fmt::format("capture: {} records of {} instructions", r.records,
                                             r.instructions));
      const double wall = r.seconds, qemu = r.cpu_seconds, n = double(r.records);
      fmt::print("capture (full records)   {:>12} records in {:6.2f} s  {:7.1f} M instr/s  "
                 "(per CPU second: QEMU + plugin {:.1f} M, writer {:.1f} M)\n",
                 r.records, wall, n / wall / 1e6, n / qemu / 1e6, n / writer / 1e6);
      result["capture"] = {{"records", r.records},
                           {"seconds", wall},
                           {"minstr_per_s", n / wall / 1e6},
                           {"producer_minstr_per_cpu_s", n / qemu / 1e6},
                           {"writer_minstr_per_cpu_s", n / writer / 1e6},
                           {"trace_bytes", fs::file_size(dir / "full.nstrace")}};
      fs::remove(dir / "full.nstrace");
    }
    // 2. Counting (skip) mode, and QEMU alone for reference.
    {
      QemuOptions o;
      o.count_only = true;
      const TraceResult r = trace_program(xz(large), o, {});
      const double mips = double(r.instructions) / r.seconds / 1e6;
      const double cpu_mips = double(r.instructions) / r.cpu_seconds / 1e6;
      fmt::print("skip (counting)          {:>12} instr   in {:6.2f} s  {:7.1f} M instr/s  "
                 "({:.1f} M instr per CPU second)\n",
                 r.instructions, r.seconds, mips, cpu_mips);
      result["skip"] = {{"instructions", r.instructions},
                        {"seconds", r.seconds},
                        {"minstr_per_s", mips},
                        {"minstr_per_cpu_s", cpu_mips}};
      const std::string cmd = fmt::format("qemu-x86_64 /usr/bin/xz -6 -T1 -c '{}' > /dev/null",
                                          large.string());
      const double t0 = now();
      if (std::system(cmd.c_str()) == 0) {
        const double s = now() - t0;
        fmt::print("QEMU without the plugin  {:>12} instr   in {:6.2f} s  {:7.1f} M instr/s\n",
                   r.instructions, s, double(r.instructions) / s / 1e6);
        result["qemu_alone"] = {{"seconds", s}, {"minstr_per_s", double(r.instructions) / s / 1e6}};
      }
      // A sampled trace as `make traces` takes them: 20 epochs spread over the run.
      QemuOptions s;
      const uint64_t interval = r.instructions / 21;
      s.sampling = {.skip = interval / 2, .warmup = 50'000, .epoch = 100'000, .epochs = 20,
                    .interval = interval};
      const TraceResult t = trace_program(xz(large), s, dir / "sampled.nstrace");
      fmt::print("sampled (20 x 100k)      {:>12} instr   in {:6.2f} s  {:7.1f} M instr/s  "
                 "({} records, {} code-cache flushes)\n",
                 t.instructions, t.seconds, double(t.instructions) / t.seconds / 1e6, t.records,
                 t.mode_switches);
      result["sampled"] = {{"instructions", t.instructions},
                           {"seconds", t.seconds},
                           {"minstr_per_s", double(t.instructions) / t.seconds / 1e6},
                           {"records", t.records},
                           {"mode_switches", t.mode_switches}};
    }
    // 3. Attach: single-step a running (native) xz.
    {
      const pid_t pid = fork();
      if (pid == 0) {  // compresses random bytes until killed
        dup2(open("/dev/urandom", O_RDONLY), 0);
        dup2(open("/dev/null", O_WRONLY), 1);
        execlp("xz", "xz", "-6", "-T1", "-c", nullptr);
        _exit(127);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
      AttachOptions o;
      o.sampling = {.skip = 0, .warmup = 0, .epoch = quick ? 5'000u : 50'000u, .epochs = 2};
      const TraceResult r = trace_attached(pid, o, dir / "attach.nstrace");
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
      const double kips = double(r.records) / r.seconds / 1e3;
      fmt::print("attach (ptrace)          {:>12} records in {:6.2f} s  {:7.1f} k instr/s\n",
                 r.records, r.seconds, kips);
      result["attach"] = {{"records", r.records}, {"seconds", r.seconds}, {"kinstr_per_s", kips}};
    }
  } catch (const std::exception& e) {
    fmt::print(stderr, "bench_tracer: error: {}\n", e.what());
    fs::remove_all(dir);
    return 1;
  }
  fs::remove_all(dir);
  if (getloadavg(load, 1) == 1) result["load_average_end"] = load[0];
  fmt::print("load average (1 min, {} cores): {:.1f} at the start, {:.1f} at the end\n",
             std::thread::hardware_concurrency(), result.value("load_average_start", 0.0),
             result.value("load_average_end", 0.0));
  fmt::print("{}\n", result.dump());
  return 0;
}
