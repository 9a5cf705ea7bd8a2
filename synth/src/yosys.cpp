#include "ntr/synth/yosys.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <optional>
#include <cstdlib>
#include <regex>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <openssl/evp.h>
#include <unistd.h>

namespace ntr::synth {
namespace fs = std::filesystem;
namespace {

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) throw SynthError(fmt::format("{}: cannot open", p.string()));
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void spill(const fs::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  if (!out || !(out << text)) throw SynthError(fmt::format("{}: cannot write", p.string()));
}

std::string sha256_hex(const std::string& data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), md.data(), &len, EVP_sha256(), nullptr) != 1)
    throw SynthError("SHA-256 failed");
  std::string hex;
  for (unsigned int i = 0; i < len; ++i) hex += fmt::format("{:02x}", md[i]);
  return hex;
}

std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

// Runs a command, returns its exit status and stdout.
std::pair<int, std::string> run_capture(const std::string& cmd) {
  std::string out;
  FILE* f = popen(cmd.c_str(), "r");
  if (!f) return {-1, out};
  std::array<char, 4096> buf{};
  while (size_t n = fread(buf.data(), 1, buf.size(), f)) out.append(buf.data(), n);
  return {pclose(f), out};
}

std::string tail_lines(const std::string& text, int n) {
  if (text.empty()) return text;
  size_t pos = text.size();
  for (int i = 0; i <= n && pos > 0; ++i) {
    const auto p = text.rfind('\n', pos - 1);
    if (p == std::string::npos) return text;
    pos = p;
  }
  return text.substr(pos + 1);
}

int64_t count_value(const nlohmann::json& v, const std::string& what, const std::string& origin) {
  if (!v.is_number_integer() || v.get<int64_t>() < 0)
    throw SynthError(fmt::format("{}: {} is not a non-negative integer count", origin, what));
  return v.get<int64_t>();
}

// Removes // and /* */ comments (the RTL header is scanned for parentheses).
std::string strip_comments(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s.compare(i, 2, "//") == 0) {
      while (i < s.size() && s[i] != '\n') ++i;
      out += '\n';
    } else if (s.compare(i, 2, "/*") == 0) {
      const auto e = s.find("*/", i + 2);
      i = e == std::string::npos ? s.size() : e + 1;
    } else {
      out += s[i];
    }
  }
  return out;
}

// Index just past the parenthesised group starting at s[i] == '('.
size_t skip_group(const std::string& s, size_t i, const std::string& origin) {
  int depth = 0;
  for (; i < s.size(); ++i) {
    if (s[i] == '(') ++depth;
    if (s[i] == ')' && --depth == 0) return i + 1;
  }
  throw SynthError(fmt::format("{}: unbalanced parentheses in the ntr_sram header", origin));
}

struct SramStub {
  std::string text;  // (* blackbox *) module with the RTL's header
  std::map<std::string, int64_t> defaults;
};

// The black-box stand-in for ntr_sram: its parameter and port list from the RTL, no body.
SramStub make_sram_stub(const fs::path& rtl_file) {
  const std::string src = strip_comments(slurp(rtl_file));
  const auto m = src.find("module ntr_sram");
  if (m == std::string::npos) throw SynthError(fmt::format("{}: no 'module ntr_sram'", rtl_file.string()));
  size_t i = src.find_first_of("#(", m);
  if (i == std::string::npos) throw SynthError(fmt::format("{}: ntr_sram has no port list", rtl_file.string()));
  if (src[i] == '#') i = skip_group(src, src.find('(', i), rtl_file.string());
  const auto ports = src.find('(', i);
  const auto end = skip_group(src, ports, rtl_file.string());
  SramStub stub;
  stub.text = "// Black box for synthesis, generated from " + rtl_file.filename().string() +
              " (SRAM arrays are priced by the SRAM model, docs/ppa.md).\n(* blackbox *)\n" +
              src.substr(m, end - m) + ";\nendmodule\n";
  static const std::regex kParam(R"(parameter\s+(?:int\s+unsigned\s+|int\s+|integer\s+)?(\w+)\s*=\s*(\d+))");
  const std::string header = src.substr(m, ports - m);
  for (std::sregex_iterator it(header.begin(), header.end(), kParam), e; it != e; ++it)
    stub.defaults[(*it)[1]] = std::stoll((*it)[2]);
  for (const auto* k : {"Width", "Depth", "RdPorts", "WrPorts"})
    if (!stub.defaults.count(k))
      throw SynthError(fmt::format("{}: ntr_sram has no default for parameter {}", rtl_file.string(), k));
  return stub;
}

// Parameter values in RTLIL: decimal, or a sized bit string like 32'00000000000000000000000001000000.
int64_t rtlil_value(const std::string& v) {
  const auto q = v.find('\'');
  if (q == std::string::npos) return std::stoll(v);
  int64_t x = 0;
  for (size_t i = q + 1; i < v.size(); ++i) x = 2 * x + (v[i] == '1' ? 1 : 0);
  return x;
}

std::string camel(const std::string& s) {  // mac_lane_rows -> MacLaneRows
  std::string out;
  bool up = true;
  for (char c : s) {
    if (c == '_') {
      up = true;
    } else {
      out += up ? static_cast<char>(std::toupper(static_cast<unsigned char>(c))) : c;
      up = false;
    }
  }
  return out;
}

}  // namespace

std::string base_module_name(const std::string& y) {
  std::string s = y;
  if (s.rfind("$paramod", 0) == 0) {
    const auto a = s.find('\\');
    if (a == std::string::npos) return s;
    const auto b = s.find('\\', a + 1);
    return s.substr(a + 1, b == std::string::npos ? std::string::npos : b - a - 1);
  }
  if (!s.empty() && s[0] == '\\') s.erase(0, 1);
  return s;
}

SynthStats parse_yosys_stat(const nlohmann::json& j, const std::string& top, const std::string& origin) {
  if (!j.is_object() || !j.contains("modules") || !j["modules"].is_object())
    throw SynthError(fmt::format("{}: not a Yosys 'stat -json' report (no \"modules\" object)", origin));
  SynthStats s;
  s.creator = j.value("creator", "");
  const auto& mods = j["modules"];
  for (const auto& [name, m] : mods.items()) {
    if (!m.is_object() || !m.contains("num_cells_by_type") || !m["num_cells_by_type"].is_object())
      throw SynthError(fmt::format("{}: module '{}' has no \"num_cells_by_type\" object", origin, name));
    ModuleStats ms;
    ms.name = name;
    ms.base = base_module_name(name);
    for (const auto& [type, n] : m["num_cells_by_type"].items()) {
      const int64_t c = count_value(n, fmt::format("module '{}' cell count of '{}'", name, type), origin);
      // A child module is named as the report names it: "$paramod..." as is, a module without
      // parameters "\\x" where the cell type says "x".
      if (mods.contains(type))
        ms.submodules[type] += c;
      else if (!type.empty() && type[0] != '$' && type[0] != '\\' && mods.contains("\\" + type))
        ms.submodules["\\" + type] += c;
      else if (type.rfind("$_", 0) == 0)
        ms.cells[type] += c;
      else if (type.rfind('$', 0) == 0 && type.rfind("$paramod", 0) != 0)
        throw SynthError(fmt::format("{}: module '{}' has unmapped cell type '{}' (synthesis incomplete?)",
                                     origin, name, type));
      else
        ms.blackboxes[type] += c;
    }
    if (m.contains("num_cells")) {
      int64_t total = 0;
      for (const auto* part : {&ms.cells, &ms.submodules, &ms.blackboxes})
        for (const auto& [t, c] : *part) total += c;
      if (count_value(m["num_cells"], fmt::format("module '{}' num_cells", name), origin) != total)
        throw SynthError(fmt::format("{}: module '{}' num_cells differs from the sum of its cells by type",
                                     origin, name));
    }
    s.modules.emplace(name, std::move(ms));
  }
  for (const auto& [name, m] : s.modules)
    if (m.base == top) {
      s.top = name;
      break;
    }
  if (s.top.empty()) throw SynthError(fmt::format("{}: no module '{}' in the report", origin, top));
  // The hierarchy must be a tree (a DAG): a cycle would make rollups endless.
  std::set<std::string> done, active;
  std::function<void(const std::string&)> visit = [&](const std::string& n) {
    if (done.count(n)) return;
    if (!active.insert(n).second) throw SynthError(fmt::format("{}: module '{}' instantiates itself", origin, n));
    for (const auto& [c, k] : s.modules.at(n).submodules) visit(c);
    active.erase(n);
    done.insert(n);
  };
  for (const auto& [n, m] : s.modules) visit(n);
  // With -top, "design" holds the hierarchy's totals: they must equal ours (each leaf cell and
  // black box counted once per instance).
  if (j.contains("design") && j["design"].is_object() && j["design"].contains("num_cells")) {
    std::function<int64_t(const std::string&)> leaves = [&](const std::string& n) {
      const auto& m = s.modules.at(n);
      int64_t k = 0;
      for (const auto& [t, c] : m.cells) k += c;
      for (const auto& [t, c] : m.blackboxes) k += c;
      for (const auto& [t, c] : m.submodules) k += c * leaves(t);
      return k;
    };
    const int64_t want = count_value(j["design"]["num_cells"], "design num_cells", origin);
    if (leaves(s.top) != want)
      throw SynthError(fmt::format("{}: the hierarchy below '{}' has {} cells, the report's design total is {}",
                                   origin, top, leaves(s.top), want));
  }
  return s;
}

std::string repair_yosys_stat_json(const std::string& text) {
  std::string out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    const auto p = line.find_first_not_of(" \t\r");
    if (p == std::string::npos) continue;
    if (std::string_view("\"{}[]").find(line[p]) == std::string_view::npos) continue;  // stray hierarchy line
    out += line + "\n";
  }
  static const std::regex kTrailingComma(R"(,(\s*[}\]]))");
  return std::regex_replace(out, kTrailingComma, "$1");
}

SynthStats parse_yosys_stat_file(const fs::path& path, const std::string& top) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(repair_yosys_stat_json(slurp(path)));
  } catch (const nlohmann::json::exception& e) {
    throw SynthError(fmt::format("{}: not JSON: {}", path.string(), e.what()));
  }
  return parse_yosys_stat(j, top, path.string());
}

std::string find_module(const SynthStats& stats, const std::string& base) {
  for (const auto& [name, m] : stats.modules)
    if (m.base == base) return name;
  return {};
}

Rollup rollup(const SynthStats& stats, const std::string& module, const Technology& tech) {
  if (!stats.modules.count(module)) throw SynthError(fmt::format("no module '{}' in the synthesis report", module));
  Rollup r;
  std::function<void(const std::string&, int64_t)> add = [&](const std::string& name, int64_t times) {
    const auto& m = stats.modules.at(name);
    for (const auto& [type, n] : m.cells) {
      const double ge = tech.yosys_cell_ge(type) * static_cast<double>(n * times);
      r.cells += n * times;
      r.ge += ge;
      r.cells_by_type[type] += n * times;
      r.ge_by_module[m.base] += ge;
      if (is_yosys_flop(type)) {
        r.flops += n * times;
        r.flop_ge += ge;
        r.flops_by_module[m.base] += n * times;
      }
    }
    for (const auto& [type, n] : m.blackboxes) r.blackboxes[base_module_name(type)] += n * times;
    for (const auto& [child, n] : m.submodules) add(child, n * times);
  };
  add(module, 1);
  return r;
}

std::vector<SramInstance> parse_sram_dump(const std::string& rtlil, const std::map<std::string, int64_t>& defaults) {
  std::vector<SramInstance> out;
  std::vector<std::string> types;  // of each instance
  // Parameters of derived black boxes ($paramod$<hash>\ntr_sram): after `read_verilog -defer`
  // the cells carry none, their module does.
  std::map<std::string, std::map<std::string, int64_t>> derived;
  std::istringstream in(rtlil);
  std::string line, module;
  SramInstance* cur = nullptr;
  auto def = [&](const char* k) {
    const auto it = defaults.find(k);
    return it == defaults.end() ? int64_t{0} : it->second;
  };
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    std::string w;
    ls >> w;
    if (w == "module") {
      ls >> module;
    } else if (w == "cell") {
      std::string type, inst;
      ls >> type >> inst;
      cur = nullptr;
      if (base_module_name(type) == "ntr_sram") {
        out.push_back({module, inst, def("Width"), def("Depth"), def("RdPorts"), def("WrPorts")});
        types.push_back(type);
        cur = &out.back();
      }
    } else if (w == "parameter" && !cur && base_module_name(module) == "ntr_sram") {
      std::string name, value;
      ls >> name;
      if (name == "signed") ls >> name;
      ls >> value;
      if (!name.empty() && name[0] == '\\') name.erase(0, 1);
      if (value.empty()) continue;  // $abstract\ntr_sram: declared, no value
      try {
        derived[module][name] = rtlil_value(value);
      } catch (const std::exception&) {
        throw SynthError(fmt::format("SRAM dump: bad value '{}' of parameter {} of {}", value, name, module));
      }
    } else if (w == "parameter" && cur) {
      std::string name, value;
      ls >> name;
      if (name == "signed") ls >> name;
      ls >> value;
      if (!name.empty() && name[0] == '\\') name.erase(0, 1);
      try {
        const int64_t v = rtlil_value(value);
        if (name == "Width") cur->width = v;
        if (name == "Depth") cur->depth = v;
        if (name == "RdPorts") cur->rd_ports = v;
        if (name == "WrPorts") cur->wr_ports = v;
      } catch (const std::exception&) {
        throw SynthError(fmt::format("SRAM dump: bad value '{}' of parameter {} of {}", value, name, cur->instance));
      }
    } else if (w == "end") {
      cur = nullptr;
    }
  }
  for (size_t i = 0; i < out.size(); ++i) {
    const auto it = derived.find(types[i]);
    if (it == derived.end()) continue;
    for (const auto& [name, v] : it->second) {
      if (name == "Width") out[i].width = v;
      if (name == "Depth") out[i].depth = v;
      if (name == "RdPorts") out[i].rd_ports = v;
      if (name == "WrPorts") out[i].wr_ports = v;
    }
  }
  return out;
}

std::map<std::string, std::vector<SramInstance>> sram_inventory(const SynthStats& stats,
                                                                const std::vector<SramInstance>& srams,
                                                                const std::string& module) {
  std::map<std::string, int64_t> times;  // instances of each module below `module`
  std::function<void(const std::string&, int64_t)> walk = [&](const std::string& name, int64_t k) {
    times[name] += k;
    for (const auto& [c, n] : stats.modules.at(name).submodules) walk(c, n * k);
  };
  walk(module, 1);
  std::map<std::string, std::vector<SramInstance>> inv;
  for (const auto& s : srams) {
    const auto it = times.find(s.module);
    if (it == times.end()) continue;
    for (int64_t i = 0; i < it->second; ++i) inv[base_module_name(s.module)].push_back(s);
  }
  return inv;
}

std::string yosys_script(const isa::AccelConfig& cfg, const std::vector<fs::path>& sources, const std::string& top,
                         SynthPart part) {
  std::string s = fmt::format(
      "# Neutrino logic synthesis for accelerator config '{}' (docs/ppa.md, \"Logic synthesis\").\n"
      "# Generic gates, hierarchy kept, ntr_sram as a black box. Generated by ns_synth.\n",
      cfg.name);
  s += "read_verilog -sv -defer";
  for (const auto& f : sources) {
    s += ' ';
    s += f.string();
  }
  s += "\n";
  if (top == "ntr_top") {
    s += "chparam";
    for (const auto& p : isa::config_schema()) s += fmt::format(" -set {} {}", camel(p.name), cfg.*(p.member));
    s += " ntr_top\n";
  }
  s += fmt::format("hierarchy -check -top {}\n", top);
  if (part == SynthPart::SharedOnly) s += "blackbox A:hdlname=\\ntr_tile\n";
  s += fmt::format("synth -top {}\n", top);
  s += fmt::format("tee -q -o stat.raw.json stat -json -top {}\n", top);
  s += "tee -q -o srams.rtlil dump -m t:*ntr_sram =A:blackbox\n";  // instances + derived black boxes
  return s;
}

SynthRun synthesize(const isa::AccelConfig& cfg, const YosysFlow& flow, SynthPart part) {
  if (flow.sources.empty()) throw SynthError("synth: no RTL sources (the build has no rtl/)");
  std::vector<fs::path> sources;
  std::optional<SramStub> stub;
  for (const auto& f : flow.sources) {
    if (!fs::exists(f))
      throw SynthError(fmt::format("{}: missing RTL source (generated ones come from the build target ntr_rtl_gen)",
                                   f.string()));
    if (f.filename() == "ntr_sram.sv") {
      stub = make_sram_stub(f);
      sources.push_back("ntr_sram_blackbox.sv");
    } else {
      sources.push_back(f);
    }
  }
  if (!stub) throw SynthError("synth: the RTL sources have no ntr_sram.sv");
  const std::string script = yosys_script(cfg, sources, flow.top, part);

  const auto [vrc, version] = run_capture(shell_quote(flow.yosys) + " -V 2>/dev/null");
  if (vrc != 0 || version.empty())
    throw SynthError(fmt::format("cannot run '{}' (is Yosys installed? scripts/bootstrap.sh installs it)", flow.yosys));
  std::string keyed = script + stub->text + version;
  for (const auto& f : sources)
    if (f != "ntr_sram_blackbox.sv") keyed += f.string() + "\n" + slurp(f);

  SynthRun run;
  run.key = sha256_hex(keyed);
  run.part = part;
  run.dir = flow.cache_dir / fmt::format("{}-{}{}-{}", cfg.name, flow.top,
                                         part == SynthPart::SharedOnly ? "-shared" : "", run.key.substr(0, 16));
  run.sram_defaults = stub->defaults;
  const fs::path stat = run.dir / "stat.json", srams = run.dir / "srams.rtlil";
  const auto complete = [](const fs::path& d) {
    return fs::exists(d / "stat.json") && fs::exists(d / "srams.rtlil") && fs::exists(d / "done");
  };
  if (complete(run.dir)) {
    run.cached = true;
  } else {
    // Yosys runs in a private folder that is renamed into place once complete, so runs of the
    // same config in parallel (CTest -j) never read each other's half-written files.
    static std::atomic<int> serial{0};
    const std::string tag = fmt::format("{}.{}", ::getpid(), serial++);
    const fs::path work = flow.cache_dir / (run.dir.filename().string() + ".tmp-" + tag);
    fs::remove_all(work);
    fs::create_directories(work);
    spill(work / "script.ys", script);
    spill(work / "ntr_sram_blackbox.sv", stub->text);
    if (!flow.quiet)
      fmt::print(stderr, "synth: Yosys on {} for '{}' ({} tiles) in {}\n", flow.top, cfg.name, cfg.tiles,
                 run.dir.string());
    const auto t0 = std::chrono::steady_clock::now();
    const std::string cmd = fmt::format("cd {} && {} -q -l yosys.log script.ys > /dev/null 2>&1",
                                        shell_quote(work.string()), shell_quote(flow.yosys));
    const int rc = std::system(cmd.c_str());
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (rc != 0 || !fs::exists(work / "stat.raw.json") || !fs::exists(work / "srams.rtlil")) {
      const std::string log = fs::exists(work / "yosys.log") ? slurp(work / "yosys.log") : "";
      throw SynthError(fmt::format("Yosys failed on {} for '{}' (log {}):\n{}", flow.top, cfg.name,
                                   (work / "yosys.log").string(), tail_lines(log, 8)));
    }
    spill(work / "stat.json", repair_yosys_stat_json(slurp(work / "stat.raw.json")));
    spill(work / "done", fmt::format("{{\"seconds\": {:.1f}}}\n", secs));
    std::error_code ec;
    if (fs::exists(run.dir) && !complete(run.dir)) {  // left by an interrupted run: move it aside
      const fs::path stale = flow.cache_dir / (run.dir.filename().string() + ".stale-" + tag);
      fs::rename(run.dir, stale, ec);
      fs::remove_all(stale, ec);
    }
    fs::rename(work, run.dir, ec);
    if (ec) {  // a parallel run of the same config finished first: keep its result
      if (!complete(run.dir))
        throw SynthError(fmt::format("{}: cannot move the run into place: {}", run.dir.string(), ec.message()));
      fs::remove_all(work, ec);
    }
    if (!flow.quiet) fmt::print(stderr, "synth: done in {:.0f} s\n", secs);
  }
  run.stats = parse_yosys_stat_file(stat, flow.top);
  run.srams = parse_sram_dump(slurp(srams), stub->defaults);
  return run;
}

}  // namespace ntr::synth

namespace ntr::synth {

YosysFlow default_flow() {
  YosysFlow f;
  f.cache_dir = NTR_SYNTH_CACHE_DIR;
  std::istringstream list(NTR_SYNTH_RTL_SOURCES);
  for (std::string line; std::getline(list, line, '|');)
    if (!line.empty()) f.sources.emplace_back(line);
  return f;
}

}  // namespace ntr::synth
