"""FP32 model packages (docs/model-package.md): model.safetensors + model.yaml card."""
from __future__ import annotations

import os

import numpy as np
import torch
import yaml

from . import config, tensorfile
from .config import ConfigError, ModelConfig
from .net import NeuroScalarNet

FORMAT = "neuroscalar-fp32"


class PackageError(ValueError):
    """A package is malformed; the message names the file and the problem."""


def state_arrays(net: torch.nn.Module) -> dict[str, np.ndarray]:
    return {k: v.detach().cpu().float().numpy() for k, v in net.state_dict().items()}


def _plain(x):
    """Card values as plain Python (numpy scalars would not serialise)."""
    if isinstance(x, dict):
        return {k: _plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_plain(v) for v in x]
    return x.item() if isinstance(x, np.generic) else x


def write(out_dir: str, cfg: ModelConfig, tensors: dict[str, np.ndarray]) -> None:
    """Writes a package from a config (its card fields) and float32 tensors."""
    os.makedirs(out_dir, exist_ok=True)
    for k, v in tensors.items():
        if not np.all(np.isfinite(v)):
            raise PackageError(f"tensor '{k}' holds NaN or infinite values: refusing to export")
    tensorfile.save(os.path.join(out_dir, "model.safetensors"),
                    {k: np.asarray(v, dtype=np.float32) for k, v in tensors.items()},
                    {"format": FORMAT, "variant": cfg.variant})
    tmp = os.path.join(out_dir, f"model.yaml.tmp{os.getpid()}")
    with open(tmp, "w", encoding="utf-8") as f:
        yaml.safe_dump(_plain(cfg.card(FORMAT)), f, sort_keys=False, default_flow_style=None, width=100)
    os.replace(tmp, os.path.join(out_dir, "model.yaml"))


def export(out_dir: str, cfg: ModelConfig, net: torch.nn.Module) -> None:
    write(out_dir, cfg, state_arrays(net.module if hasattr(net, "module") else net))


def read(pkg_dir: str) -> tuple[ModelConfig, dict[str, np.ndarray]]:
    """Reads and validates a package: card, tensor names and shapes against the card."""
    card = os.path.join(pkg_dir, "model.yaml")
    try:
        cfg = config.load(card)
    except ConfigError as e:
        raise PackageError(str(e)) from e
    with open(card, encoding="utf-8") as f:
        fmt = (yaml.safe_load(f) or {}).get("format")
    if fmt != FORMAT:
        raise PackageError(f"{card}: format '{fmt}' is not {FORMAT}")
    path = os.path.join(pkg_dir, "model.safetensors")
    try:
        tensors, _ = tensorfile.load(path)
    except tensorfile.TensorFileError as e:
        raise PackageError(str(e)) from e
    want = {k: tuple(v.shape) for k, v in NeuroScalarNet(cfg, dropout=0.0).state_dict().items()}
    for k, shape in want.items():
        if k not in tensors:
            raise PackageError(f"{path}: tensor '{k}' missing")
        if tuple(tensors[k].shape) != shape:
            raise PackageError(f"{path}: tensor '{k}' has shape {list(tensors[k].shape)}, the card "
                               f"needs {list(shape)}")
        if tensors[k].dtype != np.float32:
            raise PackageError(f"{path}: tensor '{k}' is {tensors[k].dtype}, not F32")
    extra = sorted(set(tensors) - set(want))
    if extra:
        raise PackageError(f"{path}: unexpected tensors {extra[:5]} for this card")
    return cfg, tensors


def load(pkg_dir: str, device: str = "cpu") -> tuple[ModelConfig, NeuroScalarNet]:
    cfg, tensors = read(pkg_dir)
    net = NeuroScalarNet(cfg, dropout=0.0)
    net.load_state_dict({k: torch.from_numpy(v) for k, v in tensors.items()})
    return cfg, net.to(device).eval()
