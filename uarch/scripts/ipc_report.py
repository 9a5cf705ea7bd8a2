#!/usr/bin/python3
"""IPC of every labelled workload on every core design, from a dataset written by `make dataset`.

Prints a Markdown table (IPC per design, each design's speedup over 8w, and the 8w miss rates
that explain the differences) and optionally draws a grouped bar chart of the speedups.

    python3 uarch/scripts/ipc_report.py build/dataset/manifest.json [--png ipc.png]
"""
import argparse
import json
import os
import sys


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("manifest", help="dataset manifest.json (docs/dataset.md)")
    ap.add_argument("--png", help="write a bar chart of IPC relative to the first design")
    args = ap.parse_args()
    try:
        with open(args.manifest, encoding="utf-8") as f:
            manifest = json.load(f)
        designs = manifest["configs"]
        programs = manifest["programs"]
    except (OSError, ValueError, KeyError) as e:
        print(f"ipc_report: {args.manifest}: {e}", file=sys.stderr)
        return 1
    root = os.path.dirname(os.path.abspath(args.manifest))
    base = designs[0]

    rows = []
    for p in sorted(programs, key=lambda p: p["name"]):
        totals = {}
        shard = os.path.join(root, p["name"], "shard.json")
        if os.path.exists(shard):
            with open(shard, encoding="utf-8") as f:
                totals = json.load(f).get("totals", {})
        rows.append((p, totals.get(base, {})))

    head = ["workload", "split", "instructions"] + designs + [f"{d}/{base}" for d in designs[1:]]
    head += [f"{base} branch MPKI", f"{base} L1D MPKI", f"{base} L2 MPKI", f"{base} L1I MPKI"]
    print("| " + " | ".join(head) + " |")
    print("|" + "|".join(["---"] + ["---:"] * (len(head) - 1)) + "|")
    for p, t in rows:
        ipc = p["ipc"]
        cells = [p["name"], p["split"], f"{p['instructions']:,}"]
        cells += [f"{ipc[d]:.3f}" for d in designs]
        cells += [f"{ipc[d] / ipc[base]:.3f}" if ipc[base] else "-" for d in designs[1:]]
        cells += [f"{t.get(k, float('nan')):.1f}"
                  for k in ("branch_mpki", "l1d_mpki", "l2_mpki", "l1i_mpki")]
        print("| " + " | ".join(cells) + " |")

    # Per-instruction comparison with the first design (the paper's Table 6 reading): the share
    # of instructions whose label differs, and whose label is lower (it retires sooner after
    # its predecessor), per design.
    try:
        import numpy as np
    except ImportError:
        np = None
    if np is not None:
        print()
        head = ["workload"] + [f"{d} vs {base}: differ / lower" for d in designs[1:]]
        head += [f"{base} labels = 0", f"{base} mean label", f"{base} p99 label"]
        print("| " + " | ".join(head) + " |")
        print("|" + "|".join(["---"] + ["---:"] * (len(head) - 1)) + "|")
        for p, _ in rows:
            path = os.path.join(root, p["name"], "labels.u32")
            n = p["instructions"]
            if not os.path.exists(path) or os.path.getsize(path) != 4 * n * len(designs):
                continue
            lab = np.fromfile(path, dtype="<u4").reshape(n, len(designs))
            b = lab[:, 0]
            cells = [p["name"]]
            cells += [f"{(lab[:, j] != b).mean():.1%} / {(lab[:, j] < b).mean():.1%}"
                      for j in range(1, len(designs))]
            cells += [f"{(b == 0).mean():.1%}", f"{b.mean():.2f}", f"{int(np.percentile(b, 99))}"]
            print("| " + " | ".join(cells) + " |")

    if args.png:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        names = [p["name"] for p, _ in rows]
        xs = range(len(names))
        fig, (top, bottom) = plt.subplots(2, 1, figsize=(max(8, 0.6 * len(names) + 3), 7.5),
                                          sharex=True)
        width = 0.8 / len(designs)
        for i, d in enumerate(designs):
            off = (i - (len(designs) - 1) / 2) * width
            top.bar([x + off for x in xs], [p["ipc"][d] for p, _ in rows], width, label=d)
            if i:
                bottom.bar([x + off for x in xs],
                           [p["ipc"][d] / p["ipc"][base] if p["ipc"][base] else 0
                            for p, _ in rows], width, label=d, color=f"C{i}")
        top.set_ylabel("IPC")
        top.set_title("Reference core: IPC per workload and design")
        top.legend(ncol=len(designs), fontsize=8)
        bottom.axhline(1.0, color="black", linewidth=0.8)
        bottom.set_ylabel(f"IPC relative to {base}")
        lo = min(p["ipc"][d] / p["ipc"][base] for p, _ in rows for d in designs if p["ipc"][base])
        hi = max(p["ipc"][d] / p["ipc"][base] for p, _ in rows for d in designs if p["ipc"][base])
        bottom.set_ylim(min(0.95, lo - 0.05), max(1.05, hi + 0.05))
        bottom.set_xticks(list(xs))
        bottom.set_xticklabels(names, rotation=35, ha="right")
        for ax in (top, bottom):
            ax.grid(axis="y", linewidth=0.3)
        fig.tight_layout()
        fig.savefig(args.png, dpi=110)
    return 0


if __name__ == "__main__":
    sys.exit(main())
