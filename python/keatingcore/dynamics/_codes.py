"""Softmax codes: max-margin class geometries under a rank cap.

For unit vectors ``w_1 .. w_K`` in ``R^r``, ``rho(W) = min_k dist(w_k, conv{w_j :
j != k})``; a softmax code maximises ``rho`` (definition of the generalised-NC
literature, Jiang et al. 2023, as the digest ``shared/papers/ce-dynamics.md``,
section 3.7, records it; paper B's exact definition was not retrieved). By duality
``dist(w_k, conv{w_j}) = max_{|h| <= 1} min_{j != k} h^T (w_k - w_j)``: the best
one-vs-rest margin a unit feature can reach, so a softmax code is the max-margin
UFM geometry when the logits have rank at most ``r``.

Reference values (digest 3.7): simplex ``K <= r + 1``: ``K/(K-1)``; ``r = 2``:
regular K-gon, ``1 - cos(2 pi / K)``; cross-polytope ``K = 2r``: 1; Walsh cube
``K = 2^m``, ``r = m``: ``2/m`` (not known to be optimal for m >= 3).
"""

from __future__ import annotations

import dataclasses
import logging
import operator

import numpy as np
from scipy import optimize

logger = logging.getLogger(__name__)


def min_norm_point(points, tol: float = 1e-14, max_iter: int = 1000) -> np.ndarray:
    """Point of least norm in the convex hull of the rows of ``points`` (Wolfe 1976).

    Parameters
    ----------
    points : array_like, shape (m, r)
    tol : float
        Relative optimality tolerance.
    max_iter : int

    Returns
    -------
    ndarray, shape (r,)
    """
    P = np.asarray(points, dtype=float)
    scale = max(float(np.max(np.sum(P**2, axis=1))), 1e-300)
    S = [int(np.argmin(np.sum(P**2, axis=1)))]
    lam = np.array([1.0])
    x = P[S[0]].copy()
    for _ in range(max_iter):
        j = int(np.argmin(P @ x))
        if x @ x - P[j] @ x <= tol * scale or j in S:
            break
        S.append(j)
        lam = np.append(lam, 0.0)
        while True:  # minor cycle: move to the affine minimiser, dropping points
            Q = P[S]
            m = len(S)
            kkt = np.zeros((m + 1, m + 1))
            kkt[:m, :m] = Q @ Q.T
            kkt[:m, m] = kkt[m, :m] = 1.0
            rhs = np.zeros(m + 1)
            rhs[m] = 1.0
            alpha = np.linalg.lstsq(kkt, rhs, rcond=None)[0][:m]
            if np.all(alpha > tol):
                lam = alpha
                break
            neg = alpha <= tol
            theta = np.min(lam[neg] / (lam[neg] - alpha[neg]))
            lam = lam + theta * (alpha - lam)
            keep = lam > tol
            S = [s for s, k in zip(S, keep, strict=True) if k]
            lam = lam[keep] / lam[keep].sum()
        x = lam @ P[S]
    return x


def code_margin(vectors) -> tuple[float, np.ndarray]:
    """``rho`` of a code and each class's distance to the hull of the others.

    Parameters
    ----------
    vectors : array_like, shape (K, r)
        Class vectors (normalised to unit length here).

    Returns
    -------
    rho : float
    distances : ndarray, shape (K,)
    """
    W = np.asarray(vectors, dtype=float)
    if W.ndim != 2 or W.shape[0] < 2:
        raise ValueError(f"vectors must have shape (K, r) with K >= 2, got {W.shape}")
    W = W / np.linalg.norm(W, axis=1, keepdims=True)
    dist = np.array(
        [
            np.linalg.norm(min_norm_point(np.delete(W, k, axis=0) - W[k]))
            for k in range(W.shape[0])
        ]
    )
    return float(dist.min()), dist


@dataclasses.dataclass(frozen=True)
class SoftmaxCode:
    """A (numerically) max-margin softmax code.

    Attributes
    ----------
    vectors : ndarray, shape (K, r)
        Unit class vectors.
    margin : float
        ``rho``, certified by an exact hull-distance computation.
    distances : ndarray, shape (K,)
        Each class's distance to the hull of the others.
    restarts : int
        Multi-start runs tried.
    """

    vectors: np.ndarray
    margin: float
    distances: np.ndarray
    restarts: int


def _solve(W0: np.ndarray, maxiter: int):
    K, r = W0.shape
    pairs = [(k, j) for k in range(K) for j in range(K) if j != k]
    nw = K * r
    ki = np.array([p[0] for p in pairs])
    ji = np.array([p[1] for p in pairs])

    def split(x):
        return x[:nw].reshape(K, r), x[nw : 2 * nw].reshape(K, r), x[-1]

    def margins(x):
        W, H, g = split(x)
        return np.einsum("pr,pr->p", H[ki], W[ki] - W[ji]) - g

    def margins_jac(x):
        W, H, _ = split(x)
        J = np.zeros((len(pairs), x.size))
        rows = np.arange(len(pairs))
        for c in range(r):
            J[rows, ki * r + c] += H[ki, c]
            J[rows, ji * r + c] -= H[ki, c]
            J[rows, nw + ki * r + c] = W[ki, c] - W[ji, c]
        J[:, -1] = -1.0
        return J

    def unit_h(x):
        return 1.0 - np.sum(split(x)[1] ** 2, axis=1)

    def unit_h_jac(x):
        J = np.zeros((K, x.size))
        H = split(x)[1]
        for k in range(K):
            J[k, nw + k * r : nw + (k + 1) * r] = -2.0 * H[k]
        return J

    def unit_w(x):
        return np.sum(split(x)[0] ** 2, axis=1) - 1.0

    def unit_w_jac(x):
        J = np.zeros((K, x.size))
        W = split(x)[0]
        for k in range(K):
            J[k, k * r : (k + 1) * r] = 2.0 * W[k]
        return J

    x0 = np.concatenate([W0.ravel(), W0.ravel(), [0.0]])
    x0[-1] = margins(x0).min()
    grad = np.zeros(x0.size)
    grad[-1] = -1.0
    res = optimize.minimize(
        lambda x: -x[-1],
        x0,
        jac=lambda x: grad,
        method="SLSQP",
        constraints=[
            {"type": "ineq", "fun": margins, "jac": margins_jac},
            {"type": "ineq", "fun": unit_h, "jac": unit_h_jac},
            {"type": "eq", "fun": unit_w, "jac": unit_w_jac},
        ],
        options={"maxiter": maxiter, "ftol": 1e-15},
    )
    return split(res.x)[0]


def softmax_code(
    K: int, rank: int, restarts: int = 20, seed: int = 0, maxiter: int = 500
) -> SoftmaxCode:
    """Max-margin softmax code of ``K`` classes in dimension ``rank``.

    Multi-start SLSQP on the epigraph form ``max gamma`` subject to
    ``h_k^T (w_k - w_j) >= gamma``, ``|w_k| = 1``, ``|h_k| <= 1``; the best code is
    then certified by computing every hull distance exactly (:func:`code_margin`).
    The outer problem is non-convex, so the result is the best local optimum found.

    Parameters
    ----------
    K : int
        Classes, >= 2.
    rank : int
        Dimension r, >= 1.
    restarts : int
        Random starts, >= 1.
    seed : int
    maxiter : int
        SLSQP iterations per start.

    Returns
    -------
    SoftmaxCode
    """
    K, rank, restarts = (operator.index(v) for v in (K, rank, restarts))
    if K < 2:
        raise ValueError(f"K must be >= 2, got {K}")
    if rank < 1:
        raise ValueError(f"rank must be >= 1, got {rank}")
    if restarts < 1:
        raise ValueError(f"restarts must be >= 1, got {restarts}")
    rng = np.random.default_rng(seed)
    best = None
    for _ in range(restarts):
        W0 = rng.standard_normal((K, rank))
        W0 /= np.linalg.norm(W0, axis=1, keepdims=True)
        W = _solve(W0, maxiter)
        if not np.all(np.isfinite(W)):
            continue
        rho, dist = code_margin(W)
        if best is None or rho > best[1]:
            best = (W / np.linalg.norm(W, axis=1, keepdims=True), rho, dist)
    if best is None:
        raise RuntimeError("every start of the softmax-code optimiser failed")
    logger.debug("softmax code K=%d r=%d: rho=%.12g", K, rank, best[1])
    return SoftmaxCode(
        vectors=best[0], margin=best[1], distances=best[2], restarts=restarts
    )
