"""Collapsed cross-entropy configurations and their reduced loss (paper B).

Model (Garrod & Keating, arXiv 2410.23169): mean cross-entropy over the N = nK
samples plus ``lam_j/2 ||X_j||_F^2`` on every factor. At any critical point the
factors are balanced, so the loss depends on the output Z only (paper B, Lemma 1)::

    L(Z) = g(Z) + (lam M / 2) sum_i s_i(Z)^(2/M),     M = depth = L + 1,

with ``lam`` the geometric mean of the factor strengths (equal strengths in paper B;
the geometric mean is the same AM-GM reduction as for the MSE model). A collapsed
output ``Z = t Zbar (x) 1_n^T`` with a fixed K x K frame ``Zbar`` (column c = mean
logits of class c) therefore costs, at scale t,

    phi(t) = (1/K) sum_c log(1 + sum_{k != c} exp(-t (Zbar[c,c] - Zbar[k,c])))
             + (lam M / 2) sum_i (t sqrt(n) s_i(Zbar))^(2/M).

The DNC frame is the simplex ``S = I - 11^T/K``; the low-rank frame pairs classes
(paper B, Eq. (5)). These formulas are the digest's reconstructions
(shared/papers/deep-ufm.md, B.2-B.3), checked here against gradient descent.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import _core
from .._config import check_num_threads
from ._checks import check_int, check_problem, factor_lams, plain


def dnc_frame(K: int) -> np.ndarray:
    """Simplex frame ``S = I_K - 11^T/K``: margin 1 over every wrong class."""
    K = check_int(K, "K", 2)
    return np.eye(K) - np.full((K, K), 1.0 / K)


def lowrank_frame(K: int) -> np.ndarray:
    """Paired frame of paper B, Eq. (5): blocks ``[[1, -1], [-1, 1]]``.

    Class ``2j`` gets +1 on itself and -1 on its partner ``2j+1``, 0 elsewhere;
    for odd K the last class has 1 on its own logit only. Rank ``ceil(K/2)``.
    """
    K = check_int(K, "K", 2)
    Z = np.zeros((K, K))
    for j in range(K // 2):
        a, b = 2 * j, 2 * j + 1
        Z[a, a] = Z[b, b] = 1.0
        Z[a, b] = Z[b, a] = -1.0
    if K % 2:
        Z[K - 1, K - 1] = 1.0
    return Z


def circle_frame(K: int) -> np.ndarray:
    """Rank-2 diagonally superior frame ``X^T X``, ``X = [cos; sin](2 pi c / K)``."""
    K = check_int(K, "K", 2)
    theta = 2 * np.pi * np.arange(K) / K
    X = np.stack([np.cos(theta), np.sin(theta)])
    return X.T @ X


FRAMES = {"dnc": dnc_frame, "lowrank": lowrank_frame, "circle": circle_frame}


def check_frame(frame: Any) -> np.ndarray:
    """A finite, non-zero K x K float array (K >= 2)."""
    Z = np.asarray(frame, dtype=float)
    if Z.ndim != 2 or Z.shape[0] != Z.shape[1] or Z.shape[0] < 2:
        raise ValueError(f"frame must have shape (K, K) with K >= 2, got {Z.shape}")
    if not np.all(np.isfinite(Z)):
        raise ValueError("frame must be finite")
    if not np.any(Z != 0):
        raise ValueError("frame must not be zero")
    return Z


def frame_singular_values(frame: Any) -> np.ndarray:
    """Singular values of a frame, descending, with round-off (below ``1e-12``
    times the largest) set to 0: ``s^(2/M)`` would turn 1e-17 into a visible term."""
    s = np.linalg.svd(check_frame(frame), compute_uv=False)
    return np.where(s > 1e-12 * s[0], s, 0.0)


def margins(frame: Any) -> np.ndarray:
    """``m[c, k] = Zbar[c, c] - Zbar[k, c]``: class c's lead over class k."""
    Z = check_frame(frame)
    return np.diag(Z)[:, None] - Z.T


def frame_loss(frame, t, n: int, depth: int, lam_W, lam_H=None) -> dict[str, Any]:
    """Reduced cross-entropy loss of ``t Zbar (x) 1_n^T`` (numpy, vectorised in t).

    Parameters
    ----------
    frame : array_like, shape (K, K)
        Mean logits at unit scale (column c: class c).
    t : array_like
        Scales >= 0.
    n, depth : int
    lam_W, lam_H : float or sequence
        As in :func:`keatingcore.ufm.mse_optimum`; only their geometric mean enters.

    Returns
    -------
    dict
        ``loss``, ``fit`` and ``reg``, each shaped like ``t``.
    """
    Z = check_frame(frame)
    K, n, depth = check_problem(Z.shape[0], n, depth)
    lam = float(np.exp(np.mean(np.log(factor_lams(depth, lam_W, lam_H)))))
    t = np.asarray(t, dtype=float)
    if np.any(t < 0):
        raise ValueError("t must be >= 0")
    m = margins(Z)
    off = ~np.eye(K, dtype=bool)
    a = -t[..., None, None] * np.where(off, m, 0.0)
    a = np.where(off, a, 0.0)
    fit = np.mean(
        np.log(np.sum(np.exp(a - a.max(-1, keepdims=True)), -1)) + a.max(-1), axis=-1
    )
    s = frame_singular_values(Z)
    reg = 0.5 * lam * depth * np.sum((np.sqrt(n) * s) ** (2 / depth)) * t ** (2 / depth)
    return {"loss": fit + reg, "fit": fit, "reg": reg}


@dataclasses.dataclass(frozen=True)
class FrameMinimum:
    """Best scale of one collapsed frame.

    Attributes
    ----------
    frame : ndarray, shape (K, K)
        Unit-scale mean logits.
    K, n, depth : int
    lams : ndarray, shape (depth,)
        ``[lam_H, lam_W_1, ..., lam_W_L]``.
    lam : float
        Their geometric mean (the only combination the reduced loss sees).
    scale : float
        Global minimiser t* over t >= 0 (0 when the zero solution wins).
    loss, fit, reg : float
        At t*.
    at_zero : bool
        The zero solution (loss log K) is at least as good as any positive scale.
    inner_scale, inner_loss : float
        Best strictly positive local minimum (NaN if none), e.g. the DNC
        configuration of paper B even when zero wins.
    n_local : int
        Positive local minima found.
    singular_values : ndarray, shape (K,)
        Of the unit frame, descending.
    rank : int
        Singular values above ``1e-12`` times the largest.
    """

    frame: np.ndarray
    K: int
    n: int
    depth: int
    lams: np.ndarray
    lam: float
    scale: float
    loss: float
    fit: float
    reg: float
    at_zero: bool
    inner_scale: float
    inner_loss: float
    n_local: int
    singular_values: np.ndarray
    rank: int

    @property
    def mean_logits(self) -> np.ndarray:
        """``t* Zbar``, K x K (column c: class c)."""
        return self.scale * self.frame

    def to_dict(self) -> dict[str, Any]:
        return plain(self)


def minimise_frames(
    frames: Sequence,
    n,
    depth,
    lam_W,
    lam_H=None,
    *,
    grid: int = 600,
    tol: float = 1e-12,
    num_threads: int | None = None,
) -> list[FrameMinimum]:
    """Global minimum over the scale of several frames, in one C++ call.

    Parameters
    ----------
    frames : sequence of array_like, each (K_b, K_b)
    n, depth : int or sequence of int
        One value for all frames or one per frame.
    lam_W, lam_H : float or sequence
        As in :func:`frame_loss`, the same for every frame (a per-matrix sequence
        needs every frame at the matching depth).
    grid : int
        Log-spaced grid points (>= 3) before the Brent refinement.
    tol : float
        Relative tolerance of the refined scale (> 0).
    num_threads : int, optional
        Threads (OpenMP over frames; the result does not depend on it).

    Returns
    -------
    list of FrameMinimum
    """
    Zs = [check_frame(f) for f in frames]
    B = len(Zs)
    if B == 0:
        raise ValueError("frames must not be empty")
    ns = np.broadcast_to(np.asarray(n), (B,))
    depths = np.broadcast_to(np.asarray(depth), (B,))
    grid = check_int(grid, "grid", 3)
    if not tol > 0:
        raise ValueError(f"tol must be > 0, got {tol!r}")
    Kmax = max(Z.shape[0] for Z in Zs)
    M = np.full((B, Kmax, Kmax), np.inf)
    S = np.zeros((B, Kmax))
    Ks, nn, dd, lam_bar, lams_all, svals = [], [], [], [], [], []
    for b, Z in enumerate(Zs):
        K, nb, db = check_problem(Z.shape[0], ns[b], depths[b])
        lams = factor_lams(db, lam_W, lam_H)
        s = frame_singular_values(Z)
        M[b, :K, :K] = margins(Z)
        S[b, :K] = s
        Ks.append(K)
        nn.append(nb)
        dd.append(db)
        lams_all.append(lams)
        lam_bar.append(float(np.exp(np.mean(np.log(lams)))))
        svals.append(s)
    raw = _core.ufm.minimise_frames(
        M,
        S,
        np.array(Ks, dtype=np.int32),
        np.array(nn, dtype=float),
        np.array(dd, dtype=np.int32),
        np.array(lam_bar),
        grid=grid,
        tol=float(tol),
        num_threads=check_num_threads(num_threads),
    )
    out = []
    for b, Z in enumerate(Zs):
        s = svals[b]
        out.append(
            FrameMinimum(
                frame=Z,
                K=Ks[b],
                n=nn[b],
                depth=dd[b],
                lams=lams_all[b],
                lam=lam_bar[b],
                scale=float(raw["scale"][b]),
                loss=float(raw["loss"][b]),
                fit=float(raw["fit"][b]),
                reg=float(raw["reg"][b]),
                at_zero=bool(raw["scale"][b] == 0),
                inner_scale=float(raw["inner_scale"][b]),
                inner_loss=float(raw["inner_loss"][b]),
                n_local=int(raw["n_local"][b]),
                singular_values=s,
                rank=int(np.sum(s > 0)),
            )
        )
    return out


def frame_minimum(
    frame, n: int, depth: int, lam_W, lam_H=None, **kwargs: Any
) -> FrameMinimum:
    """Global minimum over the scale t >= 0 of one frame's reduced loss.

    Parameters
    ----------
    frame : array_like, shape (K, K) or {"dnc", "lowrank", "circle"}
        A user frame (mean logits at unit scale, column c: class c); a name needs
        ``K=`` in ``kwargs``.
    n, depth : int
    lam_W, lam_H : float or sequence
    **kwargs
        ``K`` for a named frame; ``grid``, ``tol``, ``num_threads`` as in
        :func:`minimise_frames`.

    Returns
    -------
    FrameMinimum
    """
    if isinstance(frame, str):
        if frame not in FRAMES:
            raise ValueError(f"frame must be one of {tuple(FRAMES)} or an array")
        if "K" not in kwargs:
            raise ValueError("a named frame needs K=")
        frame = FRAMES[frame](kwargs.pop("K"))
    return minimise_frames([frame], n, depth, lam_W, lam_H, **kwargs)[0]
