"""Model variant configs (configs/model/*.yaml) and package cards (model.yaml).

The keys are those of docs/model-package.md ("Model config"), read by the C++ side as well;
this module validates the same rules so a config that trains here also loads there.
"""
from __future__ import annotations

import copy
import math
import os
from dataclasses import dataclass, field

import numpy as np
import yaml

PAPER13 = ["pc_hi", "pc_mid", "pc_lo", "opclass", "mem_hi", "mem_mid", "mem_lo",
           "src1_cls", "src1_idx", "src2_cls", "src2_idx", "dst_cls", "dst_idx"]
# perfvec18: paper13 plus five execution features (model/include/ns/model/features.h)
PERFVEC18 = PAPER13 + ["branch_taken", "data_reuse", "inst_reuse", "local_entropy", "global_entropy"]
# perfvec18-trace: the same features with their state spanning a trace's epochs (features.h);
# perfvec12-trace: perfvec18-trace without the PC and address parts
PERFVEC12 = [f for f in PERFVEC18 if not f.startswith(("pc_", "mem_"))]
ENCODINGS = {"paper13": PAPER13, "perfvec18": PERFVEC18, "perfvec18-trace": PERFVEC18,
             "perfvec12-trace": PERFVEC12}
TOP_KEYS = {"format", "variant", "description", "architecture", "encoding", "window", "targets",
            "designs", "training", "metrics", "quantization"}
ARCH_KEYS = {"type", "input_proj", "hidden", "layers", "directions", "tied", "head_hidden"}

# Training hyper-parameters (the `training:` section of a variant config); every key has a
# default so a config may name only what it changes. docs/model.md explains each.
TRAINING_DEFAULTS = {
    "seed": 1,
    "epochs": 20,              # passes over `windows_per_epoch` freshly drawn training windows
    "windows_per_epoch": 0,    # 0: every training window once per epoch
    "val_windows": 2048,       # fixed validation subset (0: all)
    "batch_size": 64,
    "train_target": 0,         # targets per training window (0: the window's T); context stays C
    "lr": 1.0e-3,
    "lr_min_ratio": 0.05,      # cosine decay to lr * lr_min_ratio
    "warmup_steps": 100,
    "weight_decay": 0.0,
    "grad_clip": 1.0,
    "dropout": 0.1,            # between LSTM layers
    "cls_weight": 1.0,         # weight of the regime cross-entropy in the joint loss
    "reg_loss": "mse",         # mse | huber | l1, on the log1p target
    "huber_delta": 0.5,
    "sum_weight": 0.0,         # weight of the summed-cycles term (loss.joint_loss)
    "regressors": "regime",    # regime: short/long regressor each on its regime's positions; all
    "early_stopping": 3,       # epochs without validation MAE improvement
    "max_minutes": 0,          # wall-clock budget for the run (0: none)
}


class ConfigError(ValueError):
    """A config or card is invalid; the message names the file and the key."""


@dataclass
class ModelConfig:
    variant: str
    input_proj: int = 256
    hidden: int = 256
    layers: int = 2
    directions: int = 1
    tied: bool = False
    head_hidden: int = 64
    encoding: str = "paper13"
    feature_names: list = field(default_factory=lambda: list(PAPER13))
    length: int = 512      # L
    target: int = 128      # T
    clip: int = 1000
    threshold: int = 10
    designs: list = field(default_factory=lambda: ["8w"])
    training: dict = field(default_factory=dict)
    description: str = ""
    metrics: dict = field(default_factory=dict)
    # targets.summed: a table (calibrate --summed) {"edges": [...], "scale": {design: [...]}}, or
    # sum heads (calibrate --sum-heads) {"heads": True}; empty: the summed cycles are the sum of
    # the predicted cycles
    summed: dict = field(default_factory=dict)

    @property
    def features(self) -> int:
        return len(self.feature_names)

    @property
    def sum_heads(self) -> bool:
        return bool(self.summed.get("heads"))

    @property
    def head_sets(self) -> int:
        """Head sets of the network: one per design, then with sum heads one more per design
        (head sets D..2D-1) whose predictions are what sums add up."""
        return len(self.designs) * (2 if self.sum_heads else 1)

    @property
    def context(self) -> int:
        return (self.length - self.target) // 2

    @property
    def weight_sets(self) -> int:
        return 2 if self.directions == 2 and not self.tied else 1

    @property
    def output_width(self) -> int:
        return self.hidden * self.weight_sets

    def layer_input(self, layer: int) -> int:
        return self.input_proj if layer == 0 else self.output_width

    def set_encoding(self, name: str):
        """Switches the feature encoding (the dataset must be encoded the same way)."""
        if name not in ENCODINGS:
            raise ConfigError(f"unknown feature encoding '{name}' (known: {', '.join(ENCODINGS)})")
        self.encoding, self.feature_names = name, list(ENCODINGS[name])

    def expected_cycles(self, cyc: np.ndarray) -> np.ndarray:
        """Predicted cycles [..., head_sets] (head sets last) -> the cycles they stand for in a
        sum [..., D]: the sum heads' predictions, max(0, (p + 1) * scale[design][bin of p] - 1)
        with a table, else p itself."""
        cyc = np.asarray(cyc)
        D = len(self.designs)
        if self.sum_heads:
            return cyc[..., D:].astype(np.float64)
        if not self.summed:
            return cyc.astype(np.float64)
        b = np.searchsorted(np.asarray(self.summed["edges"]), cyc, side="right") - 1
        s = np.stack([np.asarray(self.summed["scale"][d], dtype=np.float64) for d in self.designs])
        b = np.minimum(b, s.shape[1] - 1)  # a prediction above the clip: the last bin
        return np.maximum((cyc + 1.0) * s[np.arange(len(self.designs)), b] - 1.0, 0.0)

    def hp(self, key: str):
        """A training hyper-parameter, from the config or its default."""
        return self.training.get(key, TRAINING_DEFAULTS[key])

    def parameter_count(self) -> int:
        """Trainable parameters (norm.* excluded): 1,073,348 for a one-design paper-uni."""
        F, H, G, Y, K = self.features, self.hidden, 4 * self.hidden, self.output_width, self.head_hidden
        n = self.input_proj * F + self.input_proj
        for l in range(self.layers):
            n += self.weight_sets * (G * self.layer_input(l) + G * H + 2 * G)
        head = K * Y + K + 2 * K + 2 + 2 * (Y + 1)
        return n + self.head_sets * head

    def macs_per_position(self) -> int:
        """Multiply-accumulates of the projection and the LSTM for one window position."""
        G = 4 * self.hidden
        lstm = sum(G * (self.layer_input(l) + self.hidden) for l in range(self.layers))
        return self.features * self.input_proj + self.directions * lstm

    def macs_per_head(self) -> int:
        """Multiply-accumulates of one design's heads for one target position."""
        K, Y = self.head_hidden, self.output_width
        return K * Y + 2 * K + 2 * Y

    def positions_needed(self) -> int:
        """Window positions that can influence the targets: L, or C + T for a forward-only
        LSTM (its targets never see the right context)."""
        return self.length if self.directions == 2 else self.context + self.target

    def macs_per_instruction(self) -> float:
        """MACs per predicted instruction: the backbone runs positions_needed() positions for
        T predictions."""
        return (self.macs_per_position() * self.positions_needed() / self.target
                + self.head_sets * self.macs_per_head())

    def card(self, fmt: str = "neuroscalar-fp32") -> dict:
        """The card (model.yaml) fields; training/metrics sections as they are now."""
        c = {"format": fmt, "variant": self.variant}
        if self.description:
            c["description"] = self.description
        c["architecture"] = {"type": "lstm", "input_proj": self.input_proj, "hidden": self.hidden,
                             "layers": self.layers, "directions": self.directions,
                             "tied": self.tied, "head_hidden": self.head_hidden}
        c["encoding"] = {"name": self.encoding, "features": list(self.feature_names)}
        c["window"] = {"length": self.length, "target": self.target}
        c["targets"] = {"clip": self.clip, "threshold": self.threshold, "transform": "log1p"}
        if self.sum_heads:
            c["targets"]["summed"] = {"heads": True}
        elif self.summed:
            c["targets"]["summed"] = {"edges": [int(e) for e in self.summed["edges"]],
                                      "scale": {d: [float(v) for v in self.summed["scale"][d]]
                                                for d in self.designs}}
        c["designs"] = list(self.designs)
        if self.training:
            c["training"] = copy.deepcopy(self.training)
        if self.metrics:
            c["metrics"] = copy.deepcopy(self.metrics)
        return c


def _int(d: dict, key: str, where: str, origin: str, lo: int, hi: int, default=None) -> int:
    if key not in d:
        if default is not None:
            return default
        raise ConfigError(f"{origin}: {where}: missing")
    v = d[key]
    if isinstance(v, bool) or not isinstance(v, int):
        raise ConfigError(f"{origin}: {where}: must be an integer, not '{v}'")
    if not lo <= v <= hi:
        raise ConfigError(f"{origin}: {where}: {v} is out of range [{lo}, {hi}]")
    return v


def _map(d: dict, key: str, origin: str, allowed: set | None = None) -> dict:
    v = d.get(key)
    if not isinstance(v, dict):
        raise ConfigError(f"{origin}: {key}: {'missing' if v is None else 'must be a mapping'}")
    if allowed is not None:
        for k in v:
            if k not in allowed:
                raise ConfigError(f"{origin}: {key}.{k}: unknown key (known: {', '.join(sorted(allowed))})")
    return v


def parse(doc, origin: str) -> ModelConfig:
    if not isinstance(doc, dict):
        raise ConfigError(f"{origin}: a model config must be a YAML mapping")
    for k in doc:
        if k not in TOP_KEYS:
            raise ConfigError(f"{origin}: {k}: unknown key (known: {', '.join(sorted(TOP_KEYS))})")
    if not isinstance(doc.get("variant"), str) or not doc["variant"]:
        raise ConfigError(f"{origin}: variant: missing")
    a = _map(doc, "architecture", origin, ARCH_KEYS)
    if a.get("type", "lstm") != "lstm":
        raise ConfigError(f"{origin}: architecture.type: unknown architecture '{a['type']}' (known: lstm)")
    c = ModelConfig(variant=doc["variant"], description=str(doc.get("description", "")))
    c.input_proj = _int(a, "input_proj", "architecture.input_proj", origin, 1, 4096)
    c.hidden = _int(a, "hidden", "architecture.hidden", origin, 1, 4096)
    c.layers = _int(a, "layers", "architecture.layers", origin, 1, 16)
    c.directions = _int(a, "directions", "architecture.directions", origin, 1, 2)
    c.tied = bool(a.get("tied", False))
    if c.tied and c.directions != 2:
        raise ConfigError(f"{origin}: architecture.tied: tied weights need 2 directions")
    c.head_hidden = _int(a, "head_hidden", "architecture.head_hidden", origin, 1, 4096)
    enc = _map(doc, "encoding", origin, {"name", "features"})
    c.encoding = enc.get("name")
    if c.encoding not in ENCODINGS:
        raise ConfigError(f"{origin}: encoding.name: unknown feature encoding '{c.encoding}' "
                          f"(known: {', '.join(ENCODINGS)})")
    c.feature_names = list(enc.get("features") or ENCODINGS[c.encoding])
    if c.feature_names != ENCODINGS[c.encoding]:
        raise ConfigError(f"{origin}: encoding.features: do not match encoding '{c.encoding}'")
    w = _map(doc, "window", origin, {"length", "target"})
    c.length = _int(w, "length", "window.length", origin, 1, 1 << 20)
    c.target = _int(w, "target", "window.target", origin, 1, 1 << 20)
    if c.target > c.length or (c.length - c.target) % 2:
        raise ConfigError(f"{origin}: window: need target ({c.target}) <= length ({c.length}) "
                          "and length - target even (centred target)")
    t = _map(doc, "targets", origin, {"clip", "threshold", "transform", "summed"})
    c.clip = _int(t, "clip", "targets.clip", origin, 1, 1 << 20)
    c.threshold = _int(t, "threshold", "targets.threshold", origin, 1, c.clip, 10)
    if t.get("transform", "log1p") != "log1p":
        raise ConfigError(f"{origin}: targets.transform: unknown transform '{t['transform']}' (known: log1p)")
    d = doc.get("designs")
    if not isinstance(d, list) or not d or not all(isinstance(x, str) and x for x in d):
        raise ConfigError(f"{origin}: designs: must be a non-empty list of design names")
    if len(set(d)) != len(d):
        raise ConfigError(f"{origin}: designs: a design is listed twice")
    c.designs = list(d)
    if "summed" in t:
        c.summed = _summed(t["summed"], c.clip, c.designs, origin)
    tr = doc.get("training") or {}
    if not isinstance(tr, dict):
        raise ConfigError(f"{origin}: training: must be a mapping")
    c.training = dict(tr)
    for k in ("reg_loss", "regressors"):
        allowed = {"reg_loss": ("mse", "huber", "l1"), "regressors": ("regime", "all")}[k]
        if c.hp(k) not in allowed:
            raise ConfigError(f"{origin}: training.{k}: '{c.hp(k)}' is not one of {', '.join(allowed)}")
    m = doc.get("metrics") or {}
    c.metrics = dict(m) if isinstance(m, dict) else {}
    return c


def _summed(s, clip: int, designs: list, origin: str) -> dict:
    """targets.summed: {heads: true} (sum heads), or a table: bins edges[b] <= p < edges[b+1]
    from 0 to clip + 1, and per design one positive finite scale per bin
    (docs/model-package.md)."""
    where = f"{origin}: targets.summed"
    if isinstance(s, dict) and "heads" in s:
        if set(s) != {"heads"}:
            raise ConfigError(f"{where}: holds either heads or a table (edges, scale), not both")
        if s["heads"] is not True:
            raise ConfigError(f"{where}.heads: must be true when given (sum heads)")
        return {"heads": True}
    if not isinstance(s, dict) or set(s) != {"edges", "scale"}:
        raise ConfigError(f"{where}: must be {{heads: true}} or a mapping with exactly 'edges' "
                          "and 'scale'")
    e = s["edges"]
    if (not isinstance(e, list) or len(e) < 2 or not all(isinstance(x, int) and not isinstance(x, bool)
                                                          for x in e)
            or e[0] != 0 or e[-1] != clip + 1 or any(a >= b for a, b in zip(e, e[1:]))):
        raise ConfigError(f"{where}.edges: must be increasing integers from 0 to clip + 1 = {clip + 1}")
    sc = s["scale"]
    if not isinstance(sc, dict) or set(sc) != set(designs):
        raise ConfigError(f"{where}.scale: needs exactly the designs {', '.join(designs)}")
    for d in designs:
        v = sc[d]
        if (not isinstance(v, list) or len(v) != len(e) - 1
                or not all(isinstance(x, (int, float)) and not isinstance(x, bool)
                           and math.isfinite(x) and x > 0 for x in v)):
            raise ConfigError(f"{where}.scale.{d}: must be {len(e) - 1} positive finite numbers")
    return {"edges": list(e), "scale": {d: [float(x) for x in sc[d]] for d in designs}}


def repo_root() -> str:
    return os.environ.get("NS_SOURCE_DIR") or os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))))


def load(name_or_path: str) -> ModelConfig:
    """Loads configs/model/<name>.yaml, a YAML file, or a package directory's model.yaml."""
    path = name_or_path
    if os.path.isdir(path):
        path = os.path.join(path, "model.yaml")
    elif not os.path.exists(path) and not path.endswith((".yaml", ".yml")):
        path = os.path.join(repo_root(), "configs", "model", name_or_path + ".yaml")
    try:
        with open(path, encoding="utf-8") as f:
            doc = yaml.safe_load(f)
    except OSError as e:
        raise ConfigError(f"{path}: cannot open model config: {e.strerror}") from e
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: not valid YAML: {e}") from e
    return parse(doc, path)
