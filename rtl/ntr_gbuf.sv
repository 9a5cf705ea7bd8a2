// The global buffers shared by the tiles: the global weight buffer (one bank) and the global
// input buffer (GibBanks equal banks), each an ntr_wmem with one read and one write port of a
// DMA beat. Between runs (host_sel_i) the host port owns the ports instead of the DMA engine:
// 8-byte reads (data one cycle later) and byte-enabled 8-byte writes at byte offsets inside a
// buffer.
module ntr_gbuf #(
  parameter int unsigned GwbBytes = 1310720,
  parameter int unsigned GibBytes = 1310720,
  parameter int unsigned GibBanks = 1,
  parameter int unsigned GwbWin   = 256,
  parameter int unsigned GibWin   = 64,
  localparam int unsigned BankBytes = GibBytes / GibBanks,
  localparam int unsigned GwbAw = $clog2(GwbBytes) + 1,
  localparam int unsigned GibAw = $clog2(BankBytes) + 1,
  localparam int unsigned HostAw = 24
) (
  input  logic                         clk_i,
  // host port (used while host_sel_i)
  input  logic                         host_sel_i,
  input  logic                         host_rd_en_i,
  input  logic                         host_wr_en_i,
  input  logic                         host_gib_i,     // 0: GWB, 1: GIB
  input  logic [HostAw-1:0]            host_addr_i,    // byte offset in the buffer, 8-aligned
  input  logic [7:0]                   host_be_i,
  input  logic [63:0]                  host_wdata_i,
  output logic [63:0]                  host_rdata_o,
  // DMA engine ports
  input  logic                         gwb_rd_en_i,
  input  logic [GwbAw-1:0]             gwb_rd_addr_i,
  output logic [GwbWin*8-1:0]          gwb_rd_data_o,
  input  logic                         gwb_wr_en_i,
  input  logic [GwbAw-1:0]             gwb_wr_addr_i,
  input  logic [GwbWin-1:0]            gwb_wr_mask_i,
  input  logic [GwbWin*8-1:0]          gwb_wr_data_i,
  input  logic [GibBanks-1:0]          gib_rd_en_i,
  input  logic [GibBanks*GibAw-1:0]    gib_rd_addr_i,
  output logic [GibBanks*GibWin*8-1:0] gib_rd_data_o,
  input  logic [GibBanks-1:0]          gib_wr_en_i,
  input  logic [GibBanks*GibAw-1:0]    gib_wr_addr_i,
  input  logic [GibBanks*GibWin-1:0]   gib_wr_mask_i,
  input  logic [GibBanks*GibWin*8-1:0] gib_wr_data_i
);
  localparam int unsigned Bkw = $clog2(GibBanks + 1);
  localparam int unsigned GwbBits = GwbWin * 8;
  localparam int unsigned GibBits = GibWin * 8;

  // Host GIB address -> bank and bank-local offset.
  logic [Bkw-1:0]     h_bank;
  /* verilator lint_off UNUSEDSIGNAL */  // bank-local offsets are narrower
  logic [HostAw-1:0]  h_local;
  /* verilator lint_on UNUSEDSIGNAL */
  always_comb begin
    h_bank = '0;
    for (int b = 1; b < GibBanks; b++) begin
      if (host_addr_i >= HostAw'(b * BankBytes)) h_bank = Bkw'(b);
    end
    h_local = host_addr_i - HostAw'(h_bank) * HostAw'(BankBytes);
  end

  // ------------------------------------------------------------------ GWB
  logic               w_rd_en, w_wr_en;
  logic [GwbAw-1:0]   w_rd_addr, w_wr_addr;
  logic [GwbWin-1:0]  w_wr_mask;
  logic [GwbWin*8-1:0] w_wr_data;
  always_comb begin
    if (host_sel_i) begin
      w_rd_en = host_rd_en_i && !host_gib_i;
      w_rd_addr = GwbAw'(host_addr_i);
      w_wr_en = host_wr_en_i && !host_gib_i;
      w_wr_addr = GwbAw'(host_addr_i);
      w_wr_mask = GwbWin'(host_be_i);
      w_wr_data = GwbBits'(host_wdata_i);
    end else begin
      w_rd_en = gwb_rd_en_i;
      w_rd_addr = gwb_rd_addr_i;
      w_wr_en = gwb_wr_en_i;
      w_wr_addr = gwb_wr_addr_i;
      w_wr_mask = gwb_wr_mask_i;
      w_wr_data = gwb_wr_data_i;
    end
  end

  ntr_wmem #(
    .ElemBits(8),
    .Elems   (GwbBytes),
    .WinElems(GwbWin),
    .RdPorts (1),
    .WrPorts (1)
  ) u_gwb (
    .clk_i     (clk_i),
    .rd_en_i   (w_rd_en),
    .rd_addr_i (w_rd_addr),
    .rd_data_o (gwb_rd_data_o),
    .wr_en_i   (w_wr_en),
    .wr_addr_i (w_wr_addr),
    .wr_mask_i (w_wr_mask),
    .wr_data_i (w_wr_data),
    .clr_i     (1'b0),
    .clr_word_i('0)
  );

  // ------------------------------------------------------------------ GIB banks
  for (genvar b = 0; b < GibBanks; b++) begin : g_bank
    logic               rd_en, wr_en, hsel;
    logic [GibAw-1:0]   rd_addr, wr_addr;
    logic [GibWin-1:0]  wr_mask;
    logic [GibWin*8-1:0] wr_data;
    assign hsel = host_gib_i && (h_bank == Bkw'(b));
    always_comb begin
      if (host_sel_i) begin
        rd_en = host_rd_en_i && hsel;
        rd_addr = GibAw'(h_local);
        wr_en = host_wr_en_i && hsel;
        wr_addr = GibAw'(h_local);
        wr_mask = GibWin'(host_be_i);
        wr_data = GibBits'(host_wdata_i);
      end else begin
        rd_en = gib_rd_en_i[b];
        rd_addr = gib_rd_addr_i[b*GibAw +: GibAw];
        wr_en = gib_wr_en_i[b];
        wr_addr = gib_wr_addr_i[b*GibAw +: GibAw];
        wr_mask = gib_wr_mask_i[b*GibWin +: GibWin];
        wr_data = gib_wr_data_i[b*GibWin*8 +: GibWin*8];
      end
    end

    ntr_wmem #(
      .ElemBits(8),
      .Elems   (BankBytes),
      .WinElems(GibWin),
      .RdPorts (1),
      .WrPorts (1)
    ) u_bank (
      .clk_i     (clk_i),
      .rd_en_i   (rd_en),
      .rd_addr_i (rd_addr),
      .rd_data_o (gib_rd_data_o[b*GibWin*8 +: GibWin*8]),
      .wr_en_i   (wr_en),
      .wr_addr_i (wr_addr),
      .wr_mask_i (wr_mask),
      .wr_data_i (wr_data),
      .clr_i     (1'b0),
      .clr_word_i('0)
    );
  end

  // Host read data: the first 8 bytes of the window read last cycle.
  logic           h_gib_q;
  logic [Bkw-1:0] h_bank_q;
  always_ff @(posedge clk_i) begin
    if (host_rd_en_i) begin
      h_gib_q <= host_gib_i;
      h_bank_q <= h_bank;
    end
  end
  always_comb begin
    host_rdata_o = gwb_rd_data_o[63:0];
    if (h_gib_q) begin
      for (int b = 0; b < GibBanks; b++) begin
        if (h_bank_q == Bkw'(b)) host_rdata_o = gib_rd_data_o[b*GibWin*8 +: 64];
      end
    end
  end

endmodule
