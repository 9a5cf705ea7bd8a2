#!/usr/bin/env bash
# The pilot dataset used by model development (docs/results/model.md, "Pilot"): traces the
# programs of model/train/pilot/workloads.yaml, labels them on the five designs, and splits
# each program by epochs: epochs 0-7 train, 8-9 validate (as <program>-late); the programs in
# TEST are kept whole for testing.
#
#   model/train/pilot/make.sh NEUROSCALAR OUT [PROGRAM...]   (default: xz xz-d bzip2 bc sqlite openssl)
#   TEST="xz-d" (default)
set -euo pipefail
ns=${1:?usage: make.sh NEUROSCALAR OUT [PROGRAM...]}
out=${2:?usage: make.sh NEUROSCALAR OUT [PROGRAM...]}
shift 2
programs=("$@")
[ ${#programs[@]} -gt 0 ] || programs=(xz xz-d bzip2 bc sqlite openssl)
here=$(dirname "$0")
cpu=()
for d in 8w 6w+ls rob lsq 4w+mem; do cpu+=(--cpu "configs/cpu/$d.yaml"); done
mkdir -p "$out/traces" "$out/labelled"
for p in "${programs[@]}"; do
  "$ns" trace -q --workloads "$here/workloads.yaml" --workload "$p" --trace-dir "$out/traces"
  "$ns" label -q "${cpu[@]}" --shard "$out/labelled/$p" "$out/traces/$p.nstrace" > /dev/null
done
"$ns" dataset-manifest "$out/labelled" --validation 0 --test 0 > /dev/null
TEST=${TEST:-xz-d} /usr/bin/python3 - "$out/labelled" "$out/pilot" <<'PY'
import json, os, sys
import numpy as np
src, dst = sys.argv[1:3]
test = set(os.environ["TEST"].split())
m = json.load(open(f"{src}/manifest.json"))
C, F = len(m["configs"]), len(m["feature_names"])
progs = []
for p in m["programs"]:
    name = p["name"]
    ep = np.fromfile(f"{src}/{name}/epochs.u64", dtype="<u8").astype(np.int64)
    arrays = {"features.i32": np.fromfile(f"{src}/{name}/features.i32", "<i4").reshape(-1, F),
              "labels.u32": np.fromfile(f"{src}/{name}/labels.u32", "<u4").reshape(-1, C),
              "side.u8": np.fromfile(f"{src}/{name}/side.u8", "u1").reshape(-1, C)}
    E = len(ep) - 1
    parts = ([(name, "test", 0, E)] if name in test else
             [(name, "train", 0, E - 2), (name + "-late", "validation", E - 2, E)])
    for n, split, e0, e1 in parts:
        a, b = ep[e0], ep[e1]
        os.makedirs(f"{dst}/{n}", exist_ok=True)
        for f, arr in arrays.items():
            arr[a:b].tofile(f"{dst}/{n}/{f}")
        (ep[e0:e1 + 1] - a).astype("<u8").tofile(f"{dst}/{n}/epochs.u64")
        progs.append({"name": n, "split": split, "instructions": int(b - a), "epochs": e1 - e0})
m["programs"] = progs
with open(f"{dst}/manifest.json", "w") as f:
    json.dump(m, f, indent=1)
print(f"pilot: {dst}/manifest.json: " + ", ".join(f"{p['name']} ({p['split']})" for p in progs))
PY
