"""Full-matrix gradient descent on the (deep) UFM in torch: the reference the
reduced ODE is checked against (digest 6.5) and the random-initialisation runs.

The model is ``Z = W_{L-1} ... W_1 H`` with free features ``H`` (d x nK, samples
class-major), trained by plain gradient descent on the mean cross-entropy with
autograd; ``t = lr x steps``. torch is optional: importing this module does not
need it, calling :func:`gradient_descent` does.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import operator
import warnings

import numpy as np

from .._config import check_num_threads
from .._result import timer
from ..collapse import nc_metrics, numerical_rank, singular_spectrum
from ..warnings import ConvergenceWarning
from ._spectral import mode_basis, resolve_basis, spectral_weights

logger = logging.getLogger(__name__)


def require_torch():
    """Import torch, or raise an ImportError that says how to install it."""
    try:
        import torch
    except ImportError as exc:  # pragma: no cover - exercised without torch only
        raise ImportError(
            "this function needs PyTorch, an optional dependency: pip install torch"
        ) from exc
    return torch


@dataclasses.dataclass(frozen=True, repr=False)
class GDResult:
    """Records of a batch of gradient-descent runs.

    Attributes
    ----------
    t : ndarray, shape (R,)
        Recorded times ``lr x step``.
    step : ndarray of int, shape (R,)
    loss : ndarray, shape (B, R)
        Mean cross-entropy.
    logit_spectrum : ndarray, shape (B, R, K)
        Singular values of the centred class-mean logits (K x K), descending.
    rank : ndarray of int, shape (B, R)
        Their numerical rank (values above ``rank_tol`` times the largest).
    nc1, nc2, nc3 : ndarray, shape (B, R)
        Collapse metrics of the penultimate representation ``W_{L-2} ... H`` with
        the classifier ``W_{L-1}`` (see :mod:`keatingcore.collapse`).
    sigma : ndarray, shape (B, R, depth, K-1) or None
        Spectral start only: per-layer values read through the fixed bases.
    leakage : ndarray, shape (B, R) or None
        Spectral start only: largest relative Frobenius norm of the part of any
        factor outside the spectral form (round-off if the structure holds).
    factors : list of ndarray
        Final ``[H, W_1, ..., W_{L-1}]``, each with a leading batch axis.
    lr : float
    elapsed : float
    """

    t: np.ndarray
    step: np.ndarray
    loss: np.ndarray
    logit_spectrum: np.ndarray
    rank: np.ndarray
    nc1: np.ndarray
    nc2: np.ndarray
    nc3: np.ndarray
    sigma: np.ndarray | None
    leakage: np.ndarray | None
    factors: list
    lr: float
    elapsed: float

    def __repr__(self) -> str:
        B, R = self.loss.shape
        return (
            f"GDResult({B} runs, {R} records to t={self.t[-1]:g}, lr={self.lr:g}, "
            f"final loss {np.nanmean(self.loss[:, -1]):.4g}, {self.elapsed:.3g} s)"
        )


def _gaussian(K, n, depth, d, scale, seeds, torch, dtype, device):
    shapes = [(d, n * K)] + [(d, d)] * (depth - 2) + [(K, d)]
    out = []
    for shape in shapes:
        mats = [
            np.random.default_rng([seed, len(out)]).standard_normal(shape)
            for seed in seeds
        ]
        arr = np.stack(mats) * (scale / math.sqrt(d))
        out.append(torch.tensor(arr, dtype=dtype, device=device))
    return out


def _readback(factors, bases, U1, n):
    """Per-layer diagonal values through the known bases, and the leakage."""
    H = factors[0]
    B, d, N = H.shape
    K = U1.shape[0]
    Hbar = H.reshape(B, d, K, n).mean(axis=3)
    depth = len(factors)
    sigma = np.empty((B, depth, K - 1))
    leak = np.zeros(B)
    for l in range(depth - 1, 0, -1):
        out_b = U1 if l == depth - 1 else bases[l]
        core = out_b.T @ factors[l] @ bases[l - 1]
        sigma[:, l] = np.diagonal(core, axis1=1, axis2=2)
        rebuilt = out_b @ (sigma[:, l, :, None] * bases[l - 1].T)
        leak = np.maximum(leak, _rel(factors[l], rebuilt))
    sigma[:, 0] = np.diagonal(bases[0].T @ Hbar @ U1, axis1=1, axis2=2)
    rebuilt = np.repeat(bases[0] @ (sigma[:, 0, :, None] * U1.T), n, axis=2)
    leak = np.maximum(leak, _rel(H, rebuilt))
    return sigma, leak


def _rel(a, b):
    num = np.linalg.norm((a - b).reshape(a.shape[0], -1), axis=1)
    den = np.maximum(np.linalg.norm(a.reshape(a.shape[0], -1), axis=1), 1e-300)
    return num / den


def _record(factors, labels, K, n, rank_tol):
    """Spectrum, rank and NC metrics of each run from numpy copies of the factors.

    A diverged record (overflow anywhere) gives NaN metrics and rank 0.
    """
    B = factors[0].shape[0]
    try:
        with np.errstate(over="raise", invalid="raise"):
            return _metrics_of(factors, labels, K, n, rank_tol)
    except (FloatingPointError, np.linalg.LinAlgError):
        nan = np.full(B, np.nan)
        return np.full((B, K), np.nan), np.zeros(B, dtype=int), nan, nan, nan


def _metrics_of(factors, labels, K, n, rank_tol):
    B = factors[0].shape[0]
    feats = factors[0]
    for W in factors[1:-1]:
        feats = W @ feats
    top = factors[-1]
    logits = top @ feats  # (B, K, N)
    if not np.all(np.isfinite(logits)):
        raise FloatingPointError("non-finite logits")
    zbar = logits.reshape(B, K, K, n).mean(axis=3)
    # Double centring: a common shift of a sample's logits or of a class's logits
    # changes neither the softmax nor the geometry.
    zbar = (
        zbar
        - zbar.mean(axis=1, keepdims=True)
        - zbar.mean(axis=2, keepdims=True)
        + zbar.mean(axis=(1, 2), keepdims=True)
    )
    spec = singular_spectrum(zbar)
    nc = [nc_metrics(feats[b].T, labels, top[b], rank_tol=rank_tol) for b in range(B)]
    return (
        spec,
        numerical_rank(spec, rank_tol),
        np.array([m.nc1 for m in nc]),
        np.array([m.nc2 for m in nc]),
        np.array([m.nc3 for m in nc]),
    )


def _descend(forward, keep, factors, steps, every, lr, torch):
    """The gradient-descent loop; records through ``keep``, stops on divergence."""
    for step in range(steps + 1):
        loss = forward()
        if step % every == 0 or step == steps:
            keep(step, loss)
        if not torch.isfinite(loss).all():
            warnings.warn(
                f"gradient descent diverged at step {step} (t = {step * lr:g}); "
                "lower lr. Records up to here are kept.",
                ConvergenceWarning,
                stacklevel=3,
            )
            return
        if step == steps:
            return
        for f in factors:
            f.grad = None
        loss.sum().backward()
        with torch.no_grad():
            for f in factors:
                f -= lr * f.grad


def gradient_descent(
    K: int = 4,
    n: int = 1,
    depth: int = 2,
    width: int | None = None,
    lr: float = 1e-2,
    steps: int = 1000,
    *,
    init: str = "spectral",
    sigma0=None,
    scale: float = 0.5,
    batch: int = 1,
    basis: str = "auto",
    hidden: str = "random",
    record_every: int | None = None,
    rank_tol: float = 0.1,
    seed: int = 0,
    device: str | None = None,
    dtype: str = "float64",
    num_threads: int | None = None,
) -> GDResult:
    """Gradient descent on the full matrices of the (deep) UFM, in torch.

    Parameters
    ----------
    K : int
        Classes, >= 2.
    n : int
        Samples per class, >= 1.
    depth : int
        Factors L >= 2, the features included.
    width : int, optional
        Hidden width d (default K; >= K-1 for a spectral start).
    lr : float
        Learning rate, > 0; time ``t = lr x step``.
    steps : int
        Gradient steps, >= 0.
    init : {"spectral", "gaussian"}
        Spectral start from ``sigma0`` (:func:`spectral_weights`), or i.i.d.
        ``N(0, scale^2 / d)`` entries in every factor.
    sigma0 : array_like, shape (depth, K-1) or (B, depth, K-1)
        Spectral start values (required for ``init="spectral"``).
    scale : float
        Gaussian start scale.
    batch : int
        Independent Gaussian runs (seeds ``seed .. seed + batch - 1``).
    basis, hidden : str
        As in :func:`spectral_weights` (one set of bases for the whole batch).
    record_every : int, optional
        Record every this many steps (default: about 100 records); the last step
        is always recorded.
    rank_tol : float
        Relative threshold of the numerical rank.
    seed : int
    device : str, optional
        torch device (default: CUDA when available, else CPU).
    dtype : {"float64", "float32"}
    num_threads : int, optional
        torch intra-op threads for this call (restored afterwards; torch's setting
        is process-wide, so do not run other torch work concurrently). The small
        matrices of a UFM gain nothing from threads, and on a busy machine one
        thread avoids torch's spin-waits. Default: torch's current setting.

    Returns
    -------
    GDResult

    Raises
    ------
    ImportError
        Without torch (``pip install torch``).
    """
    torch = require_torch()
    K, n, depth = (operator.index(v) for v in (K, n, depth))
    if K < 2:
        raise ValueError(f"K must be >= 2, got {K}")
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    if depth < 2:
        raise ValueError(f"depth must be >= 2, got {depth}")
    d = K if width is None else operator.index(width)
    if d < 1:
        raise ValueError(f"width must be >= 1, got {d}")
    if not (lr > 0 and math.isfinite(lr)):
        raise ValueError(f"lr must be finite and > 0, got {lr!r}")
    steps = operator.index(steps)
    if steps < 0:
        raise ValueError(f"steps must be >= 0, got {steps}")
    every = (
        max(1, steps // 100) if record_every is None else operator.index(record_every)
    )
    if every < 1:
        raise ValueError(f"record_every must be >= 1, got {every}")
    if dtype not in ("float64", "float32"):
        raise ValueError(f"dtype must be 'float64' or 'float32', got {dtype!r}")
    tdtype = getattr(torch, dtype)
    if device is None:
        device = "cuda" if torch.cuda.is_available() else "cpu"

    bases = U1 = None
    if init == "spectral":
        if sigma0 is None:
            raise ValueError("init='spectral' needs sigma0 of shape (depth, K-1)")
        sig = np.asarray(sigma0, dtype=float)
        sig = sig[None] if sig.ndim == 2 else sig
        if sig.ndim != 3 or sig.shape[1:] != (depth, K - 1):
            raise ValueError(
                f"sigma0 must have shape ({depth}, {K - 1}) or (B, {depth}, {K - 1}), "
                f"got {np.shape(sigma0)}"
            )
        basis = resolve_basis(K, basis)
        U1 = mode_basis(K, basis)[:, 1:]
        runs = []
        for s in sig:
            runs_f, bases = spectral_weights(
                s, n, d, basis, hidden, seed=seed, return_bases=True
            )
            runs.append(runs_f)
        factors = [
            torch.tensor(np.stack([r[i] for r in runs]), dtype=tdtype, device=device)
            for i in range(depth)
        ]
    elif init == "gaussian":
        if not scale > 0:
            raise ValueError(f"scale must be > 0, got {scale!r}")
        batch = operator.index(batch)
        if batch < 1:
            raise ValueError(f"batch must be >= 1, got {batch}")
        seeds = list(range(seed, seed + batch))
        factors = _gaussian(K, n, depth, d, scale, seeds, torch, tdtype, device)
    else:
        raise ValueError(f"init must be 'spectral' or 'gaussian', got {init!r}")

    for f in factors:
        f.requires_grad_(True)
    B = factors[0].shape[0]
    labels_np = np.repeat(np.arange(K), n)
    labels = torch.tensor(labels_np, device=device).repeat(B)
    records: dict[str, list] = {k: [] for k in ("t", "step", "loss", "np")}

    def forward():
        Z = factors[0]
        for W in factors[1:]:
            Z = W @ Z
        per = torch.nn.functional.cross_entropy(
            Z.transpose(1, 2).reshape(B * n * K, K), labels, reduction="none"
        )
        return per.view(B, n * K).mean(dim=1)

    def keep(step, loss):
        records["t"].append(step * lr)
        records["step"].append(step)
        records["loss"].append(loss.detach().cpu().numpy().copy())
        records["np"].append([f.detach().cpu().numpy().copy() for f in factors])

    previous = torch.get_num_threads()
    threads = check_num_threads(num_threads)
    if threads:
        torch.set_num_threads(threads)
    try:
        with timer() as elapsed:
            _descend(forward, keep, factors, steps, every, lr, torch)
    finally:
        torch.set_num_threads(previous)

    snaps = records["np"]
    recs = [_record(s, labels_np, K, n, rank_tol) for s in snaps]
    sigma = leak = None
    if init == "spectral":
        with np.errstate(all="ignore"):  # NaN/inf records of a diverged run
            read = [_readback(s, bases, U1, n) for s in snaps]
        sigma = np.stack([r[0] for r in read], axis=1)
        leak = np.stack([r[1] for r in read], axis=1)
    result = GDResult(
        t=np.array(records["t"], dtype=float),
        step=np.array(records["step"]),
        loss=np.stack(records["loss"], axis=1),
        logit_spectrum=np.stack([r[0] for r in recs], axis=1),
        rank=np.stack([r[1] for r in recs], axis=1),
        nc1=np.stack([r[2] for r in recs], axis=1),
        nc2=np.stack([r[3] for r in recs], axis=1),
        nc3=np.stack([r[4] for r in recs], axis=1),
        sigma=sigma,
        leakage=leak,
        factors=snaps[-1],
        lr=float(lr),
        elapsed=elapsed[0],
    )
    logger.debug("%r", result)
    return result
