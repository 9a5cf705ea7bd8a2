# Lints the generated SystemVerilog packages with Verilator (-Wall) and parses them with Yosys,
# through a probe module that uses the packed formats, the legality function and each config.
file(GLOB pkgs ${SV_DIR}/ntr_*_pkg.sv)
file(MAKE_DIRECTORY ${WORK})
set(probe "module ntr_isa_probe (input logic [127:0] w, input logic [1:0] s, output logic ok, output logic [5:0] op);\n")
string(APPEND probe "  ntr_isa_pkg::mvm_t m;\n  assign m = w;\n  assign op = m.opcode ^ {m.wide, m.clr, m.bank, 1'b0};\n  assign ok = ntr_isa_pkg::insn_legal(w, s)")
foreach(p ${pkgs})
  get_filename_component(n ${p} NAME_WE)
  if(NOT n STREQUAL "ntr_isa_pkg")
    string(APPEND probe " & (${n}::Lanes > 0)")
  endif()
endforeach()
string(APPEND probe ";\nendmodule\n")
file(WRITE ${WORK}/ntr_isa_probe.sv "${probe}")
set(isa_pkg ${SV_DIR}/ntr_isa_pkg.sv)
list(REMOVE_ITEM pkgs ${isa_pkg})
execute_process(COMMAND ${VERILATOR} --lint-only -Wall -Wno-UNUSEDSIGNAL --top-module ntr_isa_probe
                        ${isa_pkg} ${pkgs} ${WORK}/ntr_isa_probe.sv
                RESULT_VARIABLE rv OUTPUT_VARIABLE out ERROR_VARIABLE out)
if(NOT rv EQUAL 0)
  message(FATAL_ERROR "verilator lint failed:\n${out}")
endif()
list(JOIN pkgs " " pkgs_str)
execute_process(COMMAND ${YOSYS} -q -p "read_verilog -sv ${isa_pkg} ${pkgs_str} ${WORK}/ntr_isa_probe.sv; hierarchy -top ntr_isa_probe; proc; opt"
                RESULT_VARIABLE rv OUTPUT_VARIABLE out ERROR_VARIABLE out)
if(NOT rv EQUAL 0 OR out MATCHES "arning")
  message(FATAL_ERROR "yosys failed or warned:\n${out}")
endif()
message(STATUS "generated SV packages pass Verilator lint and Yosys")
