#!/usr/bin/env bash
# `make ppa`: Neutrino's area, power, throughput and energy for 1, 2, 4, 8 and 16 tiles beside
# the paper's Table 3, and the design-space study over model variants and windows (docs/ppa.md).
#
#   scripts/ppa.sh NEUROSCALAR_BINARY
#
# Writes into $NS_PPA_OUT (default build/ppa/results): sweep/ppa.{json,csv,md} (the sweep),
# study/*.json (one sweep per variant and window), report.md, study.csv and the PNG plots.
# Yosys runs are cached in the build tree (<build>/synth/runs), so a second run only simulates.
#
# Environment:
#   NS_PPA_OUT       results folder
#   NS_PPA_TRACE     trace whose first epoch is simulated (default: the demo's trace of xz,
#                    made by scripts/demo.sh when missing)
#   NS_PPA_MODEL     model of the sweep (default configs/model/paper-bi-tied.yaml; an INT8
#                    package works too)
#   NS_PPA_WINDOW    its window L,T (default 192,64: paper-bi-tied's 256,64 does not fit the
#                    global input buffer bank of each of 16 tiles, by 3,328 bytes)
#   NS_PPA_TILES     tile counts (default 1,2,4,8,16)
#   NS_PPA_ACCURACY  model/train study results (study.json files, space-separated) that give the
#                    study's points their accuracy (default docs/results/model-study.json: the
#                    same-budget study of docs/results/model.md, held-out figures)
#   NS_PPA_STUDY     0 skips the design-space study
#   NS_PPA_THREADS   host threads per simulated epoch (default: the number of cores)
#   NS_PPA_SYNTH     1: logic synthesised by Yosys at every tile count (hours on a fresh build
#                    tree: 1 tile about 11 minutes and 5.3 GB, the shared logic of 8 tiles
#                    about 11 minutes and 4.5 GB, of 16 tiles about 30 minutes and 8.4 GB;
#                    docs/results/ppa.md);
#                    default 0: areas of the SRAM macros only, no register energy or logic
#                    leakage (minutes)
set -euo pipefail
ns=${1:?usage: ppa.sh NEUROSCALAR_BINARY}
out=${NS_PPA_OUT:-build/ppa/results}
model=${NS_PPA_MODEL:-configs/model/paper-bi-tied.yaml}
window=${NS_PPA_WINDOW:-192,64}
tiles=${NS_PPA_TILES:-1,2,4,8,16}
threads=${NS_PPA_THREADS:-$(nproc)}
trace=${NS_PPA_TRACE:-}
synth=()
[ "${NS_PPA_SYNTH:-0}" = 1 ] || synth=(--no-synth)
if [ -z "$trace" ]; then
  trace=build/demo/xz.nstrace
  [ -s "$trace" ] || scripts/demo.sh "$ns" > /dev/null
fi
mkdir -p "$out/study"
start=$(date +%s)

echo "ppa: sweep of $model (window $window) over $tiles tiles on the first epoch of $trace"
"$ns" ppa --tiles "$tiles" --model "$model" --window "$window" --trace "$trace" \
  --threads "$threads" "${synth[@]}" -o "$out/sweep"

if [ "${NS_PPA_STUDY:-1}" != 0 ]; then
  # Every variant at the windows that compile on every tile count of the study; one run of each
  # epoch simulated and scaled (all runs of an epoch execute the same program).
  # (bi-h128 at 512,128 does not fit 8 tiles' global input buffer banks.)
  for point in paper-uni:512,128 paper-uni:256,128 paper-uni:256,64 paper-uni:192,64 paper-uni:128,64 \
               paper-bi-tied:256,128 paper-bi-tied:256,64 paper-bi-tied:192,64 paper-bi-tied:128,64 \
               bi-h128:384,128 bi-h128:256,128 bi-h128:256,64 bi-h128:192,64 bi-h128:128,64; do
    variant=${point%%:*}
    w=${point#*:}
    f="$out/study/$variant-${w/,/-}.json"
    echo "ppa: study point $variant window $w"
    "$ns" ppa --tiles 1,8 --model "configs/model/$variant.yaml" --window "$w" --trace "$trace" \
      --sample-runs --threads "$threads" "${synth[@]}" --json -q > "$f.tmp" && mv "$f.tmp" "$f"
  done
fi

accuracy=()
for f in ${NS_PPA_ACCURACY-docs/results/model-study.json}; do accuracy+=("$f"); done
/usr/bin/python3 synth/ppa_report.py --sweep "$out/sweep/ppa.json" --study "$out/study" \
  --accuracy "${accuracy[@]}" --out "$out"
echo "ppa: done in $(( $(date +%s) - start )) s; table $out/sweep/ppa.md, report $out/report.md"
cat "$out/sweep/ppa.md"
