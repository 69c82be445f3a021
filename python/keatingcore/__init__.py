"""keatingcore: fast, tested solvers for the high-dimensional theory of deep learning.

The compiled core (``keatingcore._core``) holds the hot loops; this package holds the
API. Subpackages:

``keatingcore.backdoor``
    Backdoor attacks on regularised GLMs with Gaussian-mixture data
    (Flynn, Goldhirsh, Keating & Seroussi, arXiv 2605.22481).
"""

from __future__ import annotations

import logging

from . import warnings
from ._config import build_info, get_num_threads, set_num_threads, show_config
from ._result import SolverResult

__version__ = "0.1.0"

__all__ = [
    "SolverResult",
    "__version__",
    "build_info",
    "get_num_threads",
    "set_num_threads",
    "show_config",
    "warnings",
]

logging.getLogger(__name__).addHandler(logging.NullHandler())
