"""The joint loss: regime cross-entropy plus regression on the log1p(min(cycles, clip)) target."""
from __future__ import annotations

import torch
from torch.nn import functional as Fn


def targets(cycles: torch.Tensor, clip: int, threshold: int):
    """cycles (int) -> (regression target log1p(min(cycles, clip)) float, regime class long)."""
    c = torch.clamp(cycles, max=clip)
    return torch.log1p(c.float()), (cycles >= threshold).long()


def _reg(err: torch.Tensor, kind: str, delta: float) -> torch.Tensor:
    if kind == "mse":
        return err * err
    if kind == "l1":
        return err.abs()
    a = err.abs()  # huber
    return torch.where(a < delta, 0.5 * err * err / delta, a - 0.5 * delta)


def joint_loss(logits, short, long, cycles, mask, clip: int, threshold: int, cls_weight: float = 1.0,
               reg: str = "mse", huber_delta: float = 0.5, regressors: str = "regime",
               sum_weight: float = 0.0):
    """logits [D, B, T, 2], short/long [D, B, T] from the net; cycles [B, T, D] labels; mask [B, T]
    (False on padding). Returns (loss, parts) with parts = {"cls", "reg"} detached floats (and
    "sum" with sum_weight > 0).

    regressors='regime' trains the short regressor on positions whose true regime is short and
    the long one on the long positions (what each is selected for at inference); 'all' trains
    both on every position.

    sum_weight > 0 adds the summed-cycles term: per window and design, the squared difference
    between log1p of the summed expected cycles (the classifier's probabilities weighting
    expm1 of the two regressors) and log1p of the summed clipped true cycles. A log-space
    regression predicts about the median cycles of an instruction, and a program's cycles are
    a sum, so without it the summed cycles fall short and calibration must shift the heads."""
    y = cycles.permute(2, 0, 1)  # [D, B, T]
    t, k = targets(y, clip, threshold)
    m = mask.unsqueeze(0).expand_as(t).float()
    n = m.sum().clamp(min=1.0)
    ce = Fn.cross_entropy(logits.reshape(-1, 2), k.reshape(-1), reduction="none").view_as(t)
    rs, rl = _reg(short - t, reg, huber_delta), _reg(long - t, reg, huber_delta)
    if regressors == "regime":
        r = torch.where(k == 1, rl, rs)
    else:
        r = 0.5 * (rs + rl)
    cls_l, reg_l = (ce * m).sum() / n, (r * m).sum() / n
    loss = cls_weight * cls_l + reg_l
    parts = {"cls": float(cls_l.detach()), "reg": float(reg_l.detach())}
    if sum_weight > 0:
        top = torch.log1p(torch.tensor(float(clip)))
        p_long = torch.softmax(logits, -1)[..., 1]
        cyc = (1 - p_long) * torch.expm1(short.clamp(0, top)) + p_long * torch.expm1(long.clamp(0, top))
        pred, true = (cyc * m).sum(-1), (torch.clamp(y, max=clip).float() * m).sum(-1)  # [D, B]
        w = (m.sum(-1) > 0).float()
        sum_l = ((torch.log1p(pred) - torch.log1p(true)) ** 2 * w).sum() / w.sum().clamp(min=1.0)
        loss = loss + sum_weight * sum_l
        parts["sum"] = float(sum_l.detach())
    return loss, parts
