// Behavioural SRAM: the only memory primitive of the Neutrino RTL (STYLE.md), so that real
// macros can be swapped in and synthesis can treat it as a black box (docs/rtl.md, "SRAMs").
//
// Depth words of Width bits; RdPorts synchronous read ports (data one cycle after the address,
// read-before-write) and WrPorts write ports with a write enable per BeWidth bits. Two write
// ports writing the same bits in one cycle: the higher port wins. Addresses at or beyond Depth
// are ignored (reads return the previous data). No reset: contents are undefined until written.
module ntr_sram #(
  parameter int unsigned Width   = 32,
  parameter int unsigned Depth   = 256,
  parameter int unsigned RdPorts = 1,
  parameter int unsigned WrPorts = 1,
  parameter int unsigned BeWidth = 8
) (
  input  logic                                clk_i,
  input  logic [RdPorts-1:0]                  rd_en_i,
  input  logic [RdPorts*$clog2(Depth)-1:0]    rd_addr_i,
  output logic [RdPorts*Width-1:0]            rd_data_o,
  input  logic [WrPorts-1:0]                  wr_en_i,
  input  logic [WrPorts*$clog2(Depth)-1:0]    wr_addr_i,
  input  logic [WrPorts*(Width/BeWidth)-1:0]  wr_be_i,
  input  logic [WrPorts*Width-1:0]            wr_data_i
);
  localparam int unsigned Aw = $clog2(Depth);
  localparam int unsigned Be = Width / BeWidth;

  logic [Width-1:0] mem_q [Depth];
  logic [RdPorts*Width-1:0] rd_data_q;

  // A partial write merges the enabled lanes into the stored word.
  function automatic logic [Width-1:0] merge(input logic [Width-1:0] old, input logic [Width-1:0] data,
                                             input logic [Be-1:0] be);
    for (int b = 0; b < Be; b++) begin
      merge[b*BeWidth +: BeWidth] = be[b] ? data[b*BeWidth +: BeWidth] : old[b*BeWidth +: BeWidth];
    end
  endfunction

  always_ff @(posedge clk_i) begin
    for (int p = 0; p < WrPorts; p++) begin
      if (wr_en_i[p] && (32'(wr_addr_i[p*Aw +: Aw]) < Depth)) begin
        if (&wr_be_i[p*Be +: Be]) begin
          mem_q[wr_addr_i[p*Aw +: Aw]] <= wr_data_i[p*Width +: Width];
        end else begin
          mem_q[wr_addr_i[p*Aw +: Aw]] <= merge(mem_q[wr_addr_i[p*Aw +: Aw]], wr_data_i[p*Width +: Width],
                                                wr_be_i[p*Be +: Be]);
        end
      end
    end
  end

  always_ff @(posedge clk_i) begin
    for (int p = 0; p < RdPorts; p++) begin
      if (rd_en_i[p] && (32'(rd_addr_i[p*Aw +: Aw]) < Depth)) begin
        rd_data_q[p*Width +: Width] <= mem_q[rd_addr_i[p*Aw +: Aw]];
      end
    end
  end

  assign rd_data_o = rd_data_q;

`ifndef SYNTHESIS
  initial begin
    if (Width % BeWidth != 0) $fatal(1, "ntr_sram: Width %0d is not a multiple of BeWidth %0d", Width, BeWidth);
    if (Depth < 2) $fatal(1, "ntr_sram: Depth %0d < 2", Depth);
  end
`endif

endmodule
