#!/usr/bin/env bash
# Why the Table 4 "rob" design behaves as it does: IPC of 8w, rob, and rob with the LQ/SQ (and
# IQ) enlarged too, per workload, as a Markdown table (docs/results/uarch.md).
#
#   uarch/scripts/design_study.sh NEUROSCALAR_BINARY [TRACE_DIR] [EPOCHS]
set -euo pipefail
ns=${1:?usage: design_study.sh NEUROSCALAR_BINARY [TRACE_DIR] [EPOCHS]}
dir=${2:-build/traces}
epochs=${3:-4}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
base=$(realpath configs/cpu/base.yaml)
cat > "$tmp/rob-lsq64.yaml" <<YAML
include: $base
name: rob+lsq64
pipeline: {rob: 384, lq: 64, sq: 64, phys_regs: {int: 512, float: 512}}
YAML
cat > "$tmp/rob-lsq64-iq128.yaml" <<YAML
include: $base
name: rob+lsq64+iq128
pipeline: {rob: 384, iq: 128, lq: 64, sq: 64, phys_regs: {int: 512, float: 512}}
YAML
designs=(configs/cpu/8w.yaml configs/cpu/rob.yaml "$tmp/rob-lsq64.yaml" "$tmp/rob-lsq64-iq128.yaml")
args=()
for d in "${designs[@]}"; do args+=(--cpu "$d"); done
echo "| workload | 8w | rob | rob + LQ/SQ 64 | rob + LQ/SQ 64 + IQ 128 |"
echo "|---|---:|---:|---:|---:|"
for t in "$dir"/*.nstrace; do
  "$ns" label -q --json --epochs "$epochs" "${args[@]}" "$t" |
    /usr/bin/python3 -c '
import json, sys
j = json.load(sys.stdin)
ipc = [c["ipc"] for c in j["configs"]]
name = sys.argv[1]
print(f"| {name} | " + " | ".join(f"{x:.3f}" for x in ipc) + " |")' "$(basename "$t" .nstrace)"
done
