// Post-processing unit of a tile (csim: PostProcessor): executes ppu and psel instructions.
//
// An instruction of G element groups (G = ceil(n / Lanes), psel: ceil(2n / Lanes)) starting at
// cycle s reads group g's operands at s + g (ACC, VS, LIB, CB ports; data one cycle later),
// computes the group in ntr_ppu_lane at s + g + 1 and writes it at s + g + Latency, so the last
// write is visible at s + G + Latency = done (docs/neutrino.md: busy = G + latency, tail 0). The
// unit is free again at done. oob_o flags, for the instruction on the issue inputs, an operand
// outside its memory (checked when it starts, as csim's PostProcessor::check).
module ntr_ppu #(
  parameter int unsigned Lanes    = 16,    // ppu.lanes, a power of two >= 2
  parameter int unsigned Latency  = 4,     // ppu.latency >= 1
  parameter int unsigned MacLanes = 256,
  parameter int unsigned AccBanks = 2,
  parameter int unsigned LibBytes = 16384,
  parameter int unsigned VsWords  = 2048,
  parameter int unsigned CbRows   = 3072,
  parameter int unsigned LibWin   = 64,    // LIB window bytes (>= 4 x Lanes)
  parameter int unsigned CbWin    = 16,    // CB window rows (>= Lanes)
  localparam int unsigned AccAw = $clog2(AccBanks * MacLanes) + 1,
  localparam int unsigned VsAw  = $clog2(VsWords) + 1,
  localparam int unsigned LibAw = $clog2(LibBytes) + 1,
  localparam int unsigned CbAw  = $clog2(CbRows) + 1,
  localparam int unsigned Aw    = ntr_pkg::AddrW
) (
  input  logic                       clk_i,
  input  logic                       rst_ni,
  input  logic                       init_i,      // run start: abandon any work
  // issue (the same instruction on every tile; addresses per tile)
  input  logic                       issue_i,
  input  logic [127:0]               insn_i,
  input  logic signed [Aw-1:0]       a_addr_i,
  input  logic signed [Aw-1:0]       d_addr_i,
  output logic                       free_o,
  output logic                       done_o,
  output logic                       oob_o,
  // accumulators (owned by the MAC array)
  output logic                       acc_rd_en_o,
  output logic [AccAw-1:0]           acc_rd_addr_o,
  input  logic [Lanes*32-1:0]        acc_rd_data_i,
  // vector scratch: read ports a, b, old; one write port
  output logic [2:0]                 vs_rd_en_o,
  output logic [3*VsAw-1:0]          vs_rd_addr_o,
  input  logic [3*Lanes*32-1:0]      vs_rd_data_i,
  output logic                       vs_wr_en_o,
  output logic [VsAw-1:0]            vs_wr_addr_o,
  output logic [Lanes-1:0]           vs_wr_mask_o,
  output logic [Lanes*32-1:0]        vs_wr_data_o,
  // local input buffer: read ports a, b, old; one write port
  output logic [2:0]                 lib_rd_en_o,
  output logic [3*LibAw-1:0]         lib_rd_addr_o,
  input  logic [3*LibWin*8-1:0]      lib_rd_data_i,
  output logic                       lib_wr_en_o,
  output logic [LibAw-1:0]           lib_wr_addr_o,
  output logic [LibWin-1:0]          lib_wr_mask_o,
  output logic [LibWin*8-1:0]        lib_wr_data_o,
  // constant buffer rows {shift[5:0], mult[31:0], bias[31:0]}
  output logic                       cb_rd_en_o,
  output logic [CbAw-1:0]            cb_rd_addr_o,
  input  logic [CbWin*70-1:0]        cb_rd_data_i
);
  localparam int unsigned Gw = $clog2(2 * 256 / Lanes + 1) + 1;  // group counter
  localparam int unsigned Bw = Gw + 6;                            // busy counter

  // ------------------------------------------------------------------ issue checks
  ntr_isa_pkg::ppu_t iq;
  assign iq = insn_i;

  function automatic logic outside(input logic signed [Aw-1:0] lo, input int unsigned n,
                                   input int unsigned size);
    outside = (lo < 0) || (lo + Aw'(n) > Aw'(size));
  endfunction

  always_comb begin
    logic select;
    int unsigned n;
    logic signed [Aw-1:0] b_addr, cb_addr;
    select = (iq.opcode == ntr_isa_pkg::OpPsel);
    n = 32'(iq.n) + 1;
    b_addr = Aw'(iq.b_off);
    cb_addr = Aw'(iq.cb_off);
    oob_o = 1'b0;
    if (select) begin
      oob_o = outside(a_addr_i, 2 * n, VsWords) || outside(b_addr, 2 * n, VsWords);
    end else begin
      unique case (iq.a_space)
        ntr_isa_pkg::AsrcAcc:
          oob_o = outside(a_addr_i, n, AccBanks * MacLanes) ||
                  ((a_addr_i >>> $clog2(MacLanes)) != ((a_addr_i + Aw'(n) - 1) >>> $clog2(MacLanes)));
        ntr_isa_pkg::AsrcVs:   oob_o = outside(a_addr_i, n, VsWords);
        ntr_isa_pkg::AsrcLib8: oob_o = outside(a_addr_i, n, LibBytes);
        default:               oob_o = 1'b0;
      endcase
      if (iq.mul) begin
        if (iq.b_space == ntr_isa_pkg::BsrcVs) oob_o |= outside(b_addr, n, VsWords);
        else                                   oob_o |= outside(b_addr, n, LibBytes);
      end
      if (iq.rq == ntr_isa_pkg::RqRow) oob_o |= outside(cb_addr, n, CbRows);
    end
    unique case (iq.d_space)
      ntr_isa_pkg::PdstVs:   oob_o |= outside(d_addr_i, n, VsWords);
      ntr_isa_pkg::PdstLib8: oob_o |= outside(d_addr_i, n, LibBytes);
      default:               oob_o |= outside(d_addr_i, 4 * n, LibBytes);
    endcase
  end

  // ------------------------------------------------------------------ read stage
  // The instruction in progress (captured at issue); group 0 is read in the issue cycle from
  // the issue inputs.
  ntr_isa_pkg::ppu_t cur_q;
  logic cur_sel_q;
  logic signed [Aw-1:0] cur_a_q, cur_d_q;
  logic [Gw-1:0] grp_q, grps_q;      // next group to read, groups of the instruction
  logic [Bw-1:0] rem_q;              // cycles until done
  logic active_q;

  /* verilator lint_off UNUSEDSIGNAL */  // the decoded word: only some fields matter here
  ntr_isa_pkg::ppu_t f;
  /* verilator lint_on UNUSEDSIGNAL */
  logic f_sel;
  logic signed [Aw-1:0] f_a, f_d;
  logic [Gw-1:0] f_g;
  logic rd_valid;
  logic [Gw-1:0] groups;
  logic [8:0] n_issue;

  assign n_issue = 9'(iq.n) + 9'd1;
  always_comb begin
    logic [9:0] elems;
    elems = (iq.opcode == ntr_isa_pkg::OpPsel) ? {n_issue, 1'b0} : {1'b0, n_issue};
    groups = Gw'((elems + 10'(Lanes) - 10'd1) / 10'(Lanes));
  end

  always_comb begin
    if (issue_i) begin
      f = iq;
      f_sel = (iq.opcode == ntr_isa_pkg::OpPsel);
      f_a = a_addr_i;
      f_d = d_addr_i;
      f_g = '0;
    end else begin
      f = cur_q;
      f_sel = cur_sel_q;
      f_a = cur_a_q;
      f_d = cur_d_q;
      f_g = grp_q;
    end
    rd_valid = issue_i || (active_q && (grp_q < grps_q));
  end

  // Element range of this group: ppu elements e0 .. e0 + Lanes - 1; psel pairs p0 .. p0 +
  // Lanes/2 - 1, whose operand words are 2 p0 .. (a, b).
  logic [9:0] e0, p0;
  logic [Lanes-1:0] slot_valid;   // output slots (ppu: elements; psel: pairs) that exist
  assign e0 = 10'(f_g) * 10'(Lanes);
  assign p0 = 10'(f_g) * 10'(Lanes / 2);
  always_comb begin
    for (int i = 0; i < Lanes; i++) begin
      if (f_sel) slot_valid[i] = (i < Lanes / 2) && ((p0 + 10'(i)) < (10'(f.n) + 10'd1));
      else       slot_valid[i] = (e0 + 10'(i)) < (10'(f.n) + 10'd1);
    end
  end

  always_comb begin
    /* verilator lint_off UNUSEDSIGNAL */  // memory addresses use the low bits
    logic signed [Aw-1:0] a_el, b_el, d_el, cb_el, d_lib32;
    /* verilator lint_on UNUSEDSIGNAL */
    a_el = f_a + Aw'(e0);                       // ppu a / psel a (2 p0 = e0)
    b_el = Aw'(f.b_off) + Aw'(e0);
    cb_el = Aw'(f.cb_off) + Aw'(e0);
    d_el = f_d + Aw'(e0);
    d_lib32 = f_d + Aw'({e0, 2'b0});
    acc_rd_en_o = rd_valid && !f_sel && (f.a_space == ntr_isa_pkg::AsrcAcc);
    acc_rd_addr_o = AccAw'(a_el);
    vs_rd_en_o[0] = rd_valid && (f_sel || (f.a_space == ntr_isa_pkg::AsrcVs));
    vs_rd_addr_o[0 +: VsAw] = VsAw'(a_el);
    vs_rd_en_o[1] = rd_valid && (f_sel || (f.mul && (f.b_space == ntr_isa_pkg::BsrcVs)));
    vs_rd_addr_o[VsAw +: VsAw] = VsAw'(b_el);
    vs_rd_en_o[2] = rd_valid && !f_sel && f.add && (f.d_space == ntr_isa_pkg::PdstVs);
    vs_rd_addr_o[2*VsAw +: VsAw] = VsAw'(d_el);
    lib_rd_en_o[0] = rd_valid && !f_sel && (f.a_space == ntr_isa_pkg::AsrcLib8);
    lib_rd_addr_o[0 +: LibAw] = LibAw'(a_el);
    lib_rd_en_o[1] = rd_valid && !f_sel && f.mul && (f.b_space == ntr_isa_pkg::BsrcLib8);
    lib_rd_addr_o[LibAw +: LibAw] = LibAw'(b_el);
    lib_rd_en_o[2] = rd_valid && !f_sel && f.add && (f.d_space != ntr_isa_pkg::PdstVs);
    lib_rd_addr_o[2*LibAw +: LibAw] = LibAw'((f.d_space == ntr_isa_pkg::PdstLib32) ? d_lib32 : d_el);
    cb_rd_en_o = rd_valid && !f_sel && (f.rq == ntr_isa_pkg::RqRow);
    cb_rd_addr_o = CbAw'(cb_el);
  end

  // Destination of this group's slots: VS word / LIB8 byte / LIB32 byte address of slot 0.
  logic signed [Aw-1:0] wr_base;
  logic [9:0] slot0;
  assign slot0 = f_sel ? p0 : e0;
  assign wr_base = (f.d_space == ntr_isa_pkg::PdstLib32) ? f_d + Aw'({slot0, 2'b0}) : f_d + Aw'(slot0);

  // ------------------------------------------------------------------ control
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      cur_q <= '0;
      cur_sel_q <= 1'b0;
      cur_a_q <= '0;
      cur_d_q <= '0;
      grp_q <= '0;
      grps_q <= '0;
      rem_q <= '0;
      active_q <= 1'b0;
    end else if (init_i) begin
      grp_q <= '0;
      grps_q <= '0;
      rem_q <= '0;
      active_q <= 1'b0;
    end else if (issue_i) begin
      cur_q <= iq;
      cur_sel_q <= (iq.opcode == ntr_isa_pkg::OpPsel);
      cur_a_q <= a_addr_i;
      cur_d_q <= d_addr_i;
      grp_q <= Gw'(1);
      grps_q <= groups;
      rem_q <= Bw'(groups) + Bw'(Latency) - Bw'(1);
      active_q <= 1'b1;
    end else if (active_q) begin
      if (grp_q < grps_q) grp_q <= grp_q + Gw'(1);
      if (rem_q == '0) active_q <= 1'b0;
      else rem_q <= rem_q - Bw'(1);
    end
  end

  assign done_o = active_q && (rem_q == '0);
  assign free_o = !active_q || (rem_q == '0);

  // ------------------------------------------------------------------ compute stage
  // Stage 1 (one cycle after the reads): operands arrive from the memories.
  typedef struct packed {
    logic               valid;
    logic               sel;
    logic [1:0]         a_space;
    logic               b_space;
    logic [1:0]         d_space;
    logic [1:0]         rq;
    logic               relu;
    logic [4:0]         rshift;
    logic [1:0]         sat1;
    logic [1:0]         act;
    logic               mul;
    logic               add;
    logic [3:0]         oshift;
    logic [1:0]         sat2;
    logic [Lanes-1:0]   slots;
    logic [Aw-1:0]      wr_base;
  } s1_t;
  s1_t s1_q;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      s1_q <= '0;
    end else begin
      s1_q.valid <= rd_valid && !init_i;
      if (rd_valid) begin
        s1_q.sel <= f_sel;
        s1_q.a_space <= f.a_space;
        s1_q.b_space <= f.b_space;
        s1_q.d_space <= f.d_space;
        s1_q.rq <= f.rq;
        s1_q.relu <= f.relu;
        s1_q.rshift <= f.rshift;
        s1_q.sat1 <= f.sat1;
        s1_q.act <= f.act;
        s1_q.mul <= f.mul;
        s1_q.add <= f.add;
        s1_q.oshift <= f.oshift;
        s1_q.sat2 <= f.sat2;
        s1_q.slots <= slot_valid;
        s1_q.wr_base <= wr_base;
      end
    end
  end

  logic [Lanes*32-1:0] res;   // per output slot, narrowed (LIB8: low byte significant)
  for (genvar i = 0; i < Lanes; i++) begin : g_lane
    /* verilator lint_off UNUSEDSIGNAL */  // slots keep the low 32 bits
    logic signed [63:0] a, old, x;
    /* verilator lint_on UNUSEDSIGNAL */
    logic signed [31:0] b;
    logic [69:0] cb;
    always_comb begin
      unique case (s1_q.a_space)
        ntr_isa_pkg::AsrcAcc:  a = {{32{acc_rd_data_i[i*32+31]}}, acc_rd_data_i[i*32 +: 32]};
        ntr_isa_pkg::AsrcVs:   a = {{32{vs_rd_data_i[i*32+31]}}, vs_rd_data_i[i*32 +: 32]};
        ntr_isa_pkg::AsrcLib8: a = {{56{lib_rd_data_i[i*8+7]}}, lib_rd_data_i[i*8 +: 8]};
        default:               a = '0;
      endcase
      if (s1_q.b_space == ntr_isa_pkg::BsrcVs) b = vs_rd_data_i[Lanes*32 + i*32 +: 32];
      else b = {{24{lib_rd_data_i[LibWin*8 + i*8 + 7]}}, lib_rd_data_i[LibWin*8 + i*8 +: 8]};
      unique case (s1_q.d_space)
        ntr_isa_pkg::PdstVs:
          old = {{32{vs_rd_data_i[2*Lanes*32 + i*32 + 31]}}, vs_rd_data_i[2*Lanes*32 + i*32 +: 32]};
        ntr_isa_pkg::PdstLib8:
          old = {{56{lib_rd_data_i[2*LibWin*8 + i*8 + 7]}}, lib_rd_data_i[2*LibWin*8 + i*8 +: 8]};
        default:
          old = {{32{lib_rd_data_i[2*LibWin*8 + i*32 + 31]}}, lib_rd_data_i[2*LibWin*8 + i*32 +: 32]};
      endcase
      cb = cb_rd_data_i[i*70 +: 70];
    end

    ntr_ppu_lane u_lane (
      .a_i     (a),
      .b_i     (b),
      .old_i   (old),
      .bias_i  (cb[31:0]),
      .mult_i  (cb[63:32]),
      .shift_i (cb[69:64]),
      .rq_i    (s1_q.rq),
      .relu_i  (s1_q.relu),
      .rshift_i(s1_q.rshift),
      .sat1_i  (s1_q.sat1),
      .act_i   (s1_q.act),
      .mul_i   (s1_q.mul),
      .add_i   (s1_q.add),
      .oshift_i(s1_q.oshift),
      .sat2_i  (s1_q.sat2),
      .x_o     (x)
    );

    // psel: slot i < Lanes/2 selects pair i of the a (logits) and b (regressor) words.
    if (i < Lanes / 2) begin : g_pair
      logic signed [31:0] z0, z1;
      logic [31:0] r0, r1;
      assign z0 = vs_rd_data_i[(2*i)*32 +: 32];
      assign z1 = vs_rd_data_i[(2*i+1)*32 +: 32];
      assign r0 = vs_rd_data_i[Lanes*32 + (2*i)*32 +: 32];
      assign r1 = vs_rd_data_i[Lanes*32 + (2*i+1)*32 +: 32];
      assign res[i*32 +: 32] = s1_q.sel ? ((z1 > z0) ? r1 : r0) : x[31:0];
    end else begin : g_elem
      assign res[i*32 +: 32] = x[31:0];
    end
  end

  // ------------------------------------------------------------------ write stage
  // Latency - 1 register stages between compute and write (none when Latency == 1).
  typedef struct packed {
    logic             valid;
    logic [1:0]       d_space;
    logic [Lanes-1:0] slots;
    logic [Aw-1:0]    wr_base;
    logic [Lanes*32-1:0] res;
  } wb_t;
  wb_t wb_c, wb;
  always_comb begin
    wb_c.valid = s1_q.valid;
    wb_c.d_space = s1_q.d_space;
    wb_c.slots = s1_q.slots;
    wb_c.wr_base = s1_q.wr_base;
    wb_c.res = res;
  end

  localparam int unsigned WbW = 3 + Lanes + Aw + Lanes * 32;  // bits of wb_t
  if (Latency == 1) begin : g_lat1
    assign wb = wb_c;
  end else begin : g_latn
    localparam int unsigned PipeW = (Latency - 1) * WbW;
    logic [PipeW-1:0] pipe_q;
    always_ff @(posedge clk_i or negedge rst_ni) begin
      if (!rst_ni) pipe_q <= '0;
      else if (init_i) pipe_q <= '0;
      else pipe_q <= PipeW'({pipe_q, wb_c});
    end
    assign wb = pipe_q[(Latency-2)*WbW +: WbW];
  end

  always_comb begin
    vs_wr_en_o = wb.valid && (wb.d_space == ntr_isa_pkg::PdstVs) && !init_i;
    vs_wr_addr_o = VsAw'(wb.wr_base);
    vs_wr_mask_o = wb.slots;
    vs_wr_data_o = wb.res;
    lib_wr_en_o = wb.valid && (wb.d_space != ntr_isa_pkg::PdstVs) && !init_i;
    lib_wr_addr_o = LibAw'(wb.wr_base);
    lib_wr_mask_o = '0;
    lib_wr_data_o = '0;
    for (int i = 0; i < Lanes; i++) begin
      if (wb.d_space == ntr_isa_pkg::PdstLib8) begin
        lib_wr_mask_o[i] = wb.slots[i];
        lib_wr_data_o[i*8 +: 8] = wb.res[i*32 +: 8];
      end else begin
        lib_wr_mask_o[4*i +: 4] = {4{wb.slots[i]}};
        lib_wr_data_o[i*32 +: 32] = wb.res[i*32 +: 32];
      end
    end
  end

`ifndef SYNTHESIS
  initial begin
    if (!ntr_pkg::is_pow2(MacLanes)) $fatal(1, "ntr_ppu: MAC lanes %0d must be a power of two", MacLanes);
    if (!ntr_pkg::is_pow2(Lanes) || Lanes < 2) $fatal(1, "ntr_ppu: ppu.lanes %0d must be a power of two >= 2", Lanes);
    if (Latency < 1) $fatal(1, "ntr_ppu: ppu.latency must be >= 1");
    if (LibWin < 4 * Lanes) $fatal(1, "ntr_ppu: LIB window %0d < 4 x ppu.lanes", LibWin);
    if (CbWin < Lanes) $fatal(1, "ntr_ppu: CB window %0d < ppu.lanes", CbWin);
  end
`endif

endmodule
