#!/usr/bin/python3
"""Tables and plots of `make ppa` (docs/ppa.md, docs/results/ppa.md).

    ppa_report.py --sweep ppa.json [--study DIR] [--accuracy study.json ...] --out DIR

--sweep     the JSON array of `neuroscalar ppa --json` (one object per tile count)
--study     a folder of such arrays, one per model variant and window (the design-space study)
--accuracy  model/train `study` results (study.json: runs with variant, length, target and
            validation metrics, and held-out metrics when the study had --heldout); a study
            point takes the accuracy of the run with its variant and window, held-out where the
            run has it
Writes report.md (Markdown tables), study.csv and area.png, power.png, throughput.png,
pareto.png into --out.
"""
import argparse
import csv
import glob
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def fmt(x, spec):
    return "-" if x is None else format(x, spec)


def sweep_tables(rows):
    out = ["| tiles | area mm² (paper) | tiles' area mm² (paper) | power mW (paper) | instr/s (paper) | "
           "energy nJ/instr (paper) | sampling 1/N (paper) | MAC util. |",
           "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        g = r.get
        out.append(f"| {r['tiles']} | {r['area_mm2']:.3f} ({fmt(g('paper_area_mm2'), '.2f')}) | "
                   f"{r['tile_area_mm2']:.3f} ({fmt(g('paper_tile_area_mm2'), '.2f')}) | "
                   f"{r['power_mw']:.1f} ({fmt(g('paper_power_mw'), '.0f')}) | "
                   f"{r['instr_per_s']:,.0f} ({fmt(g('paper_instr_per_s'), ',.0f')}) | "
                   f"{r['energy_per_instr_nj']:,.0f} ({fmt(g('paper_energy_per_instr_nj'), ',.0f')}) | "
                   f"{r['sampling_interval_epochs']:,.0f} ({fmt(g('paper_sampling_interval_epochs'), ',.0f')}) | "
                   f"{100 * r['mac_utilization']:.2f}% |")
    groups = sorted({k for r in rows for k in r["power_breakdown_mw"]})
    out += ["", "Power by component, mW:", "", "| tiles | " + " | ".join(groups) + " | total |",
            "|---" * (len(groups) + 2) + "|"]
    for r in rows:
        b = r["power_breakdown_mw"]
        out.append(f"| {r['tiles']} | " + " | ".join(f"{b.get(k, 0):.2f}" for k in groups) +
                   f" | {r['power_mw']:.1f} |")
    out += ["", "Area, mm²:", "", "| tiles | one tile: logic | one tile: SRAM | shared logic | global SRAM | total |",
            "|---|---|---|---|---|---|"]
    for r in rows:
        a = r["area"]
        out.append(f"| {r['tiles']} | {a['one_tile']['logic_mm2']:.4f} | {a['one_tile']['sram_mm2']:.4f} | "
                   f"{a['shared']['logic_mm2']:.4f} | {a['shared']['sram_mm2']:.4f} | {r['area_mm2']:.3f} |")
    first = rows[0]
    out += ["", f"Buffers ({first['accel']}):", "",
            "| buffer | per | KiB | banks | ports | macro rows x cols (mux) | macros/bank | mm² | efficiency | "
            "read pJ | write pJ | leakage µW |", "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for b in first["area"]["buffers"]:
        o = b["organisation"]
        out.append(f"| {b['name']} | {'tile' if b['per_tile'] else 'chip'} | {b['bytes'] / 1024:g} | {b['banks']} | "
                   f"{b['ports']} | {o['rows']} x {o['cols']} ({o['mux']}) | {o['macros_per_bank']} | "
                   f"{b['area_mm2']:.4f} | {100 * b['efficiency']:.0f}% | {b['read_pj']:.2f} | "
                   f"{b['write_pj']:.2f} | {b['leakage_uw']:.1f} |")
    return "\n".join(out)


def plots(rows, out):
    tiles = [r["tiles"] for r in rows]
    paper = [r for r in rows if "paper_area_mm2" in r]

    def finish(ax, name, ylabel, log=False):
        ax.set_xlabel("tiles")
        ax.set_ylabel(ylabel)
        ax.set_xscale("log", base=2)
        ax.set_xticks(tiles, [str(t) for t in tiles])
        if log:
            ax.set_yscale("log")
        ax.grid(True, alpha=0.3)
        ax.legend()
        ax.figure.tight_layout()
        ax.figure.savefig(os.path.join(out, name), dpi=110)
        plt.close(ax.figure)

    _, ax = plt.subplots(figsize=(6, 4))
    ax.plot(tiles, [r["area_mm2"] for r in rows], "o-", label="total (ours)")
    ax.plot(tiles, [r["tile_area_mm2"] for r in rows], "s-", label="tiles (ours)")
    ax.plot(tiles, [r["shared_area_mm2"] for r in rows], "^-", label="shared: global buffers + control (ours)")
    ax.plot([r["tiles"] for r in paper], [r["paper_area_mm2"] for r in paper], "o", mfc="none", ms=11,
            label="total (paper)")
    ax.plot([r["tiles"] for r in paper], [r["paper_tile_area_mm2"] for r in paper], "s", mfc="none", ms=11,
            label="tiles (paper)")
    ax.set_title("Area, 16 nm")
    finish(ax, "area.png", "mm²")

    _, ax = plt.subplots(figsize=(6, 4))
    groups = sorted({k for r in rows for k in r["power_breakdown_mw"]})
    bottom = [0.0] * len(rows)
    for g in groups:
        vals = [r["power_breakdown_mw"].get(g, 0) for r in rows]
        ax.bar([str(t) for t in tiles], vals, bottom=bottom, label=g)
        bottom = [b + v for b, v in zip(bottom, vals)]
    ax.plot([str(r["tiles"]) for r in paper], [r["paper_power_mw"] for r in paper], "k*", ms=12, label="paper")
    ax.set_xlabel("tiles")
    ax.set_ylabel("mW")
    ax.set_title(f"Power at {rows[0]['clock_mhz']:.0f} MHz")
    ax.legend(fontsize=8)
    ax.grid(True, axis="y", alpha=0.3)
    ax.figure.tight_layout()
    ax.figure.savefig(os.path.join(out, "power.png"), dpi=110)
    plt.close(ax.figure)

    _, ax = plt.subplots(figsize=(6, 4))
    ax.plot(tiles, [r["instr_per_s"] for r in rows], "o-", label=f"ours ({rows[0]['clock_mhz']:.0f} MHz)")
    ax.plot([r["tiles"] for r in paper], [r["paper_instr_per_s"] for r in paper], "k*", ms=12, label="paper")
    ax.set_title("Predicted instructions per second")
    finish(ax, "throughput.png", "instructions/s", log=True)


def accuracy_index(paths):
    idx = {}
    for p in paths:
        for run in load(p):
            if run.get("designs"):
                continue  # one model per design: not the five-head model the accelerator runs
            kind = "heldout" if run.get("heldout") else "validation"
            v = run.get(kind) or {}
            idx[(run["variant"], int(run["length"]), int(run["target"]))] = {
                "exact": v.get("exact"), "within1": v.get("within1"), "cpi_error": v.get("cpi_error"),
                "source": os.path.relpath(p), "kind": kind}
    return idx


def pareto(points, cost, gain):
    """Indices of points not dominated in (lower cost, higher gain)."""
    front = []
    for i, p in enumerate(points):
        if p[gain] is None:
            continue
        if not any(q[gain] is not None and q[cost] <= p[cost] and q[gain] >= p[gain] and
                   (q[cost] < p[cost] or q[gain] > p[gain]) for q in points):
            front.append(i)
    return front


def study(study_dir, acc_paths, out):
    points = []
    for path in sorted(glob.glob(os.path.join(study_dir, "*.json"))):
        for r in load(path):
            length, target = (int(x) for x in r["window"].split(","))
            a = accuracy_index(acc_paths).get((r["model"], length, target), {})
            points.append({"model": r["model"], "window": r["window"], "tiles": r["tiles"],
                           "instr_per_s": r["instr_per_s"], "power_mw": r["power_mw"],
                           "energy_per_instr_nj": r["energy_per_instr_nj"], "area_mm2": r["area_mm2"],
                           "mac_utilization": r["mac_utilization"], "exact": a.get("exact"),
                           "within1": a.get("within1"), "cpi_error": a.get("cpi_error"),
                           "accuracy_source": a.get("source"), "accuracy_kind": a.get("kind")})
    if not points:
        return ""
    keys = list(points[0].keys())
    with open(os.path.join(out, "study.csv"), "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=keys)
        w.writeheader()
        w.writerows(points)
    lines = ["| model | window L,T | tiles | instr/s | power mW | nJ/instr | area mm² | MAC util. | exact | ±1 | "
             "CPI error | front |", "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    fronts = {}
    for t in sorted({p["tiles"] for p in points}):
        sub = [p for p in points if p["tiles"] == t]
        fronts[t] = {id(sub[i]) for i in pareto(sub, "energy_per_instr_nj", "exact")}
    for p in sorted(points, key=lambda p: (p["tiles"], p["model"], p["window"])):
        pct = lambda x: "-" if x is None else f"{100 * x:.1f}%"  # noqa: E731
        lines.append(f"| {p['model']} | {p['window']} | {p['tiles']} | {p['instr_per_s']:,.0f} | "
                     f"{p['power_mw']:.1f} | {p['energy_per_instr_nj']:,.0f} | {p['area_mm2']:.3f} | "
                     f"{100 * p['mac_utilization']:.1f}% | {pct(p['exact'])} | {pct(p['within1'])} | "
                     f"{pct(p['cpi_error'])} | {'yes' if id(p) in fronts[p['tiles']] else ''} |")

    one = [p for p in points if p["tiles"] == min(q["tiles"] for q in points)]
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    have_acc = any(p["exact"] is not None for p in one)
    for m in sorted({p["model"] for p in one}):
        sub = [p for p in one if p["model"] == m]
        ys = [100 * p["exact"] if have_acc and p["exact"] is not None else p["instr_per_s"] for p in sub]
        ax.plot([p["energy_per_instr_nj"] for p in sub], ys, "o", label=m)
        for p, y in zip(sub, ys):
            ax.annotate(p["window"], (p["energy_per_instr_nj"], y), fontsize=7, xytext=(3, 3),
                        textcoords="offset points")
    if have_acc:
        fr = sorted((p for p in one if id(p) in fronts[one[0]["tiles"]]), key=lambda p: p["energy_per_instr_nj"])
        ax.plot([p["energy_per_instr_nj"] for p in fr], [100 * p["exact"] for p in fr], "k--", lw=1,
                label="Pareto front")
        kinds = sorted({p["accuracy_kind"] for p in one if p["accuracy_kind"]})
        ax.set_ylabel(f"exact after rounding ({', '.join(kinds)}), %")
    else:
        ax.set_ylabel("predicted instructions/s")
        ax.set_yscale("log")
    ax.set_xscale("log")
    ax.set_xlabel("energy per predicted instruction, nJ")
    ax.set_title(f"Design space, {one[0]['tiles']} tile(s)")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(os.path.join(out, "pareto.png"), dpi=110)
    plt.close(fig)
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sweep", required=True)
    ap.add_argument("--study")
    ap.add_argument("--accuracy", nargs="*", default=[])
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    rows = load(a.sweep)
    if not isinstance(rows, list) or not rows:
        sys.exit(f"{a.sweep}: expected a non-empty JSON array of sweep points")
    text = [f"# PPA sweep: {rows[0]['model']} (window {rows[0]['window']}), {rows[0]['epoch']}, "
            f"{rows[0]['clock_mhz']:.0f} MHz, technology {rows[0]['technology']}", "", sweep_tables(rows)]
    plots(rows, a.out)
    if a.study:
        s = study(a.study, a.accuracy, a.out)
        if s:
            text += ["", "# Design-space study", "", s]
    with open(os.path.join(a.out, "report.md"), "w", encoding="utf-8") as f:
        f.write("\n".join(text) + "\n")
    print(f"ppa_report: wrote {a.out}/report.md and plots", file=sys.stderr)


if __name__ == "__main__":
    main()
