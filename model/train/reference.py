"""A float64 numpy implementation of the FP32 model definition (docs/model.md), independent of
PyTorch: it checks the torch module's semantics and computes the cross-check vectors."""
from __future__ import annotations

import numpy as np

from .config import ModelConfig


def _sig(v):
    return 0.5 * (1.0 + np.tanh(0.5 * v))  # overflow-free logistic


def _lstm(x: np.ndarray, w_ih, w_hh, b_ih, b_hh) -> np.ndarray:
    """One direction over x [L, in] from zero state; returns h [L, H]."""
    H = w_hh.shape[1]
    h, c = np.zeros(H), np.zeros(H)
    out = np.zeros((len(x), H))
    xw = x @ w_ih.T + b_ih + b_hh
    for t in range(len(x)):
        g = xw[t] + w_hh @ h
        i, f, gg, o = _sig(g[:H]), _sig(g[H:2 * H]), np.tanh(g[2 * H:3 * H]), _sig(g[3 * H:])
        c = f * c + i * gg
        h = o * np.tanh(c)
        out[t] = h
    return out


def backbone(cfg: ModelConfig, w: dict, x_raw: np.ndarray) -> np.ndarray:
    """One window's raw features [L, F] -> last layer outputs y [L, Y] (float64)."""
    f = {k: np.asarray(v, dtype=np.float64) for k, v in w.items()}
    x = (np.asarray(x_raw, dtype=np.float64) - f["norm.mean"]) / f["norm.std"]
    y = x @ f["input_proj.weight"].T + f["input_proj.bias"]
    for l in range(cfg.layers):
        p = [f[f"rnn.{n}_l{l}"] for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
        fwd = _lstm(y, *p)
        if cfg.directions == 1:
            y = fwd
        elif cfg.tied:
            y = fwd + _lstm(y[::-1], *p)[::-1]
        else:
            pr = [f[f"rnn.{n}_l{l}_reverse"] for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
            y = np.concatenate([fwd, _lstm(y[::-1], *pr)[::-1]], axis=1)
    return y


def heads(cfg: ModelConfig, w: dict, y: np.ndarray, d: int):
    """Design d's heads on y [T, Y] -> logits [T, 2], short [T], long [T] (float64)."""
    f = lambda n: np.asarray(w[f"heads.{d}.{n}"], dtype=np.float64)
    a = np.maximum(y @ f("cls_fc1.weight").T + f("cls_fc1.bias"), 0.0)
    logits = a @ f("cls_fc2.weight").T + f("cls_fc2.bias")
    s = (y @ f("output_layer_short.weight").T + f("output_layer_short.bias"))[:, 0]
    lo = (y @ f("output_layer_long.weight").T + f("output_layer_long.bias"))[:, 0]
    return logits, s, lo


def cycles(pred: np.ndarray, clip: int) -> np.ndarray:
    return np.clip(np.floor(np.expm1(pred) + 0.5), 0, clip).astype(np.int64)


def predict_epoch(cfg: ModelConfig, w: dict, feats: np.ndarray) -> dict:
    """Predicts every row of one epoch (raw features [N, F]) with the window grid of the model
    definition. Returns float64 arrays: y [N, Y], logits [D, N, 2], short/long/pred [D, N] and
    int64 cycles [D, N], D = the head sets."""
    N, L, T, C = len(feats), cfg.length, cfg.target, cfg.context
    D = cfg.head_sets
    out = {"y": np.zeros((N, cfg.output_width)), "logits": np.zeros((D, N, 2)),
           "short": np.zeros((D, N)), "long": np.zeros((D, N))}
    for t0 in range(0, N, T):
        win = np.zeros((L, feats.shape[1]))
        lo, hi = max(0, t0 - C), min(N, t0 + T + C)
        win[lo - (t0 - C):hi - (t0 - C)] = feats[lo:hi]
        n = min(T, N - t0)
        y = backbone(cfg, w, win)[C:C + n]
        out["y"][t0:t0 + n] = y
        for d in range(D):
            lg, s, l_ = heads(cfg, w, y, d)
            out["logits"][d, t0:t0 + n], out["short"][d, t0:t0 + n], out["long"][d, t0:t0 + n] = lg, s, l_
    out["pred"] = np.where(out["logits"][..., 1] > out["logits"][..., 0], out["long"], out["short"])
    out["cycles"] = cycles(out["pred"], cfg.clip)
    return out
