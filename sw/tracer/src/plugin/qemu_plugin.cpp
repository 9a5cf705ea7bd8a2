// The QEMU user-mode TCG plugin behind `neuroscalar trace -- PROGRAM` (docs/tracer.md).
//
// Two instrumentation modes, switched by flushing QEMU's code cache (qemu_plugin_reset):
//  * count:   one callback per translation block adds its instruction count; used before and
//             between capture windows (skip and interval), so they run near QEMU's full speed;
//  * capture: one callback per instruction starts its record from a template decoded once at
//             translation time (Capstone, x86_decode.h); QEMU's memory callbacks fill in the
//             address; the next instruction's callback resolves next_pc and the taken flag.
// Records go to the shared-memory ring (ring.h) with their dynamic instruction index; the
// consumer turns them into epochs with the same sampling plan.
//
// Only the main thread (vCPU 0) is traced. A forked child stops tracing at once (its copy of the
// plugin must not write into the parent's ring); a program it execs runs natively.
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

// Capture is requested this many instructions before a window starts: the counting code of the
// current TB still runs after the request, until QEMU flushes the code cache.
constexpr uint64_t kCaptureMargin = 4096;
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
  bool count_only = false;

  // Accounting of the traced thread (vCPU 0); touched only from its callbacks.
  uint64_t count = 0;  // instructions retired so far
  uint64_t window = 0;
  uint64_t cap_start = kNoWindow, cap_end = kNoWindow;  // current window [start, end)
  trace::Record pending{};
  uint64_t pending_index = 0;
  uint16_t pending_size = 0;
  bool have_pending = false;
  trace::Record held{};
  uint64_t held_index = 0;
  bool have_held = false;
  // QEMU runs a rep-prefixed string instruction once per iteration (as x86 single-stepping
  // reports it) plus, when rcx reaches 0, once more to leave the loop. That last execution
  // follows an execution of the same instruction and touches no memory: it is not counted.
  uint64_t last_rep_pc = 0;      // pc of the previous instruction if it was a rep string one
  bool rep_continues = false;    // the previous instruction repeated the one before it
  bool accessed = false;         // the previous instruction touched memory

  std::atomic<int> mode{kCount};
  std::atomic<bool> switch_pending{false};

  std::mutex trans_mutex;  // translation-time state below
  std::unique_ptr<X86Decoder> decoder;
  std::deque<Cached> templates;
  std::unordered_map<uint64_t, Cached*> by_pc;
};

State g;
// The traced vCPU; set to an impossible index in forked children (and when tracing stops).
std::atomic<unsigned> g_vcpu{0};
std::atomic<bool> g_child{false};

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

void on_trans(qemu_plugin_id_t id, struct qemu_plugin_tb* tb);
void on_exit(qemu_plugin_id_t id, void*);

void register_callbacks(qemu_plugin_id_t id) {
  qemu_plugin_register_vcpu_tb_trans_cb(id, on_trans);
  qemu_plugin_register_atexit_cb(id, on_exit, nullptr);
}

void on_reset(qemu_plugin_id_t id) {
  register_callbacks(id);
  g.switch_pending.store(false);
  g.ring->mode_switches.fetch_add(1, std::memory_order_relaxed);
}

// Translations from now on use `mode`; code already translated is flushed (asynchronously: the
// vCPU finishes its current TB first).
void request_mode(int mode) {
  if (g.mode.exchange(mode) == mode) return;
  if (!g.switch_pending.exchange(true)) qemu_plugin_reset(g.id, on_reset);
}

void set_window(uint64_t k) {
  g.window = k;
  if (!g.plan || k >= g.plan->windows()) {
    g.cap_start = g.cap_end = kNoWindow;
  } else {
    g.cap_start = g.plan->window_start(k);
    g.cap_end = g.plan->window_end(k);
  }
}

// Settles the instruction that just finished, given the pc of the one about to run (0 at exit)
// and whether that one repeats it (the same rep string instruction again): pushes the records
// now complete. A repeated record waits ("held") until its successor is known to be real.
void settle(uint64_t next_pc, bool next_repeats) {
  const bool real = !(g.rep_continues && !g.accessed);
  if (!real) --g.count;  // QEMU's rep-loop exit: not an instruction
  if (g.have_held) {
    finish_record(g.held, real ? g.held.pc : next_pc);
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

// Starts the bookkeeping of an instruction about to run.
inline void begin(uint64_t pc, bool rep, bool repeats) {
  g.rep_continues = repeats;
  g.last_rep_pc = rep ? pc : 0;
  g.accessed = false;
}

// Count mode: one call per TB executed. userdata: the TB's pc << 16 | instructions it counts (a
// rep string instruction ending it counts itself).
void on_tb(unsigned vcpu, void* userdata) {
  if (vcpu != g_vcpu.load(std::memory_order_relaxed)) return;
  const auto packed = reinterpret_cast<uintptr_t>(userdata);
  const bool held = g.have_held;
  settle(packed >> 16, false);
  if (held) publish();
  begin(0, false, false);
  g.count += packed & 0xffff;
  g.ring->instructions.store(g.count, std::memory_order_relaxed);
  if (g.count + kCaptureMargin >= g.cap_start && g.cap_start != kNoWindow) request_mode(kCapture);
}

// Count mode: a rep string instruction, once per execution.
void on_rep(unsigned vcpu, void* userdata) {
  if (vcpu != g_vcpu.load(std::memory_order_relaxed)) return;
  const uint64_t pc = static_cast<const InsnInfo*>(userdata)->rec.pc;
  const bool repeats = g.last_rep_pc == pc;
  settle(pc, repeats);
  begin(pc, true, repeats);
  ++g.count;
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
  if (vcpu != g_vcpu.load(std::memory_order_relaxed)) return;
  const InsnInfo& t = *static_cast<const InsnInfo*>(userdata);
  const bool repeats = t.rep && g.last_rep_pc == t.rec.pc;
  settle(t.rec.pc, repeats);
  begin(t.rec.pc, t.rep, repeats);
  const uint64_t index = g.count++;
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
  if (vcpu != g_vcpu.load(std::memory_order_relaxed)) return;
  g.accessed = true;
  if (!g.have_pending) return;
  add_access(g.pending, g.pending_size, vaddr, 1u << qemu_plugin_mem_size_shift(info),
             qemu_plugin_mem_is_store(info));
}

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
  if (g.mode.load() == kCount) {
    // A rep string instruction ends its TB; it counts its own executions.
    struct qemu_plugin_insn* last = qemu_plugin_tb_get_insn(tb, live - 1);
    const InsnInfo* t = template_for(last);
    const size_t counted = t->rep ? live - 1 : live;
    if (counted)
      qemu_plugin_register_vcpu_tb_exec_cb(
          tb, on_tb, QEMU_PLUGIN_CB_NO_REGS,
          reinterpret_cast<void*>(uintptr_t(qemu_plugin_tb_vaddr(tb) << 16 | counted)));
    if (t->rep) {
      qemu_plugin_register_vcpu_insn_exec_cb(last, on_rep, QEMU_PLUGIN_CB_NO_REGS,
                                             const_cast<InsnInfo*>(t));
      qemu_plugin_register_vcpu_mem_cb(last, on_mem, QEMU_PLUGIN_CB_NO_REGS, QEMU_PLUGIN_MEM_RW,
                                       nullptr);
    }
    // QEMU 7.2 points cpu->plugin_mem_cbs at an instruction's callback list while an
    // instruction implemented with helpers runs, and does not always clear it (when the TB ends
    // with that instruction, or an exception leaves it); the pointer dangles once the code cache
    // is flushed, and the next helper that touches guest memory would follow it. Giving every
    // instruction whose helpers touch memory a memory callback of its own (in both modes) makes
    // QEMU point at a live list before each such access.
    for (size_t i = 0; i < counted; ++i) {
      struct qemu_plugin_insn* insn = qemu_plugin_tb_get_insn(tb, i);
      if (template_for(insn)->helper_memory)
        qemu_plugin_register_vcpu_mem_cb(insn, on_mem, QEMU_PLUGIN_CB_NO_REGS,
                                         QEMU_PLUGIN_MEM_RW, nullptr);
    }
    return;
  }
  for (size_t i = 0; i < live; ++i) {
    struct qemu_plugin_insn* insn = qemu_plugin_tb_get_insn(tb, i);
    const InsnInfo* t = template_for(insn);
    qemu_plugin_register_vcpu_insn_exec_cb(insn, on_insn, QEMU_PLUGIN_CB_NO_REGS,
                                           const_cast<InsnInfo*>(t));
    qemu_plugin_register_vcpu_mem_cb(insn, on_mem, QEMU_PLUGIN_CB_NO_REGS, QEMU_PLUGIN_MEM_RW,
                                     nullptr);
  }
}

void on_exit(qemu_plugin_id_t, void*) {
  if (g_child.load() || !g.ring) return;
  if (g_vcpu.load() != UINT_MAX) {
    settle(0, false);  // the thread's last instruction has no successor
    publish();
    g.ring->state.store(ring::kStateDone, std::memory_order_release);
  }
}

bool parse_u64(std::string_view text, uint64_t& out) {
  const auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && p == text.data() + text.size();
}

// Arguments (from `-plugin PATH,arg=...`): ring=FD skip= warmup= epoch= epochs= interval=
// count=1 (count only: no windows).
int install(qemu_plugin_id_t id, int argc, char** argv) {
  g.id = id;
  g.parent = getppid();
  int fd = -1;
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
    else if (key == "count") g.count_only = v != 0;
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
    if (!g.count_only) g.plan.emplace(so);
  } catch (const std::exception& e) {
    fail(e.what());
    return -1;
  }
  set_window(0);
  g.mode.store(g.cap_start != kNoWindow && g.cap_start <= kCaptureMargin ? kCapture : kCount);
  pthread_atfork(nullptr, nullptr, on_fork_child);
  register_callbacks(id);
  g.ring->state.store(ring::kStateRunning, std::memory_order_release);
  return 0;
}

}  // namespace
}  // namespace ns::tracer::plugin

extern "C" __attribute__((visibility("default"))) int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t* info, int argc,
                                         char** argv) {
  if (!info || !info->target_name || std::string_view(info->target_name) != "x86_64" ||
      info->system_emulation) {
    std::fprintf(stderr, "ns_qemu_plugin: only x86_64 user-mode emulation is supported\n");
    return -1;
  }
  return ns::tracer::plugin::install(id, argc, argv);
}
