"""Markdown tables for docs/results/model.md from `eval` JSON files (per-program metrics as in
the paper's appendix, program CPI error per design, design ranking, INT8 beside FP32)."""
from __future__ import annotations

import json

import numpy as np

COLS = (("rel5", "rel5%", 100), ("rae", "RAE", 1), ("mae", "MAE", 1), ("rmse", "RMSE", 1),
        ("exact", "exact", 100), ("within1", "±1", 100), ("within2", "±2", 100))


def load(path: str) -> dict:
    """An eval JSON of `python3 -m model.train eval` or of `neuroscalar eval --json` (C++: a list
    of programs, ranking under 'epochs'), in the Python layout."""
    with open(path, encoding="utf-8") as f:
        ev = json.load(f)
    if isinstance(ev.get("programs"), list):
        progs = {}
        for p in ev["programs"]:
            q = {k: v for k, v in p.items() if k not in ("program", "ranking")}
            ep = (p.get("ranking") or {}).get("epochs")
            if ep:
                q["ranking"] = {"epoch_kendall_tau": ep["kendall_tau"], "epoch_best_design_picked": ep["best_match"]}
            progs[p["program"]] = q
        ev = {**ev, "programs": progs}
        ev.setdefault("window", None)
    return ev


def _fmt(v: float, scale: float) -> str:
    return f"{v * scale:.1f}%" if scale == 100 else f"{v:.3f}"


def per_program(ev: dict, design: str | None = None) -> str:
    """One row per program: metrics of one design, or averaged over the designs."""
    rows = ["| program | instructions | " + " | ".join(c[1] for c in COLS) + " |",
            "|---|---|" + "---|" * len(COLS)]
    agg = {k: [] for k, _, _ in COLS}
    for name, p in ev["programs"].items():
        ds = [p["designs"][design]] if design else list(p["designs"].values())
        vals = {k: float(np.mean([d[k] for d in ds])) for k, _, _ in COLS}
        for k in agg:
            agg[k].append(vals[k])
        rows.append(f"| {name} | {p['instructions']:,} | " +
                    " | ".join(_fmt(vals[k], s) for k, _, s in COLS) + " |")
    rows.append("| **mean** | | " + " | ".join(_fmt(float(np.mean(agg[k])), s) for k, _, s in COLS) + " |")
    return "\n".join(rows)


def cpi_table(ev: dict) -> str:
    designs = ev["designs"]
    rows = ["| program | " + " | ".join(designs) + " | best design picked (epochs) | Kendall τ (epochs) |",
            "|---|" + "---|" * (len(designs) + 2)]
    errs = {d: [] for d in designs}
    for name, p in ev["programs"].items():
        cells = []
        for d in designs:
            e = p["designs"][d]["cpi_error"]
            errs[d].append(e)
            cells.append(f"{100 * e:.2f}%")
        rk = p.get("ranking")
        rank = (f"{100 * rk['epoch_best_design_picked']:.0f}% | {rk['epoch_kendall_tau']:.2f}" if rk
                else "– | –")
        rows.append(f"| {name} | " + " | ".join(cells) + f" | {rank} |")
    rows.append("| **mean** | " + " | ".join(f"{100 * np.mean(errs[d]):.2f}%" for d in designs) + " | | |")
    return "\n".join(rows)


def side_by_side(fp32: dict, int8: dict) -> str:
    """Per program, mean over designs: exact and CPI error of FP32 vs INT8."""
    rows = ["| program | exact FP32 | exact INT8 | Δ (points) | CPI err FP32 | CPI err INT8 | Δ (points) |",
            "|---|---|---|---|---|---|---|"]
    acc = []
    for name, p in fp32["programs"].items():
        q = int8["programs"].get(name)
        if q is None:
            continue
        ef = np.mean([d["exact"] for d in p["designs"].values()])
        eq = np.mean([d["exact"] for d in q["designs"].values()])
        cf = np.mean([d["cpi_error"] for d in p["designs"].values()])
        cq = np.mean([d["cpi_error"] for d in q["designs"].values()])
        acc.append((ef, eq, cf, cq))
        rows.append(f"| {name} | {100 * ef:.2f}% | {100 * eq:.2f}% | {100 * (eq - ef):+.2f} | "
                    f"{100 * cf:.2f}% | {100 * cq:.2f}% | {100 * (cq - cf):+.2f} |")
    if acc:
        m = np.mean(acc, axis=0)
        rows.append(f"| **mean** | {100 * m[0]:.2f}% | {100 * m[1]:.2f}% | {100 * (m[1] - m[0]):+.2f} | "
                    f"{100 * m[2]:.2f}% | {100 * m[3]:.2f}% | {100 * (m[3] - m[2]):+.2f} |")
    return "\n".join(rows)


def design_summary(fp32: dict, int8: dict | None = None) -> str:
    """Per design, means over the programs: exact, within ±1, program CPI error (INT8 beside FP32)."""
    def means(ev, d):
        ps = [p["designs"][d] for p in ev["programs"].values()]
        return [float(np.mean([p[k] for p in ps])) for k in ("exact", "within1", "cpi_error")]
    heads = ["exact", "±1", "CPI error"]
    if int8:
        rows = ["| design | " + " | ".join(f"{h} FP32 | {h} INT8" for h in heads) + " |",
                "|---|" + "---|" * 6]
    else:
        rows = ["| design | " + " | ".join(heads) + " |", "|---|---|---|---|"]
    cols = []
    for d in fp32["designs"]:
        f = means(fp32, d)
        q = means(int8, d) if int8 else None
        cols.append(f + (q or []))
        cells = [f"{100 * f[i]:.2f}%" + (f" | {100 * q[i]:.2f}%" if q else "") for i in range(3)]
        rows.append(f"| {d} | " + " | ".join(cells) + " |")
    m = np.mean(cols, axis=0)
    cells = [f"{100 * m[i]:.2f}%" + (f" | {100 * m[3 + i]:.2f}%" if int8 else "") for i in range(3)]
    rows.append("| **mean** | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def design_metrics(evs: dict[str, dict]) -> str:
    """Per design and backend, means over the programs: every per-instruction metric and the
    program CPI error (evs: backend label -> eval)."""
    keys = COLS + (("cpi_error", "CPI error", 100),)
    rows = ["| design | backend | " + " | ".join(c[1] for c in keys) + " |", "|---|---|" + "---|" * len(keys)]
    first = next(iter(evs.values()))
    for d in first["designs"] + ["mean"]:
        for label, ev in evs.items():
            ds = first["designs"] if d == "mean" else [d]
            vals = [float(np.mean([p["designs"][x][k] for p in ev["programs"].values() for x in ds]))
                    for k, _, _ in keys]
            name = "**mean**" if d == "mean" else d
            rows.append(f"| {name} | {label} | " + " | ".join(_fmt(v, c[2]) for v, c in zip(vals, keys)) + " |")
    return "\n".join(rows)


def render(fp32_path: str, int8_path: str | None = None) -> str:
    ev = load(fp32_path)
    win = f" (window {ev['window'][0]}/{ev['window'][1]})" if ev.get("window") else ""
    q = load(int8_path) if int8_path else None
    out = [f"### {ev['variant']}{win}: per design, mean over programs" + (" (FP32, INT8)" if q else ""),
           "", design_summary(ev, q), "",
           f"### {ev['variant']}{win}: per program, mean over designs", "", per_program(ev), ""]
    for d in ev["designs"]:
        out += [f"#### design {d}", "", per_program(ev, d), ""]
    out += ["### Program CPI error per design", "", cpi_table(ev), ""]
    if q:
        out += ["### INT8 vs FP32", "", side_by_side(ev, q), "",
                "### Every metric per design, FP32 and INT8 (means over programs)", "",
                design_metrics({"FP32": ev, "INT8": q}), "",
                "### INT8: per program, mean over designs", "", per_program(q), ""]
    return "\n".join(out)
