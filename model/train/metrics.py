"""Accuracy metrics (docs/model.md, "Metrics"): per instruction as in the paper's appendix, and
program-level CPI error."""
from __future__ import annotations

import numpy as np


class Accumulator:
    """Sums over predicted (int cycles) vs true (cycles, unclipped) for one design."""

    KEYS = ("n", "abs", "sq", "exact", "within1", "within2", "rel5", "sum_true", "sum_true_clip",
            "sum_pred", "cls_correct")

    def __init__(self, clip: int, threshold: int = 10):
        self.clip, self.threshold = clip, threshold
        self.s = dict.fromkeys(self.KEYS, 0.0)
        self.hist = np.zeros(clip + 1, dtype=np.int64)  # clipped true cycles, for RAE

    def add(self, pred: np.ndarray, true: np.ndarray, pred_long: np.ndarray | None = None,
            summed: np.ndarray | None = None):
        """summed: the cycles the predictions stand for in a sum (ModelConfig.expected_cycles),
        for the CPI; default the predictions."""
        p = np.asarray(pred, dtype=np.int64).ravel()
        t = np.asarray(true, dtype=np.int64).ravel()
        tc = np.minimum(t, self.clip)
        e = np.abs(p - tc)
        s = self.s
        s["n"] += len(p)
        s["abs"] += float(e.sum())
        s["sq"] += float((e.astype(np.float64) ** 2).sum())
        s["exact"] += int((e == 0).sum())
        s["within1"] += int((e <= 1).sum())
        s["within2"] += int((e <= 2).sum())
        s["rel5"] += int((e <= 0.05 * tc).sum())
        s["sum_true"] += float(t.sum())
        s["sum_true_clip"] += float(tc.sum())
        s["sum_pred"] += float(p.sum() if summed is None else np.asarray(summed, np.float64).sum())
        if pred_long is not None:
            s["cls_correct"] += int((np.asarray(pred_long).ravel() == (t >= self.threshold)).sum())
        self.hist += np.bincount(tc, minlength=self.clip + 1)

    def merge(self, other: "Accumulator"):
        for k in self.KEYS:
            self.s[k] += other.s[k]
        self.hist += other.hist

    def result(self) -> dict:
        s, n = self.s, max(self.s["n"], 1)
        mean_t = s["sum_true_clip"] / n
        # RAE = sum|p - t| / sum|t - mean(t)|
        dev = float((self.hist * np.abs(np.arange(self.clip + 1) - mean_t)).sum())
        cpi_true, cpi_pred = s["sum_true"] / n, s["sum_pred"] / n
        return {
            "instructions": int(s["n"]),
            "rel5": s["rel5"] / n, "rae": s["abs"] / dev if dev > 0 else 0.0,
            "mae": s["abs"] / n, "rmse": float(np.sqrt(s["sq"] / n)),
            "exact": s["exact"] / n, "within1": s["within1"] / n, "within2": s["within2"] / n,
            "regime_acc": s["cls_correct"] / n,
            "mode_share": float(self.hist.max()) / n,  # exact of always predicting the commonest value
            "cpi_true": cpi_true, "cpi_pred": cpi_pred,
            "cpi_error": abs(cpi_pred - cpi_true) / cpi_true if cpi_true > 0 else 0.0,
        }


def kendall_tau(a: np.ndarray, b: np.ndarray) -> float:
    """Kendall's tau-b between two rankings (small n: designs)."""
    n, conc, disc, ta, tb = len(a), 0, 0, 0, 0
    for i in range(n):
        for j in range(i + 1, n):
            da, db = np.sign(a[i] - a[j]), np.sign(b[i] - b[j])
            if da == 0 and db == 0:
                continue
            if da == 0:
                ta += 1
            elif db == 0:
                tb += 1
            elif da == db:
                conc += 1
            else:
                disc += 1
    den = np.sqrt((conc + disc + ta) * (conc + disc + tb))
    return float((conc - disc) / den) if den > 0 else 1.0
