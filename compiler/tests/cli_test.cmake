# End-to-end checks of `neuroscalar compile`, `asm` and `disasm` (label e2e).
file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${WORK})
function(run_ok out)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rv OUTPUT_VARIABLE o ERROR_VARIABLE e WORKING_DIRECTORY ${SRC})
  if(NOT rv EQUAL 0)
    message(FATAL_ERROR "failed (${rv}): ${ARGN}\n${o}\n${e}")
  endif()
  set(${out} "${o}" PARENT_SCOPE)
endfunction()

# The acceptance command: paper-bi-tied on one tile, within the 8264-cycle budget.
run_ok(json ${NS} compile --model configs/model/paper-bi-tied.yaml --accel configs/accel/neutrino-1t.yaml
       --report --json -o ${WORK}/bundle)
foreach(key cycles_per_step mac_cycles_per_step mac_utilization cycles_per_window predicted_instr_per_s)
  string(JSON v GET "${json}" ${key})
  message(STATUS "${key} = ${v}")
endforeach()
string(JSON step GET "${json}" cycles_per_step)
if(step GREATER 8264)
  message(FATAL_ERROR "cycles_per_step ${step} exceeds the 8264 budget")
endif()
run_ok(table ${NS} compile --model configs/model/paper-bi-tied.yaml --accel configs/accel/neutrino-1t.yaml --report)
if(NOT table MATCHES "cycles per LSTM step")
  message(FATAL_ERROR "no table:\n${table}")
endif()

# An oversized configuration is refused, naming the buffer.
execute_process(COMMAND ${NS} compile --model configs/model/paper-bi-tied.yaml --accel configs/accel/neutrino-8t.yaml
                RESULT_VARIABLE rv OUTPUT_VARIABLE o ERROR_VARIABLE e WORKING_DIRECTORY ${SRC})
if(rv EQUAL 0 OR NOT e MATCHES "global input buffer bank overflows by")
  message(FATAL_ERROR "expected a refusal naming the global input buffer bank, got (${rv}):\n${e}")
endif()
execute_process(COMMAND ${NS} compile --model configs/model/paper-uni.yaml --accel configs/accel/neutrino-1t.yaml
                        --window 7,2
                RESULT_VARIABLE rv OUTPUT_VARIABLE o ERROR_VARIABLE e WORKING_DIRECTORY ${SRC})
if(rv EQUAL 0 OR NOT e MATCHES "window L=7, T=2 is invalid")
  message(FATAL_ERROR "expected an invalid-window error, got (${rv}):\n${e}")
endif()

# A bad accelerator config is refused naming the file and the key.
file(READ ${SRC}/configs/accel/neutrino-1t.yaml accel_text)
string(REPLACE "clock_mhz:" "clock_hz:" accel_text "${accel_text}")
file(WRITE ${WORK}/bad-accel.yaml "${accel_text}")
execute_process(COMMAND ${NS} compile --model configs/model/paper-uni.yaml --accel ${WORK}/bad-accel.yaml
                RESULT_VARIABLE rv OUTPUT_VARIABLE o ERROR_VARIABLE e WORKING_DIRECTORY ${SRC})
if(rv EQUAL 0 OR NOT e MATCHES "bad-accel.yaml: .*clock")
  message(FATAL_ERROR "expected a bad-config error naming clock_mhz, got (${rv}):\n${e}")
endif()

# Illegal assembly is refused with its line.
file(WRITE ${WORK}/bad.s ".stream dma\n  halt\n.stream mac\n  mvm x=0 w=0 rows=300 bank=0\n  halt\n")
execute_process(COMMAND ${NS} asm ${WORK}/bad.s -o ${WORK}/bad-asm.bin RESULT_VARIABLE rv ERROR_VARIABLE e)
if(rv EQUAL 0 OR NOT e MATCHES "bad.s:4: .*rows = 300")
  message(FATAL_ERROR "expected an error at line 4, got (${rv}):\n${e}")
endif()

# asm/disasm round trip of the compiled program.
run_ok(text ${NS} disasm ${WORK}/bundle/program.bin)
file(WRITE ${WORK}/p.s "${text}")
run_ok(o ${NS} asm ${WORK}/p.s -o ${WORK}/p.bin)
file(SHA256 ${WORK}/bundle/program.bin a)
file(SHA256 ${WORK}/p.bin b)
if(NOT a STREQUAL b)
  message(FATAL_ERROR "asm(disasm(program)) differs from the program")
endif()
# A corrupt program is refused with its name.
file(WRITE ${WORK}/bad.bin "NTRPROG")
execute_process(COMMAND ${NS} disasm ${WORK}/bad.bin RESULT_VARIABLE rv ERROR_VARIABLE e)
if(rv EQUAL 0 OR NOT e MATCHES "truncated program file")
  message(FATAL_ERROR "expected a truncated-file error, got (${rv}):\n${e}")
endif()
message(STATUS "compiler CLI checks passed")
