"""Training shards (docs/dataset.md) mapped with numpy.memmap, and window formation.

A window of length L has its T targets centred, C = (L - T) / 2 context positions on each
side. Within an epoch of N rows, window k covers rows [kT - C, kT + T + C) of the epoch and
predicts rows [kT, kT + T) ∩ [0, N); positions outside the epoch are padding whose raw feature
vector is all zeros. So every row of every epoch is predicted exactly once.
"""
from __future__ import annotations

import json
import os

import numpy as np

MANIFEST_VERSION = 1


class DatasetError(ValueError):
    """The dataset is malformed; the message names the file and the problem."""


class Shard:
    """One program's rows: features N x F int32, labels N x C uint32, epoch offsets."""

    def __init__(self, folder: str, name: str, n_features: int, configs: list[str]):
        self.name, self.folder, self.configs = name, folder, list(configs)
        ep_path = os.path.join(folder, "epochs.u64")
        self.epochs = self._map(ep_path, np.dtype("<u8"), None).astype(np.int64)
        if self.epochs.size < 2 or self.epochs[0] != 0 or np.any(np.diff(self.epochs) < 0):
            raise DatasetError(f"{ep_path}: epoch offsets must start at 0 and not decrease "
                               f"({self.epochs.size} values)")
        self.n = int(self.epochs[-1])
        self.features = self._map(os.path.join(folder, "features.i32"), np.dtype("<i4"), n_features)
        self.labels = self._map(os.path.join(folder, "labels.u32"), np.dtype("<u4"), len(configs))

    def _map(self, path: str, dtype: np.dtype, cols: int | None) -> np.ndarray:
        if not os.path.exists(path):
            raise DatasetError(f"{path}: missing")
        size = os.path.getsize(path)
        if cols is None:
            if size % dtype.itemsize or size == 0:
                raise DatasetError(f"{path}: {size} bytes is not a whole number of {dtype.itemsize}-byte values")
            return np.memmap(path, dtype=dtype, mode="r")
        want = self.n * cols * dtype.itemsize
        if size != want:
            raise DatasetError(f"{path}: {size} bytes, expected {want} ({self.n} rows x {cols} x "
                               f"{dtype.itemsize} bytes; rows from epochs.u64)")
        if self.n == 0:
            return np.zeros((0, cols), dtype=dtype)
        return np.memmap(path, dtype=dtype, mode="r", shape=(self.n, cols))

    def epoch_bounds(self) -> np.ndarray:
        """[E, 2] array of (start, end) rows of the non-empty epochs."""
        b = np.stack([self.epochs[:-1], self.epochs[1:]], axis=1)
        return b[b[:, 1] > b[:, 0]]


class ArrayShard(Shard):
    """A shard held in memory (tests, cross-check vectors): features [N, F], labels [N, C],
    epoch offsets [E + 1]."""

    def __init__(self, features, labels, epochs, name: str = "array"):  # noqa: super not called
        self.name, self.folder, self.configs = name, None, []
        self.features = np.asarray(features, dtype=np.int32)
        self.labels = np.asarray(labels, dtype=np.uint32)
        self.epochs = np.asarray(epochs, dtype=np.int64)
        self.n = int(self.epochs[-1])
        if self.features.shape[0] != self.n or self.labels.shape[0] != self.n:
            raise DatasetError(f"{name}: {self.features.shape[0]} feature rows, {self.labels.shape[0]} "
                               f"label rows, epochs end at {self.n}")


class Dataset:
    """A dataset folder: manifest.json plus one Shard per program (opened lazily)."""

    def __init__(self, root: str):
        self.root = root
        path = os.path.join(root, "manifest.json")
        try:
            with open(path, encoding="utf-8") as f:
                m = json.load(f)
        except OSError as e:
            raise DatasetError(f"{path}: cannot read: {e.strerror}") from e
        except json.JSONDecodeError as e:
            raise DatasetError(f"{path}: not valid JSON: {e}") from e
        if not isinstance(m, dict) or m.get("version") != MANIFEST_VERSION:
            raise DatasetError(f"{path}: version {m.get('version') if isinstance(m, dict) else None} "
                               f"is not {MANIFEST_VERSION}")
        for k in ("encoding", "feature_names", "configs", "programs"):
            if k not in m:
                raise DatasetError(f"{path}: '{k}' missing")
        self.manifest = m
        self.encoding = m["encoding"]
        self.feature_names = list(m["feature_names"])
        self.configs = list(m["configs"])
        self.programs = {}
        for p in m["programs"]:
            if not isinstance(p, dict) or "name" not in p or "split" not in p:
                raise DatasetError(f"{path}: every program needs 'name' and 'split'")
            self.programs[p["name"]] = p
        self._shards: dict[str, Shard] = {}

    def names(self, split: str | None = None) -> list[str]:
        return [n for n, p in self.programs.items() if split is None or p["split"] == split]

    def shard(self, name: str) -> Shard:
        if name not in self._shards:
            if name not in self.programs:
                raise DatasetError(f"{self.root}: no program '{name}' in the manifest")
            self._shards[name] = Shard(os.path.join(self.root, name), name,
                                       len(self.feature_names), self.configs)
        return self._shards[name]

    def design_columns(self, designs: list[str]) -> list[int]:
        missing = [d for d in designs if d not in self.configs]
        if missing:
            raise DatasetError(f"{self.root}: designs {missing} are not labelled in this dataset "
                               f"(configs: {self.configs})")
        return [self.configs.index(d) for d in designs]


def window_starts(epoch_start: int, epoch_end: int, T: int) -> np.ndarray:
    """Target starts kT (absolute rows) of the windows covering one epoch."""
    n = epoch_end - epoch_start
    return epoch_start + T * np.arange((n + T - 1) // T, dtype=np.int64)


class Windows:
    """Window descriptors over a set of shards: (shard index, epoch start, epoch end, target start)."""

    def __init__(self, shards: list[Shard], L: int, T: int, columns: list[int]):
        if T < 1 or T > L or (L - T) % 2:
            raise ValueError(f"bad window: length {L}, target {T}")
        self.shards, self.L, self.T, self.C = shards, L, T, (L - T) // 2
        self.columns = np.asarray(columns, dtype=np.int64)
        parts = []
        for si, s in enumerate(shards):
            for a, b in s.epoch_bounds():
                t0 = window_starts(int(a), int(b), T)
                parts.append(np.stack([np.full_like(t0, si), np.full_like(t0, a),
                                       np.full_like(t0, b), t0], axis=1))
        self.index = np.concatenate(parts) if parts else np.zeros((0, 4), dtype=np.int64)

    def __len__(self) -> int:
        return len(self.index)

    def batch(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Windows `rows` of the index -> (features [B, L, F] float32, raw; labels [B, T, D]
        int64 cycles; mask [B, T] bool, False on padding targets)."""
        B, L, T, C = len(rows), self.L, self.T, self.C
        F = self.shards[0].features.shape[1] if self.shards else 0
        x = np.zeros((B, L, F), dtype=np.float32)
        y = np.zeros((B, T, len(self.columns)), dtype=np.int64)
        m = np.zeros((B, T), dtype=bool)
        for i, (si, a, b, t0) in enumerate(self.index[rows]):
            s = self.shards[si]
            lo, hi = max(a, t0 - C), min(b, t0 + T + C)
            x[i, lo - (t0 - C):hi - (t0 - C)] = s.features[lo:hi]
            te = min(b, t0 + T)
            y[i, :te - t0] = s.labels[t0:te][:, self.columns]
            m[i, :te - t0] = True
        return x, y, m


def sampled_windows(ds: "Dataset", names: list[str], L: int, T: int, designs: list[str], count: int,
                    seed: int) -> tuple[Windows, np.ndarray]:
    """The windows of the programs `names` and `count` of them drawn with `seed`, in row order
    (the windows that calibrate, refit and the study's calibration work on)."""
    win = Windows([ds.shard(n) for n in names], L, T, ds.design_columns(designs))
    return win, np.sort(np.random.default_rng(seed).permutation(len(win))[:count])


def feature_stats(shards: list[Shard], max_rows: int = 4_000_000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Per-feature mean and std (float64) over the shards' rows (an even sample of at most
    max_rows); std is clamped to >= 1e-3 as the model definition requires."""
    total = sum(s.n for s in shards)
    if total == 0:
        raise DatasetError("no training rows to compute normalisation statistics from")
    F = shards[0].features.shape[1]
    s1, s2, n = np.zeros(F), np.zeros(F), 0
    step = max(1, total // max_rows)
    for s in shards:
        for a in range(0, s.n, 1 << 20):
            blk = np.asarray(s.features[a:min(s.n, a + (1 << 20)):step], dtype=np.float64)
            s1 += blk.sum(0)
            s2 += (blk * blk).sum(0)
            n += len(blk)
    mean = s1 / n
    std = np.sqrt(np.maximum(s2 / n - mean * mean, 0.0))
    return mean, np.maximum(std, 1e-3)
