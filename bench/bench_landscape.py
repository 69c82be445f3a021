"""Benchmarks of keatingcore.landscape against plain scipy / numpy baselines.

Figures
-------
landscape.complexity_and_thresholds
    Theta_p on 10^5 energies for each p = 3..10 plus E_0..E_50 for every p (one
    thread), against ``baseline_landscape.py`` (``quad`` per energy, ``brentq`` per
    threshold). The baseline's curve time is extrapolated from a subset of energies
    (stated in the note); its thresholds are timed in full. Values agree to 1e-9.
landscape.goe_samples
    GOE_N eigenvalue samples per second (N = 100, one thread; tridiagonal model)
    against numpy: draw a dense GOE matrix and ``eigvalsh`` it, in a loop.
landscape.kac_rice_samples
    Samples per second of the finite-N Kac-Rice Monte Carlo (N = 100, 11 indices, 50
    energies, one thread) against the numpy loop of the previous figure plus the same
    accumulation in numpy.
"""

from __future__ import annotations

import logging
import time

import numpy as np

from keatingcore import landscape as ls
from keatingcore._bench import Figure, time_call

try:
    from . import baseline_landscape as baseline
except ImportError:  # imported as a plain module with bench/ on sys.path
    import baseline_landscape as baseline

logger = logging.getLogger(__name__)

P = list(range(3, 11))
N_ENERGY = 100_000
K_MAX = 50


def bench_complexity_and_thresholds(quick: bool = False) -> list[Figure]:
    """Curve on 10^5 energies + E_0..E_50 for p = 3..10, ours against scipy."""
    u = np.linspace(-3.0, 0.5, N_ENERGY)

    def ours() -> None:
        for p in P:
            ls.complexity(u, p, num_threads=1)
        ls.thresholds(P, K_MAX, num_threads=1)

    seconds = time_call(ours, min_time=0.05 if quick else 0.3, repeat=3 if quick else 5)

    subset = u[:: (200 if quick else 20)]
    t0 = time.perf_counter()
    curves = [baseline.complexity_curve(subset, p) for p in P]
    curve_time = (time.perf_counter() - t0) * u.size / subset.size
    t0 = time.perf_counter()
    p_list = P[:2] if quick else P
    roots = [baseline.thresholds(p, K_MAX) for p in p_list]
    root_time = (time.perf_counter() - t0) * len(P) / len(p_list)

    ref = ls.thresholds(P, K_MAX)
    gap_curve = max(
        float(np.max(np.abs(c - ls.complexity(subset, p))))
        for c, p in zip(curves, P, strict=True)
    )
    gap_roots = float(np.max(np.abs(np.array(roots) - ref.E[: len(p_list)])))
    assert gap_curve < 1e-9, f"curve differs from the baseline by {gap_curve:.2e}"
    assert gap_roots < 1e-9, f"thresholds differ from the baseline by {gap_roots:.2e}"
    return [
        Figure(
            name="landscape.complexity_and_thresholds",
            value=seconds,
            unit=f"10^5-energy curve + E_0..E_{K_MAX}, p = 3..10",
            baseline="scipy quad per energy + brentq per threshold",
            baseline_value=curve_time + root_time,
            goal=">= 100x",
            note=(
                f"one thread; baseline curve extrapolated from {subset.size} of "
                f"{u.size} energies per p ({curve_time:.1f} s), thresholds "
                f"{root_time:.2f} s; max |diff| curve {gap_curve:.1e}, "
                f"thresholds {gap_roots:.1e}"
            ),
            extra={"baseline_curve_s": curve_time, "baseline_thresholds_s": root_time},
        )
    ]


def _numpy_goe(rng: np.random.Generator, n: int) -> np.ndarray:
    a = rng.standard_normal((n, n)) / np.sqrt(n)
    return np.linalg.eigvalsh((a + a.T) / 2)


def bench_goe_samples(quick: bool = False) -> list[Figure]:
    """GOE_100 eigenvalue samples per second, tridiagonal C++ against numpy."""
    n, count = 100, 500 if quick else 4000
    t0 = time.perf_counter()
    ours = ls.goe_eigenvalues(n, count, seed=1, num_threads=1)
    ours_s = (time.perf_counter() - t0) / count
    rng = np.random.default_rng(0)
    t0 = time.perf_counter()
    base = np.array([_numpy_goe(rng, n) for _ in range(count)])
    base_s = (time.perf_counter() - t0) / count
    # same law: mean smallest eigenvalue agrees within 5 standard errors
    se = np.hypot(ours[:, 0].std(), base[:, 0].std()) / np.sqrt(count)
    gap = abs(ours[:, 0].mean() - base[:, 0].mean())
    assert gap < 5 * se, f"lambda_min means differ by {gap:.3e} (se {se:.1e})"
    return [
        Figure(
            name="landscape.goe_samples",
            value=ours_s,
            unit="GOE_100 spectrum",
            baseline="numpy: dense GOE + eigvalsh per sample",
            baseline_value=base_s,
            note=(
                f"{1 / ours_s:,.0f} samples/s ours, {1 / base_s:,.0f} samples/s numpy; "
                f"one thread, {count} samples; |d mean lambda_min| = {gap:.1e}"
            ),
        )
    ]


def bench_kac_rice_samples(quick: bool = False) -> list[Figure]:
    """Finite-N Kac-Rice Monte Carlo samples per second, N = 100."""
    n, p, count = 100, 3, 500 if quick else 4000
    u = np.linspace(-1.8, 0.0, 50)
    a = u * np.sqrt(p / (2 * (p - 1)))
    t0 = time.perf_counter()
    est = ls.count_monte_carlo(n, p, u, 10, n_samples=count, seed=2, num_threads=1)
    ours_s = (time.perf_counter() - t0) / count
    rng = np.random.default_rng(1)
    c = n * (p - 2) / (2 * p)
    acc = np.zeros((11, u.size))
    t0 = time.perf_counter()
    for _ in range(count):
        lam = _numpy_goe(rng, n)[:11]
        acc += np.exp(-c * lam**2)[:, None] * (lam[:, None] <= a[None, :])
    base_s = (time.perf_counter() - t0) / count
    base = acc / count * ls.count_prefactor(n, p)
    se = np.hypot(est.stderr_by_index[0], est.stderr_by_index[0])
    ok = se > 0
    z = float(np.max(np.abs(est.by_index[0, ok] - base[0, ok]) / se[ok]))
    assert z < 5, f"index-0 counts differ from numpy by {z:.1f} standard errors"
    return [
        Figure(
            name="landscape.kac_rice_samples",
            value=ours_s,
            unit="GOE_100 sample, 11 indices x 50 energies",
            baseline="numpy loop: dense GOE + eigvalsh + accumulation",
            baseline_value=base_s,
            note=f"{1 / ours_s:,.0f} samples/s ours; max |z| vs numpy {z:.1f}",
        )
    ]
