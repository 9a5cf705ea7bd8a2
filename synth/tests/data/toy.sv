// A toy design with the Neutrino module names, for the Yosys statistics tests (not the real RTL):
// a top with Tiles tiles, each a MAC array plus control, SRAMs as ntr_sram black boxes.
// Regenerate the checked-in outputs with synth/tests/data/regen.sh.
module ntr_mac_array #(
  parameter int unsigned W = 4
) (
  input  logic           clk_i,
  input  logic           rst_ni,
  input  logic           en_i,
  input  logic [W-1:0]   a_i,
  input  logic [W-1:0]   b_i,
  output logic [2*W-1:0] acc_o
);
  logic [2*W-1:0] acc_q;
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) acc_q <= '0;
    else if (en_i) acc_q <= acc_q + a_i * b_i;
  end
  assign acc_o = acc_q;
endmodule

module ntr_tile #(
  parameter int unsigned W = 4
) (
  input  logic           clk_i,
  input  logic           rst_ni,
  input  logic [W-1:0]   x_i,
  output logic [2*W-1:0] y_o
);
  logic [5:0] addr_q;
  logic [W-1:0] w;
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) addr_q <= '0;
    else addr_q <= addr_q + 6'd1;
  end
  ntr_sram #(.Width(W), .Depth(64)) u_w (
    .clk_i(clk_i), .rd_en_i(1'b1), .rd_addr_i(addr_q), .rd_data_o(w),
    .wr_en_i(1'b0), .wr_addr_i(6'd0), .wr_be_i(1'b0), .wr_data_i('0));
  ntr_mac_array #(.W(W)) u_mac (
    .clk_i(clk_i), .rst_ni(rst_ni), .en_i(addr_q[0]), .a_i(x_i), .b_i(w), .acc_o(y_o));
endmodule

module ntr_top #(
  parameter int unsigned Tiles = 2
) (
  input  logic             clk_i,
  input  logic             rst_ni,
  input  logic [3:0]       x_i,
  output logic [7:0]       y_o,
  output logic [31:0]      r_o
);
  logic [Tiles*8-1:0] y;
  for (genvar t = 0; t < Tiles; t++) begin : g_tile
    ntr_tile #(.W(4)) u_tile (.clk_i(clk_i), .rst_ni(rst_ni), .x_i(x_i + 4'(t)), .y_o(y[t*8 +: 8]));
  end
  always_comb begin
    y_o = '0;
    for (int t = 0; t < Tiles; t++) y_o = y_o ^ y[t*8 +: 8];
  end
  logic [7:0] c_q;
  always_ff @(posedge clk_i) c_q <= c_q + 8'd1;
  ntr_sram #(.Width(32), .Depth(128), .RdPorts(1)) u_imem (
    .clk_i(clk_i), .rd_en_i(1'b1), .rd_addr_i(c_q[6:0]), .rd_data_o(r_o),
    .wr_en_i(1'b0), .wr_addr_i(7'd0), .wr_be_i(4'h0), .wr_data_i('0));
endmodule
