// Window memory: Elems elements of ElemBits bits, read and written as windows of up to WinElems
// consecutive elements starting at any element address. Built from two ntr_sram banks of
// WinElems-element words (even and odd word numbers): any window spans at most two consecutive
// words, one in each bank, so every port touches each bank once per cycle and a rotation aligns
// the window. Used for the LIB, VS, CB and the global buffers.
//
// Read: data one cycle after the address, element i of rd_data = element addr + i (elements past
// the end read as don't-care). Write: element i of wr_data goes to addr + i when wr_mask[i].
// clr_i writes zeros to word clr_word_i of both banks (the run-start clear counts clr_word_i up to
// ntr_pkg::wmem_bank_depth(Elems, WinElems) - 1) and takes write port 0.
module ntr_wmem #(
  parameter int unsigned ElemBits = 8,
  parameter int unsigned Elems    = 2048,
  parameter int unsigned WinElems = 16,   // power of two
  parameter int unsigned RdPorts  = 1,
  parameter int unsigned WrPorts  = 1,
  localparam int unsigned Aw = $clog2(Elems) + 1,
  localparam int unsigned BankDepth = ntr_pkg::wmem_bank_depth(Elems, WinElems),
  localparam int unsigned Ba = $clog2(BankDepth)
) (
  input  logic                               clk_i,
  input  logic [RdPorts-1:0]                 rd_en_i,
  input  logic [RdPorts*Aw-1:0]              rd_addr_i,
  output logic [RdPorts*WinElems*ElemBits-1:0] rd_data_o,
  input  logic [WrPorts-1:0]                 wr_en_i,
  input  logic [WrPorts*Aw-1:0]              wr_addr_i,
  input  logic [WrPorts*WinElems-1:0]        wr_mask_i,
  input  logic [WrPorts*WinElems*ElemBits-1:0] wr_data_i,
  input  logic                               clr_i,
  input  logic [Ba-1:0]                      clr_word_i
);
  localparam int unsigned Ob = $clog2(WinElems);           // element offset bits
  localparam int unsigned W = WinElems * ElemBits;         // word bits

  // ------------------------------------------------------------------ bank ports
  logic [RdPorts-1:0]    e_rd_en, o_rd_en;
  logic [RdPorts*Ba-1:0] e_rd_addr, o_rd_addr;
  logic [RdPorts*W-1:0]  e_rd_data, o_rd_data;
  logic [WrPorts-1:0]    e_wr_en, o_wr_en;
  logic [WrPorts*Ba-1:0] e_wr_addr, o_wr_addr;
  logic [WrPorts*WinElems-1:0] e_wr_be, o_wr_be;
  logic [WrPorts*W-1:0]  e_wr_data, o_wr_data;

  // A window at element a covers word w0 = a / WinElems (at offset a % WinElems) and w0 + 1; the
  // odd bank holds word (w0 | 1), the even bank word (w0 + 1) & ~1, both at bank address
  // (that word) / 2.
  logic [RdPorts-1:0]    rd_odd_q;  // w0 was odd
  logic [RdPorts*Ob-1:0] rd_off_q;

  always_comb begin
    for (int p = 0; p < RdPorts; p++) begin
      logic [Aw-Ob-1:0] w0;
      w0 = rd_addr_i[p*Aw + Ob +: Aw-Ob];
      e_rd_en[p] = rd_en_i[p];
      o_rd_en[p] = rd_en_i[p];
      o_rd_addr[p*Ba +: Ba] = Ba'(w0 >> 1);
      e_rd_addr[p*Ba +: Ba] = Ba'((w0 >> 1) + (Aw-Ob)'(w0[0]));
    end
  end

  always_ff @(posedge clk_i) begin
    for (int p = 0; p < RdPorts; p++) begin
      if (rd_en_i[p]) begin
        rd_odd_q[p] <= rd_addr_i[p*Aw + Ob];
        rd_off_q[p*Ob +: Ob] <= rd_addr_i[p*Aw +: Ob];
      end
    end
  end

  always_comb begin
    for (int p = 0; p < RdPorts; p++) begin
      logic [2*W-1:0] pair;
      pair = rd_odd_q[p] ? {e_rd_data[p*W +: W], o_rd_data[p*W +: W]}
                         : {o_rd_data[p*W +: W], e_rd_data[p*W +: W]};
      rd_data_o[p*W +: W] = W'(pair >> (rd_off_q[p*Ob +: Ob] * ElemBits));
    end
  end

  always_comb begin
    for (int p = 0; p < WrPorts; p++) begin
      logic [Aw-1:0] a;
      logic [Aw-Ob-1:0] w0;
      logic [2*W-1:0] data;
      logic [2*WinElems-1:0] mask;
      a = wr_addr_i[p*Aw +: Aw];
      w0 = a[Aw-1:Ob];
      data = {{W{1'b0}}, wr_data_i[p*W +: W]} << (a[Ob-1:0] * ElemBits);
      mask = {{WinElems{1'b0}}, wr_mask_i[p*WinElems +: WinElems]} << a[Ob-1:0];
      if (!wr_en_i[p]) mask = '0;
      o_wr_addr[p*Ba +: Ba] = Ba'(w0 >> 1);
      e_wr_addr[p*Ba +: Ba] = Ba'((w0 >> 1) + (Aw-Ob)'(w0[0]));
      if (w0[0]) begin
        o_wr_be[p*WinElems +: WinElems] = mask[0 +: WinElems];
        e_wr_be[p*WinElems +: WinElems] = mask[WinElems +: WinElems];
        o_wr_data[p*W +: W] = data[0 +: W];
        e_wr_data[p*W +: W] = data[W +: W];
      end else begin
        e_wr_be[p*WinElems +: WinElems] = mask[0 +: WinElems];
        o_wr_be[p*WinElems +: WinElems] = mask[WinElems +: WinElems];
        e_wr_data[p*W +: W] = data[0 +: W];
        o_wr_data[p*W +: W] = data[W +: W];
      end
      e_wr_en[p] = |e_wr_be[p*WinElems +: WinElems];
      o_wr_en[p] = |o_wr_be[p*WinElems +: WinElems];
    end
    if (clr_i) begin
      e_wr_en[0] = 1'b1;
      o_wr_en[0] = 1'b1;
      e_wr_addr[0 +: Ba] = clr_word_i;
      o_wr_addr[0 +: Ba] = clr_word_i;
      e_wr_be[0 +: WinElems] = '1;
      o_wr_be[0 +: WinElems] = '1;
      e_wr_data[0 +: W] = '0;
      o_wr_data[0 +: W] = '0;
    end
  end

  ntr_sram #(
    .Width  (W),
    .Depth  (BankDepth),
    .RdPorts(RdPorts),
    .WrPorts(WrPorts),
    .BeWidth(ElemBits)
  ) u_even (
    .clk_i    (clk_i),
    .rd_en_i  (e_rd_en),
    .rd_addr_i(e_rd_addr),
    .rd_data_o(e_rd_data),
    .wr_en_i  (e_wr_en),
    .wr_addr_i(e_wr_addr),
    .wr_be_i  (e_wr_be),
    .wr_data_i(e_wr_data)
  );

  ntr_sram #(
    .Width  (W),
    .Depth  (BankDepth),
    .RdPorts(RdPorts),
    .WrPorts(WrPorts),
    .BeWidth(ElemBits)
  ) u_odd (
    .clk_i    (clk_i),
    .rd_en_i  (o_rd_en),
    .rd_addr_i(o_rd_addr),
    .rd_data_o(o_rd_data),
    .wr_en_i  (o_wr_en),
    .wr_addr_i(o_wr_addr),
    .wr_be_i  (o_wr_be),
    .wr_data_i(o_wr_data)
  );

`ifndef SYNTHESIS
  initial begin
    if (!ntr_pkg::is_pow2(WinElems)) $fatal(1, "ntr_wmem: WinElems %0d is not a power of two", WinElems);
  end
`endif

endmodule
