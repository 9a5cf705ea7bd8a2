// Neutrino RTL package: error kinds, the host address map, CSR offsets, the retire (lockstep)
// port and the integer helpers of docs/int8-spec.md section 1. Instruction encodings come from
// the generated ntr_isa_pkg, instance sizes from the generated ntr_cfg_<name>_pkg (isa/).
// Use package-qualified names (no import: Yosys 0.23).

/* verilator lint_off UNUSEDPARAM */
package ntr_pkg;

  // ------------------------------------------------------------------------------ errors
  // ERR_KIND values: 0 none, else 1 + ntr::csim::ErrorKind (csim/include/ntr/csim/error.h), the
  // encoding of the SystemC platform's kErrorKind register. tb/ checks the two agree.
  typedef enum logic [3:0] {
    ErrNone          = 4'd0,
    ErrIllegal       = 4'd1,  // a word that does not decode for its stream
    ErrOutOfBounds   = 4'd2,  // an operand outside its memory, an mvm crossing an LWB half, ...
    ErrHazard        = 4'd3,  // csim only (race detection); never raised by the RTL
    ErrLoopMisuse    = 4'd4,  // loops nested too deep or badly, halt inside a running loop
    ErrSemOverflow   = 4'd5,  // a signal beyond SemMax
    ErrStoreConflict = 4'd6,  // two tiles storing to overlapping global bytes
    ErrDeadlock      = 4'd7   // every running stream blocked on a semaphore, nothing in flight
  } err_kind_e;

  // ------------------------------------------------------------------------- host map
  // Byte addresses of the host port (64-bit data, 8-byte aligned accesses). Memories are
  // accessible only while no run is in progress (docs/rtl.md, "Host interface").
  localparam logic [31:0] HostCsrBase  = 32'h0000_0000;  // 4 KiB of 32-bit registers
  localparam logic [31:0] HostImemBase = 32'h0100_0000;  // stream s at + s * HostImemStride
  localparam logic [31:0] HostImemStride = 32'h0010_0000;  // 16 bytes per instruction word
  localparam logic [31:0] HostGwbBase  = 32'h0400_0000;  // global weight buffer
  localparam logic [31:0] HostGibBase  = 32'h0800_0000;  // global input buffer, banks in order
  localparam logic [31:0] HostRegionMask = 32'hFF00_0000;  // region = address & mask
  localparam int unsigned HostReadLatency = 2;           // read data valid 2 cycles after the request

  // CSR byte offsets (32-bit registers; 64-bit values are two registers, low word first).
  localparam logic [11:0] CsrId         = 12'h000;  // RO 'NTRN'
  localparam logic [11:0] CsrVersion    = 12'h004;  // RO ISA version
  localparam logic [11:0] CsrCtrl       = 12'h008;  // WO bit 0: start a run
  localparam logic [11:0] CsrStatus     = 12'h00C;  // RO busy(0) done(1) error(2) host_err(3); W1C 1..3
  localparam logic [11:0] CsrIrqEnable  = 12'h010;  // RW bit 0: interrupt on done or error
  localparam logic [11:0] CsrCfgTiles   = 12'h014;  // RO tiles
  localparam logic [11:0] CsrCfgLanes   = 12'h018;  // RO MAC lanes
  localparam logic [11:0] CsrCfgClock   = 12'h01C;  // RO clock in MHz
  localparam logic [11:0] CsrCyclesLo   = 12'h020;  // RO cycles of the last run
  localparam logic [11:0] CsrCyclesHi   = 12'h024;
  localparam logic [11:0] CsrRuns       = 12'h028;  // RO runs completed (done or error) since reset
  localparam logic [11:0] CsrErrKind    = 12'h030;  // RO err_kind_e of the last run
  localparam logic [11:0] CsrErrStream  = 12'h034;  // RO 0 dma, 1 mac, 2 ppu, 0xffffffff none
  localparam logic [11:0] CsrErrPc      = 12'h038;  // RO 0xffffffff none
  localparam logic [11:0] CsrErrTile    = 12'h03C;  // RO 0xffffffff none
  localparam logic [11:0] CsrErrCycleLo = 12'h040;  // RO
  localparam logic [11:0] CsrErrCycleHi = 12'h044;
  localparam logic [11:0] CsrErrInfo    = 12'h048;  // RO semaphore number (overflow)
  localparam logic [11:0] CsrBusyDma    = 12'h050;  // RO datapath busy cycles of the last run
  localparam logic [11:0] CsrBusyMac    = 12'h054;
  localparam logic [11:0] CsrBusyPpu    = 12'h058;
  localparam logic [11:0] CsrContention = 12'h05C;  // RO DMA bank contention cycles of the last run
  localparam logic [11:0] CsrMvmRows    = 12'h060;  // RO LWB rows read by mvm (wide rows twice)

  localparam logic [31:0] IdValue = 32'h4E54_524E;  // "NTRN" little-endian, as the SystemC platform

  // ----------------------------------------------------------------------- retire port
  // What the top reports every cycle for the lockstep cross-check (docs/rtl.md): per stream, the
  // front end executed an instruction (control, a wait that succeeded, halt) or started a
  // datapath instruction at pc, and a datapath instruction completed (done) at done_pc.
  localparam int unsigned PcW = 16;
  localparam int unsigned CycleW = 48;
  typedef struct packed {
    logic [2:0]       exec;     // front end executed a control instruction, wait or halt
    logic [2:0]       issue;    // a datapath instruction started
    logic [2:0]       done;     // a datapath instruction completed
    logic [3*PcW-1:0] pc;       // per stream: pc of the executed or started instruction
    logic [3*PcW-1:0] done_pc;  // per stream: pc of the completed instruction
    logic [CycleW-1:0] cycle;   // run cycle
  } retire_t;

  // Resolved operand addresses: address register (int32) + unsigned offset, signed.
  localparam int unsigned AddrW = 34;

  // ------------------------------------------------------------------- integer helpers
  // rshr(x, s) of docs/int8-spec.md: (x + 2^(s-1)) >> s, rounding half towards +infinity,
  // computed as floor(x / 2^s) + bit s-1 of x so that no intermediate leaves 64 bits.
  function automatic logic signed [63:0] rshr(input logic signed [63:0] x, input logic [5:0] s);
    logic signed [63:0] q;
    logic               r;
    q = x >>> s;
    r = (s == 6'd0) ? 1'b0 : x[s - 6'd1];
    rshr = q + {63'd0, r};
  endfunction

  function automatic logic signed [63:0] sat(input logic signed [63:0] x,
                                             input logic signed [63:0] lo,
                                             input logic signed [63:0] hi);
    sat = (x < lo) ? lo : ((x > hi) ? hi : x);
  endfunction

  // Smallest power of two >= x (x >= 1).
  function automatic int unsigned pow2ceil(input int unsigned x);
    pow2ceil = 1;
    while (pow2ceil < x) pow2ceil = pow2ceil * 2;
  endfunction

  function automatic int unsigned max2(input int unsigned a, input int unsigned b);
    max2 = (a > b) ? a : b;
  endfunction

  function automatic int unsigned min2(input int unsigned a, input int unsigned b);
    min2 = (a < b) ? a : b;
  endfunction

  // Words per bank of an ntr_wmem (two banks of WinElems-element words).
  function automatic int unsigned wmem_bank_depth(input int unsigned elems, input int unsigned win);
    wmem_bank_depth = max2(((elems + win - 1) / win + 1) / 2, 2);
  endfunction

  // Window bytes of the DMA engine's global ports: a GWB beat (an LWB row, a LIB or CB beat) and a
  // GIB beat, at least 8 bytes for the host port (docs/rtl.md, "Memories").
  function automatic int unsigned dma_gwb_win(input int unsigned lanes, input int unsigned gwb_bpc,
                                              input int unsigned lib_bpc, input int unsigned cb_bpc);
    dma_gwb_win = pow2ceil(max2(max2(lanes, min2(gwb_bpc, lib_bpc)), max2(min2(gwb_bpc, cb_bpc), 8)));
  endfunction

  function automatic int unsigned dma_gib_win(input int unsigned gib_bpc, input int unsigned lib_bpc);
    dma_gib_win = pow2ceil(max2(min2(gib_bpc, lib_bpc), 8));
  endfunction

  function automatic bit is_pow2(input int unsigned x);
    is_pow2 = (x != 0) && ((x & (x - 1)) == 0);
  endfunction

endpackage
/* verilator lint_on UNUSEDPARAM */
