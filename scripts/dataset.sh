#!/usr/bin/env bash
# `make dataset`: labels every traced workload on the five Table 4 core designs and writes the
# training shards and manifest of docs/dataset.md, plus the per-workload IPC report.
#
#   scripts/dataset.sh NEUROSCALAR_BINARY
#
# Environment:
#   NS_TRACE_DIR        traces to label, every *.nstrace in it (default build/traces: `make traces`)
#   NS_DATASET_DIR      output folder (default build/dataset)
#   NS_DATASET_EPOCHS   label at most this many epochs per program (default: all)
#   NS_DATASET_SPLITS   YAML map program -> train|validation|test (default: the dataset_split
#                       pins of configs/workloads.yaml; unpinned programs are split by name hash)
#   NS_JOBS             programs labelled in parallel (default: the number of cores)
#   NS_ENCODING         feature encoding of the shards: paper13 (default), perfvec18,
#                       perfvec18-trace or perfvec12-trace
set -euo pipefail
ns=${1:?usage: dataset.sh NEUROSCALAR_BINARY}
trace_dir=${NS_TRACE_DIR:-build/traces}
out=${NS_DATASET_DIR:-build/dataset}
jobs=${NS_JOBS:-$(nproc)}
designs=(8w 6w+ls rob lsq 4w+mem)

shopt -s nullglob
traces=("$trace_dir"/*.nstrace)
if [ ${#traces[@]} -eq 0 ]; then
  echo "dataset: no traces in $trace_dir (run 'make traces' or set NS_TRACE_DIR)" >&2
  exit 1
fi
mkdir -p "$out"

cpu_args=()
deps=("$ns" configs/cpu/base.yaml)
for d in "${designs[@]}"; do
  cpu_args+=(--cpu "configs/cpu/$d.yaml")
  deps+=("configs/cpu/$d.yaml")
done
label_args=(-q --encoding "${NS_ENCODING:-paper13}" "${cpu_args[@]}")
[ -n "${NS_DATASET_EPOCHS:-}" ] && label_args+=(--epochs "$NS_DATASET_EPOCHS")
# Programs run in parallel with one thread each; a lone program gets every core.
[ "$jobs" -gt 1 ] && [ ${#traces[@]} -gt 1 ] && label_args+=(--threads 1)

# A shard is up to date when its shard.json is newer than the trace, the designs and the binary.
todo=()
for t in "${traces[@]}"; do
  name=$(basename "$t" .nstrace)
  info="$out/$name/shard.json"
  fresh=1
  if [ ! -f "$info" ]; then
    fresh=0
  elif [ "$(/usr/bin/python3 -c 'import json, sys; print(json.load(open(sys.argv[1])).get("encoding"))' \
             "$info" 2>/dev/null)" != "${NS_ENCODING:-paper13}" ]; then
    fresh=0  # labelled with another encoding (or an unreadable shard.json)
  else
    for dep in "$t" "${deps[@]}"; do
      if [ "$dep" -nt "$info" ]; then fresh=0; fi
    done
  fi
  if [ $fresh = 1 ]; then echo "dataset: $name is up to date"; else todo+=("$t"); fi
done

# Shards of programs that are no longer traced would otherwise enter the manifest.
for info in "$out"/*/shard.json; do
  name=$(basename "$(dirname "$info")")
  [ -f "$trace_dir/$name.nstrace" ] || { echo "dataset: removing stale shard $name"; rm -rf "${out:?}/$name"; }
done

if [ ${#todo[@]} -gt 0 ]; then
  echo "dataset: labelling ${#todo[@]} programs on ${designs[*]} ($jobs in parallel)"
  start=$(date +%s)
  printf '%s\n' "${todo[@]}" | xargs -P "$jobs" -I{} sh -c '
    ns=$0 t=$1 out=$2; shift 2
    name=$(basename "$t" .nstrace)
    "$ns" label "$@" --shard "$out/$name" "$t" > /dev/null && echo "dataset: $name labelled"' \
    "$ns" {} "$out" "${label_args[@]}"
  echo "dataset: labelled in $(( $(date +%s) - start )) s"
fi

splits=${NS_DATASET_SPLITS:-}
if [ -z "$splits" ]; then
  splits="$out/splits.yaml"
  "$ns" trace --list-workloads --json | /usr/bin/python3 -c '
import json, sys
pins = {w["name"]: w["dataset_split"] for w in json.load(sys.stdin) if w.get("dataset_split")}
print(json.dumps(pins))' > "$splits"  # JSON is YAML
fi
"$ns" dataset-manifest "$out" --splits "$splits"
/usr/bin/python3 uarch/scripts/ipc_report.py "$out/manifest.json" --png "$out/ipc.png" > "$out/ipc.md"
echo "dataset: IPC per workload and design in $out/ipc.md and $out/ipc.png"
