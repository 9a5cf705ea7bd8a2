// DMA engine (csim: DmaEngine plus the machine's bank contention): moves data between the global
// buffers (GWB, GIB banks) and every tile's local memories for the dma stream. One instruction
// involves all tiles (lockstep); each tile has its own local address and global address.
//
// Timing (docs/neutrino.md): busy = latency + contention x beats, tail 0. A transfer is cut into
// beats (LWB: one row; CB: Rpb rows; LIB: Pl bytes) that every tile moves together; each beat
// gets `contention` step cycles, and in every step each global bank serves one request: the
// lowest-numbered tile whose chunk has a part in that bank not yet served this beat. Loads
// broadcast: tiles with the same global address share their leader's read. A chunk crosses at
// most one GIB bank boundary (part A in one bank, part B in the next), so every bank has at most
// `contention` requests per beat and every beat completes in its steps. Step j reads the global
// bank (loads) or the tiles' LIB (stores) at s + latency - 1 + j and writes the other side one
// cycle later, so the last write lands by done.
//
// oob_o/conflict_o flag, for the instruction on the issue inputs, the lowest tile with an operand
// outside its memory, and (stores, no operand outside) the lowest tile whose global bytes
// overlap an earlier tile's (csim's order).
module ntr_dma #(
  parameter int unsigned Tiles    = 1,
  parameter int unsigned Lanes    = 256,
  parameter int unsigned HalfRows = 256,
  parameter int unsigned LibBytes = 16384,
  parameter int unsigned CbRows   = 3072,
  parameter int unsigned GwbBytes = 1310720,
  parameter int unsigned GibBytes = 1310720,
  parameter int unsigned GibBanks = 1,
  parameter int unsigned Latency  = 4,     // dma.latency >= 2
  parameter int unsigned GwbBpc   = 256,
  parameter int unsigned GibBpc   = 64,
  parameter int unsigned LibBpc   = 64,
  parameter int unsigned CbBpc    = 48,
  localparam int unsigned PlGwb    = ntr_pkg::min2(GwbBpc, LibBpc),
  localparam int unsigned PlGib    = ntr_pkg::min2(GibBpc, LibBpc),
  localparam int unsigned Pcb      = ntr_pkg::min2(GwbBpc, CbBpc),
  localparam int unsigned Rpb      = Pcb / 12,
  localparam int unsigned GwbWin   = ntr_pkg::dma_gwb_win(Lanes, GwbBpc, LibBpc, CbBpc),
  localparam int unsigned GibWin   = ntr_pkg::dma_gib_win(GibBpc, LibBpc),
  localparam int unsigned DmaBytes = ntr_pkg::max2(GwbWin, GibWin),
  localparam int unsigned BankBytes = GibBytes / GibBanks,
  localparam int unsigned GwbAw    = $clog2(GwbBytes) + 1,
  localparam int unsigned GibAw    = $clog2(BankBytes) + 1,
  localparam int unsigned RowW     = $clog2(2 * HalfRows),
  localparam int unsigned LibAw    = $clog2(LibBytes) + 1,
  localparam int unsigned CbAw     = $clog2(CbRows) + 1,
  localparam int unsigned LocAw    = ntr_pkg::max2(ntr_pkg::max2(LibAw, CbAw), RowW),
  localparam int unsigned Aw       = ntr_pkg::AddrW,
  localparam int unsigned Tw       = $clog2(Tiles + 1)
) (
  input  logic                         clk_i,
  input  logic                         rst_ni,
  input  logic                         init_i,
  // issue
  input  logic                         issue_i,
  input  logic [127:0]                 insn_i,
  input  logic [Tiles*Aw-1:0]          g_addr_i,
  input  logic [Tiles*Aw-1:0]          l_addr_i,
  output logic                         free_o,
  output logic                         done_o,
  output logic                         oob_o,
  output logic [Tw-1:0]                oob_tile_o,
  output logic                         conflict_o,
  output logic [Tw-1:0]                conflict_tile_o,
  output logic [31:0]                  contention_cycles_o,  // beats x (contention - 1), at issue
  // tiles' local ports
  output logic [Tiles-1:0]             t_wr_en_o,
  output logic [1:0]                   t_wr_space_o,
  output logic [Tiles*LocAw-1:0]       t_wr_addr_o,
  output logic [Tiles*DmaBytes-1:0]    t_wr_mask_o,
  output logic [Tiles*DmaBytes*8-1:0]  t_wr_data_o,
  output logic                         t_rd_en_o,
  output logic [Tiles*LibAw-1:0]       t_rd_addr_o,
  input  logic [Tiles*DmaBytes*8-1:0]  t_rd_data_i,
  // global weight buffer port
  output logic                         gwb_rd_en_o,
  output logic [GwbAw-1:0]             gwb_rd_addr_o,
  input  logic [GwbWin*8-1:0]          gwb_rd_data_i,
  output logic                         gwb_wr_en_o,
  output logic [GwbAw-1:0]             gwb_wr_addr_o,
  output logic [GwbWin-1:0]            gwb_wr_mask_o,
  output logic [GwbWin*8-1:0]          gwb_wr_data_o,
  // global input buffer bank ports (bank-local byte addresses)
  output logic [GibBanks-1:0]          gib_rd_en_o,
  output logic [GibBanks*GibAw-1:0]    gib_rd_addr_o,
  input  logic [GibBanks*GibWin*8-1:0] gib_rd_data_i,
  output logic [GibBanks-1:0]          gib_wr_en_o,
  output logic [GibBanks*GibAw-1:0]    gib_wr_addr_o,
  output logic [GibBanks*GibWin-1:0]   gib_wr_mask_o,
  output logic [GibBanks*GibWin*8-1:0] gib_wr_data_o
);
  localparam int unsigned Gw = 26;     // global byte addresses and transfer sizes
  localparam int unsigned Cw = 8;      // contention
  localparam int unsigned Bw = 18;     // beats
  localparam int unsigned Kw = 30;     // busy cycles
  localparam int unsigned Mw = $clog2(DmaBytes + 1);  // chunk bytes
  localparam int unsigned Bk = ntr_pkg::max2(GibBanks, 1);
  localparam int unsigned Bkw = $clog2(Bk + 1);
  localparam int unsigned DmaBits = DmaBytes * 8;
  localparam int unsigned GwbBits = GwbWin * 8;
  localparam int unsigned GibBits = GibWin * 8;
  localparam int unsigned SpanBytes = ntr_pkg::min2(DmaBytes, 2 * GibWin);

  /* verilator lint_off UNUSEDSIGNAL */  // the decoded word: only some fields matter here
  ntr_isa_pkg::dma_t iq;
  /* verilator lint_on UNUSEDSIGNAL */
  assign iq = insn_i;

  function automatic logic [Bkw-1:0] bank_of(input logic [Gw-1:0] a);
    bank_of = '0;
    for (int b = 1; b < GibBanks; b++) begin
      if (a >= Gw'(b * BankBytes)) bank_of = Bkw'(b);
    end
  endfunction

  // ------------------------------------------------------------------ issue: checks, contention
  logic [16:0] len_i;
  logic [8:0]  rowb_i;
  logic [Gw-1:0] gbytes_i;
  logic        ld_i, gwb_i;
  assign len_i = 17'(iq.len) + 17'd1;
  assign rowb_i = 9'(iq.row_bytes) + 9'd1;
  assign ld_i = (iq.dir == ntr_isa_pkg::DirLd);
  assign gwb_i = (iq.g_space == ntr_isa_pkg::GspaceGwb);
  always_comb begin
    unique case (iq.l_space)
      ntr_isa_pkg::LspaceLwb: gbytes_i = Gw'(len_i) * Gw'(rowb_i);
      ntr_isa_pkg::LspaceCb:  gbytes_i = Gw'(len_i) * Gw'(12);
      default:                gbytes_i = Gw'(len_i);
    endcase
  end

  logic [Tiles-1:0] t_oob, t_conf, lead_i;
  logic [Tiles*Tw-1:0] lead_of_i;
  logic [Cw-1:0] cont_i;
  logic [Bw-1:0] beats_i;

  always_comb begin
    for (int t = 0; t < Tiles; t++) begin
      logic signed [Aw-1:0] g, l;
      logic signed [Aw-1:0] lsize;
      g = $signed(g_addr_i[t*Aw +: Aw]);
      l = $signed(l_addr_i[t*Aw +: Aw]);
      unique case (iq.l_space)
        ntr_isa_pkg::LspaceLwb: lsize = Aw'(2 * HalfRows);
        ntr_isa_pkg::LspaceCb:  lsize = Aw'(CbRows);
        default:                lsize = Aw'(LibBytes);
      endcase
      t_oob[t] = (l < 0) || (l + Aw'(len_i) > lsize) || (g < 0) ||
                 (g + Aw'(gbytes_i) > (gwb_i ? Aw'(GwbBytes) : Aw'(GibBytes))) ||
                 ((iq.l_space == ntr_isa_pkg::LspaceLwb) && (32'(rowb_i) > Lanes));
    end
    // Loads: tiles reading the same global address share one read (the leader's).
    for (int t = 0; t < Tiles; t++) begin
      lead_i[t] = 1'b1;
      lead_of_i[t*Tw +: Tw] = Tw'(t);
      t_conf[t] = 1'b0;
      for (int j = Tiles - 1; j >= 0; j--) begin
        if (j < t) begin
          logic [Gw-1:0] gt, gj;
          gt = Gw'(g_addr_i[t*Aw +: Aw]);
          gj = Gw'(g_addr_i[j*Aw +: Aw]);
          if (ld_i && (gt == gj)) begin
            lead_i[t] = 1'b0;
            lead_of_i[t*Tw +: Tw] = Tw'(j);
          end
          if (!ld_i && (gt < gj + gbytes_i) && (gj < gt + gbytes_i)) t_conf[t] = 1'b1;
        end
      end
    end
    // Contention: the most leaders whose transfer touches one bank.
    cont_i = '0;
    if (gwb_i) begin
      for (int t = 0; t < Tiles; t++) cont_i = cont_i + Cw'(lead_i[t]);
    end else begin
      for (int b = 0; b < GibBanks; b++) begin
        logic [Cw-1:0] n;
        n = '0;
        for (int t = 0; t < Tiles; t++) begin
          logic [Gw-1:0] g;
          g = Gw'(g_addr_i[t*Aw +: Aw]);
          if (lead_i[t] && (bank_of(g) <= Bkw'(b)) && (bank_of(g + gbytes_i - Gw'(1)) >= Bkw'(b)))
            n = n + Cw'(1);
        end
        if (n > cont_i) cont_i = n;
      end
    end
    if (cont_i == '0) cont_i = Cw'(1);
    unique case (iq.l_space)
      ntr_isa_pkg::LspaceLwb: beats_i = Bw'(len_i);
      ntr_isa_pkg::LspaceCb:  beats_i = Bw'((len_i + 17'(Rpb - 1)) >> $clog2(Rpb));
      default: beats_i = gwb_i ? Bw'((len_i + 17'(PlGwb - 1)) >> $clog2(PlGwb))
                               : Bw'((len_i + 17'(PlGib - 1)) >> $clog2(PlGib));
    endcase
  end

  always_comb begin
    oob_o = |t_oob;
    oob_tile_o = '0;
    for (int t = Tiles - 1; t >= 0; t--) if (t_oob[t]) oob_tile_o = Tw'(t);
    conflict_o = |t_conf;
    conflict_tile_o = '0;
    for (int t = Tiles - 1; t >= 0; t--) if (t_conf[t]) conflict_tile_o = Tw'(t);
    contention_cycles_o = 32'(beats_i) * (32'(cont_i) - 32'd1);
  end

  // ------------------------------------------------------------------ transfer state
  logic          active_q;
  logic [Kw-1:0] rem_q;        // cycles until done
  logic [7:0]    delay_q;      // cycles until the first step
  logic [Bw-1:0] beats_q;      // beats left (including the current one)
  logic [Cw-1:0] cont_q, sub_q;
  logic          ld_q, gwb_q;
  logic [1:0]    lsp_q;
  logic [8:0]    rowb_q;
  logic [16:0]   left_q;       // LIB bytes / CB rows left (including the current chunk)
  logic [Tiles-1:0] lead_q, sa_q, sb_q;
  logic [Tiles*Tw-1:0] lead_of_q;
  logic [Tiles*Gw-1:0] gcur_q;
  logic [Tiles*LocAw-1:0] lcur_q;

  logic step;
  assign step = active_q && (delay_q == '0) && (beats_q != '0);

  // The current chunk (the same length on every tile).
  logic [Mw-1:0] clen;
  logic [Gw-1:0] gstride;
  logic [LocAw-1:0] lstride;
  always_comb begin
    unique case (lsp_q)
      ntr_isa_pkg::LspaceLwb: begin
        clen = Mw'(rowb_q);
        gstride = Gw'(rowb_q);
        lstride = LocAw'(1);
      end
      ntr_isa_pkg::LspaceCb: begin
        clen = (left_q >= 17'(Rpb)) ? Mw'(Pcb) : Mw'(left_q * 17'd12);
        gstride = Gw'(Pcb);
        lstride = LocAw'(Rpb);
      end
      default: begin
        logic [16:0] pl;
        pl = gwb_q ? 17'(PlGwb) : 17'(PlGib);
        clen = (left_q >= pl) ? Mw'(pl) : Mw'(left_q);
        gstride = Gw'(pl);
        lstride = LocAw'(pl);
      end
    endcase
  end

  // Per tile: the chunk's bank, its part in that bank (A) and the rest in the next bank (B).
  logic [Tiles*Bkw-1:0] bank_a;
  logic [Tiles*Gw-1:0]  off_a;     // bank-local address of part A
  logic [Tiles*Mw-1:0]  len_a;
  logic [Tiles-1:0]     has_b, req_a, req_b;
  always_comb begin
    for (int t = 0; t < Tiles; t++) begin
      logic [Gw-1:0] g, room;
      logic [Bkw-1:0] b;
      g = gcur_q[t*Gw +: Gw];
      b = gwb_q ? '0 : bank_of(g);
      bank_a[t*Bkw +: Bkw] = b;
      off_a[t*Gw +: Gw] = g - Gw'(b) * Gw'(BankBytes);
      room = Gw'(BankBytes) - off_a[t*Gw +: Gw];
      len_a[t*Mw +: Mw] = (gwb_q || (room >= Gw'(clen))) ? clen : Mw'(room);
      has_b[t] = !gwb_q && (room < Gw'(clen));
      req_a[t] = lead_q[t] && !sa_q[t];
      req_b[t] = lead_q[t] && has_b[t] && !sb_q[t];
    end
  end

  // Grants of this step: per bank, the lowest tile with an unserved part there.
  logic [Bk-1:0]     gnt_v, gnt_b;          // valid, part B
  logic [Bk*Tw-1:0]  gnt_t;
  logic [Tiles-1:0]  got_a, got_b;
  always_comb begin
    got_a = '0;
    got_b = '0;
    for (int b = 0; b < Bk; b++) begin
      gnt_v[b] = 1'b0;
      gnt_b[b] = 1'b0;
      gnt_t[b*Tw +: Tw] = '0;
      for (int t = Tiles - 1; t >= 0; t--) begin
        if (req_a[t] && (bank_a[t*Bkw +: Bkw] == Bkw'(b))) begin
          gnt_v[b] = 1'b1;
          gnt_b[b] = 1'b0;
          gnt_t[b*Tw +: Tw] = Tw'(t);
        end else if (req_b[t] && (bank_a[t*Bkw +: Bkw] + Bkw'(1) == Bkw'(b))) begin
          gnt_v[b] = 1'b1;
          gnt_b[b] = 1'b1;
          gnt_t[b*Tw +: Tw] = Tw'(t);
        end
      end
      if (!step) gnt_v[b] = 1'b0;
      for (int t = 0; t < Tiles; t++) begin
        if (gnt_v[b] && (gnt_t[b*Tw +: Tw] == Tw'(t))) begin
          if (gnt_b[b]) got_b[t] = 1'b1;
          else got_a[t] = 1'b1;
        end
      end
    end
  end

  // Bank-local address and length of what each granted bank moves this step.
  logic [Bk*Gw-1:0] gnt_addr;
  logic [Bk*Mw-1:0] gnt_len, gnt_shift;
  always_comb begin
    for (int b = 0; b < Bk; b++) begin
      logic [Tw-1:0] t;
      t = gnt_t[b*Tw +: Tw];
      gnt_addr[b*Gw +: Gw] = '0;
      gnt_len[b*Mw +: Mw] = '0;
      gnt_shift[b*Mw +: Mw] = '0;
      for (int k = 0; k < Tiles; k++) begin
        if (t == Tw'(k)) begin
          if (gwb_q) begin
            gnt_addr[b*Gw +: Gw] = gcur_q[k*Gw +: Gw];
            gnt_len[b*Mw +: Mw] = clen;
          end else if (gnt_b[b]) begin
            gnt_addr[b*Gw +: Gw] = '0;
            gnt_len[b*Mw +: Mw] = clen - len_a[k*Mw +: Mw];
            gnt_shift[b*Mw +: Mw] = len_a[k*Mw +: Mw];
          end else begin
            gnt_addr[b*Gw +: Gw] = off_a[k*Gw +: Gw];
            gnt_len[b*Mw +: Mw] = len_a[k*Mw +: Mw];
          end
        end
      end
    end
  end

  // Global reads (loads) in the step cycle.
  always_comb begin
    gwb_rd_en_o = step && ld_q && gwb_q && gnt_v[0];
    gwb_rd_addr_o = GwbAw'(gnt_addr[0 +: Gw]);
    for (int b = 0; b < GibBanks; b++) begin
      gib_rd_en_o[b] = step && ld_q && !gwb_q && gnt_v[b];
      gib_rd_addr_o[b*GibAw +: GibAw] = GibAw'(gnt_addr[b*Gw +: Gw]);
    end
    // Stores: every tile reads its LIB chunk in each step.
    t_rd_en_o = step && !ld_q;
    for (int t = 0; t < Tiles; t++) t_rd_addr_o[t*LibAw +: LibAw] = LibAw'(lcur_q[t*LocAw +: LocAw]);
  end

  // ------------------------------------------------------------------ second half of a step
  logic          wb_q;          // a step happened last cycle
  logic          wb_ld_q, wb_gwb_q;
  logic [1:0]    wb_lsp_q;
  logic [Mw-1:0] wb_clen_q;
  logic [Bk-1:0] wb_gv_q;
  logic [Bk*Tw-1:0] wb_gt_q;
  logic [Bk*Gw-1:0] wb_gaddr_q;
  logic [Bk*Mw-1:0] wb_glen_q, wb_gshift_q;
  logic [Tiles*LocAw-1:0] wb_laddr_q;

  function automatic logic [DmaBytes-1:0] low_mask(input logic [Mw-1:0] n);
    for (int i = 0; i < DmaBytes; i++) low_mask[i] = (Mw'(i) < n);
  endfunction

  // Loads: each granted GIB bank's data and byte mask placed where its part lands in the chunk
  // (part B after part A; the shift of part A is 0), once per bank; each tile then ORs in the
  // banks granted to its leader. A GIB chunk is at most PlGib <= GibWin bytes (the GIB exchanges
  // data with the LIB only), so its data is GibWin bytes wide. (Per bank and GibWin wide rather
  // than per tile and bank and DmaBytes wide: with 8 tiles and 8 banks those shifters and mux
  // chains outgrew logic synthesis.)
  logic [GibBanks*GibBits-1:0]  bank_data;
  logic [GibBanks*DmaBytes-1:0] bank_mask;
  always_comb begin
    for (int b = 0; b < GibBanks; b++) begin
      bank_data[b*GibBits +: GibBits] = gib_rd_data_i[b*GibBits +: GibBits] << (wb_gshift_q[b*Mw +: Mw] * 8);
      bank_mask[b*DmaBytes +: DmaBytes] = low_mask(wb_glen_q[b*Mw +: Mw]) << wb_gshift_q[b*Mw +: Mw];
    end
  end

  always_comb begin
    t_wr_space_o = wb_lsp_q;
    for (int t = 0; t < Tiles; t++) begin
      logic [Tw-1:0] ld;
      logic [DmaBits-1:0] data;
      logic [DmaBytes-1:0] mask;
      logic [GibBits-1:0] gdata;
      logic hit;
      ld = lead_of_q[t*Tw +: Tw];
      gdata = '0;
      if (wb_gwb_q) begin
        hit = wb_gv_q[0] && (wb_gt_q[0 +: Tw] == ld);
        data = DmaBits'(gwb_rd_data_i) & {DmaBits{hit}};
        mask = low_mask(wb_clen_q) & {DmaBytes{hit}};
      end else begin
        mask = '0;
        for (int b = 0; b < GibBanks; b++) begin
          hit = wb_gv_q[b] && (wb_gt_q[b*Tw +: Tw] == ld);
          gdata = gdata | (bank_data[b*GibBits +: GibBits] & {GibBits{hit}});
          mask = mask | (bank_mask[b*DmaBytes +: DmaBytes] & {DmaBytes{hit}});
        end
        data = DmaBits'(gdata);
      end
      t_wr_en_o[t] = wb_q && wb_ld_q && (mask != '0);
      t_wr_addr_o[t*LocAw +: LocAw] = wb_laddr_q[t*LocAw +: LocAw];
      t_wr_mask_o[t*DmaBytes +: DmaBytes] = mask;
      t_wr_data_o[t*DmaBits +: DmaBits] = data;
    end
  end

  // Stores: each granted bank writes its part of the granted tile's LIB chunk.
  always_comb begin
    gwb_wr_en_o = wb_q && !wb_ld_q && wb_gwb_q && wb_gv_q[0];
    gwb_wr_addr_o = GwbAw'(wb_gaddr_q[0 +: Gw]);
    gwb_wr_mask_o = GwbWin'(low_mask(wb_glen_q[0 +: Mw]));
    gwb_wr_data_o = '0;
    for (int t = 0; t < Tiles; t++) begin
      if (wb_gt_q[0 +: Tw] == Tw'(t)) gwb_wr_data_o = GwbBits'(t_rd_data_i[t*DmaBits +: DmaBits]);
    end
    // A GIB part starts less than GibWin bytes into its chunk: the first SpanBytes of the
    // tile's LIB data hold it.
    for (int b = 0; b < GibBanks; b++) begin
      logic [SpanBytes*8-1:0] data;
      data = '0;
      for (int t = 0; t < Tiles; t++) begin
        if (wb_gt_q[b*Tw +: Tw] == Tw'(t)) data = t_rd_data_i[t*DmaBits +: SpanBytes*8];
      end
      data = data >> (wb_gshift_q[b*Mw +: Mw] * 8);
      gib_wr_en_o[b] = wb_q && !wb_ld_q && !wb_gwb_q && wb_gv_q[b];
      gib_wr_addr_o[b*GibAw +: GibAw] = GibAw'(wb_gaddr_q[b*Gw +: Gw]);
      gib_wr_mask_o[b*GibWin +: GibWin] = GibWin'(low_mask(wb_glen_q[b*Mw +: Mw]));
      gib_wr_data_o[b*GibBits +: GibBits] = data[GibBits-1:0];
    end
  end

  // ------------------------------------------------------------------ registers
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      active_q <= 1'b0;
      rem_q <= '0;
      delay_q <= '0;
      beats_q <= '0;
      cont_q <= '0;
      sub_q <= '0;
      ld_q <= 1'b0;
      gwb_q <= 1'b0;
      lsp_q <= '0;
      rowb_q <= '0;
      left_q <= '0;
      lead_q <= '0;
      lead_of_q <= '0;
      sa_q <= '0;
      sb_q <= '0;
      gcur_q <= '0;
      lcur_q <= '0;
    end else if (init_i) begin
      active_q <= 1'b0;
      rem_q <= '0;
      beats_q <= '0;
    end else if (issue_i) begin
      active_q <= 1'b1;
      rem_q <= Kw'(Latency) + Kw'(cont_i) * Kw'(beats_i) - Kw'(1);
      delay_q <= 8'(Latency - 2);
      beats_q <= beats_i;
      cont_q <= cont_i;
      sub_q <= '0;
      ld_q <= ld_i;
      gwb_q <= gwb_i;
      lsp_q <= iq.l_space;
      rowb_q <= rowb_i;
      left_q <= len_i;
      lead_q <= lead_i;
      lead_of_q <= lead_of_i;
      sa_q <= '0;
      sb_q <= '0;
      for (int t = 0; t < Tiles; t++) begin
        gcur_q[t*Gw +: Gw] <= Gw'(g_addr_i[t*Aw +: Aw]);
        lcur_q[t*LocAw +: LocAw] <= LocAw'(l_addr_i[t*Aw +: Aw]);
      end
    end else if (active_q) begin
      if (rem_q == '0) active_q <= 1'b0;
      else rem_q <= rem_q - Kw'(1);
      if (delay_q != '0) delay_q <= delay_q - 8'd1;
      if (step) begin
        if (sub_q == cont_q - Cw'(1)) begin
          // Next beat.
          sub_q <= '0;
          beats_q <= beats_q - Bw'(1);
          sa_q <= '0;
          sb_q <= '0;
          if (lsp_q == ntr_isa_pkg::LspaceCb) left_q <= (left_q >= 17'(Rpb)) ? left_q - 17'(Rpb) : '0;
          else left_q <= (left_q >= 17'(clen)) ? left_q - 17'(clen) : '0;
          for (int t = 0; t < Tiles; t++) begin
            gcur_q[t*Gw +: Gw] <= gcur_q[t*Gw +: Gw] + gstride;
            lcur_q[t*LocAw +: LocAw] <= lcur_q[t*LocAw +: LocAw] + lstride;
          end
        end else begin
          sub_q <= sub_q + Cw'(1);
          sa_q <= sa_q | got_a;
          sb_q <= sb_q | got_b;
        end
      end
    end
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      wb_q <= 1'b0;
      wb_ld_q <= 1'b0;
      wb_gwb_q <= 1'b0;
      wb_lsp_q <= '0;
      wb_clen_q <= '0;
      wb_gv_q <= '0;
      wb_gt_q <= '0;
      wb_gaddr_q <= '0;
      wb_glen_q <= '0;
      wb_gshift_q <= '0;
      wb_laddr_q <= '0;
    end else begin
      wb_q <= step && !init_i;
      if (step) begin
        wb_ld_q <= ld_q;
        wb_gwb_q <= gwb_q;
        wb_lsp_q <= lsp_q;
        wb_clen_q <= clen;
        wb_gv_q <= gnt_v;
        wb_gt_q <= gnt_t;
        wb_gaddr_q <= gnt_addr;
        wb_glen_q <= gnt_len;
        wb_gshift_q <= gnt_shift;
        wb_laddr_q <= lcur_q;
      end
    end
  end

  assign done_o = active_q && (rem_q == '0);
  assign free_o = !active_q || (rem_q == '0);

`ifndef SYNTHESIS
  initial begin
    if (Latency < 2) $fatal(1, "ntr_dma: dma.latency %0d < 2", Latency);
    if (Lanes > GwbBpc) $fatal(1, "ntr_dma: an LWB row (%0d bytes) must fit one GWB beat (%0d)", Lanes, GwbBpc);
    if (Pcb % 12 != 0 || !ntr_pkg::is_pow2(Rpb)) $fatal(1, "ntr_dma: CB beat %0d bytes must be a power-of-two number of 12-byte rows", Pcb);
    if (!ntr_pkg::is_pow2(PlGwb) || !ntr_pkg::is_pow2(PlGib)) $fatal(1, "ntr_dma: LIB beats must be powers of two");
    if (GibBytes % GibBanks != 0) $fatal(1, "ntr_dma: GIB banks of unequal size");
    if (BankBytes < DmaBytes) $fatal(1, "ntr_dma: GIB bank smaller than a beat");
  end
`endif

endmodule
