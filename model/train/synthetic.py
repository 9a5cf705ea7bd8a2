"""Synthetic training shards in the layout of docs/dataset.md, for tests and for development
before the real dataset exists. Each program is a random loop nest of static instructions with
strided memory streams; its labels come from a small deterministic latency model (opclass
latencies, register dependences, an LRU data cache whose size and miss penalty differ per
design), so they depend on context the way real retirement latencies do and a model can learn
them. They are not a stand-in for the reference core's numbers."""
from __future__ import annotations

import json
import os
from collections import OrderedDict

import numpy as np

from .config import PAPER13

# opclass values of docs/trace-format.md
INT_ALU, INT_MULT, INT_DIV, FLOAT_ADD, FLOAT_MULT = 1, 2, 3, 4, 7
MEM_READ, MEM_WRITE, BRANCH_COND = 33, 34, 38
OPS = np.array([INT_ALU, INT_ALU, INT_ALU, INT_ALU, INT_MULT, INT_DIV, FLOAT_ADD, FLOAT_MULT,
                MEM_READ, MEM_READ, MEM_READ, MEM_WRITE, BRANCH_COND])
LATENCY = {INT_ALU: 1, INT_MULT: 3, INT_DIV: 20, FLOAT_ADD: 4, FLOAT_MULT: 5, MEM_READ: 2,
           MEM_WRITE: 1, BRANCH_COND: 1}
# design name -> (retire width, cache lines, miss penalty)
DESIGNS = {"8w": (8, 64, 120), "6w+ls": (6, 64, 120), "rob": (4, 48, 150),
           "lsq": (4, 48, 140), "4w+mem": (4, 128, 60)}


def _split(a: int) -> tuple[int, int, int]:
    return a >> 42, (a >> 20) & ((1 << 22) - 1), a & ((1 << 20) - 1)


def static_code(rng: np.random.Generator) -> dict:
    """A random static program: instructions with PCs, opclasses, registers and memory streams."""
    n = int(rng.integers(40, 120))
    code = {"pcs": 0x401000 + np.cumsum(rng.integers(1, 8, n)), "ops": rng.choice(OPS, n),
            "regs": rng.integers(0, 16, (n, 3)),
            "base": 0x7f0000000000 + rng.integers(0, 1 << 24, n) * 64,
            "stride": rng.choice([0, 8, 64, 64 * 37], n),
            "span": rng.choice([1 << 10, 1 << 14, 1 << 20], n)}
    code["loop_len"] = int(rng.integers(8, n))
    return code


def with_input(code: dict, rng: np.random.Generator) -> dict:
    """The same code run on another input: other data addresses, footprints and loop shape."""
    n = len(code["ops"])
    return dict(code, base=0x7f0000000000 + rng.integers(0, 1 << 24, n) * 64,
                span=rng.choice([1 << 10, 1 << 14, 1 << 20], n),
                loop_len=int(rng.integers(8, n)))


def program(rng: np.random.Generator, n_rows: int, code: dict | None = None):
    """Dynamic instruction stream of a synthetic program (`code`, or a new one drawn from rng):
    features [n, 13] int32 and the per-row (opclass, src regs, dst reg, address) needed by the
    latency model."""
    code = code or static_code(rng)
    pcs, ops, regs = code["pcs"], code["ops"], code["regs"]
    base, stride, span, loop_len = code["base"], code["stride"], code["span"], code["loop_len"]
    n_static = len(ops)
    feats = np.zeros((n_rows, 13), dtype=np.int32)
    info = []
    count = np.zeros(n_static, dtype=np.int64)
    i = 0
    for r in range(n_rows):
        op = int(ops[i])
        addr = int(base[i] + (count[i] * stride[i]) % span[i]) if op in (MEM_READ, MEM_WRITE) else 0
        count[i] += 1
        s1, s2, d = (int(v) for v in regs[i])
        feats[r, 0:3] = _split(int(pcs[i]))
        feats[r, 3] = op
        feats[r, 4:7] = _split(addr)
        feats[r, 7:13] = (1, s1, 1, s2, 0 if op in (MEM_WRITE, BRANCH_COND) else 1,
                          0 if op in (MEM_WRITE, BRANCH_COND) else d)
        info.append((op, s1, s2, d if op not in (MEM_WRITE, BRANCH_COND) else -1, addr))
        # control flow: a loop back-edge taken 7 times in 8, otherwise fall through / wrap
        if op == BRANCH_COND and i >= loop_len and count[i] % 8:
            i -= loop_len
        else:
            i = (i + 1) % n_static
    return feats, info


def latencies(info, width: int, lines: int, penalty: int):
    """Retirement latency per row under one design (a toy out-of-order core: `width`
    instructions fetched and retired per cycle, a 16 x width entry window, results ready after
    the opclass latency plus a miss penalty for loads missing an LRU cache of `lines` lines),
    and side bits (data-access level)."""
    lru: OrderedDict = OrderedDict()
    ready = np.zeros(16)  # cycle each register's value becomes available
    rob = 16 * width
    retired = np.zeros(len(info))
    lat = np.zeros(len(info), dtype=np.uint32)
    side = np.zeros(len(info), dtype=np.uint8)
    last, slot = 0, 0
    for r, (op, s1, s2, d, addr) in enumerate(info):
        fetch = max(r // width, retired[r - rob] if r >= rob else 0)
        done = max(fetch, ready[s1], ready[s2]) + LATENCY[op]
        if op in (MEM_READ, MEM_WRITE):
            line = addr >> 6
            hit = line in lru
            if hit:
                lru.move_to_end(line)
            else:
                lru[line] = True
                if len(lru) > lines:
                    lru.popitem(last=False)
                if op == MEM_READ:
                    done += penalty
            side[r] = 1 if hit else 4
        if d >= 0:
            ready[d] = done
        t = max(done, last)
        if t == last and slot >= width:
            t += 1
        slot = slot + 1 if t == last else 1
        lat[r] = int(t - last) if r else 0
        retired[r] = last = t
    return lat, side


def make_dataset(root: str, programs=(("syn_a", "train"), ("syn_b", "train"), ("syn_c", "validation"),
                                      ("syn_d", "test")),
                 epochs: int = 2, epoch_len: int = 2000, designs=tuple(DESIGNS), seed: int = 7,
                 ragged: bool = True, shared_code: bool = True) -> str:
    """Writes <root>/manifest.json and one shard folder per program; returns root. With ragged,
    epoch lengths vary (exercises padding; epoch_len is the longest). With shared_code every
    program runs the same static code on its own input, so a model trained on some programs
    can generalise to the others; otherwise each program is unrelated code."""
    os.makedirs(root, exist_ok=True)
    rng = np.random.default_rng(seed)
    code = static_code(rng) if shared_code else None
    entries = []
    for name, split in programs:
        lens = [epoch_len - (int(rng.integers(0, epoch_len // 3)) if ragged and e else 0)
                for e in range(epochs)]
        feats, info = program(rng, sum(lens), with_input(code, rng) if code else None)
        labs, sides = zip(*(latencies(info, *DESIGNS[d]) for d in designs))
        labels = np.stack(labs, axis=1).astype("<u4")
        folder = os.path.join(root, name)
        os.makedirs(folder, exist_ok=True)
        feats.astype("<i4").tofile(os.path.join(folder, "features.i32"))
        labels.tofile(os.path.join(folder, "labels.u32"))
        np.stack(sides, axis=1).tofile(os.path.join(folder, "side.u8"))
        np.concatenate([[0], np.cumsum(lens)]).astype("<u8").tofile(os.path.join(folder, "epochs.u64"))
        n = int(sum(lens))
        entries.append({"name": name, "split": split, "instructions": n, "epochs": epochs,
                        "trace": f"{name}.nstrace",
                        "ipc": {d: n / max(1, int(labels[:, j].sum())) for j, d in enumerate(designs)}})
    manifest = {"version": 1, "encoding": "paper13", "feature_names": PAPER13,
                "configs": list(designs), "programs": entries, "synthetic": True}
    with open(os.path.join(root, "manifest.json"), "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=1)
    return root
