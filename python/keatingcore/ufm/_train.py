"""Full-batch training of the deep UFM in torch (gradient descent or Adam).

Loss: the MSE ``1/(2N)|Z - Y|^2`` or the mean cross-entropy over the N = nK
samples, plus ``lam_j/2 |X_j|_F^2`` on every factor ``[H_1, W_1, ..., W_L]``;
linear or ReLU between layers; time ``t = lr x step``. torch is optional: importing
this module does not need it, calling :func:`train` does.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import sys
import warnings
from typing import Any

import numpy as np

from .._result import SolverResult, timer
from ..warnings import ConvergenceWarning
from ._checks import (
    ACTIVATIONS,
    LOSSES,
    check_choice,
    check_int,
    check_positive,
    check_problem,
    check_widths,
    factor_lams,
    plain,
    require_torch,
    torch_threads,
)
from ._hessian import HessianMetrics, hessian_metrics
from ._model import check_factors, forward
from ._records import layer_record

logger = logging.getLogger(__name__)

OPTIMIZERS = ("gd", "adam")
_TRACKS = ("top", "outlier_count", "alignment", "grad_coefficients", "grad_in_top")


@dataclasses.dataclass(frozen=True)
class HessianTrack:
    """The A.4 metrics of one weight at every record (see :class:`HessianMetrics`).

    Attributes
    ----------
    layer : int
    top : ndarray, shape (R, q)
    outlier_count : ndarray of int, shape (R,)
    alignment, grad_coefficients : ndarray, shape (R, K, K)
    grad_in_top : ndarray, shape (R,)
    """

    layer: int
    top: np.ndarray
    outlier_count: np.ndarray
    alignment: np.ndarray
    grad_coefficients: np.ndarray
    grad_in_top: np.ndarray


@dataclasses.dataclass(frozen=True, repr=False)
class TrainResult(SolverResult):
    """Records of one training run (R records, representations ``H_1..H_L, Z``).

    ``residual`` is the final gradient norm; ``converged`` says it fell below
    ``tol``.

    Attributes
    ----------
    step : ndarray of int, shape (R,)
    time : ndarray, shape (R,)
        ``lr x step``.
    loss, fit, reg, grad_norm : ndarray, shape (R,)
    nc1, nc2, nc2_orth, effective_rank : ndarray, shape (R, depth)
        Per representation (``H_1 .. H_L`` then the output Z): NC1 and the simplex
        NC2 from :mod:`keatingcore.collapse`; the orthogonal-frame NC2 (MSE).
    numerical_rank : ndarray of int, shape (R, depth)
        Of the centred class means (relative threshold ``rank_tol``).
    dnc3 : ndarray, shape (R, L)
        ``1 - |W_l P_l|^2 / |W_l|^2`` (0: rows of W_l in the span of the means).
    weight_svals : ndarray, shape (R, L, r)
        Singular values of every weight, descending (NaN-padded).
    feature_svals : ndarray, shape (R, depth, r)
        Singular values of every representation (NaN-padded).
    logit_svals : ndarray, shape (R, K)
        Singular values of the K x K mean logits.
    mean_logits : ndarray, shape (K, K)
        Final class-mean outputs (column c: class c).
    hessian : HessianTrack or None
    factors : list of ndarray
        Final ``[H_1, W_1, ..., W_L]``.
    config : dict
        The arguments of the run.
    """

    step: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    time: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    loss: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    fit: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    reg: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    grad_norm: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    nc1: np.ndarray | None = None
    nc2: np.ndarray | None = None
    nc2_orth: np.ndarray | None = None
    numerical_rank: np.ndarray | None = None
    effective_rank: np.ndarray | None = None
    dnc3: np.ndarray | None = None
    weight_svals: np.ndarray | None = None
    feature_svals: np.ndarray | None = None
    logit_svals: np.ndarray | None = None
    mean_logits: np.ndarray | None = None
    hessian: HessianTrack | None = None
    factors: list = dataclasses.field(default_factory=list, repr=False)
    config: dict = dataclasses.field(default_factory=dict, repr=False)

    @property
    def final_loss(self) -> float:
        return float(self.loss[-1])

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary and records (without the factors)."""
        out = plain(self)
        out.pop("factors", None)
        out["config"] = plain(self.config)
        return out


def _init(shapes, scale, seed):
    rng = np.random.default_rng(seed)
    out = []
    for j, (r, c) in enumerate(shapes):
        fan = r if j == 0 else c
        out.append(rng.standard_normal((r, c)) * (scale / math.sqrt(fan)))
    return out


def _show_progress(progress: bool | None, steps: int) -> bool:
    if progress is None:
        return steps >= 20000 and sys.stderr.isatty()
    return bool(progress)


def train(
    K: int,
    n: int,
    depth: int,
    width=None,
    *,
    loss: str = "mse",
    activation: str = "linear",
    lam_W=1e-2,
    lam_H=None,
    optimizer: str = "gd",
    lr: float = 0.1,
    steps: int = 1000,
    init: Any = "gaussian",
    init_scale: float = 1.0,
    seed: int = 0,
    tol: float | None = 1e-9,
    record_every: int | None = None,
    rank_tol: float = 0.1,
    hessian_layer: int | None = None,
    device: str | None = None,
    dtype: str = "float64",
    num_threads: int | None = None,
    progress: bool | None = None,
) -> TrainResult:
    """Train every factor of the deep UFM by full-batch gradient descent or Adam.

    Parameters
    ----------
    K, n, depth : int
        Classes (>= 2), samples per class (>= 1), factors ``L + 1`` (>= 2).
    width : int or sequence of int, optional
        Hidden widths ``d_1 .. d_L``, each >= K (default K).
    loss : {"mse", "ce"}
    activation : {"linear", "relu"}
        ReLU after ``W_1 .. W_{L-1}``.
    lam_W, lam_H : float or sequence
        Weight decay per weight matrix and on ``H_1`` (> 0), as in
        :func:`keatingcore.ufm.mse_optimum`.
    optimizer : {"gd", "adam"}
    lr : float
        Learning rate, > 0.
    steps : int
        Maximum number of updates, >= 0.
    init : "gaussian" or sequence of array_like
        Entries ``N(0, init_scale^2 / fan)`` (fan: d_1 for ``H_1``, the input width
        of a weight), or explicit start factors.
    init_scale : float
    seed : int
        Of the Gaussian start (numpy, so the start does not depend on the device).
    tol : float or None
        Stop when the gradient norm is at most ``tol`` (checked at records and
        every 100 steps); a :class:`~keatingcore.warnings.ConvergenceWarning`
        says when it was not reached. ``None`` runs every step and never warns
        (``converged`` is then False).
    record_every : int, optional
        Steps between records (default: about 200 records); the last step is
        always recorded.
    rank_tol : float
        Relative threshold of the numerical ranks.
    hessian_layer : int, optional
        Track the A.4 Hessian metrics of ``W_l`` (exact Kronecker form for the
        linear model, a dense autograd Hessian for ReLU).
    device : str, optional
        torch device (default: CUDA when available, else CPU).
    dtype : {"float64", "float32"}
    num_threads : int, optional
        torch CPU threads for this call (restored afterwards); ``None`` keeps
        torch's setting. One thread is fastest for small models.
    progress : bool, optional
        tqdm bar on stderr (default: for >= 20000 steps on a terminal).

    Returns
    -------
    TrainResult

    Raises
    ------
    ImportError
        Without torch (``pip install torch``).
    """
    torch = require_torch()
    K, n, depth = check_problem(K, n, depth)
    widths = check_widths(width, depth, K)
    lams = factor_lams(depth, lam_W, lam_H)
    check_choice(loss, "loss", LOSSES)
    check_choice(activation, "activation", ACTIVATIONS)
    check_choice(optimizer, "optimizer", OPTIMIZERS)
    lr = check_positive(lr, "lr")
    steps = check_int(steps, "steps", 0)
    if tol is not None and not tol > 0:
        raise ValueError(f"tol must be > 0 or None, got {tol!r}")
    every = max(1, steps // 200) if record_every is None else record_every
    every = check_int(every, "record_every", 1)
    if dtype not in ("float64", "float32"):
        raise ValueError(f"dtype must be 'float64' or 'float32', got {dtype!r}")
    L = depth - 1
    if hessian_layer is not None:
        hessian_layer = check_int(hessian_layer, "hessian_layer", 1)
        if hessian_layer > L:
            raise ValueError(f"hessian_layer must lie in [1, {L}], got {hessian_layer}")
    N = n * K
    shapes = [(widths[0], N)] + [(widths[l], widths[l - 1]) for l in range(1, L)]
    shapes.append((K, widths[-1]))
    if isinstance(init, str):
        if init != "gaussian":
            raise ValueError(
                f"init must be 'gaussian' or a list of factors, got {init!r}"
            )
        start = _init(shapes, check_positive(init_scale, "init_scale"), seed)
    else:
        start = check_factors(init, K)
        if [f.shape for f in start] != shapes:
            got = [f.shape for f in start]
            raise ValueError(f"init factors must have shapes {shapes}, got {got}")
    if device is None:
        device = "cuda" if torch.cuda.is_available() else "cpu"
    tdtype = getattr(torch, dtype)
    params = [
        torch.tensor(f, dtype=tdtype, device=device, requires_grad=True) for f in start
    ]
    Y = torch.repeat_interleave(torch.eye(K, dtype=tdtype, device=device), n, dim=1)
    target = torch.repeat_interleave(torch.arange(K, device=device), n)
    lam_list = [float(v) for v in lams]
    adam = torch.optim.Adam(params, lr=lr) if optimizer == "adam" else None

    def objective():
        h = params[0]
        for l in range(1, L + 1):
            h = params[l] @ h
            if activation == "relu" and l < L:
                h = torch.relu(h)
        if loss == "mse":
            fit = 0.5 * torch.sum((h - Y) ** 2) / N
        else:
            fit = torch.nn.functional.cross_entropy(h.T, target)
        reg = sum(
            0.5 * lam * torch.sum(X * X)
            for lam, X in zip(lam_list, params, strict=True)
        )
        return fit, reg

    rec: dict[str, list] = {}
    track: dict[str, list] = {k: [] for k in _TRACKS}

    def record(step, fit, reg, gnorm):
        fs = [p.detach().cpu().numpy().astype(float) for p in params]
        row = layer_record(fs, forward(fs, activation), n, rank_tol)
        row.update(
            step=step, time=step * lr, fit=fit, reg=reg, loss=fit + reg, grad_norm=gnorm
        )
        for key, value in row.items():
            rec.setdefault(key, []).append(value)
        if hessian_layer is not None:
            m = _hessian_metrics(fs, n, hessian_layer, loss, activation)
            for key in _TRACKS:
                track[key].append(getattr(m, key))
        return fs

    bar = None
    if _show_progress(progress, steps):
        from tqdm import tqdm

        bar = tqdm(
            total=steps,
            desc=f"ufm train {loss}",
            unit="step",
            leave=False,
            file=sys.stderr,
        )
    converged = diverged = False
    gnorm = math.inf
    last = None
    check = min(every, 100)
    with timer() as elapsed, torch_threads(torch, num_threads):
        for step in range(steps + 1):
            fit_t, reg_t = objective()
            total = fit_t + reg_t
            if not torch.isfinite(total):
                diverged = True
                warnings.warn(
                    f"training diverged at step {step}; lower lr (={lr:g}). The "
                    "records up to the previous record are kept.",
                    ConvergenceWarning,
                    stacklevel=2,
                )
                break
            for p in params:
                p.grad = None
            total.backward()
            is_record = step % every == 0 or step == steps
            if is_record or step % check == 0:
                with torch.no_grad():
                    gnorm = math.sqrt(sum(float(torch.sum(p.grad**2)) for p in params))
                converged = tol is not None and gnorm <= tol
            if is_record or converged:
                last = record(step, fit_t.item(), reg_t.item(), gnorm)
                if bar is not None:
                    bar.update(step - bar.n)
                    bar.set_postfix(loss=f"{total.item():.6g}")
            if converged or step == steps:
                break
            with torch.no_grad():
                if adam is not None:
                    adam.step()
                else:
                    for p in params:
                        p -= lr * p.grad
    if bar is not None:
        bar.close()
    if tol is not None and not converged and not diverged:
        warnings.warn(
            f"gradient norm {gnorm:.3g} > tol={tol:g} after {steps} steps; raise "
            "steps or lr, or loosen tol",
            ConvergenceWarning,
            stacklevel=2,
        )
    if not rec:
        raise ValueError(f"training diverged at the first step; lower lr (={lr:g})")
    hess = None
    if hessian_layer is not None:
        hess = HessianTrack(
            layer=hessian_layer, **{k: np.array(v) for k, v in track.items()}
        )
    arrays = {k: np.array(v) for k, v in rec.items() if k != "mean_logits"}
    result = TrainResult(
        converged=converged,
        n_iter=int(arrays["step"][-1]),
        residual=float(arrays["grad_norm"][-1]),
        elapsed=elapsed[0],
        mean_logits=rec["mean_logits"][-1],
        hessian=hess,
        factors=last if last is not None else [],
        config=dict(
            K=K,
            n=n,
            depth=depth,
            widths=widths,
            loss=loss,
            activation=activation,
            lams=lams.tolist(),
            optimizer=optimizer,
            lr=lr,
            steps=steps,
            seed=seed,
            device=str(device),
            dtype=dtype,
        ),
        **arrays,
    )
    logger.info("%s", result)
    return result


def _hessian_metrics(fs, n, layer, loss, activation) -> HessianMetrics:
    if activation == "linear":
        return hessian_metrics(fs, n, layer, loss)
    from ._autograd import relu_hessian_metrics

    return relu_hessian_metrics(fs, n, layer, loss)
