#!/usr/bin/env bash
# `make traces`: traces the workload suite (configs/workloads.yaml) into the trace cache,
# several workloads at a time, skipping those whose trace is up to date (docs/tracer.md).
#
#   scripts/traces.sh NEUROSCALAR_BINARY [WORKLOAD...]
#
# Environment:
#   NS_TRACE_DIR   the trace cache (default build/traces): NAME.nstrace, inputs in work/NAME/
#   NS_WORKLOADS   the suite (default configs/workloads.yaml)
#   NS_JOBS        workloads traced in parallel (default: the number of cores)
set -euo pipefail
ns=${1:?usage: traces.sh NEUROSCALAR_BINARY [WORKLOAD...]}
shift
export NS_TRACE_DIR=${NS_TRACE_DIR:-build/traces}
suite=${NS_WORKLOADS:-configs/workloads.yaml}
jobs=${NS_JOBS:-$(nproc)}

if [ $# -gt 0 ]; then
  names=("$@")
else
  list=$("$ns" trace --list-workloads --workloads "$suite")
  mapfile -t names <<< "$list"
fi
if [ ${#names[@]} -eq 0 ] || [ -z "${names[0]}" ]; then
  echo "traces: no workloads in $suite" >&2
  exit 1
fi
mkdir -p "$NS_TRACE_DIR"
echo "traces: ${#names[@]} workloads into $NS_TRACE_DIR, $jobs at a time"
start=$(date +%s)
status=0
printf '%s\n' "${names[@]}" |
  xargs -P "$jobs" -I{} "$ns" trace -q --workload {} --workloads "$suite" || status=$?
elapsed=$(( $(date +%s) - start ))
shopt -s nullglob
traces=("$NS_TRACE_DIR"/*.nstrace)
echo "traces: ${#traces[@]} traces in $NS_TRACE_DIR ($(du -ch "${traces[@]}" /dev/null | tail -n 1 | cut -f 1)) after ${elapsed} s"
if [ $status -ne 0 ]; then
  echo "traces: some workloads failed (errors above)" >&2
  exit 1
fi
