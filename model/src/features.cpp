#include "ns/model/features.h"

#include <stdexcept>

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
};

FeatureEncoder::FeatureEncoder(std::string_view encoding) : impl_(std::make_unique<Impl>()) {
  if (encoding != "paper13")
    throw std::invalid_argument("unknown feature encoding '" + std::string(encoding) +
                                "' (known: paper13)");
  impl_->encoding = encoding;
  impl_->names = {"pc_hi",    "pc_mid",   "pc_lo",    "opclass", "mem_hi",
                  "mem_mid",  "mem_lo",   "src1_cls", "src1_idx", "src2_cls",
                  "src2_idx", "dst_cls",  "dst_idx"};
  constexpr auto C = FeatureKind::Continuous, K = FeatureKind::Categorical;
  impl_->kinds = {C, C, C, K, C, C, C, K, K, K, K, K, K};
}

FeatureEncoder::~FeatureEncoder() = default;
FeatureEncoder::FeatureEncoder(FeatureEncoder&&) noexcept = default;
FeatureEncoder& FeatureEncoder::operator=(FeatureEncoder&&) noexcept = default;

const std::string& FeatureEncoder::encoding() const { return impl_->encoding; }
int FeatureEncoder::feature_count() const { return static_cast<int>(impl_->names.size()); }
const std::vector<std::string>& FeatureEncoder::feature_names() const { return impl_->names; }
const std::vector<FeatureKind>& FeatureEncoder::feature_kinds() const { return impl_->kinds; }
void FeatureEncoder::reset() {}
void FeatureEncoder::warm(std::span<const trace::Record>) {}

void FeatureEncoder::encode(std::span<const trace::Record> records, std::span<int32_t> out) {
  const size_t f = static_cast<size_t>(feature_count());
  if (out.size() != records.size() * f)
    throw std::invalid_argument("FeatureEncoder::encode: output holds " +
                                std::to_string(out.size()) + " values, need " +
                                std::to_string(records.size() * f));
  for (size_t i = 0; i < records.size(); ++i)
    encode_paper13(records[i], out.subspan(i * f).first<kPaper13Features>());
}

std::vector<std::string> FeatureEncoder::known_encodings() { return {"paper13"}; }

std::vector<int32_t> encode_epoch(FeatureEncoder& encoder, const trace::Reader& reader, size_t k) {
  const auto records = reader.read_epoch(k, true);
  size_t warm = 0;
  while (warm < records.size() && records[warm].is_warmup()) ++warm;
  const std::span<const trace::Record> all(records);
  encoder.reset();
  encoder.warm(all.first(warm));
  std::vector<int32_t> out((records.size() - warm) * static_cast<size_t>(encoder.feature_count()));
  encoder.encode(all.subspan(warm), out);
  return out;
}

}  // namespace ns::model
