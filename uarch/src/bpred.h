// Branch prediction for the reference core. Trace-driven: the outcome is known, so each branch
// is predicted and the predictor trained in one call, in program order, with no wrong-path
// history to repair.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "ns/trace/record.h"
#include "ns/uarch/config.h"

namespace ns::uarch::detail {

// Conditional-branch direction predictors.
class DirectionPredictor {
 public:
  virtual ~DirectionPredictor() = default;
  // Returns the prediction for the branch at pc, then learns `taken`.
  virtual bool predict_update(uint64_t pc, bool taken) = 0;
};

std::unique_ptr<DirectionPredictor> make_direction_predictor(const BranchConfig& c);

// 2-bit saturating counters.
inline bool counter_taken(uint8_t c) { return c >= 2; }
inline void counter_update(uint8_t& c, bool taken) {
  if (taken) {
    if (c < 3) ++c;
  } else if (c > 0) {
    --c;
  }
}

class Btb {
 public:
  Btb(uint32_t entries, uint32_t ways);
  bool hit(uint64_t pc, uint64_t target);  // the entry exists and holds this target
  void update(uint64_t pc, uint64_t target);

 private:
  uint32_t ways_;
  uint64_t set_mask_;
  uint64_t clock_ = 0;
  struct Entry {
    uint64_t pc = 0, target = 0, stamp = 0;
  };
  std::vector<Entry> e_;
};

class ReturnStack {
 public:
  explicit ReturnStack(uint32_t entries) : s_(entries) {}
  void push(uint64_t ret) {
    top_ = (top_ + 1) % s_.size();
    s_[top_] = ret;
  }
  uint64_t pop() {
    const uint64_t r = s_[top_];
    top_ = (top_ + s_.size() - 1) % s_.size();
    return r;
  }

 private:
  std::vector<uint64_t> s_;
  size_t top_ = 0;
};

// Target cache for indirect jumps and calls, indexed by the PC and a hash of the last
// `path_length` indirect targets.
class IndirectPredictor {
 public:
  IndirectPredictor(uint32_t sets, uint32_t ways, uint32_t path_length);
  bool predict_update(uint64_t pc, uint64_t target);  // true when the prediction was right

 private:
  uint32_t ways_, path_length_;
  uint64_t set_mask_;
  uint64_t clock_ = 0;
  std::vector<uint64_t> path_;
  struct Entry {
    uint64_t key = 0, target = 0, stamp = 0;
  };
  std::vector<Entry> e_;
};

struct BranchOutcome {
  bool mispredict = false;       // resolved wrong at execute: fetch restarts after it
  bool decode_redirect = false;  // taken direct branch missing from the BTB: decode redirects
};

class BranchUnit {
 public:
  explicit BranchUnit(const BranchConfig& c);
  BranchOutcome process(const trace::Record& r);

 private:
  std::unique_ptr<DirectionPredictor> dir_;
  Btb btb_;
  ReturnStack ras_;
  IndirectPredictor indirect_;
};

}  // namespace ns::uarch::detail
