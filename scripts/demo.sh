#!/usr/bin/env bash
# `make demo`: the main job. Traces a real program and prints the trace summary.
set -euo pipefail
ns=${1:?usage: demo.sh NEUROSCALAR_BINARY}
out=build/demo
mkdir -p "$out"
if ! "$ns" trace --help >/dev/null 2>&1; then
  echo "demo: the tracer is not built yet"; exit 1
fi
head -c 4000000 /dev/urandom | base64 > "$out/input.txt"
"$ns" trace -o "$out/xz.nstrace" --skip 1000000 --epoch 100000 --epochs 3 -- xz -9 -c "$out/input.txt"
"$ns" trace-info "$out/xz.nstrace"
