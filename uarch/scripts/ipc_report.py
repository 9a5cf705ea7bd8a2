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

    if args.png:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        names = [p["name"] for p, _ in rows]
        fig, ax = plt.subplots(figsize=(max(6, 0.9 * len(names) + 2), 4))
        width = 0.8 / (len(designs) - 1)
        for i, d in enumerate(designs[1:]):
            ys = [p["ipc"][d] / p["ipc"][base] if p["ipc"][base] else 0 for p, _ in rows]
            ax.bar([x + (i - (len(designs) - 2) / 2) * width for x in range(len(names))], ys,
                   width, label=d)
        ax.axhline(1.0, color="black", linewidth=0.8)
        ax.set_xticks(range(len(names)))
        ax.set_xticklabels(names, rotation=30, ha="right")
        ax.set_ylabel(f"IPC relative to {base}")
        ax.set_title("Reference core: IPC of each design relative to " + base)
        ax.legend(ncol=len(designs) - 1, fontsize=8)
        fig.tight_layout()
        fig.savefig(args.png, dpi=120)
    return 0


if __name__ == "__main__":
    sys.exit(main())
