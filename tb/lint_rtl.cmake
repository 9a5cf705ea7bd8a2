# Lint and synthesis sanity of the RTL (run by CTest, docs/rtl.md "Checks"):
#  - Verilator --lint-only -Wall on ntr_top under every config wrapper and on the trace FIFO;
#  - Yosys 0.23 reads every module (read_verilog -sv) and elaborates the tiny config's top.
# Arguments: VERILATOR, YOSYS, SOURCES (packages first, '|'-separated), WRAPPERS (config tops,
# '|'-separated), TINY (the tiny config's wrapper module name), WORK.
string(REPLACE "|" ";" SOURCES "${SOURCES}")
string(REPLACE "|" ";" WRAPPERS "${WRAPPERS}")
file(MAKE_DIRECTORY ${WORK})
foreach(w ${WRAPPERS})
  get_filename_component(top ${w} NAME_WE)
  execute_process(COMMAND ${VERILATOR} --lint-only -Wall --top-module ${top} ${SOURCES} ${w}
                  RESULT_VARIABLE rv OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT rv EQUAL 0 OR out MATCHES "%Warning")
    message(FATAL_ERROR "verilator lint of ${top} failed:\n${out}")
  endif()
  message(STATUS "verilator -Wall lint clean: ${top}")
endforeach()
execute_process(COMMAND ${VERILATOR} --lint-only -Wall --top-module ntr_trace_fifo ${SOURCES}
                RESULT_VARIABLE rv OUTPUT_VARIABLE out ERROR_VARIABLE out)
if(NOT rv EQUAL 0 OR out MATCHES "%Warning")
  message(FATAL_ERROR "verilator lint of ntr_trace_fifo failed:\n${out}")
endif()
message(STATUS "verilator -Wall lint clean: ntr_trace_fifo")

if(YOSYS)
  # Parse every module and elaborate the tiny top (hierarchy -check: every instance resolves,
  # every parameter evaluates). Synthesis proper is the PPA flow's (docs/ppa.md): a generic-gate
  # synth of even the tiny top takes Yosys 0.23 minutes, too long for a test.
  list(JOIN SOURCES " " src)
  foreach(w ${WRAPPERS})
    string(APPEND src " ${w}")
  endforeach()
  file(WRITE ${WORK}/elab.ys "read_verilog -sv -defer ${src}\nhierarchy -check -top ${TINY}\n")
  execute_process(COMMAND ${YOSYS} -q -s ${WORK}/elab.ys
                  RESULT_VARIABLE rv OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT rv EQUAL 0 OR out MATCHES "ERROR")
    message(FATAL_ERROR "yosys failed:\n${out}")
  endif()
  message(STATUS "yosys parses every module and elaborates ${TINY}")
endif()
