#include "ntr/compiler/compiler.h"

#include <algorithm>
#include <fstream>
#include <map>
#include <sstream>

#include <fmt/format.h>

#include "compress.h"
#include "gen.h"
#include "ntr/compiler/model_view.h"
#include "ntr/isa/asm.h"
#include "plan.h"

namespace ntr::compiler {

namespace {

namespace fs = std::filesystem;
using nlohmann::ordered_json;
using isa::Stream;

// The paper's budget for one step of paper-bi-tied (docs/schedule.md).
constexpr double kPaperStepCycles = 8264;

std::string idle_cause(int sem) {
  if (sem < 0 || sem >= kChannelCount) return "front end";
  switch (sem) {
    case kWFull:
      return "weight DMA (w_full)";
    case kAFree0:
    case kAFree1:
      return "accumulator drain by the PPU (a_free)";
    case kUReady:
      return "projection rows (u_ready)";
    case kHReady0:
    case kHReady1:
      return "recurrence: cell update (h_ready)";
    case kXLoaded:
      return "raw input DMA (x_loaded)";
    case kYLoaded0:
    case kYLoaded1:
      return "layer-1 input DMA (y_loaded)";
    case kHyLoaded:
      return "head input DMA (hy_loaded)";
    case kA2Ready:
      return "cls_fc1 post-processing (a2_ready)";
    default:
      return channel_info(sem).name;
  }
}

std::string listing_of(const isa::Program& prog, const EmitResult& e) {
  std::ostringstream o;
  const isa::DecodedProgram dp = isa::decode_program(prog, "<compiled program>");
  for (int si = 0; si < isa::kStreams; ++si) {
    const Stream s = static_cast<Stream>(si);
    o << ".stream " << isa::stream_name(s) << "\n";
    std::vector<std::size_t> ends;
    const auto& fs = dp[static_cast<std::size_t>(si)];
    const auto& notes = e.notes[static_cast<std::size_t>(si)];
    for (std::size_t i = 0; i < fs.size(); ++i) {
      const std::string indent(2 * (ends.size() + 1), ' ');
      std::string text = fs[i].op == isa::Opcode::Loop
                             ? fmt::format("loop {} {{", fs[i].v[isa::fld::kLoopCount])
                             : isa::format_insn(fs[i]);
      std::string line = indent + text;
      if (line.size() < 72) line.resize(72, ' ');
      o << line << " # " << fmt::format("{:4d}", i);
      if (i < notes.size() && !notes[i].empty()) o << "  " << notes[i];
      o << "\n";
      if (fs[i].op == isa::Opcode::Loop) ends.push_back(i + static_cast<std::size_t>(fs[i].v[isa::fld::kLoopBody]));
      while (!ends.empty() && ends.back() == i) {
        ends.pop_back();
        o << std::string(2 * (ends.size() + 1), ' ') << "}\n";
      }
    }
  }
  return o.str();
}

std::string map_text(const RegionMap& m) {
  std::ostringstream o;
  o << fmt::format("{} ({} {}; {} used)\n", m.buffer(), m.capacity(), m.unit(), m.used());
  for (const auto& r : m.regions())
    o << fmt::format("  {:>8} .. {:>8}  {:>8}  {}{}\n", r.offset, r.offset + r.size - 1, r.size, r.name,
                     r.note.empty() ? "" : "  (" + r.note + ")");
  return o.str();
}

int64_t mode_of_diffs(const std::vector<int64_t>& t) {
  std::map<int64_t, int64_t> freq;
  for (std::size_t i = 1; i < t.size(); ++i) ++freq[t[i] - t[i - 1]];
  int64_t best = 0, n = -1;
  for (const auto& [d, c] : freq)
    if (c > n) {
      best = d;
      n = c;
    }
  return best;
}

}  // namespace

int64_t lstm_macs_per_position(const ns::model::ModelConfig& card) {
  const auto& a = card.arch;
  int64_t macs = 0;
  for (int l = 0; l < a.layers; ++l)
    macs += static_cast<int64_t>(a.directions) * 4 * a.hidden * (a.layer_input(l) + a.hidden);
  return macs;
}

CompiledProgram compile(const ns::model::ModelPackage& pkg, const isa::AccelConfig& cfg, const CompileOptions& opt) {
  const ModelView m = make_model_view(pkg, opt.window_length, opt.window_target);
  PlanOptions po;
  po.epoch = opt.epoch;
  po.max_windows_per_tile = opt.max_windows_per_tile;
  po.burst = opt.burst;
  po.head_chunk = opt.head_chunk;
  const Plan p = make_plan(m, cfg, po);
  const GenResult g = generate(p);
  const EmitResult e = emit_program(p, g, p.windows_per_tile);

  CompiledProgram out;
  out.program = e.program;
  out.gwb_image = p.gwb_image;
  out.cats = e.cats;
  out.window_loop_pc = e.window_loop_pc;

  // ------------------------------------------------------------- timing
  TimingOptions to;
  to.window_loop_pc = e.window_loop_pc;
  to.cats = e.cats;
  to.extrapolate = opt.extrapolate;
  Engine engine(out.program, cfg, to);
  std::vector<int64_t> step_starts;
  const int steps = m.bidirectional() ? m.length : m.context() + m.target;
  const std::size_t keep = static_cast<std::size_t>(6 * (steps + 2));
  engine.on_issue = [&](const Issue& is) {
    if (is.stream == Stream::Mac && static_cast<std::size_t>(is.pc) < e.mac_step_start.size() &&
        e.mac_step_start[static_cast<std::size_t>(is.pc)] && step_starts.size() < keep)
      step_starts.push_back(is.start);
  };
  const TimingResult t = engine.run();
  out.timing = t;

  // ------------------------------------------------------------- report
  const int64_t lanes = cfg.lanes();
  const int64_t lstm_macs = lstm_macs_per_position(pkg.card);
  const double mac_cycles_per_step = static_cast<double>(lstm_macs) / static_cast<double>(lanes);
  const auto cat = [](Cat c) { return static_cast<std::size_t>(c); };
  const int64_t window = t.window_cycles > 0 ? t.window_cycles : t.cycles;
  const auto& wb = t.window_mac_busy;
  const auto& wi = t.window_mac_idle;
  const double lstm_cycles = static_cast<double>(wb[cat(Cat::Lstm)] + wi[cat(Cat::Lstm)]);
  const double cycles_per_step = lstm_cycles / steps;
  // Steady state: the most common distance between the starts of consecutive LSTM steps
  // (bi: a layer-step of both directions; a window step is one per layer).
  const int64_t layer_step = mode_of_diffs(step_starts);
  const double steady_step = static_cast<double>(layer_step) * (m.bidirectional() ? 2 : 1);
  const int64_t runs = p.runs;
  const int64_t run_cycles = t.cycles;
  const int64_t epoch_cycles = runs * run_cycles;
  const double hz = cfg.clock_hz();
  const double instr_per_s = static_cast<double>(p.epoch) / (static_cast<double>(epoch_cycles) / hz);
  const double steady_instr_per_s =
      static_cast<double>(cfg.tiles * m.target) / (static_cast<double>(window) / hz);
  // Model MACs of a window: projection of the positions computed, LSTM, heads of the targets.
  const int64_t proj_macs = static_cast<int64_t>(steps) * m.proj * m.features;
  const int64_t head_macs = static_cast<int64_t>(m.target) * m.design_count() *
                            (static_cast<int64_t>(m.head_hidden) * m.out_width + 2LL * m.head_hidden + 2LL * m.out_width);
  const int64_t window_macs = proj_macs + lstm_macs * steps + head_macs;

  ordered_json r;
  r["model"] = m.variant;
  r["accel"] = cfg.name;
  r["tiles"] = cfg.tiles;
  r["clock_mhz"] = cfg.clock_mhz;
  r["window"] = {{"length", m.length}, {"target", m.target}, {"context", m.context()}};
  r["steps_per_window"] = steps;
  r["cycles_per_step"] = cycles_per_step;
  r["steady_state_step_cycles"] = steady_step;
  r["mac_cycles_per_step"] = mac_cycles_per_step;
  r["mac_utilization"] = mac_cycles_per_step / cycles_per_step;
  r["steady_state_mac_utilization"] = steady_step > 0 ? mac_cycles_per_step / steady_step : 0.0;
  if (m.variant == "paper-bi-tied") {
    r["paper_step_budget_cycles"] = kPaperStepCycles;
    r["within_paper_budget"] = cycles_per_step <= kPaperStepCycles;
  }
  r["cycles_per_window"] = window;
  ordered_json br;
  br["lstm_mac_busy"] = wb[cat(Cat::Lstm)];
  br["lstm_mac_idle"] = wi[cat(Cat::Lstm)];
  br["input_projection"] = wb[cat(Cat::Proj)] + wi[cat(Cat::Proj)];
  br["input_projection_mac_busy"] = wb[cat(Cat::Proj)];
  br["heads"] = wb[cat(Cat::Heads)] + wi[cat(Cat::Heads)];
  br["heads_mac_busy"] = wb[cat(Cat::Heads)];
  br["other"] = wb[cat(Cat::Other)] + wi[cat(Cat::Other)];
  r["window_breakdown"] = br;
  ordered_json idle = ordered_json::object();
  std::map<std::string, int64_t> by_cause;
  for (int s = 0; s <= isa::kSemCount; ++s) {
    const int64_t v = t.window_mac_idle_by_sem[static_cast<std::size_t>(s)];
    if (v) by_cause[idle_cause(s == isa::kSemCount ? -1 : s)] += v;
  }
  for (const auto& [k, v] : by_cause) idle[k] = v;
  r["mac_idle_cycles_per_window_by_cause"] = idle;
  r["dma_busy_cycles_per_window"] = {{"lstm", t.window_busy_by_cat[0][cat(Cat::Lstm)]},
                                     {"input_projection", t.window_busy_by_cat[0][cat(Cat::Proj)]},
                                     {"heads", t.window_busy_by_cat[0][cat(Cat::Heads)]},
                                     {"other", t.window_busy_by_cat[0][cat(Cat::Other)]}};
  r["mac_macs_per_window"] = window_macs;
  r["mac_utilization_window"] = static_cast<double>(window_macs) / static_cast<double>(lanes) / static_cast<double>(window);
  r["cycles_per_run"] = run_cycles;
  r["windows_per_run"] = p.windows_per_tile * cfg.tiles;
  r["runs_per_epoch"] = runs;
  r["instructions_per_epoch"] = p.epoch;
  r["cycles_per_epoch"] = epoch_cycles;
  r["cycles_per_instruction"] = static_cast<double>(epoch_cycles) / static_cast<double>(p.epoch);
  r["predicted_instr_per_s"] = instr_per_s;
  r["steady_state_instr_per_s"] = steady_instr_per_s;
  r["unit_busy_fraction"] = {{"dma", static_cast<double>(t.busy[0]) / run_cycles},
                             {"mac", static_cast<double>(t.busy[1]) / run_cycles},
                             {"ppu", static_cast<double>(t.busy[2]) / run_cycles}};
  r["bank_contention_cycles_per_run"] = t.contention_cycles;
  r["program_words"] = {{"dma", out.program.stream(Stream::Dma).size()},
                        {"mac", out.program.stream(Stream::Mac).size()},
                        {"ppu", out.program.stream(Stream::Ppu).size()}};
  r["schedule"] = {{"burst", p.burst}, {"head_chunk", p.head_chunk}, {"spill", p.spill_in_gib ? "gib" : "gwb"},
                   {"windows_simulated", t.windows_simulated}, {"windows_extrapolated", t.windows_extrapolated}};
  out.report = r;

  std::ostringstream tx;
  tx << fmt::format("Neutrino schedule: {} on {} ({} tile{}, {} MHz), window L={} T={}\n", m.variant, cfg.name,
                    cfg.tiles, cfg.tiles > 1 ? "s" : "", cfg.clock_mhz, m.length, m.target);
  tx << fmt::format("  {:<52}{:>14}\n", "quantity", "value");
  auto row = [&](const std::string& k, const std::string& v) { tx << fmt::format("  {:<52}{:>14}\n", k, v); };
  row("cycles per LSTM step (window average)", fmt::format("{:.2f}", cycles_per_step));
  row("cycles per LSTM step (steady state)", fmt::format("{:.0f}", steady_step));
  row("MAC cycles per step (MACs / lanes)", fmt::format("{:.0f}", mac_cycles_per_step));
  row("MAC utilisation of the step", fmt::format("{:.4f}%", 100.0 * mac_cycles_per_step / cycles_per_step));
  if (m.variant == "paper-bi-tied")
    row("paper budget per step", fmt::format("{:.0f} ({})", kPaperStepCycles, cycles_per_step <= kPaperStepCycles ? "met" : "MISSED"));
  row("cycles per window (steady state)", fmt::format("{}", window));
  row("  LSTM steps (MAC busy + idle)", fmt::format("{:.0f}", lstm_cycles));
  row("  input projection", fmt::format("{}", wb[cat(Cat::Proj)] + wi[cat(Cat::Proj)]));
  row("  heads", fmt::format("{}", wb[cat(Cat::Heads)] + wi[cat(Cat::Heads)]));
  row("  other", fmt::format("{}", wb[cat(Cat::Other)] + wi[cat(Cat::Other)]));
  for (const auto& [k, v] : by_cause) row("  MAC idle: " + k, fmt::format("{}", v));
  row("MAC utilisation of the window (all MACs)", fmt::format("{:.2f}%", 100.0 * static_cast<double>(window_macs) / static_cast<double>(lanes) / static_cast<double>(window)));
  row("windows per run (all tiles)", fmt::format("{}", p.windows_per_tile * cfg.tiles));
  row("cycles per run", fmt::format("{}", run_cycles));
  row("runs per epoch", fmt::format("{}", runs));
  row("cycles per epoch", fmt::format("{}", epoch_cycles));
  row("cycles per predicted instruction", fmt::format("{:.1f}", static_cast<double>(epoch_cycles) / static_cast<double>(p.epoch)));
  row("predicted instructions/s", fmt::format("{:.0f}", instr_per_s));
  out.report_text = tx.str();

  // ------------------------------------------------------------- manifest
  ordered_json man;
  man["format"] = "neutrino-bundle";
  man["version"] = 1;
  auto accel = isa::to_json(cfg);
  accel["fingerprint"] = fmt::format("{:016x}", isa::fingerprint(cfg));
  man["accel"] = accel;
  ordered_json model;
  model["variant"] = m.variant;
  model["designs"] = m.designs;
  model["features"] = m.features;
  model["feature_bytes"] = m.feature_bytes;
  model["bytes_per_instruction"] = m.row_bytes;
  std::vector<int> pad(m.padding_row.begin(), m.padding_row.end());
  model["padding_row"] = pad;
  man["model"] = model;
  man["window"] = {{"length", m.length}, {"target", m.target}, {"context", m.context()}};
  man["epoch"] = {{"instructions", p.epoch}, {"windows", p.windows_total}, {"windows_per_tile", p.windows_per_tile},
                  {"runs", p.runs}};
  man["program"] = {{"file", "program.bin"},
                    {"words", r["program_words"]},
                    {"window_loop_pc", {{"dma", e.window_loop_pc[0]}, {"mac", e.window_loop_pc[1]}, {"ppu", e.window_loop_pc[2]}}}};
  ordered_json gwb = p.gwb.to_json();
  gwb["file"] = "gwb.bin";
  gwb["image_bytes"] = p.gwb_image.size();
  man["gwb"] = gwb;
  ordered_json gib;
  gib["bytes"] = cfg.gib_bytes;
  gib["tile_bytes"] = p.bank_bytes;
  gib["input_offset"] = p.gib_in;
  gib["input_rows_per_tile"] = p.in_positions;
  gib["row_bytes"] = m.row_bytes;
  gib["result_offset"] = p.gib_res;
  gib["result_bytes_per_target"] = 4 * m.design_count();
  gib["layout"] =
      "Tile t owns bytes [t*tile_bytes, (t+1)*tile_bytes). In run r its windows are k = r*tiles*W + t*W + j, "
      "j < W (W = windows_per_tile). Input row i (i < input_rows_per_tile) at input_offset + i*row_bytes holds "
      "epoch position (r*tiles*W + t*W)*T - C + i (the padding row outside the epoch). After the run, the int32 "
      "r of design d for target i of window j is at result_offset + ((j*T + i)*D + d)*4, little-endian; results "
      "overwrite consumed input rows.";
  gib["map"] = p.gib.to_json();
  man["gib"] = gib;
  man["spill"] = {{"buffer", p.spill_in_gib ? "gib" : "gwb"}, {"base", p.spill_base}, {"tile_stride", p.spill_stride},
                  {"bytes_per_tile", p.spill_bytes}};
  man["lib"] = p.lib.to_json();
  man["vs"] = p.vs.to_json();
  man["cb"] = p.cb.to_json();
  ordered_json sems = ordered_json::array();
  for (int ch = 0; ch < kChannelCount; ++ch)
    sems.push_back({{"id", ch},
                    {"name", channel_info(ch).name},
                    {"producer", std::string(isa::stream_name(channel_info(ch).producer))},
                    {"consumer", std::string(isa::stream_name(channel_info(ch).consumer))},
                    {"initial", g.credits[static_cast<std::size_t>(ch)]}});
  man["semaphores"] = sems;
  man["expected"] = {{"cycles_per_run", run_cycles},
                     {"busy", {{"dma", t.busy[0]}, {"mac", t.busy[1]}, {"ppu", t.busy[2]}}},
                     {"datapath_instructions", {{"dma", t.datapath[0]}, {"mac", t.datapath[1]}, {"ppu", t.datapath[2]}}},
                     {"mac_rows", t.mac_rows},
                     {"bank_contention_cycles", t.contention_cycles}};
  out.manifest = man;

  out.listing = listing_of(out.program, e);
  std::ostringstream mm;
  mm << map_text(p.gwb) << "\n" << map_text(p.cb) << "\n" << map_text(p.lib) << "\n" << map_text(p.vs) << "\n"
     << map_text(p.gib);
  mm << fmt::format("\nspills: {} bytes per tile in the {} at {} (tile stride {})\n", p.spill_bytes,
                    p.spill_in_gib ? "GIB bank" : "GWB", p.spill_base, p.spill_stride);
  mm << fmt::format("LWB: two halves of {} rows x {} bytes; weight blocks alternate halves\n", p.half_rows, p.lanes);
  mm << fmt::format("ACC: {} banks of {} int32 (the schedule uses banks 0 and 1)\n", cfg.mac_acc_banks, p.lanes);
  out.memory_map = mm.str();
  return out;
}

void write_bundle(const CompiledProgram& c, const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw CompileError(fmt::format("{}: cannot create the bundle directory: {}", dir.string(), ec.message()));
  auto write = [&](const std::string& name, const void* data, std::size_t n) {
    std::ofstream f(dir / name, std::ios::binary | std::ios::trunc);
    f.write(static_cast<const char*>(data), static_cast<std::streamsize>(n));
    if (!f) throw CompileError(fmt::format("{}: cannot write", (dir / name).string()));
  };
  const auto prog = isa::serialize(c.program);
  write("program.bin", prog.data(), prog.size());
  write("gwb.bin", c.gwb_image.data(), c.gwb_image.size());
  const std::string man = c.manifest.dump(2) + "\n";
  write("manifest.json", man.data(), man.size());
  const std::string rep = c.report.dump(2) + "\n";
  write("report.json", rep.data(), rep.size());
  write("listing.txt", c.listing.data(), c.listing.size());
  write("memory_map.txt", c.memory_map.data(), c.memory_map.size());
}

}  // namespace ntr::compiler
