"""Input checks shared by the landscape functions (ValueError naming the argument)."""

from __future__ import annotations

import operator
from typing import Any

import numpy as np


def energies(u: Any, name: str = "u") -> np.ndarray:
    """``u`` as a float array; NaN is refused, +-inf is allowed (limits)."""
    arr = np.asarray(u, dtype=float)
    if np.isnan(arr).any():
        raise ValueError(f"{name} must not contain NaN")
    return arr


#: Largest index the C++ kernels take (32-bit ints).
INDEX_MAX = 2**31 - 1


def degrees(p: Any, minimum: int = 3, name: str = "p") -> np.ndarray:
    """``p`` as an array of integer-valued floats >= ``minimum``."""
    arr = np.asarray(p, dtype=float)
    if not np.isfinite(arr).all() or (arr != np.round(arr)).any():
        raise ValueError(f"{name} must be an integer >= {minimum}, got {p!r}")
    if (arr < minimum).any():
        raise ValueError(
            f"{name} must be >= {minimum} (the formulas need p >= {minimum}), got {p!r}"
        )
    return arr


def indices(k: Any, name: str = "index") -> np.ndarray:
    """``k`` as an array of non-negative integers."""
    arr = np.asarray(k)
    if arr.dtype.kind not in "iu":
        as_float = np.asarray(arr, dtype=float)
        if not np.isfinite(as_float).all() or (as_float != np.round(as_float)).any():
            raise ValueError(f"{name} must be a non-negative integer, got {k!r}")
        if (np.abs(as_float) > INDEX_MAX).any():
            raise ValueError(f"{name} must be <= {INDEX_MAX}, got {k!r}")
        arr = as_float.astype(np.int64)
    if (arr < 0).any():
        raise ValueError(f"{name} must be >= 0, got {k!r}")
    if (arr > INDEX_MAX).any():
        raise ValueError(f"{name} must be <= {INDEX_MAX}, got {k!r}")
    return arr.astype(np.int64)


def integer(value: Any, name: str, minimum: int, maximum: int | None = None) -> int:
    """A Python int in ``[minimum, maximum]``."""
    try:
        out = operator.index(value)
    except TypeError:
        raise TypeError(f"{name} must be an int, got {value!r}") from None
    if out < minimum or (maximum is not None and out > maximum):
        upper = "" if maximum is None else f" and <= {maximum}"
        raise ValueError(f"{name} must be >= {minimum}{upper}, got {out}")
    return out


def positive(value: Any, name: str) -> float:
    """A finite float > 0."""
    out = float(value)
    if not (np.isfinite(out) and out > 0):
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return out


def seed(value: Any) -> int:
    """A seed for the C++ streams: an int in [0, 2**64)."""
    out = integer(value, "seed", 0)
    if out >= 2**64:
        raise ValueError(f"seed must be < 2**64, got {out}")
    return out
