"""Files of a :func:`~keatingcore.experiments.train_backdoor` run.

Atomic writes, ``config.json`` and ``metrics.jsonl`` (JSON of numpy and torch values),
the checkpoint format and its settings check, and the fingerprints of the data and of
array triggers stored in the settings.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..data._dataset import ImageDataset
from ._resnet import require_torch

CHECKPOINT_FORMAT = 1


def _hash_arrays(*arrays: np.ndarray) -> str:
    h = hashlib.blake2b(digest_size=12)
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(f"{a.dtype.str}{a.shape}".encode())
        h.update(memoryview(a).cast("B"))
    return h.hexdigest()


def _data_fingerprint(data: ImageDataset) -> str:
    return _hash_arrays(
        data.x_train,
        data.y_train,
        data.x_test,
        data.y_test,
        np.array(data.classes, dtype=str),
    )


def _atomic_write(path: Path, write: Callable[[Any], None], mode: str = "wb") -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, mode) as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, Mapping):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, str):
        return str(obj)  # plain str, e.g. of torch's TorchVersion
    if isinstance(obj, float) and not math.isfinite(obj):
        return None if math.isnan(obj) else str(obj)
    return obj


def _write_json(path: Path, obj: Any) -> None:
    text = json.dumps(_jsonable(obj), indent=2, sort_keys=False) + "\n"
    _atomic_write(path, lambda f: f.write(text), "w")


def _metrics_line(record: Mapping[str, Any]) -> str:
    return json.dumps(_jsonable(record)) + "\n"


def _write_metrics(out: Path, history: Iterable[Mapping[str, Any]]) -> None:
    text = "".join(_metrics_line(r) for r in history)
    _atomic_write(out / "metrics.jsonl", lambda f: f.write(text), "w")


def _load_checkpoint(path: Path) -> dict[str, Any] | None:
    torch = require_torch()
    if not path.exists():
        return None
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # any unreadable file means the same
        raise RuntimeError(
            f"cannot read the checkpoint {path} ({exc}); delete it or "
            f"pass resume=False to start over"
        ) from exc
    if not isinstance(ckpt, dict) or ckpt.get("format") != CHECKPOINT_FORMAT:
        raise RuntimeError(
            f"{path} is not a keatingcore training checkpoint "
            f"(format {CHECKPOINT_FORMAT}); pass resume=False to "
            f"start over"
        )
    return ckpt


def _settings_mismatch(
    stored: Mapping[str, Any], wanted: Mapping[str, Any]
) -> list[str]:
    a, b = _jsonable(stored), _jsonable(wanted)
    return [
        f"{k}: {a.get(k)!r} there, {b.get(k)!r} now"
        for k in sorted(set(a) | set(b))
        if a.get(k) != b.get(k)
    ]
