"""Small-budget training studies: each run trains one (variant, window, designs) for the same
number of predicted training instructions and reports its validation metrics, wall time and
throughput, so context lengths, variants and head layouts can be compared side by side. With a
held-out dataset every run is also evaluated on the same instructions of its programs, so runs
whose windows differ (and hence their validation samples) are scored on one fixed set."""
from __future__ import annotations

import json
import os
import sys
import time

import numpy as np

from . import config, data, train


def parse_run(spec: str) -> dict:
    """'variant:L:T[:design,design...]' -> run description."""
    parts = spec.split(":")
    if len(parts) not in (3, 4):
        raise ValueError(f"run '{spec}': expected VARIANT:L:T[:DESIGN,...]")
    try:
        L, T = int(parts[1]), int(parts[2])
    except ValueError as e:
        raise ValueError(f"run '{spec}': L and T must be integers") from e
    return {"variant": parts[0], "length": L, "target": T,
            "designs": parts[3].split(",") if len(parts) == 4 else None}


def run_name(variant: str, r: dict, encoding: str = "paper13") -> str:
    d = "" if not r["designs"] else "-" + "+".join(r["designs"])
    e = "" if encoding == "paper13" else f"-{encoding}"
    return f"{variant}-L{r['length']}-T{r['target']}{d}{e}"


HELDOUT_KEYS = ("mae", "exact", "within1", "within2", "cpi_error")


def heldout(package_dir: str, dataset: str, split: str, device: str = "cpu",
            calibration: tuple[data.Dataset, str] | None = None, calibration_targets: int = 65536) -> dict:
    """A package scored on every instruction of a dataset split's programs (evaluate_programs):
    means over programs and designs, per program the means over designs, and per design the
    means over programs. With calibration = (dataset, split), the package is first calibrated
    in memory (calibrate.calibrate, as release.sh does) on seeded windows of that split holding
    calibration_targets predicted instructions, so runs are compared with their cycle bias
    removed the same way."""
    import torch
    from . import calibrate, evaluate, package
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    ds = data.Dataset(dataset)
    names = ds.names(split)
    if not names:
        raise data.DatasetError(f"{dataset}: no programs in split '{split}'")
    cfg, net = package.load(package_dir, device)
    out = {"dataset": dataset, "split": split}
    if calibration:
        cds, csplit = calibration
        win, rows = data.sampled_windows(cds, cds.names(csplit), cfg.length, cfg.target, cfg.designs,
                                         max(1, calibration_targets // cfg.target), seed=1)
        out["calibration"] = {"split": csplit, "windows": int(len(rows)),
                              "designs": calibrate.calibrate(net, cfg, win, rows, 128, device)}
    res = evaluate.evaluate_programs(net, cfg, ds, names, 128, device)
    out["instructions"] = int(sum(p["instructions"] for p in res.values()))
    out.update({k: float(np.mean([d[k] for p in res.values() for d in p["designs"].values()]))
                for k in HELDOUT_KEYS})
    out["programs"] = {n: {k: float(np.mean([d[k] for d in p["designs"].values()])) for k in HELDOUT_KEYS}
                       for n, p in res.items()}
    out["designs"] = {d: {k: float(np.mean([p["designs"][d][k] for p in res.values()])) for k in HELDOUT_KEYS}
                      for d in cfg.designs}
    return out


def _save(path: str, done: list[dict]):
    with open(path + ".tmp", "w", encoding="utf-8") as f:
        json.dump(done, f, indent=1)
    os.replace(path + ".tmp", path)


def study(dataset: str, out: str, runs: list[str], instructions: int, overrides: dict,
          threads: int = 0, device: str = "auto", targets_per_step: int = 0,
          encoding: str | None = None, heldout_dataset: str | None = None,
          heldout_split: str = "test", calibrate: bool = True) -> list[dict]:
    """Runs each spec with `instructions` predicted training instructions (split into epochs of
    instructions / epochs); results are appended to <out>/study.json as they finish, and a run
    already there is not repeated. targets_per_step > 0 sets each run's batch to
    targets_per_step / T windows, so runs with different T take the same optimiser steps.
    heldout_dataset: every run, also one recorded before, gets a "heldout" entry (heldout())
    for that dataset's `heldout_split` programs, calibrated first on the study dataset's
    validation programs unless calibrate is False."""
    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, "study.json")
    done = []
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            done = json.load(f)
    ds = data.Dataset(dataset)

    def score(run: dict):  # on rank 0 only when torchrun launched the study
        have = run.get("heldout") or {}
        if heldout_dataset and int(os.environ.get("RANK", "0")) == 0 and \
                (have.get("dataset"), "calibration" in have) != (heldout_dataset, calibrate):
            print(f"study: {run['name']}: held-out evaluation", file=sys.stderr, flush=True)
            run["heldout"] = heldout(os.path.join(out, run["name"]), heldout_dataset, heldout_split, device,
                                     (ds, "validation") if calibrate else None)
            _save(path, done)

    for run in done:
        score(run)
    for spec in runs:
        r = parse_run(spec)
        cfg = config.load(r["variant"])
        if encoding:
            cfg.set_encoding(encoding)
        name = run_name(cfg.variant, r, cfg.encoding)
        if any(x["name"] == name for x in done):
            continue
        cfg.length, cfg.target = r["length"], r["target"]
        if cfg.target > cfg.length or (cfg.length - cfg.target) % 2:
            raise config.ConfigError(f"run '{spec}': bad window")
        if r["designs"]:
            cfg.designs = r["designs"]
        cfg.training.update(overrides)
        if targets_per_step:
            cfg.training["batch_size"] = max(1, targets_per_step // (int(cfg.hp("train_target")) or cfg.target))
        epochs = int(cfg.hp("epochs"))
        t_train = int(cfg.hp("train_target")) or cfg.target
        cfg.training["windows_per_epoch"] = max(1, instructions // (epochs * t_train))
        cfg.training.setdefault("early_stopping", epochs)
        print(f"study: {name}: {epochs} epochs x {cfg.training['windows_per_epoch']} windows",
              file=sys.stderr, flush=True)
        t0 = time.time()
        res = train.train(cfg, ds, os.path.join(out, name), device=device, threads=threads,
                          resume=True)  # an interrupted run continues from its last epoch
        secs = time.time() - t0
        if not res:  # a further rank of a torchrun-launched study: rank 0 records the run
            continue
        card = config.load(os.path.join(out, name))
        done.append({"name": name, **r, "variant": cfg.variant, "encoding": cfg.encoding,
                     "batch": cfg.hp("batch_size"), "parameters": cfg.parameter_count(),
                     "macs_per_instruction": cfg.macs_per_instruction(),
                     "predicted_instructions": card.training.get("predicted_instructions"),
                     "best_epoch": card.training.get("best_epoch"), "seconds": round(secs, 1),
                     "validation": {k: res[k] for k in res if k != "designs"},
                     "validation_designs": res["designs"]})
        _save(path, done)
        score(done[-1])
    return done


def markdown(results: list[dict]) -> str:
    held = any(r.get("heldout") for r in results)
    head = "| run | params | MACs/instr | train instr | time (s) | val MAE | exact | ±1 | ±2 | CPI err |"
    rule = "|---|---|---|---|---|---|---|---|---|---|"
    if held:
        head += " held-out exact | ±1 | CPI err |"
        rule += "---|---|---|"
    rows = [head, rule]
    pct = lambda x: f"{100 * x:.1f}%"  # noqa: E731
    for r in results:
        v = r["validation"]
        row = (f"| {r['name']} | {r['parameters']:,} | {r['macs_per_instruction'] / 1e6:.2f} M | "
               f"{r['predicted_instructions']:,} | {r['seconds']:.0f} | {v['mae']:.3f} | "
               f"{pct(v['exact'])} | {pct(v['within1'])} | {pct(v['within2'])} | "
               f"{100 * v['cpi_error']:.2f}% |")
        if held:
            h = r.get("heldout")
            row += (f" {pct(h['exact'])} | {pct(h['within1'])} | {100 * h['cpi_error']:.2f}% |" if h
                    else " - | - | - |")
        rows.append(row)
    return "\n".join(rows)
