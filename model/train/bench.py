"""Training and inference throughput on random inputs: windows/s and predicted instructions/s
per variant, window and batch size, plus which BLAS library the process really loaded."""
from __future__ import annotations

import json
import sys
import time

import torch

from . import cpu
from .loss import joint_loss
from .net import NeuroScalarNet


def measure(cfg, batch: int, steps: int, device: str) -> dict:
    torch.manual_seed(0)
    net = NeuroScalarNet(cfg).to(device)
    opt = torch.optim.Adam(net.parameters(), lr=1e-4)
    x = torch.randn(batch, cfg.length, cfg.features, device=device)
    y = torch.randint(0, 30, (batch, cfg.target, len(cfg.designs)), device=device)
    m = torch.ones(batch, cfg.target, dtype=torch.bool, device=device)
    sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)

    def step():
        logits, s, l = net(x)
        loss, _ = joint_loss(logits, s, l, y, m, cfg.clip, cfg.threshold)
        opt.zero_grad()
        loss.backward()
        opt.step()

    def median_seconds(fn) -> float:
        fn()
        sync()
        times = []
        for _ in range(steps):
            t = time.perf_counter()
            fn()
            sync()
            times.append(time.perf_counter() - t)
        return sorted(times)[len(times) // 2]  # the median resists other jobs on a shared machine

    train_s = median_seconds(step)
    net.eval()
    with torch.no_grad():
        infer_s = median_seconds(lambda: net(x))
    return {"variant": cfg.variant, "window": [cfg.length, cfg.target], "batch": batch,
            "designs": len(cfg.designs),
            "train_windows_per_s": round(batch / train_s, 2),
            "train_instructions_per_s": round(batch * cfg.target / train_s, 1),
            "infer_instructions_per_s": round(batch * cfg.target / infer_s, 1),
            "infer_gmac_per_s": round(batch * cfg.target * cfg.macs_per_instruction() / infer_s / 1e9, 2)}


def run(cfgs: list, batches: list[int], steps: int, device: str, threads: int = 0) -> dict:
    """Measures every config at every batch size; progress lines on stderr."""
    head = {"device": device, **cpu.set_threads(threads), "torch": torch.__version__}
    rows = []
    for cfg in cfgs:
        for b in batches:
            rows.append(measure(cfg, b, steps, device))
            print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    return {**head, "blas_libraries": cpu.blas_libraries(), "results": rows}
