"""Argument checks and small shared helpers of keatingcore.ufm."""

from __future__ import annotations

import contextlib
import dataclasses
import math
import operator
from collections.abc import Iterator
from typing import Any

import numpy as np

LOSSES = ("mse", "ce")
ACTIVATIONS = ("linear", "relu")


#: Largest depth accepted: the closed forms allocate per-factor arrays, and the C++
#: kernels take 32-bit ints.
MAX_DEPTH = 10_000
INT_MAX = 2**31 - 1


def check_int(value: Any, name: str, low: int, high: int = INT_MAX) -> int:
    """``value`` as an int in ``[low, high]``, else a ValueError naming ``name``."""
    try:
        out = operator.index(value)
    except TypeError:
        raise TypeError(f"{name} must be an int >= {low}, got {value!r}") from None
    if out < low:
        raise ValueError(f"{name} must be >= {low}, got {out}")
    if out > high:
        raise ValueError(f"{name} must be <= {high}, got {out}")
    return out


def check_positive(value: Any, name: str) -> float:
    """A finite float > 0."""
    out = float(value)
    if not (out > 0 and math.isfinite(out)):
        raise ValueError(f"{name} must be finite and > 0, got {value!r}")
    return out


def check_problem(K: Any, n: Any, depth: Any) -> tuple[int, int, int]:
    """K >= 2 classes, n >= 1 samples per class, depth >= 2 factors."""
    return (
        check_int(K, "K", 2),
        check_int(n, "n", 1),
        check_int(depth, "depth", 2, MAX_DEPTH),
    )


def factor_lams(depth: int, lam_W: Any, lam_H: Any = None) -> np.ndarray:
    """Per-factor strengths ``[lam_H, lam_W_1, ..., lam_W_L]`` (L = depth - 1).

    ``lam_W`` is one value for every weight matrix or a sequence of ``depth - 1``
    values; ``lam_H`` defaults to ``lam_W`` when that is a single value.
    """
    w = np.atleast_1d(np.asarray(lam_W, dtype=float))
    for i, value in enumerate(w.reshape(-1)):
        check_positive(value, "lam_W" if w.size == 1 else f"lam_W[{i}]")
    if w.ndim != 1 or w.size not in (1, depth - 1):
        raise ValueError(
            f"lam_W must be one value or {depth - 1} values (one per weight matrix), "
            f"got shape {np.shape(lam_W)}"
        )
    if lam_H is None:
        if w.size != 1:
            raise ValueError("lam_H is required when lam_W holds one value per layer")
        lam_H = w[0]
    w = np.broadcast_to(w, (depth - 1,))
    out = np.concatenate([[float(lam_H)], w])
    names = ["lam_H"] + [f"lam_W[{i}]" for i in range(depth - 1)]
    for name, value in zip(names, out, strict=True):
        check_positive(value, name)
    return out


def check_widths(width: Any, depth: int, K: int) -> list[int]:
    """Hidden widths ``d_1 .. d_L`` (H_1 is d_1 x N), each >= K."""
    L = depth - 1
    if width is None:
        return [K] * L
    values = [width] * L if np.ndim(width) == 0 else list(width)
    if len(values) != L:
        raise ValueError(f"width must be one int or {L} ints, got {len(values)}")
    out = []
    for v in values:
        d = check_int(v, "width", 1)
        if d < K:
            raise ValueError(f"width must be >= K = {K}, got {d}")
        out.append(d)
    return out


def check_choice(value: Any, name: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise ValueError(f"{name} must be one of {choices}, got {value!r}")
    return value


def labels(K: int, n: int) -> np.ndarray:
    """Class of every column: samples are class-major (``c * n + i``)."""
    return np.repeat(np.arange(K), n)


def one_hot(K: int, n: int) -> np.ndarray:
    """``Y = I_K (x) 1_n^T``, shape (K, nK)."""
    return np.repeat(np.eye(K), n, axis=1)


def require_torch() -> Any:
    """Import torch, or raise an ImportError that says how to install it."""
    try:
        import torch
    except ImportError as exc:  # pragma: no cover - exercised without torch only
        raise ImportError(
            "this function needs PyTorch, an optional dependency of keatingcore: "
            "pip install torch"
        ) from exc
    return torch


@contextlib.contextmanager
def torch_threads(torch: Any, num_threads: int | None) -> Iterator[None]:
    """Run with ``torch.set_num_threads(num_threads)``, restoring the old count.

    Tiny models run far faster on one thread when cores are shared; ``None``
    leaves torch's setting alone.
    """
    if num_threads is None:
        yield
        return
    n = check_int(num_threads, "num_threads", 1)
    old = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)


def plain(value: Any) -> Any:
    """JSON-ready copy: arrays to lists, numpy scalars to Python, non-finite to None."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: plain(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if f.repr
        }
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return plain(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
