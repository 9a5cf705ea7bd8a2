"""Post-training calibration of the heads' biases, per design.

Rounding makes the predicted cycles of uncertain instructions collapse to the likelier side
(with the log1p target an instruction that takes 1 cycle with probability q is predicted 1
only for q > 0.585), and the regime classifier calls an instruction long only when that is
likelier than not, although a long instruction weighs a hundred short ones in summed cycles;
so summed cycles, and with them CPI, come out biased. Three shifts per design, chosen on
validation windows, remove most of that bias: one added to output_layer_short.bias, one to
output_layer_long.bias, and one to the long logit (cls_fc2.bias[1]), which moves the
classifier's decision threshold. Among the shift triples whose aggregate cycle error is at most
`max_error` (or the smallest reachable, if larger), the one with the best exact-after-rounding
accuracy wins (ties: the smallest shifts), so max_error trades CPI accuracy against
per-instruction exactness. With `per_regime`, the aggregate error is the larger of two: that of
the instructions whose true latency is short (< the regime threshold) and that of the long
ones. Otherwise the short shift may pay for the long regime's error on the validation
programs, which is wrong on a program with few long instructions. The network stays the network
of docs/model.md; only three biases per design change.

The shifts cost exactness: they move the predictions of every instruction to make the sum
right. `summed` keeps the network as trained, so each instruction's prediction stays the
likeliest value, and instead fits targets.summed: per design and per bin of predicted cycles p,
the scale with which (p + 1) * scale - 1 is, summed over the validation instructions predicted
in that bin, their true cycles. Summed cycles (CPI) use it; per-instruction latencies are the
predictions themselves.

`sum_heads` keeps both: the package gets a second head set per design, a copy of the design's
heads whose three biases are shifted as above. Per-instruction latencies come from the design
heads, sums from the sum heads (the shifts' unbiased totals), so each head set is calibrated
for its own use: the design heads get the same three shifts chosen for the best exactness
whatever their sum (or stay as trained). Unlike the table, the shifts move instructions near a
rounding boundary and across the classifier's threshold, not every instruction of a predicted
value; unlike plain shifts, they cost no exactness. The device runs twice the heads (a few
percent of a predicted instruction's MACs)."""
from __future__ import annotations

import copy
import math

import numpy as np
import torch
from torch import nn

from . import data
from .config import ModelConfig

GRID_SHORT = np.round(np.arange(-0.30, 0.60001, 0.01), 2)


def grids(max_long: float = 0.5, max_logit: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """The long-bias grid and the grid of shifts added to the long logit, up to the given
    largest shifts (calibrate --max-long-shift / --max-logit-shift)."""
    return (np.round(np.arange(-0.50, max_long + 1e-5, 0.05), 2),
            np.round(np.arange(-3.0, max_logit + 1e-5, 0.25), 2))


GRID_LONG, GRID_CLS = grids()


@torch.no_grad()
def collect(net, windows: data.Windows, rows: np.ndarray, batch: int, device: str):
    """Raw head outputs on the windows' target positions: (long logit margin logits[1] -
    logits[0] [D, n], short [D, n], long [D, n], true cycles [D, n])."""
    net.eval()
    mar, sh, lo, tr = [], [], [], []
    for i in range(0, len(rows), batch):
        x, y, m = windows.batch(rows[i:i + batch])
        logits, s, l = net(torch.from_numpy(x).to(device))
        mm = torch.from_numpy(m).to(device)
        mar.append((logits[..., 1] - logits[..., 0])[:, mm].double().cpu().numpy())
        sh.append(s[:, mm].double().cpu().numpy())
        lo.append(l[:, mm].double().cpu().numpy())
        tr.append(y[m].T)
    return (np.concatenate(mar, 1), np.concatenate(sh, 1), np.concatenate(lo, 1),
            np.concatenate(tr, 1).astype(np.int64))


def _cycles(pred: np.ndarray, clip: int) -> np.ndarray:
    return np.clip(np.floor(np.expm1(pred) + 0.5), 0, clip)


def _predicted(margin, s, l, clip: int) -> np.ndarray:
    """The inference rule on raw head outputs: the regressor the classifier picks, rounded."""
    return np.where(margin > 0, _cycles(l, clip), _cycles(s, clip))


def search(margin, s, l, true, clip: int, max_error: float = 0.02,
           grid_cls=GRID_CLS, grid_long=GRID_LONG,
           per_regime: int | None = None,
           grid_short=GRID_SHORT) -> tuple[float, float, float, dict]:
    """Best (short shift, long shift, long-logit shift) for one design; returns them and
    before/after figures. margin = logits[1] - logits[0] per instruction; per_regime: the
    regime threshold in cycles, to balance short and long instructions separately."""
    tc = np.minimum(true, clip).astype(np.float32)
    n = len(tc)
    # the instruction groups whose summed cycles must match: all, or each true regime
    groups = [np.ones(n, np.float32)] if per_regime is None else \
        [(true < per_regime).astype(np.float32), (true >= per_regime).astype(np.float32)]
    totals = [max(float(true[g > 0].sum()), 1.0) for g in groups]
    # rows: candidate shifts; columns: instructions
    cs = np.stack([_cycles(s + d, clip) for d in grid_short]).astype(np.float32)
    cl = np.stack([_cycles(l + d, clip) for d in grid_long]).astype(np.float32)
    eq_s, eq_l = (cs == tc).astype(np.float32), (cl == tc).astype(np.float32)
    i0s, i0l = int(np.argmin(np.abs(grid_short))), int(np.argmin(np.abs(grid_long)))
    err, exact, cost, shifts, before = [], [], [], [], None
    for dc in grid_cls:
        sel = (margin + dc > 0).astype(np.float32)
        short = 1.0 - sel
        e = np.max([np.abs((cs @ (short * g))[:, None] + (cl @ (sel * g))[None, :] - t) / t
                    for g, t in zip(groups, totals)], axis=0)
        x = (eq_s @ short)[:, None] + (eq_l @ sel)[None, :]
        if dc == 0:
            before = (float(e[i0s, i0l]), float(x[i0s, i0l]))
        err.append(e.ravel())
        exact.append(x.ravel())
        cost.append((np.abs(grid_short)[:, None] + np.abs(grid_long)[None, :] + abs(dc)).ravel())
        a, b = np.meshgrid(grid_short, grid_long, indexing="ij")
        shifts.append(np.stack([a.ravel(), b.ravel(), np.full(a.size, dc)], 1))
    err, exact, cost, shifts = (np.concatenate(v) for v in (err, exact, cost, shifts))
    ok = np.flatnonzero(err <= max(max_error, err.min() + 1e-12))
    i = ok[np.lexsort((cost[ok], -exact[ok]))[0]]  # most exact, then the smallest shifts
    if before is None:  # 0 is not in the classifier grid: score the unshifted heads
        p = _predicted(margin, s, l, clip)
        err0 = max(abs(float(p @ g) - t) / t for g, t in zip(groups, totals))
        before = (err0, float((p == tc).sum()))
    ds, dl, dc = (float(v) + 0.0 for v in shifts[i])
    return ds, dl, dc, {"cycle_error_before": before[0], "exact_before": before[1] / n,
                        "cycle_error_after": float(err[i]), "exact_after": float(exact[i]) / n}


def summed_edges(clip: int) -> list[int]:
    """Bins of predicted cycles for targets.summed: one per value below 16, then 20 bins of
    about equal width in log scale up to clip + 1."""
    top = np.round(np.geomspace(16, clip + 1, 21)).astype(int) if clip >= 16 else np.array([], int)
    return sorted(set(range(min(16, clip + 1))) | set(top.tolist()) | {clip + 1})


def summed_scales(pred: np.ndarray, true: np.ndarray, edges: list[int]) -> list[float]:
    """Per bin: sum(true + 1) / sum(pred + 1) over the instructions predicted in it (1.0 for an
    empty bin), so that sum((p + 1) * scale - 1) = sum(true) within each bin."""
    b = np.searchsorted(np.asarray(edges), pred, side="right") - 1
    k = len(edges) - 1
    num = np.bincount(b, weights=true + 1.0, minlength=k)
    den = np.bincount(b, weights=pred + 1.0, minlength=k)
    return [round(float(x), 6) for x in np.where(den > 0, num / np.maximum(den, 1e-300), 1.0)]


def fit_summed(net, cfg: ModelConfig, windows: data.Windows, rows: np.ndarray, batch: int,
               device: str) -> dict:
    """Sets cfg.summed from the network's predictions on the windows; returns per design the
    summed-cycle error and exactness, before (predictions summed) and after (the table)."""
    margin, s, l, true = collect(net, windows, rows, batch, device)
    true_c = np.minimum(true, cfg.clip)
    pred = _predicted(margin, s, l, cfg.clip).astype(np.int64)
    edges = summed_edges(cfg.clip)
    cfg.summed = {"edges": edges, "scale": {d: summed_scales(pred[i], true_c[i], edges)
                                            for i, d in enumerate(cfg.designs)}}
    exp = cfg.expected_cycles(pred.T).T
    report = {}
    for i, d in enumerate(cfg.designs):
        t = float(true[i].sum())
        report[d] = {"cycle_error_before": round(abs(float(pred[i].sum()) - t) / t, 5),
                     "cycle_error_after": round(abs(float(exp[i].sum()) - t) / t, 5),
                     "exact": round(float((pred[i] == true_c[i]).mean()), 5)}
    return report


def set_sum_heads(net, cfg: ModelConfig, on: bool) -> bool:
    """Gives the network (in place) sum heads, fresh copies of the design heads, or (not on)
    none; sets cfg.summed to match. Returns whether it dropped sum heads the network had."""
    D, had = len(cfg.designs), cfg.sum_heads
    design_heads = list(net.heads)[:D]
    net.heads = nn.ModuleList(design_heads + ([copy.deepcopy(h) for h in design_heads] if on else []))
    if on or had:
        cfg.summed = {"heads": True} if on else {}
    return had


def calibrate(net, cfg: ModelConfig, windows: data.Windows, rows: np.ndarray, batch: int,
              device: str, max_error: float = 0.02, classifier: bool = True,
              max_long: float = 0.5, max_logit: float = 1.0, per_regime: bool = False,
              short: bool = True, exact_heads: bool = True) -> dict:
    """Shifts the head biases of every design in place (the long logit only with classifier,
    the short regressor's only with short); returns what was done. With sum heads
    (set_sum_heads) it shifts those for the sums, and, with exact_heads, the design heads for
    the best exactness whatever their sum (their own `exact` record)."""
    margin, s, l, true = collect(net, windows, rows, batch, device)
    grid_long, grid_cls = grids(max_long, max_logit)
    grid_cls, grid_short = (grid_cls if classifier else np.zeros(1)), (GRID_SHORT if short else np.zeros(1))
    D = len(cfg.designs)

    def shift(k: int, d: int, err: float) -> dict:
        ds, dl, dc, fig = search(margin[k], s[k], l[k], true[d], cfg.clip, err, grid_cls, grid_long,
                                 cfg.threshold if per_regime else None, grid_short)
        head = net.heads[k]
        head.output_layer_short.bias.data += ds
        head.output_layer_long.bias.data += dl
        head.cls_fc2.bias.data[1] += dc
        return {"short_shift": ds, "long_shift": dl, "long_logit_shift": dc,
                **{k: round(float(v), 5) for k, v in fig.items()}}

    report = {}
    for d, name in enumerate(cfg.designs):
        report[name] = shift(D + d if cfg.sum_heads else d, d, max_error)
        if cfg.sum_heads and exact_heads:
            report[name]["exact"] = shift(d, d, math.inf)
    return report
