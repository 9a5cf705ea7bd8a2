// The concrete RtlTop over a Verilated model class V (every config's model has the same ports).
#pragma once

#include <memory>
#include <stdexcept>
#include <string>

#include <verilated.h>

#include "ntr/tb/rtl_top.h"

namespace ntr::tb {

template <class V>
class RtlTopImpl final : public RtlTop {
 public:
  explicit RtlTopImpl(const isa::AccelConfig& cfg) : RtlTop(cfg), ctx_(std::make_unique<VerilatedContext>()) {
    ctx_->fatalOnError(false);  // an RTL assertion becomes an exception here, not an abort
    model_ = std::make_unique<V>(ctx_.get(), "top");
    model_->clk_i = 0;
    model_->rst_ni = 0;
    model_->eval();
    sample();
    reset();
  }
  ~RtlTopImpl() override { model_->final(); }

  void tick() override {
    V& m = *model_;
    m.rst_ni = in_.rst_n;
    m.host_req_i = in_.req;
    m.host_we_i = in_.we;
    m.host_addr_i = in_.addr;
    m.host_be_i = in_.be;
    m.host_wdata_i = in_.wdata;
    m.clk_i = 1;
    m.eval();
    m.clk_i = 0;
    m.eval();
    ++clocks_;
    if (ctx_->gotError()) throw std::runtime_error("RTL assertion failed (see the simulation output)");
    sample();
  }

 private:
  // Outputs of the cycle that just began.
  void sample() {
    const V& m = *model_;
    rvalid_ = m.host_rvalid_o;
    rdata_ = m.host_rdata_o;
    irq_ = m.irq_o;
    // ntr_pkg::retire_t, packed MSB first: exec[2:0] issue[2:0] done[2:0] pc[47:0] done_pc[47:0]
    // cycle[47:0], i.e. cycle at bits 0.., done_pc at 48.., pc at 96.., done at 144, issue at 147,
    // exec at 150.
    auto bits = [&](int lsb, int width) {
      uint64_t v = 0;
      for (int i = 0; i < width; ++i) {
        const int b = lsb + i;
        v |= static_cast<uint64_t>((m.retire_o[b / 32] >> (b % 32)) & 1u) << i;
      }
      return v;
    };
    retire_.cycle = bits(0, 48);
    for (int s = 0; s < 3; ++s) {
      retire_.done_pc[s] = static_cast<uint16_t>(bits(48 + 16 * s, 16));
      retire_.pc[s] = static_cast<uint16_t>(bits(96 + 16 * s, 16));
    }
    retire_.done = static_cast<uint8_t>(bits(144, 3));
    retire_.issue = static_cast<uint8_t>(bits(147, 3));
    retire_.exec = static_cast<uint8_t>(bits(150, 3));
  }

  std::unique_ptr<VerilatedContext> ctx_;
  std::unique_ptr<V> model_;
};

}  // namespace ntr::tb
