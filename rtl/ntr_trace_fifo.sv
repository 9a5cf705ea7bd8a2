// Trace FIFO on a CPU's retire port (DESIGN.md section 4, docs/rtl.md "Trace FIFO"): captures up
// to Width retired-instruction records per cycle (the record of docs/trace-format.md, RecBytes
// bytes) into Entries x Width record slots and drains them, one record per beat, through a
// valid/ready write port to a memory buffer. It never loses a record silently: when fewer than
// Width slots are free it asserts stall_o (the front end must not retire in a cycle with stall_o
// high); with stalling disabled, or if a record arrives anyway, the record is dropped and
// counted.
//
// Records are packed densely: the k-th captured record goes to slot k mod Width of entry
// k / Width (modulo the capacity); slot j of every entry is one ntr_sram bank, so the records of
// a retire group land in distinct banks and the drain reads one bank per cycle.
//
// CSRs (byte offsets, 32-bit; 64-bit counters as two registers, low word first):
//   0x00 CTRL      RW bit 0 enable, 1 match the process ID, 2 stall when full (else drop and
//                  count), 3 one-shot (stop capturing after EPOCH_LEN records); writing bit 31
//                  clears the counters, the ring position and the epoch state (do it while empty)
//   0x04 PID       RW process ID to match
//   0x08 EPOCH_LEN RW records per epoch (0: no epochs)
//   0x0C STATUS    RO bit 0 capturing, 1 epoch done (W1C), 2 empty
//   0x10 BUF_BASE  RW 64-bit byte address of the memory buffer
//   0x18 BUF_RECORDS RW records in the buffer; record n goes to BUF_BASE + (n mod BUF_RECORDS) x
//                  RecBytes (0: no wrap)
//   0x1C IRQ_EN    RW bit 0: interrupt while STATUS.epoch done
//   0x20 RECORDS   RO 64-bit records captured        0x28 STALLS  RO 64-bit stall cycles
//   0x30 DROPPED   RO 64-bit records dropped         0x38 DRAINED RO 64-bit records written
//   0x40 EPOCHS    RO epochs drained completely      0x44 OCCUPANCY RO records held
//   0x48 CAPACITY  RO Entries x Width                0x4C RECORD_BYTES RO RecBytes
module ntr_trace_fifo #(
  parameter int unsigned RecBytes = 40,
  parameter int unsigned Width    = 5,
  parameter int unsigned Entries  = 512,
  localparam int unsigned RecBits = RecBytes * 8
) (
  input  logic                     clk_i,
  input  logic                     rst_ni,
  // retire port
  input  logic [Width-1:0]         ret_valid_i,
  input  logic [Width*RecBits-1:0] ret_rec_i,
  input  logic [31:0]              ret_pid_i,
  output logic                     stall_o,
  // memory write port
  output logic                     mem_valid_o,
  input  logic                     mem_ready_i,
  output logic [63:0]              mem_addr_o,
  output logic [RecBits-1:0]       mem_data_o,
  // CSR port (read data one cycle after the request)
  input  logic                     csr_req_i,
  input  logic                     csr_we_i,
  input  logic [7:0]               csr_addr_i,
  input  logic [31:0]              csr_wdata_i,
  output logic [31:0]              csr_rdata_o,
  output logic                     irq_o
);
  localparam int unsigned Cap = Entries * Width;
  localparam int unsigned Ew = $clog2(Entries);
  localparam int unsigned Sw = $clog2(Width + 1);
  localparam int unsigned Nw = $clog2(Cap + 1);
  localparam int unsigned Sw1 = Sw + 1;

  // ------------------------------------------------------------------ CSR state
  logic        en_q, pid_match_q, stall_en_q, oneshot_q, stopped_q, epoch_done_q, irq_en_q;
  logic [31:0] pid_q, epoch_len_q, buf_records_q, epochs_q;
  logic [63:0] buf_base_q, records_q, stalls_q, dropped_q, drained_q;
  logic [31:0] cap_in_epoch_q, drained_in_epoch_q, ring_q;

  // ------------------------------------------------------------------ storage state
  logic [Ew-1:0] tail_e_q, head_e_q;
  logic [Sw-1:0] tail_s_q, head_s_q;
  logic [Nw-1:0] cnt_q;                 // records in the banks
  logic [1:0]    ob_cnt_q;              // output buffer (2 records)
  logic [2*RecBits-1:0] ob_q;
  logic          inflight_q;            // a bank read issued last cycle
  logic [Sw-1:0] inflight_bank_q;

  // ------------------------------------------------------------------ capture
  logic              cap_en;
  logic [Width-1:0]  offered;
  logic [Sw-1:0]     n_off, n_room, n_acc;
  logic [Nw-1:0]     free;
  assign cap_en = en_q && !stopped_q && (!pid_match_q || (ret_pid_i == pid_q));
  assign offered = ret_valid_i & {Width{cap_en}};
  assign free = Nw'(Cap) - cnt_q;
  assign stall_o = en_q && stall_en_q && (free < Nw'(Width));

  always_comb begin
    logic [31:0] epoch_room;
    n_off = '0;
    for (int j = 0; j < Width; j++) n_off = n_off + Sw'(offered[j]);
    // One-shot: nothing beyond the epoch is captured (not a drop: capture has ended).
    epoch_room = epoch_len_q - cap_in_epoch_q;
    n_room = n_off;
    if (oneshot_q && (epoch_len_q != 0) && (32'(n_room) > epoch_room)) n_room = Sw'(epoch_room);
    n_acc = (Nw'(n_room) > free) ? Sw'(free) : n_room;
  end

  // The i-th accepted record comes from the i-th offered slot; it goes to bank (tail_s + i) mod
  // Width of entry tail_e (+1 past the wrap of the slot).
  logic [Width-1:0]         bank_we;
  logic [Width*Ew-1:0]      bank_waddr;
  logic [Width*RecBits-1:0] bank_wdata;
  always_comb begin
    logic [Width*Sw-1:0] src;   // slot of the i-th offered record
    logic [Sw-1:0] n;
    n = '0;
    src = '0;
    for (int j = 0; j < Width; j++) begin
      if (offered[j]) begin
        src[32'(n)*Sw +: Sw] = Sw'(j);
        n = n + Sw'(1);
      end
    end
    bank_we = '0;
    bank_waddr = '0;
    bank_wdata = '0;
    for (int i = 0; i < Width; i++) begin
      logic [Sw1-1:0] pos;
      logic [Sw-1:0] b;
      logic [Ew-1:0] e;
      pos = Sw1'(tail_s_q) + Sw1'(i);
      b = (pos >= Sw1'(Width)) ? Sw'(pos - Sw1'(Width)) : Sw'(pos);
      e = (pos >= Sw1'(Width)) ? ((tail_e_q == Ew'(Entries - 1)) ? '0 : tail_e_q + Ew'(1)) : tail_e_q;
      for (int k = 0; k < Width; k++) begin
        if ((b == Sw'(k)) && (Sw'(i) < n_acc)) begin
          bank_we[k] = 1'b1;
          bank_waddr[k*Ew +: Ew] = e;
          bank_wdata[k*RecBits +: RecBits] = ret_rec_i[32'(src[i*Sw +: Sw])*RecBits +: RecBits];
        end
      end
    end
  end

  // ------------------------------------------------------------------ drain
  logic pop, rd;
  logic [1:0] ob_after_pop;
  assign mem_valid_o = (ob_cnt_q != 2'd0);
  assign mem_data_o = ob_q[0 +: RecBits];
  assign pop = mem_valid_o && mem_ready_i;
  assign ob_after_pop = ob_cnt_q - 2'(pop);
  assign rd = (cnt_q != '0) && ((ob_after_pop + 2'(inflight_q)) < 2'd2);
  assign mem_addr_o = buf_base_q + 64'(ring_q) * 64'(RecBytes);

  logic [Width*RecBits-1:0] bank_rdata;
  for (genvar k = 0; k < Width; k++) begin : g_bank
    ntr_sram #(
      .Width  (RecBits),
      .Depth  (Entries),
      .RdPorts(1),
      .WrPorts(1),
      .BeWidth(RecBits)
    ) u_sram (
      .clk_i    (clk_i),
      .rd_en_i  (rd && (head_s_q == Sw'(k))),
      .rd_addr_i(head_e_q),
      .rd_data_o(bank_rdata[k*RecBits +: RecBits]),
      .wr_en_i  (bank_we[k]),
      .wr_addr_i(bank_waddr[k*Ew +: Ew]),
      .wr_be_i  (1'b1),
      .wr_data_i(bank_wdata[k*RecBits +: RecBits])
    );
  end

  logic [RecBits-1:0] arrived;
  always_comb begin
    arrived = '0;
    for (int k = 0; k < Width; k++) begin
      if (inflight_bank_q == Sw'(k)) arrived = bank_rdata[k*RecBits +: RecBits];
    end
  end

  // ------------------------------------------------------------------ CSR access
  logic wr_ctrl;
  assign wr_ctrl = csr_req_i && csr_we_i && (csr_addr_i == 8'h00);

  function automatic logic [31:0] reg_at(input logic [7:0] a);
    unique case (a)
      8'h00: reg_at = {28'd0, oneshot_q, stall_en_q, pid_match_q, en_q};
      8'h04: reg_at = pid_q;
      8'h08: reg_at = epoch_len_q;
      8'h0C: reg_at = {29'd0, (cnt_q == '0) && (ob_cnt_q == '0) && !inflight_q, epoch_done_q,
                       en_q && !stopped_q};
      8'h10: reg_at = buf_base_q[31:0];
      8'h14: reg_at = buf_base_q[63:32];
      8'h18: reg_at = buf_records_q;
      8'h1C: reg_at = {31'd0, irq_en_q};
      8'h20: reg_at = records_q[31:0];
      8'h24: reg_at = records_q[63:32];
      8'h28: reg_at = stalls_q[31:0];
      8'h2C: reg_at = stalls_q[63:32];
      8'h30: reg_at = dropped_q[31:0];
      8'h34: reg_at = dropped_q[63:32];
      8'h38: reg_at = drained_q[31:0];
      8'h3C: reg_at = drained_q[63:32];
      8'h40: reg_at = epochs_q;
      8'h44: reg_at = 32'(cnt_q) + 32'(ob_cnt_q) + 32'(inflight_q);
      8'h48: reg_at = 32'(Cap);
      8'h4C: reg_at = 32'(RecBytes);
      default: reg_at = 32'd0;
    endcase
  endfunction

  // ------------------------------------------------------------------ registers
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      en_q <= 1'b0;
      pid_match_q <= 1'b0;
      stall_en_q <= 1'b0;
      oneshot_q <= 1'b0;
      stopped_q <= 1'b0;
      epoch_done_q <= 1'b0;
      irq_en_q <= 1'b0;
      pid_q <= '0;
      epoch_len_q <= '0;
      buf_records_q <= '0;
      epochs_q <= '0;
      buf_base_q <= '0;
      records_q <= '0;
      stalls_q <= '0;
      dropped_q <= '0;
      drained_q <= '0;
      cap_in_epoch_q <= '0;
      drained_in_epoch_q <= '0;
      ring_q <= '0;
      csr_rdata_o <= '0;
    end else begin
      if (csr_req_i && !csr_we_i) csr_rdata_o <= reg_at(csr_addr_i);
      // capture side
      records_q <= records_q + 64'(n_acc);
      dropped_q <= dropped_q + 64'(n_room) - 64'(n_acc);
      if (stall_o) stalls_q <= stalls_q + 64'd1;
      if (oneshot_q && (epoch_len_q != 0)) begin
        if (cap_in_epoch_q + 32'(n_acc) == epoch_len_q) begin
          cap_in_epoch_q <= '0;
          stopped_q <= 1'b1;
        end else begin
          cap_in_epoch_q <= cap_in_epoch_q + 32'(n_acc);
        end
      end
      // drain side
      if (pop) begin
        drained_q <= drained_q + 64'd1;
        ring_q <= ((buf_records_q != 0) && (ring_q + 32'd1 == buf_records_q)) ? '0 : ring_q + 32'd1;
        if (epoch_len_q != 0) begin
          if (drained_in_epoch_q + 32'd1 == epoch_len_q) begin
            drained_in_epoch_q <= '0;
            epochs_q <= epochs_q + 32'd1;
            epoch_done_q <= 1'b1;
          end else begin
            drained_in_epoch_q <= drained_in_epoch_q + 32'd1;
          end
        end
      end
      // register writes
      if (csr_req_i && csr_we_i) begin
        unique case (csr_addr_i)
          8'h00: begin
            en_q <= csr_wdata_i[0];
            pid_match_q <= csr_wdata_i[1];
            stall_en_q <= csr_wdata_i[2];
            oneshot_q <= csr_wdata_i[3];
            stopped_q <= 1'b0;
          end
          8'h04: pid_q <= csr_wdata_i;
          8'h08: epoch_len_q <= csr_wdata_i;
          8'h0C: if (csr_wdata_i[1]) epoch_done_q <= 1'b0;
          8'h10: buf_base_q[31:0] <= csr_wdata_i;
          8'h14: buf_base_q[63:32] <= csr_wdata_i;
          8'h18: buf_records_q <= csr_wdata_i;
          8'h1C: irq_en_q <= csr_wdata_i[0];
          default: ;
        endcase
      end
      if (wr_ctrl && csr_wdata_i[31]) begin
        records_q <= '0;
        stalls_q <= '0;
        dropped_q <= '0;
        drained_q <= '0;
        epochs_q <= '0;
        cap_in_epoch_q <= '0;
        drained_in_epoch_q <= '0;
        ring_q <= '0;
        epoch_done_q <= 1'b0;
      end
    end
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      tail_e_q <= '0;
      tail_s_q <= '0;
      head_e_q <= '0;
      head_s_q <= '0;
      cnt_q <= '0;
      ob_cnt_q <= '0;
      inflight_q <= 1'b0;
      inflight_bank_q <= '0;
    end else begin
      tail_s_q <= tail_s_d;
      tail_e_q <= tail_e_d;
      // head += one read
      if (rd) begin
        if (head_s_q == Sw'(Width - 1)) begin
          head_s_q <= '0;
          head_e_q <= (head_e_q == Ew'(Entries - 1)) ? '0 : head_e_q + Ew'(1);
        end else begin
          head_s_q <= head_s_q + Sw'(1);
        end
      end
      cnt_q <= cnt_q + Nw'(n_acc) - Nw'(rd);
      inflight_q <= rd;
      inflight_bank_q <= head_s_q;
      // output buffer: pop the front, append the record that arrived
      ob_cnt_q <= ob_after_pop + 2'(inflight_q);
    end
  end

  logic [2*RecBits-1:0] ob_d;
  always_comb begin
    ob_d = pop ? (ob_q >> RecBits) : ob_q;
    if (inflight_q) ob_d[32'(ob_after_pop)*RecBits +: RecBits] = arrived;
  end
  always_ff @(posedge clk_i) ob_q <= ob_d;

  // tail += accepted
  logic [Ew-1:0] tail_e_d;
  logic [Sw-1:0] tail_s_d;
  always_comb begin
    logic [Sw1-1:0] pos;
    pos = Sw1'(tail_s_q) + Sw1'(n_acc);
    tail_e_d = tail_e_q;
    tail_s_d = Sw'(pos);
    if (pos >= Sw1'(Width)) begin
      tail_s_d = Sw'(pos - Sw1'(Width));
      tail_e_d = (tail_e_q == Ew'(Entries - 1)) ? '0 : tail_e_q + Ew'(1);
    end
  end

  assign irq_o = irq_en_q && epoch_done_q;

`ifndef SYNTHESIS
  initial begin
    if (Width < 1 || Entries < 2) $fatal(1, "ntr_trace_fifo: bad geometry");
  end
`endif

endmodule
