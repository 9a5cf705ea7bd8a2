#include "ntr/csim/stats.h"

#include <algorithm>

namespace ntr::csim {

void PortCounter::add(uint64_t count, uint32_t width) {
  if (count == 0 || width == 0) return;
  accesses += count;
  bytes += count * width;
  auto it = std::lower_bound(by_width.begin(), by_width.end(), width,
                             [](const auto& e, uint32_t w) { return e.first < w; });
  if (it != by_width.end() && it->first == width)
    it->second += count;
  else
    by_width.insert(it, {width, count});
}

void PortCounter::add_split(uint64_t total, uint32_t port) {
  if (total == 0) return;
  add(total / port, port);
  add(1, static_cast<uint32_t>(total % port));
}

const char* buffer_name(Buffer b) {
  static const char* const kNames[] = {"lwb", "lib", "cb", "vs", "acc", "gwb", "gib"};
  return kNames[static_cast<int>(b)];
}
const char* port_name(Port p) {
  static const char* const kNames[] = {"mac", "ppu", "dma", "host"};
  return kNames[static_cast<int>(p)];
}
const char* dma_path_name(DmaPath p) {
  static const char* const kNames[] = {"gwb_to_lwb", "gwb_to_cb", "gwb_to_lib",
                                       "gib_to_lib", "lib_to_gib", "lib_to_gwb"};
  return kNames[static_cast<int>(p)];
}
const char* ppu_op_name(PpuOp op) {
  static const char* const kNames[] = {"elements", "rq_row", "rq_shift", "relu", "sat1", "sigmoid",
                                       "tanh", "mul", "add", "oshift", "sat2", "store_vs",
                                       "store_lib8", "store_lib32", "select"};
  return kNames[static_cast<int>(op)];
}
const char* stall_name(Stall s) {
  static const char* const kNames[] = {"semaphore", "busy", "sync", "front_end", "halted"};
  return kNames[static_cast<int>(s)];
}

namespace {

void merge(PortCounter& a, const PortCounter& b) {
  for (const auto& [w, n] : b.by_width) a.add(n, w);
}

nlohmann::ordered_json port_json(const PortCounter& c, uint64_t scale) {
  nlohmann::ordered_json widths = nlohmann::ordered_json::object();
  for (const auto& [w, n] : c.by_width) widths[std::to_string(w)] = n * scale;
  return {{"accesses", c.accesses * scale}, {"bytes", c.bytes * scale}, {"by_width", widths}};
}

}  // namespace

void Stats::accumulate(const Stats& o) {
  cycles += o.cycles;
  for (int s = 0; s < isa::kStreams; ++s) {
    auto& a = streams[static_cast<size_t>(s)];
    const auto& b = o.streams[static_cast<size_t>(s)];
    for (size_t i = 0; i < a.by_opcode.size(); ++i) a.by_opcode[i] += b.by_opcode[i];
    a.control += b.control;
    a.datapath += b.datapath;
    a.halt_cycle += b.halt_cycle;
    a.busy_cycles += b.busy_cycles;
    for (int k = 0; k < kStalls; ++k) {
      a.front_end_stall[static_cast<size_t>(k)] += b.front_end_stall[static_cast<size_t>(k)];
      a.idle[static_cast<size_t>(k)] += b.idle[static_cast<size_t>(k)];
    }
  }
  mvm += o.mvm;
  mvm_wide += o.mvm_wide;
  mvm_clear += o.mvm_clear;
  mac_busy_cycles += o.mac_busy_cycles;
  mac_ops += o.mac_ops;
  for (int b = 0; b < kBuffers; ++b)
    for (int p = 0; p < kPorts; ++p)
      for (int d = 0; d < 2; ++d) merge(mem[static_cast<size_t>(b)][static_cast<size_t>(p)][static_cast<size_t>(d)],
                                        o.mem[static_cast<size_t>(b)][static_cast<size_t>(p)][static_cast<size_t>(d)]);
  for (int i = 0; i < kDmaPaths; ++i) {
    auto& a = dma[static_cast<size_t>(i)];
    const auto& b = o.dma[static_cast<size_t>(i)];
    a.transfers += b.transfers;
    a.local_bytes += b.local_bytes;
    a.global_bytes += b.global_bytes;
    a.beats += b.beats;
  }
  contention_cycles += o.contention_cycles;
  max_contention = std::max(max_contention, o.max_contention);
  broadcast_saved_bytes += o.broadcast_saved_bytes;
  lwb_half_conflict_cycles += o.lwb_half_conflict_cycles;
  for (int i = 0; i < kPpuOps; ++i) ppu[static_cast<size_t>(i)] += o.ppu[static_cast<size_t>(i)];
  ppu_instructions += o.ppu_instructions;
  psel_instructions += o.psel_instructions;
  signals += o.signals;
  waits += o.waits;
  host_bytes_in += o.host_bytes_in;
  host_bytes_out += o.host_bytes_out;
}

nlohmann::ordered_json to_json(const Stats& s) {
  using J = nlohmann::ordered_json;
  const auto tiles = static_cast<uint64_t>(s.tiles);
  J j;
  j["cycles"] = s.cycles;
  j["tiles"] = s.tiles;
  j["clock_mhz"] = s.clock_mhz;
  j["seconds_at_clock"] = s.clock_mhz > 0 ? static_cast<double>(s.cycles) / (s.clock_mhz * 1e6) : 0.0;
  j["mac_utilization"] = s.mac_utilization();

  J units = J::object();
  for (int si = 0; si < isa::kStreams; ++si) {
    const auto& st = s.streams[static_cast<size_t>(si)];
    J u;
    J ops = J::object();
    for (int op = 0; op < 64; ++op)
      if (st.by_opcode[static_cast<size_t>(op)]) {
        const isa::InsnDesc* d = isa::find_opcode(op);
        std::string name = d ? std::string(d->name) : std::to_string(op);
        std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
        ops[name] = st.by_opcode[static_cast<size_t>(op)];
      }
    u["instructions"] = {{"control", st.control}, {"datapath", st.datapath}, {"by_opcode", ops}};
    u["busy_cycles"] = st.busy_cycles;
    u["utilization"] = s.cycles ? static_cast<double>(st.busy_cycles) / static_cast<double>(s.cycles) : 0.0;
    J idle = J::object(), stall = J::object();
    for (int k = 0; k < kStalls; ++k) {
      const auto c = static_cast<Stall>(k);
      if (c == Stall::Semaphore || c == Stall::Sync || c == Stall::FrontEnd || c == Stall::Halted)
        idle[stall_name(c)] = st.idle[static_cast<size_t>(k)];
      if (c == Stall::Semaphore || c == Stall::Busy || c == Stall::Sync)
        stall[stall_name(c)] = st.front_end_stall[static_cast<size_t>(k)];
    }
    u["idle_cycles"] = idle;
    u["front_end_stall_cycles"] = stall;
    u["halt_cycle"] = st.halt_cycle;
    units[std::string(isa::stream_name(static_cast<isa::Stream>(si)))] = u;
  }
  j["units"] = units;

  j["mac"] = {{"mvm", s.mvm * tiles},
              {"mvm_wide", s.mvm_wide * tiles},
              {"mvm_clear", s.mvm_clear * tiles},
              {"busy_cycles", s.mac_busy_cycles},
              {"macs", s.mac_ops * tiles},
              {"macs_per_tile", s.mac_ops}};

  // Memories: per tile and all tiles for local ones, machine totals for global ones.
  J mem = J::object();
  for (int b = 0; b < kBuffers; ++b) {
    const auto buf = static_cast<Buffer>(b);
    const bool global = buf == Buffer::Gwb || buf == Buffer::Gib;
    J e = J::object();
    for (int p = 0; p < kPorts; ++p)
      for (int d = 0; d < 2; ++d) {
        const PortCounter& c = s.mem[static_cast<size_t>(b)][static_cast<size_t>(p)][static_cast<size_t>(d)];
        if (c.empty()) continue;
        const std::string key = std::string(port_name(static_cast<Port>(p))) + (d == 0 ? "_read" : "_write");
        if (global)
          e[key] = port_json(c, 1);
        else
          e[key] = {{"per_tile", port_json(c, 1)}, {"all_tiles", port_json(c, tiles)}};
      }
    mem[buffer_name(buf)] = e;
  }
  j["memories"] = mem;

  J dma = J::object();
  for (int i = 0; i < kDmaPaths; ++i) {
    const auto& c = s.dma[static_cast<size_t>(i)];
    dma[dma_path_name(static_cast<DmaPath>(i))] = {{"transfers", c.transfers},
                                                     {"local_bytes", c.local_bytes},
                                                     {"global_bytes", c.global_bytes},
                                                     {"beats", c.beats}};
  }
  j["dma"] = {{"paths", dma},
              {"contention_cycles", s.contention_cycles},
              {"max_contention", s.max_contention},
              {"broadcast_saved_bytes", s.broadcast_saved_bytes},
              {"lwb_half_conflict_cycles", s.lwb_half_conflict_cycles}};

  J ppu = J::object();
  for (int i = 0; i < kPpuOps; ++i) ppu[ppu_op_name(static_cast<PpuOp>(i))] = s.ppu[static_cast<size_t>(i)] * tiles;
  j["ppu"] = {{"instructions", s.ppu_instructions}, {"psel_instructions", s.psel_instructions}, {"ops", ppu}};
  j["semaphores"] = {{"signals", s.signals}, {"waits", s.waits}};
  j["host"] = {{"bytes_in", s.host_bytes_in}, {"bytes_out", s.host_bytes_out}};
  return j;
}

}  // namespace ntr::csim
