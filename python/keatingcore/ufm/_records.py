"""Per-layer measurements of a deep UFM at one point (used while training).

NC1, the simplex NC2 and the ranks come from :mod:`keatingcore.collapse`. Two
deep-UFM notions it does not provide are computed here (digest C): the
orthogonal-frame NC2 of the bias-free MSE model,
``|M^T M / |M^T M|_F - I_K / sqrt(K)|_F`` with uncentred class means M, and the
DNC3 alignment of B, ``1 - |W_l P_l|_F^2 / |W_l|_F^2`` with ``P_l`` the projector
onto the span of the class means at the input of ``W_l``.
"""

from __future__ import annotations

import numpy as np

from .. import collapse
from ._checks import labels as class_labels
from ._hessian import class_means_of


def orthogonal_frame_distance(means: np.ndarray) -> float:
    """``|G / |G|_F - I / sqrt(K)|_F`` for ``G = M M^T`` (means: K x D, uncentred)."""
    G = means @ means.T
    norm = np.linalg.norm(G)
    if norm == 0:
        return float("nan")
    K = G.shape[0]
    return float(np.linalg.norm(G / norm - np.eye(K) / np.sqrt(K)))


def mean_span_alignment(W: np.ndarray, means: np.ndarray) -> float:
    """``1 - |W P|^2 / |W|^2``, P the projector onto span of the rows of means."""
    wn = float(np.sum(W**2))
    if wn == 0:
        return float("nan")
    U, s, _ = np.linalg.svd(means.T, full_matrices=False)
    if s.size == 0 or s[0] == 0:
        return 1.0
    U = U[:, s > 1e-10 * s[0]]
    return float(1.0 - np.sum((W @ U) ** 2) / wn)


def _svals(M: np.ndarray) -> np.ndarray:
    if not np.all(np.isfinite(M)):
        return np.full(min(M.shape), np.nan)
    return np.linalg.svd(M, compute_uv=False)


def _padded(rows: list[np.ndarray]) -> np.ndarray:
    width = max(r.size for r in rows)
    out = np.full((len(rows), width), np.nan)
    for i, r in enumerate(rows):
        out[i, : r.size] = r
    return out


def _nan_record(factors, reps) -> dict[str, np.ndarray]:
    depth, K = len(reps), factors[-1].shape[0]
    nan = np.full(depth, np.nan)
    return {
        "nc1": nan,
        "nc2": nan,
        "nc2_orth": nan,
        "numerical_rank": np.zeros(depth, dtype=int),
        "effective_rank": nan,
        "dnc3": np.full(depth - 1, np.nan),
        "mean_logits": np.full((K, K), np.nan),
        "weight_svals": _padded([np.full(min(W.shape), np.nan) for W in factors[1:]]),
        "feature_svals": _padded([np.full(min(h.shape), np.nan) for h in reps]),
        "logit_svals": np.full(K, np.nan),
    }


def layer_record(
    factors: list[np.ndarray], reps: list[np.ndarray], n: int, rank_tol: float
) -> dict[str, np.ndarray]:
    """Collapse metrics and spectra of every representation and weight.

    ``reps`` are ``[H_1, ..., H_L, Z]`` (inputs of every weight, then the output).
    """
    K = factors[-1].shape[0]
    y = class_labels(K, n)
    if not all(np.all(np.isfinite(a)) for a in [*factors, *reps]):
        return _nan_record(factors, reps)
    # A diverging run still records (huge values); the trainer warns about it.
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        deep = collapse.per_layer(
            [h.T for h in reps], y, num_classes=K, rank_tol=rank_tol
        )
        means = [class_means_of(h, K, n) for h in reps]
        orth = np.array([orthogonal_frame_distance(m) for m in means])
        dnc3 = np.array(
            [mean_span_alignment(W, means[l]) for l, W in enumerate(factors[1:])]
        )
    Zbar = means[-1].T  # K x K, column c = class c
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        spectra = {
            "weight_svals": _padded([_svals(W) for W in factors[1:]]),
            "feature_svals": _padded([_svals(h) for h in reps]),
            "logit_svals": _svals(Zbar),
        }
    return {
        "nc1": deep.nc1,
        "nc2": deep.nc2,
        "nc2_orth": orth,
        "numerical_rank": deep.numerical_rank,
        "effective_rank": deep.effective_rank,
        "dnc3": dnc3,
        "mean_logits": Zbar,
        **spectra,
    }
