// The INT8 model in the compiler's terms: shapes, feature widths and the integer tensors of an
// INT8 package (docs/model-package.md), with the window the program will run.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "ns/model/package.h"

namespace ntr::compiler {

struct LstmWeights {  // one layer, one weight set
  int in = 0;                       // layer input width
  std::vector<int8_t> wih, whh;     // [4H][in], [4H][H], row-major
  std::vector<int32_t> bias, mult, shift;  // [4H]
};

// One head set (a design's, or its sum heads).
struct HeadWeights {
  std::vector<int8_t> fc1;                        // [A][Y]
  std::vector<int32_t> fc1_bias, fc1_mult, fc1_shift;  // [A]
  std::vector<int8_t> fc2;                        // [2][A]
  std::vector<int32_t> fc2_bias;                  // [2]
  std::vector<int8_t> reg;                        // [2][Y]: short, long
  std::vector<int32_t> reg_bias;                  // [2]
};

struct ModelView {
  std::string variant;
  int features = 0;                 // F
  std::vector<int> feature_bytes;   // n_j (1 or 2)
  int row_bytes = 0;                // B = sum n_j
  std::vector<int8_t> padding_row;  // B bytes: the all-zero raw feature vector
  int proj = 0;                     // P, input_proj width
  int hidden = 0;                   // H per direction
  int layers = 0;
  int directions = 1;
  bool tied = false;
  int weight_sets = 1;
  int out_width = 0;                // Y: a layer's output width
  int head_hidden = 0;              // A
  std::vector<std::string> designs;  // head sets: the card's designs, then their sum heads
  int length = 0, target = 0;       // window L, T
  int context() const { return (length - target) / 2; }
  int design_count() const { return static_cast<int>(designs.size()); }
  bool bidirectional() const { return directions == 2; }

  std::vector<int8_t> proj_w;       // [P][F]
  std::vector<int32_t> proj_bias, proj_mult, proj_shift;
  std::vector<std::vector<LstmWeights>> lstm;  // [layer][set]
  std::vector<HeadWeights> heads;
  std::array<int16_t, 257> act_sig{}, act_tanh{};
};

// Reads an INT8 package; window_length/target override the card's window when > 0. Throws
// ntr::compiler::CompileError for a package the engine cannot run (not INT8, unknown
// architecture, more than two layers, an invalid window).
ModelView make_model_view(const ns::model::ModelPackage& int8_package, int window_length = 0,
                          int window_target = 0);

}  // namespace ntr::compiler
