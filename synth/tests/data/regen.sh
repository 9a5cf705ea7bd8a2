#!/usr/bin/env bash
# Regenerates toy_stat.json and toy_srams.rtlil from toy.sv with Yosys (run from this folder).
# ntr_sram is read from the RTL as a black box (-lib), as the flow prices SRAMs by the SRAM model.
set -euo pipefail
yosys -q -p "read_verilog -sv toy.sv; read_verilog -sv -lib ../../../rtl/ntr_sram.sv; chparam -set Tiles 3 ntr_top; hierarchy -check -top ntr_top; synth -top ntr_top; tee -q -o toy_stat.json stat -json -top ntr_top; tee -q -o toy_srams.rtlil dump -m t:ntr_sram"
