#include "compress.h"

#include <algorithm>
#include <map>
#include <memory>

#include <fmt/format.h>

#include "ntr/compiler/error.h"

namespace ntr::compiler {

using isa::Fields;
using isa::Opcode;
using isa::Stream;

namespace {

constexpr int kMaxPattern = 6;

// An address: c + tile * tile_id + sum_l k[l] * i_l over the enclosing loops of the subtree
// (outermost first). The window loop is added at emission.
struct Aff {
  int field = 0;
  int64_t c = 0, tile = 0, win = 0;
  std::vector<int64_t> k;
};

struct Node {
  enum Kind { Insn, Block, Loop } kind = Insn;
  Fields f;
  std::vector<Aff> addr;
  std::string note;
  Cat cat = Cat::Other;
  bool step_start = false;
  int64_t count = 0;
  std::vector<Node> kids;
};

// ------------------------------------------------------------------- flat code to nodes
Node insn_node(const Fields& f, std::string note) {
  Node n;
  n.kind = Node::Insn;
  n.f = f;
  n.note = std::move(note);
  return n;
}

std::vector<Node> to_units(const std::vector<GenOp>& ops, const std::vector<std::string>& names) {
  std::vector<Node> units;
  int cur = -1;
  for (const GenOp& op : ops) {
    if (op.unit != cur || units.empty()) {
      Node b;
      b.kind = Node::Block;
      b.note = op.unit < static_cast<int>(names.size()) ? names[static_cast<std::size_t>(op.unit)] : "";
      units.push_back(std::move(b));
      cur = op.unit;
    }
    auto& kids = units.back().kids;
    // Extra waits become WAIT instructions in front of the operation.
    for (std::size_t i = 1; i < op.waits.size(); ++i) {
      isa::Wait w;
      w.sem = op.waits[i].ch;
      kids.push_back(insn_node(isa::to_fields(w), fmt::format("wait {}", channel_info(op.waits[i].ch).name)));
    }
    Node n = insn_node(op.f, op.note);
    n.cat = op.cat;
    n.step_start = op.step_start;
    const isa::InsnDesc& d = isa::desc(op.f.op);
    const int base = d.nfields - 8;
    if (!op.waits.empty()) {
      n.f.v[static_cast<std::size_t>(base)] = 1;
      n.f.v[static_cast<std::size_t>(base + 1)] = op.waits[0].ch;
    }
    for (std::size_t i = 0; i < op.sigs.size(); ++i) {
      n.f.v[static_cast<std::size_t>(base + 2 + 2 * i)] = 1;
      n.f.v[static_cast<std::size_t>(base + 3 + 2 * i)] = op.sigs[i].ch;
    }
    for (const AddrTerm& a : op.addr) n.addr.push_back({a.field, a.c, a.tile, a.win, {}});
    kids.push_back(std::move(n));
  }
  return units;
}

// ------------------------------------------------------------------- shape and constants
bool is_addr_field(const Node& n, int i) {
  for (const Aff& a : n.addr)
    if (a.field == i) return true;
  return false;
}

bool same_shape(const Node& a, const Node& b) {
  if (a.kind != b.kind) return false;
  if (a.kind == Node::Insn) {
    if (a.f.op != b.f.op || a.addr.size() != b.addr.size()) return false;
    for (std::size_t i = 0; i < a.addr.size(); ++i) {
      const Aff &x = a.addr[i], &y = b.addr[i];
      if (x.field != y.field || x.tile != y.tile || x.win != y.win || x.k != y.k) return false;
    }
    const int nf = isa::desc(a.f.op).nfields;
    for (int i = 0; i < nf; ++i)
      if (!is_addr_field(a, i) && a.f.v[static_cast<std::size_t>(i)] != b.f.v[static_cast<std::size_t>(i)])
        return false;
    return true;
  }
  if (a.count != b.count || a.kids.size() != b.kids.size()) return false;
  for (std::size_t i = 0; i < a.kids.size(); ++i)
    if (!same_shape(a.kids[i], b.kids[i])) return false;
  return true;
}

void collect(const Node& n, std::vector<const Aff*>& out) {
  if (n.kind == Node::Insn) {
    for (const Aff& a : n.addr) out.push_back(&a);
    return;
  }
  for (const Node& k : n.kids) collect(k, out);
}
void collect_mut(Node& n, std::vector<Aff*>& out) {
  if (n.kind == Node::Insn) {
    for (Aff& a : n.addr) out.push_back(&a);
    return;
  }
  for (Node& k : n.kids) collect_mut(k, out);
}

int depth_of(const Node& n) {
  if (n.kind == Node::Insn) return 0;
  int d = 0;
  for (const Node& k : n.kids) d = std::max(d, depth_of(k));
  return d + (n.kind == Node::Loop ? 1 : 0);
}

std::size_t size_of(const Node& n) {
  if (n.kind == Node::Insn) return 1;
  std::size_t s = n.kind == Node::Loop ? 1 : 0;
  for (const Node& k : n.kids) s += size_of(k);
  return s;
}

// Number of repetitions of S[i, i+p) starting at i whose address constants advance linearly.
int repeats(const std::vector<Node>& S, std::size_t i, std::size_t p) {
  if (i + 2 * p > S.size()) return 1;
  std::vector<const Aff*> c0, cr;
  for (std::size_t k = 0; k < p; ++k) collect(S[i + k], c0);
  std::vector<int64_t> delta;
  int r = 1;
  for (;; ++r) {
    const std::size_t at = i + static_cast<std::size_t>(r) * p;
    if (at + p > S.size()) break;
    bool ok = true;
    for (std::size_t k = 0; k < p && ok; ++k) ok = same_shape(S[i + k], S[at + k]);
    if (!ok) break;
    cr.clear();
    for (std::size_t k = 0; k < p; ++k) collect(S[at + k], cr);
    if (r == 1) {
      for (std::size_t k = 0; k < c0.size(); ++k) delta.push_back(cr[k]->c - c0[k]->c);
    } else {
      for (std::size_t k = 0; k < c0.size() && ok; ++k) ok = cr[k]->c - c0[k]->c == r * delta[k];
    }
    if (!ok) break;
  }
  return r;
}

std::vector<Node> compress(std::vector<Node> S, int max_depth) {
  for (bool changed = true; changed;) {
    changed = false;
    for (std::size_t p = 1; p <= static_cast<std::size_t>(kMaxPattern); ++p) {
      std::vector<Node> out;
      for (std::size_t i = 0; i < S.size();) {
        int r = repeats(S, i, p);
        int depth = 0;
        for (std::size_t k = i; k < i + p && k < S.size(); ++k) depth = std::max(depth, depth_of(S[k]));
        if (r >= 2 && depth + 1 <= max_depth) {
          Node loop;
          loop.kind = Node::Loop;
          loop.count = r;
          loop.kids.assign(S.begin() + static_cast<std::ptrdiff_t>(i), S.begin() + static_cast<std::ptrdiff_t>(i + p));
          // Coefficients of the new loop from the first two repetitions.
          std::vector<Aff*> a0;
          for (Node& k : loop.kids) collect_mut(k, a0);
          std::vector<const Aff*> a1;
          for (std::size_t k = i + p; k < i + 2 * p; ++k) collect(S[k], a1);
          for (std::size_t k = 0; k < a0.size(); ++k) a0[k]->k.insert(a0[k]->k.begin(), a1[k]->c - a0[k]->c);
          out.push_back(std::move(loop));
          i += p * static_cast<std::size_t>(r);
          changed = true;
        } else {
          out.push_back(std::move(S[i]));
          ++i;
        }
      }
      S = std::move(out);
      if (changed) break;
    }
  }
  return S;
}

// ------------------------------------------------------------------- emission
struct Group {
  std::vector<const Node*> path;  // enclosing loops, outermost (the window loop, nullptr) first
  std::vector<int64_t> k;         // per path entry
  int64_t tile = 0;
  int m = 0;                      // outermost loop with a non-zero coefficient (path index)
  int ar = -1;
  int64_t first = 0, last = 0;    // live range in emission order (pre-pass positions)
};

class Emitter {
 public:
  Emitter(const Plan& p, int64_t windows) : p_(p), windows_(windows) {}

  // Emits prologue + window loop + halt for one stream.
  std::vector<Fields> run(const std::vector<Node>& body, std::vector<Fields> prologue,
                          std::vector<std::string> prologue_notes, std::vector<std::string>& notes,
                          std::vector<Cat>& cats, std::vector<bool>& step_start, int64_t& window_pc,
                          int& ar_used, int& depth) {
    window_.kind = Node::Loop;
    window_.count = windows_;
    window_.kids = body;
    // Pass 1: groups and their live ranges (positions count instructions in a dry emission).
    pos_ = 0;
    discover(window_, {});
    allocate(ar_used);
    // Pass 2: emission.
    out_ = std::move(prologue);
    notes_ = std::move(prologue_notes);
    notes_.resize(out_.size());
    for (auto& g : groups_) {  // inits before the window loop
      if (g.m == 0 || (g.m == static_cast<int>(g.path.size()) && g.tile != 0)) init(g);
    }
    window_pc = static_cast<int64_t>(out_.size());
    emit_loop(window_, {});
    isa::Halt h;
    out_.push_back(isa::to_fields(h));
    notes_.push_back("end of stream");
    cats_.resize(out_.size(), Cat::Other);
    starts_.resize(out_.size(), false);
    notes = std::move(notes_);
    cats = std::move(cats_);
    step_start = std::move(starts_);
    depth = max_depth_;
    return std::move(out_);
  }

 private:
  static std::string key(const std::vector<const Node*>& path, const std::vector<int64_t>& k, int64_t tile) {
    std::string s;
    // Only groups that are pure tile offsets are shared across paths.
    bool zero = true;
    for (int64_t v : k) zero = zero && v == 0;
    if (!zero)
      for (const Node* n : path) s += fmt::format("{}/", static_cast<const void*>(n));
    for (int64_t v : k) s += fmt::format("{},", v);
    return s + fmt::format("t{}", tile);
  }

  // Full coefficient vector of an address: the window loop first.
  static std::vector<int64_t> full_k(const Aff& a) {
    std::vector<int64_t> k{a.win};
    k.insert(k.end(), a.k.begin(), a.k.end());
    return k;
  }

  void discover(const Node& n, std::vector<const Node*> path) {
    if (n.kind == Node::Loop) {
      path.push_back(&n == &window_ ? nullptr : &n);
      ++pos_;
      for (const Node& k : n.kids) discover(k, path);
      return;
    }
    if (n.kind == Node::Block) {
      for (const Node& k : n.kids) discover(k, path);
      return;
    }
    for (const Aff& a : n.addr) {
      const auto k = full_k(a);
      bool zero = a.tile == 0;
      for (int64_t v : k) zero = zero && v == 0;
      if (zero) continue;
      const std::string s = key(path, k, a.tile);
      auto it = index_.find(s);
      if (it == index_.end()) {
        Group g;
        g.path = path;
        g.k = k;
        g.tile = a.tile;
        g.m = static_cast<int>(k.size());
        for (std::size_t l = 0; l < k.size(); ++l)
          if (k[l] != 0) {
            g.m = static_cast<int>(l);
            break;
          }
        g.first = pos_;
        index_[s] = groups_.size();
        groups_.push_back(g);
        it = index_.find(s);
      }
      groups_[it->second].last = pos_;
    }
    ++pos_;
  }

  void allocate(int& ar_used) {
    // Live range: a group lives over its loop L_m (or the whole program for pure tile offsets and
    // window-loop groups); groups whose ranges overlap need different registers.
    struct Range {
      int64_t lo, hi;
      std::size_t g;
    };
    std::vector<Range> rs;
    for (std::size_t i = 0; i < groups_.size(); ++i) {
      const Group& g = groups_[i];
      int64_t lo = g.first, hi = g.last;
      if (g.m == 0 || g.m == static_cast<int>(g.path.size())) {
        lo = -1;
        hi = INT64_MAX;
      } else {
        // Cover the whole of loop L_m: from the first to the last use is enough since the
        // register is (re)initialised right before L_m and only used inside it.
        const auto span = loop_span(g.path[static_cast<std::size_t>(g.m)]);
        lo = span.first - 1;
        hi = span.second;
      }
      rs.push_back({lo, hi, i});
    }
    std::sort(rs.begin(), rs.end(), [](const Range& a, const Range& b) { return a.lo < b.lo; });
    std::vector<int64_t> busy_until(isa::kArCount, INT64_MIN);
    ar_used = 0;
    for (const Range& r : rs) {
      int ar = -1;
      for (int a = 1; a < isa::kArCount; ++a)
        if (busy_until[static_cast<std::size_t>(a)] < r.lo) {
          ar = a;
          break;
        }
      if (ar < 0)
        throw CompileError(fmt::format("internal: the schedule needs more than {} address registers in a stream",
                                       isa::kArCount - 1));
      busy_until[static_cast<std::size_t>(ar)] = r.hi;
      groups_[r.g].ar = ar;
      ar_used = std::max(ar_used, ar);
    }
  }

  std::pair<int64_t, int64_t> loop_span(const Node* loop) {
    // Positions of a loop in the dry emission, found by a second walk.
    int64_t pos = 0, lo = -1, hi = -1;
    walk_span(window_, loop, pos, lo, hi);
    return {lo, hi};
  }
  void walk_span(const Node& n, const Node* target, int64_t& pos, int64_t& lo, int64_t& hi) {
    if (n.kind == Node::Insn) {
      ++pos;
      return;
    }
    const int64_t start = pos;
    if (n.kind == Node::Loop) ++pos;
    for (const Node& k : n.kids) walk_span(k, target, pos, lo, hi);
    if (&n == target) {
      lo = start;
      hi = pos;
    }
  }

  void init(const Group& g) {
    if (g.tile != 0) {
      isa::Tile t;
      t.ar = g.ar;
      t.base = 0;
      t.stride = g.tile;
      out_.push_back(isa::to_fields(t));
    } else {
      isa::Seti s;
      s.ar = g.ar;
      s.imm = 0;
      out_.push_back(isa::to_fields(s));
    }
    notes_.push_back(fmt::format("a{} = address base", g.ar));
  }

  void addi(int ar, int64_t imm) {
    if (imm == 0) return;
    if (imm < -(int64_t{1} << 23) || imm >= (int64_t{1} << 23))
      throw CompileError(fmt::format("internal: address step {} does not fit an addi", imm));
    isa::Addi a;
    a.ar = ar;
    a.imm = imm;
    out_.push_back(isa::to_fields(a));
    notes_.push_back(fmt::format("a{} += {}", ar, imm));
  }

  const Group* group_of(const Aff& a, const std::vector<const Node*>& path) const {
    const auto k = full_k(a);
    bool zero = a.tile == 0;
    for (int64_t v : k) zero = zero && v == 0;
    if (zero) return nullptr;
    return &groups_[index_.at(key(path, k, a.tile))];
  }

  void emit_loop(const Node& loop, std::vector<const Node*> path) {
    path.push_back(&loop == &window_ ? nullptr : &loop);
    max_depth_ = std::max(max_depth_, static_cast<int>(path.size()));
    const int level = static_cast<int>(path.size()) - 1;
    // Groups (re)initialised right before nested loops are handled at the nested loop.
    const std::size_t at = out_.size();
    isa::Loop l;
    l.count = loop.count;
    l.body = 1;  // patched below
    out_.push_back(isa::to_fields(l));
    notes_.push_back(&loop == &window_ ? "window loop" : fmt::format("loop x{}", loop.count));
    for (const Node& k : loop.kids) emit_node(k, path);
    // End of body: advance the registers of this loop level.
    for (const Group& g : groups_) {
      if (static_cast<int>(g.path.size()) <= level || g.path[static_cast<std::size_t>(level)] != path.back()) continue;
      if (!same_prefix(g.path, path)) continue;
      addi(g.ar, g.k[static_cast<std::size_t>(level)]);
    }
    const int64_t body = static_cast<int64_t>(out_.size() - at - 1);
    if (body < 1 || body > 4095)
      throw CompileError(fmt::format("internal: loop body of {} instructions", body));
    isa::Loop fixed;
    fixed.count = loop.count;
    fixed.body = body;
    out_[at] = isa::to_fields(fixed);
    // After the loop: restore the registers it advanced (unless this is their L_m).
    if (&loop != &window_) {
      for (const Group& g : groups_) {
        if (static_cast<int>(g.path.size()) <= level || g.path[static_cast<std::size_t>(level)] != path.back()) continue;
        if (!same_prefix(g.path, path) || g.m == level) continue;
        addi(g.ar, -loop.count * g.k[static_cast<std::size_t>(level)]);
      }
    }
  }

  static bool same_prefix(const std::vector<const Node*>& a, const std::vector<const Node*>& b) {
    if (a.size() < b.size()) return false;
    for (std::size_t i = 0; i < b.size(); ++i)
      if (a[i] != b[i]) return false;
    return true;
  }

  void emit_node(const Node& n, const std::vector<const Node*>& path) {
    if (n.kind == Node::Block) {
      for (const Node& k : n.kids) emit_node(k, path);
      return;
    }
    if (n.kind == Node::Loop) {
      // Initialise the registers whose outermost moving loop is this one.
      std::vector<const Node*> inner = path;
      inner.push_back(&n);
      for (const Group& g : groups_)
        if (g.m == static_cast<int>(path.size()) && static_cast<int>(g.path.size()) > g.m &&
            g.path[static_cast<std::size_t>(g.m)] == &n && same_prefix(g.path, inner))
          init(g);
      emit_loop(n, path);
      return;
    }
    Fields f = n.f;
    for (const Aff& a : n.addr) {
      const Group* g = group_of(a, path);
      const int64_t c0 = a.c - a.win;  // the body is window 1
      if (c0 < 0) throw CompileError("internal: negative address base");
      f.v[static_cast<std::size_t>(a.field)] = c0;
      f.v[static_cast<std::size_t>(a.field - 1)] = g ? g->ar : 0;
    }
    cats_.resize(out_.size(), Cat::Other);
    starts_.resize(out_.size(), false);
    out_.push_back(f);
    notes_.push_back(n.note);
    cats_.push_back(n.cat);
    starts_.push_back(n.step_start);
  }

  const Plan& p_;
  int64_t windows_;
  Node window_;
  int64_t pos_ = 0;
  std::vector<Group> groups_;
  std::map<std::string, std::size_t> index_;
  std::vector<Fields> out_;
  std::vector<std::string> notes_;
  std::vector<Cat> cats_;
  std::vector<bool> starts_;
  int max_depth_ = 0;
};

// Checks that window 2 compresses to the same program as window 1 with every address moved by
// its window coefficient, so one loop body serves every window.
void check_periodic(const Node& a, const Node& b) {
  if (!same_shape(a, b)) throw CompileError("internal: windows 1 and 2 differ in structure at '" + a.note + "'");
  if (a.kind == Node::Insn) {
    for (std::size_t i = 0; i < a.addr.size(); ++i)
      if (b.addr[i].c - a.addr[i].c != a.addr[i].win)
        throw CompileError(fmt::format("internal: windows 1 and 2 differ in an address of '{}' (field {}: {} vs {}, "
                                       "window stride {})",
                                       a.note, a.addr[i].field, a.addr[i].c, b.addr[i].c, a.addr[i].win));
    return;
  }
  for (std::size_t i = 0; i < a.kids.size(); ++i) check_periodic(a.kids[i], b.kids[i]);
}

}  // namespace

EmitResult emit_program(const Plan& p, const GenResult& g, int64_t windows) {
  EmitResult r;
  for (int si = 0; si < isa::kStreams; ++si) {
    const Stream s = static_cast<Stream>(si);
    const auto& w1 = g.windows[1];
    const auto& w2 = g.windows[2];
    std::vector<Node> b1 = compress(to_units(w1.ops[static_cast<std::size_t>(si)], w1.unit_names), isa::kLoopDepth - 1);
    std::vector<Node> b2 = compress(to_units(w2.ops[static_cast<std::size_t>(si)], w2.unit_names), isa::kLoopDepth - 1);
    Node n1, n2;
    n1.kind = n2.kind = Node::Block;
    n1.kids = b1;
    n2.kids = b2;
    check_periodic(n1, n2);
    // Prologue: constant buffer load (dma), semaphore counts of a window boundary (signalled by
    // the consumer stream itself), the wait for the constants (ppu).
    std::vector<Fields> pro;
    std::vector<std::string> pro_notes;
    if (s == Stream::Dma) {
      isa::Dma d;
      d.dir = isa::Dir::Ld;
      d.g_space = isa::Gspace::Gwb;
      d.l_space = isa::Lspace::Cb;
      d.g_off = p.gwb_cb;
      d.l_off = 0;
      d.len = p.cb_rows;
      d.sync.sig[0] = kCbLoaded;
      pro.push_back(isa::to_fields(d));
      pro_notes.push_back("load the constant buffer");
    }
    for (int ch = 0; ch < kChannelCount; ++ch) {
      if (channel_info(ch).consumer != s) continue;
      for (int k = 0; k < g.credits[static_cast<std::size_t>(ch)]; ++k) {
        isa::Signal sg;
        sg.sem = ch;
        pro.push_back(isa::to_fields(sg));
        pro_notes.push_back(fmt::format("initial credit on {}", channel_info(ch).name));
      }
    }
    if (s == Stream::Ppu) {
      isa::Wait w;
      w.sem = kCbLoaded;
      pro.push_back(isa::to_fields(w));
      pro_notes.push_back("wait for the constant buffer");
    }
    Emitter em(p, windows);
    std::vector<std::string> notes;
    std::vector<bool> starts;
    const std::vector<Fields> fs =
        em.run(b1, pro, pro_notes, notes, r.cats[static_cast<std::size_t>(si)], starts,
               r.window_loop_pc[static_cast<std::size_t>(si)], r.ar_used[static_cast<std::size_t>(si)],
               r.max_depth[static_cast<std::size_t>(si)]);
    auto& words = r.program.stream(s);
    for (const Fields& f : fs) words.push_back(isa::encode(f));
    r.notes[static_cast<std::size_t>(si)] = std::move(notes);
    if (s == Stream::Mac) r.mac_step_start = std::move(starts);
    if (static_cast<int64_t>(words.size()) > p.cfg.imem_words)
      throw CompileError(fmt::format("instruction memory overflows by {} instructions: the {} stream needs {} of {}",
                                     static_cast<int64_t>(words.size()) - p.cfg.imem_words, isa::stream_name(s),
                                     words.size(), p.cfg.imem_words));
  }
  isa::decode_program(r.program, "<compiled program>");
  return r;
}

}  // namespace ntr::compiler
