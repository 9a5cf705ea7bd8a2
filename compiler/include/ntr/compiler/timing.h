// The timing model of docs/neutrino.md (front ends, back ends, semaphores, DMA bank contention),
// executed on a program. The compiler's schedule report comes from it, and csim is checked
// against it. It tracks time, not data; Engine::on_issue lets a caller attach data semantics
// (the compiler's functional executor does).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "ntr/isa/config.h"
#include "ntr/isa/program.h"

namespace ntr::compiler {

// What a MAC instruction works for (the report's accounting), given per instruction by the
// compiler; hand-written programs may leave it empty (everything counts as Other).
enum class Cat : uint8_t { Other, Lstm, Proj, Heads };
inline constexpr int kCats = 4;
const char* cat_name(Cat c);

// A datapath instruction as issued: resolved tile-0 addresses and, per address register used,
// the tile stride (address of tile t = tile-0 address + t * stride).
struct Issue {
  isa::Stream stream;
  int64_t pc = 0;
  const isa::Fields* f = nullptr;  // decoded instruction (addresses as encoded: ar + off)
  std::array<int64_t, 4> addr{};   // resolved address per operand slot (see timing.cpp)
  std::array<int64_t, 4> addr_tile_stride{};
  int64_t start = 0, busy = 0, done = 0;
  int64_t contention = 1;
};

struct TimingOptions {
  // Window loop: the LOOP instruction (index) of each stream whose iterations are windows; -1 if
  // none. With extrapolate, once two consecutive windows leave the machine in the same relative
  // state, the remaining windows are skipped exactly (each adds the same cycles and counts).
  std::array<int64_t, isa::kStreams> window_loop_pc{-1, -1, -1};
  bool extrapolate = true;
  std::array<std::vector<Cat>, isa::kStreams> cats;  // per instruction (optional)
  int64_t max_cycles = INT64_MAX / 4;
  // Testing only: when > 0, every datapath instruction keeps its unit busy for a random 0..jitter
  // extra cycles (seeded). A correctly synchronised program computes the same data under any
  // such timing; the compiler's tests use this to look for missing dependencies.
  int jitter = 0;
  uint64_t jitter_seed = 1;
};

// Why the MAC waited before an instruction: the semaphore that held it, or the front end.
struct IdleCause {
  int sem = -1;  // -1: front end / none
  int64_t cycles = 0;
};

struct TimingResult {
  int64_t cycles = 0;
  std::array<int64_t, isa::kStreams> busy{};        // datapath busy cycles per unit
  std::array<int64_t, isa::kStreams> datapath{};    // datapath instructions issued
  std::array<int64_t, isa::kStreams> control{};     // control instructions executed
  std::array<std::array<int64_t, kCats>, isa::kStreams> busy_by_cat{};  // per unit and category
  std::array<int64_t, kCats> mac_busy{};            // MAC busy by category
  std::array<int64_t, kCats> mac_idle{};            // MAC idle charged to the next MVM's category
  std::array<int64_t, isa::kSemCount + 1> mac_idle_by_sem{};  // [kSemCount]: front end / none
  int64_t mac_rows = 0;                             // MVM rows issued (weight rows read)
  int64_t contention_cycles = 0;                    // extra DMA cycles from bank contention
  int64_t windows_simulated = 0;                    // windows simulated in full
  int64_t windows_extrapolated = 0;                 // windows skipped by periodicity
  int64_t window_cycles = 0;                        // steady-state window period (0 if unknown)
  std::array<std::array<int64_t, kCats>, isa::kStreams> window_busy_by_cat{};
  std::array<int64_t, kCats> window_mac_busy{};     // per steady-state window
  std::array<int64_t, kCats> window_mac_idle{};
  std::array<int64_t, isa::kSemCount + 1> window_mac_idle_by_sem{};
  int max_sem = 0;                                  // largest semaphore count seen
};

class Engine {
 public:
  Engine(const isa::Program& p, const isa::AccelConfig& cfg, TimingOptions opt = {});
  ~Engine();
  // Called for every datapath instruction when it starts, in start order (ties: dma, mac, ppu).
  std::function<void(const Issue&)> on_issue;
  // Runs to the end. Throws CompileError on deadlock, semaphore overflow, loop overflow, an
  // address register overflow or max_cycles.
  TimingResult run();

 private:
  struct Impl;
  Impl* impl_;
};

inline TimingResult simulate_timing(const isa::Program& p, const isa::AccelConfig& cfg,
                                    TimingOptions opt = {}) {
  return Engine(p, cfg, std::move(opt)).run();
}

}  // namespace ntr::compiler
