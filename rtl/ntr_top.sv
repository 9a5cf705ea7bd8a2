// Neutrino top (csim: Machine): Tiles tiles running one program in lockstep, the three front
// ends (ntr_seq) and the semaphores they share, the instruction memories, the global buffers, the
// DMA engine with its lockstep weight broadcast, the CSR block and the host port.
//
// Parameters are the instance config (configs/accel/*.yaml, generated package
// ntr_cfg_<name>_pkg; the Yosys parameter file sets them by these names). A run (CTRL.start)
// first clears every local memory, then executes cycle 0, 1, ... under the timing rules of
// docs/neutrino.md until every stream has halted and every datapath instruction is done (the run
// length is the first cycle at which that holds) or a runtime error stops it; STATUS, CYCLES and
// the ERR_* registers report the outcome. retire_o reports every cycle what the front ends
// executed and started and which datapath instructions completed (lockstep cross-check).
module ntr_top #(
  parameter int unsigned Tiles               = ntr_cfg_neutrino_1t_pkg::Tiles,
  parameter int unsigned ClockMhz            = ntr_cfg_neutrino_1t_pkg::ClockMhz,
  parameter int unsigned MacLaneRows         = ntr_cfg_neutrino_1t_pkg::MacLaneRows,
  parameter int unsigned MacLaneCols         = ntr_cfg_neutrino_1t_pkg::MacLaneCols,
  parameter int unsigned MacAccBanks         = ntr_cfg_neutrino_1t_pkg::MacAccBanks,
  parameter int unsigned MacLatency          = ntr_cfg_neutrino_1t_pkg::MacLatency,
  parameter int unsigned LwbBytes            = ntr_cfg_neutrino_1t_pkg::LwbBytes,
  parameter int unsigned LibBytes            = ntr_cfg_neutrino_1t_pkg::LibBytes,
  parameter int unsigned PpuLanes            = ntr_cfg_neutrino_1t_pkg::PpuLanes,
  parameter int unsigned PpuLatency          = ntr_cfg_neutrino_1t_pkg::PpuLatency,
  parameter int unsigned PpuVsWords          = ntr_cfg_neutrino_1t_pkg::PpuVsWords,
  parameter int unsigned PpuCbRows           = ntr_cfg_neutrino_1t_pkg::PpuCbRows,
  parameter int unsigned GwbBytes            = ntr_cfg_neutrino_1t_pkg::GwbBytes,
  parameter int unsigned GibBytes            = ntr_cfg_neutrino_1t_pkg::GibBytes,
  parameter int unsigned GibBanks            = ntr_cfg_neutrino_1t_pkg::GibBanks,
  parameter int unsigned DmaLatency          = ntr_cfg_neutrino_1t_pkg::DmaLatency,
  parameter int unsigned DmaGwbBytesPerCycle = ntr_cfg_neutrino_1t_pkg::DmaGwbBytesPerCycle,
  parameter int unsigned DmaGibBytesPerCycle = ntr_cfg_neutrino_1t_pkg::DmaGibBytesPerCycle,
  parameter int unsigned DmaLibBytesPerCycle = ntr_cfg_neutrino_1t_pkg::DmaLibBytesPerCycle,
  parameter int unsigned DmaCbBytesPerCycle  = ntr_cfg_neutrino_1t_pkg::DmaCbBytesPerCycle,
  parameter int unsigned ImemWords           = ntr_cfg_neutrino_1t_pkg::ImemWords
) (
  input  logic             clk_i,
  input  logic             rst_ni,
  // host port: 64-bit accesses, always accepted; read data HostReadLatency cycles later
  input  logic             host_req_i,
  input  logic             host_we_i,
  input  logic [31:0]      host_addr_i,
  input  logic [7:0]       host_be_i,
  input  logic [63:0]      host_wdata_i,
  output logic             host_rvalid_o,
  output logic [63:0]      host_rdata_o,
  output logic             irq_o,
  output ntr_pkg::retire_t retire_o
);
  // ------------------------------------------------------------------ derived sizes
  localparam int unsigned Lanes    = MacLaneRows * MacLaneCols;
  localparam int unsigned HalfRows = LwbBytes / (2 * Lanes);
  localparam int unsigned PlGwb    = ntr_pkg::min2(DmaGwbBytesPerCycle, DmaLibBytesPerCycle);
  localparam int unsigned PlGib    = ntr_pkg::min2(DmaGibBytesPerCycle, DmaLibBytesPerCycle);
  localparam int unsigned Rpb      = ntr_pkg::min2(DmaGwbBytesPerCycle, DmaCbBytesPerCycle) / 12;
  localparam int unsigned GwbWin   = ntr_pkg::dma_gwb_win(Lanes, DmaGwbBytesPerCycle, DmaLibBytesPerCycle,
                                                          DmaCbBytesPerCycle);
  localparam int unsigned GibWin   = ntr_pkg::dma_gib_win(DmaGibBytesPerCycle, DmaLibBytesPerCycle);
  localparam int unsigned DmaBytes = ntr_pkg::max2(GwbWin, GibWin);
  localparam int unsigned LibWin   = ntr_pkg::pow2ceil(ntr_pkg::max2(4 * PpuLanes, ntr_pkg::max2(PlGwb, PlGib)));
  localparam int unsigned CbWin    = ntr_pkg::pow2ceil(ntr_pkg::max2(PpuLanes, Rpb));
  localparam int unsigned BankBytes = GibBytes / GibBanks;
  localparam int unsigned GwbAw    = $clog2(GwbBytes) + 1;
  localparam int unsigned GibAw    = $clog2(BankBytes) + 1;
  localparam int unsigned RowW     = $clog2(2 * HalfRows);
  localparam int unsigned LibAw    = $clog2(LibBytes) + 1;
  localparam int unsigned CbAw     = $clog2(PpuCbRows) + 1;
  localparam int unsigned LocAw    = ntr_pkg::max2(ntr_pkg::max2(LibAw, CbAw), RowW);
  localparam int unsigned Aw       = ntr_pkg::AddrW;
  localparam int unsigned PcW      = ntr_pkg::PcW;
  localparam int unsigned CycleW   = ntr_pkg::CycleW;
  localparam int unsigned Tw       = $clog2(Tiles + 1);
  localparam int unsigned ImAw     = $clog2(ImemWords);
  localparam int unsigned DmaBits  = DmaBytes * 8;

  // ------------------------------------------------------------------ run control
  typedef enum logic [1:0] { StIdle, StInit, StClear, StRun } state_e;
  state_e state_q, state_d;
  logic [CycleW-1:0] cyc_q, last_evt_q;
  logic init, run, start, clr_busy;
  logic run_end;
  logic [3:0] end_kind;
  logic [31:0] end_stream, end_pc, end_tile, end_info;
  logic [CycleW-1:0] end_cycle;

  assign init = (state_q == StInit);
  assign run = (state_q == StRun);

  always_comb begin
    state_d = state_q;
    unique case (state_q)
      StIdle:  if (start) state_d = StInit;
      StInit:  state_d = StClear;
      StClear: if (!clr_busy) state_d = StRun;
      default: if (run_end) state_d = StIdle;
    endcase
  end

  // ------------------------------------------------------------------ instruction memories
  logic [3*PcW-1:0]  fetch_addr;
  logic [3*128-1:0]  insn;
  logic              h_imem, h_csr, h_gwb, h_gib, h_mem_ok;
  logic [1:0]        h_stream;
  assign h_csr = (host_addr_i & ntr_pkg::HostRegionMask) == ntr_pkg::HostCsrBase;
  assign h_imem = (host_addr_i & ntr_pkg::HostRegionMask) == ntr_pkg::HostImemBase;
  assign h_gwb = (host_addr_i & ntr_pkg::HostRegionMask) == ntr_pkg::HostGwbBase;
  assign h_gib = (host_addr_i & ntr_pkg::HostRegionMask) == ntr_pkg::HostGibBase;
  assign h_stream = host_addr_i[21:20];
  assign h_mem_ok = (state_q == StIdle);

  for (genvar s = 0; s < 3; s++) begin : g_imem
    logic            hit;
    logic            rd_en;
    logic [ImAw-1:0] rd_addr;
    assign hit = host_req_i && h_imem && h_mem_ok && (h_stream == 2'(s));
    always_comb begin
      if (h_mem_ok && hit && !host_we_i) begin
        rd_en = 1'b1;
        rd_addr = ImAw'(host_addr_i[19:4]);
      end else begin
        rd_en = 1'b1;
        rd_addr = ImAw'(fetch_addr[s*PcW +: PcW]);
      end
    end
    ntr_sram #(
      .Width  (128),
      .Depth  (ImemWords),
      .RdPorts(1),
      .WrPorts(1),
      .BeWidth(64)
    ) u_imem (
      .clk_i    (clk_i),
      .rd_en_i  (rd_en),
      .rd_addr_i(rd_addr),
      .rd_data_o(insn[s*128 +: 128]),
      .wr_en_i  (hit && host_we_i),
      .wr_addr_i(ImAw'(host_addr_i[19:4])),
      .wr_be_i  ({host_addr_i[3] && (host_be_i != '0), !host_addr_i[3] && (host_be_i != '0)}),
      .wr_data_i({host_wdata_i, host_wdata_i})
    );
  end

  // ------------------------------------------------------------------ front ends, semaphores
  logic [2:0]        unit_free, unit_done, issue, seq_halted, seq_idle, seq_exec, seq_start, drained;
  logic [2:0]        seq_done, seq_err, fsig;
  // Split: stream s's take depends on the availability seen by the streams before it.
  logic [2:0]        dec /* verilator split_var */, sem_ok /* verilator split_var */;
  logic [14:0]       dec_sem /* verilator split_var */, fsig_sem, want_sem;
  logic [8:0]        dsig;
  logic [44:0]       dsig_sem;
  logic [3*PcW-1:0]  seq_pc, seq_done_pc;
  logic [3*4-1:0]    seq_err_kind;
  logic [3*Tiles*Aw-1:0] addr0, addr1;

  for (genvar s = 0; s < 3; s++) begin : g_seq
    ntr_seq #(
      .Stream   (s),
      .Tiles    (Tiles),
      .ImemWords(ImemWords),
      .OutDepth ((s == 1) ? MacLatency + 2 : 2)
    ) u_seq (
      .clk_i       (clk_i),
      .rst_ni      (rst_ni),
      .init_i      (init),
      .run_i       (run),
      .insn_i      (insn[s*128 +: 128]),
      .fetch_addr_o(fetch_addr[s*PcW +: PcW]),
      .want_sem_o  (want_sem[s*5 +: 5]),
      .sem_ok_i    (sem_ok[s]),
      .dec_o       (dec[s]),
      .dec_sem_o   (dec_sem[s*5 +: 5]),
      .fsig_o      (fsig[s]),
      .fsig_sem_o  (fsig_sem[s*5 +: 5]),
      .dsig_o      (dsig[s*3 +: 3]),
      .dsig_sem_o  (dsig_sem[s*15 +: 15]),
      .unit_free_i (unit_free[s]),
      .unit_done_i (unit_done[s]),
      .issue_o     (issue[s]),
      .addr0_o     (addr0[s*Tiles*Aw +: Tiles*Aw]),
      .addr1_o     (addr1[s*Tiles*Aw +: Tiles*Aw]),
      .halted_o    (seq_halted[s]),
      .idle_o      (seq_idle[s]),
      .drained_o   (drained[s]),
      .exec_o      (seq_exec[s]),
      .start_o     (seq_start[s]),
      .pc_o        (seq_pc[s*PcW +: PcW]),
      .done_o      (seq_done[s]),
      .done_pc_o   (seq_done_pc[s*PcW +: PcW]),
      .err_o       (seq_err[s]),
      .err_kind_o  (seq_err_kind[s*4 +: 4])
    );
  end

  logic              sem_arrival, sem_err;
  logic [1:0]        sem_err_stream;
  logic [PcW-1:0]    sem_err_pc;
  logic [4:0]        sem_err_sem;
  ntr_sem u_sem (
    .clk_i       (clk_i),
    .rst_ni      (rst_ni),
    .init_i      (init),
    .run_i       (run),
    .want0_i     (want_sem[0 +: 5]),
    .want1_i     (want_sem[5 +: 5]),
    .want2_i     (want_sem[10 +: 5]),
    .ok0_o       (sem_ok[0]),
    .ok1_o       (sem_ok[1]),
    .ok2_o       (sem_ok[2]),
    .dec0_i      (dec[0]),
    .dec1_i      (dec[1]),
    .dec2_i      (dec[2]),
    .dec_sem0_i  (dec_sem[0 +: 5]),
    .dec_sem1_i  (dec_sem[5 +: 5]),
    .dec_sem2_i  (dec_sem[10 +: 5]),
    .dsig_i      (dsig),
    .dsig_sem_i  (dsig_sem),
    .dsig_pc_i   (seq_done_pc),
    .fsig_i      (fsig),
    .fsig_sem_i  (fsig_sem),
    .fsig_pc_i   (seq_pc),
    .arrival_o   (sem_arrival),
    .err_o       (sem_err),
    .err_stream_o(sem_err_stream),
    .err_pc_o    (sem_err_pc),
    .err_sem_o   (sem_err_sem)
  );

  // ------------------------------------------------------------------ DMA engine, global buffers
  logic                  dma_oob, dma_conflict;
  logic [Tw-1:0]         dma_oob_tile, dma_conflict_tile;
  logic [31:0]           dma_contention;
  logic [Tiles-1:0]      t_wr_en;
  logic [1:0]            t_wr_space;
  logic [Tiles*LocAw-1:0] t_wr_addr;
  logic [Tiles*DmaBytes-1:0] t_wr_mask;
  logic [Tiles*DmaBits-1:0] t_wr_data;
  logic                  t_rd_en;
  logic [Tiles*LibAw-1:0] t_rd_addr;
  logic [Tiles*DmaBits-1:0] t_rd_data;
  logic                  gwb_rd_en, gwb_wr_en;
  logic [GwbAw-1:0]      gwb_rd_addr, gwb_wr_addr;
  logic [GwbWin*8-1:0]   gwb_rd_data, gwb_wr_data;
  logic [GwbWin-1:0]     gwb_wr_mask;
  logic [GibBanks-1:0]   gib_rd_en, gib_wr_en;
  logic [GibBanks*GibAw-1:0] gib_rd_addr, gib_wr_addr;
  logic [GibBanks*GibWin*8-1:0] gib_rd_data, gib_wr_data;
  logic [GibBanks*GibWin-1:0] gib_wr_mask;

  ntr_dma #(
    .Tiles   (Tiles),
    .Lanes   (Lanes),
    .HalfRows(HalfRows),
    .LibBytes(LibBytes),
    .CbRows  (PpuCbRows),
    .GwbBytes(GwbBytes),
    .GibBytes(GibBytes),
    .GibBanks(GibBanks),
    .Latency (DmaLatency),
    .GwbBpc  (DmaGwbBytesPerCycle),
    .GibBpc  (DmaGibBytesPerCycle),
    .LibBpc  (DmaLibBytesPerCycle),
    .CbBpc   (DmaCbBytesPerCycle)
  ) u_dma (
    .clk_i              (clk_i),
    .rst_ni             (rst_ni),
    .init_i             (init),
    .issue_i            (issue[0]),
    .insn_i             (insn[0 +: 128]),
    .g_addr_i           (addr0[0 +: Tiles*Aw]),
    .l_addr_i           (addr1[0 +: Tiles*Aw]),
    .free_o             (unit_free[0]),
    .done_o             (unit_done[0]),
    .oob_o              (dma_oob),
    .oob_tile_o         (dma_oob_tile),
    .conflict_o         (dma_conflict),
    .conflict_tile_o    (dma_conflict_tile),
    .contention_cycles_o(dma_contention),
    .t_wr_en_o          (t_wr_en),
    .t_wr_space_o       (t_wr_space),
    .t_wr_addr_o        (t_wr_addr),
    .t_wr_mask_o        (t_wr_mask),
    .t_wr_data_o        (t_wr_data),
    .t_rd_en_o          (t_rd_en),
    .t_rd_addr_o        (t_rd_addr),
    .t_rd_data_i        (t_rd_data),
    .gwb_rd_en_o        (gwb_rd_en),
    .gwb_rd_addr_o      (gwb_rd_addr),
    .gwb_rd_data_i      (gwb_rd_data),
    .gwb_wr_en_o        (gwb_wr_en),
    .gwb_wr_addr_o      (gwb_wr_addr),
    .gwb_wr_mask_o      (gwb_wr_mask),
    .gwb_wr_data_o      (gwb_wr_data),
    .gib_rd_en_o        (gib_rd_en),
    .gib_rd_addr_o      (gib_rd_addr),
    .gib_rd_data_i      (gib_rd_data),
    .gib_wr_en_o        (gib_wr_en),
    .gib_wr_addr_o      (gib_wr_addr),
    .gib_wr_mask_o      (gib_wr_mask),
    .gib_wr_data_o      (gib_wr_data)
  );

  logic [63:0] gbuf_rdata;
  ntr_gbuf #(
    .GwbBytes(GwbBytes),
    .GibBytes(GibBytes),
    .GibBanks(GibBanks),
    .GwbWin  (GwbWin),
    .GibWin  (GibWin)
  ) u_gbuf (
    .clk_i        (clk_i),
    .host_sel_i   (h_mem_ok),
    .host_rd_en_i (host_req_i && !host_we_i && (h_gwb || h_gib)),
    .host_wr_en_i (host_req_i && host_we_i && (h_gwb || h_gib)),
    .host_gib_i   (h_gib),
    .host_addr_i  (host_addr_i[23:0]),
    .host_be_i    (host_be_i),
    .host_wdata_i (host_wdata_i),
    .host_rdata_o (gbuf_rdata),
    .gwb_rd_en_i  (gwb_rd_en),
    .gwb_rd_addr_i(gwb_rd_addr),
    .gwb_rd_data_o(gwb_rd_data),
    .gwb_wr_en_i  (gwb_wr_en),
    .gwb_wr_addr_i(gwb_wr_addr),
    .gwb_wr_mask_i(gwb_wr_mask),
    .gwb_wr_data_i(gwb_wr_data),
    .gib_rd_en_i  (gib_rd_en),
    .gib_rd_addr_i(gib_rd_addr),
    .gib_rd_data_o(gib_rd_data),
    .gib_wr_en_i  (gib_wr_en),
    .gib_wr_addr_i(gib_wr_addr),
    .gib_wr_mask_i(gib_wr_mask),
    .gib_wr_data_i(gib_wr_data)
  );

  // ------------------------------------------------------------------ tiles
  logic [Tiles-1:0] mac_free, mac_done, mac_oob, ppu_free, ppu_done, ppu_oob, t_clr_busy;
  for (genvar t = 0; t < Tiles; t++) begin : g_tile
    ntr_tile #(
      .Lanes        (Lanes),
      .HalfRows     (HalfRows),
      .AccBanks     (MacAccBanks),
      .MacLatency   (MacLatency),
      .LibBytes     (LibBytes),
      .PpuLanes     (PpuLanes),
      .PpuLatency   (PpuLatency),
      .VsWords      (PpuVsWords),
      .CbRows       (PpuCbRows),
      .DmaBytes     (DmaBytes),
      .LibWin       (LibWin),
      .CbWin        (CbWin),
      .CbRowsPerBeat(Rpb)
    ) u_tile (
      .clk_i         (clk_i),
      .rst_ni        (rst_ni),
      .init_i        (init),
      .clr_busy_o    (t_clr_busy[t]),
      .mac_issue_i   (issue[1]),
      .mac_insn_i    (insn[128 +: 128]),
      .mac_x_i       (addr0[(Tiles + t)*Aw +: Aw]),
      .mac_w_i       (addr1[(Tiles + t)*Aw +: Aw]),
      .mac_free_o    (mac_free[t]),
      .mac_done_o    (mac_done[t]),
      .mac_oob_o     (mac_oob[t]),
      .ppu_issue_i   (issue[2]),
      .ppu_insn_i    (insn[256 +: 128]),
      .ppu_a_i       (addr0[(2*Tiles + t)*Aw +: Aw]),
      .ppu_d_i       (addr1[(2*Tiles + t)*Aw +: Aw]),
      .ppu_free_o    (ppu_free[t]),
      .ppu_done_o    (ppu_done[t]),
      .ppu_oob_o     (ppu_oob[t]),
      .dma_wr_en_i   (t_wr_en[t]),
      .dma_wr_space_i(t_wr_space),
      .dma_wr_addr_i (t_wr_addr[t*LocAw +: LocAw]),
      .dma_wr_mask_i (t_wr_mask[t*DmaBytes +: DmaBytes]),
      .dma_wr_data_i (t_wr_data[t*DmaBits +: DmaBits]),
      .dma_rd_en_i   (t_rd_en),
      .dma_rd_addr_i (t_rd_addr[t*LibAw +: LibAw]),
      .dma_rd_data_o (t_rd_data[t*DmaBits +: DmaBits])
    );
  end
  // Lockstep: every tile's units follow the same timing; tile 0 answers for all.
  assign unit_free[1] = mac_free[0];
  assign unit_done[1] = mac_done[0];
  assign unit_free[2] = ppu_free[0];
  assign unit_done[2] = ppu_done[0];
  assign clr_busy = |t_clr_busy;

  // ------------------------------------------------------------------ errors and the end of a run
  function automatic logic [Tw-1:0] lowest(input logic [Tiles-1:0] v);
    lowest = '0;
    for (int t = Tiles - 1; t >= 0; t--) if (v[t]) lowest = Tw'(t);
  endfunction

  logic events, all_halted, all_idle;
  assign events = (seq_exec != '0) || (seq_start != '0) || (seq_done != '0) || sem_arrival;
  assign all_halted = &seq_halted;
  assign all_idle = &seq_idle;

  logic        bad;
  logic [3:0]  kind;
  logic [31:0] tile;
  always_comb begin
    bad = 1'b0;
    kind = ntr_pkg::ErrNone;
    tile = '1;
    run_end = 1'b0;
    end_kind = ntr_pkg::ErrNone;
    end_stream = '1;
    end_pc = '1;
    end_tile = '1;
    end_info = '0;
    end_cycle = cyc_q;
    if (run) begin
      if (sem_err) begin
        run_end = 1'b1;
        end_kind = ntr_pkg::ErrSemOverflow;
        end_stream = 32'(sem_err_stream);
        end_pc = 32'(sem_err_pc);
        end_info = 32'(sem_err_sem);
      end else begin
        for (int s = 2; s >= 0; s--) begin
          bad = 1'b0;
          kind = ntr_pkg::ErrNone;
          tile = '1;
          if (seq_err[s]) begin
            bad = 1'b1;
            kind = seq_err_kind[s*4 +: 4];
          end else if (issue[s]) begin
            if (s == 0) begin
              if (dma_oob) begin
                bad = 1'b1;
                kind = ntr_pkg::ErrOutOfBounds;
                tile = 32'(dma_oob_tile);
              end else if (dma_conflict) begin
                bad = 1'b1;
                kind = ntr_pkg::ErrStoreConflict;
                tile = 32'(dma_conflict_tile);
              end
            end else if ((s == 1) && (mac_oob != '0)) begin
              bad = 1'b1;
              kind = ntr_pkg::ErrOutOfBounds;
              tile = 32'(lowest(mac_oob));
            end else if ((s == 2) && (ppu_oob != '0)) begin
              bad = 1'b1;
              kind = ntr_pkg::ErrOutOfBounds;
              tile = 32'(lowest(ppu_oob));
            end
          end
          if (bad) begin
            run_end = 1'b1;
            end_kind = kind;
            end_stream = 32'(s);
            end_pc = 32'(seq_pc[s*PcW +: PcW]);
            end_tile = tile;
          end
        end
        if (!run_end) begin
          if (all_halted && (drained == 3'b111)) begin
            run_end = 1'b1;
          end else if (!events && all_idle) begin
            // Nothing happened, nothing is in flight and no signal is arriving: deadlock,
            // reported at the last cycle at which something happened (docs/rtl.md).
            run_end = 1'b1;
            end_kind = ntr_pkg::ErrDeadlock;
            end_cycle = last_evt_q;
          end
        end
      end
    end
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      state_q <= StIdle;
      cyc_q <= '0;
      last_evt_q <= '0;
    end else begin
      state_q <= state_d;
      if (init) begin
        cyc_q <= '0;
        last_evt_q <= '0;
      end else if (run) begin
        cyc_q <= cyc_q + CycleW'(1);
        if (events) last_evt_q <= cyc_q;
      end
    end
  end

  // ------------------------------------------------------------------ counters
  logic [31:0] busy_dma_q, busy_mac_q, busy_ppu_q, contention_q, mvm_rows_q;
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      busy_dma_q <= '0;
      busy_mac_q <= '0;
      busy_ppu_q <= '0;
      contention_q <= '0;
      mvm_rows_q <= '0;
    end else if (init) begin
      busy_dma_q <= '0;
      busy_mac_q <= '0;
      busy_ppu_q <= '0;
      contention_q <= '0;
      mvm_rows_q <= '0;
    end else if (run) begin
      busy_dma_q <= busy_dma_q + 32'(seq_start[0] || !unit_free[0]);
      busy_mac_q <= busy_mac_q + 32'(seq_start[1] || !unit_free[1]);
      busy_ppu_q <= busy_ppu_q + 32'(seq_start[2] || !unit_free[2]);
      mvm_rows_q <= mvm_rows_q + 32'(issue[1] || !unit_free[1]);
      if (issue[0]) contention_q <= contention_q + dma_contention;
    end
  end

  // ------------------------------------------------------------------ CSRs and host reads
  logic [63:0] csr_rdata;
  ntr_csr #(
    .Tiles   (Tiles),
    .Lanes   (Lanes),
    .ClockMhz(ClockMhz)
  ) u_csr (
    .clk_i       (clk_i),
    .rst_ni      (rst_ni),
    .req_i       (host_req_i && h_csr),
    .we_i        (host_we_i),
    .addr_i      (host_addr_i[11:0] & 12'hFF8),
    .be_i        (host_be_i),
    .wdata_i     (host_wdata_i),
    .rdata_o     (csr_rdata),
    .start_o     (start),
    .busy_i      (state_q != StIdle),
    .host_err_i  (host_req_i && !h_csr && !h_mem_ok),
    .end_i       (run_end),
    .cycles_i    (end_cycle),
    .err_kind_i  (end_kind),
    .err_stream_i(end_stream),
    .err_pc_i    (end_pc),
    .err_tile_i  (end_tile),
    .err_cycle_i (end_cycle),
    .err_info_i  (end_info),
    .busy_dma_i  (busy_dma_q),
    .busy_mac_i  (busy_mac_q),
    .busy_ppu_i  (busy_ppu_q),
    .contention_i(contention_q),
    .mvm_rows_i  (mvm_rows_q),
    .irq_o       (irq_o)
  );

  // Read data: memories answer one cycle after the request, the mux is registered.
  logic       rd1_q;
  logic [2:0] rd1_src_q;   // 0 csr, 1..3 imem stream, 4 global buffers, 7 none
  logic       rd1_hi_q;
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      rd1_q <= 1'b0;
      rd1_src_q <= '0;
      rd1_hi_q <= 1'b0;
      host_rvalid_o <= 1'b0;
      host_rdata_o <= '0;
    end else begin
      rd1_q <= host_req_i && !host_we_i;
      rd1_hi_q <= host_addr_i[3];
      if (h_csr) rd1_src_q <= 3'd0;
      else if (h_imem && h_mem_ok && (h_stream != 2'd3)) rd1_src_q <= 3'd1 + 3'(h_stream);
      else if ((h_gwb || h_gib) && h_mem_ok) rd1_src_q <= 3'd4;
      else rd1_src_q <= 3'd7;
      host_rvalid_o <= rd1_q;
      unique case (rd1_src_q)
        3'd0: host_rdata_o <= csr_rdata;
        3'd1: host_rdata_o <= rd1_hi_q ? insn[64 +: 64] : insn[0 +: 64];
        3'd2: host_rdata_o <= rd1_hi_q ? insn[192 +: 64] : insn[128 +: 64];
        3'd3: host_rdata_o <= rd1_hi_q ? insn[320 +: 64] : insn[256 +: 64];
        3'd4: host_rdata_o <= gbuf_rdata;
        default: host_rdata_o <= '0;
      endcase
    end
  end

  // ------------------------------------------------------------------ retire port
  always_comb begin
    retire_o.exec = seq_exec;
    retire_o.issue = seq_start;
    retire_o.done = seq_done;
    retire_o.pc = seq_pc;
    retire_o.done_pc = seq_done_pc;
    retire_o.cycle = cyc_q;
    if (!run) begin
      retire_o.exec = '0;
      retire_o.issue = '0;
      retire_o.done = '0;
    end
  end

`ifndef SYNTHESIS
  always_ff @(posedge clk_i) begin
    if (run) begin
      assert ((mac_free == {Tiles{mac_free[0]}}) && (mac_done == {Tiles{mac_done[0]}}) &&
              (ppu_free == {Tiles{ppu_free[0]}}) && (ppu_done == {Tiles{ppu_done[0]}}))
        else $error("ntr_top: tiles out of lockstep");
    end
  end
  initial begin
    if (LwbBytes % (2 * Lanes) != 0) $fatal(1, "ntr_top: LWB of %0d bytes is not two halves of rows", LwbBytes);
  end
`endif

endmodule
