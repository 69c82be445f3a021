"""Deep linear unconstrained-feature models (UFMs): optima, configurations, Hessians.

The deep UFM trains free features ``H_1`` (d x N) and L weight matrices,
``Z = W_L ... W_1 H_1``, on N = nK samples with a mean fit term and
``lam_j/2 |X_j|_F^2`` on every factor; ``depth = L + 1`` counts all factors.

* Paper A (Garrod & Keating, arXiv 2404.06106): the MSE model's global optimum is
  deep neural collapse with an orthogonal frame, in closed form, and its
  layer-wise Hessian has K^2 equal outliers.
* Paper B (Garrod & Keating, arXiv 2410.23169): with cross-entropy, a paired
  low-rank configuration beats DNC for K >= 4, L >= 3 or K >= 6, L = 2.

Formulas are the project digest's re-derivations (shared/papers/deep-ufm.md);
paper B's equations were reconstructed from its text and are marked as such in
the docstrings. torch is optional: everything but training, the autograd Hessian
and Lanczos works without it.

Main entry points
-----------------
mse_optimum, mse_gain                      closed-form MSE optimum (paper A)
dnc_frame, lowrank_frame, circle_frame     collapsed CE configurations (paper B)
frame_loss, frame_minimum, minimise_frames reduced loss and its best scale
ce_compare, ce_map                         DNC against low rank, at a point / a grid
construct, balanced_factors                full factors of any of these optima
loss_terms, gradient                       the model in numpy (exact gradient)
layer_hessian, hessian_metrics             exact Kronecker Hessian, A.4 metrics
autograd_hessian, lanczos                  dense autograd / block Lanczos (torch)
train                                      full-batch GD or Adam in torch
plot_*                                     figures
"""

from ._autograd import autograd_hessian
from ._compare import CEComparison, CEMap, ce_compare, ce_map
from ._construct import balanced_factors, construct
from ._frames import (
    FrameMinimum,
    circle_frame,
    dnc_frame,
    frame_loss,
    frame_minimum,
    frame_singular_values,
    lowrank_frame,
    margins,
    minimise_frames,
)
from ._hessian import (
    HessianMetrics,
    LayerHessian,
    count_outliers,
    hessian_metrics,
    layer_hessian,
)
from ._lanczos import LanczosResult, lanczos
from ._model import forward, gradient, gradient_norm, loss_terms
from ._mse import MSEOptimum, mse_gain, mse_optimum, zero_threshold
from ._plot import (
    plot_compare_map,
    plot_hessian_spectrum,
    plot_hessian_track,
    plot_singular_values,
    plot_training,
)
from ._records import mean_span_alignment, orthogonal_frame_distance
from ._train import HessianTrack, TrainResult, train

__all__ = [
    "CEComparison",
    "CEMap",
    "FrameMinimum",
    "HessianMetrics",
    "HessianTrack",
    "LanczosResult",
    "LayerHessian",
    "MSEOptimum",
    "TrainResult",
    "autograd_hessian",
    "balanced_factors",
    "ce_compare",
    "ce_map",
    "circle_frame",
    "construct",
    "count_outliers",
    "dnc_frame",
    "forward",
    "frame_loss",
    "frame_minimum",
    "frame_singular_values",
    "gradient",
    "gradient_norm",
    "hessian_metrics",
    "lanczos",
    "layer_hessian",
    "loss_terms",
    "lowrank_frame",
    "margins",
    "mean_span_alignment",
    "minimise_frames",
    "mse_gain",
    "mse_optimum",
    "orthogonal_frame_distance",
    "plot_compare_map",
    "plot_hessian_spectrum",
    "plot_hessian_track",
    "plot_singular_values",
    "plot_training",
    "train",
    "zero_threshold",
]
