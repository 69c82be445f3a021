"""Resumable parameter sweeps over the package's vectorised functions.

:func:`sweep` cuts a grid of parameter points into chunks, evaluates each chunk with
one call of a vectorised function (for the package's functions: one C++ call with
the GIL released), and appends each finished chunk to an on-disk store. Running the
same sweep again on the same store computes only the chunks that are missing, so a
sweep killed midway loses at most the chunks in flight. Chunks run on local threads
or, with ``backend="dask"``, as tasks on a ``dask.distributed`` cluster
(``pip install keatingcore[distributed]``); both give identical results.

Main entry points
-----------------
sweep             evaluate fn over a grid, chunk by chunk, resumably
Grid              a Cartesian product of axes, or a table of points
SweepRun          the result: the table, chunk counts, timings, the store path
backdoor_points   the backdoor fixed point as a function of a list of points
local_cluster     a loopback-only dask LocalCluster to share between sweeps
store_status      what a store holds and which chunks are missing
StoreMismatchError  the store holds another sweep

Examples
--------
>>> import numpy as np
>>> import keatingcore
>>> from keatingcore.landscape import complexity
>>> run = keatingcore.sweep(complexity, {"u": np.linspace(-1.7, -1.6, 3), "p": [3]})
>>> run.to_frame().columns.tolist()
['u', 'p', 'value']
"""

from __future__ import annotations

from typing import Any

from ._dask import local_cluster
from ._engine import BACKENDS, sweep
from ._grid import POINT_ID, Grid
from ._result import SweepRun
from ._store import StoreMismatchError, StoreWarning, store_status

__all__ = [
    "BACKENDS",
    "POINT_ID",
    "BackdoorPoints",
    "Grid",
    "StoreMismatchError",
    "StoreWarning",
    "SweepRun",
    "backdoor_points",
    "local_cluster",
    "store_status",
    "sweep",
]


def __getattr__(name: str) -> Any:
    # The adapters load keatingcore.backdoor (and scipy) only when first used.
    if name in ("BackdoorPoints", "backdoor_points"):
        from . import _adapters

        return getattr(_adapters, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
