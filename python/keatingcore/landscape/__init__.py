"""Spin-glass complexity of loss surfaces (``keatingcore.landscape``).

Reproduces Baskerville, Keating, Mezzadri and Najnudel, "The loss surfaces of neural
networks with general activation functions", J. Stat. Mech. (2021), arXiv:2004.03959,
on top of Auffinger, Ben Arous and Cerny, CPAM 66 (2013) ("ABC"), for the spherical
p-spin glass to which a depth-H network maps with p = H (Choromanska et al. 2015).

What is exact and what is reconstructed (see ``shared/papers/spin-glass.md``):

* **Exact** - the asymptotic complexities and thresholds (:func:`complexity`,
  :func:`thresholds`, :func:`edge_rate`, :func:`goe_edge_rate`, and the independent
  log-potential route :func:`complexity_log_potential`); the finite-N Kac-Rice counts
  (:func:`expected_counts` exactly, :func:`count_monte_carlo` by sampling); direct
  critical points and gradient descent on sampled Hamiltonians; Gaussian statistics
  of activations; the BBP outlier.
* **Reconstructed** (the paper's body was not available) - how an activation enters
  (piece statistics, :func:`deformation_strength`) and the deformed Kac-Rice problem
  (:func:`deformed_counts`: GOE plus a constant low-rank Hessian term). By the
  paper's summary the exponential order is the ABC answer for every activation; the
  deformation only moves sub-exponential structure.
"""

from __future__ import annotations

from ._activations import (
    ACTIVATIONS,
    GaussianStatistics,
    PiecewiseLinear,
    activation,
    deformation_strength,
    gaussian_statistics,
    piecewise_linear,
)
from ._complexity import (
    ThresholdResult,
    complexity,
    complexity_log_potential,
    e_inf,
    edge_rate,
    goe_edge_rate,
    log_potential,
    thresholds,
)
from ._critical import (
    CriticalPointsResult,
    DescentResult,
    find_critical_points,
    gradient_descent,
)
from ._deformed import BBP_THRESHOLD, bbp_outlier, deformed_counts, extreme_eigenvalues
from ._finite import (
    FiniteCounts,
    count_monte_carlo,
    count_prefactor,
    expected_counts,
    goe_eigenvalues,
)

__all__ = [
    "ACTIVATIONS",
    "BBP_THRESHOLD",
    "CriticalPointsResult",
    "DescentResult",
    "FiniteCounts",
    "GaussianStatistics",
    "PiecewiseLinear",
    "ThresholdResult",
    "activation",
    "bbp_outlier",
    "complexity",
    "complexity_log_potential",
    "count_monte_carlo",
    "count_prefactor",
    "deformation_strength",
    "deformed_counts",
    "e_inf",
    "edge_rate",
    "expected_counts",
    "extreme_eigenvalues",
    "find_critical_points",
    "gaussian_statistics",
    "goe_edge_rate",
    "goe_eigenvalues",
    "gradient_descent",
    "log_potential",
    "piecewise_linear",
    "thresholds",
]
