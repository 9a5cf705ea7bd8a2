// The QEMU user-mode TCG plugin behind `neuroscalar trace -- PROGRAM` (docs/tracer.md).
//
// Two instrumentation modes, switched by flushing QEMU's code cache (qemu_plugin_reset):
//  * count:   before and between capture windows (skip, interval). Each translation block adds
//             its instruction count to a counter with an inline operation (no call); a callback
//             only on blocks that can close a loop (backward or indirect jumps and calls,
//             system calls) compares the counter with the next window. Once the program starts
//             a second thread, inline additions would count every thread, so blocks then call a
//             callback that counts the main thread only.
//  * capture: one callback per instruction starts its record from a template decoded once at
//             translation time (Capstone, x86_decode.h); QEMU's memory callbacks fill in the
//             address; the next instruction's callback resolves next_pc and the taken flag.
// Records go to the shared-memory ring (ring.h) with their dynamic instruction index; the
// consumer turns them into epochs with the same sampling plan.
//
// One thread is traced: the main thread (vCPU 0) or, with thread=K, the thread QEMU gives vCPU
// index K (a new thread gets one more than the highest index alive). Tracing ends when that
// thread exits: a later thread given the same index is not traced. A forked child stops
// tracing at once (its copy of the plugin must not write into the parent's ring); a program it
// execs runs natively.
#include <fcntl.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <charconv>
#include <climits>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <string_view>
#include <unordered_map>

#include "../ring.h"
#include "ns/tracer/sampling.h"
#include "ns/tracer/x86_decode.h"
#include "qemu_plugin_api.h"

extern "C" {
__attribute__((visibility("default"))) int qemu_plugin_version = 1;
}

namespace ns::tracer::plugin {
namespace {

// Capture is requested this many instructions before a window starts. Counting per block, the
// rest of the current block still runs counted; counting inline, up to a loop-free stretch of
// code runs between two checks.
constexpr uint64_t kCaptureMargin = 4096;
constexpr uint64_t kInlineCaptureMargin = 64 * 1024;
// Between two windows closer than this, stay in capture mode rather than flush twice.
constexpr uint64_t kStayInCapture = 4'000'000;
constexpr uint64_t kPublishEvery = 1024;
constexpr uint64_t kNoWindow = UINT64_MAX;

enum Mode : int { kCount, kCapture };

struct Cached {
  InsnInfo info;  // first member: its address is the callback's userdata
  uint8_t bytes[16];
  uint8_t size;
};

struct State {
  qemu_plugin_id_t id = 0;
  ring::Header* ring = nullptr;
  ring::Entry* slots = nullptr;
  uint64_t capacity = 0;
  uint64_t write = 0;       // producer position (published up to ring->write)
  uint64_t read_cache = 0;  // last seen consumer position
  pid_t parent = 0;
  std::optional<SamplingPlan> plan;

  // Accounting of the traced thread (vCPU 0); touched only from its callbacks (and, while the
  // program has one thread, by the inline additions of count-mode blocks).
  uint64_t count = 0;  // instructions retired so far
  uint64_t cap_start = kNoWindow, cap_end = kNoWindow;  // current window [start, end)
  trace::Record pending{};  // the instruction running now, if in a window
  uint64_t pending_index = 0;
  uint16_t pending_size = 0;
  bool have_pending = false;
  trace::Record held{};  // a record whose successor repeats it (see settle)
  uint64_t held_index = 0;
  bool have_held = false;
  // QEMU runs a rep-prefixed string instruction once per iteration (as x86 single-stepping
  // reports it) plus, when rcx reaches 0, once more to leave the loop. That last execution
  // follows an execution of the same instruction and touches no memory: it is not counted.
  uint64_t last_rep_pc = 0;     // the last rep string instruction executed,
  uint64_t last_rep_count = 0;  // and the count right after it
  bool rep_continues = false;   // that execution repeated the one before it
  bool accessed = false;        // the last instruction with memory callbacks touched memory

  std::atomic<int> mode{kCount};
  std::atomic<bool> switch_pending{false};
  // Counting inline is off: the program has started a second thread, or the traced thread is
  // not the main thread.
  std::atomic<bool> threaded{false};
  bool thread_ended = false;  // the traced thread exited (its records are all published)

  std::mutex trans_mutex;  // translation-time state below
  std::unique_ptr<X86Decoder> decoder;
  std::deque<Cached> templates;
  std::unordered_map<uint64_t, Cached*> by_pc;
};

State g;
// The traced vCPU; set to an impossible index in forked children (and when tracing stops).
std::atomic<unsigned> g_vcpu{0};
unsigned g_thread = 0;  // the vCPU index asked for (thread=K)
std::atomic<bool> g_child{false};

bool traced(unsigned vcpu) { return vcpu == g_vcpu.load(std::memory_order_relaxed); }

void on_fork_child() {
  g_child.store(true);
  g_vcpu.store(UINT_MAX);
}

void fail(const char* why) {
  if (g.ring && !g_child.load()) {
    std::snprintf(g.ring->error, sizeof g.ring->error, "%s", why);
    g.ring->state.store(ring::kStateFailed, std::memory_order_release);
  }
  g_vcpu.store(UINT_MAX);
}

// ---- the ring -----------------------------------------------------------------------------
void publish() {
  g.ring->write.store(g.write, std::memory_order_release);
  g.ring->instructions.store(g.count, std::memory_order_relaxed);
}

bool wait_for_space() {
  publish();
  timespec nap{0, 50'000};
  for (unsigned spins = 0;; ++spins) {
    g.read_cache = g.ring->read.load(std::memory_order_acquire);
    if (g.write - g.read_cache < g.capacity) return true;
    nanosleep(&nap, nullptr);
    if ((spins & 1023) == 1023 && getppid() != g.parent) {
      fail("the trace consumer went away");
      return false;
    }
  }
}

inline void push(uint64_t index, const trace::Record& r) {
  if (g.write - g.read_cache >= g.capacity && !wait_for_space()) return;
  ring::Entry& e = g.slots[g.write & (g.capacity - 1)];
  e.index = index;
  e.rec = r;
  ++g.write;
  if (g.write % kPublishEvery == 0) publish();
}

// ---- modes ----------------------------------------------------------------------------------
void on_trans(qemu_plugin_id_t id, struct qemu_plugin_tb* tb);
void on_exit(qemu_plugin_id_t id, void*);
void on_vcpu_init(qemu_plugin_id_t id, unsigned int vcpu);
void on_vcpu_exit(qemu_plugin_id_t id, unsigned int vcpu);

void register_callbacks(qemu_plugin_id_t id) {
  qemu_plugin_register_vcpu_tb_trans_cb(id, on_trans);
  qemu_plugin_register_vcpu_init_cb(id, on_vcpu_init);
  qemu_plugin_register_vcpu_exit_cb(id, on_vcpu_exit);
  qemu_plugin_register_atexit_cb(id, on_exit, nullptr);
}

void on_reset(qemu_plugin_id_t id) {
  register_callbacks(id);
  g.switch_pending.store(false);
  g.ring->mode_switches.fetch_add(1, std::memory_order_relaxed);
}

// Translations from now on use the current mode; code already translated is flushed
// (asynchronously: the vCPU finishes its current TB first).
void flush() {
  if (!g.switch_pending.exchange(true)) qemu_plugin_reset(g.id, on_reset);
}

void request_mode(int mode) {
  if (g.mode.exchange(mode) != mode) flush();
}

// A second thread: counting inline would count it too.
void on_vcpu_init(qemu_plugin_id_t, unsigned int vcpu) {
  if (vcpu != 0 && !g.threaded.exchange(true) && g.mode.load() == kCount) flush();
}

void set_window(uint64_t k) {
  if (!g.plan || k >= g.plan->windows()) {
    g.cap_start = g.cap_end = kNoWindow;
  } else {
    g.cap_start = g.plan->window_start(k);
    g.cap_end = g.plan->window_end(k);
  }
}

// Count mode: asks for capture when the next window is near.
void check_window() {
  if ((g.count ^ g.ring->instructions.load(std::memory_order_relaxed)) >> 22)  // progress
    g.ring->instructions.store(g.count, std::memory_order_relaxed);
  const uint64_t margin = g.threaded.load() ? kCaptureMargin : kInlineCaptureMargin;
  if (g.cap_start != kNoWindow && g.count + margin >= g.cap_start) request_mode(kCapture);
}

// ---- instruction accounting ------------------------------------------------------------------
// Settles the last instruction with callbacks (in capture mode: the one that just finished),
// given the pc of the next one (0 at exit) and whether that one repeats it: decides whether it
// was QEMU's rep-loop exit (uncounted) and pushes the records now complete. A record whose
// successor repeats it is held until that successor proves real.
void settle(uint64_t next_pc, bool next_repeats) {
  const bool real = !(g.rep_continues && !g.accessed);
  g.rep_continues = false;
  if (!real) --g.count;
  if (g.have_held) {
    finish_record(g.held, real ? g.held.pc : g.held.pc + g.held.inst_len);
    push(g.held_index, g.held);
    g.have_held = false;
  }
  if (g.have_pending && real) {
    if (next_repeats) {
      g.held = g.pending;
      g.held_index = g.pending_index;
      g.have_held = true;
    } else {
      finish_record(g.pending, next_pc);
      push(g.pending_index, g.pending);
    }
  }
  g.have_pending = false;
}

// Before an instruction with callbacks runs (its count not yet added): does it repeat the rep
// string instruction that ran just before?
inline bool repeats(const InsnInfo& t) {
  return t.rep && g.last_rep_pc == t.rec.pc && g.last_rep_count == g.count;
}

// After settle(): the bookkeeping of the instruction about to run, and its count.
inline void begin(const InsnInfo& t, bool repeat) {
  g.rep_continues = repeat;
  g.accessed = false;
  ++g.count;
  if (t.rep) {
    g.last_rep_pc = t.rec.pc;
    g.last_rep_count = g.count;
  }
}

// Count mode, one thread: a block that can close a loop (its instructions counted inline).
void on_check(unsigned vcpu, void*) {
  if (!traced(vcpu)) return;
  if (g.rep_continues || g.have_held) {
    const bool held = g.have_held;
    settle(0, false);
    if (held) publish();
  }
  check_window();
}

// Count mode, several threads: every block of the main thread. userdata: instructions counted.
void on_tb(unsigned vcpu, void* userdata) {
  if (!traced(vcpu)) return;
  const bool held = g.have_held;
  settle(0, false);
  if (held) publish();
  g.count += reinterpret_cast<uintptr_t>(userdata);
  check_window();
}

// Count mode: a rep string instruction, once per execution.
void on_rep(unsigned vcpu, void* userdata) {
  if (!traced(vcpu)) return;
  const InsnInfo& t = *static_cast<const InsnInfo*>(userdata);
  const bool repeat = repeats(t);
  settle(t.rec.pc, repeat);
  begin(t, repeat);
  check_window();
}

// The first instruction after a window.
void window_done(uint64_t index) {
  publish();
  g.ring->windows_done.fetch_add(1, std::memory_order_relaxed);
  set_window(g.plan->window_at_or_after(index));
  if (g.cap_start == kNoWindow || g.cap_start - std::min(g.cap_start, index) > kStayInCapture)
    request_mode(kCount);
}

// Capture mode: one call per instruction executed, before it executes.
void on_insn(unsigned vcpu, void* userdata) {
  if (!traced(vcpu)) return;
  const InsnInfo& t = *static_cast<const InsnInfo*>(userdata);
  const bool repeat = repeats(t);
  settle(t.rec.pc, repeat);
  const uint64_t index = g.count;
  begin(t, repeat);
  if (index < g.cap_start) return;
  if (index >= g.cap_end) {
    window_done(index);
    if (index < g.cap_start) return;
  }
  g.pending = t.rec;
  g.pending_index = index;
  g.pending_size = t.mem_size;
  g.have_pending = true;
}

void on_mem(unsigned vcpu, qemu_plugin_meminfo_t info, uint64_t vaddr, void*) {
  if (!traced(vcpu)) return;
  g.accessed = true;
  if (!g.have_pending) return;
  add_access(g.pending, g.pending_size, vaddr, 1u << qemu_plugin_mem_size_shift(info),
             qemu_plugin_mem_is_store(info));
}

// Exists only so that QEMU points at a live callback list (see on_trans).
void on_mem_ignored(unsigned, qemu_plugin_meminfo_t, uint64_t, void*) {}

// ---- translation -------------------------------------------------------------------------------
// QEMU 7.2 lists, as the last instruction of a multi-instruction TB, one it then dropped because
// it crosses into the next page, with only the bytes read so far: it runs in the next TB.
bool dropped_page_crosser(const struct qemu_plugin_insn* insn) {
  const uint64_t pc = qemu_plugin_insn_vaddr(insn);
  const size_t size = qemu_plugin_insn_size(insn);
  if ((pc & 4095) + 15 <= 4096) return false;  // cannot reach the next page
  const auto* data = static_cast<const uint8_t*>(qemu_plugin_insn_data(insn));
  const auto info = g.decoder->decode(pc, {data, size});
  return !info || info->rec.inst_len != size;
}

const InsnInfo* template_for(const struct qemu_plugin_insn* insn) {
  const uint64_t pc = qemu_plugin_insn_vaddr(insn);
  const size_t size = std::min<size_t>(qemu_plugin_insn_size(insn), 16);
  const auto* data = static_cast<const uint8_t*>(qemu_plugin_insn_data(insn));
  auto it = g.by_pc.find(pc);
  if (it != g.by_pc.end() && it->second->size == size &&
      std::memcmp(it->second->bytes, data, size) == 0)
    return &it->second->info;
  Cached& c = g.templates.emplace_back();
  auto info = g.decoder->decode(pc, {data, size});
  c.info = info && info->rec.inst_len == size ? *info
                                              : X86Decoder::unknown(pc, static_cast<uint8_t>(size));
  std::memcpy(c.bytes, data, size);
  c.size = static_cast<uint8_t>(size);
  g.by_pc[pc] = &c;  // old templates stay alive: translated code may still point at them
  return &c.info;
}

void on_trans(qemu_plugin_id_t, struct qemu_plugin_tb* tb) {
  std::lock_guard lock(g.trans_mutex);
  const size_t n = qemu_plugin_tb_n_insns(tb);
  if (n == 0) return;
  size_t live = n;
  if (n > 1 && dropped_page_crosser(qemu_plugin_tb_get_insn(tb, n - 1))) live = n - 1;
  if (g.mode.load() == kCapture) {
    for (size_t i = 0; i < live; ++i) {
      struct qemu_plugin_insn* insn = qemu_plugin_tb_get_insn(tb, i);
      const InsnInfo* t = template_for(insn);
      qemu_plugin_register_vcpu_insn_exec_cb(insn, on_insn, QEMU_PLUGIN_CB_NO_REGS,
                                             const_cast<InsnInfo*>(t));
      qemu_plugin_register_vcpu_mem_cb(insn, on_mem, QEMU_PLUGIN_CB_NO_REGS, QEMU_PLUGIN_MEM_RW,
                                       nullptr);
    }
    return;
  }
  // Count mode. A rep string instruction ends its TB; it counts its own executions.
  struct qemu_plugin_insn* last = qemu_plugin_tb_get_insn(tb, live - 1);
  const InsnInfo* t = template_for(last);
  const size_t counted = t->rep ? live - 1 : live;
  if (g.threaded.load()) {
    if (counted)
      qemu_plugin_register_vcpu_tb_exec_cb(tb, on_tb, QEMU_PLUGIN_CB_NO_REGS,
                                           reinterpret_cast<void*>(uintptr_t{counted}));
  } else {
    if (counted)
      qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64, &g.count, counted);
    if (t->loop_closing)
      qemu_plugin_register_vcpu_tb_exec_cb(tb, on_check, QEMU_PLUGIN_CB_NO_REGS, nullptr);
  }
  if (t->rep) {
    qemu_plugin_register_vcpu_insn_exec_cb(last, on_rep, QEMU_PLUGIN_CB_NO_REGS,
                                           const_cast<InsnInfo*>(t));
    qemu_plugin_register_vcpu_mem_cb(last, on_mem, QEMU_PLUGIN_CB_NO_REGS, QEMU_PLUGIN_MEM_RW,
                                     nullptr);
  }
  // QEMU 7.2 points cpu->plugin_mem_cbs at an instruction's callback list while an instruction
  // implemented with helpers runs, and does not always clear it (when the TB ends with that
  // instruction, or an exception leaves it); the pointer dangles once the code cache is
  // flushed, and the next helper that touches guest memory would follow it. Giving every
  // instruction whose helpers touch memory a memory callback of its own (in both modes) makes
  // QEMU point at a live list before each such access.
  for (size_t i = 0; i < counted; ++i) {
    struct qemu_plugin_insn* insn = qemu_plugin_tb_get_insn(tb, i);
    const auto* data = static_cast<const uint8_t*>(qemu_plugin_insn_data(insn));
    if (maybe_helper_memory({data, qemu_plugin_insn_size(insn)}) &&
        template_for(insn)->helper_memory)
      qemu_plugin_register_vcpu_mem_cb(insn, on_mem_ignored, QEMU_PLUGIN_CB_NO_REGS,
                                       QEMU_PLUGIN_MEM_RW, nullptr);
  }
}

void on_exit(qemu_plugin_id_t, void*) {
  if (g_child.load() || !g.ring) return;
  if (g_vcpu.load() != UINT_MAX) {
    settle(0, false);  // the thread's last instruction has no successor
    publish();
  } else if (!g.thread_ended) {
    return;  // failed: the ring says why
  }
  g.ring->state.store(ring::kStateDone, std::memory_order_release);
}

// The traced thread exits before the program: its last records are complete, and a later
// thread that reuses its vCPU index is not traced.
void on_vcpu_exit(qemu_plugin_id_t, unsigned int vcpu) {
  if (!traced(vcpu)) return;
  settle(0, false);
  publish();
  g.thread_ended = true;
  g_vcpu.store(UINT_MAX);
}

// ---- installation -------------------------------------------------------------------------------
bool parse_u64(std::string_view text, uint64_t& out) {
  const auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && p == text.data() + text.size();
}

// Arguments (from `-plugin PATH,arg=...`): ring=FD skip= warmup= epoch= epochs= interval=
// count=1 (count only: no windows) thread=K (trace vCPU K instead of the main thread).
int install(qemu_plugin_id_t id, int argc, char** argv) {
  g.id = id;
  g.parent = getppid();
  int fd = -1;
  bool count_only = false;
  SamplingOptions so;
  for (int i = 0; i < argc; ++i) {
    const std::string_view a = argv[i];
    const size_t eq = a.find('=');
    const std::string_view key = a.substr(0, eq), value = eq == a.npos ? "" : a.substr(eq + 1);
    uint64_t v = 0;
    if (!parse_u64(value, v)) {
      std::fprintf(stderr, "ns_qemu_plugin: bad argument '%s'\n", argv[i]);
      return -1;
    }
    if (key == "ring") fd = static_cast<int>(v);
    else if (key == "skip") so.skip = v;
    else if (key == "warmup") so.warmup = v;
    else if (key == "epoch") so.epoch = v;
    else if (key == "epochs") so.epochs = v;
    else if (key == "interval") so.interval = v;
    else if (key == "count") count_only = v != 0;
    else if (key == "thread" && v < UINT_MAX) g_thread = static_cast<unsigned>(v);
    else {
      std::fprintf(stderr, "ns_qemu_plugin: unknown argument '%s'\n", argv[i]);
      return -1;
    }
  }
  struct stat st {};
  if (fd < 0 || fstat(fd, &st) != 0 || st.st_size < static_cast<off_t>(sizeof(ring::Header))) {
    std::fprintf(stderr, "ns_qemu_plugin: no trace ring (ring=FD); run it through "
                         "`neuroscalar trace`\n");
    return -1;
  }
  void* mem = mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ | PROT_WRITE, MAP_SHARED,
                   fd, 0);
  close(fd);  // the guest must not see (or close) it
  if (mem == MAP_FAILED) {
    std::fprintf(stderr, "ns_qemu_plugin: cannot map the trace ring: %s\n", std::strerror(errno));
    return -1;
  }
  g.ring = static_cast<ring::Header*>(mem);
  if (g.ring->magic != ring::kMagic || g.ring->version != ring::kVersion ||
      ring::bytes(g.ring->capacity_log2) != static_cast<size_t>(st.st_size)) {
    std::fprintf(stderr, "ns_qemu_plugin: the trace ring has another layout\n");
    return -1;
  }
  g.slots = ring::entries(g.ring);
  g.capacity = uint64_t{1} << g.ring->capacity_log2;
  try {
    g.decoder = std::make_unique<X86Decoder>();
    if (!count_only) g.plan.emplace(so);
  } catch (const std::exception& e) {
    fail(e.what());
    return -1;
  }
  g_vcpu.store(g_thread);
  g.threaded.store(g_thread != 0);
  set_window(0);
  g.mode.store(g.cap_start <= kInlineCaptureMargin ? kCapture : kCount);
  pthread_atfork(nullptr, nullptr, on_fork_child);
  register_callbacks(id);
  g.ring->state.store(ring::kStateRunning, std::memory_order_release);
  return 0;
}

}  // namespace
}  // namespace ns::tracer::plugin

extern "C" __attribute__((visibility("default"))) int qemu_plugin_install(
    qemu_plugin_id_t id, const qemu_info_t* info, int argc, char** argv) {
  if (!info || !info->target_name || std::string_view(info->target_name) != "x86_64" ||
      info->system_emulation) {
    std::fprintf(stderr, "ns_qemu_plugin: only x86_64 user-mode emulation is supported\n");
    return -1;
  }
  return ns::tracer::plugin::install(id, argc, argv);
}
