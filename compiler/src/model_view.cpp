#include "ntr/compiler/model_view.h"

#include <fmt/format.h>

#include "ns/model/error.h"
#include "ns/model/int8.h"
#include "ntr/compiler/error.h"

namespace ntr::compiler {

namespace {

template <class T>
std::vector<T> copy(const ns::model::ModelPackage& p, const std::string& name) {
  const auto s = p.get<T>(name);
  return std::vector<T>(s.begin(), s.end());
}

}  // namespace

ModelView make_model_view(const ns::model::ModelPackage& p, int window_length, int window_target) {
  using ns::model::PackageFormat;
  const auto& c = p.card;
  if (c.format != PackageFormat::Int8)
    throw CompileError(fmt::format("model '{}' is not an INT8 package (format '{}')", c.variant,
                                   ns::model::format_name(c.format)));
  const auto& a = c.arch;
  if (a.type != "lstm") throw CompileError("unknown architecture type '" + a.type + "'");
  if (a.layers != 2)
    throw CompileError(fmt::format("the Neutrino schedule supports 2 LSTM layers (model has {})", a.layers));
  ModelView m;
  m.variant = c.variant;
  m.features = c.features();
  m.proj = a.input_proj;
  m.hidden = a.hidden;
  m.layers = a.layers;
  m.directions = a.directions;
  m.tied = a.tied;
  m.weight_sets = a.weight_sets();
  m.out_width = a.output_width();
  m.head_hidden = a.head_hidden;
  m.designs = c.head_names();
  m.length = window_length > 0 ? window_length : c.window_length;
  m.target = window_target > 0 ? window_target : c.window_target;
  if (m.target < 1 || m.length < m.target || (m.length - m.target) % 2 != 0)
    throw CompileError(fmt::format("window L={}, T={} is invalid (need 1 <= T <= L and L - T even)",
                                   m.length, m.target));
  if (m.designs.empty()) throw CompileError("model has no head sets");
  try {
    const auto codec = ns::model::int8::FeatureCodec::from_package(p);
    m.feature_bytes.assign(codec.bytes.begin(), codec.bytes.end());
    m.row_bytes = codec.row_bytes();
    m.padding_row = codec.padding_row();
    m.proj_w = copy<int8_t>(p, "input_proj.weight");
    m.proj_bias = copy<int32_t>(p, "input_proj.bias");
    m.proj_mult = copy<int32_t>(p, "input_proj.mult");
    m.proj_shift = copy<int32_t>(p, "input_proj.shift");
    m.lstm.resize(static_cast<size_t>(m.layers));
    for (int l = 0; l < m.layers; ++l) {
      for (int s = 0; s < m.weight_sets; ++s) {
        LstmWeights w;
        w.in = a.layer_input(l);
        w.wih = copy<int8_t>(p, ns::model::rnn_name("weight_ih", l, s));
        w.whh = copy<int8_t>(p, ns::model::rnn_name("weight_hh", l, s));
        w.bias = copy<int32_t>(p, ns::model::rnn_name("bias", l, s));
        w.mult = copy<int32_t>(p, ns::model::rnn_name("mult", l, s));
        w.shift = copy<int32_t>(p, ns::model::rnn_name("shift", l, s));
        m.lstm[static_cast<size_t>(l)].push_back(std::move(w));
      }
    }
    for (int d = 0; d < m.design_count(); ++d) {
      HeadWeights h;
      h.fc1 = copy<int8_t>(p, ns::model::head_name(d, "cls_fc1.weight"));
      h.fc1_bias = copy<int32_t>(p, ns::model::head_name(d, "cls_fc1.bias"));
      h.fc1_mult = copy<int32_t>(p, ns::model::head_name(d, "cls_fc1.mult"));
      h.fc1_shift = copy<int32_t>(p, ns::model::head_name(d, "cls_fc1.shift"));
      h.fc2 = copy<int8_t>(p, ns::model::head_name(d, "cls_fc2.weight"));
      h.fc2_bias = copy<int32_t>(p, ns::model::head_name(d, "cls_fc2.bias"));
      h.reg = copy<int8_t>(p, ns::model::head_name(d, "reg.weight"));
      h.reg_bias = copy<int32_t>(p, ns::model::head_name(d, "reg.bias"));
      m.heads.push_back(std::move(h));
    }
    const auto sig = p.get<int16_t>("act.sigmoid");
    const auto tnh = p.get<int16_t>("act.tanh");
    std::copy(sig.begin(), sig.end(), m.act_sig.begin());
    std::copy(tnh.begin(), tnh.end(), m.act_tanh.begin());
  } catch (const ns::model::ModelError& e) {
    throw CompileError(std::string("model package: ") + e.what());
  }
  return m;
}

}  // namespace ntr::compiler
