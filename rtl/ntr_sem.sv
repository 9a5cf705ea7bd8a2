// The 32 counting semaphores of the tiles (docs/neutrino.md section 3), shared by the three
// streams: one set serves every tile, since tiles run in lockstep. Signals fired in cycle t
// (datapath instructions done at t, `signal` instructions executed at t) arrive at t + 1
// (SemLatency); in each cycle arrivals apply first, then the streams take counts in the order
// dma, mac, ppu, each seeing the takes of the streams before it (ok_o for the semaphore the
// stream wants).
//
// A count beyond SemMax is a runtime error naming the signal that overflowed, the arrivals of a
// cycle being applied in this order: slots 0, 1, 2 of the datapath completions of dma, mac, ppu,
// then the `signal` instructions of dma, mac, ppu (docs/rtl.md).
module ntr_sem #(
  localparam int unsigned PcW = ntr_pkg::PcW
) (
  input  logic             clk_i,
  input  logic             rst_ni,
  input  logic             init_i,
  input  logic             run_i,
  // per stream (dma, mac, ppu): the semaphore it wants, whether it is positive, the take
  // (separate ports: stream s's ok depends on the takes of the streams before it)
  input  logic [4:0]       want0_i,
  input  logic [4:0]       want1_i,
  input  logic [4:0]       want2_i,
  output logic             ok0_o,
  output logic             ok1_o,
  output logic             ok2_o,
  input  logic             dec0_i,
  input  logic             dec1_i,
  input  logic             dec2_i,
  input  logic [4:0]       dec_sem0_i,
  input  logic [4:0]       dec_sem1_i,
  input  logic [4:0]       dec_sem2_i,
  // signals fired this cycle
  input  logic [8:0]       dsig_i,        // stream s slot k at 3 s + k
  input  logic [44:0]      dsig_sem_i,
  input  logic [3*PcW-1:0] dsig_pc_i,
  input  logic [2:0]       fsig_i,
  input  logic [14:0]      fsig_sem_i,
  input  logic [3*PcW-1:0] fsig_pc_i,
  // arrivals this cycle, overflow
  output logic             arrival_o,
  output logic             err_o,
  output logic [1:0]       err_stream_o,
  output logic [PcW-1:0]   err_pc_o,
  output logic [4:0]       err_sem_o
);
  localparam int unsigned NSrc = 12;
  localparam int unsigned Max = ntr_isa_pkg::SemMax;

  logic [32*8-1:0] sem_q;
  // The signals fired last cycle, in arrival order.
  logic [NSrc-1:0]      inc_v_q;
  logic [NSrc*2-1:0]    inc_s_q;
  logic [NSrc*5-1:0]    inc_m_q;
  logic [NSrc*PcW-1:0]  inc_pc_q;

  assign arrival_o = run_i && (inc_v_q != '0);

  // Count of semaphore m after this cycle's arrivals.
  function automatic logic [8:0] arrived(input logic [32*8-1:0] sem, input logic [NSrc-1:0] v,
                                         input logic [NSrc*5-1:0] m_of, input logic [4:0] m);
    arrived = {1'b0, sem[32'(m)*8 +: 8]};
    for (int i = 0; i < NSrc; i++) begin
      if (v[i] && (m_of[i*5 +: 5] == m)) arrived = arrived + 9'd1;
    end
  endfunction

  logic [8:0] n0, n1, n2;
  always_comb begin
    n0 = arrived(sem_q, inc_v_q, inc_m_q, want0_i);
  end
  always_comb begin
    n1 = arrived(sem_q, inc_v_q, inc_m_q, want1_i);
    if (dec0_i && (dec_sem0_i == want1_i)) n1 = n1 - 9'd1;
  end
  always_comb begin
    n2 = arrived(sem_q, inc_v_q, inc_m_q, want2_i);
    if (dec0_i && (dec_sem0_i == want2_i)) n2 = n2 - 9'd1;
    if (dec1_i && (dec_sem1_i == want2_i)) n2 = n2 - 9'd1;
  end
  assign ok0_o = (n0 != 9'd0);
  assign ok1_o = (n1 != 9'd0);
  assign ok2_o = (n2 != 9'd0);

  // Overflow: the first arrival, in order, that finds its semaphore at SemMax.
  logic [8:0] seen;
  always_comb begin
    err_o = 1'b0;
    err_stream_o = '0;
    err_pc_o = '0;
    err_sem_o = '0;
    seen = '0;
    if (arrival_o) begin
      for (int i = 0; i < NSrc; i++) begin
        if (inc_v_q[i] && !err_o) begin
          seen = {1'b0, sem_q[32'(inc_m_q[i*5 +: 5])*8 +: 8]};
          for (int j = 0; j < i; j++) begin
            if (inc_v_q[j] && (inc_m_q[j*5 +: 5] == inc_m_q[i*5 +: 5])) seen = seen + 9'd1;
          end
          if (seen >= 9'(Max)) begin
            err_o = 1'b1;
            err_stream_o = inc_s_q[i*2 +: 2];
            err_pc_o = inc_pc_q[i*PcW +: PcW];
            err_sem_o = inc_m_q[i*5 +: 5];
          end
        end
      end
    end
  end

  function automatic logic [32*8-1:0] next_sems(input logic [32*8-1:0] sem,
                                                input logic [NSrc-1:0] v,
                                                input logic [NSrc*5-1:0] m_of,
                                                input logic [2:0] dec,
                                                input logic [14:0] dec_sem);
    next_sems = sem;
    for (int i = 0; i < NSrc; i++) begin
      if (v[i]) next_sems[32'(m_of[i*5 +: 5])*8 +: 8] = next_sems[32'(m_of[i*5 +: 5])*8 +: 8] + 8'd1;
    end
    for (int s = 0; s < 3; s++) begin
      if (dec[s]) next_sems[32'(dec_sem[s*5 +: 5])*8 +: 8] = next_sems[32'(dec_sem[s*5 +: 5])*8 +: 8] - 8'd1;
    end
  endfunction

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      sem_q <= '0;
      inc_v_q <= '0;
      inc_s_q <= '0;
      inc_m_q <= '0;
      inc_pc_q <= '0;
    end else if (init_i) begin
      sem_q <= '0;
      inc_v_q <= '0;
    end else if (run_i) begin
      if ((inc_v_q != '0) || dec0_i || dec1_i || dec2_i)
        sem_q <= next_sems(sem_q, inc_v_q, inc_m_q, {dec2_i, dec1_i, dec0_i}, {dec_sem2_i, dec_sem1_i, dec_sem0_i});
      for (int s = 0; s < 3; s++) begin
        for (int k = 0; k < 3; k++) begin
          inc_v_q[3*s + k] <= dsig_i[3*s + k];
          inc_s_q[(3*s + k)*2 +: 2] <= 2'(s);
          inc_m_q[(3*s + k)*5 +: 5] <= dsig_sem_i[(3*s + k)*5 +: 5];
          inc_pc_q[(3*s + k)*PcW +: PcW] <= dsig_pc_i[s*PcW +: PcW];
        end
        inc_v_q[9 + s] <= fsig_i[s];
        inc_s_q[(9 + s)*2 +: 2] <= 2'(s);
        inc_m_q[(9 + s)*5 +: 5] <= fsig_sem_i[s*5 +: 5];
        inc_pc_q[(9 + s)*PcW +: PcW] <= fsig_pc_i[s*PcW +: PcW];
      end
    end
  end

endmodule
