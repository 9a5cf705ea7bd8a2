#include "ns/model/int8.h"

#include <cmath>
#include <limits>

#include <fmt/format.h>
#include <openssl/evp.h>

#include "ns/model/error.h"
#include "ns/model/package.h"

namespace ns::model::int8 {

namespace {

ActTable make_table(double (*fn)(double)) {
  ActTable t{};
  for (int n = 0; n < kActEntries; ++n)
    t[n] = sat16(static_cast<int64_t>(std::round(32768.0 * fn(-8.0 + n / 16.0))));
  return t;
}
double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }
double hyperbolic_tangent(double x) { return std::tanh(x); }

}  // namespace

const ActTable& sigmoid_table() {
  static const ActTable t = make_table(sigmoid);
  return t;
}
const ActTable& tanh_table() {
  static const ActTable t = make_table(hyperbolic_tangent);
  return t;
}

std::string table_sha256(const ActTable& t) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(t.data(), t.size() * sizeof(int16_t), md, &len, EVP_sha256(), nullptr);
  std::string hex;
  for (unsigned int i = 0; i < len; ++i) hex += fmt::format("{:02x}", md[i]);
  return hex;
}

FeatureCodec FeatureCodec::from_package(const ModelPackage& p) {
  auto vec = [&](const char* name) {
    const auto v = p.get<int32_t>(name);
    return std::vector<int32_t>(v.begin(), v.end());
  };
  return {vec("features.zero"), vec("features.shift"), vec("features.bytes")};
}

int FeatureCodec::row_bytes() const {
  int b = 0;
  for (int n : bytes) b += n;
  return b;
}

void FeatureCodec::encode(std::span<const int32_t> raw, std::span<int8_t> out) const {
  const size_t F = zero.size(), B = static_cast<size_t>(row_bytes());
  if (F == 0 || raw.size() % F != 0 || out.size() != raw.size() / F * B)
    throw ModelError(fmt::format("device features: {} raw values and {} output bytes do not match "
                                 "{} features of {} bytes",
                                 raw.size(), out.size(), F, B));
  const size_t n = raw.size() / F;
  for (size_t i = 0; i < n; ++i) {
    int8_t* o = out.data() + i * B;
    for (size_t j = 0; j < F; ++j) {
      const int64_t v = rshr(int64_t{raw[i * F + j]} - zero[j], shift[j]);
      if (bytes[j] == 1) {
        *o++ = sat8(v);
      } else {
        const int16_t v16 = sat16(v);
        *o++ = static_cast<int8_t>((v16 & 255) - 128);
        *o++ = static_cast<int8_t>(v16 >> 8);
      }
    }
  }
}

std::vector<int8_t> FeatureCodec::encode(std::span<const int32_t> raw) const {
  std::vector<int8_t> out(zero.empty() ? 0 : raw.size() / zero.size() * static_cast<size_t>(row_bytes()));
  encode(raw, out);
  return out;
}

std::vector<int8_t> FeatureCodec::padding_row() const {
  return encode(std::vector<int32_t>(zero.size(), 0));
}

std::vector<int32_t> cycle_thresholds(double scale, int clip) {
  if (!(scale > 0) || clip < 1)
    throw ModelError(fmt::format("cycle thresholds need a positive scale ({}) and clip ({})", scale, clip));
  std::vector<int32_t> theta(static_cast<size_t>(clip));
  constexpr double kMax = std::numeric_limits<int32_t>::max();
  for (int n = 1; n <= clip; ++n)
    theta[n - 1] = static_cast<int32_t>(std::min(std::ceil(std::log(n + 0.5) / scale), kMax));
  return theta;
}

}  // namespace ns::model::int8
