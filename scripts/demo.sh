#!/usr/bin/env bash
# `make demo`: the main job, an A/B test of the five candidate core designs on a real program.
#  1. trace xz compressing generated text with the QEMU tracer: three epochs of 100,000
#     instructions spread over its run; print the trace summary;
#  2. run the reference out-of-order core model on every design (the slow, exact answer);
#  3. predict the same epochs with the shipped INT8 NeuroScalar model on the host (bit-exact
#     INT8 reference) and compare: IPC per design and the designs' speed-up over 8w;
#  4. run one epoch on Neutrino's cycle-level simulator: its predictions must equal the host's
#     bit for bit, and it reports the accelerator's cycles.
# NS_DEMO_MODEL picks another INT8 package.
set -euo pipefail
ns=${1:?usage: demo.sh NEUROSCALAR_BINARY}
model=${NS_DEMO_MODEL:-data/models/paper-bi-tied-l128-int8}
designs=(8w 6w+ls rob lsq 4w+mem)
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

echo
echo "== reference core model (uarch) on ${designs[*]}"
cpu_args=()
for d in "${designs[@]}"; do cpu_args+=(--cpu "configs/cpu/$d.yaml"); done
"$ns" label -q "${cpu_args[@]}" "$out/xz.nstrace" -o "$out/xz.labels" --json > "$out/reference.json"

echo "== NeuroScalar model $model, INT8 on the host"
"$ns" predict --quiet --model "$model" --backend int8 --json "$out/xz.nstrace" > "$out/predicted.json"

echo "== the same model on Neutrino (csim, first epoch)"
"$ns" predict --quiet --model "$model" --backend int8 --epochs 1 \
  --dump-latencies "$out/host.u32" "$out/xz.nstrace" > /dev/null
"$ns" predict --quiet --model "$model" --backend neutrino-sim --epochs 1 --json \
  --dump-latencies "$out/neutrino.u32" "$out/xz.nstrace" > "$out/neutrino.json"
if cmp -s "$out/host.u32" "$out/neutrino.u32"; then same=yes; else same=no; fi

/usr/bin/python3 - "$out" "$same" <<'PY'
import json, sys
out, same = sys.argv[1], sys.argv[2]
ref = {c["config"]: c for c in json.load(open(f"{out}/reference.json"))["configs"]}
pred = json.load(open(f"{out}/predicted.json"))
sim = json.load(open(f"{out}/neutrino.json"))
ipc = pred["total"]["ipc"]
base = pred["designs"][0]
print(f"\nA/B test on xz, {pred['total']['instructions']:,} instructions "
      f"(model {pred['variant']}, {pred['backend']}):")
print(f"{'design':8} {'IPC ref':>8} {'IPC model':>10} {'error':>7} {'speed-up ref':>13} {'speed-up model':>15}")
for d in pred["designs"]:
    r, m = ref[d]["ipc"], ipc[d]
    print(f"{d:8} {r:8.3f} {m:10.3f} {100 * (m - r) / r:+6.1f}% "
          f"{r / ref[base]['ipc']:13.3f} {m / ipc[base]:15.3f}")
rank_ref = sorted(pred["designs"], key=lambda d: -ref[d]["ipc"])
rank_model = sorted(pred["designs"], key=lambda d: -ipc[d])
print(f"fastest design: reference {rank_ref[0]}, model {rank_model[0]}")
print("(the model's measured accuracy on held-out programs: docs/results/model.md)")
st = sim["epochs"][0]["backend_stats"]
print(f"\nNeutrino ({st['accel']}, {st['tiles']} tile(s)): epoch 0 in {st['device_cycles']:,} cycles "
      f"= {st['device_seconds'] * 1e3:.1f} ms of device time ({st['device_instructions_per_second']:,.0f} "
      f"instructions/s), MAC utilisation {100 * st['mac_utilization']:.1f}%, "
      f"cycles as scheduled: {'yes' if st['matches_schedule'] else 'NO'}; "
      f"predictions bit-exact with the host INT8 reference: {same}")
sys.exit(0 if same == "yes" and st["matches_schedule"] else 1)
PY
