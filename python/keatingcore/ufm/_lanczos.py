"""Block Lanczos on Hessian-vector products, for models too large for a dense
Hessian (10^5 parameters and more; CPU or GPU through torch).

Plain Lanczos started from one vector sees a multiple eigenvalue only once, and the
layer Hessian at the optimum has K^2 equal outliers; a block of at least that many
vectors recovers the whole cluster. Every block is fully reorthogonalised (twice)
against the basis, so memory grows to ``8 p (steps + 1) block_size`` bytes in float64.
"""

from __future__ import annotations

import dataclasses
import logging
import warnings
from typing import Any

import numpy as np

from .._result import SolverResult, timer
from ..warnings import ConvergenceWarning
from ._autograd import hvp_operator, loss_closure
from ._checks import check_int, require_torch, torch_threads

logger = logging.getLogger(__name__)

MAX_BASIS_BYTES = 8 * 2**30


@dataclasses.dataclass(frozen=True, repr=False)
class LanczosResult(SolverResult):
    """Extreme eigenvalues of a Hessian from block Lanczos.

    Attributes
    ----------
    eigenvalues : ndarray, shape (k,)
        Largest (or smallest) Ritz values, in that order.
    residual_norms : ndarray, shape (k,)
        ``|H x - theta x|`` of each Ritz pair; ``residual`` is their maximum over
        ``max |theta|``.
    ritz_values : ndarray
        Every Ritz value of the final Krylov basis, descending.
    n_hvp : int
        Hessian-vector products used.
    n_params : int
        Dimension of the Hessian.
    block_size : int
    vectors : ndarray, shape (n_params, k) or None
        Ritz vectors when asked for.
    """

    eigenvalues: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    residual_norms: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    ritz_values: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    n_hvp: int = 0
    n_params: int = 0
    block_size: int = 0
    vectors: np.ndarray | None = dataclasses.field(default=None, repr=False)


def _orthonormalise(torch, W):
    """``W = Q R`` for tall-skinny W: Cholesky-QR twice (two Gram matrices and
    triangular solves, far cheaper than Householder at p ~ 1e6), falling back to
    Householder when W is too ill-conditioned for the Cholesky factor."""
    R = torch.eye(W.shape[1], dtype=W.dtype, device=W.device)
    Q = W
    for _ in range(2):
        C, info = torch.linalg.cholesky_ex(Q.T @ Q)
        d = torch.diagonal(C)
        if int(info) != 0 or not bool(d.min() > 1e-6 * d.max()):
            return torch.linalg.qr(W)
        Q = torch.linalg.solve_triangular(C.T, Q, upper=True, left=False)
        R = C.T @ R
    return Q, R


def _block_tridiagonal(torch, alphas, betas):
    b = alphas[0].shape[0]
    m = len(alphas) * b
    T = torch.zeros(m, m, dtype=alphas[0].dtype, device=alphas[0].device)
    for j, A in enumerate(alphas):
        T[j * b : (j + 1) * b, j * b : (j + 1) * b] = A
    for j, B in enumerate(betas):
        T[(j + 1) * b : (j + 2) * b, j * b : (j + 1) * b] = B
        T[j * b : (j + 1) * b, (j + 1) * b : (j + 2) * b] = B.T
    return T


def lanczos(
    factors,
    n: int,
    k: int | None = None,
    *,
    params: Any = "all",
    loss: str = "mse",
    activation: str = "linear",
    lams=None,
    which: str = "largest",
    block_size: int | None = None,
    max_iter: int = 30,
    tol: float = 1e-8,
    seed: int = 0,
    device: str | None = None,
    dtype: str = "float64",
    num_threads: int | None = None,
    return_vectors: bool = False,
) -> LanczosResult:
    """Extreme eigenvalues of the Hessian from Hessian-vector products.

    Parameters
    ----------
    factors : sequence of array_like
        ``[H_1, W_1, ..., W_L]``.
    n : int
        Samples per class.
    k : int, optional
        Eigenvalues wanted (default ``K^2 + K``).
    params : "all", int or sequence of int
        Factors whose Hessian block is taken (0 is ``H_1``; an int gives the
        layer-wise Hessian).
    loss, activation : str
        As in :func:`keatingcore.ufm.train`.
    lams : array_like, shape (depth,), optional
        Include the regulariser.
    which : {"largest", "smallest"}
    block_size : int, optional
        Vectors per block (default ``k``); at least the multiplicity of the
        wanted eigenvalues.
    max_iter : int
        Block steps (>= 1); the Krylov basis has ``(max_iter + 1) block_size``
        vectors.
    tol : float
        Stop when every wanted Ritz pair has ``|H x - theta x| <= tol max|theta|``.
    seed : int
        Of the random start block.
    device : str, optional
        torch device (default CPU).
    dtype : {"float64", "float32"}
    num_threads : int, optional
        torch CPU threads for this call (restored afterwards).
    return_vectors : bool

    Returns
    -------
    LanczosResult
        A :class:`~keatingcore.warnings.ConvergenceWarning` is emitted when
        ``max_iter`` steps did not reach ``tol``.
    """
    torch = require_torch()
    if which not in ("largest", "smallest"):
        raise ValueError(f"which must be 'largest' or 'smallest', got {which!r}")
    f, theta0 = loss_closure(
        factors,
        n,
        params=params,
        loss=loss,
        activation=activation,
        lams=lams,
        device=device,
        dtype=dtype,
    )
    p = theta0.numel()
    K = np.shape(factors[-1])[0]
    k = K * K + K if k is None else check_int(k, "k", 1)
    b = k if block_size is None else check_int(block_size, "block_size", 1)
    max_iter = check_int(max_iter, "max_iter", 1)
    if not tol > 0:
        raise ValueError(f"tol must be > 0, got {tol!r}")
    if k > p:
        raise ValueError(f"k must be <= the number of parameters {p}, got {k}")
    b = min(b, p)
    max_iter = min(max_iter, max(1, p // b - 1))
    nbytes = theta0.element_size() * p * (max_iter + 1) * b
    if nbytes > MAX_BASIS_BYTES:
        raise ValueError(
            f"the Krylov basis could reach {nbytes / 2**30:.1f} GiB; lower max_iter "
            f"or block_size (limit {MAX_BASIS_BYTES / 2**30:.0f} GiB)"
        )
    sign = 1.0 if which == "largest" else -1.0
    gen = torch.Generator(device=theta0.device).manual_seed(seed)
    start = torch.randn(p, b, generator=gen, dtype=theta0.dtype, device=theta0.device)
    # The basis grows block by block, so memory follows the steps actually taken.
    Q = [_orthonormalise(torch, start)[0]]
    alphas, betas = [], []
    converged = False
    n_hvp = 0
    with timer() as elapsed, torch_threads(torch, num_threads):
        hvp = hvp_operator(f, theta0)
        for j in range(max_iter):
            W = sign * hvp(Q[j])
            n_hvp += b
            A = Q[j].T @ W
            A = 0.5 * (A + A.T)
            W = W - Q[j] @ A
            if j > 0:
                W = W - Q[j - 1] @ betas[-1].T
            for _ in range(2):
                for Qi in Q:
                    W = W - Qi @ (Qi.T @ W)
            Qn, B = _orthonormalise(torch, W)
            # A second pass keeps Qn orthogonal when W was (nearly) exhausted.
            for Qi in Q:
                Qn = Qn - Qi @ (Qi.T @ Qn)
            Qn, R2 = _orthonormalise(torch, Qn)
            B = R2 @ B
            alphas.append(A)
            T = _block_tridiagonal(torch, alphas, betas)
            theta, Y = torch.linalg.eigh(T)
            theta, Y = theta.flip(0), Y.flip(1)
            res = torch.linalg.norm(B @ Y[-b:, :k], dim=0)
            scale = max(float(theta.abs().max()), 1e-300)
            rel = float(res.max()) / scale
            logger.debug("lanczos step %d: %d hvp, residual %.2e", j + 1, n_hvp, rel)
            if rel <= tol or j == max_iter - 1:
                converged = rel <= tol
                break
            Q.append(Qn)
            betas.append(B)
    if not converged:
        warnings.warn(
            f"block Lanczos reached max_iter={max_iter} with relative residual "
            f"{rel:.2e} > tol={tol:g}; raise max_iter or block_size",
            ConvergenceWarning,
            stacklevel=2,
        )
    vectors = None
    if return_vectors:
        Yk = Y[:, :k]
        vectors = sum(Qi @ Yk[i * b : (i + 1) * b] for i, Qi in enumerate(Q))
        vectors = vectors.cpu().numpy()
    ritz = (sign * theta).cpu().numpy()
    return LanczosResult(
        converged=converged,
        n_iter=len(alphas),
        residual=rel,
        elapsed=elapsed[0],
        eigenvalues=ritz[:k],
        residual_norms=res.cpu().numpy(),
        ritz_values=np.sort(ritz)[::-1],
        n_hvp=n_hvp,
        n_params=p,
        block_size=b,
        vectors=vectors,
    )
