#!/usr/bin/env bash
# `make demo`: the main job. Traces a real program (xz compressing generated text) with the QEMU
# tracer, three epochs of 100,000 instructions spread over its run, and prints the summary.
set -euo pipefail
ns=${1:?usage: demo.sh NEUROSCALAR_BINARY}
out=build/demo
mkdir -p "$out"
# 2 MB of text made here with a fixed seed (no download): the same input, the same trace.
if [ ! -s "$out/input.txt" ]; then
  gawk 'BEGIN {
    srand(1)
    for (w = 0; w < 4000; w++) {
      n = 2 + int(rand() * 10); s = ""
      for (i = 0; i < n; i++) s = s sprintf("%c", 97 + int(rand() * 26))
      word[w] = s
    }
    while (size < 2000000) {
      line = ""
      for (i = 4 + int(rand() * 12); i > 0; i--) line = line word[int(rand() * 4000)] " "
      line = line int(rand() * 100000)
      print line
      size += length(line) + 1
    }
  }' > "$out/input.txt"
fi
"$ns" trace -q -o "$out/xz.nstrace" --skip 20M --warmup 50k --epoch 100k --epochs 3 \
  --interval 300M --stdout /dev/null -- xz -6 -T1 -c "$out/input.txt"
"$ns" trace-info "$out/xz.nstrace"
