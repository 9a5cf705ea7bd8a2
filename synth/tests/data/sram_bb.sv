// Black-box ntr_sram for the toy design (same ports as rtl/ntr_sram.sv; the real flow derives its
// stub from the RTL).
(* blackbox *)
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
endmodule
