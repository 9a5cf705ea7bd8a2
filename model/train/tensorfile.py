"""safetensors files written and read with numpy + json only (no pickle, no extra package).

Layout: 8-byte little-endian header length N, N bytes of JSON mapping each tensor name to
{"dtype", "shape", "data_offsets": [begin, end]} (relative to the end of the header) plus an
optional "__metadata__" string map, then the raw little-endian tensor bytes.
"""
from __future__ import annotations

import json
import os
import struct

import numpy as np

DTYPES = {
    "F64": np.dtype("<f8"), "F32": np.dtype("<f4"), "F16": np.dtype("<f2"),
    "I64": np.dtype("<i8"), "I32": np.dtype("<i4"), "I16": np.dtype("<i2"), "I8": np.dtype("i1"),
    "U64": np.dtype("<u8"), "U32": np.dtype("<u4"), "U16": np.dtype("<u2"), "U8": np.dtype("u1"),
    "BOOL": np.dtype("?"),
}
_NAMES = {v: k for k, v in DTYPES.items()}
MAX_HEADER = 100 * 1024 * 1024


class TensorFileError(ValueError):
    """A safetensors file is malformed; the message names the file and the problem."""


def dtype_name(dt: np.dtype) -> str:
    dt = np.dtype(dt).newbyteorder("<") if np.dtype(dt).byteorder == ">" else np.dtype(dt)
    for k, v in DTYPES.items():
        if v == dt:
            return k
    raise TensorFileError(f"dtype {dt} has no safetensors name")


def save(path: str, tensors: dict[str, np.ndarray], metadata: dict[str, str] | None = None) -> None:
    """Write tensors (name -> array) atomically; names are stored in sorted order."""
    header: dict = {}
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    blobs = []
    offset = 0
    for name in sorted(tensors):
        a = np.asarray(tensors[name])
        dn = dtype_name(a.dtype)
        raw = np.ascontiguousarray(a, dtype=DTYPES[dn]).tobytes()
        header[name] = {"dtype": dn, "shape": list(a.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    hb = json.dumps(header, separators=(",", ":")).encode()
    hb += b" " * (-len(hb) % 8)  # keep the data 8-byte aligned, as the reference writer does
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(hb)))
        f.write(hb)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


def load(path: str, check_finite: bool = True) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Read and validate a file; returns (tensors, metadata). Raises TensorFileError."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise TensorFileError(f"{path}: cannot read: {e.strerror}") from e
    if len(data) < 8:
        raise TensorFileError(f"{path}: truncated: {len(data)} bytes, no header length")
    (n,) = struct.unpack("<Q", data[:8])
    if n > MAX_HEADER or 8 + n > len(data):
        raise TensorFileError(f"{path}: header length {n} exceeds the file ({len(data)} bytes)")
    try:
        header = json.loads(data[8:8 + n].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise TensorFileError(f"{path}: header is not valid JSON: {e}") from e
    if not isinstance(header, dict):
        raise TensorFileError(f"{path}: header is not a JSON object")
    meta = header.pop("__metadata__", {}) or {}
    if not isinstance(meta, dict) or not all(isinstance(v, str) for v in meta.values()):
        raise TensorFileError(f"{path}: __metadata__ must map strings to strings")
    body = memoryview(data)[8 + n:]
    out: dict[str, np.ndarray] = {}
    spans = []
    for name, e in header.items():
        if not isinstance(e, dict) or set(e) != {"dtype", "shape", "data_offsets"}:
            raise TensorFileError(f"{path}: tensor '{name}': entry needs dtype, shape, data_offsets")
        dn, shape, offs = e["dtype"], e["shape"], e["data_offsets"]
        if dn not in DTYPES:
            raise TensorFileError(f"{path}: tensor '{name}': unknown dtype '{dn}'")
        if (not isinstance(shape, list) or not all(isinstance(d, int) and d >= 0 for d in shape)):
            raise TensorFileError(f"{path}: tensor '{name}': bad shape {shape}")
        if (not isinstance(offs, list) or len(offs) != 2 or not all(isinstance(o, int) for o in offs)
                or not 0 <= offs[0] <= offs[1] <= len(body)):
            raise TensorFileError(f"{path}: tensor '{name}': data_offsets {offs} out of bounds "
                                  f"(data section is {len(body)} bytes)")
        dt = DTYPES[dn]
        count = int(np.prod(shape, dtype=np.int64)) if shape else 1
        if offs[1] - offs[0] != count * dt.itemsize:
            raise TensorFileError(f"{path}: tensor '{name}': {offs[1] - offs[0]} bytes for shape "
                                  f"{shape} of {dn}")
        a = np.frombuffer(body[offs[0]:offs[1]], dtype=dt).reshape(shape).copy()
        if check_finite and a.dtype.kind == "f" and not np.all(np.isfinite(a)):
            raise TensorFileError(f"{path}: tensor '{name}' holds NaN or infinite values")
        out[name] = a
        spans.append((offs[0], offs[1], name))
    spans.sort()
    for (b0, e0, n0), (b1, _, n1) in zip(spans, spans[1:]):
        if b1 < e0:
            raise TensorFileError(f"{path}: tensors '{n0}' and '{n1}' overlap")
    return out, dict(meta)
