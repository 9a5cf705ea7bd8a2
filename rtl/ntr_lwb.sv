// Local weight buffer (csim: WeightBuffer): two halves of HalfRows rows of Lanes bytes, each an
// ntr_sram with one read port (the MAC array, one row per cycle) and one write port (the DMA
// engine, one row per beat, byte enables for rows loaded with row_bytes < lanes), so the DMA
// fills one half while the array reads the other. Rows are numbered 0 .. 2 HalfRows - 1, half h
// holding rows h HalfRows .. (h + 1) HalfRows - 1.
module ntr_lwb #(
  parameter int unsigned Lanes    = 256,
  parameter int unsigned HalfRows = 256,   // power of two >= 2
  localparam int unsigned RowW = $clog2(2 * HalfRows),
  localparam int unsigned Hw   = $clog2(HalfRows)
) (
  input  logic               clk_i,
  input  logic               rd_en_i,
  input  logic [RowW-1:0]    rd_row_i,
  output logic [Lanes*8-1:0] rd_data_o,
  input  logic               wr_en_i,
  input  logic [RowW-1:0]    wr_row_i,
  input  logic [Lanes-1:0]   wr_mask_i,
  input  logic [Lanes*8-1:0] wr_data_i,
  input  logic               clr_i,      // zero row clr_row_i of both halves
  input  logic [Hw-1:0]      clr_row_i
);
  logic              rd_half_q;
  logic [2*Lanes*8-1:0] half_data;

  always_ff @(posedge clk_i) begin
    if (rd_en_i) rd_half_q <= rd_row_i[RowW-1];
  end
  assign rd_data_o = rd_half_q ? half_data[Lanes*8 +: Lanes*8] : half_data[0 +: Lanes*8];

  for (genvar h = 0; h < 2; h++) begin : g_half
    logic               wr_en;
    logic [Hw-1:0]      wr_addr;
    logic [Lanes-1:0]   wr_be;
    logic [Lanes*8-1:0] wr_data;
    always_comb begin
      if (clr_i) begin
        wr_en = 1'b1;
        wr_addr = clr_row_i;
        wr_be = '1;
        wr_data = '0;
      end else begin
        wr_en = wr_en_i && (wr_row_i[RowW-1] == 1'(h));
        wr_addr = wr_row_i[Hw-1:0];
        wr_be = wr_mask_i;
        wr_data = wr_data_i;
      end
    end

    ntr_sram #(
      .Width  (Lanes * 8),
      .Depth  (HalfRows),
      .RdPorts(1),
      .WrPorts(1),
      .BeWidth(8)
    ) u_sram (
      .clk_i    (clk_i),
      .rd_en_i  (rd_en_i && (rd_row_i[RowW-1] == 1'(h))),
      .rd_addr_i(rd_row_i[Hw-1:0]),
      .rd_data_o(half_data[h*Lanes*8 +: Lanes*8]),
      .wr_en_i  (wr_en),
      .wr_addr_i(wr_addr),
      .wr_be_i  (wr_be),
      .wr_data_i(wr_data)
    );
  end

`ifndef SYNTHESIS
  initial begin
    if (!ntr_pkg::is_pow2(HalfRows) || HalfRows < 2) $fatal(1, "ntr_lwb: %0d rows per half: need a power of two >= 2", HalfRows);
  end
`endif

endmodule
