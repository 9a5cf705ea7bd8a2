"""CPU threading. Debian's torch runs its matrix products in the system BLAS (OpenBLAS through
the libblas.so.3 alternative), which has its own thread pool: torch's OpenMP threads on top of
it oversubscribe the cores (measured on the 2-core VM: 8 training windows/s with 2 + 2 threads
against 207 with 1 torch thread and 2 OpenBLAS threads). So torch gets one thread and OpenBLAS
gets the cores."""
from __future__ import annotations

import ctypes
import os

import torch


def blas_libraries() -> list[str]:
    """Shared BLAS/LAPACK libraries mapped into this process (OpenBLAS vs the reference BLAS)."""
    libs = set()
    try:
        with open("/proc/self/maps", encoding="utf-8") as f:
            for line in f:
                p = line.split()[-1]
                if any(s in os.path.basename(p) for s in ("blas", "lapack", "mkl")):
                    libs.add(os.path.realpath(p))
    except OSError:
        pass
    return sorted(libs)


def set_threads(blas_threads: int = 0, local_ranks: int = 1) -> dict:
    """torch: 1 intra-op thread; OpenBLAS: blas_threads (default: cores / local ranks).
    Returns what was set, for logs and cards."""
    n = blas_threads or max(1, (os.cpu_count() or 1) // max(1, local_ranks))
    torch.set_num_threads(1)
    openblas = [p for p in blas_libraries() if "openblas" in os.path.basename(p)]
    for p in openblas:
        try:
            ctypes.CDLL(p).openblas_set_num_threads(ctypes.c_int(n))
        except (OSError, AttributeError):
            pass
    return {"torch_threads": 1, "blas_threads": n, "blas": "openblas" if openblas else
            ",".join(os.path.basename(p) for p in blas_libraries()) or "unknown"}
