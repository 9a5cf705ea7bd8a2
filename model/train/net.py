"""The FP32 NeuroScalar network (docs/model.md), as a PyTorch module whose state_dict names are
the package's tensor names (docs/model-package.md)."""
from __future__ import annotations

import math

import torch
from torch import nn

from .config import ModelConfig


class Norm(nn.Module):
    """x̂ = (x - mean) / std; statistics of the training data, not parameters."""

    def __init__(self, features: int):
        super().__init__()
        self.register_buffer("mean", torch.zeros(features))
        self.register_buffer("std", torch.ones(features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


class Head(nn.Module):
    """One design's heads: the regime classifier and the short/long regressors."""

    def __init__(self, width: int, hidden: int):
        super().__init__()
        self.cls_fc1 = nn.Linear(width, hidden)
        self.cls_fc2 = nn.Linear(hidden, 2)
        self.output_layer_short = nn.Linear(width, 1)
        self.output_layer_long = nn.Linear(width, 1)

    def forward(self, y: torch.Tensor):
        logits = self.cls_fc2(torch.relu(self.cls_fc1(y)))
        return logits, self.output_layer_short(y).squeeze(-1), self.output_layer_long(y).squeeze(-1)


class TiedBiLSTM(nn.Module):
    """Stacked LSTM whose layers run forward and backward with one set of weights; a layer's
    output is h^f_t + h^b_t. Parameter names are nn.LSTM's (weight_ih_l0, ...)."""

    def __init__(self, input_size: int, hidden: int, layers: int, dropout: float):
        super().__init__()
        self.hidden, self.layers, self.dropout = hidden, layers, dropout
        k = 1.0 / math.sqrt(hidden)
        for l in range(layers):
            n_in = input_size if l == 0 else hidden
            for name, shape in ((f"weight_ih_l{l}", (4 * hidden, n_in)),
                                (f"weight_hh_l{l}", (4 * hidden, hidden)),
                                (f"bias_ih_l{l}", (4 * hidden,)), (f"bias_hh_l{l}", (4 * hidden,))):
                p = nn.Parameter(torch.empty(shape))
                nn.init.uniform_(p, -k, k)
                self.register_parameter(name, p)

    def forward(self, x: torch.Tensor):
        B = x.shape[0]
        for l in range(self.layers):
            if l > 0 and self.dropout > 0 and self.training:
                x = nn.functional.dropout(x, self.dropout, True)
            w = [getattr(self, f"{n}_l{l}") for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
            both = torch.cat([x, x.flip(1)], 0)  # both directions in one batched call
            z = both.new_zeros(1, 2 * B, self.hidden)
            out = torch._VF.lstm(both, (z, z), w, True, 1, 0.0, self.training, False, True)[0]
            x = out[:B] + out[B:].flip(1)
        return x, None


class NeuroScalarNet(nn.Module):
    def __init__(self, cfg: ModelConfig, dropout: float | None = None):
        super().__init__()
        self.cfg = cfg
        p = cfg.hp("dropout") if dropout is None else dropout
        self.norm = Norm(cfg.features)
        self.input_proj = nn.Linear(cfg.features, cfg.input_proj)
        if cfg.tied:
            self.rnn = TiedBiLSTM(cfg.input_proj, cfg.hidden, cfg.layers, p)
        else:
            self.rnn = nn.LSTM(cfg.input_proj, cfg.hidden, cfg.layers, batch_first=True,
                               bidirectional=cfg.directions == 2, dropout=p if cfg.layers > 1 else 0.0)
        # one head set per design; with sum heads (ModelConfig.head_sets) a second one per design
        self.heads = nn.ModuleList(Head(cfg.output_width, cfg.head_hidden)
                                   for _ in range(cfg.head_sets))

    def backbone(self, x: torch.Tensor) -> torch.Tensor:
        """Raw features [B, L, F] -> last layer outputs y [B, L, Y]."""
        y, _ = self.rnn(self.input_proj(self.norm(x)))
        return y

    def targets(self, x: torch.Tensor, target: int | None = None) -> torch.Tensor:
        """Raw features [B, L, F] -> the last layer's outputs at the T target positions [B, T, Y],
        what every head reads. The context is the config's C; target overrides T (training
        windows of 2C + target)."""
        C, T = self.cfg.context, target or self.cfg.target
        if self.cfg.directions == 1:
            x = x[:, :C + T]  # a forward-only LSTM's targets never see the right context
        return self.backbone(x)[:, C:C + T]

    def forward(self, x: torch.Tensor, target: int | None = None):
        """Raw features [B, L, F] -> (logits [D, B, T, 2], short [D, B, T], long [D, B, T]),
        D = the head sets."""
        y = self.targets(x, target)
        outs = [h(y) for h in self.heads]
        return tuple(torch.stack(o) for o in zip(*outs))


def select(logits: torch.Tensor, short: torch.Tensor, long: torch.Tensor) -> torch.Tensor:
    """The regressor the classifier picks: long where logits[1] > logits[0]."""
    return torch.where(logits[..., 1] > logits[..., 0], long, short)


def to_cycles(pred: torch.Tensor, clip: int) -> torch.Tensor:
    """Predicted log1p cycles -> integer cycles: clamp(floor(expm1(pred) + 0.5), 0, clip)."""
    return torch.clamp(torch.floor(torch.expm1(pred.double()) + 0.5), 0, clip).long()


def count_parameters(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())
