#!/usr/bin/python3
"""Plots of `neuroscalar eval --png DIR`: reads DIR/eval.json, writes accuracy.png, cpi.png and
ranking.png into DIR. Usage: plot_eval.py EVAL_JSON OUT_DIR"""
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def grouped_bars(ax, groups, series, values, ylabel, title):
    width = 0.8 / max(len(series), 1)
    for s, name in enumerate(series):
        xs = [g + (s - (len(series) - 1) / 2) * width for g in range(len(groups))]
        ax.bar(xs, [values[g][s] for g in range(len(groups))], width, label=name)
    ax.set_xticks(range(len(groups)))
    ax.set_xticklabels(groups, rotation=30, ha="right")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize="small")


def main(path, out):
    with open(path, encoding="utf-8") as f:
        ev = json.load(f)
    designs = ev["designs"]
    progs = ev["programs"] + ([dict(ev["overall"], program="all")] if len(ev["programs"]) > 1 else [])
    names = [p["program"] for p in progs]
    title = f'{ev["variant"]} ({ev["backend"]})'

    fig, axes = plt.subplots(1, 3, figsize=(16, 4.5))
    for ax, key, label in zip(axes, ("exact", "within1", "within2"),
                              ("exact after rounding", "within 1 cycle", "within 2 cycles")):
        grouped_bars(ax, names, designs, [[p["designs"][d][key] for d in designs] for p in progs],
                     "fraction of instructions", f"{title}: {label}")
        ax.set_ylim(0, 1)
    fig.tight_layout()
    fig.savefig(os.path.join(out, "accuracy.png"), dpi=100)

    fig, ax = plt.subplots(figsize=(max(6, 1.2 * len(names) * len(designs) / 2), 4.5))
    series = [f"{d} {w}" for d in designs for w in ("true", "pred")]
    vals = [[p["designs"][d][f"cpi_{w}"] for d in designs for w in ("true", "pred")] for p in progs]
    grouped_bars(ax, names, series, vals, "CPI", f"{title}: CPI, true vs predicted")
    fig.tight_layout()
    fig.savefig(os.path.join(out, "cpi.png"), dpi=100)

    if "ranking" in ev["overall"]:
        fig, axes = plt.subplots(1, 2, figsize=(14, 4.5))
        grouped_bars(axes[0], names, ["Kendall tau", "best match", "full match"],
                     [[p["ranking"]["kendall_tau"], p["ranking"]["best_match"], p["ranking"]["full_match"]]
                      for p in progs], "", f"{title}: ranking across designs")
        pw = ev["overall"]["ranking"]["pairwise"]
        axes[1].bar(range(len(pw)), [x["match"] for x in pw])
        axes[1].set_xticks(range(len(pw)))
        axes[1].set_xticklabels([f'{x["a"]}/{x["b"]}' for x in pw], rotation=30, ha="right")
        axes[1].set_ylim(0, 1)
        axes[1].set_title(f"{title}: pairwise order match (all programs)")
        fig.tight_layout()
        fig.savefig(os.path.join(out, "ranking.png"), dpi=100)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
