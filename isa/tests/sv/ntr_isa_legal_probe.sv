// Exposes the generated legality function of ntr_isa_pkg so a test can compare it with the C++
// decoder on many words.
module ntr_isa_legal_probe (
  input  logic [127:0] word_i,
  input  logic [1:0]   stream_i,
  output logic         legal_o,
  output logic [5:0]   opcode_o
);
  assign legal_o = ntr_isa_pkg::insn_legal(word_i, stream_i);
  assign opcode_o = word_i[5:0];
endmodule
