"""Neural-collapse metrics NC1-NC4, vectorised for large sample counts.

Definitions (Papyan, Han & Donoho 2020; Zhu et al. 2021; as listed in the project
digest ``shared/papers/ce-dynamics.md``, section 5), for features ``h_i`` (rows of
``features``), class means ``mu_c``, global mean ``mu_G`` and centred means
``M = [mu_c - mu_G]`` (D x K):

* NC1 = (1/K) tr(Sigma_W Sigma_B^+), Sigma_W = (1/N) sum_i (h_i - mu_{y_i})(...)^T,
  Sigma_B = (1/K) M M^T;
* NC2 = || M^T M / ||M^T M||_F - (I - 11^T/K) / sqrt(K-1) ||_F;
* NC3 = || W M / ||W M||_F - (I - 11^T/K) / sqrt(K-1) ||_F;
* NC4 = fraction of samples whose nearest class mean is not the classifier's pick.

NC1 never forms the D x D covariance: Sigma_B^+ lives on the span of M (rank
<= K-1), so only the projections of the centred features onto that span are
needed, one N x D x K product in all.
"""

from __future__ import annotations

import dataclasses
import operator
from collections.abc import Sequence

import numpy as np
from scipy import sparse

from ._spectrum import effective_rank, numerical_rank

ROW_BLOCK = 8192  # rows per float64 block when summing class means


def _features(features) -> np.ndarray:
    X = np.asarray(features)
    if X.ndim != 2 or X.shape[0] < 1 or X.shape[1] < 1:
        raise ValueError(f"features must have shape (N, D), got {X.shape}")
    if X.dtype not in (np.float32, np.float64):
        X = X.astype(np.float64)
    return X


def _labels(labels, N: int, num_classes: int | None) -> tuple[np.ndarray, int]:
    y = np.asarray(labels)
    if y.shape != (N,):
        raise ValueError(f"labels must have shape ({N},), got {y.shape}")
    if y.size and not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"labels must be integers, got dtype {y.dtype}")
    K = int(y.max()) + 1 if num_classes is None else operator.index(num_classes)
    if K < 2:
        raise ValueError(f"num_classes must be >= 2, got {K}")
    if y.min() < 0 or y.max() >= K:
        raise ValueError(f"labels must lie in [0, {K - 1}]")
    return y.astype(np.intp), K


def class_means(features, labels, num_classes: int | None = None):
    """Class means and counts.

    Parameters
    ----------
    features : array_like, shape (N, D)
    labels : array_like of int, shape (N,)
        Classes ``0 .. K-1``; every class must occur.
    num_classes : int, optional
        K (default ``max(labels) + 1``).

    Returns
    -------
    means : ndarray, shape (K, D), float64
    counts : ndarray, shape (K,)
    """
    X = _features(features)
    y, K = _labels(labels, X.shape[0], num_classes)
    counts = np.bincount(y, minlength=K)
    if np.any(counts == 0):
        raise ValueError(
            f"every class must have a sample; empty: {np.flatnonzero(counts == 0)}"
        )
    onehot = sparse.csr_matrix(
        (np.ones(y.size), (y, np.arange(y.size))), shape=(K, y.size)
    )
    # Sums in float64, a block of rows at a time: float32 accumulation loses the
    # separation of class means that sit on a large common offset.
    sums = np.zeros((K, X.shape[1]))
    for start in range(0, X.shape[0], ROW_BLOCK):
        rows = slice(start, start + ROW_BLOCK)
        sums += onehot[:, rows] @ X[rows].astype(np.float64, copy=False)
    return sums / counts[:, None], counts


def _etf_distance(G: np.ndarray) -> float:
    K = G.shape[0]
    etf = (np.eye(K) - np.ones((K, K)) / K) / np.sqrt(K - 1)
    norm = np.linalg.norm(G)
    if norm == 0:
        return float("nan")
    return float(np.linalg.norm(G / norm - etf))


def _centred(means, global_mean) -> np.ndarray:
    mu = np.asarray(means, dtype=float)
    if mu.ndim != 2 or mu.shape[0] < 2:
        raise ValueError(f"means must have shape (K, D) with K >= 2, got {mu.shape}")
    g = mu.mean(axis=0) if global_mean is None else np.asarray(global_mean, float)
    return mu - g


def nc2(means, global_mean=None) -> float:
    """Distance of the centred class-mean Gram matrix from the simplex ETF.

    Parameters
    ----------
    means : array_like, shape (K, D)
        Class means.
    global_mean : array_like, shape (D,), optional
        ``mu_G``, the mean over all samples (default: the average of the class
        means, equal to it for balanced classes).
    """
    M = _centred(means, global_mean)
    return _etf_distance(M @ M.T)


def nc3(weights, means, global_mean=None) -> float:
    """Distance of ``W M`` from the simplex ETF (self-duality).

    Parameters
    ----------
    weights : array_like, shape (K, D)
        Classifier (last layer, or the product of all layers above the features).
    means : array_like, shape (K, D)
        Class means.
    global_mean : array_like, shape (D,), optional
        As in :func:`nc2`.
    """
    W = np.asarray(weights, dtype=float)
    M = _centred(means, global_mean)
    if W.shape != M.shape:
        raise ValueError(f"weights must have shape {M.shape}, got {W.shape}")
    return _etf_distance(W @ M.T)


@dataclasses.dataclass(frozen=True)
class CollapseMetrics:
    """NC1-NC4 and spectral summaries of one representation.

    Attributes
    ----------
    nc1, nc2 : float
    nc3, nc4 : float or None
        ``None`` without a classifier.
    spectrum : ndarray, shape (K,)
        Singular values of the centred class-mean matrix, descending.
    numerical_rank : int
        Singular values above ``rank_tol`` times the largest.
    effective_rank : float
        ``exp`` of the entropy of the normalised singular values.
    """

    nc1: float
    nc2: float
    nc3: float | None
    nc4: float | None
    spectrum: np.ndarray
    numerical_rank: int
    effective_rank: float

    def to_dict(self) -> dict:
        out = dataclasses.asdict(self)
        out["spectrum"] = self.spectrum.tolist()
        return out


def nc_metrics(
    features,
    labels,
    weights=None,
    bias=None,
    num_classes: int | None = None,
    rank_tol: float = 0.1,
) -> CollapseMetrics:
    """NC1-NC4, the class-mean spectrum and its ranks, in one pass over the data.

    Parameters
    ----------
    features : array_like, shape (N, D)
        One row per sample (float32 stays float32 in the large products).
    labels : array_like of int, shape (N,)
    weights : array_like, shape (K, D), optional
        Classifier for NC3 and NC4.
    bias : array_like, shape (K,), optional
        Classifier bias (NC4 only).
    num_classes : int, optional
    rank_tol : float
        Relative threshold of :func:`numerical_rank`.

    Returns
    -------
    CollapseMetrics
    """
    X = _features(features)
    means, counts = class_means(X, labels, num_classes)
    y, K = _labels(labels, X.shape[0], means.shape[0])
    N = X.shape[0]
    mu_g = counts @ means / N
    M = (means - mu_g).T  # D x K
    U, s, Vt = np.linalg.svd(M, full_matrices=False)
    # Centred means have rank <= K - 1; the rounding left by centring scales with the
    # uncentred means, so the cut-off does too (else a large offset inflates NC1).
    scale = max(s[0], float(np.linalg.norm(means, 2)))
    keep = s > scale * max(M.shape) * np.finfo(float).eps
    keep[K - 1 :] = False

    W = None if weights is None else np.asarray(weights, dtype=float)
    if W is not None and W.shape != (K, X.shape[1]):
        raise ValueError(f"weights must have shape ({K}, {X.shape[1]}), got {W.shape}")
    # One pass over X: its products with the class means (and the classifier).
    blocks = [means.T, M] + ([W.T] if W is not None else [])
    P = X @ np.hstack(blocks).astype(X.dtype, copy=False)
    # (X - mu_G) M from X M: the products with centred means stay small, so the
    # subtraction does not cancel the way products with uncentred means would.
    XM = P[:, K : 2 * K].astype(np.float64) - mu_g @ M
    # U = M V S^-1 spans Sigma_B, so X U = (X M) V S^-1 needs no second pass.
    V = Vt[keep].T / s[keep]
    proj = XM @ V - (M.T @ U[:, keep])[y]
    nc1 = (
        float(np.sum(np.mean(proj**2, axis=0) / s[keep] ** 2))
        if keep.any()
        else float("nan")
    )
    nc3_val = nc4_val = None
    if W is not None:
        nc3_val = nc3(W, means, mu_g)
        logits = P[:, 2 * K :]
        if bias is not None:
            logits = logits + np.asarray(bias, dtype=logits.dtype)
        nearest = np.argmax(P[:, :K] - 0.5 * np.sum(means**2, axis=1), axis=1)
        nc4_val = float(np.mean(np.argmax(logits, axis=1) != nearest))
    return CollapseMetrics(
        nc1=nc1,
        nc2=nc2(means, mu_g),
        nc3=nc3_val,
        nc4=nc4_val,
        spectrum=s,
        numerical_rank=numerical_rank(s, rank_tol),
        effective_rank=effective_rank(s),
    )


def nc1(features, labels, num_classes: int | None = None) -> float:
    """Within-class variability ``(1/K) tr(Sigma_W Sigma_B^+)`` (see module doc)."""
    return nc_metrics(features, labels, num_classes=num_classes).nc1


def nc4(features, labels, weights, bias=None, num_classes: int | None = None) -> float:
    """Fraction of samples where the classifier and the nearest class mean disagree."""
    return nc_metrics(features, labels, weights, bias, num_classes).nc4


@dataclasses.dataclass(frozen=True)
class LayerMetrics:
    """Per-layer (deep) neural collapse: one entry per representation.

    Attributes
    ----------
    nc1, nc2, effective_rank : ndarray, shape (layers,)
    numerical_rank : ndarray of int, shape (layers,)
    """

    nc1: np.ndarray
    nc2: np.ndarray
    numerical_rank: np.ndarray
    effective_rank: np.ndarray


def per_layer(
    features: Sequence, labels, num_classes: int | None = None, rank_tol: float = 0.1
) -> LayerMetrics:
    """NC1, NC2 and ranks of every intermediate representation (deep NC).

    Parameters
    ----------
    features : sequence of array_like, each (N, D_l)
        Representations of the same samples, input side first.
    labels : array_like of int, shape (N,)
    """
    rows = [
        nc_metrics(f, labels, num_classes=num_classes, rank_tol=rank_tol)
        for f in features
    ]
    return LayerMetrics(
        nc1=np.array([r.nc1 for r in rows]),
        nc2=np.array([r.nc2 for r in rows]),
        numerical_rank=np.array([r.numerical_rank for r in rows]),
        effective_rank=np.array([r.effective_rank for r in rows]),
    )
