#!/usr/bin/env bash
# `make bench`: runs every benchmark the project has and prints its figures.
set -euo pipefail
build=${1:?usage: bench.sh BUILD_DIR}
ran=0
for b in "$build"/bench/*; do
  [ -x "$b" ] || continue
  echo "== $(basename "$b")"
  "$b"
  ran=1
done
[ $ran = 1 ] || echo "bench: no benchmarks built yet"
