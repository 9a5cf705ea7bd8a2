"""Where a program's cycles come from, and which of them a model can see coming.

For each program of a perfvec18 or perfvec18-trace dataset: the share of its cycles spent in
long-latency instructions (DRAM-class, >= `long` cycles), how many of those are cold data
accesses (the encoder's data_reuse = kColdReuse: the line was not touched earlier in the epoch
and its warm-up, or with perfvec18-trace earlier in the trace), and how often a cold access is
long. The reference core keeps its caches from one epoch to the next; perfvec18 starts each
epoch afresh, so there whether a cold access is an LLC hit or a DRAM miss is the part of a
memory-bound program's CPI that the features do not carry (docs/results/model.md, "Where the
CPI error comes from"). With predictions
(`neuroscalar predict --dump-latencies` of the program's trace, all epochs) it also splits the
predicted and true cycles between cold accesses and the rest.
"""
from __future__ import annotations

import numpy as np

from .data import Dataset, DatasetError

COLD_REUSE = 40  # ns::model::kColdReuse (model/include/ns/model/features.h)


def program_sources(labels: np.ndarray, reuse: np.ndarray, long: int = 100,
                    predicted: np.ndarray | None = None) -> dict:
    """labels and predicted: [N] cycles of one design; reuse: [N] data_reuse feature."""
    t = np.asarray(labels, dtype=np.int64)
    r = np.asarray(reuse)
    n = int(t.size)
    if r.shape != t.shape:
        raise DatasetError(f"{r.size} data_reuse values for {n} labels")
    cold, lng, access = r == COLD_REUSE, t >= long, r > 0
    warm = access & ~cold
    total = int(t.sum())

    def share(mask_num, mask_den):
        den = int(mask_den.sum())
        return float((mask_num & mask_den).sum() / den) if den else 0.0

    out = {"instructions": n, "cpi": total / n if n else 0.0,
           "long_cycle_share": float(t[lng].sum() / total) if total else 0.0,
           "long_instructions": int(lng.sum()), "cold_accesses": int(cold.sum()),
           "p_long_given_cold": share(lng, cold), "p_cold_given_long": share(cold, lng),
           "p_long_given_warm_access": share(lng, warm)}
    if predicted is not None:
        p = np.asarray(predicted, dtype=np.int64)
        if p.shape != t.shape:
            raise DatasetError(f"{p.size} predictions for {n} labels")
        out.update({"predicted_cpi": float(p.sum() / n) if n else 0.0,
                    "cold_cycles_true": int(t[cold].sum()), "cold_cycles_predicted": int(p[cold].sum()),
                    "other_cycles_true": int(t[~cold].sum()), "other_cycles_predicted": int(p[~cold].sum()),
                    "cold_predicted_long": int((p[cold] >= long).sum())})
    return out


def dataset_sources(ds: Dataset, names: list[str], design: str, long: int = 100,
                    predictions: dict[str, str] | None = None) -> dict:
    """{program: program_sources} for a design; predictions maps a program to its
    --dump-latencies file (instruction-major, the dataset's designs in `designs` order)."""
    if "data_reuse" not in ds.feature_names:
        raise DatasetError(f"{ds.root}: encoding {ds.encoding} has no data_reuse feature "
                           "(perfvec18 and perfvec18-trace have)")
    col = ds.design_columns([design])[0]
    fcol = ds.feature_names.index("data_reuse")
    res = {}
    for name in names:
        sh = ds.shard(name)
        pred = None
        if predictions and name in predictions:
            raw = np.fromfile(predictions[name], dtype="<u4")
            if raw.size != sh.n * len(ds.configs):
                raise DatasetError(f"{predictions[name]}: {raw.size} values, expected {sh.n} instructions "
                                   f"x {len(ds.configs)} designs")
            pred = raw.reshape(sh.n, len(ds.configs))[:, col]
        res[name] = program_sources(sh.labels[:, col], sh.features[:, fcol], long, pred)
    return res
