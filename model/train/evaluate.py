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
    """Yields (rows of the batch, predicted cycles [B, T, H], predicted long [B, T, H],
    true cycles [B, T, D], mask [B, T]) for the windows `rows`, in order; H = the head sets (the
    designs, then their sum heads if any)."""
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
        e = cfg.expected_cycles(cyc)
        for d, a in enumerate(acc):
            a.add(cyc[..., d][m], y[..., d][m], lng[..., d][m], e[..., d][m])
    per = {d: a.result() for d, a in zip(cfg.designs, acc)}
    keys = ("mae", "exact", "within1", "within2", "rel5", "rae", "rmse", "regime_acc", "cpi_error",
            "mode_share")
    out = {k: float(np.mean([p[k] for p in per.values()])) for k in keys}
    out["designs"] = per
    return out


class ProgramScore:
    """Metrics of one program: per design, per epoch cycles, design ranking."""

    def __init__(self, cfg: ModelConfig, shard: data.Shard):
        self.cfg, self.shard = cfg, shard
        self.acc = [metrics.Accumulator(cfg.clip, cfg.threshold) for _ in cfg.designs]
        self.bounds = shard.epoch_bounds()
        self.ep_true = np.zeros((len(self.bounds), len(cfg.designs)))
        self.ep_pred = np.zeros_like(self.ep_true)

    def add(self, epoch: np.ndarray, cyc, lng, y, m):
        """epoch [B] index of each row's epoch; cyc [B, T, head sets]; y [B, T, D]; lng
        [B, T, head sets] or None; m [B, T]."""
        e = self.cfg.expected_cycles(cyc)
        for d, a in enumerate(self.acc):
            a.add(cyc[..., d][m], y[..., d][m], None if lng is None else lng[..., d][m], e[..., d][m])
        np.add.at(self.ep_true, epoch, (y * m[..., None]).sum(1))
        np.add.at(self.ep_pred, epoch, (e * m[..., None]).sum(1))

    def result(self, classifier: bool = True) -> dict:
        per = {d: a.result() for d, a in zip(self.cfg.designs, self.acc)}
        if not classifier:
            for r in per.values():
                r.pop("regime_acc")
        res = {"instructions": self.shard.n, "epochs": len(self.bounds), "designs": per}
        if len(self.cfg.designs) > 1:
            taus = [metrics.kendall_tau(-t, -p) for t, p in zip(self.ep_true, self.ep_pred)]
            best = [int(np.argmin(t) == np.argmin(p)) for t, p in zip(self.ep_true, self.ep_pred)]
            prog_t, prog_p = self.ep_true.sum(0), self.ep_pred.sum(0)
            res["ranking"] = {"epoch_kendall_tau": float(np.mean(taus)),
                              "epoch_best_design_picked": float(np.mean(best)),
                              "program_kendall_tau": metrics.kendall_tau(-prog_t, -prog_p),
                              "program_best_design_picked": bool(np.argmin(prog_t) == np.argmin(prog_p))}
        return res


def evaluate_programs(net, cfg: ModelConfig, ds: data.Dataset, names: list[str], batch: int,
                      device: str, progress: bool = True, dump: str | None = None) -> dict:
    """Every instruction of every epoch of each program, predicted once. Returns per program:
    per-design metrics, per-epoch CPI (true, predicted) and design-ranking agreement. With dump,
    also writes <dump>/<program>.u32: predicted cycles [instructions, head sets] in row order
    (the layout of `neuroscalar predict --dump-latencies`)."""
    cols = ds.design_columns(cfg.designs)
    results = {}
    t_start, done_rows = time.time(), 0
    total_rows = sum(ds.shard(n).n for n in names)
    for name in names:
        sh = ds.shard(name)
        win = data.Windows([sh], cfg.length, cfg.target, cols)
        score = ProgramScore(cfg, sh)
        ep_of = np.searchsorted(score.bounds[:, 0], win.index[:, 1])
        rows = np.zeros((sh.n, cfg.head_sets), dtype="<u4") if dump else None
        for r, cyc, lng, y, m in predict(net, win, np.arange(len(win)), batch, device):
            score.add(ep_of[r], cyc, lng, y, m)
            if dump:
                for i, t0 in enumerate(win.index[r, 3]):
                    k = int(m[i].sum())
                    rows[t0:t0 + k] = cyc[i, :k]
            done_rows += int(m.sum())
            if progress:
                el = time.time() - t_start
                print(f"\reval {name}: {done_rows}/{total_rows} instructions, "
                      f"{done_rows / max(el, 1e-9):.0f}/s", end="", file=sys.stderr, flush=True)
        results[name] = score.result()
        if dump:
            import os
            os.makedirs(dump, exist_ok=True)
            rows.tofile(os.path.join(dump, f"{name}.u32"))
    if progress:
        print(file=sys.stderr)
    return results


def evaluate_external(cfg: ModelConfig, ds: data.Dataset, names: list[str], folder: str) -> dict:
    """Scores predictions made elsewhere (e.g. `neuroscalar predict --dump-latencies`):
    <folder>/<program>.u32 holds uint32 cycles [instructions, head sets] in the shard's row order
    and the card's design order (then the sum heads, if the card has them)."""
    import os
    cols = ds.design_columns(cfg.designs)
    D = cfg.head_sets
    results = {}
    for name in names:
        sh = ds.shard(name)
        path = os.path.join(folder, f"{name}.u32")
        if not os.path.exists(path):
            raise data.DatasetError(f"{path}: missing (predictions of program '{name}')")
        if os.path.getsize(path) != sh.n * D * 4:
            raise data.DatasetError(f"{path}: {os.path.getsize(path)} bytes, expected {sh.n * D * 4} "
                                    f"({sh.n} instructions x {D} head sets x 4)")
        pred = np.memmap(path, dtype="<u4", mode="r", shape=(sh.n, D))
        score = ProgramScore(cfg, sh)
        for e, (a, b) in enumerate(score.bounds):
            cyc = np.asarray(pred[a:b], dtype=np.int64)[None]
            y = np.asarray(sh.labels[a:b][:, cols], dtype=np.int64)[None]
            score.add(np.array([e]), cyc, None, y, np.ones((1, b - a), dtype=bool))
        results[name] = score.result(classifier=False)
    return results
