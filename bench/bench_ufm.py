"""Benchmarks of keatingcore.ufm: Hessian spectra of the deep linear UFM.

Figures
-------
ufm.kronecker_layer_hessian
    Full spectrum of the layer-wise Hessian of ``W_2`` (K = 10, depth 4, width
    512: 262,144 parameters) at the closed-form MSE optimum, through its Kronecker
    form, against a dense autograd Hessian plus ``eigh``. The dense path cannot run
    at width 512 (the matrix alone is 550 GB), so it is timed at two smaller widths
    and extrapolated: p Hessian-vector products of O(p) each, then an O(p^3)
    ``eigh`` (p = width^2). The ratio measured at the largest dense width is in the
    note. Checks: both spectra agree there, and at
    width 512 the K^2 outliers sit at the closed form.
ufm.lanczos_1e6
    Block Lanczos (Hessian-vector products in torch) for the top 20 eigenvalues of
    the layer-wise Hessian of a 1000 x 1000 weight (10^6 parameters) at the optimum
    (K = 4), against the dense path extrapolated. Check: 16 outliers at the closed
    form.
ufm.lanczos_full_1e6
    The same on the Hessian of every parameter of a model with about 10^6
    parameters (width 1000, depth 3: 1,012,000), slightly off the optimum, against
    the dense path extrapolated. Checks:
    Ritz residuals below tol and Cauchy interlacing against the layer block.
ufm.collapse_metrics
    NC1-NC4 by :func:`keatingcore.collapse.nc_metrics` on N = 50,000, D = 512,
    K = 10 against a per-sample loop of outer products (the common research-code
    pattern), timed on a slice and scaled to N. Check: NC1 agrees.
"""

from __future__ import annotations

import logging
import math
import time
from typing import Any

import numpy as np

from keatingcore import collapse, ufm
from keatingcore._bench import Figure, time_call

logger = logging.getLogger(__name__)

DENSE = "dense autograd Hessian + numpy eigh"


def _threads() -> int:
    import torch

    return torch.get_num_threads()


def _dense(fs: list, n: int, params: Any) -> tuple[float, float, np.ndarray]:
    """Seconds to build the dense Hessian (p HVPs) and to ``eigh`` it, and the
    spectrum (descending)."""
    start = time.perf_counter()
    H = ufm.autograd_hessian(fs, n, params=params)
    mid = time.perf_counter()
    e = np.linalg.eigvalsh(H)
    return mid - start, time.perf_counter() - mid, e[::-1]


def _extrapolate(build: float, eigh: float, p0: int, p: int) -> float:
    """Dense cost at p from p0: p HVPs of O(p) each, then an O(p^3) ``eigh``."""
    return build * (p / p0) ** 2 + eigh * (p / p0) ** 3


def _dense_seconds(K: int, n: int, width: int, layer: int = 2) -> tuple[float, Any]:
    opt = ufm.mse_optimum(K, n, 4, 1e-2)
    fs = ufm.construct(opt, width, seed=0)
    build, eigh, e = _dense(fs, n, layer)
    return build + eigh, (fs, opt, e, build, eigh)


def bench_kronecker_layer_hessian(quick: bool = False) -> list[Figure]:
    """Kronecker path at width 512 against the dense path (extrapolated)."""
    K, n = 10, 2
    widths = (16, 32) if quick else (32, 64)
    dense = {}
    for w in widths:
        dense[w], (fs, opt, e_dense, build, eigh) = _dense_seconds(K, n, w)
    small = widths[-1]
    e_kron = ufm.layer_hessian(fs, 2).eigenvalues
    err = float(np.max(np.abs(e_kron - e_dense)))
    assert err < 1e-10, f"Kronecker and dense spectra differ by {err:.2e}"
    kron_small = time_call(lambda: ufm.layer_hessian(fs, 2), min_time=0.1, repeat=3)

    width = 128 if quick else 512
    opt = ufm.mse_optimum(K, n, 4, 1e-2)
    big = ufm.construct(opt, width, seed=0)
    seconds = time_call(lambda: ufm.layer_hessian(big, 2), min_time=0.5, repeat=3)
    e = ufm.layer_hessian(big, 2).eigenvalues
    assert ufm.count_outliers(e, 2 * K * K) == K * K
    rel = float(np.max(np.abs(e[: K * K] / opt.outliers[2] - 1)))
    assert rel < 1e-10, f"outliers off the closed form by {rel:.2e}"
    exponent = math.log(dense[widths[1]] / dense[widths[0]]) / math.log(2.0)
    extrapolated = _extrapolate(build, eigh, small**2, width**2)
    note = (
        f"K={K}, n={n}, depth 4, layer W_2, width {width} ({width**2} parameters); "
        f"dense timed at widths {widths} ({dense[widths[0]]:.3g} s, "
        f"{dense[small]:.3g} s = {build:.3g} s build + {eigh:.3g} s eigh; local "
        f"exponent in width {exponent:.2f}) and extrapolated as build x p^2 + eigh "
        f"x p^3 (its matrix would take {8 * width**4 / 1e9:.0f} GB); at width {small} "
        f"the Kronecker "
        f"path takes {kron_small:.3g} s, a measured ratio of "
        f"{dense[small] / kron_small:.0f}x, spectra equal to {err:.1e}; "
        f"outliers at the closed form to {rel:.1e}; torch threads {_threads()}"
    )
    return [
        Figure(
            name="ufm.kronecker_layer_hessian",
            value=seconds,
            unit=f"spectrum (width {width})",
            baseline=DENSE + " (extrapolated)",
            baseline_value=extrapolated,
            note=note,
            extra={"dense_seconds": dense, "measured_ratio": dense[small] / kron_small},
        )
    ]


def bench_lanczos_1e6(quick: bool = False) -> list[Figure]:
    """Block Lanczos on a 10^6-parameter layer against the dense path."""
    K, n = 4, 2
    width = 300 if quick else 1000
    opt = ufm.mse_optimum(K, n, 4, 1e-2)
    fs = ufm.construct(opt, width, seed=0)
    res = ufm.lanczos(fs, n, K * K + 4, params=2, tol=1e-10)
    assert res.converged, repr(res)
    rel = float(np.max(np.abs(res.eigenvalues[: K * K] / opt.outliers[2] - 1)))
    assert rel < 1e-9, f"Lanczos outliers off the closed form by {rel:.2e}"
    assert ufm.count_outliers(res.eigenvalues) == K * K
    small = 48
    dense, (_, _, _, build, eigh) = _dense_seconds(K, n, small)
    p = width * width
    extrapolated = _extrapolate(build, eigh, small**2, p)
    note = (
        f"K={K}, n={n}, layer W_2 of width {width} ({p} parameters), top "
        f"{K * K + 4} eigenvalues, block {res.block_size}, {res.n_iter} steps, "
        f"{res.n_hvp} HVPs, residual {res.residual:.1e}; outliers at the closed form "
        f"to {rel:.1e}; dense path timed at width {small} ({build:.3g} s build + "
        f"{eigh:.3g} s eigh) and extrapolated as build x p^2 + eigh x p^3 (its "
        f"matrix would take {8 * p * p / 1e12:.0f} TB); "
        f"torch threads {_threads()}"
    )
    return [
        Figure(
            name="ufm.lanczos_1e6",
            value=res.elapsed,
            unit=f"top-{K * K + 4} spectrum ({p} parameters)",
            baseline=DENSE + " (extrapolated)",
            baseline_value=extrapolated,
            goal="10^6 parameters in < 1 min on one GPU",
            note=note,
        )
    ]


def bench_lanczos_full_1e6(quick: bool = False) -> list[Figure]:
    """Block Lanczos on the full Hessian of a model with about 10^6 parameters."""
    K, n, depth = 4, 2, 3
    width = 200 if quick else 1000
    opt = ufm.mse_optimum(K, n, depth, 1e-2)
    fs = ufm.construct(opt, width, seed=0)
    rng = np.random.default_rng(1)
    fs = [f + 1e-3 * rng.standard_normal(f.shape) for f in fs]  # off the optimum
    k = K * K + 4
    res = ufm.lanczos(fs, n, k, block_size=k, max_iter=40, tol=1e-6)
    assert res.converged, repr(res)
    block = ufm.lanczos(fs, n, k, params=1, block_size=k, max_iter=40, tol=1e-6)
    # Cauchy interlacing: a principal block cannot exceed the full spectrum.
    assert np.all(res.eigenvalues >= block.eigenvalues - 1e-8 * res.eigenvalues[0])
    p = res.n_params
    small = 24 if quick else 60
    dense_fs = ufm.construct(ufm.mse_optimum(K, n, depth, 1e-2), small, seed=0)
    build, eigh, _ = _dense(dense_fs, n, "all")
    p0 = sum(f.size for f in dense_fs)
    extrapolated = _extrapolate(build, eigh, p0, p)
    note = (
        f"K={K}, n={n}, depth {depth}, width {width}: all {p} parameters, top {k} "
        f"eigenvalues, {res.n_iter} steps, {res.n_hvp} HVPs, residual "
        f"{res.residual:.1e}; dense path timed at width {small} ({p0} parameters, "
        f"{build:.3g} s build + {eigh:.3g} s eigh) and extrapolated as build x p^2 "
        f"+ eigh x p^3; torch threads {_threads()}"
    )
    return [
        Figure(
            name="ufm.lanczos_full_1e6",
            value=res.elapsed,
            unit=f"top-{k} spectrum ({p} parameters)",
            baseline=DENSE + " (extrapolated)",
            baseline_value=extrapolated,
            note=note,
        )
    ]


def _per_sample_nc1(X: np.ndarray, y: np.ndarray, K: int, stop: int) -> float:
    """Sigma_W by per-sample outer products over the first ``stop`` samples."""
    D = X.shape[1]
    means = np.stack([X[y == c].mean(axis=0) for c in range(K)])
    mu_g = X.mean(axis=0)
    Sw = np.zeros((D, D))
    for i in range(stop):
        d = X[i] - means[y[i]]
        Sw += np.outer(d, d)
    Sw /= stop
    M = means - mu_g
    Sb = M.T @ M / K
    return float(np.trace(Sw @ np.linalg.pinv(Sb, rcond=1e-10)) / K)


def bench_collapse_metrics(quick: bool = False) -> list[Figure]:
    """keatingcore.collapse.nc_metrics against a per-sample loop."""
    N, D, K = (5000, 128, 10) if quick else (50000, 512, 10)
    rng = np.random.default_rng(0)
    y = rng.integers(0, K, N)
    X = rng.standard_normal((N, D)) + 3.0 * rng.standard_normal((K, D))[y]
    W = rng.standard_normal((K, D))
    seconds = time_call(lambda: collapse.nc_metrics(X, y, W), min_time=0.5, repeat=3)
    ours = collapse.nc_metrics(X, y, W)
    # Shuffled samples: the loop over the first `stop` estimates Sigma_W unbiasedly.
    stop = N if quick else 5000
    start = time.perf_counter()
    loop = _per_sample_nc1(X, y, K, stop)
    loop_seconds = (time.perf_counter() - start) * N / stop
    ref = _per_sample_nc1(X, y, K, N) if quick else None
    if ref is not None:
        assert abs(ref - ours.nc1) < 1e-8 * ours.nc1, (ref, ours.nc1)
    assert abs(loop - ours.nc1) < 0.1 * ours.nc1, (loop, ours.nc1)
    note = (
        f"N={N}, D={D}, K={K}; NC1-NC4, spectrum and ranks in one call; the loop "
        f"(NC1 only) timed on {stop} samples and scaled to N; NC1 {ours.nc1:.4g} "
        f"(loop estimate {loop:.4g})"
    )
    return [
        Figure(
            name="ufm.collapse_metrics",
            value=seconds,
            unit=f"N={N}, D={D}",
            baseline="per-sample outer-product loop (scaled)",
            baseline_value=loop_seconds,
            goal="< 0.5 s on 16 threads",
            note=note,
        )
    ]
