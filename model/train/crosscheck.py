"""Golden-model cross-check data (model/tests/data/crosscheck/): tiny FP32 packages of the three
architectures plus fixed inputs and the expected outputs of the model definition, which the
C++ FP32 model must reproduce to 1e-4 relative.

Weights and inputs come from numpy's seeded generator (no torch RNG), the expected outputs from
the float64 reference (reference.py); the torch module must agree with them, which is what
`check` (and the torch-dependent test) verifies again from the files."""
from __future__ import annotations

import os

import numpy as np

from . import package, reference, synthetic, tensorfile
from .config import ModelConfig

SEED = 20240601
EPOCH_LENGTHS = (23, 17, 3)  # not multiples of T (partly padded last windows); one shorter than T
DESIGNS = ["8w", "4w+mem"]  # two head sets
VARIANTS = {  # name -> (directions, tied, hidden)
    "tiny-uni": (1, False, 8),
    "tiny-bi-tied": (2, True, 8),
    "tiny-bi": (2, False, 6),
}
MARGIN = 1e-3  # keep every classifier decision and every rounding this far from its boundary


def tiny_config(name: str) -> ModelConfig:
    dirs, tied, hidden = VARIANTS[name]
    return ModelConfig(variant=name, input_proj=12, hidden=hidden, layers=2, directions=dirs, tied=tied,
                       head_hidden=8, length=12, target=4, clip=1000, threshold=10,
                       designs=list(DESIGNS),
                       description="cross-check package: tiny shapes, seeded random weights, not trained")


def _inputs(rng) -> tuple[np.ndarray, np.ndarray]:
    feats, _ = synthetic.program(rng, sum(EPOCH_LENGTHS))
    return feats, np.concatenate([[0], np.cumsum(EPOCH_LENGTHS)]).astype(np.int64)


def _weights(cfg: ModelConfig, rng, feats: np.ndarray) -> dict[str, np.ndarray]:
    from .net import NeuroScalarNet  # shapes only
    import torch  # noqa: F401  (NeuroScalarNet needs it)
    w = {}
    for k, v in NeuroScalarNet(cfg, dropout=0.0).state_dict().items():
        w[k] = rng.uniform(-0.6, 0.6, tuple(v.shape))
    w["norm.mean"] = feats.mean(0)
    w["norm.std"] = np.maximum(feats.std(0), 1e-3)
    for d in range(len(cfg.designs)):  # regressors spread over ~0..150 cycles
        w[f"heads.{d}.output_layer_short.bias"] = np.array([0.9 + 0.2 * d])
        w[f"heads.{d}.output_layer_long.bias"] = np.array([3.2 + 0.3 * d])
        w[f"heads.{d}.output_layer_long.weight"] *= 2.0
    return {k: np.asarray(v, dtype=np.float32) for k, v in w.items()}


def _margins_ok(out: dict) -> bool:
    lg = out["logits"]
    frac = np.expm1(out["pred"]) + 0.5
    return bool(np.all(np.abs(lg[..., 1] - lg[..., 0]) > MARGIN)
                and np.all(np.abs(frac - np.round(frac)) > MARGIN))


def expected(cfg: ModelConfig, w: dict, feats: np.ndarray, epochs: np.ndarray) -> dict:
    """Reference outputs for every row of every epoch."""
    parts = [reference.predict_epoch(cfg, w, feats[a:b]) for a, b in zip(epochs[:-1], epochs[1:])]
    return {k: np.concatenate([p[k] for p in parts], axis=-2 if k == "logits" else (0 if k == "y" else 1))
            for k in parts[0]}


def _vectors(feats, epochs, out) -> dict[str, np.ndarray]:
    return {"features": feats.astype(np.int32), "epochs": epochs.astype(np.int32),
            "y": out["y"].astype(np.float32), "logits": out["logits"].astype(np.float32),
            "short": out["short"].astype(np.float32), "long": out["long"].astype(np.float32),
            "pred": out["pred"].astype(np.float32), "cycles": out["cycles"].astype(np.int32)}


def generate(out_root: str) -> dict:
    """Writes <out_root>/crosscheck/<variant>/{model.yaml, model.safetensors, vectors.safetensors}."""
    summary = {}
    for name in VARIANTS:
        cfg = tiny_config(name)
        for attempt in range(100):
            rng = np.random.default_rng([SEED, list(VARIANTS).index(name), attempt])
            feats, epochs = _inputs(rng)
            w = _weights(cfg, rng, feats)
            out = expected(cfg, w, feats, epochs)
            if _margins_ok(out) and len(np.unique(out["cycles"])) > 4 and 0.1 < np.mean(
                    out["logits"][..., 1] > out["logits"][..., 0]) < 0.9:
                break
        else:
            raise RuntimeError(f"{name}: no seed gave safe margins")
        d = os.path.join(out_root, "crosscheck", name)
        package.write(d, cfg, w)
        tensorfile.save(os.path.join(d, "vectors.safetensors"), _vectors(feats, epochs, out),
                        {"variant": name, "window": f"{cfg.length},{cfg.target}",
                         "source": "python3 -m model.train crosscheck (float64 reference)"})
        check_variant(d)
        summary[name] = {"parameters": cfg.parameter_count(), "instructions": int(epochs[-1]),
                         "cycles": sorted(set(int(c) for c in out["cycles"].ravel()))[:12],
                         "seed_attempt": attempt}
    return summary


def check_variant(d: str, rtol: float = 1e-5, atol: float = 1e-5) -> None:
    """Recomputes one variant's vectors with the torch module (through package.load and the
    training window code) and the float64 reference; raises AssertionError on a mismatch."""
    import torch
    from . import data
    from .net import select, to_cycles
    cfg, net = package.load(d)
    _, w = package.read(d)
    v, _ = tensorfile.load(os.path.join(d, "vectors.safetensors"))
    feats, epochs = v["features"], v["epochs"].astype(np.int64)
    sh = data.ArrayShard(feats, np.zeros((len(feats), len(cfg.designs))), epochs)
    win = data.Windows([sh], cfg.length, cfg.target, list(range(len(cfg.designs))))
    x, _, m = win.batch(np.arange(len(win)))
    with torch.no_grad():
        xt = torch.from_numpy(x)
        y = net.backbone(xt)[:, cfg.context:cfg.context + cfg.target]
        logits, s, l = net(xt)
        pred = select(logits, s, l)
        cyc = to_cycles(pred, cfg.clip)
    got = {"y": y.numpy()[m], "logits": logits.numpy()[:, m], "short": s.numpy()[:, m],
           "long": l.numpy()[:, m], "pred": pred.numpy()[:, m], "cycles": cyc.numpy()[:, m]}
    ref = expected(cfg, w, feats, epochs)
    for k, g in got.items():
        for who, want in (("stored vectors", v[k]), ("float64 reference", ref[k])):
            if not np.allclose(g, want, rtol=rtol, atol=atol if k != "cycles" else 0):
                bad = np.max(np.abs(g - want))
                raise AssertionError(f"{d}: '{k}' from torch differs from the {who} (max |diff| {bad:g})")


def check(out_root: str) -> None:
    for name in VARIANTS:
        check_variant(os.path.join(out_root, "crosscheck", name))
