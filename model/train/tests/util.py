"""Shared helpers for the model/train tests."""
from __future__ import annotations

import os
import tempfile

from model.train import synthetic
from model.train.config import ModelConfig


def tiny_config(variant="tiny", directions=1, tied=False, hidden=16, length=16, target=8,
                designs=("8w", "4w+mem"), **training) -> ModelConfig:
    tr = {"epochs": 3, "batch_size": 16, "lr": 5e-3, "warmup_steps": 5, "val_windows": 0,
          "dropout": 0.0, "early_stopping": 10}
    tr.update(training)
    return ModelConfig(variant=variant, input_proj=16, hidden=hidden, layers=2, directions=directions,
                       tied=tied, head_hidden=8, length=length, target=target, designs=list(designs),
                       training=tr)


def synthetic_dataset(tmp: str, epochs=2, epoch_len=600, **kw) -> str:
    return synthetic.make_dataset(tmp, epochs=epochs, epoch_len=epoch_len, **kw)


def trained_tiny(tmp: str, epochs: int):
    """A tiny model trained on a small synthetic dataset under tmp: (dataset, cfg, net, a copy
    of the net's state before anything changes it)."""
    from model.train import data, package, train
    d = data.Dataset(synthetic_dataset(os.path.join(tmp, "ds"), epoch_len=300))
    train.train(tiny_config(epochs=epochs), d, os.path.join(tmp, "r"), device="cpu", quiet=True)
    cfg, net = package.load(os.path.join(tmp, "r"))
    return d, cfg, net, {k: v.clone() for k, v in net.state_dict().items()}


class TempDir:
    def __enter__(self):
        self._t = tempfile.TemporaryDirectory(prefix="ns_train_test_")
        return self._t.name

    def __exit__(self, *a):
        self._t.cleanup()
