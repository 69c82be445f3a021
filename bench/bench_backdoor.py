"""Benchmarks of keatingcore.backdoor against a plain scipy baseline.

Figures
-------
backdoor.logistic_point
    One converged logistic fixed point (tol 1e-10, one thread) against the
    quad + Brent + damped-iteration baseline of ``baseline_backdoor.py`` on the same
    point; the two answers are checked to agree.
backdoor.logistic_grid
    A 100 x 100 (kappa, alpha) logistic grid by ``sweep`` on two threads (20 x 20 with
    ``quick``); the baseline time is extrapolated from the single point.
backdoor.ridge_closed_form
    ``ridge_theory`` (numpy) per point against the square-loss fixed point ``solve``
    (C++, one thread); a ratio below 1 means the fixed point is the faster.

The baseline point is solved once per process and shared by the first two figures.
"""

from __future__ import annotations

import functools
import logging
import time

import numpy as np

from keatingcore._bench import Figure, time_call
from keatingcore.backdoor import Setup, ridge_theory, solve, sweep

try:
    from . import baseline_backdoor as baseline
except ImportError:  # imported as a plain module with bench/ on sys.path
    import baseline_backdoor as baseline

logger = logging.getLogger(__name__)

#: The representative point (isotropic Sigma, additive poisoning).
POINT = {
    "kappa": 0.5,
    "lam": 0.1,
    "snr": 4.0,
    "eps": 0.1,
    "alpha": 2.0,
    "alpha_test": 2.0,
}
TOL = 1e-10
#: Required agreement of ours with the baseline: metrics absolute, order parameters
#: relative. The baseline only converges to about 1e-8 (see its docstring).
METRIC_AGREEMENT = 1e-6
STATE_AGREEMENT = 1e-6
BASELINE_NAME = "scipy quad + Brent prox, damped 0.7 (bench/baseline_backdoor.py)"
METRICS = ("clean_accuracy", "attack_success")
#: Order parameters as (baseline name, keatingcore name).
STATE = (
    ("V", "V"),
    ("Q", "Q"),
    ("V_hat", "V_hat"),
    ("u1", "w_dot_mu"),
    ("u2", "w_dot_t"),
    ("b", "b"),
)


def _setup() -> Setup:
    return Setup(**POINT)


@functools.lru_cache(maxsize=1)
def baseline_point() -> baseline.BaselineResult:
    """The baseline's solution of :data:`POINT`, computed once (tens of seconds)."""
    s = _setup()
    logger.info("solving the baseline point (tens of seconds)")
    return baseline.solve_baseline(s.kappa, s.lam, s.snr, s.alpha, s.alpha_test, s.rho)


def _differences(ours, base) -> dict[str, float]:
    """Absolute differences, baseline minus ours, for every shared quantity."""
    pairs = [(m, m) for m in METRICS] + list(STATE)
    return {b: float(getattr(base, b) - getattr(ours, o)) for b, o in pairs}


def bench_logistic_point(quick: bool = False) -> list[Figure]:
    """Time per converged logistic point, ours (one thread) against the baseline."""
    setup = _setup()
    ours = solve(setup, "logistic", tol=TOL, num_threads=1)
    assert ours.converged, f"solve did not converge: {ours!r}"

    def one() -> None:
        solve(setup, "logistic", tol=TOL, num_threads=1)

    seconds = time_call(one, min_time=0.05 if quick else 0.2, repeat=3 if quick else 5)
    core = min(
        solve(setup, "logistic", tol=TOL, num_threads=1).elapsed for _ in range(20)
    )

    base = baseline_point()
    assert base.converged, f"baseline did not converge: residual {base.residual:.2e}"
    diff = _differences(ours, base)
    for key in METRICS:
        assert abs(diff[key]) < METRIC_AGREEMENT, f"{key} differs by {diff[key]:.3e}"
    for b, o in STATE:
        rel = abs(diff[b]) / max(abs(getattr(ours, o)), 1e-12)
        assert rel < STATE_AGREEMENT, f"{b} differs by {rel:.3e} (relative)"

    where = ", ".join(f"{k}={v:g}" for k, v in POINT.items())
    note = (
        f"{where}; ours {ours.n_iter} iterations (tol {TOL:g}), baseline "
        f"{base.n_iter} iterations (tol 1e-8), {base.n_quad} quads, "
        f"{base.n_prox} Brent proxes; |d acc| = {abs(diff['clean_accuracy']):.1e}, "
        f"|d ASR| = {abs(diff['attack_success']):.1e}"
    )
    return [
        Figure(
            name="backdoor.logistic_point",
            value=seconds,
            unit="point",
            baseline=BASELINE_NAME,
            baseline_value=base.elapsed,
            goal="< 2 ms; >= 100x",
            note=note,
            extra={
                "point": POINT,
                "tol": TOL,
                "ours_core_seconds": core,
                "ours_n_iter": ours.n_iter,
                "baseline_n_iter": base.n_iter,
                "baseline_residual": base.residual,
                "baseline_n_quad": base.n_quad,
                "baseline_n_prox": base.n_prox,
                "baseline_minus_ours": diff,
            },
        )
    ]


def bench_logistic_grid(quick: bool = False) -> list[Figure]:
    """Seconds for a (kappa, alpha) logistic grid on two threads."""
    n = 20 if quick else 100
    kappa = np.linspace(0.1, 2.0, n)
    alpha = np.linspace(0.0, 8.0, n)
    setup = _setup()
    start = time.perf_counter()
    grid = sweep(setup, "logistic", kappa=kappa, alpha=alpha, num_threads=2, tol=TOL)
    seconds = time.perf_counter() - start
    n_bad = int((~grid.converged).sum())
    assert n_bad == 0, f"{n_bad} grid points did not converge"

    i, j = n // 3, n // 2  # spot check against an independent single solve
    single = solve(setup.replace(kappa=kappa[i], alpha=alpha[j]), "logistic", tol=TOL)
    for key in METRICS:
        gap = abs(getattr(single, key) - getattr(grid, key)[i, j])
        assert gap < 1e-8, f"sweep and solve differ in {key} by {gap:.3e}"

    base = baseline_point()
    points = n * n
    return [
        Figure(
            name=f"backdoor.logistic_grid_{n}x{n}",
            value=seconds,
            unit=f"{n}x{n} grid",
            baseline=BASELINE_NAME + ", extrapolated",
            baseline_value=points * base.elapsed,
            goal="< 10 s on 2 cores (100x100)",
            note=(
                f"kappa in [0.1, 2], alpha in [0, 8], other parameters as the point; "
                f"ours on 2 threads; baseline = {points} x one baseline point on one "
                "core (extrapolated, not run)"
            ),
            extra={
                "n_points": points,
                "threads": 2,
                "ours_per_point": seconds / points,
                "n_iter_mean": float(grid.n_iter.mean()),
                "n_iter_max": int(grid.n_iter.max()),
            },
        )
    ]


def bench_ridge_closed_form(quick: bool = False) -> list[Figure]:
    """``ridge_theory`` per point against the square-loss fixed point."""
    setup = _setup()
    closed = ridge_theory(setup)
    fixed = solve(setup, "square", tol=TOL, num_threads=1)
    assert fixed.converged
    for key in ("clean_accuracy", "attack_success", "Q", "w_dot_mu", "w_dot_t", "b"):
        gap = abs(getattr(closed, key) - getattr(fixed, key))
        assert gap < 1e-8, f"ridge_theory and solve differ in {key} by {gap:.3e}"
    kw = {"min_time": 0.05 if quick else 0.2, "repeat": 3 if quick else 5}
    ours = time_call(lambda: ridge_theory(setup), **kw)
    base = time_call(lambda: solve(setup, "square", tol=TOL, num_threads=1), **kw)
    return [
        Figure(
            name="backdoor.ridge_closed_form",
            value=ours,
            unit="point",
            baseline="solve(setup, 'square'), C++ fixed point, 1 thread",
            baseline_value=base,
            note="same point as backdoor.logistic_point; agreement checked to 1e-8",
            extra={"fixed_point_n_iter": fixed.n_iter},
        )
    ]
