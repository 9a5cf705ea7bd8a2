"""The training loop: Adam with warm-up + cosine decay, early stopping on validation MAE,
fixed seeds, safetensors checkpoints, progress on stderr, DistributedDataParallel when launched
by torchrun (gloo on CPU, nccl on CUDA), a single process otherwise."""
from __future__ import annotations

import json
import math
import os
import sys
import time

import numpy as np
import torch

from . import cpu, data, evaluate, package, tensorfile
from .config import ModelConfig
from .loss import joint_loss
from .net import NeuroScalarNet, count_parameters


class Dist:
    """torchrun's environment (RANK, WORLD_SIZE, LOCAL_RANK), or a single process."""

    def __init__(self, device: str):
        self.world = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = int(os.environ.get("RANK", "0"))
        self.local = int(os.environ.get("LOCAL_RANK", "0"))
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        if device == "cuda":
            torch.cuda.set_device(self.local)
            device = f"cuda:{self.local}"
        self.device = device
        # One process group for the life of the process (a study trains several runs in one
        # launch): destroying it and creating it again on torchrun's same port races with the old
        # store's teardown ("Connection reset by peer").
        if self.world > 1 and not torch.distributed.is_initialized():
            torch.distributed.init_process_group("nccl" if device.startswith("cuda") else "gloo")

    @property
    def main(self) -> bool:
        return self.rank == 0

    def barrier(self):
        if self.world > 1:
            torch.distributed.barrier()

    def all_sum(self, values: list[float]) -> list[float]:
        if self.world == 1:
            return values
        t = torch.tensor(values, dtype=torch.float64,
                         device=self.device if self.device.startswith("cuda") else "cpu")
        torch.distributed.all_reduce(t)
        return t.tolist()

    def close(self):
        self.barrier()  # the group itself stays for the next run of a study


def log(msg: str, end: str = "\n"):
    print(msg, file=sys.stderr, end=end, flush=True)


def lr_factor(step: int, warmup: int, total: int, min_ratio: float, time_frac: float = 0.0) -> float:
    """Linear warm-up, then cosine decay to min_ratio. The decay follows the planned steps or,
    when the run has a wall-clock budget, the share of it already spent, whichever is further:
    a run cut short by its budget still ends at the low learning rate."""
    if step < warmup:
        return (step + 1) / warmup
    p = min(1.0, max((step - warmup) / max(1, total - warmup), time_frac))
    return min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * p))


def save_checkpoint(path: str, net, opt, state: dict):
    """Model + Adam state as safetensors (no pickle); progress counters in the metadata."""
    t = {f"model.{k}": v.detach().cpu() for k, v in net.state_dict().items()}
    names = [n for n, _ in net.named_parameters()]
    for i, st in opt.state_dict()["state"].items():
        for k, v in st.items():
            t[f"adam.{names[i]}.{k}"] = torch.as_tensor(v).detach().cpu().float()
    tensorfile.save(path, {k: v.numpy() for k, v in t.items()}, {"state": json.dumps(state)})


def load_checkpoint(path: str, net, opt) -> dict:
    t, meta = tensorfile.load(path)
    net.load_state_dict({k[6:]: torch.from_numpy(v) for k, v in t.items() if k.startswith("model.")})
    sd = opt.state_dict()
    for i, (n, p) in enumerate(net.named_parameters()):
        if f"adam.{n}.exp_avg" in t:
            sd["state"][i] = {"step": torch.tensor(float(t[f"adam.{n}.step"])),
                              "exp_avg": torch.from_numpy(t[f"adam.{n}.exp_avg"]).to(p.device),
                              "exp_avg_sq": torch.from_numpy(t[f"adam.{n}.exp_avg_sq"]).to(p.device)}
    opt.load_state_dict(sd)
    return json.loads(meta["state"])


def train(cfg: ModelConfig, ds: data.Dataset, out_dir: str, device: str = "auto",
          train_names: list[str] | None = None, val_names: list[str] | None = None,
          resume: bool = False, threads: int = 0, quiet: bool = False, stop_after: int = 0) -> dict:
    """Trains cfg on the dataset's training programs, validates on its validation programs,
    writes the best model as a package to out_dir and returns its validation metrics.
    stop_after > 0 ends the run after that many epochs as if interrupted (tests of --resume)."""
    dist = Dist(device)
    dev = dist.device
    thr = cpu.set_threads(threads, int(os.environ.get("LOCAL_WORLD_SIZE", "1"))) if dev == "cpu" else {}
    seed = int(cfg.hp("seed"))
    torch.manual_seed(seed)
    np.random.seed(seed)
    if ds.encoding != cfg.encoding or ds.feature_names != cfg.feature_names:
        raise data.DatasetError(f"{ds.root}: encoding {ds.encoding} {ds.feature_names} does not match "
                                f"the model's {cfg.encoding} {cfg.feature_names}")
    train_names = train_names or ds.names("train")
    val_names = val_names or ds.names("validation")
    if not train_names or not val_names:
        raise data.DatasetError(f"{ds.root}: need training and validation programs "
                                f"(train: {train_names}, validation: {val_names})")
    cols = ds.design_columns(cfg.designs)
    tr_shards = [ds.shard(n) for n in train_names]
    t_train = int(cfg.hp("train_target")) or cfg.target  # longer training windows, same context
    tw = data.Windows(tr_shards, 2 * cfg.context + t_train, t_train, cols)
    vw = data.Windows([ds.shard(n) for n in val_names], cfg.length, cfg.target, cols)
    rng = np.random.default_rng(seed)
    n_val = int(cfg.hp("val_windows"))
    val_rows = np.sort(rng.permutation(len(vw))[:n_val] if n_val else np.arange(len(vw)))

    net = NeuroScalarNet(cfg)
    mean, std = data.feature_stats(tr_shards)
    net.norm.mean.copy_(torch.from_numpy(mean).float())
    net.norm.std.copy_(torch.from_numpy(std).float())
    net.to(dev)
    opt = torch.optim.Adam(net.parameters(), lr=float(cfg.hp("lr")),
                           weight_decay=float(cfg.hp("weight_decay")))
    B = int(cfg.hp("batch_size"))
    per_epoch = int(cfg.hp("windows_per_epoch")) or len(tw)
    per_epoch = min(per_epoch, len(tw))
    steps_per_epoch = max(1, per_epoch // (B * dist.world))
    epochs = int(cfg.hp("epochs"))
    total = steps_per_epoch * epochs
    warm = min(int(cfg.hp("warmup_steps")), max(1, total // 10))
    fac = lambda s, tf: lr_factor(s, warm, total, float(cfg.hp("lr_min_ratio")), tf)
    state = {"epoch": 0, "step": 0, "best_mae": float("inf"), "best_epoch": -1, "bad_epochs": 0,
             "history": [], "seconds": 0.0}
    os.makedirs(out_dir, exist_ok=True)
    ckpt = os.path.join(out_dir, "checkpoint.safetensors")
    best_path = os.path.join(out_dir, "best.safetensors")
    if resume and os.path.exists(ckpt):
        state = load_checkpoint(ckpt, net, opt)
        if dist.main and not quiet:
            log(f"resumed from {ckpt} at epoch {state['epoch']}")
    model = net
    if dist.world > 1:
        model = torch.nn.parallel.DistributedDataParallel(
            net, device_ids=[dist.local] if dev.startswith("cuda") else None)
    info = {"variant": cfg.variant, "parameters": count_parameters(net), "designs": cfg.designs,
            "window": [cfg.length, cfg.target], "train_window": [tw.L, t_train],
            "train_windows": len(tw), "val_windows": len(val_rows),
            "steps_per_epoch": steps_per_epoch, "batch": B, "world": dist.world, "device": dev,
            **thr}
    if dist.main and not quiet:
        log("train: " + json.dumps(info))
    budget = float(cfg.hp("max_minutes")) * 60
    t_run = time.time() - state["seconds"]
    time_frac = state["seconds"] / budget if budget else 0.0  # share of the budget spent
    stop = False
    grad_clip = float(cfg.hp("grad_clip"))
    kw = dict(clip=cfg.clip, threshold=cfg.threshold, cls_weight=float(cfg.hp("cls_weight")),
              reg=cfg.hp("reg_loss"), huber_delta=float(cfg.hp("huber_delta")),
              regressors=cfg.hp("regressors"), sum_weight=float(cfg.hp("sum_weight")))
    while state["epoch"] < epochs and not stop:
        ep = state["epoch"]
        torch.manual_seed(seed * 1000 + ep * 10 + dist.rank)
        perm = np.random.default_rng([seed, ep]).permutation(len(tw))[:steps_per_epoch * B * dist.world]
        mine = perm[dist.rank::dist.world]
        t0, last, sums = time.time(), time.time(), [0.0, 0.0, 0.0, 0]
        model.train()
        for i in range(steps_per_epoch):
            x, y, m = tw.batch(mine[i * B:(i + 1) * B])
            x, y, m = (torch.from_numpy(a).to(dev, non_blocking=True) for a in (x, y, m))
            for g in opt.param_groups:
                g["lr"] = float(cfg.hp("lr")) * fac(state["step"], time_frac)
            logits, s, l = model(x, t_train)
            loss, parts = joint_loss(logits, s, l, y, m, **kw)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if grad_clip > 0:
                torch.nn.utils.clip_grad_norm_(net.parameters(), grad_clip)
            opt.step()
            state["step"] += 1
            sums = [sums[0] + float(loss.detach()), sums[1] + parts["cls"], sums[2] + parts["reg"], sums[3] + 1]
            now = time.time()
            if budget:  # the ranks agree on the time spent: same learning rate, same last step
                time_frac = dist.all_sum([(now - t_run) / budget])[0] / dist.world
                stop = time_frac >= 1.0
            if dist.main and not quiet and (now - last > 10 or i == steps_per_epoch - 1 or stop):
                last = now
                wps = (i + 1) * B * dist.world / (now - t0)
                eta = (steps_per_epoch - i - 1) * (now - t0) / (i + 1)
                log(f"\repoch {ep + 1}/{epochs} step {i + 1}/{steps_per_epoch} loss {sums[0] / sums[3]:.4f} "
                    f"(cls {sums[1] / sums[3]:.4f} reg {sums[2] / sums[3]:.4f}) lr {opt.param_groups[0]['lr']:.2e} "
                    f"{wps:.1f} windows/s {wps * t_train:.0f} instr/s eta {eta:.0f}s   ", end="")
            if stop:
                break
        train_s = time.time() - t0
        tot = dist.all_sum([sums[0], sums[1], sums[2], sums[3]])
        if dist.main:
            v = evaluate.validate(net, cfg, vw, val_rows, max(B, 64), dev)
        dist.barrier()
        mae = dist.all_sum([v["mae"] if dist.main else 0.0])[0]
        rec = {"epoch": ep + 1, "loss": tot[0] / max(tot[3], 1), "cls": tot[1] / max(tot[3], 1),
               "reg": tot[2] / max(tot[3], 1), "train_seconds": round(train_s, 1),
               "windows_per_s": round(steps_per_epoch * B * dist.world / max(train_s, 1e-9), 2),
               "instructions_per_s": round(steps_per_epoch * B * dist.world * t_train / max(train_s, 1e-9))}
        if dist.main:
            rec.update({k: round(v[k], 5) for k in ("mae", "exact", "within1", "within2", "rel5", "cpi_error")})
        state["history"].append(rec)
        state["epoch"] = ep + 1
        if mae < state["best_mae"]:
            state.update(best_mae=mae, best_epoch=ep + 1, bad_epochs=0)
            if dist.main:
                tensorfile.save(best_path, package.state_arrays(net))
        else:
            state["bad_epochs"] += 1
        state["seconds"] = time.time() - t_run
        if dist.main:
            if not quiet:
                log("\n" + json.dumps(rec))
            save_checkpoint(ckpt, net, opt, state)
        dist.barrier()
        if stop_after and state["epoch"] >= stop_after:
            break
        if state["bad_epochs"] >= int(cfg.hp("early_stopping")):
            if dist.main and not quiet:
                log(f"early stop: no validation MAE improvement for {state['bad_epochs']} epochs")
            break
    result = {}
    if dist.main:
        best, _ = tensorfile.load(best_path)
        net.load_state_dict({k: torch.from_numpy(a) for k, a in best.items()})
        v = evaluate.validate(net, cfg, vw, val_rows, max(B, 64), dev)
        cfg.training = {**cfg.training, **{k: cfg.hp(k) for k in ("seed", "batch_size", "lr")},
                        "epochs_run": state["epoch"], "best_epoch": state["best_epoch"],
                        "seconds": round(state["seconds"], 1), "device": dev, "world": dist.world,
                        "programs": train_names,
                        "instructions": int(sum(s.n for s in tr_shards)),
                        "predicted_instructions": int(state["step"] * B * dist.world * t_train),
                        "validation_programs": val_names, "history": state["history"]}
        cfg.metrics = {"validation": {k: round(v[k], 5) for k in v if k != "designs"},
                       "validation_designs": {d: {k: round(x, 5) for k, x in r.items()}
                                              for d, r in v["designs"].items()}}
        package.export(out_dir, cfg, net)
        result = v
        if not quiet:
            log(f"wrote {out_dir}/model.yaml, model.safetensors (best epoch {state['best_epoch']}, "
                f"validation MAE {v['mae']:.4f}, exact {v['exact']:.4f})")
    dist.barrier()
    dist.close()
    return result
