"""Neural-collapse metrics shared by every module of keatingcore.

NC1-NC4 (Papyan, Han & Donoho 2020), per-layer (deep) versions, singular spectra,
numerical and effective rank, and the normalised margin of a deep UFM. Features are
``(N, D)`` arrays with one row per sample; labels are integers ``0 .. K-1``.

Main entry points
-----------------
nc_metrics          NC1-NC4, class-mean spectrum and ranks in one pass
per_layer           NC1/NC2/ranks of every intermediate representation
class_means         class means and counts
nc1, nc2, nc3, nc4  the single metrics
singular_spectrum, numerical_rank, effective_rank, normalised_margin
"""

from ._metrics import (
    CollapseMetrics,
    LayerMetrics,
    class_means,
    nc1,
    nc2,
    nc3,
    nc4,
    nc_metrics,
    per_layer,
)
from ._spectrum import (
    effective_rank,
    normalised_margin,
    numerical_rank,
    singular_spectrum,
)

__all__ = [
    "CollapseMetrics",
    "LayerMetrics",
    "class_means",
    "effective_rank",
    "nc1",
    "nc2",
    "nc3",
    "nc4",
    "nc_metrics",
    "normalised_margin",
    "numerical_rank",
    "per_layer",
    "singular_spectrum",
]
