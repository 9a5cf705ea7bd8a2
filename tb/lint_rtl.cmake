# Lint and synthesis sanity of the RTL (run by CTest, docs/rtl.md "Checks"):
#  - Verilator --lint-only -Wall on ntr_top under every config wrapper and on the trace FIFO;
#  - Yosys 0.23 reads every module (read_verilog -sv) and synthesises the tiny config's top to
#    generic gates with the SRAM arrays black-boxed (the arrays are behavioural models).
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
  list(JOIN SOURCES " " src)
  foreach(w ${WRAPPERS})
    string(APPEND src " ${w}")
  endforeach()
  # ntr_sram's derived modules become black boxes before synthesis (their arrays are not logic).
  set(script "read_verilog -sv ${src}\nhierarchy -check -top ${TINY}\nblackbox */ntr_sram*\nsynth -top ${TINY}\ntee -o ${WORK}/stat.txt stat -top ${TINY}\n")
  file(WRITE ${WORK}/synth.ys "${script}")
  execute_process(COMMAND ${YOSYS} -q -s ${WORK}/synth.ys
                  RESULT_VARIABLE rv OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT rv EQUAL 0 OR out MATCHES "ERROR")
    message(FATAL_ERROR "yosys failed:\n${out}")
  endif()
  message(STATUS "yosys reads every module and synthesises ${TINY} (${WORK}/stat.txt)")
endif()
