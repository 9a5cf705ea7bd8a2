#include "bpred.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace ns::uarch::detail {
namespace {

using trace::OpClass;
using trace::Record;

// x86 instructions start at any byte: mix the higher bits into the low ones.
inline uint64_t pc_hash(uint64_t pc) { return pc ^ (pc >> 13) ^ (pc >> 27); }

// Folds a history of up to 64 bits into `bits` bits.
inline uint64_t fold(uint64_t h, uint32_t bits) {
  uint64_t r = 0;
  for (; h; h >>= bits) r ^= h & ((uint64_t(1) << bits) - 1);
  return r;
}

class Bimodal final : public DirectionPredictor {
 public:
  explicit Bimodal(uint32_t entries) : ctr_(entries, 1), mask_(entries - 1) {}
  bool predict_update(uint64_t pc, bool taken) override {
    uint8_t& c = ctr_[pc_hash(pc) & mask_];
    const bool p = counter_taken(c);
    counter_update(c, taken);
    return p;
  }

 private:
  std::vector<uint8_t> ctr_;
  uint64_t mask_;
};

class Gshare final : public DirectionPredictor {
 public:
  Gshare(uint32_t entries, uint32_t history_bits)
      : ctr_(entries, 1),
        mask_(entries - 1),
        index_bits_(static_cast<uint32_t>(std::countr_zero(entries))),
        hist_mask_(history_bits >= 64 ? ~0ull : (1ull << history_bits) - 1) {}
  bool predict_update(uint64_t pc, bool taken) override {
    uint8_t& c = ctr_[(pc_hash(pc) ^ fold(ghr_ & hist_mask_, index_bits_)) & mask_];
    const bool p = counter_taken(c);
    counter_update(c, taken);
    ghr_ = (ghr_ << 1) | taken;
    return p;
  }

 private:
  std::vector<uint8_t> ctr_;
  uint64_t mask_;
  uint32_t index_bits_;
  uint64_t hist_mask_, ghr_ = 0;
};

// Alpha 21264 style, as gem5's TournamentBP: per-branch local histories index local counters;
// the global history indexes the global and the choice counters.
class Tournament final : public DirectionPredictor {
 public:
  explicit Tournament(const BranchConfig& c)
      : local_hist_(c.local_history_entries, 0),
        local_ctr_(size_t(1) << c.local_history_bits, 1),
        global_ctr_(c.global_entries, 1),
        choice_ctr_(c.choice_entries, 1),
        lh_mask_(c.local_history_entries - 1),
        lbits_mask_((1u << c.local_history_bits) - 1) {}
  bool predict_update(uint64_t pc, bool taken) override {
    uint16_t& lh = local_hist_[pc_hash(pc) & lh_mask_];
    uint8_t& lc = local_ctr_[lh];
    uint8_t& gc = global_ctr_[ghr_ & (global_ctr_.size() - 1)];
    uint8_t& cc = choice_ctr_[ghr_ & (choice_ctr_.size() - 1)];
    const bool lp = counter_taken(lc), gp = counter_taken(gc);
    const bool p = counter_taken(cc) ? gp : lp;
    if (lp != gp) counter_update(cc, gp == taken);
    counter_update(lc, taken);
    counter_update(gc, taken);
    lh = static_cast<uint16_t>(((lh << 1) | taken) & lbits_mask_);
    ghr_ = (ghr_ << 1) | taken;
    return p;
  }

 private:
  std::vector<uint16_t> local_hist_;
  std::vector<uint8_t> local_ctr_, global_ctr_, choice_ctr_;
  uint64_t lh_mask_;
  uint32_t lbits_mask_;
  uint64_t ghr_ = 0;
};

// TAGE (Seznec and Michaud): a bimodal base predictor and tagged tables indexed with
// geometrically longer global histories; the longest matching table provides the prediction,
// mispredictions allocate entries in longer tables, usefulness counters protect good entries.
class Tage final : public DirectionPredictor {
 public:
  explicit Tage(const BranchConfig& c)
      : base_(c.tage_base_entries, 1),
        base_mask_(c.tage_base_entries - 1),
        index_bits_(static_cast<uint32_t>(std::countr_zero(c.tage_table_entries))),
        tag_bits_(c.tage_tag_bits),
        hist_(kHistBits, 0) {
    const uint32_t n = c.tage_tables;
    tables_.resize(n);
    for (uint32_t i = 0; i < n; ++i) {
      Table& t = tables_[i];
      const double ratio = n > 1 ? double(i) / (n - 1) : 0.0;
      t.length = static_cast<uint32_t>(std::lround(
          c.tage_min_history * std::pow(double(c.tage_max_history) / c.tage_min_history, ratio)));
      t.entries.resize(c.tage_table_entries);
      t.idx.init(t.length, index_bits_);
      t.tag0.init(t.length, tag_bits_);
      t.tag1.init(t.length, tag_bits_ - 1);
    }
    index_.resize(n);
    tag_.resize(n);
  }

  bool predict_update(uint64_t pc, bool taken) override {
    const int n = static_cast<int>(tables_.size());
    const uint64_t h = pc_hash(pc);
    const uint64_t imask = (1ull << index_bits_) - 1, tmask = (1ull << tag_bits_) - 1;
    int provider = -1, alt = -1;
    for (int i = n - 1; i >= 0; --i) {
      const Table& t = tables_[i];
      index_[i] = static_cast<uint32_t>((h ^ (h >> (index_bits_ - (i % index_bits_))) ^ t.idx.comp) &
                                        imask);
      tag_[i] = static_cast<uint16_t>((h ^ t.tag0.comp ^ (uint64_t(t.tag1.comp) << 1)) & tmask);
      if (t.entries[index_[i]].tag == tag_[i]) {
        if (provider < 0) provider = i;
        else if (alt < 0) alt = i;
      }
    }
    uint8_t& bc = base_[h & base_mask_];
    const bool base_pred = counter_taken(bc);
    const bool alt_pred = alt >= 0 ? tables_[alt].entries[index_[alt]].ctr >= 0 : base_pred;
    bool pred = base_pred;
    if (provider >= 0) {
      Entry& e = tables_[provider].entries[index_[provider]];
      const bool provider_pred = e.ctr >= 0;
      const bool weak = e.ctr == 0 || e.ctr == -1;
      pred = (weak && use_alt_ >= 0) ? alt_pred : provider_pred;
      if (weak && provider_pred != alt_pred)
        use_alt_ = static_cast<int8_t>(std::clamp(use_alt_ + (alt_pred == taken ? 1 : -1), -8, 7));
      e.ctr = static_cast<int8_t>(std::clamp(e.ctr + (taken ? 1 : -1), -4, 3));
      if (provider_pred != alt_pred)
        e.u = static_cast<uint8_t>(std::clamp(e.u + (provider_pred == taken ? 1 : -1), 0, 3));
      if (weak && alt < 0) counter_update(bc, taken);
    } else {
      counter_update(bc, taken);
    }
    if (pred != taken && provider < n - 1) allocate(provider, taken);
    if (++tick_ % (1u << 18) == 0)
      for (Table& t : tables_)
        for (Entry& e : t.entries) e.u >>= 1;
    push_history(taken);
    return pred;
  }

 private:
  static constexpr uint32_t kHistBits = 2048;  // > the longest history (1024)

  struct Folded {
    uint32_t comp = 0, length = 0, bits = 0, out = 0;
    void init(uint32_t l, uint32_t b) {
      length = l;
      bits = b;
      out = l % b;
    }
  };
  struct Entry {
    uint16_t tag = 0;
    int8_t ctr = 0;
    uint8_t u = 0;
  };
  struct Table {
    uint32_t length = 0;
    std::vector<Entry> entries;
    Folded idx, tag0, tag1;
  };

  void allocate(int provider, bool taken) {
    const int n = static_cast<int>(tables_.size());
    // Start one or two tables above the provider (pseudo-random), as TAGE does, to spread
    // allocations.
    lfsr_ = (lfsr_ >> 1) ^ (-(lfsr_ & 1u) & 0xB400u);
    int start = provider + 1 + ((lfsr_ & 1) && provider + 2 < n ? 1 : 0);
    for (int j = start; j < n; ++j) {
      Entry& e = tables_[j].entries[index_[j]];
      if (e.u == 0) {
        e = Entry{tag_[j], static_cast<int8_t>(taken ? 0 : -1), 0};
        return;
      }
    }
    for (int j = provider + 1; j < n; ++j) {
      Entry& e = tables_[j].entries[index_[j]];
      if (e.u > 0) --e.u;
    }
  }

  void push_history(bool taken) {
    head_ = (head_ + kHistBits - 1) % kHistBits;
    hist_[head_] = taken;
    for (Table& t : tables_)
      for (Folded* f : {&t.idx, &t.tag0, &t.tag1}) {
        const uint32_t old = hist_[(head_ + f->length) % kHistBits];
        f->comp = (f->comp << 1) | uint32_t(taken);
        f->comp ^= old << f->out;
        f->comp ^= f->comp >> f->bits;
        f->comp &= (1u << f->bits) - 1;
      }
  }

  std::vector<uint8_t> base_;
  uint64_t base_mask_;
  uint32_t index_bits_, tag_bits_;
  std::vector<Table> tables_;
  std::vector<uint32_t> index_;
  std::vector<uint16_t> tag_;
  std::vector<uint8_t> hist_;  // hist_[head_] is the newest outcome
  uint32_t head_ = 0;
  int8_t use_alt_ = 0;
  uint32_t tick_ = 0;
  uint32_t lfsr_ = 0xACE1u;
};

}  // namespace

std::unique_ptr<DirectionPredictor> make_direction_predictor(const BranchConfig& c) {
  switch (c.predictor) {
    case PredictorKind::Bimodal:
      return std::make_unique<Bimodal>(c.bimodal_entries);
    case PredictorKind::Gshare:
      return std::make_unique<Gshare>(c.gshare_entries, c.gshare_history_bits);
    case PredictorKind::Tournament:
      return std::make_unique<Tournament>(c);
    case PredictorKind::Tage:
      return std::make_unique<Tage>(c);
  }
  return nullptr;
}

Btb::Btb(uint32_t entries, uint32_t ways)
    : ways_(ways), set_mask_(entries / ways - 1), e_(entries) {}

bool Btb::hit(uint64_t pc, uint64_t target) {
  const size_t base = (pc_hash(pc) & set_mask_) * ways_;
  for (uint32_t w = 0; w < ways_; ++w) {
    Entry& e = e_[base + w];
    if (e.pc == pc + 1) {
      e.stamp = ++clock_;
      return e.target == target;
    }
  }
  return false;
}

void Btb::update(uint64_t pc, uint64_t target) {
  const size_t base = (pc_hash(pc) & set_mask_) * ways_;
  size_t victim = base;
  for (uint32_t w = 0; w < ways_; ++w) {
    Entry& e = e_[base + w];
    if (e.pc == pc + 1) {
      victim = base + w;
      break;
    }
    if (e.stamp < e_[victim].stamp) victim = base + w;
  }
  e_[victim] = Entry{pc + 1, target, ++clock_};
}

IndirectPredictor::IndirectPredictor(uint32_t sets, uint32_t ways, uint32_t path_length)
    : ways_(ways),
      path_length_(path_length),
      set_mask_(sets - 1),
      path_(path_length, 0),
      e_(size_t(sets) * ways) {}

bool IndirectPredictor::predict_update(uint64_t pc, uint64_t target) {
  uint64_t key = pc_hash(pc);
  for (uint32_t k = 0; k < path_length_; ++k) key ^= (path_[k] >> 2) << (3 * (k + 1));
  key = key * 0x9E3779B97F4A7C15ull + 1;
  const size_t base = ((key >> 32) & set_mask_) * ways_;
  bool right = false;
  size_t slot = base;
  for (uint32_t w = 0; w < ways_; ++w) {
    Entry& e = e_[base + w];
    if (e.key == key) {
      right = e.target == target;
      slot = base + w;
      break;
    }
    if (e.stamp < e_[slot].stamp) slot = base + w;
  }
  e_[slot] = Entry{key, target, ++clock_};
  if (path_length_) {
    std::rotate(path_.rbegin(), path_.rbegin() + 1, path_.rend());
    path_[0] = target;
  }
  return right;
}

BranchUnit::BranchUnit(const BranchConfig& c)
    : dir_(make_direction_predictor(c)),
      btb_(c.btb_entries, c.btb_ways),
      ras_(c.ras_entries),
      indirect_(c.indirect_sets, c.indirect_ways, c.indirect_path_length) {}

BranchOutcome BranchUnit::process(const Record& r) {
  const OpClass op = r.op();
  const bool taken = r.has(trace::kFlagTaken);
  const uint64_t target = r.next_pc;
  const bool is_return = r.has(trace::kFlagReturn) || op == OpClass::Return;
  const bool is_call =
      r.has(trace::kFlagCall) || op == OpClass::CallDirect || op == OpClass::CallIndirect;
  const bool is_indirect =
      r.has(trace::kFlagIndirect) || op == OpClass::BranchIndirect || op == OpClass::CallIndirect;
  const bool is_cond = r.has(trace::kFlagConditional) || op == OpClass::BranchCond;
  BranchOutcome o;
  if (is_return) {
    o.mispredict = ras_.pop() != target;
  } else if (is_indirect) {
    o.mispredict = !indirect_.predict_update(r.pc, target);
  } else if (is_cond) {
    const bool pred = dir_->predict_update(r.pc, taken);
    if (pred != taken) o.mispredict = true;
    else if (taken && !btb_.hit(r.pc, target)) o.decode_redirect = true;
    if (taken) btb_.update(r.pc, target);
  } else if (taken) {  // direct jump or call: the BTB supplies the target at fetch
    if (!btb_.hit(r.pc, target)) o.decode_redirect = true;
    btb_.update(r.pc, target);
  }
  if (is_call) ras_.push(r.pc + r.inst_len);
  return o;
}

}  // namespace ns::uarch::detail
