// The attach path: single-step a running thread with ptrace, decode each instruction with the
// shared decoder, compute its memory address from the registers, then detach.
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <thread>
#include <unordered_map>

#include <fmt/format.h>

#include "ns/tracer/tracer.h"
#include "ns/tracer/x86_decode.h"
#include "output.h"

namespace ns::tracer {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

double since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

std::string read_first_line(const fs::path& p) {
  std::ifstream f(p);
  std::string s;
  std::getline(f, s);
  return s;
}

class Tracee {
 public:
  enum class Step { Retired, NoInstruction, Ended, Stopped };

  explicit Tracee(pid_t pid) : pid_(pid) {
    if (pid <= 0) throw TracerError(fmt::format("invalid process id {}", pid));
    if (ptrace(PTRACE_SEIZE, pid, nullptr, nullptr) != 0) {
      const int e = errno;
      if (e == ESRCH) throw TracerError(fmt::format("no process {}", pid));
      if (e == EPERM) {
        const std::string scope = read_first_line("/proc/sys/kernel/yama/ptrace_scope");
        throw TracerError(fmt::format(
            "not permitted to attach to process {} (it belongs to another user, is already "
            "traced, or ptrace is restricted{}); run as its owner with CAP_SYS_PTRACE or lower "
            "kernel.yama.ptrace_scope",
            pid, scope.empty() ? "" : ": kernel.yama.ptrace_scope = " + scope));
      }
      throw TracerError(fmt::format("cannot attach to process {}: {}", pid, std::strerror(e)));
    }
    attached_ = true;
    if (ptrace(PTRACE_INTERRUPT, pid, nullptr, nullptr) != 0)
      throw TracerError(fmt::format("cannot stop process {}: {}", pid, std::strerror(errno)));
    // Wait for the interrupt stop; deliver any signal that arrives first.
    while (true) {
      int st = 0;
      if (waitpid(pid_, &st, __WALL) < 0)
        throw TracerError(fmt::format("waiting for process {}: {}", pid, std::strerror(errno)));
      if (WIFEXITED(st) || WIFSIGNALED(st)) {
        attached_ = false;
        throw TracerError(fmt::format("process {} ended while attaching", pid));
      }
      if ((st >> 16) == PTRACE_EVENT_STOP) break;
      ptrace(PTRACE_CONT, pid_, nullptr, reinterpret_cast<void*>(uintptr_t(WSTOPSIG(st))));
    }
  }

  ~Tracee() {
    if (attached_) ptrace(PTRACE_DETACH, pid_, nullptr, reinterpret_cast<void*>(uintptr_t(signal_)));
  }
  Tracee(const Tracee&) = delete;
  Tracee& operator=(const Tracee&) = delete;

  // The registers as the next instruction will see them. A process stopped inside an
  // interrupted system call shows rip after the `syscall` and rax = -ERESTART*; resuming it
  // re-executes the syscall, so that is the next instruction.
  void regs(X86Regs& r) const {
    user_regs_struct u{};
    if (ptrace(PTRACE_GETREGS, pid_, nullptr, &u) != 0)
      throw TracerError(fmt::format("cannot read the registers of {}: {}", pid_,
                                    std::strerror(errno)));
    const auto rax = static_cast<int64_t>(u.rax);
    if (static_cast<int64_t>(u.orig_rax) >= 0 &&
        (rax == -512 || rax == -513 || rax == -514 || rax == -516)) {  // ERESTART*
      u.rip -= 2;
      u.rax = u.orig_rax;
    }
    r.gpr = {u.rax, u.rcx, u.rdx, u.rbx, u.rsp, u.rbp, u.rsi, u.rdi,
             u.r8,  u.r9,  u.r10, u.r11, u.r12, u.r13, u.r14, u.r15};
    r.rip = u.rip;
    r.fs_base = u.fs_base;
    r.gs_base = u.gs_base;
  }

  // Reads up to 16 code bytes at addr; returns how many could be read.
  size_t code(uint64_t addr, uint8_t* buf) const {
    size_t want = 16, got = 0;
    while (got < want) {
      // Split at the page boundary: the next page may be unmapped.
      const size_t chunk = std::min(want - got, 4096 - ((addr + got) & 4095));
      iovec local{buf + got, chunk};
      iovec remote{reinterpret_cast<void*>(addr + got), chunk};
      const ssize_t n = process_vm_readv(pid_, &local, 1, &remote, 1, 0);
      if (n <= 0) break;
      got += static_cast<size_t>(n);
    }
    return got;
  }

  // Executes one instruction (or delivers a pending signal).
  Step step() {
    if (ptrace(PTRACE_SINGLESTEP, pid_, nullptr, reinterpret_cast<void*>(uintptr_t(signal_))) != 0)
      throw TracerError(fmt::format("single-step of {} failed: {}", pid_, std::strerror(errno)));
    signal_ = 0;
    return wait_stop();
  }

  // Lets the process run freely for `seconds`, then stops it again.
  Step run_for(double seconds) {
    if (ptrace(PTRACE_CONT, pid_, nullptr, reinterpret_cast<void*>(uintptr_t(signal_))) != 0)
      throw TracerError(fmt::format("cannot resume {}: {}", pid_, std::strerror(errno)));
    signal_ = 0;
    std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
    ptrace(PTRACE_INTERRUPT, pid_, nullptr, nullptr);
    while (true) {
      int st = 0;
      if (waitpid(pid_, &st, __WALL) < 0)
        throw TracerError(fmt::format("waiting for process {}: {}", pid_, std::strerror(errno)));
      if (ended(st)) return Step::Ended;
      if ((st >> 16) == PTRACE_EVENT_STOP && !is_group_stop(st)) return Step::NoInstruction;
      if ((st >> 16) == PTRACE_EVENT_STOP) return Step::Stopped;
      // A signal on its way to the process: let it go, keep waiting for the interrupt.
      ptrace(PTRACE_CONT, pid_, nullptr, reinterpret_cast<void*>(uintptr_t(WSTOPSIG(st))));
    }
  }

  void detach() {
    if (!attached_) return;
    ptrace(PTRACE_DETACH, pid_, nullptr, reinterpret_cast<void*>(uintptr_t(signal_)));
    attached_ = false;
  }

  bool exited = false;
  int exit_code = 0, exit_signal = 0;

 private:
  bool ended(int st) {
    if (WIFEXITED(st) || WIFSIGNALED(st)) {
      exited = true;
      attached_ = false;
      if (WIFEXITED(st)) exit_code = WEXITSTATUS(st);
      if (WIFSIGNALED(st)) exit_signal = WTERMSIG(st);
      return true;
    }
    return false;
  }
  static bool is_group_stop(int st) {
    const int s = WSTOPSIG(st);
    return s == SIGSTOP || s == SIGTSTP || s == SIGTTIN || s == SIGTTOU;
  }

  Step wait_stop() {
    int st = 0;
    while (waitpid(pid_, &st, __WALL) < 0) {
      if (errno != EINTR)
        throw TracerError(fmt::format("waiting for process {}: {}", pid_, std::strerror(errno)));
    }
    if (ended(st)) return Step::Ended;
    if ((st >> 16) == PTRACE_EVENT_STOP) return is_group_stop(st) ? Step::Stopped : Step::NoInstruction;
    const int sig = WSTOPSIG(st);
    if (sig == SIGTRAP) {
      siginfo_t si{};
      ptrace(PTRACE_GETSIGINFO, pid_, nullptr, &si);
      // TRAP_TRACE: the single-step trap; TRAP_BRKPT: the step over a syscall instruction.
      if (si.si_code == TRAP_TRACE || si.si_code == TRAP_BRKPT) return Step::Retired;
      // The stop at a signal handler's entry after a signal was delivered: nothing retired.
      if (si.si_code == SIGTRAP) return Step::NoInstruction;
      // The program's own int3 (SI_KERNEL) retired an instruction; its SIGTRAP is delivered.
      signal_ = SIGTRAP;
      return si.si_code == SI_KERNEL ? Step::Retired : Step::NoInstruction;
    }
    signal_ = sig;  // a signal-delivery stop: nothing retired; pass the signal on
    return Step::NoInstruction;
  }

  pid_t pid_;
  bool attached_ = false;
  int signal_ = 0;  // signal to deliver with the next resume
};

struct CachedInsn {
  InsnInfo info;
  uint8_t bytes[16];
};

}  // namespace

TraceResult trace_attached(pid_t pid, const AttachOptions& options, const fs::path& output) {
  const auto t0 = Clock::now();
  const SamplingPlan plan(options.sampling);
  if (options.gap_seconds > 0 && options.sampling.interval != 0)
    throw TracerError("--gap-ms and --interval exclude each other: with a gap, epochs follow "
                      "each other in the stepped instruction count");
  if (options.gap_seconds < 0) throw TracerError("--gap-ms must not be negative");

  std::error_code ec;
  const fs::path exe = fs::read_symlink(fmt::format("/proc/{}/exe", pid), ec);
  std::vector<std::string> args;
  {
    std::ifstream f(fmt::format("/proc/{}/cmdline", pid), std::ios::binary);
    std::string a;
    bool first = true;
    while (std::getline(f, a, '\0')) {
      if (!first) args.push_back(a);
      first = false;
    }
  }

  Tracee tracee(pid);  // throws with a clear message
  nlohmann::json meta = detail::base_metadata("ptrace");
  meta["pid"] = pid;
  meta["positions"] =
      "instructions single-stepped since the attach (time running freely is not counted)";
  if (options.gap_seconds > 0) meta["gap_seconds"] = options.gap_seconds;
  meta.update(options.metadata);
  detail::TraceOutput out(output, plan, exe.string(), args, meta);

  X86Decoder decoder;
  std::unordered_map<uint64_t, CachedInsn> cache;
  X86Regs regs;
  uint8_t bytes[16];
  uint64_t index = 0;  // instructions stepped since the attach
  trace::Record pending{};
  bool have_pending = false;
  bool stopped = false;
  auto last_progress = Clock::now();

  auto stop_requested = [&] { return options.stop && options.stop->load(); };
  auto report = [&](bool force) {
    if (!options.progress || (!force && since(last_progress) < 1.0)) return;
    last_progress = Clock::now();
    options.progress({index, out.assembler().epochs(), plan.windows(), out.assembler().records(),
                      since(t0)});
  };
  // One instruction: returns false when the process ended or stopped.
  auto step = [&](bool record) {
    while (true) {
      if (record) {
        tracee.regs(regs);
        if (have_pending) {
          finish_record(pending, regs.rip);
          out.assembler().add(index - 1, pending);
          have_pending = false;
        }
        const size_t n = tracee.code(regs.rip, bytes);
        auto it = cache.find(regs.rip);
        if (it == cache.end() || std::memcmp(it->second.bytes, bytes,
                                             std::min<size_t>(n, it->second.info.rec.inst_len)) != 0) {
          auto info = decoder.decode(regs.rip, {bytes, n});
          CachedInsn c;
          c.info = info ? *info : X86Decoder::unknown(regs.rip, 1);
          std::memcpy(c.bytes, bytes, sizeof bytes);
          it = cache.insert_or_assign(regs.rip, c).first;
        }
        pending = it->second.info.rec;
        apply_memory(it->second.info, regs, pending);
      }
      switch (tracee.step()) {
        case Tracee::Step::Retired:
          ++index;
          have_pending = record;
          return true;
        case Tracee::Step::NoInstruction:
          continue;  // a signal was delivered: the next instruction is elsewhere
        case Tracee::Step::Ended:
          if (record && tracee.exit_signal == 0) {  // the exit system call: its last instruction
            finish_record(pending, 0);
            out.assembler().add(index++, pending);
          }
          have_pending = false;
          return false;
        case Tracee::Step::Stopped:
          stopped = true;
          return false;
      }
    }
  };

  bool alive = true;
  for (uint64_t k = 0; k < plan.windows() && alive && !stop_requested(); ++k) {
    if (k > 0 && options.gap_seconds > 0) {
      const auto s = tracee.run_for(options.gap_seconds);
      if (s == Tracee::Step::Ended) alive = false;
      if (s == Tracee::Step::Stopped) stopped = true, alive = false;
    }
    // Step (without recording) up to the window, then record through it.
    while (alive && index < plan.window_start(k) && !stop_requested()) {
      alive = step(false);
      report(false);
    }
    while (alive && index < plan.window_end(k) && !stop_requested()) {
      alive = step(true);
      report(false);
    }
    if (alive && have_pending) {  // resolve the window's last record
      tracee.regs(regs);
      finish_record(pending, regs.rip);
      out.assembler().add(index - 1, pending);
      have_pending = false;
    }
  }
  tracee.detach();

  TraceResult r;
  r.output = output;
  r.instructions = index;
  r.exited = tracee.exited;
  r.exit_code = tracee.exit_code;
  r.signal = tracee.exit_signal;
  r.records = out.assembler().records();
  r.epochs = out.assembler().epochs();
  if (!out.commit())
    throw TracerError(fmt::format(
        "process {} {} after {} single-stepped instructions, before the first epoch; no trace "
        "written",
        pid, stopped ? "was stopped" : tracee.exited ? r.ending() : "was interrupted", index));
  r.records = out.assembler().records();
  r.seconds = since(t0);
  report(true);
  return r;
}

}  // namespace ns::tracer
