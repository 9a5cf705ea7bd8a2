#include <elf.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>

#include <fmt/format.h>

#include "ns/tracer/tracer.h"
#include "output.h"
#include "ring.h"

namespace ns::tracer {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

constexpr uint32_t kRingLog2 = 19;  // 512 Ki entries, 24 MiB

double since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

std::optional<fs::path> search_path(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::string_view rest = path ? path : "/usr/local/bin:/usr/bin:/bin";
  while (true) {
    const size_t colon = rest.find(':');
    const std::string_view dir = rest.substr(0, colon);
    const fs::path candidate = fs::path(dir.empty() ? "." : std::string(dir)) / name;
    if (::access(candidate.c_str(), X_OK) == 0 && fs::is_regular_file(candidate))
      return fs::absolute(candidate);
    if (colon == std::string_view::npos) return std::nullopt;
    rest.remove_prefix(colon + 1);
  }
}

fs::path executable_dir() {
  std::error_code ec;
  const fs::path self = fs::read_symlink("/proc/self/exe", ec);
  return ec ? fs::path() : self.parent_path();
}

fs::path find_qemu(const fs::path& given) {
  if (!given.empty()) return given;
  if (const char* env = std::getenv("NS_QEMU"); env && *env) return env;
  if (auto p = search_path("qemu-x86_64")) return *p;
  throw TracerError(
      "qemu-x86_64 not found in PATH (Debian package qemu-user; scripts/bootstrap.sh installs "
      "it), and NS_QEMU is not set");
}

// The ring shared with the plugin: a memfd the child inherits.
class Ring {
 public:
  Ring() {
    fd_ = memfd_create("ns-trace-ring", MFD_CLOEXEC);
    if (fd_ < 0) throw TracerError(fmt::format("memfd_create: {}", std::strerror(errno)));
    bytes_ = ring::bytes(kRingLog2);
    if (ftruncate(fd_, static_cast<off_t>(bytes_)) != 0)
      throw TracerError(fmt::format("cannot size the trace ring: {}", std::strerror(errno)));
    void* mem = mmap(nullptr, bytes_, PROT_READ | PROT_WRITE, MAP_SHARED, fd_, 0);
    if (mem == MAP_FAILED)
      throw TracerError(fmt::format("cannot map the trace ring: {}", std::strerror(errno)));
    header_ = new (mem) ring::Header{};
    header_->magic = ring::kMagic;
    header_->version = ring::kVersion;
    header_->capacity_log2 = kRingLog2;
  }
  ~Ring() {
    if (header_) munmap(header_, bytes_);
    if (fd_ >= 0) close(fd_);
  }
  Ring(const Ring&) = delete;
  Ring& operator=(const Ring&) = delete;
  int fd() const { return fd_; }
  ring::Header& header() { return *header_; }
  ring::Entry* entries() { return ring::entries(header_); }

 private:
  int fd_ = -1;
  size_t bytes_ = 0;
  ring::Header* header_ = nullptr;
};

// Everything the child needs, prepared before fork (only async-signal-safe calls after it).
struct Launch {
  std::vector<std::string> args;
  std::vector<std::string> env;
  std::string workdir;
  std::string in, out, err;
};

std::vector<char*> c_strings(std::vector<std::string>& v) {
  std::vector<char*> p;
  for (std::string& s : v) p.push_back(s.data());
  p.push_back(nullptr);
  return p;
}

[[noreturn]] void child(Launch& l, int ring_fd, int err_fd, pid_t parent) {
  auto die = [&](int code) {
    const int e = errno;
    [[maybe_unused]] ssize_t w = write(err_fd, &code, sizeof code);
    w = write(err_fd, &e, sizeof e);
    _exit(127);
  };
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(127);
  // Deterministic addresses: the same program and input give the same trace.
  personality(static_cast<unsigned long>(personality(0xffffffff)) | ADDR_NO_RANDOMIZE);
  if (!l.workdir.empty() && chdir(l.workdir.c_str()) != 0) die(1);
  auto redirect = [&](const std::string& path, int fd, int flags, int code) {
    if (path.empty()) return;
    const int f = open(path.c_str(), flags, 0644);
    if (f < 0 || dup2(f, fd) < 0) die(code);
    close(f);
  };
  redirect(l.in, 0, O_RDONLY, 2);
  redirect(l.out, 1, O_WRONLY | O_CREAT | O_TRUNC, 3);
  redirect(l.err, 2, O_WRONLY | O_CREAT | O_TRUNC, 4);
  if (fcntl(ring_fd, F_SETFD, 0) != 0) die(5);
  auto argv = c_strings(l.args);
  auto envp = c_strings(l.env);
  execve(argv[0], argv.data(), envp.data());
  die(6);
  _exit(127);
}

}  // namespace

fs::path resolve_program(const std::string& name, const fs::path& workdir) {
  if (name.empty()) throw TracerError("no program given");
  fs::path p;
  if (name.find('/') != std::string::npos) {
    p = fs::path(name).is_absolute() || workdir.empty() ? fs::path(name) : workdir / name;
    if (!fs::exists(p)) throw TracerError(fmt::format("program '{}' does not exist", name));
  } else {
    auto found = search_path(name);
    if (!found) throw TracerError(fmt::format("program '{}' not found in PATH", name));
    p = *found;
  }
  p = fs::absolute(p);
  if (!fs::is_regular_file(p)) throw TracerError(fmt::format("'{}' is not a file", p.string()));
  if (::access(p.c_str(), X_OK) != 0)
    throw TracerError(fmt::format("'{}' is not executable", p.string()));
  std::ifstream f(p, std::ios::binary);
  Elf64_Ehdr eh{};
  f.read(reinterpret_cast<char*>(&eh), sizeof eh);
  if (!f || std::memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0)
    throw TracerError(fmt::format(
        "'{}' is not an ELF executable (a script? trace its interpreter, e.g. python3 SCRIPT)",
        p.string()));
  if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_machine != EM_X86_64)
    throw TracerError(fmt::format("'{}' is not an x86-64 program", p.string()));
  return p;
}

fs::path find_qemu_plugin() {
  constexpr const char* kName = "ns_qemu_plugin.so";
  std::vector<fs::path> tried;
  if (const char* env = std::getenv("NS_QEMU_PLUGIN"); env && *env) {
    if (fs::is_regular_file(env)) return env;
    throw TracerError(fmt::format("NS_QEMU_PLUGIN={} does not exist", env));
  }
  const fs::path dir = executable_dir();
  if (!dir.empty()) {
    tried.push_back(dir / kName);
    tried.push_back(dir / ".." / "lib" / "neuroscalar" / kName);
  }
#ifdef NS_QEMU_PLUGIN_BUILD_PATH
  tried.push_back(NS_QEMU_PLUGIN_BUILD_PATH);
#endif
  for (const fs::path& p : tried)
    if (fs::is_regular_file(p)) return fs::weakly_canonical(p);
  std::string where;
  for (const fs::path& p : tried) where += "\n  " + p.string();
  throw TracerError("the QEMU tracer plugin " + std::string(kName) +
                    " was not found (build it: make build; or set NS_QEMU_PLUGIN); looked in:" +
                    where);
}

TraceResult trace_program(const Program& program, const QemuOptions& options,
                          const fs::path& output) {
  if (program.argv.empty()) throw TracerError("no program given");
  const auto t0 = Clock::now();
  const fs::path exe = resolve_program(program.argv[0], program.workdir);
  std::optional<SamplingPlan> plan;
  if (!options.count_only) plan.emplace(options.sampling);
  const fs::path qemu = find_qemu(options.qemu);
  const fs::path plugin = options.plugin.empty() ? find_qemu_plugin() : options.plugin;

  Ring ring;
  std::unique_ptr<detail::TraceOutput> out;
  if (plan) {
    nlohmann::json meta = detail::base_metadata("qemu-plugin");
    meta["qemu"] = qemu.string();
    meta["thread"] = options.thread;
    meta.update(options.metadata);
    std::vector<std::string> args(program.argv.begin() + 1, program.argv.end());
    out = std::make_unique<detail::TraceOutput>(output, *plan, exe.string(), args, meta);
  }

  Launch l;
  std::string plugin_arg = fmt::format("{},ring={}", plugin.string(), ring.fd());
  if (plan) {
    const SamplingOptions& s = options.sampling;
    plugin_arg += fmt::format(",skip={},warmup={},epoch={},epochs={},interval={}", s.skip,
                              s.warmup, s.epoch, s.epochs, s.interval);
  } else {
    plugin_arg += ",count=1";
  }
  if (options.thread) plugin_arg += fmt::format(",thread={}", options.thread);
  l.args = {qemu.string(), "-plugin", plugin_arg, "-0", program.argv[0], exe.string()};
  l.args.insert(l.args.end(), program.argv.begin() + 1, program.argv.end());
  for (char** e = environ; *e; ++e) {
    const std::string kv = *e;
    if (!program.env.count(kv.substr(0, kv.find('=')))) l.env.push_back(kv);
  }
  for (const auto& [k, v] : program.env) l.env.push_back(k + "=" + v);
  l.workdir = program.workdir.string();
  l.in = program.stdin_path;
  l.out = program.stdout_path;
  l.err = program.stderr_path;

  int err_pipe[2];
  if (pipe2(err_pipe, O_CLOEXEC) != 0)
    throw TracerError(fmt::format("pipe: {}", std::strerror(errno)));
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) throw TracerError(fmt::format("fork: {}", std::strerror(errno)));
  if (pid == 0) child(l, ring.fd(), err_pipe[1], parent);
  close(err_pipe[1]);
  int failure[2] = {0, 0};
  const ssize_t got = read(err_pipe[0], failure, sizeof failure);
  close(err_pipe[0]);
  if (got == sizeof failure) {
    waitpid(pid, nullptr, 0);
    static constexpr const char* kWhat[] = {"",
                                            "cannot enter the working directory",
                                            "cannot open the program's stdin",
                                            "cannot create the program's stdout",
                                            "cannot create the program's stderr",
                                            "cannot pass the trace ring",
                                            "cannot run QEMU"};
    throw TracerError(fmt::format("{} ({}): {}", kWhat[std::clamp(failure[0], 0, 6)],
                                  failure[0] == 6 ? qemu.string() : l.workdir,
                                  std::strerror(failure[1])));
  }

  // Consume records until QEMU exits.
  ring::Header& h = ring.header();
  ring::Entry* slots = ring.entries();
  const uint64_t mask = (uint64_t{1} << kRingLog2) - 1;
  uint64_t read = 0;
  int status = 0;
  rusage usage{};
  bool ended = false;
  auto last_progress = Clock::now();
  timespec nap{0, 100'000};
  auto drain = [&] {
    const uint64_t w = h.write.load(std::memory_order_acquire);
    for (; read < w; ++read) {
      const ring::Entry& e = slots[read & mask];
      out->assembler().add(e.index, e.rec);
    }
    h.read.store(read, std::memory_order_release);
    return w;
  };
  while (true) {
    const uint64_t before = read;
    if (out) drain();
    if (options.progress && since(last_progress) >= 1.0) {
      last_progress = Clock::now();
      options.progress({h.instructions.load(), h.windows_done.load(), plan ? plan->windows() : 0,
                        out ? out->assembler().records() : 0, since(t0)});
    }
    if (read != before) {
      nap.tv_nsec = 100'000;
      continue;
    }
    const pid_t w = wait4(pid, &status, WNOHANG, &usage);
    if (w == pid) {
      ended = true;
      break;
    }
    if (w < 0 && errno != EINTR) break;
    nanosleep(&nap, nullptr);
    nap.tv_nsec = std::min<long>(nap.tv_nsec * 2, 2'000'000);
  }
  if (!ended) throw TracerError(fmt::format("lost track of QEMU: {}", std::strerror(errno)));
  if (out) drain();

  TraceResult r;
  r.output = output;
  r.seconds = since(t0);
  r.cpu_seconds = double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
                  1e-6 * double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec);
  r.instructions = h.instructions.load();
  r.mode_switches = h.mode_switches.load();
  r.exited = true;
  if (WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) r.signal = WTERMSIG(status);
  const uint32_t state = h.state.load(std::memory_order_acquire);
  if (state == ring::kStateInit)
    throw TracerError(fmt::format(
        "QEMU did not load the tracer plugin {} ({}; see QEMU's message above)", plugin.string(),
        r.ending()));
  if (state == ring::kStateFailed)
    throw TracerError(fmt::format("the tracer plugin failed: {}",
                                  std::string(h.error, strnlen(h.error, sizeof h.error))));
  if (out) {
    r.records = out->assembler().records();
    r.epochs = out->assembler().epochs();
    if (!out->commit())
      throw TracerError(fmt::format(
          "the program ({}) retired {} instructions{} and ended before the first epoch (which "
          "starts after --skip {} + --warmup {}); no trace written",
          r.ending(), r.instructions,
          options.thread ? fmt::format(" in thread {}", options.thread) : std::string(),
          options.sampling.skip, options.sampling.warmup));
  }
  return r;
}

}  // namespace ns::tracer
