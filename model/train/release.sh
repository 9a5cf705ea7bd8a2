#!/usr/bin/env bash
# From a trained FP32 package to a shipped model and its held-out figures:
# calibrate (validation programs) -> quantise (training programs) -> evaluate FP32 and INT8 on
# the test programs with `neuroscalar eval` -> Markdown report -> compile for Neutrino.
#
#   model/train/release.sh NEUROSCALAR TRAINED_PACKAGE DATASET OUT [REPORT_DIR]
#
# writes OUT (calibrated FP32 package) and OUT-int8 (INT8 package); REPORT_DIR (default
# build/release-report/<basename OUT>) gets fp32.json, int8.json, report.md, calibration.json,
# quantize.json and the compile reports. Environment:
#   NS_MAX_ERROR      calibration: aggregate cycle error allowed (default 0.02; "none": no calibration)
#   NS_CAL_WINDOWS    calibration: validation windows searched (default 4096)
#   NS_CAL_ARGS       further calibrate options (e.g. "--per-regime --max-long-shift 1.0 --max-logit-shift 3.0")
#   NS_EVAL_EPOCHS    first K epochs of each test program (default 0: all)
#   NS_WIDE           space-separated features given 2 device bytes by the quantiser (default none)
#   NS_CALIB_WINDOWS  quantiser calibration windows (default 256)
#   NS_THREADS        host threads of the C++ commands (default 0: all)
set -euo pipefail
ns=${1:?usage: release.sh NEUROSCALAR TRAINED_PACKAGE DATASET OUT [REPORT_DIR]}
trained=${2:?trained package}
dataset=${3:?dataset}
out=${4:?output package}
rep=${5:-build/release-report/$(basename "$out")}
py=/usr/bin/python3
threads=${NS_THREADS:-0}
mkdir -p "$rep"

if [ "${NS_MAX_ERROR:-0.02}" = none ]; then
  rm -rf "$out" && mkdir -p "$out" && cp "$trained/model.yaml" "$trained/model.safetensors" "$out/"
else
  $py -m model.train calibrate --package "$trained" --dataset "$dataset" --out "$out" \
    --max-error "${NS_MAX_ERROR:-0.02}" --windows "${NS_CAL_WINDOWS:-4096}" ${NS_CAL_ARGS:-} > "$rep/calibration.json"
fi

wide=()
for f in ${NS_WIDE:-}; do wide+=(--wide-feature "$f"); done
"$ns" quantize --model "$out" --calib "$dataset" --split train -o "$out-int8" --json --quiet \
  --calib-windows "${NS_CALIB_WINDOWS:-256}" --threads "$threads" "${wide[@]}" > "$rep/quantize.json"

for b in fp32 int8; do
  pkg=$out; [ $b = int8 ] && pkg=$out-int8
  echo "release: evaluating $pkg ($b) on the test programs" >&2
  "$ns" eval --model "$pkg" --backend $b --shards "$dataset" --split test --epochs "${NS_EVAL_EPOCHS:-0}" \
    --threads "$threads" --json > "$rep/$b.json"
done
$py -m model.train report "$rep/fp32.json" --int8 "$rep/int8.json" > "$rep/report.md"

for a in neutrino-1t neutrino-8t; do
  if "$ns" compile --model "$out-int8" --accel "configs/accel/$a.yaml" --report > "$rep/compile-$a.txt" 2>&1; then
    echo "release: compiles for $a" >&2
  else
    echo "release: does not compile for $a (see $rep/compile-$a.txt)" >&2
  fi
done
echo "release: $out, $out-int8; figures in $rep/report.md" >&2
