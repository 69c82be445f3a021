"""One chunk: call the function on its points and check what comes back.

This module is what a Dask worker imports to run a chunk; it imports nothing of the
package's compiled core itself.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from ._grid import ALLOWED_KINDS, POINT_ID

#: Name of the output column when the function returns a single array.
VALUE = "value"

Outputs = dict[str, np.ndarray]


def evaluate_chunk(
    fn: Callable[..., Any], columns: dict[str, np.ndarray], kwargs: dict[str, Any]
) -> tuple[Outputs, float]:
    """Call ``fn(**columns, **kwargs)`` once and check what it returns.

    Returns
    -------
    outputs : dict of str to ndarray
        One 1-D array per output, each as long as the chunk.
    seconds : float
        Wall-clock time of the call.
    """
    n = next(iter(columns.values())).size
    start = time.perf_counter()
    out = fn(**columns, **kwargs)
    seconds = time.perf_counter() - start
    return _check_outputs(out, n, columns), seconds


def _check_outputs(out: Any, n: int, inputs: Mapping[str, Any]) -> Outputs:
    if isinstance(out, Mapping):
        items = list(out.items())
    elif isinstance(out, np.ndarray | list | tuple):
        items = [(VALUE, out)]
    else:
        raise TypeError(
            "fn must return a dict of 1-D arrays or one 1-D array, got "
            f"{type(out).__name__}"
        )
    if not items:
        raise ValueError("fn returned no outputs (an empty dict)")
    checked = {}
    for name, value in items:
        if not isinstance(name, str) or not name:
            raise TypeError(f"output names must be non-empty strings, got {name!r}")
        if name == POINT_ID or name in inputs:
            raise ValueError(
                f"fn returned an output named {name!r}, which is a column of the "
                "grid; rename the output"
            )
        arr = np.asarray(value)
        if arr.shape != (n,):
            raise ValueError(
                f"output {name!r} of fn has shape {arr.shape}; every output must be "
                f"1-D with one value per point of the chunk ({n})"
            )
        if arr.dtype.kind not in ALLOWED_KINDS:
            raise ValueError(
                f"output {name!r} of fn has dtype {arr.dtype}; outputs must be "
                "bools, numbers or strings"
            )
        checked[name] = arr
    return checked


@functools.lru_cache(maxsize=8)
def _load(payload: bytes) -> Callable[..., Any]:
    import cloudpickle

    try:
        return cloudpickle.loads(payload)
    except Exception as exc:
        raise RuntimeError(
            f"a worker could not load fn ({type(exc).__name__}: {exc}); fn must be "
            "importable on the workers, or defined in __main__ or inside a function "
            "(or its module registered with cloudpickle.register_pickle_by_value)"
        ) from exc


def evaluate_pickled(
    payload: bytes, columns: dict[str, np.ndarray], kwargs: dict[str, Any]
) -> tuple[Outputs, float]:
    """:func:`evaluate_chunk` of a function sent as cloudpickle bytes.

    Loading fn inside the task (not while the worker receives it) turns a function
    the worker cannot import into an error of this task, raised in the caller,
    instead of a worker that dies.
    """
    return evaluate_chunk(_load(payload), columns, kwargs)
