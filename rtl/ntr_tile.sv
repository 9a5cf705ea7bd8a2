// One Neutrino tile (csim: TileState plus the per-tile datapaths): MAC array with accumulators,
// post-processing unit, and the local memories LWB, LIB, CB and VS with the DMA engine's local
// port. The front ends, semaphores and the DMA engine's global side are shared by the tiles and
// live in ntr_top; every tile receives the same instructions at the same cycles with its own
// operand addresses (lockstep, docs/neutrino.md section 5).
//
// LIB ports: reads 0 MAC, 1..3 PPU a/b/old, 4 DMA store; writes 0 DMA load, 1 PPU.
// init_i (run start) abandons all work and clears every local memory, one word per bank per
// cycle, for ClearCycles cycles (clr_busy_o).
module ntr_tile #(
  parameter int unsigned Lanes        = 256,
  parameter int unsigned HalfRows     = 256,
  parameter int unsigned AccBanks     = 2,
  parameter int unsigned MacLatency   = 2,
  parameter int unsigned LibBytes     = 16384,
  parameter int unsigned PpuLanes     = 16,
  parameter int unsigned PpuLatency   = 4,
  parameter int unsigned VsWords      = 2048,
  parameter int unsigned CbRows       = 3072,
  parameter int unsigned DmaBytes     = 256,  // DMA chunk bytes (>= Lanes, LIB and CB beats)
  parameter int unsigned LibWin       = 64,
  parameter int unsigned CbWin        = 16,
  parameter int unsigned CbRowsPerBeat = 4,
  localparam int unsigned RowW  = $clog2(2 * HalfRows),
  localparam int unsigned LibAw = $clog2(LibBytes) + 1,
  localparam int unsigned CbAw  = $clog2(CbRows) + 1,
  localparam int unsigned LocAw = ntr_pkg::max2(ntr_pkg::max2(LibAw, CbAw), RowW),
  localparam int unsigned Aw    = ntr_pkg::AddrW
) (
  input  logic                   clk_i,
  input  logic                   rst_ni,
  input  logic                   init_i,
  output logic                   clr_busy_o,
  // MAC issue
  input  logic                   mac_issue_i,
  input  logic [127:0]           mac_insn_i,
  input  logic signed [Aw-1:0]   mac_x_i,
  input  logic signed [Aw-1:0]   mac_w_i,
  output logic                   mac_free_o,
  output logic                   mac_done_o,
  output logic                   mac_oob_o,
  // PPU issue
  input  logic                   ppu_issue_i,
  input  logic [127:0]           ppu_insn_i,
  input  logic signed [Aw-1:0]   ppu_a_i,
  input  logic signed [Aw-1:0]   ppu_d_i,
  output logic                   ppu_free_o,
  output logic                   ppu_done_o,
  output logic                   ppu_oob_o,
  // DMA local port: writes (loads) of one chunk, reads (stores) of a LIB chunk
  input  logic                   dma_wr_en_i,
  input  logic [1:0]             dma_wr_space_i,  // ntr_isa_pkg::lspace_e
  input  logic [LocAw-1:0]       dma_wr_addr_i,   // LWB row, LIB byte or CB row
  input  logic [DmaBytes-1:0]    dma_wr_mask_i,   // chunk bytes present
  input  logic [DmaBytes*8-1:0]  dma_wr_data_i,
  input  logic                   dma_rd_en_i,
  input  logic [LibAw-1:0]       dma_rd_addr_i,
  output logic [DmaBytes*8-1:0]  dma_rd_data_o
);
  localparam int unsigned AccAw = $clog2(AccBanks * Lanes) + 1;
  localparam int unsigned VsAw = $clog2(VsWords) + 1;
  localparam int unsigned LibDepth = ntr_pkg::wmem_bank_depth(LibBytes, LibWin);
  localparam int unsigned VsDepth = ntr_pkg::wmem_bank_depth(VsWords, PpuLanes);
  localparam int unsigned CbDepth = ntr_pkg::wmem_bank_depth(CbRows, CbWin);
  localparam int unsigned ClearCycles =
      ntr_pkg::max2(ntr_pkg::max2(HalfRows, LibDepth), ntr_pkg::max2(VsDepth, CbDepth));
  localparam int unsigned Cw = $clog2(ClearCycles + 1);
  localparam int unsigned HalfAw = $clog2(HalfRows);
  localparam int unsigned LibBa = $clog2(LibDepth);
  localparam int unsigned VsBa = $clog2(VsDepth);
  localparam int unsigned CbBa = $clog2(CbDepth);
  localparam int unsigned LibWinBits = LibWin * 8;
  localparam int unsigned DmaBits = DmaBytes * 8;
  localparam int unsigned DmaLibBytes = ntr_pkg::min2(DmaBytes, LibWin);

  // ------------------------------------------------------------------ clear
  logic [Cw-1:0] clr_cnt_q;
  logic clearing_q;
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      clearing_q <= 1'b0;
      clr_cnt_q <= '0;
    end else if (init_i) begin
      clearing_q <= 1'b1;
      clr_cnt_q <= '0;
    end else if (clearing_q) begin
      clr_cnt_q <= clr_cnt_q + Cw'(1);
      if (clr_cnt_q == Cw'(ClearCycles - 1)) clearing_q <= 1'b0;
    end
  end
  assign clr_busy_o = clearing_q || init_i;

  // ------------------------------------------------------------------ MAC array + LWB
  logic              lwb_rd_en;
  logic [RowW-1:0]   lwb_rd_row;
  logic [Lanes*8-1:0] lwb_rd_data;
  logic              acc_rd_en;
  logic [AccAw-1:0]  acc_rd_addr;
  logic [PpuLanes*32-1:0] acc_rd_data;

  logic [4:0]          lib_rd_en;
  logic [5*LibAw-1:0]  lib_rd_addr;
  /* verilator lint_off UNUSEDSIGNAL */  // the MAC array uses one byte of its window
  logic [5*LibWin*8-1:0] lib_rd_data;
  /* verilator lint_on UNUSEDSIGNAL */
  logic [1:0]          lib_wr_en;
  logic [2*LibAw-1:0]  lib_wr_addr;
  logic [2*LibWin-1:0] lib_wr_mask;
  logic [2*LibWin*8-1:0] lib_wr_data;

  ntr_mac_array #(
    .Lanes   (Lanes),
    .HalfRows(HalfRows),
    .AccBanks(AccBanks),
    .Latency (MacLatency),
    .LibBytes(LibBytes),
    .PpuLanes(PpuLanes)
  ) u_mac (
    .clk_i         (clk_i),
    .rst_ni        (rst_ni),
    .init_i        (init_i),
    .issue_i       (mac_issue_i),
    .insn_i        (mac_insn_i),
    .x_addr_i      (mac_x_i),
    .w_addr_i      (mac_w_i),
    .free_o        (mac_free_o),
    .done_o        (mac_done_o),
    .oob_o         (mac_oob_o),
    .lwb_rd_en_o   (lwb_rd_en),
    .lwb_rd_row_o  (lwb_rd_row),
    .lwb_rd_data_i (lwb_rd_data),
    .lib_rd_en_o   (lib_rd_en[0]),
    .lib_rd_addr_o (lib_rd_addr[0 +: LibAw]),
    .lib_rd_data_i (lib_rd_data[7:0]),
    .acc_rd_en_i   (acc_rd_en),
    .acc_rd_addr_i (acc_rd_addr),
    .acc_rd_data_o (acc_rd_data)
  );

  ntr_lwb #(
    .Lanes   (Lanes),
    .HalfRows(HalfRows)
  ) u_lwb (
    .clk_i    (clk_i),
    .rd_en_i  (lwb_rd_en),
    .rd_row_i (lwb_rd_row),
    .rd_data_o(lwb_rd_data),
    .wr_en_i  (dma_wr_en_i && (dma_wr_space_i == ntr_isa_pkg::LspaceLwb)),
    .wr_row_i (RowW'(dma_wr_addr_i)),
    .wr_mask_i(dma_wr_mask_i[Lanes-1:0]),
    .wr_data_i(dma_wr_data_i[Lanes*8-1:0]),
    .clr_i    (clearing_q && (32'(clr_cnt_q) < HalfRows)),
    .clr_row_i(HalfAw'(clr_cnt_q))
  );

  // ------------------------------------------------------------------ PPU + VS + CB
  logic [2:0]            vs_rd_en;
  logic [3*VsAw-1:0]     vs_rd_addr;
  logic [3*PpuLanes*32-1:0] vs_rd_data;
  logic                  vs_wr_en;
  logic [VsAw-1:0]       vs_wr_addr;
  logic [PpuLanes-1:0]   vs_wr_mask;
  logic [PpuLanes*32-1:0] vs_wr_data;
  logic                  cb_rd_en;
  logic [CbAw-1:0]       cb_rd_addr;
  logic [CbWin*70-1:0]   cb_rd_data;

  ntr_ppu #(
    .Lanes   (PpuLanes),
    .Latency (PpuLatency),
    .MacLanes(Lanes),
    .AccBanks(AccBanks),
    .LibBytes(LibBytes),
    .VsWords (VsWords),
    .CbRows  (CbRows),
    .LibWin  (LibWin),
    .CbWin   (CbWin)
  ) u_ppu (
    .clk_i        (clk_i),
    .rst_ni       (rst_ni),
    .init_i       (init_i),
    .issue_i      (ppu_issue_i),
    .insn_i       (ppu_insn_i),
    .a_addr_i     (ppu_a_i),
    .d_addr_i     (ppu_d_i),
    .free_o       (ppu_free_o),
    .done_o       (ppu_done_o),
    .oob_o        (ppu_oob_o),
    .acc_rd_en_o  (acc_rd_en),
    .acc_rd_addr_o(acc_rd_addr),
    .acc_rd_data_i(acc_rd_data),
    .vs_rd_en_o   (vs_rd_en),
    .vs_rd_addr_o (vs_rd_addr),
    .vs_rd_data_i (vs_rd_data),
    .vs_wr_en_o   (vs_wr_en),
    .vs_wr_addr_o (vs_wr_addr),
    .vs_wr_mask_o (vs_wr_mask),
    .vs_wr_data_o (vs_wr_data),
    .lib_rd_en_o  (lib_rd_en[3:1]),
    .lib_rd_addr_o(lib_rd_addr[LibAw +: 3*LibAw]),
    .lib_rd_data_i(lib_rd_data[LibWin*8 +: 3*LibWin*8]),
    .lib_wr_en_o  (lib_wr_en[1]),
    .lib_wr_addr_o(lib_wr_addr[LibAw +: LibAw]),
    .lib_wr_mask_o(lib_wr_mask[LibWin +: LibWin]),
    .lib_wr_data_o(lib_wr_data[LibWin*8 +: LibWin*8]),
    .cb_rd_en_o   (cb_rd_en),
    .cb_rd_addr_o (cb_rd_addr),
    .cb_rd_data_i (cb_rd_data)
  );

  ntr_wmem #(
    .ElemBits(32),
    .Elems   (VsWords),
    .WinElems(PpuLanes),
    .RdPorts (3),
    .WrPorts (1)
  ) u_vs (
    .clk_i     (clk_i),
    .rd_en_i   (vs_rd_en),
    .rd_addr_i (vs_rd_addr),
    .rd_data_o (vs_rd_data),
    .wr_en_i   (vs_wr_en),
    .wr_addr_i (vs_wr_addr),
    .wr_mask_i (vs_wr_mask),
    .wr_data_i (vs_wr_data),
    .clr_i     (clearing_q && (32'(clr_cnt_q) < VsDepth)),
    .clr_word_i(VsBa'(clr_cnt_q))
  );

  // CB rows arrive from the DMA as 12-byte records: bias int32 LE, mult int32 LE, shift in the
  // low 6 bits of byte 8 (bytes 9..11 are ignored and not stored).
  logic [CbWin*70-1:0] cb_wr_data;
  logic [CbWin-1:0]    cb_wr_mask;
  always_comb begin
    cb_wr_data = '0;
    cb_wr_mask = '0;
    for (int q = 0; q < CbRowsPerBeat; q++) begin
      cb_wr_data[q*70 +: 70] = {dma_wr_data_i[(12*q + 8)*8 +: 6], dma_wr_data_i[(12*q)*8 +: 64]};
      cb_wr_mask[q] = dma_wr_mask_i[12*q];
    end
  end

  ntr_wmem #(
    .ElemBits(70),
    .Elems   (CbRows),
    .WinElems(CbWin),
    .RdPorts (1),
    .WrPorts (1)
  ) u_cb (
    .clk_i     (clk_i),
    .rd_en_i   (cb_rd_en),
    .rd_addr_i (cb_rd_addr),
    .rd_data_o (cb_rd_data),
    .wr_en_i   (dma_wr_en_i && (dma_wr_space_i == ntr_isa_pkg::LspaceCb)),
    .wr_addr_i (CbAw'(dma_wr_addr_i)),
    .wr_mask_i (cb_wr_mask),
    .wr_data_i (cb_wr_data),
    .clr_i     (clearing_q && (32'(clr_cnt_q) < CbDepth)),
    .clr_word_i(CbBa'(clr_cnt_q))
  );

  // ------------------------------------------------------------------ LIB
  always_comb begin
    lib_rd_en[4] = dma_rd_en_i;
    lib_rd_addr[4*LibAw +: LibAw] = dma_rd_addr_i;
    lib_wr_en[0] = dma_wr_en_i && (dma_wr_space_i == ntr_isa_pkg::LspaceLib);
    lib_wr_addr[0 +: LibAw] = LibAw'(dma_wr_addr_i);
    lib_wr_mask[0 +: LibWin] = LibWin'(dma_wr_mask_i[DmaLibBytes-1:0]);
    lib_wr_data[0 +: LibWin*8] = LibWinBits'(dma_wr_data_i[DmaLibBytes*8-1:0]);
  end
  assign dma_rd_data_o = DmaBits'(lib_rd_data[4*LibWin*8 +: DmaLibBytes*8]);

  ntr_wmem #(
    .ElemBits(8),
    .Elems   (LibBytes),
    .WinElems(LibWin),
    .RdPorts (5),
    .WrPorts (2)
  ) u_lib (
    .clk_i     (clk_i),
    .rd_en_i   (lib_rd_en),
    .rd_addr_i (lib_rd_addr),
    .rd_data_o (lib_rd_data),
    .wr_en_i   (lib_wr_en),
    .wr_addr_i (lib_wr_addr),
    .wr_mask_i (lib_wr_mask),
    .wr_data_i (lib_wr_data),
    .clr_i     (clearing_q && (32'(clr_cnt_q) < LibDepth)),
    .clr_word_i(LibBa'(clr_cnt_q))
  );

endmodule
