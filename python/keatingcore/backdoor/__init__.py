"""Backdoor attacks on regularised GLMs trained on a poisoned Gaussian mixture.

Theory of Flynn, Goldhirsh, Keating & Seroussi, "When Stronger Triggers Backfire: A
High-Dimensional Theory of Backdoor Attacks", arXiv 2605.22481. The paper's body was
not available; the model and equations follow the reconstruction in the project's
digest, whose conventions are all fields of :class:`Setup`.

Main entry points
-----------------
Setup                 the problem: kappa, lam, snr, eps, alpha, geometry, conventions
ridge_theory          closed form for the squared loss, any covariance spectrum
solve                 Gaussian-proxy fixed point (square, logistic, hinge) in C++
sweep                 Cartesian grids in one parallel C++ call
peak_attack           alpha*, where attack success peaks
worst_trigger_direction  rank trigger directions by their peak attack success
simulate              finite-n simulation with standard errors
plot_curves           theory lines over simulation points
"""

from ._attack import PeakResult, TriggerReport, peak_attack, worst_trigger_direction
from ._plot import plot_curves, plot_sweep
from ._result import BackdoorResult, test_metrics
from ._ridge import ridge_theory, ridge_theory_isotropic
from ._setup import Geometry, Setup
from ._simulate import SimulationResult, fit_glm, simulate
from ._solve import SolverOptions, SweepResult, solve, sweep

__all__ = [
    "BackdoorResult",
    "PeakResult",
    "TriggerReport",
    "Geometry",
    "Setup",
    "SimulationResult",
    "SolverOptions",
    "SweepResult",
    "fit_glm",
    "peak_attack",
    "plot_curves",
    "plot_sweep",
    "ridge_theory",
    "ridge_theory_isotropic",
    "simulate",
    "solve",
    "sweep",
    "test_metrics",
    "worst_trigger_direction",
]
