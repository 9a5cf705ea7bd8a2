// The feature encoder: the one implementation that turns trace records into model inputs, used
// to write training shards and at inference (the paper's warning: any train/serve difference
// ruins accuracy). Features are raw integers; normalisation belongs to the model package.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ns/trace/record.h"

namespace ns::trace {
class Reader;
}

namespace ns::model {

// paper13: PC and memory address each split into bits [63:42], [41:20], [19:0] (22+22+20 bits),
// the opcode class, and src1/src2/dst as (class, index) pairs, in this order:
//   pc_hi pc_mid pc_lo opclass mem_hi mem_mid mem_lo src1_cls src1_idx src2_cls src2_idx
//   dst_cls dst_idx
inline constexpr int kPaper13Features = 13;

// perfvec18: paper13 plus five microarchitecture-independent execution features after PerfVec
// (Table I), stateful over an epoch (reset() at its start, warm() with its warm-up records):
//   branch_taken    0 not a control transfer, 1 not taken, 2 taken
//   data_reuse      the data access's stack distance d at 64-byte lines (distinct other lines
//                   touched since the last access to this line) as 1 + floor(log2(d + 1));
//                   0 without a data access, 40 for the first access to a line
//   inst_reuse      the same for the instruction's 64-byte fetch line
//   local_entropy   conditional branches: round(1000 H(p)), H the binary entropy and
//                   p = (taken + 1) / (executions + 2) over this branch's earlier executions; else 0
//   global_entropy  the same over earlier executions of this branch with the same outcomes of the
//                   last 8 conditional branches (the global history); else 0
//
// perfvec18-trace: the same eighteen features, but their state spans every sampled epoch of a
// trace in order (reset() once at the trace's start), as the reference core's caches and
// predictors do (docs/uarch.md, "Epochs, warm-up and state"). With per-epoch state a line the
// core still holds from an earlier epoch reads as a first access, so data_reuse cannot tell a
// cache hit from a miss to DRAM; with trace-wide state features and labels see one history.
//
// perfvec12-trace: perfvec18-trace without the six PC and address parts (pc_* and mem_*), in the
// same order otherwise: what the instruction does and the execution features, not where it is.
// Raw addresses name a program's code and data, which a model can learn by heart for its training
// programs and cannot carry over to others; the reuse features keep what the addresses say about
// the caches.
inline constexpr int kPerfVec18Features = 18;
inline constexpr std::array<size_t, 6> kAddressParts = {0, 1, 2, 4, 5, 6};  // in paper13's order
inline constexpr int kColdReuse = 40;

// Continuous features (address parts) are scaled by the INT8 quantiser; categorical ones (opcode
// class, register class and index) are small codes carried unchanged (docs/int8-spec.md s. 9).
enum class FeatureKind { Continuous, Categorical };

class FeatureEncoder {
 public:
  // Throws std::invalid_argument naming the encoding if it is unknown.
  explicit FeatureEncoder(std::string_view encoding = "paper13");
  ~FeatureEncoder();
  FeatureEncoder(FeatureEncoder&&) noexcept;
  FeatureEncoder& operator=(FeatureEncoder&&) noexcept;

  const std::string& encoding() const;
  int feature_count() const;
  const std::vector<std::string>& feature_names() const;
  const std::vector<FeatureKind>& feature_kinds() const;

  // Whether the state spans a trace's epochs (the -trace encodings) rather than one epoch.
  bool spans_trace() const;

  // Forget history (stateful encodings); call at the start of every epoch, or of every trace
  // when spans_trace().
  void reset();
  // Let warm-up records update history without producing features.
  void warm(std::span<const trace::Record> records);
  // Encode records in trace order: out.size() must be records.size() * feature_count().
  void encode(std::span<const trace::Record> records, std::span<int32_t> out);

  static std::vector<std::string> known_encodings();

 private:
  friend std::vector<int32_t> encode_epoch(FeatureEncoder&, const trace::Reader&, size_t);
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Epoch k of a trace as raw features (records x F): reset(), warm() on the epoch's warm-up
// records, encode() the others. When the encoder spans_trace(), every record of epochs 0..k-1
// is warmed first, unless the encoder's last encode_epoch() was epoch k-1 of the same trace
// (so encoding a trace's epochs in order costs one pass). Throws trace::TraceError on a corrupt
// epoch.
std::vector<int32_t> encode_epoch(FeatureEncoder& encoder, const trace::Reader& reader, size_t k);

// The paper13 features of one record (stateless).
void encode_paper13(const trace::Record& r, std::span<int32_t, kPaper13Features> out);

}  // namespace ns::model
