// Control and status registers of the Neutrino top (map: ntr_pkg Csr*, docs/rtl.md): start,
// status, interrupt, the configuration, and what the last run left: cycles, the error (kind,
// stream, pc, tile, cycle) and activity counters. Accessed through the top's host port as
// 64-bit words (two registers each); read data one cycle after the request.
module ntr_csr #(
  parameter int unsigned Tiles    = 1,
  parameter int unsigned Lanes    = 256,
  parameter int unsigned ClockMhz = 1000,
  localparam int unsigned CycleW = ntr_pkg::CycleW
) (
  input  logic              clk_i,
  input  logic              rst_ni,
  // register port
  input  logic              req_i,
  input  logic              we_i,
  input  logic [11:0]       addr_i,      // 8-byte aligned
  input  logic [7:0]        be_i,
  input  logic [63:0]       wdata_i,
  output logic [63:0]       rdata_o,
  // run control
  output logic              start_o,     // CTRL.start written while idle
  input  logic              busy_i,
  input  logic              host_err_i,  // a memory access while busy
  input  logic              end_i,       // the run ended this cycle
  input  logic [CycleW-1:0] cycles_i,    // its length
  input  logic [3:0]        err_kind_i,  // ErrNone when it completed
  input  logic [31:0]       err_stream_i,
  input  logic [31:0]       err_pc_i,
  input  logic [31:0]       err_tile_i,
  input  logic [CycleW-1:0] err_cycle_i,
  input  logic [31:0]       err_info_i,
  // counters of the current/last run
  input  logic [31:0]       busy_dma_i,
  input  logic [31:0]       busy_mac_i,
  input  logic [31:0]       busy_ppu_i,
  input  logic [31:0]       contention_i,
  input  logic [31:0]       mvm_rows_i,
  output logic              irq_o
);
  logic              done_q, error_q, host_err_q, irq_en_q;
  logic [CycleW-1:0] cycles_q, err_cycle_q;
  logic [31:0]       runs_q, err_stream_q, err_pc_q, err_tile_q, err_info_q;
  logic [3:0]        err_kind_q;

  // 32-bit register at byte offset a.
  function automatic logic [31:0] reg_at(input logic [11:0] a);
    unique case (a)
      ntr_pkg::CsrId:         reg_at = ntr_pkg::IdValue;
      ntr_pkg::CsrVersion:    reg_at = 32'(ntr_isa_pkg::IsaVersion);
      ntr_pkg::CsrStatus:     reg_at = {28'd0, host_err_q, error_q, done_q, busy_i};
      ntr_pkg::CsrIrqEnable:  reg_at = {31'd0, irq_en_q};
      ntr_pkg::CsrCfgTiles:   reg_at = 32'(Tiles);
      ntr_pkg::CsrCfgLanes:   reg_at = 32'(Lanes);
      ntr_pkg::CsrCfgClock:   reg_at = 32'(ClockMhz);
      ntr_pkg::CsrCyclesLo:   reg_at = cycles_q[31:0];
      ntr_pkg::CsrCyclesHi:   reg_at = 32'(cycles_q[CycleW-1:32]);
      ntr_pkg::CsrRuns:       reg_at = runs_q;
      ntr_pkg::CsrErrKind:    reg_at = {28'd0, err_kind_q};
      ntr_pkg::CsrErrStream:  reg_at = err_stream_q;
      ntr_pkg::CsrErrPc:      reg_at = err_pc_q;
      ntr_pkg::CsrErrTile:    reg_at = err_tile_q;
      ntr_pkg::CsrErrCycleLo: reg_at = err_cycle_q[31:0];
      ntr_pkg::CsrErrCycleHi: reg_at = 32'(err_cycle_q[CycleW-1:32]);
      ntr_pkg::CsrErrInfo:    reg_at = err_info_q;
      ntr_pkg::CsrBusyDma:    reg_at = busy_dma_i;
      ntr_pkg::CsrBusyMac:    reg_at = busy_mac_i;
      ntr_pkg::CsrBusyPpu:    reg_at = busy_ppu_i;
      ntr_pkg::CsrContention: reg_at = contention_i;
      ntr_pkg::CsrMvmRows:    reg_at = mvm_rows_i;
      default:                reg_at = 32'd0;
    endcase
  endfunction

  logic wr_lo, wr_hi;
  logic [11:0] a_hi;
  assign a_hi = addr_i | 12'h004;
  assign wr_lo = req_i && we_i && (be_i[3:0] != 4'd0);
  assign wr_hi = req_i && we_i && (be_i[7:4] != 4'd0);

  function automatic logic hit(input logic [11:0] a, input logic [11:0] r);
    hit = (a == r);
  endfunction

  /* verilator lint_off UNUSEDSIGNAL */  // a few bits of each written word matter
  logic [31:0] w_ctrl, w_status, w_irq;
  /* verilator lint_on UNUSEDSIGNAL */
  logic ctrl_wr, status_wr, irq_wr;
  always_comb begin
    ctrl_wr = (wr_lo && hit(addr_i, ntr_pkg::CsrCtrl)) || (wr_hi && hit(a_hi, ntr_pkg::CsrCtrl));
    status_wr = (wr_lo && hit(addr_i, ntr_pkg::CsrStatus)) || (wr_hi && hit(a_hi, ntr_pkg::CsrStatus));
    irq_wr = (wr_lo && hit(addr_i, ntr_pkg::CsrIrqEnable)) || (wr_hi && hit(a_hi, ntr_pkg::CsrIrqEnable));
    w_ctrl = hit(addr_i, ntr_pkg::CsrCtrl) ? wdata_i[31:0] : wdata_i[63:32];
    w_status = hit(addr_i, ntr_pkg::CsrStatus) ? wdata_i[31:0] : wdata_i[63:32];
    w_irq = hit(addr_i, ntr_pkg::CsrIrqEnable) ? wdata_i[31:0] : wdata_i[63:32];
  end

  assign start_o = ctrl_wr && w_ctrl[0] && !busy_i;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      done_q <= 1'b0;
      error_q <= 1'b0;
      host_err_q <= 1'b0;
      irq_en_q <= 1'b0;
      cycles_q <= '0;
      runs_q <= '0;
      err_kind_q <= '0;
      err_stream_q <= '1;
      err_pc_q <= '1;
      err_tile_q <= '1;
      err_cycle_q <= '0;
      err_info_q <= '0;
      rdata_o <= '0;
    end else begin
      if (req_i && !we_i) rdata_o <= {reg_at(a_hi), reg_at(addr_i)};
      if (irq_wr) irq_en_q <= w_irq[0];
      if (status_wr) begin
        if (w_status[1]) done_q <= 1'b0;
        if (w_status[2]) error_q <= 1'b0;
        if (w_status[3]) host_err_q <= 1'b0;
      end
      if (host_err_i) host_err_q <= 1'b1;
      if (start_o) begin
        done_q <= 1'b0;
        error_q <= 1'b0;
        err_kind_q <= '0;
        err_stream_q <= '1;
        err_pc_q <= '1;
        err_tile_q <= '1;
        err_cycle_q <= '0;
        err_info_q <= '0;
      end
      if (end_i) begin
        runs_q <= runs_q + 32'd1;
        cycles_q <= cycles_i;
        if (err_kind_i == ntr_pkg::ErrNone) begin
          done_q <= 1'b1;
        end else begin
          error_q <= 1'b1;
          err_kind_q <= err_kind_i;
          err_stream_q <= err_stream_i;
          err_pc_q <= err_pc_i;
          err_tile_q <= err_tile_i;
          err_cycle_q <= err_cycle_i;
          err_info_q <= err_info_i;
        end
      end
    end
  end

  assign irq_o = irq_en_q && (done_q || error_q);

endmodule
