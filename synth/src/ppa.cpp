#include "ntr/synth/ppa.h"

#include <cmath>
#include <functional>

#include <fmt/format.h>

namespace ntr::synth {
namespace {

constexpr int64_t kInsnBytes = 16;  // a Neutrino instruction is 128 bits (docs/isa.md)

double bits_of(uint64_t bytes) { return 8.0 * static_cast<double>(bytes); }

// Walks a module tree, adding each module's own cells to the class it belongs to: its own class,
// or its parent's when it is plain control logic inside a datapath unit.
void walk_classes(const SynthStats& st, const Technology& tech, const std::string& name, int64_t times,
                  const std::string& inherited, std::map<std::string, LogicClass>& out,
                  nlohmann::ordered_json& per_module) {
  const auto& m = st.modules.at(name);
  std::string cls = activity_class(m.base);
  if (cls == "control") cls = inherited;
  double ge = 0;
  int64_t flops = 0;
  for (const auto& [type, n] : m.cells) {
    ge += tech.yosys_cell_ge(type) * static_cast<double>(n * times);
    if (is_yosys_flop(type)) flops += n * times;
  }
  out[cls].ge += ge;
  out[cls].flops += flops;
  auto& pm = per_module[m.base];
  if (pm.is_null()) pm = {{"class", cls}, {"instances", 0}, {"ge", 0.0}, {"flops", 0}};
  pm["instances"] = pm["instances"].get<int64_t>() + times;
  pm["ge"] = pm["ge"].get<double>() + ge;
  pm["flops"] = pm["flops"].get<int64_t>() + flops;
  for (const auto& [child, n] : m.submodules) walk_classes(st, tech, child, n * times, cls, out, per_module);
}

int64_t instances_below(const SynthStats& st, const std::string& from, const std::string& target) {
  if (from == target) return 1;
  int64_t k = 0;
  for (const auto& [c, n] : st.modules.at(from).submodules) k += n * instances_below(st, c, target);
  return k;
}

const std::map<std::string, std::string>& module_classes() {
  static const std::map<std::string, std::string> k = {
      {"ntr_mac_array", "mac"}, {"ntr_ppu", "ppu"}, {"ntr_ppu_lane", "ppu"}, {"ntr_dma", "dma"}};
  return k;
}

// Busy cycles of an activity class in a run (per tile where the unit is per tile).
double active_cycles(const csim::Stats& s, const std::string& cls) {
  if (cls == "mac") return static_cast<double>(s.mac_busy_cycles);
  if (cls == "ppu") return static_cast<double>(s.streams[static_cast<size_t>(isa::Stream::Ppu)].busy_cycles);
  if (cls == "dma") return static_cast<double>(s.streams[static_cast<size_t>(isa::Stream::Dma)].busy_cycles);
  return static_cast<double>(s.cycles);
}

// csim's buffer for one of ours (imem has none).
std::optional<csim::Buffer> csim_buffer(const std::string& name) {
  for (int b = 0; b < csim::kBuffers; ++b)
    if (name == csim::buffer_name(static_cast<csim::Buffer>(b))) return static_cast<csim::Buffer>(b);
  return std::nullopt;
}

}  // namespace

std::string activity_class(const std::string& rtl_module) {
  const auto& k = module_classes();
  const auto it = k.find(rtl_module);
  return it == k.end() ? "control" : it->second;
}

double LogicInventory::tile_ge() const {
  double g = 0;
  for (const auto& [c, v] : tile) g += v.ge;
  return g;
}
double LogicInventory::shared_ge() const {
  double g = 0;
  for (const auto& [c, v] : shared) g += v.ge;
  return g;
}
int64_t LogicInventory::tile_flops() const {
  int64_t f = 0;
  for (const auto& [c, v] : tile) f += v.flops;
  return f;
}
int64_t LogicInventory::shared_flops() const {
  int64_t f = 0;
  for (const auto& [c, v] : shared) f += v.flops;
  return f;
}

LogicInventory logic_from_synthesis(const SynthRun& run, const Technology& tech) {
  return logic_from_synthesis(run, run, tech);
}

LogicInventory logic_from_synthesis(const SynthRun& tile_run, const SynthRun& shared_run, const Technology& tech) {
  const std::string tile = find_module(tile_run.stats, "ntr_tile");
  if (tile.empty() || tile_run.part != SynthPart::Full)
    throw SynthError(fmt::format("{}: the synthesis report has no ntr_tile", tile_run.dir.string()));
  LogicInventory inv;
  inv.source = "yosys " + tile_run.dir.filename().string();
  nlohmann::ordered_json tile_modules = nlohmann::ordered_json::object(), all_modules = nlohmann::ordered_json::object();
  walk_classes(tile_run.stats, tech, tile, 1, "control", inv.tile, tile_modules);

  const auto& st = shared_run.stats;
  std::map<std::string, LogicClass> all;
  walk_classes(st, tech, st.top, 1, "control", all, all_modules);
  int64_t tiles = 0;
  if (shared_run.part == SynthPart::Full) {
    if (find_module(st, "ntr_tile") != tile)
      throw SynthError(fmt::format("{} and {}: the tiles differ (other tile parameters)", tile_run.dir.string(),
                                   shared_run.dir.string()));
    tiles = instances_below(st, st.top, tile);
  } else {
    inv.source += " + " + shared_run.dir.filename().string();
    for (const auto& [name, m] : st.modules)
      for (const auto& [type, n] : m.blackboxes)
        if (base_module_name(type) == "ntr_tile") {
          if (type != tile)
            throw SynthError(fmt::format("{}: its tile '{}' is not the synthesised '{}' (other tile parameters)",
                                         shared_run.dir.string(), type, tile));
          tiles += n * instances_below(st, st.top, name);
        }
  }
  for (const auto& [cls, v] : all) {
    LogicClass s = v;
    if (shared_run.part == SynthPart::Full) {
      const auto it = inv.tile.find(cls);
      const LogicClass t = it == inv.tile.end() ? LogicClass{} : it->second;
      s = {v.ge - static_cast<double>(tiles) * t.ge, v.flops - tiles * t.flops};
    }
    if (s.ge > 1e-6 || s.flops > 0) inv.shared[cls] = s;
  }
  // The RTL's own SRAM instances, for comparison with the buffer plan.
  nlohmann::ordered_json srams = nlohmann::ordered_json::object();
  const auto add = [&](const std::map<std::string, std::vector<SramInstance>>& by_module, const std::string& prefix) {
    int64_t total = 0;
    for (const auto& [mod, list] : by_module) {
      int64_t bits = 0;
      std::map<std::string, int64_t> shapes;
      for (const auto& s : list) {
        bits += s.bits();
        shapes[fmt::format("{}x{} {}R{}W", s.depth, s.width, s.rd_ports, s.wr_ports)]++;
      }
      srams[prefix + mod] = {{"instances", list.size()}, {"bits", bits}, {"shapes", shapes}};
      total += bits;
    }
    return total;
  };
  const int64_t tile_bits = add(sram_inventory(tile_run.stats, tile_run.srams, tile), "tile.");
  const bool full = shared_run.part == SynthPart::Full;
  const int64_t top_bits = add(sram_inventory(st, shared_run.srams, st.top), full ? "top." : "shared.");
  const int64_t shared_bits = full ? top_bits - tiles * tile_bits : top_bits;
  inv.detail = {{"tiles_in_netlist", tiles},
                {full ? "modules_all" : "modules_shared", all_modules},
                {"modules_one_tile", tile_modules},
                {"rtl_srams",
                 {{"by_module", srams},
                  {"one_tile_bytes", tile_bits / 8},
                  {"shared_bytes", shared_bits / 8},
                  {"total_bytes", (tile_bits * tiles + shared_bits) / 8}}}};
  return inv;
}

std::vector<Buffer> plan_buffers(const isa::AccelConfig& c, const Technology& tech) {
  const auto make = [&](const char* name, bool per_tile, int64_t bytes, int64_t width_bits, int64_t banks, int ports) {
    return Buffer{name, per_tile, estimate_sram({name, bytes, width_bits, banks, ports}, tech)};
  };
  std::vector<Buffer> b;
  b.push_back(make("lwb", true, c.lwb_bytes, c.lanes() * 8, 2, 1));
  b.push_back(make("lib", true, c.lib_bytes, c.dma_lib_bytes_per_cycle * 8, 1, 2));
  b.push_back(make("cb", true, c.cb_bytes(), c.ppu_lanes * 12 * 8, 1, 1));
  b.push_back(make("vs", true, c.ppu_vs_words * 4, c.ppu_lanes * 32, 1, 2));
  b.push_back(make("gwb", false, c.gwb_bytes, c.dma_gwb_bytes_per_cycle * 8, 1, 1));
  b.push_back(make("gib", false, c.gib_bytes, c.dma_gib_bytes_per_cycle * 8, c.gib_banks, 1));
  b.push_back(make("imem", false, isa::kStreams * c.imem_words * kInsnBytes, kInsnBytes * 8, isa::kStreams, 1));
  return b;
}

AreaReport estimate_area(const isa::AccelConfig& cfg, const Technology& tech, const std::vector<Buffer>& buffers,
                         const std::optional<LogicInventory>& logic) {
  AreaReport a;
  a.tiles = cfg.tiles;
  for (const auto& b : buffers) (b.per_tile ? a.tile_sram_um2 : a.shared_sram_um2) += b.sram.area_um2;
  if (logic) {
    a.logic_known = true;
    a.tile_logic_um2 = tech.ge_to_um2(logic->tile_ge()) / tech.placement_utilization;
    a.shared_logic_um2 = tech.ge_to_um2(logic->shared_ge()) / tech.placement_utilization;
  }
  return a;
}

double EnergyReport::dynamic_total_pj() const {
  double e = 0;
  for (const auto& [k, v] : dynamic_pj) e += v;
  return e;
}

std::map<std::string, double> EnergyReport::power_by_group_mw() const {
  std::map<std::string, double> g;
  if (seconds <= 0) return g;
  for (const auto& [k, v] : dynamic_pj) g[k.substr(0, k.find('.'))] += v * 1e-9 / seconds;
  g["leakage"] = leakage_mw;
  return g;
}

EnergyReport estimate_energy(const csim::Stats& s, double clock_mhz, const Technology& tech,
                             const std::vector<Buffer>& buffers, const AreaReport& area,
                             const std::optional<LogicInventory>& logic) {
  if (clock_mhz <= 0) throw SynthError(fmt::format("clock {} MHz: must be positive", clock_mhz));
  EnergyReport r;
  r.clock_mhz = clock_mhz;
  r.seconds = static_cast<double>(s.cycles) / (clock_mhz * 1e6);
  const double tiles = static_cast<double>(s.tiles);

  r.dynamic_pj["mac"] = static_cast<double>(s.mac_ops) * tiles * tech.event_pj("mac");

  double ppu = 0;
  for (int i = 0; i < csim::kPpuOps; ++i) {
    const auto op = static_cast<csim::PpuOp>(i);
    // Elements pass the pipeline registers (register energy); stores are buffer writes.
    if (op == csim::PpuOp::Element || op == csim::PpuOp::StoreVs || op == csim::PpuOp::StoreLib8 ||
        op == csim::PpuOp::StoreLib32)
      continue;
    ppu += static_cast<double>(s.ppu[static_cast<size_t>(i)]) * tiles *
           tech.event_pj(std::string("ppu_") + csim::ppu_op_name(op));
  }
  r.dynamic_pj["ppu"] = ppu;

  // Buffers: the macro arrays (SRAM model) and the wire from the macros' port to the consumer,
  // half the side of the region the buffer serves (one tile, or the whole accelerator).
  const double wire_fj = tech.wire_fj_per_bit_um();
  const double tile_side_um = std::sqrt(area.tile_um2()), chip_side_um = std::sqrt(area.total_um2());
  for (const auto& b : buffers) {
    const double copies = b.per_tile ? tiles : 1.0;
    const double dist = 0.5 * (b.per_tile ? tile_side_um : chip_side_um);
    double read = 0, write = 0, bits = 0;
    if (b.name == "imem") {  // one 128-bit fetch per executed instruction (front ends are shared)
      for (const auto& st : s.streams) {
        const double n = static_cast<double>(st.control + st.datapath);
        read += n * b.sram.read_pj_bits(kInsnBytes * 8);
        bits += n * kInsnBytes * 8;
      }
    } else if (const auto cb = csim_buffer(b.name)) {
      for (int p = 0; p < csim::kPorts; ++p)
        for (int d = 0; d < 2; ++d) {
          const auto& c = s.mem[static_cast<size_t>(*cb)][static_cast<size_t>(p)][static_cast<size_t>(d)];
          for (const auto& [w, n] : c.by_width) {
            const int64_t wbits = static_cast<int64_t>(w) * 8;
            (d == 0 ? read : write) += static_cast<double>(n) * (d == 0 ? b.sram.read_pj_bits(wbits)
                                                                         : b.sram.write_pj_bits(wbits));
          }
          bits += bits_of(c.bytes);
        }
    }
    r.dynamic_pj["sram." + b.name + ".read"] = read * copies;
    r.dynamic_pj["sram." + b.name + ".write"] = write * copies;
    r.dynamic_pj["wires." + b.name] = bits * copies * wire_fj * dist * 1e-3;
  }

  // Registers: flip-flops clocked while their unit is busy, toggling at the class's rate.
  double leak_ge = 0;
  if (logic) {
    const auto rate = [&](const std::string& cls) {
      const auto it = tech.ff_toggle_rate.find(cls);
      return it == tech.ff_toggle_rate.end() ? tech.ff_toggle_rate.at("control") : it->second;
    };
    for (const auto* part : {&logic->tile, &logic->shared}) {
      const double copies = part == &logic->tile ? tiles : 1.0;
      for (const auto& [cls, v] : *part) {
        const double e_ff = (tech.ff_clock_fj + rate(cls) * tech.ff_data_fj) * 1e-3;
        r.dynamic_pj["registers." + cls] += static_cast<double>(v.flops) * copies * active_cycles(s, cls) * e_ff;
      }
    }
    leak_ge = logic->tile_ge() * tiles + logic->shared_ge();
  }
  r.leakage_mw = leak_ge * tech.leakage_nw_per_ge * 1e-6;
  for (const auto& b : buffers) r.leakage_mw += b.sram.leakage_uw * 1e-3 * (b.per_tile ? tiles : 1.0);
  return r;
}

double sampling_interval_epochs(double accel_ips, const HostModel& host) {
  if (!(accel_ips > 0)) throw SynthError("sampling: the accelerator's throughput must be positive");
  return host.host_ips / accel_ips;
}

double shared_budget_interval_epochs(double accel_ips, const HostModel& host) {
  if (!(host.overhead > 0)) throw SynthError("sampling: the overhead budget must be positive");
  return sampling_interval_epochs(accel_ips, host) / host.overhead;
}

double sampling_period_s(double accel_ips, const HostModel& host) {
  return sampling_interval_epochs(accel_ips, host) * static_cast<double>(host.epoch) / host.host_ips;
}

const std::vector<PaperRow>& paper_table3() {
  static const std::vector<PaperRow> k = {{1, 2.04, 0.16, 28, 0.02e6, 152642}, {8, 3.15, 1.26, 226, 0.157e6, 19080}};
  return k;
}

std::optional<PaperRow> paper_row(int64_t tiles) {
  for (const auto& r : paper_table3())
    if (r.tiles == tiles) return r;
  return std::nullopt;
}

double PpaPoint::instr_per_s() const {
  return energy.seconds > 0 ? static_cast<double>(instructions) / energy.seconds : 0.0;
}

double PpaPoint::energy_per_instr_nj() const {
  return instructions > 0 ? energy.total_pj() * 1e-3 / static_cast<double>(instructions) : 0.0;
}

PpaPoint evaluate_point(const isa::AccelConfig& cfg, double clock_mhz, const csim::Stats& stats,
                        int64_t instructions, const Technology& tech, const std::optional<LogicInventory>& logic,
                        const HostModel& host) {
  if (stats.tiles != cfg.tiles)
    throw SynthError(fmt::format("activity of {} tiles for a config of {} tiles", stats.tiles, cfg.tiles));
  PpaPoint p;
  p.config = cfg;
  p.clock_mhz = clock_mhz;
  p.instructions = instructions;
  p.cycles = stats.cycles;
  p.mac_utilization = stats.mac_utilization();
  p.buffers = plan_buffers(cfg, tech);
  p.logic = logic;
  p.host = host;
  p.area = estimate_area(cfg, tech, p.buffers, logic);
  p.energy = estimate_energy(stats, clock_mhz, tech, p.buffers, p.area, logic);
  return p;
}

nlohmann::ordered_json to_json(const PpaPoint& p) {
  using J = nlohmann::ordered_json;
  const double ips = p.instr_per_s();
  J j;
  j["tiles"] = p.config.tiles;
  j["accel"] = p.config.name;
  j["clock_mhz"] = p.clock_mhz;
  j["instructions"] = p.instructions;
  j["cycles"] = p.cycles;
  j["schedule_cycles"] = p.schedule_cycles;
  j["mac_utilization"] = p.mac_utilization;
  j["area_mm2"] = p.area.total_um2() * 1e-6;
  j["tile_area_mm2"] = p.area.tiles_um2() * 1e-6;
  j["area_per_tile_mm2"] = p.area.tile_um2() * 1e-6;
  j["shared_area_mm2"] = p.area.shared_um2() * 1e-6;
  j["logic_area_known"] = p.area.logic_known;
  j["power_mw"] = p.energy.power_mw();
  j["leakage_mw"] = p.energy.leakage_mw;
  j["instr_per_s"] = ips;
  j["energy_per_instr_nj"] = p.energy_per_instr_nj();
  j["sampling_interval_epochs"] = ips > 0 ? J(sampling_interval_epochs(ips, p.host)) : J(nullptr);
  j["sampling_period_s"] = ips > 0 ? J(sampling_period_s(ips, p.host)) : J(nullptr);
  j["shared_budget_interval_epochs"] = ips > 0 ? J(shared_budget_interval_epochs(ips, p.host)) : J(nullptr);
  if (const auto r = paper_row(p.config.tiles)) {
    j["paper_area_mm2"] = r->area_mm2;
    j["paper_tile_area_mm2"] = r->tile_area_mm2;
    j["paper_power_mw"] = r->power_mw;
    j["paper_instr_per_s"] = r->instr_per_s;
    j["paper_energy_per_instr_nj"] = r->power_mw * 1e-3 / r->instr_per_s * 1e9;
    j["paper_sampling_interval_epochs"] = r->sampling_interval_epochs;
  }
  J tile = {{"logic_mm2", p.area.tile_logic_um2 * 1e-6}, {"sram_mm2", p.area.tile_sram_um2 * 1e-6}};
  J shared = {{"logic_mm2", p.area.shared_logic_um2 * 1e-6}, {"sram_mm2", p.area.shared_sram_um2 * 1e-6}};
  J bufs = J::array();
  for (const auto& b : p.buffers) {
    J e = to_json(b.sram);
    e["per_tile"] = b.per_tile;
    bufs.push_back(e);
  }
  j["area"] = {{"one_tile", tile}, {"shared", shared}, {"buffers", bufs}};
  J groups = J::object();
  for (const auto& [g, mw] : p.energy.power_by_group_mw()) groups[g] = mw;
  j["power_breakdown_mw"] = groups;
  J comp = J::object();
  for (const auto& [k, v] : p.energy.dynamic_pj) comp[k] = v;
  j["dynamic_energy_pj"] = comp;
  if (p.logic) {
    J cls = J::object();
    for (const auto* part : {&p.logic->tile, &p.logic->shared}) {
      J o = J::object();
      for (const auto& [c, v] : *part) o[c] = {{"ge", v.ge}, {"flops", v.flops}};
      cls[part == &p.logic->tile ? "one_tile" : "shared"] = o;
    }
    j["logic"] = {{"source", p.logic->source},
                  {"one_tile_ge", p.logic->tile_ge()},
                  {"shared_ge", p.logic->shared_ge()},
                  {"one_tile_flops", p.logic->tile_flops()},
                  {"shared_flops", p.logic->shared_flops()},
                  {"by_class", cls}};
  } else {
    j["logic"] = nullptr;
  }
  return j;
}

}  // namespace ntr::synth
