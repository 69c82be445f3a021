"""keatingcore: fast, tested solvers for the high-dimensional theory of deep learning.

The compiled core (``keatingcore._core``) holds the hot loops; this package holds the
API. Subpackages:

``keatingcore.backdoor``, ``keatingcore.experiments``, ``keatingcore.data``
    Backdoor attacks on regularised GLMs with Gaussian-mixture data, and the same on
    real images (Flynn, Goldhirsh, Keating & Seroussi, arXiv 2605.22481).
``keatingcore.dynamics``, ``keatingcore.collapse``
    Cross-entropy dynamics of unconstrained-feature models; neural-collapse metrics.
``keatingcore.ufm``
    Deep linear unconstrained-feature models: optima, configurations, Hessians.
``keatingcore.landscape``
    Spin-glass complexity of loss surfaces with general activations.
``keatingcore.reproduce``
    Every paper's headline results in one resumable command.
``keatingcore.sweeps`` (``keatingcore.sweep``)
    Any vectorised function over a parameter grid, chunked, stored as it goes,
    resumable, locally or on a Dask cluster.
"""

from __future__ import annotations

import logging

from . import sweeps, warnings
from ._config import build_info, get_num_threads, set_num_threads, show_config
from ._result import SolverResult
from .sweeps import Grid, SweepRun, sweep

__version__ = "0.1.0"

__all__ = [
    "Grid",
    "SweepRun",
    "SolverResult",
    "__version__",
    "build_info",
    "get_num_threads",
    "set_num_threads",
    "show_config",
    "sweep",
    "sweeps",
    "warnings",
]

logging.getLogger(__name__).addHandler(logging.NullHandler())
