// MAC array of a tile (csim: MacArray): Lanes INT8 x INT8 lanes with INT32 accumulators in
// AccBanks banks, executing mvm.
//
// An mvm of R rows starting at cycle s occupies the array for busy = R (wide: 2R) row cycles
// s .. s + busy - 1; row cycle k reads LWB row w + k (wide: w + k/2) and LIB byte x + k (wide:
// the low then the high byte of input k/2). One cycle later every lane adds W[row][j] * x (the
// high byte shifted left by 8) into a partial sum, started afresh by each mvm. The sum is
// committed to the accumulator bank - acc = (clr ? 0 : acc) + sum - at s + busy + Latency - 1,
// so it is visible from done = s + busy + Latency (docs/neutrino.md: tail = mac.latency), and
// reads of the bank before done see the old value. The next mvm may start at s + busy: its
// partial sum starts while the previous one waits for its commit. The PPU reads the banks
// through the acc_rd port (PpuLanes words from any word address, data one cycle later).
module ntr_mac_array #(
  parameter int unsigned Lanes    = 256,  // power of two
  parameter int unsigned HalfRows = 256,
  parameter int unsigned AccBanks = 2,
  parameter int unsigned Latency  = 2,    // mac.latency >= 2
  parameter int unsigned LibBytes = 16384,
  parameter int unsigned PpuLanes = 16,   // power of two <= Lanes
  localparam int unsigned RowW  = $clog2(2 * HalfRows),
  localparam int unsigned LibAw = $clog2(LibBytes) + 1,
  localparam int unsigned AccAw = $clog2(AccBanks * Lanes) + 1,
  localparam int unsigned Aw    = ntr_pkg::AddrW
) (
  input  logic                     clk_i,
  input  logic                     rst_ni,
  input  logic                     init_i,    // run start: clear the accumulators, abandon work
  // issue
  input  logic                     issue_i,
  input  logic [127:0]             insn_i,
  input  logic signed [Aw-1:0]     x_addr_i,
  input  logic signed [Aw-1:0]     w_addr_i,
  output logic                     free_o,
  output logic                     done_o,
  output logic                     oob_o,
  // local weight buffer and local input buffer read ports
  output logic                     lwb_rd_en_o,
  output logic [RowW-1:0]          lwb_rd_row_o,
  input  logic [Lanes*8-1:0]       lwb_rd_data_i,
  output logic                     lib_rd_en_o,
  output logic [LibAw-1:0]         lib_rd_addr_o,
  input  logic [7:0]               lib_rd_data_i,
  // accumulator read port (PPU)
  input  logic                     acc_rd_en_i,
  input  logic [AccAw-1:0]         acc_rd_addr_i,
  output logic [PpuLanes*32-1:0]   acc_rd_data_o
);
  localparam int unsigned Total = AccBanks * Lanes;  // accumulator words
  localparam int unsigned Gw    = PpuLanes * 32;     // bits of a PPU read group
  localparam int unsigned Groups = Total / PpuLanes;
  localparam int unsigned Dl    = Latency - 2;       // extra stages between sum and commit

  /* verilator lint_off UNUSEDSIGNAL */  // the decoded word: only some fields matter here
  ntr_isa_pkg::mvm_t iq;
  /* verilator lint_on UNUSEDSIGNAL */
  assign iq = insn_i;

  // ------------------------------------------------------------------ issue check
  always_comb begin
    logic [8:0] rows;
    logic [9:0] nx;
    logic signed [Aw-1:0] w_last;
    rows = 9'(iq.rows) + 9'd1;
    nx = iq.wide ? {rows, 1'b0} : {1'b0, rows};
    w_last = w_addr_i + Aw'(rows) - Aw'(1);
    oob_o = (32'(iq.bank) >= AccBanks) ||
            (w_addr_i < 0) || (w_last >= Aw'(2 * HalfRows)) ||
            ((w_addr_i >>> $clog2(HalfRows)) != (w_last >>> $clog2(HalfRows))) ||
            (x_addr_i < 0) || (x_addr_i + Aw'(nx) > Aw'(LibBytes));
  end

  // ------------------------------------------------------------------ row cycles
  logic [9:0]       left_q;     // row cycles after the current one
  logic [LibAw-1:0] x_q;        // LIB byte of the next row cycle
  logic [RowW-1:0]  w_q;        // LWB row of the next row cycle
  logic             hi_q;       // next row cycle takes the high byte (wide)
  logic             wide_q, clr_q;
  logic [2:0]       bank_q;

  logic       row_cycle, last;
  logic [9:0] busy;
  assign busy = iq.wide ? {(9'(iq.rows) + 9'd1), 1'b0} : {1'b0, 9'(iq.rows) + 9'd1};
  assign row_cycle = issue_i || (left_q != '0);
  assign last = issue_i ? (busy == 10'd1) : (left_q == 10'd1);

  assign lwb_rd_en_o = row_cycle;
  assign lwb_rd_row_o = issue_i ? RowW'(w_addr_i) : w_q;
  assign lib_rd_en_o = row_cycle;
  assign lib_rd_addr_o = issue_i ? LibAw'(x_addr_i) : x_q;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      left_q <= '0;
      x_q <= '0;
      w_q <= '0;
      hi_q <= 1'b0;
      wide_q <= 1'b0;
      clr_q <= 1'b0;
      bank_q <= '0;
    end else if (init_i) begin
      left_q <= '0;
    end else if (issue_i) begin
      left_q <= busy - 10'd1;
      x_q <= LibAw'(x_addr_i) + LibAw'(1);
      w_q <= iq.wide ? RowW'(w_addr_i) : RowW'(w_addr_i) + RowW'(1);
      hi_q <= iq.wide;
      wide_q <= iq.wide;
      clr_q <= iq.clr;
      bank_q <= iq.bank;
    end else if (left_q != '0) begin
      left_q <= left_q - 10'd1;
      x_q <= x_q + LibAw'(1);
      w_q <= (wide_q && !hi_q) ? w_q : w_q + RowW'(1);
      hi_q <= wide_q && !hi_q;
    end
  end

  // ------------------------------------------------------------------ multiply-accumulate
  logic       s1_valid_q, s1_first_q, s1_last_q, s1_hi_q, s1_clr_q;
  logic [2:0] s1_bank_q;
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      s1_valid_q <= 1'b0;
      s1_first_q <= 1'b0;
      s1_last_q <= 1'b0;
      s1_hi_q <= 1'b0;
      s1_clr_q <= 1'b0;
      s1_bank_q <= '0;
    end else begin
      s1_valid_q <= row_cycle && !init_i;
      s1_first_q <= issue_i;
      s1_last_q <= last;
      s1_hi_q <= issue_i ? 1'b0 : hi_q;
      s1_clr_q <= issue_i ? iq.clr : clr_q;
      s1_bank_q <= issue_i ? iq.bank : bank_q;
    end
  end

  // The partial sums: one flat vector updated by one loop (Verilator evaluates it only in row
  // cycles; TOOLCHAIN.md). prod = int8 W x int8 x, shifted by 8 for a high byte, int32 wrap.
  logic [Lanes*32-1:0] psum_q;
  function automatic logic [31:0] mac_term(input logic [7:0] w, input logic [7:0] x, input logic hi);
    logic signed [15:0] p;
    p = $signed(w) * $signed(x);
    mac_term = hi ? {{8{p[15]}}, p, 8'd0} : {{16{p[15]}}, p};
  endfunction

  always_ff @(posedge clk_i) begin
    if (s1_valid_q) begin
      for (int j = 0; j < Lanes; j++) begin
        psum_q[j*32 +: 32] <= (s1_first_q ? 32'd0 : psum_q[j*32 +: 32]) +
                              mac_term(lwb_rd_data_i[j*8 +: 8], lib_rd_data_i, s1_hi_q);
      end
    end
  end

  // ------------------------------------------------------------------ commit
  // fin: the cycle after an mvm's last product, when psum_q holds its full sum.
  logic       fin_valid_q, fin_clr_q;
  logic [2:0] fin_bank_q;
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      fin_valid_q <= 1'b0;
      fin_clr_q <= 1'b0;
      fin_bank_q <= '0;
    end else begin
      fin_valid_q <= s1_valid_q && s1_last_q && !init_i;
      fin_clr_q <= s1_clr_q;
      fin_bank_q <= s1_bank_q;
    end
  end

  logic                cm_valid, cm_clr;
  logic [2:0]          cm_bank;
  logic [Lanes*32-1:0] cm_sum;
  if (Dl == 0) begin : g_commit_now
    assign cm_valid = fin_valid_q;
    assign cm_clr = fin_clr_q;
    assign cm_bank = fin_bank_q;
    assign cm_sum = psum_q;
  end else begin : g_commit_later
    logic [Dl-1:0] dv_q, dc_q;
    logic [3*Dl-1:0] db_q;
    localparam int unsigned Db = 3 * Dl;
    localparam int unsigned Ds = Dl * Lanes * 32;
    logic [Ds-1:0] ds_q;
    always_ff @(posedge clk_i or negedge rst_ni) begin
      if (!rst_ni) begin
        dv_q <= '0;
        dc_q <= '0;
        db_q <= '0;
      end else begin
        dv_q <= init_i ? '0 : Dl'({dv_q, fin_valid_q});
        dc_q <= Dl'({dc_q, fin_clr_q});
        db_q <= Db'({db_q, fin_bank_q});
      end
    end
    always_ff @(posedge clk_i) begin
      if (fin_valid_q || (dv_q != '0)) ds_q <= Ds'({ds_q, psum_q});
    end
    assign cm_valid = dv_q[Dl-1];
    assign cm_clr = dc_q[Dl-1];
    assign cm_bank = db_q[3*(Dl-1) +: 3];
    assign cm_sum = ds_q[(Dl-1)*Lanes*32 +: Lanes*32];
  end

  logic [Total*32-1:0] acc_q;
  always_ff @(posedge clk_i) begin
    if (init_i) begin
      for (int k = 0; k < Total; k++) acc_q[k*32 +: 32] <= 32'd0;
    end else if (cm_valid) begin
      for (int b = 0; b < AccBanks; b++) begin
        if (cm_bank == 3'(b)) begin
          for (int j = 0; j < Lanes; j++) begin
            acc_q[(b*Lanes + j)*32 +: 32] <= (cm_clr ? 32'd0 : acc_q[(b*Lanes + j)*32 +: 32]) +
                                             cm_sum[j*32 +: 32];
          end
        end
      end
    end
  end

  logic done_q;
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) done_q <= 1'b0;
    else done_q <= cm_valid && !init_i;
  end
  assign done_o = done_q;
  assign free_o = (left_q == '0);

  // ------------------------------------------------------------------ PPU read port
  // PpuLanes words from word a: the two aligned groups it spans, rotated. Evaluated only on a
  // read (a function call inside the register update).
  function automatic logic [Gw-1:0] acc_window(input logic [Total*32-1:0] acc,
                                               input logic [AccAw-1:0] a);
    logic [AccAw-1:0] g0;
    logic [2*Gw-1:0] pair;
    g0 = a >> $clog2(PpuLanes);
    pair = '0;
    for (int k = 0; k < Groups; k++) begin
      if (g0 == AccAw'(k)) pair[0 +: Gw] = acc[k*Gw +: Gw];
      if (g0 + AccAw'(1) == AccAw'(k)) pair[Gw +: Gw] = acc[k*Gw +: Gw];
    end
    acc_window = Gw'(pair >> (a[$clog2(PpuLanes)-1:0] * 32));
  endfunction

  logic [Gw-1:0] acc_rd_q;
  always_ff @(posedge clk_i) begin
    if (acc_rd_en_i) acc_rd_q <= acc_window(acc_q, acc_rd_addr_i);
  end
  assign acc_rd_data_o = acc_rd_q;

`ifndef SYNTHESIS
  initial begin
    if (Latency < 2) $fatal(1, "ntr_mac_array: mac.latency %0d < 2", Latency);
    if (!ntr_pkg::is_pow2(Lanes)) $fatal(1, "ntr_mac_array: lanes %0d is not a power of two", Lanes);
    if (!ntr_pkg::is_pow2(PpuLanes) || PpuLanes > Lanes) $fatal(1, "ntr_mac_array: ppu.lanes %0d", PpuLanes);
  end
`endif

endmodule
