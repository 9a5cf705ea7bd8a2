"""Inference over the window grid and the metrics of docs/model.md, for validation during
training and for held-out evaluation of a package."""
from __future__ import annotations

import sys
import time

import numpy as np
import torch

from . import data, metrics
from .config import ModelConfig
from .net import select, to_cycles


@torch.no_grad()
def predict(net, windows: data.Windows, rows: np.ndarray, batch: int, device: str):
    """Yields (rows of the batch, predicted cycles [B, T, D], predicted long [B, T, D],
    true cycles [B, T, D], mask [B, T]) for the windows `rows`, in order."""
    was = net.training
    net.eval()
    clip = (net.module if hasattr(net, "module") else net).cfg.clip
    try:
        for i in range(0, len(rows), batch):
            r = rows[i:i + batch]
            x, y, m = windows.batch(r)
            logits, s, l = net(torch.from_numpy(x).to(device))
            cyc = to_cycles(select(logits, s, l), clip).permute(1, 2, 0).cpu().numpy()
            lng = (logits[..., 1] > logits[..., 0]).permute(1, 2, 0).cpu().numpy()
            yield r, cyc, lng, y, m
    finally:
        net.train(was)


def validate(net, cfg: ModelConfig, windows: data.Windows, rows: np.ndarray, batch: int, device: str) -> dict:
    """Per-design metrics over the windows `rows` plus their means; 'mae' drives early stopping."""
    acc = [metrics.Accumulator(cfg.clip, cfg.threshold) for _ in cfg.designs]
    for _, cyc, lng, y, m in predict(net, windows, rows, batch, device):
        for d, a in enumerate(acc):
            a.add(cyc[..., d][m], y[..., d][m], lng[..., d][m])
    per = {d: a.result() for d, a in zip(cfg.designs, acc)}
    keys = ("mae", "exact", "within1", "within2", "rel5", "rae", "rmse", "regime_acc", "cpi_error")
    out = {k: float(np.mean([p[k] for p in per.values()])) for k in keys}
    out["designs"] = per
    return out


def evaluate_programs(net, cfg: ModelConfig, ds: data.Dataset, names: list[str], batch: int,
                      device: str, progress: bool = True) -> dict:
    """Every instruction of every epoch of each program, predicted once. Returns per program:
    per-design metrics, per-epoch CPI (true, predicted) and design-ranking agreement."""
    cols = ds.design_columns(cfg.designs)
    results = {}
    t_start, done_rows = time.time(), 0
    total_rows = sum(ds.shard(n).n for n in names)
    for name in names:
        sh = ds.shard(name)
        win = data.Windows([sh], cfg.length, cfg.target, cols)
        acc = [metrics.Accumulator(cfg.clip, cfg.threshold) for _ in cfg.designs]
        bounds = sh.epoch_bounds()
        ep_true = np.zeros((len(bounds), len(cfg.designs)))
        ep_pred = np.zeros_like(ep_true)
        ep_of = np.searchsorted(bounds[:, 0], win.index[:, 1])
        for r, cyc, lng, y, m in predict(net, win, np.arange(len(win)), batch, device):
            for d, a in enumerate(acc):
                a.add(cyc[..., d][m], y[..., d][m], lng[..., d][m])
            e = ep_of[r]
            np.add.at(ep_true, e, (y * m[..., None]).sum(1))
            np.add.at(ep_pred, e, (cyc * m[..., None]).sum(1))
            done_rows += int(m.sum())
            if progress:
                el = time.time() - t_start
                print(f"\reval {name}: {done_rows}/{total_rows} instructions, "
                      f"{done_rows / max(el, 1e-9):.0f}/s", end="", file=sys.stderr, flush=True)
        per = {d: a.result() for d, a in zip(cfg.designs, acc)}
        res = {"instructions": sh.n, "epochs": len(bounds), "designs": per}
        if len(cfg.designs) > 1:
            taus = [metrics.kendall_tau(-t, -p) for t, p in zip(ep_true, ep_pred)]
            best = [int(np.argmin(t) == np.argmin(p)) for t, p in zip(ep_true, ep_pred)]
            prog_t, prog_p = ep_true.sum(0), ep_pred.sum(0)
            res["ranking"] = {"epoch_kendall_tau": float(np.mean(taus)),
                              "epoch_best_design_picked": float(np.mean(best)),
                              "program_kendall_tau": metrics.kendall_tau(-prog_t, -prog_p),
                              "program_best_design_picked": bool(np.argmin(prog_t) == np.argmin(prog_p))}
        results[name] = res
    if progress:
        print(file=sys.stderr)
    return results
