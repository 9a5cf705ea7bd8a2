// ntr_isagen: generates every derived form of the ISA (isa/neutrino.yaml) and of the accelerator
// configs (configs/accel/*.yaml): the C++ headers, the SystemVerilog packages, the Yosys parameter
// files and the instruction table of docs/isa.md. Run by the build; nothing it writes is checked in.
//
// usage: ntr_isagen --isa FILE --out DIR [--doc-table FILE] [--update-doc FILE] CONFIG.yaml...

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "ntr/isa/config.h"

namespace fs = std::filesystem;

namespace {

[[noreturn]] void die(const std::string& msg) { throw std::runtime_error(msg); }

// ----------------------------------------------------------------------------- expressions
struct Expr {
  enum Kind { Num, Ident, Unary, Binary, Call } kind = Num;
  int64_t num = 0;
  std::string name;  // Ident, Call: name; Unary/Binary: operator
  std::vector<Expr> args;
};

class Parser {
 public:
  Parser(std::string src, std::string where) : s_(std::move(src)), where_(std::move(where)) {}
  Expr parse() {
    Expr e = binary(0);
    skip();
    if (p_ != s_.size()) err("unexpected '" + s_.substr(p_) + "'");
    return e;
  }

 private:
  [[noreturn]] void err(const std::string& m) {
    die(fmt::format("{}: expression '{}': {}", where_, s_, m));
  }
  void skip() {
    while (p_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[p_]))) ++p_;
  }
  bool eat(const std::string& t) {
    skip();
    if (s_.compare(p_, t.size(), t) == 0) {
      p_ += t.size();
      return true;
    }
    return false;
  }
  static int prec(const std::string& op) {
    if (op == "||") return 1;
    if (op == "&&") return 2;
    if (op == "==" || op == "!=") return 3;
    if (op == "<" || op == "<=" || op == ">" || op == ">=") return 4;
    if (op == "+" || op == "-") return 5;
    if (op == "*" || op == "/") return 6;
    return -1;
  }
  std::string peek_op() {
    skip();
    for (const char* op : {"||", "&&", "==", "!=", "<=", ">=", "<", ">", "+", "-", "*", "/"}) {
      if (s_.compare(p_, std::string(op).size(), op) == 0) return op;
    }
    return "";
  }
  Expr binary(int min_prec) {
    Expr lhs = unary();
    for (;;) {
      const std::string op = peek_op();
      const int pr = op.empty() ? -1 : prec(op);
      if (pr < 0 || pr < min_prec) break;
      p_ += op.size();
      Expr rhs = binary(pr + 1);
      Expr b;
      b.kind = Expr::Binary;
      b.name = op;
      b.args = {std::move(lhs), std::move(rhs)};
      lhs = std::move(b);
    }
    return lhs;
  }
  Expr unary() {
    if (eat("!")) return make_unary("!", unary());
    if (eat("-")) return make_unary("-", unary());
    return primary();
  }
  static Expr make_unary(const std::string& op, Expr a) {
    Expr e;
    e.kind = Expr::Unary;
    e.name = op;
    e.args = {std::move(a)};
    return e;
  }
  Expr primary() {
    skip();
    if (eat("(")) {
      Expr e = binary(0);
      if (!eat(")")) err("missing ')'");
      return e;
    }
    if (p_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[p_]))) {
      std::size_t used = 0;
      Expr e;
      e.num = std::stoll(s_.substr(p_), &used, 0);
      p_ += used;
      return e;
    }
    std::string id;
    while (p_ < s_.size() &&
           (std::isalnum(static_cast<unsigned char>(s_[p_])) || s_[p_] == '_' || s_[p_] == '.'))
      id += s_[p_++];
    if (id.empty()) err("expected a value");
    Expr e;
    e.name = id;
    if (eat("(")) {
      e.kind = Expr::Call;
      if (!eat(")")) {
        do {
          e.args.push_back(binary(0));
        } while (eat(","));
        if (!eat(")")) err("missing ')' after arguments");
      }
      return e;
    }
    e.kind = Expr::Ident;
    return e;
  }
  std::string s_;
  std::string where_;
  std::size_t p_ = 0;
};

// ----------------------------------------------------------------------------- model
struct Field {
  std::string name;
  int lsb = 0;
  int width = 0;
  std::string type;  // uint, sint, bool, ar, sem, enum
  std::string enum_name;
  int64_t offset = 0;
  int64_t min = 0;
  int64_t max = 0;
  bool sync = false;
  bool positional = false;
  bool always = false;
};

struct Constraint {
  Expr expr;
  std::string src;
  std::string message;
};

struct Insn {
  std::string name;
  int opcode = 0;
  std::string cls;  // control, datapath
  std::vector<std::string> streams;
  std::string summary;
  std::vector<Field> fields;
  std::vector<Constraint> constraints;
  std::string busy_src, tail_src;
  Expr busy, tail;
  bool has_cost = false;
};

struct EnumDef {
  std::string name;
  std::vector<std::pair<std::string, int>> values;
  int width = 1;
};

struct Isa {
  std::string name;
  int version = 0;
  int word_bits = 0;
  int opcode_bits = 0;
  std::vector<std::pair<std::string, int64_t>> constants;
  std::vector<std::pair<std::string, int>> streams;
  std::vector<std::string> stream_units;
  std::vector<EnumDef> enums;
  std::vector<Insn> insns;

  const EnumDef* find_enum(const std::string& n) const {
    for (const auto& e : enums)
      if (e.name == n) return &e;
    return nullptr;
  }
  int64_t constant(const std::string& n) const {
    for (const auto& [k, v] : constants)
      if (k == n) return v;
    die("missing constant " + n);
  }
};

std::string camel(const std::string& s) {  // dma_latency -> DmaLatency, ST -> St, LIB8 -> Lib8
  std::string out;
  bool up = true;
  for (char c : s) {
    if (c == '_' || c == '-' || c == '.') {
      up = true;
      continue;
    }
    out += up ? static_cast<char>(std::toupper(static_cast<unsigned char>(c)))
              : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    up = false;
  }
  return out;
}
std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}
std::string ident(std::string s) {  // neutrino-1t -> neutrino_1t
  for (auto& c : s)
    if (c == '-') c = '_';
  return s;
}

// Collapses runs of whitespace (YAML folded scalars keep newlines in indented lines).
std::string squeeze(const std::string& s) {
  std::string o;
  for (char c : s) {
    const bool ws = std::isspace(static_cast<unsigned char>(c));
    if (ws && (o.empty() || o.back() == ' ')) continue;
    o += ws ? ' ' : c;
  }
  while (!o.empty() && o.back() == ' ') o.pop_back();
  return o;
}

Field parse_field(const YAML::Node& n, const Isa& isa, const std::string& where, bool sync) {
  Field f;
  f.sync = sync;
  f.name = n["name"].as<std::string>();
  f.lsb = n["lsb"].as<int>();
  f.width = n["width"].as<int>();
  f.type = n["type"].as<std::string>();
  f.offset = n["offset"] ? n["offset"].as<int64_t>() : 0;
  f.positional = n["positional"] && n["positional"].as<bool>();
  f.always = n["show"] && n["show"].as<std::string>() == "always";
  if (f.width < 1 || f.width > 32) die(where + ": field " + f.name + " width must be 1..32");
  if (f.lsb < isa.opcode_bits || f.lsb + f.width > isa.word_bits)
    die(where + ": field " + f.name + " outside the word or overlapping the opcode");
  const int64_t span = int64_t{1} << f.width;
  if (f.type.rfind("enum:", 0) == 0) {
    f.enum_name = f.type.substr(5);
    f.type = "enum";
    const EnumDef* e = isa.find_enum(f.enum_name);
    if (!e) die(where + ": unknown enum " + f.enum_name);
    f.min = 0;
    f.max = 0;
    for (const auto& [k, v] : e->values) f.max = std::max<int64_t>(f.max, v);
    if (f.max >= span) die(where + ": enum " + f.enum_name + " does not fit field " + f.name);
  } else if (f.type == "uint") {
    f.min = f.offset;
    f.max = span - 1 + f.offset;
  } else if (f.type == "sint") {
    f.min = -(span / 2);
    f.max = span / 2 - 1;
  } else if (f.type == "bool") {
    f.min = 0;
    f.max = 1;
    if (f.width != 1) die(where + ": bool field " + f.name + " must be 1 bit");
  } else if (f.type == "ar") {
    f.min = 0;
    f.max = isa.constant("ArCount") - 1;
    if (f.max >= span) die(where + ": ar field too narrow");
  } else if (f.type == "sem") {
    f.min = 0;
    f.max = isa.constant("SemCount") - 1;
    if (f.max >= span) die(where + ": sem field too narrow");
  } else {
    die(where + ": unknown field type " + f.type);
  }
  if (n["min"]) f.min = n["min"].as<int64_t>();
  if (n["max"]) f.max = n["max"].as<int64_t>();
  return f;
}

Isa load_isa(const fs::path& path) {
  YAML::Node y = YAML::LoadFile(path.string());
  Isa isa;
  isa.name = y["isa"].as<std::string>();
  isa.version = y["version"].as<int>();
  isa.word_bits = y["word_bits"].as<int>();
  isa.opcode_bits = y["opcode_bits"].as<int>();
  if (isa.word_bits != 128) die("word_bits must be 128 (the Word type)");
  for (const auto& kv : y["constants"])
    isa.constants.emplace_back(kv.first.as<std::string>(), kv.second.as<int64_t>());
  for (const auto& s : y["streams"]) {
    isa.streams.emplace_back(s["name"].as<std::string>(), s["id"].as<int>());
    isa.stream_units.push_back(s["unit"].as<std::string>());
  }
  for (const auto& kv : y["enums"]) {
    EnumDef e;
    e.name = kv.first.as<std::string>();
    int maxv = 0;
    for (const auto& m : kv.second) {
      e.values.emplace_back(m.first.as<std::string>(), m.second.as<int>());
      maxv = std::max(maxv, m.second.as<int>());
    }
    while ((1 << e.width) <= maxv) ++e.width;
    isa.enums.push_back(std::move(e));
  }
  std::vector<Field> sync;
  for (const auto& f : y["sync_group"]) sync.push_back(parse_field(f, isa, "sync_group", true));
  std::vector<std::pair<std::string, std::string>> sync_constraints;
  for (const auto& c : y["sync_constraints"])
    sync_constraints.emplace_back(c["expr"].as<std::string>(), c["message"].as<std::string>());
  std::set<int> opcodes;
  std::set<std::string> names;
  for (const auto& n : y["instructions"]) {
    Insn in;
    in.name = n["name"].as<std::string>();
    const std::string where = path.filename().string() + ": " + in.name;
    if (!names.insert(in.name).second) die(where + ": duplicate instruction");
    in.opcode = n["opcode"].as<int>();
    if (in.opcode < 0 || in.opcode >= (1 << isa.opcode_bits)) die(where + ": opcode out of range");
    if (!opcodes.insert(in.opcode).second) die(where + ": duplicate opcode");
    in.cls = n["class"].as<std::string>();
    if (in.cls != "control" && in.cls != "datapath") die(where + ": class must be control or datapath");
    for (const auto& s : n["streams"]) in.streams.push_back(s.as<std::string>());
    in.summary = n["summary"].as<std::string>();
    for (const auto& f : n["fields"]) in.fields.push_back(parse_field(f, isa, where, false));
    if (in.cls == "datapath")
      for (const auto& f : sync) in.fields.push_back(f);
    // Overlap check.
    std::vector<bool> used(static_cast<std::size_t>(isa.word_bits), false);
    for (int b = 0; b < isa.opcode_bits; ++b) used[static_cast<std::size_t>(b)] = true;
    std::set<std::string> fnames;
    for (const auto& f : in.fields) {
      if (!fnames.insert(f.name).second) die(where + ": duplicate field " + f.name);
      for (int b = f.lsb; b < f.lsb + f.width; ++b) {
        if (used[static_cast<std::size_t>(b)]) die(where + ": field " + f.name + " overlaps");
        used[static_cast<std::size_t>(b)] = true;
      }
    }
    if (n["constraints"]) {
      for (const auto& c : n["constraints"]) {
        Constraint k;
        k.src = c["expr"].as<std::string>();
        k.message = c["message"].as<std::string>();
        k.expr = Parser(k.src, where).parse();
        in.constraints.push_back(std::move(k));
      }
    }
    if (in.cls == "datapath") {
      for (const auto& [src, msg] : sync_constraints) {
        Constraint k;
        k.src = src;
        k.message = msg;
        k.expr = Parser(k.src, where).parse();
        in.constraints.push_back(std::move(k));
      }
    }
    if (n["cost"]) {
      in.has_cost = true;
      in.busy_src = squeeze(n["cost"]["busy"].as<std::string>());
      in.tail_src = squeeze(n["cost"]["tail"].as<std::string>());
      in.busy = Parser(in.busy_src, where).parse();
      in.tail = Parser(in.tail_src, where).parse();
    } else if (in.cls == "datapath") {
      die(where + ": datapath instruction without cost");
    }
    isa.insns.push_back(std::move(in));
  }
  return isa;
}

// ----------------------------------------------------------------------------- code emission
enum class Lang { Cpp, Sv };

struct Emitter {
  const Isa& isa;
  const Insn& in;
  Lang lang;
  std::string where;

  const Field* field(const std::string& n) const {
    for (const auto& f : in.fields)
      if (f.name == n) return &f;
    return nullptr;
  }
  int field_index(const std::string& n) const {
    for (std::size_t i = 0; i < in.fields.size(); ++i)
      if (in.fields[i].name == n) return static_cast<int>(i);
    return -1;
  }
  // Resolves an enum constant; `hint` is the enum of the field it is compared with.
  int64_t enum_value(const std::string& n, const std::string& hint) const {
    if (!hint.empty()) {
      for (const auto& [k, v] : isa.find_enum(hint)->values)
        if (k == n) return v;
      die(fmt::format("{}: '{}' is not a member of enum {}", where, n, hint));
    }
    std::vector<int64_t> hits;
    for (const auto& e : isa.enums)
      for (const auto& [k, v] : e.values)
        if (k == n) hits.push_back(v);
    if (hits.size() != 1)
      die(fmt::format("{}: unknown or ambiguous identifier '{}'", where, n));
    return hits[0];
  }
  std::string sv_field(const Field& f) const {
    std::string raw = fmt::format("w[{} +: {}]", f.lsb, f.width);
    if (f.type == "sint") return fmt::format("(64'($signed({})))", raw);
    if (f.offset) return fmt::format("(64'({}) + 64'sd{})", raw, f.offset);
    return fmt::format("(64'({}))", raw);
  }
  std::string emit(const Expr& e, const std::string& hint = "") const {
    switch (e.kind) {
      case Expr::Num:
        return lang == Lang::Cpp ? fmt::format("int64_t{{{}}}", e.num)
                                 : fmt::format("64'sd{}", e.num);
      case Expr::Ident: {
        if (const Field* f = field(e.name)) {
          if (lang == Lang::Cpp) return fmt::format("f.v[{}]", field_index(e.name));
          return sv_field(*f);
        }
        if (e.name.rfind("cfg.", 0) == 0) {
          const std::string p = e.name.substr(4);
          bool ok = false;
          for (const auto& s : ntr::isa::config_schema()) ok = ok || p == s.name;
          if (!ok) die(fmt::format("{}: unknown config parameter '{}'", where, p));
          if (lang == Lang::Sv) die(where + ": config parameters are not available in SV");
          return "cfg." + p;
        }
        for (const auto& [k, v] : isa.constants) {
          if (k == e.name)
            return lang == Lang::Cpp ? "int64_t{k" + k + "}" : fmt::format("64'sd{}", v);
        }
        if (e.name == "contention") {
          if (lang == Lang::Sv) die(where + ": contention is not available in SV");
          return "contention";
        }
        const int64_t v = enum_value(e.name, hint);
        return lang == Lang::Cpp ? fmt::format("int64_t{{{}}}", v) : fmt::format("64'sd{}", v);
      }
      case Expr::Unary:
        return fmt::format("({}{})", e.name, emit(e.args[0]));
      case Expr::Binary: {
        std::string h0, h1;
        if (e.name == "==" || e.name == "!=") {
          auto enum_of = [&](const Expr& x) -> std::string {
            if (x.kind != Expr::Ident) return "";
            const Field* f = field(x.name);
            return f && f->type == "enum" ? f->enum_name : "";
          };
          h1 = enum_of(e.args[0]);
          h0 = enum_of(e.args[1]);
        }
        return fmt::format("({} {} {})", emit(e.args[0], h0), e.name, emit(e.args[1], h1));
      }
      case Expr::Call: {
        auto arg = [&](std::size_t i) {
          if (i >= e.args.size()) die(fmt::format("{}: too few arguments to {}", where, e.name));
          return emit(e.args[i]);
        };
        if (e.name == "sel") {
          if (e.args.size() != 3) die(where + ": sel takes 3 arguments");
          return fmt::format("(({}) ? ({}) : ({}))", arg(0), arg(1), arg(2));
        }
        if (e.name == "ceil_div" || e.name == "min" || e.name == "max") {
          if (e.args.size() != 2) die(where + ": " + e.name + " takes 2 arguments");
          if (lang == Lang::Sv) die(where + ": " + e.name + " is not available in SV");
          if (e.name == "ceil_div") return fmt::format("ceil_div({}, {})", arg(0), arg(1));
          return fmt::format("std::{}<int64_t>({}, {})", e.name, arg(0), arg(1));
        }
        die(fmt::format("{}: unknown function {}", where, e.name));
      }
    }
    return "";
  }
};

std::string hex128(uint64_t hi, uint64_t lo) { return fmt::format("128'h{:016x}{:016x}", hi, lo); }

void used_mask(const Isa& isa, const Insn& in, uint64_t& lo, uint64_t& hi) {
  lo = 0;
  hi = 0;
  auto setbit = [&](int b) {
    if (b < 64)
      lo |= uint64_t{1} << b;
    else
      hi |= uint64_t{1} << (b - 64);
  };
  for (int b = 0; b < isa.opcode_bits; ++b) setbit(b);
  for (const auto& f : in.fields)
    for (int b = f.lsb; b < f.lsb + f.width; ++b) setbit(b);
}

std::string cpp_string(const std::string& s) {
  std::string o = "\"";
  for (char c : s) {
    if (c == '\n') {
      o += "\\n";
      continue;
    }
    if (c == '"' || c == '\\') o += '\\';
    o += c;
  }
  return o + "\"";
}



// ----------------------------------------------------------------------------- C++ header
std::string gen_cpp(const Isa& isa, const std::string& src_name) {
  std::ostringstream o;
  o << "// Generated by ntr_isagen from " << src_name << ". Do not edit.\n"
    << "#pragma once\n\n#include <algorithm>\n#include <array>\n#include <cstdint>\n"
       "#include <string_view>\n\n#include \"ntr/isa/config.h\"\n#include \"ntr/isa/word.h\"\n\n"
       "namespace ntr::isa {\n\n";
  o << fmt::format("inline constexpr int kIsaVersion = {};\n", isa.version);
  o << fmt::format("inline constexpr int kWordBits = {};\n", isa.word_bits);
  o << fmt::format("inline constexpr int kOpcodeBits = {};\n", isa.opcode_bits);
  for (const auto& [k, v] : isa.constants) o << fmt::format("inline constexpr int k{} = {};\n", k, v);
  std::size_t max_fields = 0;
  for (const auto& in : isa.insns) max_fields = std::max(max_fields, in.fields.size());
  o << fmt::format("inline constexpr int kMaxFields = {};\n", max_fields);
  o << fmt::format("inline constexpr int kInsnCount = {};\n\n", isa.insns.size());

  o << "enum class Stream : uint8_t {";
  for (std::size_t i = 0; i < isa.streams.size(); ++i)
    o << (i ? ", " : " ") << camel(isa.streams[i].first) << " = " << isa.streams[i].second;
  o << " };\n";
  o << "inline constexpr std::array<std::string_view, " << isa.streams.size()
    << "> kStreamNames = {";
  for (std::size_t i = 0; i < isa.streams.size(); ++i)
    o << (i ? ", " : "") << cpp_string(isa.streams[i].first);
  o << "};\n\n";

  o << "enum class Opcode : uint8_t {\n";
  for (const auto& in : isa.insns) o << fmt::format("  {} = 0x{:02x},\n", camel(in.name), in.opcode);
  o << "};\n\n";
  for (const auto& e : isa.enums) {
    o << "enum class " << camel(e.name) << " : uint8_t {";
    for (std::size_t i = 0; i < e.values.size(); ++i)
      o << (i ? ", " : " ") << camel(e.values[i].first) << " = " << e.values[i].second;
    o << " };\n";
  }
  o << "\nenum class FieldType : uint8_t { Uint, Sint, Bool, Ar, Sem, Enum };\n"
       "enum class InsnClass : uint8_t { Control, Datapath };\n\n"
       "struct EnumMember { std::string_view name; int value; };\n"
       "struct EnumDesc { std::string_view name; const EnumMember* members; int count; };\n";
  for (const auto& e : isa.enums) {
    o << "inline constexpr EnumMember kEnum" << camel(e.name) << "Members[] = {";
    for (std::size_t i = 0; i < e.values.size(); ++i)
      o << (i ? ", " : "") << "{" << cpp_string(e.values[i].first) << ", " << e.values[i].second
        << "}";
    o << "};\n";
  }
  o << "inline constexpr EnumDesc kEnums[] = {\n";
  for (const auto& e : isa.enums)
    o << fmt::format("    {{{}, kEnum{}Members, {}}},\n", cpp_string(e.name), camel(e.name),
                     e.values.size());
  o << "};\n\n";
  auto enum_index = [&](const std::string& n) {
    for (std::size_t i = 0; i < isa.enums.size(); ++i)
      if (isa.enums[i].name == n) return static_cast<int>(i);
    return -1;
  };

  o << "struct FieldDesc {\n  std::string_view name;\n  int lsb;\n  int width;\n  FieldType type;\n"
       "  int enum_index;  // into kEnums, -1 unless type == Enum\n  int64_t offset;\n"
       "  int64_t min;\n  int64_t max;\n  bool sync;  // part of the sync group\n"
       "  bool positional;  // written without its name in assembly\n"
       "  bool always;  // printed even when its code is zero\n};\n\n";
  o << "struct InsnDesc {\n  std::string_view name;\n  Opcode opcode;\n  InsnClass cls;\n"
       "  uint8_t streams;  // bit i: allowed in Stream i\n  const FieldDesc* fields;\n"
       "  int nfields;\n  uint64_t used_lo, used_hi;  // opcode and field bits\n"
       "  std::string_view summary;\n  std::string_view busy, tail;  // cost expressions\n};\n\n";
  for (const auto& in : isa.insns) {
    if (in.fields.empty()) continue;
    o << "inline constexpr FieldDesc k" << camel(in.name) << "Fields[] = {\n";
    for (const auto& f : in.fields) {
      o << fmt::format("    {{{}, {}, {}, FieldType::{}, {}, {}, {}, {}, {}, {}, {}}},\n",
                       cpp_string(f.name), f.lsb, f.width, camel(f.type),
                       f.type == "enum" ? enum_index(f.enum_name) : -1, f.offset, f.min, f.max,
                       f.sync ? "true" : "false", f.positional ? "true" : "false",
                       f.always ? "true" : "false");
    }
    o << "};\n";
  }
  o << "\ninline constexpr InsnDesc kInsns[] = {\n";
  for (const auto& in : isa.insns) {
    uint64_t lo, hi;
    used_mask(isa, in, lo, hi);
    int mask = 0;
    for (const auto& s : in.streams) {
      bool ok = false;
      for (const auto& [n, id] : isa.streams)
        if (n == s) {
          mask |= 1 << id;
          ok = true;
        }
      if (!ok) die(in.name + ": unknown stream " + s);
    }
    o << fmt::format("    {{{}, Opcode::{}, InsnClass::{}, 0x{:x}, {}, {}, 0x{:016x}ull, 0x{:016x}ull,\n     {},\n     {}, {}}},\n",
                     cpp_string(in.name), camel(in.name), camel(in.cls), mask,
                     in.fields.empty() ? "nullptr" : "k" + camel(in.name) + "Fields",
                     in.fields.size(), lo, hi, cpp_string(in.summary), cpp_string(in.busy_src),
                     cpp_string(in.tail_src));
  }
  o << "};\n\n";

  // Field indices.
  o << "// Index of each field in Fields::v, per instruction.\nnamespace fld {\n";
  for (const auto& in : isa.insns)
    for (std::size_t i = 0; i < in.fields.size(); ++i)
      o << fmt::format("inline constexpr int k{}{} = {};\n", camel(in.name), camel(in.fields[i].name), i);
  o << "}  // namespace fld\n\n";

  o << "// An instruction in generic form: field values (not stored codes) in descriptor order.\n"
       "struct Fields {\n  Opcode op = Opcode::Nop;\n  std::array<int64_t, kMaxFields> v{};\n"
       "  friend bool operator==(const Fields&, const Fields&) = default;\n};\n\n";
  o << "// The sync group of a datapath instruction: -1 = unused.\nstruct SyncGroup {\n  int wait = -1;\n"
       "  std::array<int, 3> sig{-1, -1, -1};\n  friend bool operator==(const SyncGroup&, const SyncGroup&) = default;\n};\n\n";

  // Typed structs.
  for (const auto& in : isa.insns) {
    const std::string C = camel(in.name);
    o << "struct " << C << " {\n";
    for (const auto& f : in.fields) {
      if (f.sync) continue;
      std::string ty = "int64_t";
      if (f.type == "bool") ty = "bool";
      if (f.type == "enum") ty = camel(f.enum_name);
      std::string init = f.type == "bool" ? "false" : f.type == "enum" ? ty + "{}" : std::to_string(f.min > 0 ? f.min : 0);
      if (f.type == "sint") init = "0";
      o << "  " << ty << " " << f.name << " = " << init << ";\n";
    }
    if (in.cls == "datapath") o << "  SyncGroup sync;\n";
    o << "  friend bool operator==(const " << C << "&, const " << C << "&) = default;\n};\n";
  }
  o << "\n";
  // Converters.
  for (const auto& in : isa.insns) {
    const std::string C = camel(in.name);
    o << "inline Fields to_fields(const " << C << "& x) {\n  Fields f;\n  f.op = Opcode::" << C
      << ";\n";
    if (in.fields.empty()) o << "  (void)x;\n";
    for (std::size_t i = 0; i < in.fields.size(); ++i) {
      const Field& fd = in.fields[i];
      if (fd.sync) continue;
      o << fmt::format("  f.v[{}] = static_cast<int64_t>(x.{});\n", i, fd.name);
    }
    if (in.cls == "datapath") {
      const int w = 0;
      (void)w;
      o << "  const int base = " << (in.fields.size() - 8) << ";\n"
        << "  f.v[base + 0] = x.sync.wait >= 0;\n  f.v[base + 1] = std::max(x.sync.wait, 0);\n"
        << "  for (int s = 0; s < 3; ++s) {\n    f.v[base + 2 + 2 * s] = x.sync.sig[s] >= 0;\n"
        << "    f.v[base + 3 + 2 * s] = std::max(x.sync.sig[s], 0);\n  }\n";
    }
    o << "  return f;\n}\n";
    o << "inline " << C << " as_" << lower(in.name) << "(const Fields& f) {\n  " << C << " x;\n";
    if (in.fields.empty()) o << "  (void)f;\n";
    for (std::size_t i = 0; i < in.fields.size(); ++i) {
      const Field& fd = in.fields[i];
      if (fd.sync) continue;
      if (fd.type == "bool")
        o << fmt::format("  x.{} = f.v[{}] != 0;\n", fd.name, i);
      else if (fd.type == "enum")
        o << fmt::format("  x.{} = static_cast<{}>(f.v[{}]);\n", fd.name, camel(fd.enum_name), i);
      else
        o << fmt::format("  x.{} = f.v[{}];\n", fd.name, i);
    }
    if (in.cls == "datapath") {
      o << "  const int base = " << (in.fields.size() - 8) << ";\n"
        << "  x.sync.wait = f.v[base + 0] ? static_cast<int>(f.v[base + 1]) : -1;\n"
        << "  for (int s = 0; s < 3; ++s)\n"
        << "    x.sync.sig[s] = f.v[base + 2 + 2 * s] ? static_cast<int>(f.v[base + 3 + 2 * s]) : -1;\n";
    }
    o << "  return x;\n}\n";
  }
  o << "\n// Sync group of any datapath instruction in generic form.\n"
       "inline SyncGroup sync_of(const Fields& f, int nfields) {\n  SyncGroup s;\n  const int base = nfields - 8;\n"
       "  s.wait = f.v[base + 0] ? static_cast<int>(f.v[base + 1]) : -1;\n"
       "  for (int i = 0; i < 3; ++i)\n"
       "    s.sig[i] = f.v[base + 2 + 2 * i] ? static_cast<int>(f.v[base + 3 + 2 * i]) : -1;\n"
       "  return s;\n}\n\n";

  o << "inline constexpr int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }\n\n";
  // Constraints.
  o << "// Checks the instruction's constraints; on failure returns false and sets *why.\n"
       "inline bool check_constraints(const Fields& f, std::string_view* why) {\n"
       "  switch (f.op) {\n";
  for (const auto& in : isa.insns) {
    if (in.constraints.empty()) continue;
    o << "    case Opcode::" << camel(in.name) << ":\n";
    Emitter em{isa, in, Lang::Cpp, in.name};
    for (const auto& c : in.constraints) {
      o << "      if (!(" << em.emit(c.expr) << ")) {\n        *why = "
        << cpp_string(c.message.empty() ? c.src : c.message) << ";\n        return false;\n      }\n";
    }
    o << "      return true;\n";
  }
  o << "    default:\n      return true;\n  }\n}\n\n";
  // Costs.
  for (const char* which : {"busy", "tail"}) {
    o << "// " << which << " cycles of a datapath instruction (docs/neutrino.md, timing rules).\n"
      << "inline int64_t " << which
      << "_cycles(const Fields& f, const AccelConfig& cfg, int64_t contention = 1) {\n"
      << "  (void)cfg;\n  (void)contention;\n  switch (f.op) {\n";
    for (const auto& in : isa.insns) {
      if (!in.has_cost) continue;
      Emitter em{isa, in, Lang::Cpp, in.name};
      o << "    case Opcode::" << camel(in.name) << ":\n      return "
        << em.emit(std::string(which) == "busy" ? in.busy : in.tail) << ";\n";
    }
    o << "    default:\n      return 0;\n  }\n}\n";
  }

  o << "\n// Layout sanity (the generator checks overlaps; these pin the word size).\n"
       "static_assert(kWordBits == 128);\nstatic_assert(kOpcodeBits <= 8);\n";
  for (const auto& in : isa.insns)
    for (const auto& f : in.fields)
      o << fmt::format("static_assert({} + {} <= kWordBits);\n", f.lsb, f.width);
  o << "\n}  // namespace ntr::isa\n";
  return o.str();
}

// ----------------------------------------------------------------------------- SV package
std::string gen_sv(const Isa& isa, const std::string& src_name) {
  std::ostringstream o;
  o << "// Generated by ntr_isagen from " << src_name << ". Do not edit.\n"
    << "// The Neutrino ISA: constants, opcodes, field positions, packed instruction formats and\n"
    << "// legality checks (docs/isa.md). Use package-qualified names (no import: Yosys 0.23).\n\n"
    << "/* verilator lint_off UNUSEDPARAM */\npackage ntr_isa_pkg;\n\n";
  o << fmt::format("  localparam int unsigned IsaVersion = {};\n", isa.version);
  o << fmt::format("  localparam int unsigned WordBits = {};\n", isa.word_bits);
  o << fmt::format("  localparam int unsigned OpcodeBits = {};\n", isa.opcode_bits);
  for (const auto& [k, v] : isa.constants)
    o << fmt::format("  localparam int unsigned {} = {};\n", k, v);
  o << "\n";
  for (const auto& [n, id] : isa.streams)
    o << fmt::format("  localparam int unsigned Stream{} = {};\n", camel(n), id);
  o << "\n  typedef enum logic [" << isa.opcode_bits - 1 << ":0] {\n";
  for (std::size_t i = 0; i < isa.insns.size(); ++i)
    o << fmt::format("    Op{} = {}'h{:02x}{}\n", camel(isa.insns[i].name), isa.opcode_bits,
                     isa.insns[i].opcode, i + 1 < isa.insns.size() ? "," : "");
  o << "  } opcode_e;\n\n";
  for (const auto& e : isa.enums) {
    o << "  typedef enum logic [" << e.width - 1 << ":0] {";
    for (std::size_t i = 0; i < e.values.size(); ++i)
      o << (i ? ", " : " ") << camel(e.name) << camel(e.values[i].first) << " = " << e.width
        << "'d" << e.values[i].second;
    o << " } " << e.name << "_e;\n";
  }
  o << "\n";
  for (const auto& in : isa.insns) {
    for (const auto& f : in.fields) {
      const std::string p = camel(in.name) + camel(f.name);
      o << fmt::format("  localparam int unsigned {}Lsb = {};\n", p, f.lsb);
      o << fmt::format("  localparam int unsigned {}Width = {};\n", p, f.width);
      if (f.offset) o << fmt::format("  localparam int unsigned {}Offset = {};\n", p, f.offset);
    }
  }
  o << "\n";
  for (const auto& in : isa.insns) {
    uint64_t lo, hi;
    used_mask(isa, in, lo, hi);
    o << fmt::format("  localparam logic [127:0] {}UsedMask = {};\n", camel(in.name), hex128(hi, lo));
  }
  o << "\n";
  // Packed structs, MSB first.
  for (const auto& in : isa.insns) {
    std::vector<const Field*> fs;
    for (const auto& f : in.fields) fs.push_back(&f);
    std::sort(fs.begin(), fs.end(), [](const Field* a, const Field* b) { return a->lsb > b->lsb; });
    o << "  typedef struct packed {\n";
    int top = isa.word_bits;
    for (const Field* f : fs) {
      if (f->lsb + f->width < top)
        o << fmt::format("    logic [{}:0] rsvd{};\n", top - (f->lsb + f->width) - 1, f->lsb + f->width);
      if (f->width == 1)
        o << "    logic " << f->name << ";\n";
      else
        o << fmt::format("    logic [{}:0] {};\n", f->width - 1, f->name);
      top = f->lsb;
    }
    if (top > isa.opcode_bits)
      o << fmt::format("    logic [{}:0] rsvd{};\n", top - isa.opcode_bits - 1, isa.opcode_bits);
    o << fmt::format("    logic [{}:0] opcode;\n", isa.opcode_bits - 1);
    o << "  } " << lower(in.name) << "_t;\n\n";
  }
  // Legality functions.
  for (const auto& in : isa.insns) {
    Emitter em{isa, in, Lang::Sv, in.name};
    std::vector<std::string> terms;
    {
      uint64_t lo, hi;
      used_mask(isa, in, lo, hi);
      terms.push_back(fmt::format("((w & ~{}) == 128'h0)", hex128(hi, lo)));
    }
    for (const auto& f : in.fields) {
      const std::string v = em.sv_field(f);
      if (f.type == "enum") {
        std::string alts;
        for (const auto& [k, val] : isa.find_enum(f.enum_name)->values)
          alts += fmt::format("{}({} == 64'sd{})", alts.empty() ? "" : " || ", v, val);
        terms.push_back("(" + alts + ")");
      } else if (f.type != "bool" && f.type != "sint") {
        const int64_t natural_max = (int64_t{1} << f.width) - 1 + f.offset;
        if (f.min > f.offset) terms.push_back(fmt::format("({} >= 64'sd{})", v, f.min));
        if (f.max < natural_max) terms.push_back(fmt::format("({} <= 64'sd{})", v, f.max));
      }
    }
    for (const auto& c : in.constraints) terms.push_back(em.emit(c.expr));
    o << "  function automatic logic " << lower(in.name) << "_legal(input logic [127:0] w);\n    "
      << lower(in.name) << "_legal = ";
    for (std::size_t i = 0; i < terms.size(); ++i) o << (i ? "\n        && " : "") << terms[i];
    o << ";\n  endfunction\n\n";
  }
  o << "  // 1 when w is a legal instruction for `stream` (StreamDma, StreamMac, StreamPpu).\n"
    << "  function automatic logic insn_legal(input logic [127:0] w, input logic [1:0] stream);\n"
    << "    insn_legal =";
  for (const auto& in : isa.insns) {
    int mask = 0;
    for (const auto& s : in.streams)
      for (const auto& [n, id] : isa.streams)
        if (n == s) mask |= 1 << id;
    std::string streams;
    for (const auto& [n, id] : isa.streams)
      if (mask & (1 << id))
        streams += fmt::format("{}(stream == 2'd{})", streams.empty() ? "" : " || ", id);
    o << fmt::format("\n        (w[{}:0] == {}'h{:02x}) ? (({}) && {}_legal(w)) :", isa.opcode_bits - 1,
                     isa.opcode_bits, in.opcode, streams, lower(in.name));
  }
  o << "\n        1'b0;\n  endfunction\n\nendpackage\n/* verilator lint_on UNUSEDPARAM */\n";
  return o.str();
}

// ----------------------------------------------------------------------------- configs
std::string gen_cfg_cpp(const std::vector<ntr::isa::AccelConfig>& cfgs) {
  std::ostringstream o;
  o << "// Generated by ntr_isagen from configs/accel/*.yaml. Do not edit.\n#pragma once\n\n"
       "#include <array>\n#include <cstdint>\n#include <string_view>\n\n#include \"ntr/isa/config.h\"\n\n"
       "namespace ntr::isa {\n\n";
  for (const auto& c : cfgs) {
    o << "// " << c.name << ": " << c.description << "\nnamespace cfg_" << ident(c.name) << " {\n";
    o << "inline constexpr std::string_view kName = " << cpp_string(c.name) << ";\n";
    for (const auto& p : ntr::isa::config_schema())
      o << fmt::format("inline constexpr int64_t k{} = {};\n", camel(p.name), c.*(p.member));
    o << fmt::format("inline constexpr int64_t kLanes = {};\n", c.lanes());
    o << fmt::format("inline constexpr int64_t kLwbHalfRows = {};\n", c.lwb_half_rows());
    o << fmt::format("inline constexpr int64_t kGibBankBytes = {};\n", c.gib_bank_bytes());
    o << "}  // namespace cfg_" << ident(c.name) << "\n\n";
  }
  o << "// The shipped configs, as loaded from configs/accel at build time.\n"
       "inline std::array<AccelConfig, " << cfgs.size() << "> shipped_accel_configs() {\n"
       "  std::array<AccelConfig, " << cfgs.size() << "> a{};\n";
  for (std::size_t i = 0; i < cfgs.size(); ++i) {
    const auto& c = cfgs[i];
    o << fmt::format("  a[{}].name = {};\n  a[{}].description = {};\n", i, cpp_string(c.name), i,
                     cpp_string(c.description));
    for (const auto& p : ntr::isa::config_schema())
      o << fmt::format("  a[{}].{} = {};\n", i, p.name, c.*(p.member));
  }
  o << "  return a;\n}\n\n}  // namespace ntr::isa\n";
  return o.str();
}

std::string gen_cfg_sv(const ntr::isa::AccelConfig& c) {
  std::ostringstream o;
  const std::string pkg = "ntr_cfg_" + ident(c.name) + "_pkg";
  o << "// Generated by ntr_isagen from configs/accel/" << c.name << ".yaml. Do not edit.\n"
    << "// " << c.description << "\n\n/* verilator lint_off UNUSEDPARAM */\npackage " << pkg << ";\n\n";
  for (const auto& p : ntr::isa::config_schema())
    o << fmt::format("  localparam int unsigned {} = {};\n", camel(p.name), c.*(p.member));
  o << fmt::format("  localparam int unsigned Lanes = {};\n", c.lanes());
  o << fmt::format("  localparam int unsigned LwbHalfRows = {};\n", c.lwb_half_rows());
  o << fmt::format("  localparam int unsigned GibBankBytes = {};\n", c.gib_bank_bytes());
  o << "\nendpackage\n/* verilator lint_on UNUSEDPARAM */\n";
  return o.str();
}

std::string gen_cfg_yosys(const ntr::isa::AccelConfig& c) {
  std::ostringstream o;
  o << "# Generated by ntr_isagen from configs/accel/" << c.name << ".yaml. Do not edit.\n"
    << "# Top-level parameters of the Neutrino RTL top `ntr_top` for this instance; run after\n"
    << "# reading the sources and before `hierarchy -top ntr_top`.\n";
  o << "chparam";
  for (const auto& p : ntr::isa::config_schema())
    o << fmt::format(" -set {} {}", camel(p.name), c.*(p.member));
  o << " ntr_top\n";
  return o.str();
}

// ----------------------------------------------------------------------------- docs table
std::string gen_doc_table(const Isa& isa) {
  std::ostringstream o;
  o << "| opcode | mnemonic | streams | fields (bits) | busy | tail | what it does |\n"
       "|---|---|---|---|---|---|---|\n";
  auto esc = [](std::string s) {
    std::string r;
    for (char c : s) {
      if (c == '|') r += "\\|";
      else if (c == '\n') r += ' ';
      else r += c;
    }
    std::string squeezed;
    for (char c : r) {
      if (c == ' ' && !squeezed.empty() && squeezed.back() == ' ') continue;
      squeezed += c;
    }
    return squeezed;
  };
  for (const auto& in : isa.insns) {
    std::string fields;
    for (const auto& f : in.fields) {
      if (f.sync) continue;
      fields += fmt::format("{}{} [{}:{}]", fields.empty() ? "" : ", ", f.name, f.lsb + f.width - 1, f.lsb);
    }
    if (in.cls == "datapath") fields += std::string(fields.empty() ? "" : ", ") + "sync [127:104]";
    std::string streams;
    for (const auto& s : in.streams) streams += (streams.empty() ? "" : ", ") + s;
    o << fmt::format("| 0x{:02x} | `{}` | {} | {} | {} | {} | {} |\n", in.opcode, lower(in.name),
                     streams, fields.empty() ? "-" : fields,
                     in.has_cost ? "`" + esc(in.busy_src) + "`" : "1 (front end)",
                     in.has_cost ? "`" + esc(in.tail_src) + "`" : "-", esc(in.summary));
  }
  return o.str();
}

std::string gen_config_table(const std::vector<ntr::isa::AccelConfig>& cfgs) {
  std::ostringstream o;
  o << "| key | unit | meaning |";
  for (const auto& c : cfgs) o << " " << c.name << " |";
  o << "\n|---|---|---|";
  for (std::size_t i = 0; i < cfgs.size(); ++i) o << "---|";
  o << "\n";
  for (const auto& p : ntr::isa::config_schema()) {
    o << "| `" << p.path << "` | " << p.unit << " | " << p.doc << " |";
    for (const auto& c : cfgs) o << " " << c.*(p.member) << " |";
    o << "\n";
  }
  return o.str();
}

// Replaces the text between <!-- NAME:begin --> and <!-- NAME:end --> in `text`, if present.
bool replace_section(std::string& text, const std::string& name, const std::string& body) {
  const std::string begin = "<!-- " + name + ":begin -->\n", end = "<!-- " + name + ":end -->";
  const auto b = text.find(begin), e = text.find(end);
  if (b == std::string::npos || e == std::string::npos || e < b) return false;
  text = text.substr(0, b + begin.size()) + body + text.substr(e);
  return true;
}

void write_if_changed(const fs::path& p, const std::string& content) {
  fs::create_directories(p.parent_path());
  {
    std::ifstream f(p, std::ios::binary);
    if (f) {
      std::stringstream ss;
      ss << f.rdbuf();
      if (ss.str() == content) return;
    }
  }
  std::ofstream f(p, std::ios::binary | std::ios::trunc);
  f << content;
  if (!f) die("cannot write " + p.string());
}

}  // namespace

int main(int argc, char** argv) {
  try {
    fs::path isa_path, out, doc;
    std::vector<fs::path> update_docs;
    std::vector<fs::path> cfgs;
    for (int i = 1; i < argc; ++i) {
      const std::string a = argv[i];
      auto next = [&]() -> std::string {
        if (i + 1 >= argc) die("missing value after " + a);
        return argv[++i];
      };
      if (a == "--isa") isa_path = next();
      else if (a == "--out") out = next();
      else if (a == "--doc-table") doc = next();
      else if (a == "--update-doc") update_docs.push_back(next());
      else if (a == "--help" || a == "-h") {
        std::cout << "usage: ntr_isagen --isa FILE --out DIR [--doc-table FILE] [--update-doc FILE] CONFIG.yaml...\n";
        return 0;
      } else cfgs.push_back(a);
    }
    if (isa_path.empty() || out.empty()) die("need --isa and --out (see --help)");
    const Isa isa = load_isa(isa_path);
    const std::string src = "isa/" + isa_path.filename().string();
    write_if_changed(out / "include/ntr/isa/isa_gen.h", gen_cpp(isa, src));
    write_if_changed(out / "sv/ntr_isa_pkg.sv", gen_sv(isa, src));
    std::vector<ntr::isa::AccelConfig> loaded;
    std::set<std::string> names;
    for (const auto& c : cfgs) {
      loaded.push_back(ntr::isa::load_accel_config(c));
      if (loaded.back().name + ".yaml" != c.filename().string())
        die(c.string() + ": name '" + loaded.back().name + "' must match the file name");
      if (!names.insert(loaded.back().name).second) die("duplicate config " + loaded.back().name);
    }
    std::sort(loaded.begin(), loaded.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
    write_if_changed(out / "include/ntr/isa/accel_configs_gen.h", gen_cfg_cpp(loaded));
    for (const auto& c : loaded) {
      write_if_changed(out / ("sv/ntr_cfg_" + ident(c.name) + "_pkg.sv"), gen_cfg_sv(c));
      write_if_changed(out / ("yosys/ntr_cfg_" + ident(c.name) + ".ys"), gen_cfg_yosys(c));
    }
    write_if_changed(out / "doc/config_table.md", gen_config_table(loaded));
    for (const auto& ud : update_docs) {
      // Replaces the generated sections (instruction table, config table) of a document.
      std::ifstream f(ud);
      std::stringstream ss;
      ss << f.rdbuf();
      std::string text = ss.str();
      bool any = replace_section(text, "isa-table", gen_doc_table(isa));
      any = replace_section(text, "config-table", gen_config_table(loaded)) || any;
      if (!any) die(ud.string() + ": no generated-section markers");
      write_if_changed(ud, text);
    }
    write_if_changed(out / "doc/isa_table.md", gen_doc_table(isa));
    if (!doc.empty()) write_if_changed(doc, gen_doc_table(isa));
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "ntr_isagen: error: " << e.what() << "\n";
    return 1;
  }
}
