"""Cross-entropy dynamics of (deep) unconstrained-feature models.

Gradient flow on the mean cross-entropy of ``Z = W_{L-1} ... W_1 H`` (free features
``H``, ``K`` classes, ``n`` samples per class) from a spectral (Hadamard / real
Fourier) initialisation keeps the singular vectors fixed, so only the per-layer
singular values move (Garrod, Keating & Thrampoulidis, "Diagonalizing the Softmax",
arXiv 2512.04006; "The Implicit Bias of Depth", arXiv 2605.23087). The reduced
ODEs, the exact NC trajectory and the softmax-code reference values are the
project digest's derivations (``shared/papers/ce-dynamics.md``), checked here
against full-matrix gradient descent.

Conventions: the loss is the mean cross-entropy over ``N = n K`` samples;
gradient-descent time is ``t = lr x steps``; ``depth`` counts every trainable
factor including the features (``Z = W H`` has depth 2).

Main entry points
-----------------
hadamard, fourier_basis, mode_basis   spectral bases (Walsh for K = 2^m)
spectral_weights, spectral_state      full matrices from singular values and back
balanced_sigma, perturbed_start       initial conditions
integrate                             batched adaptive RK in C++ (CPU threads/CUDA)
rhs, conserved_quantities             the ODE's right-hand side and invariants
nc_time, nc_trajectory                exact NC trajectory (all modes equal)
gradient_descent                      torch full-matrix reference (needs torch)
softmax_code, code_margin             max-margin codes under a rank cap
nc_convergence, repulsion, low_rank, nc_basin, rank_vs_width   the phenomena
"""

from ._closed_form import nc_loss, nc_time, nc_trajectory
from ._codes import SoftmaxCode, code_margin, min_norm_point, softmax_code
from ._gd import GDResult, gradient_descent
from ._ode import STATUS, Trajectories, conserved_quantities, integrate, rhs
from ._phenomena import (
    Basin,
    LowRank,
    NCConvergence,
    Repulsion,
    WidthRank,
    low_rank,
    nc_basin,
    nc_convergence,
    perturbed_start,
    rank_vs_width,
    repulsion,
)
from ._plot import plot_trajectories
from ._spectral import (
    SpectralState,
    balanced_sigma,
    fourier_basis,
    hadamard,
    margin_matrix,
    mode_basis,
    resolve_basis,
    spectral_state,
    spectral_weights,
)

__all__ = [
    "STATUS",
    "Basin",
    "GDResult",
    "LowRank",
    "NCConvergence",
    "Repulsion",
    "SoftmaxCode",
    "SpectralState",
    "Trajectories",
    "WidthRank",
    "balanced_sigma",
    "code_margin",
    "conserved_quantities",
    "fourier_basis",
    "gradient_descent",
    "hadamard",
    "integrate",
    "low_rank",
    "margin_matrix",
    "min_norm_point",
    "mode_basis",
    "nc_basin",
    "nc_convergence",
    "nc_loss",
    "nc_time",
    "nc_trajectory",
    "perturbed_start",
    "plot_trajectories",
    "rank_vs_width",
    "repulsion",
    "resolve_basis",
    "rhs",
    "softmax_code",
    "spectral_state",
    "spectral_weights",
]
