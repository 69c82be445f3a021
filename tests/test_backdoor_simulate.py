"""Finite-size simulation of the backdoor model against the asymptotic theory.

Theory: Flynn, Goldhirsh, Keating & Seroussi, arXiv 2605.22481 (project digest,
sections 2, 3 and 6). Every theory-vs-simulation check uses independent seed blocks
per point and asserts |theory - mean| < 3 standard errors, with the standard error
itself small enough for the check to have teeth.
"""

from __future__ import annotations

import contextlib
import json
import math
import sys

import numpy as np
import pytest

from keatingcore.backdoor import Setup, _simulate, ridge_theory, solve
from keatingcore.backdoor._plot import plot_curves
from keatingcore.backdoor._simulate import (
    SimulationResult,
    cluster_counts,
    fit_hinge,
    fit_ridge,
    fit_smooth,
    simulate,
)
from keatingcore.warnings import ConvergenceWarning

COMPARED = ("clean_accuracy", "attack_success", "w_dot_t")
BASE = dict(kappa=0.5, lam=0.1, snr=1.0, eps=0.1)
# (alpha, lam, eps, snr) varied one or two at a time around BASE, plus conventions
POINTS = [
    dict(alpha=1.0),
    dict(alpha=3.0),
    dict(alpha=8.0, eps=0.2),
    dict(alpha=2.0, lam=0.01),
    dict(alpha=2.0, lam=1.0),
    dict(alpha=2.0, snr=4.0, eps=0.05),
    dict(alpha=2.0, balance="replace", intercept=False, alpha_test=2.0),
    dict(alpha=0.5, eps=0.3, asr="conditional"),
]


@pytest.fixture(autouse=True, scope="module")
def _one_blas_thread():
    """Run BLAS single-threaded: the fits are many small matrix-vector products, for
    which a second BLAS thread on a shared 2-core machine costs far more than it
    gives. Results do not depend on it."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - ships with scikit-learn
        context = contextlib.nullcontext()
    else:
        context = threadpool_limits(limits=1, user_api="blas")
    with context:
        yield


def _setup(i: int) -> Setup:
    return Setup(**{**BASE, **POINTS[i]})


def _assert_agrees(sim: SimulationResult, theory, names=COMPARED, max_sem=0.01):
    z = sim.z_scores(theory, names)
    detail = {k: (getattr(theory, k), sim.mean(k), sim.sem(k), z[k]) for k in names}
    assert all(abs(v) < 3.0 for v in z.values()), detail
    for name in ("clean_accuracy", "attack_success"):
        if name in names:  # the check has power: 3 sem well below the effects studied
            assert 0 < sim.sem(name) < max_sem, detail


# ---------------------------------------------------------------------------------
# theory against simulation


@pytest.mark.parametrize("i", range(len(POINTS)))
def test_ridge_simulation_matches_closed_form(i):
    setup = _setup(i)
    sim = simulate(setup, n=2000, seeds=range(1000 * i, 1000 * i + 40))
    assert (sim.n, sim.p) == (2000, 1000)
    _assert_agrees(sim, ridge_theory(setup))


def test_ridgeless_and_kernel_regimes_match_closed_form():
    # lam = 0 is well defined for p < n; p > n runs the kernel form
    ridgeless = Setup(**{**BASE, "lam": 0.0, "alpha": 2.0})
    _assert_agrees(
        simulate(ridgeless, n=2000, seeds=range(9000, 9030)), ridge_theory(ridgeless)
    )
    wide = Setup(**{**BASE, "kappa": 1.5, "alpha": 2.0})
    sim = simulate(wide, n=1000, seeds=range(9100, 9130))
    assert sim.p == 1500
    _assert_agrees(sim, ridge_theory(wide))


@pytest.mark.parametrize("i", range(len(POINTS)))
def test_logistic_simulation_matches_fixed_point(i):
    setup = _setup(i)
    sim = simulate(
        setup, n=2000, loss="logistic", seeds=range(1000 * i + 500, 1000 * i + 524)
    )
    assert sim.converged.all()
    _assert_agrees(sim, solve(setup, "logistic"))


SPECTRUM = np.geomspace(1.0, 10.0, 1000)  # condition number 10


@pytest.mark.parametrize(
    ("fields", "seed0"),
    [
        (dict(alpha=2.0), 500),
        (dict(alpha=3.0, lam=0.05, eps=0.15, trigger="min"), 600),
        (dict(alpha=2.0, snr=2.0, mean="min", trigger="max"), 700),
    ],
    ids=["orth", "trigger-min", "mean-min-trigger-max"],
)
def test_ridge_simulation_matches_theory_for_a_spectrum(fields, seed0):
    setup = Setup(**{**BASE, **fields, "cov": SPECTRUM})
    sim = simulate(setup, seeds=range(seed0, seed0 + 40))
    assert (sim.n, sim.p) == (2000, 1000)  # n from p / kappa
    _assert_agrees(sim, ridge_theory(setup))


def test_ridge_simulation_matches_theory_for_a_rotated_covariance_matrix():
    rng = np.random.default_rng(123)
    U, _ = np.linalg.qr(rng.standard_normal((400, 400)))
    cov = (U * np.geomspace(0.5, 5.0, 400)) @ U.T
    setup = Setup(**{**BASE, "alpha": 2.0, "cov": cov})
    sim = simulate(setup, seeds=range(900, 940))
    assert (sim.n, sim.p) == (800, 400)
    _assert_agrees(sim, ridge_theory(setup), max_sem=0.015)


# ---------------------------------------------------------------------------------
# the fits themselves


@pytest.mark.parametrize("shape", [(300, 200), (200, 300)])
@pytest.mark.parametrize("intercept", [True, False])
def test_ridge_primal_and_kernel_forms_agree_and_are_optimal(shape, intercept):
    n, p = shape
    rng = np.random.default_rng(5)
    X = rng.standard_normal((n, p)) + 0.3
    y = np.sign(rng.standard_normal(n))
    lam = 0.07
    w1, b1 = fit_ridge(X, y, lam, intercept, form="primal")
    w2, b2 = fit_ridge(X, y, lam, intercept, form="dual")
    np.testing.assert_allclose(w1, w2, rtol=1e-9, atol=1e-12)
    assert b1 == pytest.approx(b2, rel=1e-9, abs=1e-12)
    if not intercept:
        assert b1 == 0.0
    # stationarity of (1/2n)|y - Xw - b|^2 + (lam/2)|w|^2
    resid = X @ w1 + b1 - y
    np.testing.assert_allclose(X.T @ resid / n + lam * w1, 0.0, atol=1e-12)
    if intercept:
        assert abs(resid.mean()) < 1e-12
    auto = fit_ridge(X, y, lam, intercept)[0]
    np.testing.assert_array_equal(auto, w1 if p <= n else w2)


def test_ridge_fit_matches_scikit_learn():
    Ridge = pytest.importorskip("sklearn.linear_model").Ridge
    rng = np.random.default_rng(6)
    n, p, lam = 250, 120, 0.2
    X, y = rng.standard_normal((n, p)), np.sign(rng.standard_normal(n))
    w, b = fit_ridge(X, y, lam)
    ref = Ridge(alpha=n * lam).fit(X, y)  # |y - Xw - b|^2 + n lam |w|^2
    np.testing.assert_allclose(w, ref.coef_, rtol=1e-8, atol=1e-12)
    assert b == pytest.approx(ref.intercept_, abs=1e-10)


def _poisoned(n=400, p=100, seed=1, **fields):
    setup = Setup(**{**BASE, "kappa": p / n, "alpha": 2.0, **fields})
    return _simulate._model(setup, n, p).sample(np.random.default_rng(seed)), setup


def test_logistic_fit_is_stationary_and_matches_scikit_learn():
    LogisticRegression = pytest.importorskip("sklearn.linear_model").LogisticRegression
    (X, y), setup = _poisoned(lam=0.05)
    n, lam = X.shape[0], setup.lam
    w, b, grad_max, _ = fit_smooth(X, y, lam, True, _simulate._logistic)
    assert grad_max < 1e-8
    ref = LogisticRegression(C=1.0 / (n * lam), tol=1e-12, max_iter=10_000).fit(X, y)
    np.testing.assert_allclose(w, ref.coef_[0], rtol=0, atol=1e-5 * np.abs(w).max())
    assert b == pytest.approx(ref.intercept_[0], abs=1e-5)


def test_smoothed_hinge_approaches_the_svm_at_rate_delta():
    SVC = pytest.importorskip("sklearn.svm").SVC
    (X, y), setup = _poisoned(lam=0.05)
    n, lam = X.shape[0], setup.lam
    # SVC: (1/2)|w|^2 + C sum hinge, intercept unpenalised  <=>  C = 1/(n lam)
    ref = SVC(kernel="linear", C=1.0 / (n * lam), tol=1e-10).fit(X, y)
    w_ref = ref.coef_[0]
    schedules = {1e-3: (1.0, 1e-1, 1e-2, 1e-3), 1e-4: _simulate.HINGE_DELTAS}
    errors = {}
    for last, deltas in schedules.items():
        w, b, grad_max, _ = fit_hinge(X, y, lam, True, deltas=deltas)
        assert grad_max < 1e-10
        errors[last] = np.abs(w - w_ref).max() / np.abs(w_ref).max()
    assert errors[1e-4] < 1e-3  # measured 7e-5
    assert errors[1e-3] > 3 * errors[1e-4]  # the error shrinks with delta


def test_hinge_simulation_runs_and_converges():
    setup = Setup(**{**BASE, "alpha": 2.0})
    sim = simulate(setup, n=300, loss="hinge", seeds=2)
    assert sim.converged.all() and np.all(sim.n_iter > 0)
    assert np.all((sim.clean_accuracy > 0.5) & (sim.clean_accuracy < 1))


def test_sampled_clusters_have_the_model_moments():
    spectrum = np.array([1.0, 2.0, 3.0, 4.0])
    mean = np.array([1.0, 0.0, 0.0, 1.0])
    trigger = np.array([0.0, 1.0, 1.0, 0.0])
    n = 40_000
    setup = Setup(
        kappa=4 / n,
        snr=2.0,
        eps=0.2,
        alpha=1.5,
        cov=spectrum,
        mean=mean,
        trigger=trigger,
    )
    model = _simulate._model(setup, n, 4)
    X, y = model.sample(np.random.default_rng(0))
    counts = cluster_counts(setup, n)
    assert counts == (16_000, 16_000, 8_000) and sum(counts) == n
    mu, t = setup.vectors()
    np.testing.assert_allclose(mu, [1.0, 0, 0, 1.0])  # |mu|^2 = snr
    np.testing.assert_allclose(t, [0, 2**-0.5, 2**-0.5, 0])
    edges = np.cumsum((0,) + counts)
    centres = (mu, -mu, -mu + 1.5 * t)
    for k, (lo, hi, label) in enumerate(
        zip(edges[:-1], edges[1:], (1, -1, 1), strict=True)
    ):
        assert np.all(y[lo:hi] == label)
        block = X[lo:hi] - centres[k]
        np.testing.assert_array_less(
            np.abs(block.mean(0)), 5 * np.sqrt(spectrum / (hi - lo))
        )
        cov = block.T @ block / (hi - lo)
        tol = 5 * np.sqrt(2.0 / (hi - lo)) * np.sqrt(np.outer(spectrum, spectrum))
        np.testing.assert_array_less(np.abs(cov - np.diag(spectrum)), tol)


def test_cluster_counts_follow_the_balance_convention():
    additive = Setup(eps=0.1)
    assert cluster_counts(additive, 2000) == (900, 900, 200)
    replace = Setup(eps=0.1, balance="replace")
    assert cluster_counts(replace, 2000) == (1000, 800, 200)
    # round half to even: 3.5 -> 4
    assert cluster_counts(Setup(eps=0.0), 7) == (4, 3, 0)


# ---------------------------------------------------------------------------------
# result object, reproducibility, inputs


def test_same_seeds_give_identical_results():
    setup = Setup(**{**BASE, "alpha": 2.0})
    for loss in ("square", "logistic"):
        a = simulate(setup, n=300, loss=loss, seeds=4)
        b = simulate(setup, n=300, loss=loss, seeds=4)
        part = simulate(setup, n=300, loss=loss, seeds=[2, 3])
        for name in _simulate.METRICS:
            np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
            np.testing.assert_array_equal(getattr(a, name)[2:], getattr(part, name))
        assert len(set(a.clean_accuracy)) == 4  # different seeds, different data


def test_summaries_weights_and_serialisation():
    setup = Setup(**{**BASE, "alpha": 2.0})
    sim = simulate(setup, n=200, seeds=[7, 3, 5], return_fits=True)
    assert sim.seeds == (7, 3, 5) and sim.n_seeds == 3
    values = sim.attack_success
    assert sim.mean("attack_success") == pytest.approx(values.mean(), rel=1e-15)
    assert sim.sem("attack_success") == pytest.approx(
        np.std(values, ddof=1) / math.sqrt(3), rel=1e-14
    )
    mu, t = setup.vectors(100)
    np.testing.assert_allclose(sim.weights @ mu, sim.w_dot_mu, rtol=1e-12)
    np.testing.assert_allclose(sim.weights @ t, sim.w_dot_t, rtol=1e-12)
    np.testing.assert_allclose(np.sum(sim.weights**2, axis=1), sim.Q, rtol=1e-12)
    with pytest.raises(ValueError, match="read-only"):
        sim.Q[0] = 1.0
    data = json.loads(json.dumps(sim.to_dict()))
    assert data["seeds"] == [7, 3, 5] and data["p"] == 100 and len(data["weights"]) == 3
    assert data["mean"]["Q"] == pytest.approx(sim.mean("Q"))
    text = repr(sim)
    assert text.startswith("SimulationResult(square, n=200, p=100, 3 seeds")
    assert "attack_success" in text
    one = simulate(setup, n=200, seeds=[0])
    assert math.isnan(one.sem("clean_accuracy"))  # and no warning (warnings are errors)
    assert simulate(setup, n=200, seeds=1).weights is None


def test_z_scores_handle_a_constant_intercept():
    setup = Setup(**{**BASE, "alpha": 2.0, "intercept": False})
    sim = simulate(setup, n=200, seeds=3)
    assert np.all(sim.b == 0)
    assert sim.z_scores(ridge_theory(setup), ["b"]) == {"b": 0.0}


def test_default_sizes():
    sim = simulate(Setup(kappa=0.05), seeds=1)
    assert (sim.n, sim.p) == (2000, 100)
    sim = simulate(Setup(kappa=0.5, cov=np.ones(60)), seeds=1)
    assert (sim.n, sim.p) == (120, 60)
    # a p set by an explicit mean vector
    sim = simulate(Setup(kappa=0.25, mean=np.ones(30)), seeds=1)
    assert (sim.n, sim.p) == (120, 30)
    sim = simulate(Setup(kappa=0.5, cov=np.ones(60)), n=121, seeds=1)  # within 1 %
    assert sim.n == 121


def test_unconverged_fits_warn(monkeypatch):
    monkeypatch.setattr(_simulate, "MAXITER", 2)
    with pytest.warns(ConvergenceWarning, match="1 of 1 logistic"):
        sim = simulate(Setup(**{**BASE, "alpha": 2.0}), n=200, loss="logistic", seeds=1)
    assert not sim.converged[0]


def test_progress_bar_and_logging(capsys, caplog):
    setup = Setup(**{**BASE, "alpha": 2.0})
    with caplog.at_level("DEBUG", logger="keatingcore.backdoor._simulate"):
        simulate(setup, n=100, seeds=2, progress=True)
    assert "simulate square" in capsys.readouterr().err
    assert any("seed 1:" in r.getMessage() for r in caplog.records)
    simulate(setup, n=100, seeds=12, progress=False)
    simulate(setup, n=100, seeds=12)  # stderr is captured, not a terminal: no bar
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (dict(n=1), ValueError, "n must be an int >= 2"),
        (dict(n=2.5), TypeError, "n must be an int"),
        (dict(n=True), TypeError, "n must be an int"),
        (dict(seeds=0), ValueError, "seeds must be an int >= 1"),
        (dict(seeds=[]), ValueError, "seeds must be .*non-empty"),
        (dict(seeds=[1, -2]), ValueError, "seeds must be an int >= 0"),
        (dict(seeds=[1, 1]), ValueError, "seeds must be distinct"),
        (dict(seeds="3"), TypeError, "seeds must be"),
        (dict(loss="squared"), ValueError, "loss must be one of"),
        (dict(progress="yes"), TypeError, "progress must be"),
    ],
)
def test_bad_arguments_name_the_parameter(kwargs, error, match):
    with pytest.raises(error, match=match):
        simulate(Setup(**BASE), **{"n": 100, "seeds": 1, **kwargs})


def test_bad_problems_name_the_parameter():
    with pytest.raises(ValueError, match=r"n must make p = round\(kappa n\) >= 2"):
        simulate(Setup(kappa=0.001), n=100, seeds=1)
    with pytest.raises(ValueError, match=r"n=150 gives p/n"):
        simulate(Setup(kappa=0.5, cov=np.ones(100)), n=150, seeds=1)
    with pytest.raises(ValueError, match="lam must be > 0 when p"):
        simulate(Setup(kappa=1.0, lam=0.0), n=100, seeds=1)
    with pytest.raises(ValueError, match="lam must be > 0 for the logistic"):
        simulate(Setup(kappa=0.1, lam=0.0), n=100, loss="logistic", seeds=1)
    with pytest.raises(ValueError, match="lam must be > 0 for the hinge"):
        simulate(Setup(kappa=0.1, lam=0.0), n=100, loss="hinge", seeds=1)
    with pytest.raises(TypeError, match="setup must be"):
        simulate(dict(BASE), n=100, seeds=1)
    sim = simulate(Setup(kappa=0.1), n=100, seeds=2)
    with pytest.raises(ValueError, match="name must be one of"):
        sim.mean("accuracy")
    with pytest.raises(ValueError, match="form must be one of"):
        fit_ridge(np.ones((3, 2)), np.ones(3), 0.1, form="kernel")


# ---------------------------------------------------------------------------------
# plots


def _check_file(path, magic):
    assert path.is_file() and path.stat().st_size > 1000
    assert path.read_bytes()[: len(magic)] == magic


def test_plot_curves_theory_only_writes_png_and_pdf(tmp_path):
    pyplot_before = "matplotlib.pyplot" in sys.modules
    setup = Setup(**BASE)
    alphas = np.linspace(0.0, 6.0, 13)
    fig = plot_curves(setup, alphas, kappas=(0.5, 2.0), path=tmp_path / "curves")
    _check_file(tmp_path / "curves.png", b"\x89PNG")
    _check_file(tmp_path / "curves.pdf", b"%PDF")
    acc_ax, asr_ax = fig.axes
    assert len(acc_ax.lines) == 2 and len(asr_ax.lines) == 2
    # the plotted numbers are the theory's
    ref = ridge_theory(setup.replace(kappa=2.0, alpha=alphas[5]))
    assert acc_ax.lines[1].get_ydata()[5] == pytest.approx(ref.clean_accuracy, abs=1e-8)
    assert asr_ax.lines[1].get_ydata()[5] == pytest.approx(ref.attack_success, abs=1e-8)
    if not pyplot_before:
        assert "matplotlib.pyplot" not in sys.modules


def test_plot_curves_with_simulation_points(tmp_path):
    from matplotlib.figure import Figure

    setup = Setup(**BASE)
    alphas = np.linspace(0.0, 6.0, 13)
    fig = plot_curves(
        setup,
        alphas,
        kappas=(0.5, 2.0),
        simulate_n=120,
        seeds=3,
        path=tmp_path / "sim.pdf",
    )
    _check_file(tmp_path / "sim.pdf", b"%PDF")
    assert not (tmp_path / "sim.png").exists()
    acc_ax, asr_ax = fig.axes
    assert len(acc_ax.containers) == 2 and len(asr_ax.containers) == 2  # error bars
    x, y = acc_ax.containers[1].lines[0].get_data()
    np.testing.assert_allclose(x, alphas[[0, 2, 5, 7, 10, 12]])  # 6 default points
    sim = simulate(setup.replace(kappa=2.0, alpha=x[2]), n=120, seeds=3)
    assert y[2] == pytest.approx(sim.mean("clean_accuracy"), rel=1e-12)

    # explicit points, into caller-owned axes, PNG only
    own = Figure()
    axes = own.subplots(1, 2)
    out = plot_curves(
        setup,
        alphas,
        kappas=(1.0,),
        loss="logistic",
        simulate_n=100,
        seeds=2,
        sim_alphas=[0.0, 3.0],
        path=tmp_path / "own.png",
        ax=axes,
    )
    assert out is own
    _check_file(tmp_path / "own.png", b"\x89PNG")
    assert len(axes[1].containers[0].lines[0].get_xdata()) == 2


def test_plot_curves_rejects_a_bad_path(tmp_path):
    with pytest.raises(ValueError, match="path must end in .png, .pdf, .svg"):
        plot_curves(Setup(**BASE), [0.0, 1.0], path=tmp_path / "curves.jpg")


def test_simulate_refuses_an_impossible_size():
    with pytest.raises(ValueError, match="lower n"):
        simulate(Setup(kappa=1.0), n=10**9, loss="square", seeds=2)
