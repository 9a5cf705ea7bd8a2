#include "ns/model/features.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <stdexcept>
#include <unordered_map>
#include <utility>

#include "ns/trace/trace.h"

namespace ns::model {

namespace {
constexpr uint64_t kLo = (1ull << 20) - 1;
constexpr uint64_t kMid = (1ull << 22) - 1;

void split_address(uint64_t a, int32_t* out) {
  out[0] = static_cast<int32_t>(a >> 42);  // 22 bits
  out[1] = static_cast<int32_t>((a >> 20) & kMid);
  out[2] = static_cast<int32_t>(a & kLo);
}

// Exact stack distances: each line's latest access time is marked in a Fenwick tree, so the
// distinct lines touched since a line's previous access are the marks after that time.
class StackDistance {
 public:
  void clear() {
    last_.clear();
    tree_.assign(1024, 0);
    now_ = 0;
  }
  // Distinct other lines since the previous access to `line`, or -1 for a first access.
  int64_t access(uint64_t line) {
    if (now_ + 1 >= tree_.size()) grow();
    int64_t d = -1;
    const auto it = last_.find(line);
    if (it != last_.end()) {
      d = prefix(now_) - prefix(it->second);
      add(it->second, -1);
      it->second = now_;
    } else {
      last_.emplace(line, now_);
    }
    add(now_, 1);
    ++now_;
    return d;
  }

 private:
  void add(uint64_t t, int v) {
    for (uint64_t i = t + 1; i < tree_.size(); i += i & (~i + 1)) tree_[i] += v;
  }
  int64_t prefix(uint64_t t) const {  // marks at times <= t
    int64_t s = 0;
    for (uint64_t i = t + 1; i > 0; i -= i & (~i + 1)) s += tree_[i];
    return s;
  }
  void grow() {
    std::vector<int> marks(now_, 0);
    for (const auto& [line, t] : last_) marks[t] = 1;
    tree_.assign(tree_.size() * 2, 0);
    for (uint64_t t = 0; t < now_; ++t)
      if (marks[t]) add(t, 1);
  }
  std::unordered_map<uint64_t, uint64_t> last_;
  std::vector<int> tree_ = std::vector<int>(1024, 0);
  uint64_t now_ = 0;
};

int32_t reuse_feature(int64_t d) {
  if (d < 0) return kColdReuse;
  return 1 + static_cast<int32_t>(std::bit_width(static_cast<uint64_t>(d) + 1) - 1);
}

int32_t entropy_feature(uint32_t taken, uint32_t total) {
  const double p = (taken + 1.0) / (total + 2.0);
  return static_cast<int32_t>(std::lround(1000.0 * -(p * std::log2(p) + (1 - p) * std::log2(1 - p))));
}

// The state behind perfvec18's five execution features.
struct ExecutionState {
  StackDistance data, inst;
  std::unordered_map<uint64_t, std::pair<uint32_t, uint32_t>> local, global;  // (taken, total)
  uint32_t history = 0;  // last 8 conditional outcomes

  void clear() {
    data.clear();
    inst.clear();
    local.clear();
    global.clear();
    history = 0;
  }
  // Updates the state with r; writes its five features when out is not null.
  void step(const trace::Record& r, int32_t* out) {
    const int32_t taken = !r.is_branch() ? 0 : r.has(trace::kFlagTaken) ? 2 : 1;
    const int32_t data_reuse = r.mem_size ? reuse_feature(data.access(r.mem_addr >> 6)) : 0;
    const int32_t inst_reuse = reuse_feature(inst.access(r.pc >> 6));
    int32_t le = 0, ge = 0;
    if (r.has(trace::kFlagConditional)) {
      const bool t = r.has(trace::kFlagTaken);
      auto& l = local[r.pc];
      auto& g = global[r.pc * 256 + history];
      le = entropy_feature(l.first, l.second);
      ge = entropy_feature(g.first, g.second);
      l.first += t;
      ++l.second;
      g.first += t;
      ++g.second;
      history = ((history << 1) | t) & 255;
    }
    if (out) {
      out[0] = taken;
      out[1] = data_reuse;
      out[2] = inst_reuse;
      out[3] = le;
      out[4] = ge;
    }
  }
};
}  // namespace

void encode_paper13(const trace::Record& r, std::span<int32_t, kPaper13Features> out) {
  split_address(r.pc, &out[0]);
  out[3] = r.opclass;
  split_address(r.mem_size ? r.mem_addr : 0, &out[4]);
  out[7] = r.src1.cls;
  out[8] = r.src1.idx;
  out[9] = r.src2.cls;
  out[10] = r.src2.idx;
  out[11] = r.dst.cls;
  out[12] = r.dst.idx;
}

struct FeatureEncoder::Impl {
  std::string encoding;
  std::vector<std::string> names;
  std::vector<FeatureKind> kinds;
  bool execution = false;    // perfvec18, perfvec18-trace, perfvec12-trace
  bool spans_trace = false;  // perfvec18-trace, perfvec12-trace
  bool addresses = true;     // the six PC and address parts (all but perfvec12-trace)
  ExecutionState state;
  // Where encode_epoch() left the state: after epoch `next_epoch - 1` of trace `at_trace`
  // (empty when anything else has touched it since).
  std::string at_trace;
  size_t next_epoch = 0;
};

FeatureEncoder::FeatureEncoder(std::string_view encoding) : impl_(std::make_unique<Impl>()) {
  const auto known = known_encodings();
  if (std::find(known.begin(), known.end(), encoding) == known.end()) {
    std::string list;
    for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
    throw std::invalid_argument("unknown feature encoding '" + std::string(encoding) +
                                "' (known: " + list + ")");
  }
  impl_->encoding = encoding;
  impl_->names = {"pc_hi",    "pc_mid",   "pc_lo",    "opclass", "mem_hi",
                  "mem_mid",  "mem_lo",   "src1_cls", "src1_idx", "src2_cls",
                  "src2_idx", "dst_cls",  "dst_idx"};
  constexpr auto C = FeatureKind::Continuous, K = FeatureKind::Categorical;
  impl_->kinds = {C, C, C, K, C, C, C, K, K, K, K, K, K};
  if (encoding == "perfvec12-trace") {
    impl_->addresses = false;
    for (auto i = kAddressParts.rbegin(); i != kAddressParts.rend(); ++i) {  // back to front
      impl_->names.erase(impl_->names.begin() + static_cast<std::ptrdiff_t>(*i));
      impl_->kinds.erase(impl_->kinds.begin() + static_cast<std::ptrdiff_t>(*i));
    }
  }
  if (encoding != "paper13") {
    impl_->execution = true;
    impl_->spans_trace = encoding != "perfvec18";
    impl_->names.insert(impl_->names.end(),
                        {"branch_taken", "data_reuse", "inst_reuse", "local_entropy", "global_entropy"});
    impl_->kinds.insert(impl_->kinds.end(), {K, C, C, C, C});
    impl_->state.clear();
  }
}

FeatureEncoder::~FeatureEncoder() = default;
FeatureEncoder::FeatureEncoder(FeatureEncoder&&) noexcept = default;
FeatureEncoder& FeatureEncoder::operator=(FeatureEncoder&&) noexcept = default;

const std::string& FeatureEncoder::encoding() const { return impl_->encoding; }
int FeatureEncoder::feature_count() const { return static_cast<int>(impl_->names.size()); }
const std::vector<std::string>& FeatureEncoder::feature_names() const { return impl_->names; }
const std::vector<FeatureKind>& FeatureEncoder::feature_kinds() const { return impl_->kinds; }
bool FeatureEncoder::spans_trace() const { return impl_->spans_trace; }
void FeatureEncoder::reset() {
  impl_->at_trace.clear();
  if (impl_->execution) impl_->state.clear();
}
void FeatureEncoder::warm(std::span<const trace::Record> records) {
  impl_->at_trace.clear();
  if (impl_->execution)
    for (const auto& r : records) impl_->state.step(r, nullptr);
}

void FeatureEncoder::encode(std::span<const trace::Record> records, std::span<int32_t> out) {
  const size_t f = static_cast<size_t>(feature_count());
  if (out.size() != records.size() * f)
    throw std::invalid_argument("FeatureEncoder::encode: output holds " +
                                std::to_string(out.size()) + " values, need " +
                                std::to_string(records.size() * f));
  impl_->at_trace.clear();
  const size_t stat = impl_->addresses ? kPaper13Features : kPaper13Features - kAddressParts.size();
  std::array<int32_t, kPaper13Features> p13{};
  for (size_t i = 0; i < records.size(); ++i) {
    int32_t* row = out.data() + i * f;
    if (impl_->addresses) {
      encode_paper13(records[i], std::span<int32_t, kPaper13Features>(row, kPaper13Features));
    } else {
      encode_paper13(records[i], p13);
      for (size_t j = 0, k = 0; j < p13.size(); ++j)
        if (std::find(kAddressParts.begin(), kAddressParts.end(), j) == kAddressParts.end())
          row[k++] = p13[j];
    }
    if (impl_->execution) impl_->state.step(records[i], row + stat);
  }
}

std::vector<std::string> FeatureEncoder::known_encodings() {
  return {"paper13", "perfvec18", "perfvec18-trace", "perfvec12-trace"};
}

std::vector<int32_t> encode_epoch(FeatureEncoder& encoder, const trace::Reader& reader, size_t k) {
  const std::string trace = reader.path().string();
  const bool resume = encoder.spans_trace() && encoder.impl_->at_trace == trace &&
                      encoder.impl_->next_epoch == k;
  if (!resume) {
    encoder.reset();
    if (encoder.spans_trace())
      for (size_t j = 0; j < k; ++j) encoder.warm(reader.read_epoch(j, true));
  }
  const auto records = reader.read_epoch(k, true);
  size_t warm = 0;
  while (warm < records.size() && records[warm].is_warmup()) ++warm;
  const std::span<const trace::Record> all(records);
  encoder.warm(all.first(warm));
  std::vector<int32_t> out((records.size() - warm) * static_cast<size_t>(encoder.feature_count()));
  encoder.encode(all.subspan(warm), out);
  encoder.impl_->at_trace = trace;
  encoder.impl_->next_epoch = k + 1;
  return out;
}

}  // namespace ns::model
