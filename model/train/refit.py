"""Refit of each design's long regressor as a Poisson regression on the frozen backbone.

Trained with a squared error on log1p(cycles), the long regressor predicts the conditional mean
of log1p(cycles): about the geometric mean of the long latencies that share a context, which for
cache misses and long dependency chains is half their arithmetic mean or less. Long
instructions are 1-2 % of a memory-bound program's instructions but 70-80 % of its cycles, so
summed cycles, and with them CPI, come out far too low (docs/results/model.md). Refitting
output_layer_long (one Linear(Y -> 1) per design) with the Poisson log-likelihood of cycles + 1
under rate exp(z) makes expm1(z) the conditional mean of the cycles instead, which sums right;
inference is unchanged (expm1, round, clamp), so the INT8 contract and the devices are untouched.
The fit is convex (a generalised linear model on fixed features) and uses the training
programs' positions whose true regime is long, as the regressor's training does."""
from __future__ import annotations

import numpy as np
import torch

from . import data
from .config import ModelConfig


@torch.no_grad()
def long_features(net, cfg: ModelConfig, windows: data.Windows, rows: np.ndarray, batch: int,
                  device: str) -> tuple[np.ndarray, np.ndarray]:
    """Backbone outputs [n, Y] at target positions that are long on at least one design, and
    their true cycles [n, D] (unclipped)."""
    net.eval()
    feats, cyc = [], []
    for i in range(0, len(rows), batch):
        x, y, m = windows.batch(rows[i:i + batch])
        h = net.targets(torch.from_numpy(x).to(device))
        sel = m & (y >= cfg.threshold).any(-1)
        feats.append(h[torch.from_numpy(sel).to(device)].double().cpu().numpy())
        cyc.append(y[sel])
    return np.concatenate(feats), np.concatenate(cyc).astype(np.int64)


def fit_poisson(h: np.ndarray, cycles: np.ndarray, w0: np.ndarray, b0: float, l2: float = 1e-4,
                iters: int = 200) -> tuple[np.ndarray, float, dict]:
    """Weights w [Y], bias b maximising sum((c + 1) z - exp(z)) - l2 |w|^2, z = h w + b."""
    H = torch.from_numpy(h)
    t = torch.from_numpy(cycles.astype(np.float64) + 1.0)
    w = torch.tensor(w0, dtype=torch.float64, requires_grad=True)
    b = torch.tensor([b0], dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([w, b], lr=1.0, max_iter=iters, line_search_fn="strong_wolfe")

    def nll():
        opt.zero_grad()
        z = H @ w + b
        loss = (torch.exp(z) - t * z).mean() + l2 * (w * w).sum()
        loss.backward()
        return loss

    with torch.no_grad():
        before = float(torch.expm1(H @ w + b).sum() / (t - 1).sum())
    opt.step(nll)
    with torch.no_grad():
        after = float(torch.expm1(H @ w + b).sum() / (t - 1).sum())
    return w.detach().numpy(), float(b.detach()[0]), {"positions": int(len(t)),
                                                       "sum_ratio_before": round(before, 4),
                                                       "sum_ratio_after": round(after, 4)}


def refit(net, cfg: ModelConfig, windows: data.Windows, rows: np.ndarray, batch: int, device: str) -> dict:
    """Refits every design's output_layer_long in place; returns per design the number of long
    positions used and predicted/true summed cycles on them before and after."""
    h, cyc = long_features(net, cfg, windows, rows, batch, device)
    report = {}
    for d, name in enumerate(cfg.designs):
        sel = cyc[:, d] >= cfg.threshold
        if not sel.any():
            raise data.DatasetError(f"refit: no long positions for design {name} in {len(rows)} windows")
        layer = net.heads[d].output_layer_long
        w, b, rep = fit_poisson(h[sel], np.minimum(cyc[sel, d], cfg.clip),
                                layer.weight.detach().double().cpu().numpy()[0],
                                float(layer.bias.detach()[0]))
        with torch.no_grad():
            layer.weight.copy_(torch.from_numpy(w).view_as(layer.weight))
            layer.bias.fill_(b)
        report[name] = rep
    return report
