// One element of the post-processing pipeline (docs/neutrino.md, "ppu"; the reference is
// ntr::isa::ppu_element): requantise, saturate, activate, multiply, add, shift, saturate. Pure
// combinational; ntr_ppu instantiates ppu.lanes of them between its read and write stages.
// Every intermediate fits 64-bit two's complement (docs/rtl.md, "PPU arithmetic").
module ntr_ppu_lane (
  input  logic signed [63:0] a_i,       // a operand: int32 (ACC, VS), sign-extended int8 (LIB8) or 0
  input  logic signed [31:0] b_i,       // b operand (used when mul)
  input  logic signed [63:0] old_i,     // destination's current value, sign-extended (used when add)
  input  logic signed [31:0] bias_i,    // constant-buffer row (used when rq == ROW)
  input  logic signed [31:0] mult_i,
  input  logic [5:0]         shift_i,
  input  logic [1:0]         rq_i,
  input  logic               relu_i,
  input  logic [4:0]         rshift_i,
  input  logic [1:0]         sat1_i,
  input  logic [1:0]         act_i,
  input  logic               mul_i,
  input  logic               add_i,
  input  logic [3:0]         oshift_i,
  input  logic [1:0]         sat2_i,
  output logic signed [63:0] x_o        // before narrowing to the destination
);
  logic signed [63:0] x_rq, x_s1, x_act, x_mul, x_add, x_sh;
  logic signed [31:0] v;
  logic signed [63:0] prod_rq, prod_mul;
  /* verilator lint_off UNUSEDSIGNAL */  // saturated to 16 bits
  logic signed [63:0] p16;
  /* verilator lint_on UNUSEDSIGNAL */
  logic [15:0] q;
  logic [8:0] idx;
  logic signed [15:0] t0, t1;
  logic signed [31:0] dt;
  logic signed [63:0] lerp;

  // Requantisation: ROW uses the element's constant row, SHIFT a fixed shift.
  always_comb begin
    v = 32'(a_i + {{32{bias_i[31]}}, bias_i});  // wrap32(a + bias)
    if (relu_i && v[31]) v = 32'sd0;
    prod_rq = {{32{v[31]}}, v} * {{32{mult_i[31]}}, mult_i};
    unique case (rq_i)
      ntr_isa_pkg::RqRow:   x_rq = ntr_pkg::rshr(prod_rq, shift_i);
      ntr_isa_pkg::RqShift: x_rq = ntr_pkg::rshr(a_i, {1'b0, rshift_i});
      default:              x_rq = a_i;
    endcase
  end

  always_comb begin
    unique case (sat1_i)
      ntr_isa_pkg::Sat1S8:  x_s1 = ntr_pkg::sat(x_rq, -64'sd128, 64'sd127);
      ntr_isa_pkg::Sat1S16: x_s1 = ntr_pkg::sat(x_rq, -64'sd32768, 64'sd32767);
      default:              x_s1 = x_rq;
    endcase
  end

  // Table interpolation of a Q3.12 input (int8-spec section 6).
  always_comb begin
    p16 = ntr_pkg::sat(x_s1, -64'sd32768, 64'sd32767);
    q = p16[15:0] ^ 16'h8000;  // p + 32768
    idx = {1'b0, q[15:8]};
    if (act_i == ntr_isa_pkg::ActTanh) begin
      t0 = ntr_act_pkg::TanhRom[idx*16 +: 16];
      t1 = ntr_act_pkg::TanhRom[(idx + 9'd1)*16 +: 16];
    end else begin
      t0 = ntr_act_pkg::SigRom[idx*16 +: 16];
      t1 = ntr_act_pkg::SigRom[(idx + 9'd1)*16 +: 16];
    end
    dt = {{16{t1[15]}}, t1} - {{16{t0[15]}}, t0};
    lerp = {{32{dt[31]}}, dt} * {56'd0, q[7:0]};
    x_act = (act_i == ntr_isa_pkg::ActNone) ? x_s1
                                            : {{48{t0[15]}}, t0} + ntr_pkg::rshr(lerp, 6'd8);
  end

  always_comb begin
    prod_mul = {{32{x_act[31]}}, x_act[31:0]} * {{32{b_i[31]}}, b_i};
    x_mul = mul_i ? ntr_pkg::rshr(prod_mul, 6'd15) : x_act;
    x_add = add_i ? x_mul + old_i : x_mul;
    x_sh = ntr_pkg::rshr(x_add, {2'b0, oshift_i});
    unique case (sat2_i)
      ntr_isa_pkg::Sat2S8:  x_o = ntr_pkg::sat(x_sh, -64'sd128, 64'sd127);
      ntr_isa_pkg::Sat2S16: x_o = ntr_pkg::sat(x_sh, -64'sd32768, 64'sd32767);
      ntr_isa_pkg::Sat2C19: x_o = ntr_pkg::sat(x_sh, -64'sd262144, 64'sd262143);
      default:              x_o = x_sh;
    endcase
  end

endmodule
