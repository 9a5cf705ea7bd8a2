// Front end of one instruction stream (csim: Sequencer plus the machine's issue rule): program
// counter, four-level hardware loop stack, address registers a0..a15 per tile, decode, issue to
// the stream's unit, semaphore use, the completion queue of datapath instructions, and the traps
// (illegal word, loop misuse).
//
// Every run cycle the front end looks at the instruction at pc (docs/neutrino.md section 2):
// control instructions execute (pc advances by the loop rule), `wait` succeeds when its
// semaphore is positive, a datapath instruction starts when the unit is free, its semaphore (if
// any) is positive and, for `sync`, every earlier datapath instruction is done; otherwise the
// front end retries next cycle. The instruction at the next pc is read from the instruction
// memory in the same cycle (fetch_addr_o), so a jump back costs nothing.
//
// Datapath instructions complete in issue order (their done cycles strictly increase within a
// stream), so a FIFO of their signal slots and pcs pairs each unit_done_i with its instruction.
// `sync` is executed here: busy 1, tail 0.
module ntr_seq #(
  parameter int unsigned Stream    = 0,
  parameter int unsigned Tiles     = 1,
  parameter int unsigned ImemWords = 4096,
  parameter int unsigned OutDepth  = 4,   // outstanding datapath instructions
  localparam int unsigned PcW = ntr_pkg::PcW,
  localparam int unsigned Aw  = ntr_pkg::AddrW
) (
  input  logic                 clk_i,
  input  logic                 rst_ni,
  input  logic                 init_i,        // run start: pc 0, no loops, registers 0
  input  logic                 run_i,         // a run cycle: state advances
  input  logic [127:0]         insn_i,        // the word at pc
  output logic [PcW-1:0]       fetch_addr_o,  // pc of the next cycle
  // semaphores
  output logic [4:0]           want_sem_o,    // the semaphore the instruction at pc waits on
  input  logic                 sem_ok_i,      // want_sem_o > 0 as this stream sees it this cycle
  output logic                 dec_o,         // take one count of dec_sem_o
  output logic [4:0]           dec_sem_o,
  output logic                 fsig_o,        // `signal` fires now
  output logic [4:0]           fsig_sem_o,
  output logic [2:0]           dsig_o,        // the datapath instruction done now fires these
  output logic [14:0]          dsig_sem_o,
  // the stream's unit
  input  logic                 unit_free_i,
  input  logic                 unit_done_i,
  output logic                 issue_o,       // start insn_i on the unit (not for sync)
  output logic [Tiles*Aw-1:0]  addr0_o,       // per tile: dma g, mvm x, ppu/psel a
  output logic [Tiles*Aw-1:0]  addr1_o,       // per tile: dma l, mvm w, ppu/psel d
  // status and retire
  output logic                 halted_o,
  output logic                 idle_o,        // no datapath instruction outstanding
  output logic                 drained_o,     // none outstanding after this cycle's completion
  output logic                 exec_o,        // executed a control instruction, wait or halt
  output logic                 start_o,       // started a datapath instruction (sync included)
  output logic [PcW-1:0]       pc_o,
  output logic                 done_o,        // a datapath instruction completed
  output logic [PcW-1:0]       done_pc_o,
  output logic                 err_o,
  output logic [3:0]           err_kind_o     // ntr_pkg::err_kind_e
);
  localparam int unsigned Ld = ntr_isa_pkg::LoopDepth;
  localparam int unsigned Ow = $clog2(OutDepth + 1);
  localparam int unsigned Pw1 = PcW + 1;

  // ------------------------------------------------------------------ state
  logic [PcW-1:0]     pc_q, pc_d;
  logic [Ld*PcW-1:0]  first_q, last_q;
  logic [Ld*16-1:0]   left_q, left_d;
  logic [2:0]         depth_q, depth_d;
  logic [Tiles*16*32-1:0] ar_q, ar_d;
  logic               halted_q, sync_busy_q;
  // completion FIFO: entry = {pc, signal slots (en, sem) x 3}
  localparam int unsigned Ew = PcW + 18;
  logic [OutDepth*Ew-1:0] fifo_q, fifo_d;
  logic [Ow-1:0]          count_q, count_d;

  // ------------------------------------------------------------------ decode
  logic [5:0] op;
  logic legal, datapath;
  logic wait_en;
  logic [4:0] wait_sem;
  assign op = insn_i[5:0];
  assign legal = ntr_isa_pkg::insn_legal(insn_i, 2'(Stream));
  assign datapath = (op == ntr_isa_pkg::OpSync) || (op == ntr_isa_pkg::OpDma) ||
                    (op == ntr_isa_pkg::OpMvm) || (op == ntr_isa_pkg::OpPpu) ||
                    (op == ntr_isa_pkg::OpPsel);
  assign wait_en = insn_i[ntr_isa_pkg::SyncWaitEnLsb];
  assign wait_sem = insn_i[ntr_isa_pkg::SyncWaitSemLsb +: 5];
  assign want_sem_o = datapath ? wait_sem : insn_i[ntr_isa_pkg::WaitSemLsb +: 5];

  // ------------------------------------------------------------------ loop rule
  // Next pc after the instruction at pc executes or starts (loop ends jump back or pop).
  logic [PcW-1:0] adv_pc;
  logic [PcW:0]   adv_pc_w;       // adv_pc without wrap-around, for the end-of-memory check
  logic [2:0]     adv_depth;
  logic [Ld*16-1:0] adv_left;
  always_comb begin
    logic stop;
    stop = 1'b0;
    adv_pc_w = {1'b0, pc_q} + Pw1'(1);
    adv_depth = depth_q;
    adv_left = left_q;
    for (int i = 0; i < Ld; i++) begin
      if (!stop) begin
        if ((adv_depth != 3'd0) && (last_q[(32'(adv_depth) - 32'd1)*PcW +: PcW] == pc_q)) begin
          if (left_q[(32'(adv_depth) - 32'd1)*16 +: 16] > 16'd1) begin
            adv_left[(32'(adv_depth) - 32'd1)*16 +: 16] = left_q[(32'(adv_depth) - 32'd1)*16 +: 16] - 16'd1;
            adv_pc_w = {1'b0, first_q[(32'(adv_depth) - 32'd1)*PcW +: PcW]};
            stop = 1'b1;
          end else begin
            adv_depth = adv_depth - 3'd1;
          end
        end else begin
          stop = 1'b1;
        end
      end
    end
    adv_pc = adv_pc_w[PcW-1:0];
  end

  // Halt is legal only where no loop would run again.
  logic halt_ok;
  always_comb begin
    halt_ok = 1'b1;
    for (int d = 0; d < Ld; d++) begin
      if ((3'(d) < depth_q) &&
          ((last_q[d*PcW +: PcW] != pc_q) || (left_q[d*16 +: 16] > 16'd1))) halt_ok = 1'b0;
    end
  end

  // ------------------------------------------------------------------ address registers
  function automatic logic [31:0] ar_of(input logic [Tiles*16*32-1:0] ar, input int t,
                                       input logic [3:0] r);
    // The tile's block by a constant part-select (t is a loop index at every call), then a
    // 15-way select: a variable part-select over all tiles' registers maps to shifters as wide
    // as the whole file, which with 8 tiles outgrew logic synthesis.
    logic [16*32-1:0] regs;
    regs = ar[t*16*32 +: 16*32];
    ar_of = '0;
    for (int k = 1; k < 16; k++) if (r == 4'(k)) ar_of = regs[k*32 +: 32];
  endfunction

  // Operands: register and offset of the two address operands of this opcode.
  logic [3:0]  r0, r1;
  logic [20:0] off0, off1;
  always_comb begin
    r0 = '0;
    r1 = '0;
    off0 = '0;
    off1 = '0;
    unique case (op)
      ntr_isa_pkg::OpDma: begin
        r0 = insn_i[ntr_isa_pkg::DmaGArLsb +: 4];
        off0 = insn_i[ntr_isa_pkg::DmaGOffLsb +: 21];
        r1 = insn_i[ntr_isa_pkg::DmaLArLsb +: 4];
        off1 = 21'(insn_i[ntr_isa_pkg::DmaLOffLsb +: 16]);
      end
      ntr_isa_pkg::OpMvm: begin
        r0 = insn_i[ntr_isa_pkg::MvmXArLsb +: 4];
        off0 = 21'(insn_i[ntr_isa_pkg::MvmXOffLsb +: 14]);
        r1 = insn_i[ntr_isa_pkg::MvmWArLsb +: 4];
        off1 = 21'(insn_i[ntr_isa_pkg::MvmWOffLsb +: 9]);
      end
      ntr_isa_pkg::OpPpu, ntr_isa_pkg::OpPsel: begin
        r0 = insn_i[ntr_isa_pkg::PpuAArLsb +: 4];
        off0 = 21'(insn_i[ntr_isa_pkg::PpuAOffLsb +: 14]);
        r1 = insn_i[ntr_isa_pkg::PpuDArLsb +: 4];
        off1 = 21'(insn_i[ntr_isa_pkg::PpuDOffLsb +: 14]);
      end
      default: ;
    endcase
    for (int t = 0; t < Tiles; t++) begin
      logic [31:0] a0, a1;
      a0 = ar_of(ar_q, t, r0);
      a1 = ar_of(ar_q, t, r1);
      addr0_o[t*Aw +: Aw] = {{(Aw-32){a0[31]}}, a0} + Aw'(off0);
      addr1_o[t*Aw +: Aw] = {{(Aw-32){a1[31]}}, a1} + Aw'(off1);
    end
  end

  // seti / addi / tile, per tile.
  always_comb begin
    logic [3:0] r;
    logic [31:0] imm32;
    logic [23:0] imm24, mod, base, stride;
    r = insn_i[6 +: 4];
    imm32 = insn_i[ntr_isa_pkg::SetiImmLsb +: 32];
    imm24 = insn_i[ntr_isa_pkg::AddiImmLsb +: 24];
    mod = insn_i[ntr_isa_pkg::AddiModLsb +: 24];
    base = insn_i[ntr_isa_pkg::TileBaseLsb +: 24];
    stride = insn_i[ntr_isa_pkg::TileStrideLsb +: 24];
    ar_d = ar_q;
    for (int t = 0; t < Tiles; t++) begin
      logic signed [35:0] v;
      v = '0;
      unique case (op)
        ntr_isa_pkg::OpSeti: v = {{4{imm32[31]}}, imm32};
        ntr_isa_pkg::OpAddi: begin
          logic [31:0] cur;
          cur = ar_of(ar_q, t, r);
          v = $signed({{4{cur[31]}}, cur}) + $signed({{12{imm24[23]}}, imm24});
          if (mod != 24'd0) begin
            if (v >= $signed({12'd0, mod})) v = v - $signed({12'd0, mod});
            else if (v < 0) v = v + $signed({12'd0, mod});
          end
        end
        default: v = $signed(36'(base) + 36'(t) * 36'(stride));  // tile
      endcase
      if ((op == ntr_isa_pkg::OpSeti) || (op == ntr_isa_pkg::OpAddi) || (op == ntr_isa_pkg::OpTile)) begin
        for (int k = 1; k < 16; k++) if (r == 4'(k)) ar_d[(t*16 + k)*32 +: 32] = v[31:0];
      end
    end
  end

  // ------------------------------------------------------------------ issue rule
  logic [OutDepth*Ew-1:0] fifo_pop;
  logic pop;
  logic [Ow-1:0] count_after;   // outstanding after this cycle's completion
  assign pop = unit_done_i || sync_busy_q;   // sync is done one cycle after it starts
  assign count_after = count_q - Ow'(pop);

  logic go_exec, go_start, go_halt, stay, trap;
  logic [3:0] trap_kind;
  always_comb begin
    go_exec = 1'b0;
    go_start = 1'b0;
    go_halt = 1'b0;
    trap = 1'b0;
    trap_kind = ntr_pkg::ErrNone;
    dec_o = 1'b0;
    dec_sem_o = '0;
    fsig_o = 1'b0;
    fsig_sem_o = insn_i[ntr_isa_pkg::SignalSemLsb +: 5];
    if (run_i && !halted_q) begin
      if (!legal) begin
        trap = 1'b1;
        trap_kind = ntr_pkg::ErrIllegal;
      end else if (!datapath) begin
        unique case (op)
          ntr_isa_pkg::OpWait: begin
            if (sem_ok_i) begin
              go_exec = 1'b1;
              dec_o = 1'b1;
              dec_sem_o = insn_i[ntr_isa_pkg::WaitSemLsb +: 5];
            end
          end
          ntr_isa_pkg::OpHalt: begin
            if (halt_ok) go_halt = 1'b1;
            else begin
              trap = 1'b1;
              trap_kind = ntr_pkg::ErrLoopMisuse;
            end
          end
          ntr_isa_pkg::OpLoop: begin
            logic [PcW-1:0] lst;
            lst = pc_q + PcW'(insn_i[ntr_isa_pkg::LoopBodyLsb +: 12]);
            if ((depth_q == 3'(Ld)) ||
                ((depth_q != 3'd0) && (lst > last_q[(32'(depth_q) - 32'd1)*PcW +: PcW]))) begin
              trap = 1'b1;
              trap_kind = ntr_pkg::ErrLoopMisuse;
            end else begin
              go_exec = 1'b1;
            end
          end
          default: begin
            go_exec = 1'b1;
            fsig_o = (op == ntr_isa_pkg::OpSignal);
          end
        endcase
      end else begin
        if (unit_free_i && (!wait_en || sem_ok_i) &&
            ((op != ntr_isa_pkg::OpSync) || (count_after == '0))) begin
          go_start = 1'b1;
          dec_o = wait_en;
          dec_sem_o = wait_sem;
        end
      end
      // The next pc must exist (only a stream without its final halt runs off the end).
      if ((go_exec || go_start) &&
          (((op == ntr_isa_pkg::OpLoop) ? 32'(pc_q) + 32'd1 : 32'(adv_pc_w)) >= ImemWords)) begin
        trap = 1'b1;
        trap_kind = ntr_pkg::ErrLoopMisuse;
      end
    end
    if (trap) begin
      go_exec = 1'b0;
      go_start = 1'b0;
      go_halt = 1'b0;
      dec_o = 1'b0;
      fsig_o = 1'b0;
    end
    stay = !(go_exec || go_start);
  end

  assign issue_o = go_start && (op != ntr_isa_pkg::OpSync);

  // Next pc and loop stack.
  always_comb begin
    pc_d = pc_q;
    depth_d = depth_q;
    left_d = left_q;
    if (!stay) begin
      if (op == ntr_isa_pkg::OpLoop) begin
        pc_d = pc_q + PcW'(1);
        depth_d = depth_q + 3'd1;
      end else begin
        pc_d = adv_pc;
        depth_d = adv_depth;
        left_d = adv_left;
      end
    end
  end
  assign fetch_addr_o = pc_d;

  // Completion FIFO: push at start, pop at done (entry 0 is the oldest).
  always_comb begin
    fifo_d = fifo_q;
    fifo_pop = fifo_q >> Ew;
    if (pop) fifo_d = fifo_pop;
    if (go_start) begin
      fifo_d[32'(count_after)*Ew +: Ew] = {pc_q, insn_i[ntr_isa_pkg::SyncSig2SemLsb +: 5],
                                           insn_i[ntr_isa_pkg::SyncSig2EnLsb],
                                           insn_i[ntr_isa_pkg::SyncSig1SemLsb +: 5],
                                           insn_i[ntr_isa_pkg::SyncSig1EnLsb],
                                           insn_i[ntr_isa_pkg::SyncSig0SemLsb +: 5],
                                           insn_i[ntr_isa_pkg::SyncSig0EnLsb]};
    end
    count_d = count_after + Ow'(go_start);
  end

  always_comb begin
    dsig_o = {fifo_q[12], fifo_q[6], fifo_q[0]} & {3{pop && run_i}};
    dsig_sem_o = {fifo_q[13 +: 5], fifo_q[7 +: 5], fifo_q[1 +: 5]};
  end

  // ------------------------------------------------------------------ registers
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      pc_q <= '0;
      first_q <= '0;
      last_q <= '0;
      left_q <= '0;
      depth_q <= '0;
      ar_q <= '0;
      halted_q <= 1'b0;
      sync_busy_q <= 1'b0;
      fifo_q <= '0;
      count_q <= '0;
    end else if (init_i) begin
      pc_q <= '0;
      depth_q <= '0;
      ar_q <= '0;
      halted_q <= 1'b0;
      sync_busy_q <= 1'b0;
      count_q <= '0;
    end else if (run_i) begin
      pc_q <= pc_d;
      depth_q <= depth_d;
      left_q <= left_d;
      if (go_exec && (op == ntr_isa_pkg::OpLoop)) begin
        first_q[depth_q*PcW +: PcW] <= pc_q + PcW'(1);
        last_q[depth_q*PcW +: PcW] <= pc_q + PcW'(insn_i[ntr_isa_pkg::LoopBodyLsb +: 12]);
        left_q[depth_q*16 +: 16] <= insn_i[ntr_isa_pkg::LoopCountLsb +: 16];
      end
      if (go_exec) ar_q <= ar_d;
      if (go_halt) halted_q <= 1'b1;
      sync_busy_q <= go_start && (op == ntr_isa_pkg::OpSync);
      fifo_q <= fifo_d;
      count_q <= count_d;
    end
  end

  assign halted_o = halted_q;
  assign idle_o = (count_q == '0);
  assign drained_o = (count_after == '0) && !go_start;
  assign exec_o = go_exec || go_halt;
  assign start_o = go_start;
  assign pc_o = pc_q;
  assign done_o = pop && run_i;
  assign done_pc_o = fifo_q[18 +: PcW];
  assign err_o = trap;
  assign err_kind_o = trap_kind;

`ifndef SYNTHESIS
  always_ff @(posedge clk_i) begin
    if (run_i && !init_i) begin
      assert (!(pop && (count_q == '0))) else $error("ntr_seq %0d: completion without an instruction", Stream);
      assert (!(go_start && (count_after == Ow'(OutDepth)))) else $error("ntr_seq %0d: completion FIFO overflow", Stream);
    end
  end
`endif

endmodule
