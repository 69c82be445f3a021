"""keatingcore.landscape: exact p-spin complexity, finite-N Kac-Rice, activations."""

from __future__ import annotations

import json
import math

import mpmath as mp
import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy.integrate import dblquad, quad
from scipy.special import gammaln

from keatingcore import landscape as ls
from keatingcore.cli import main

# --- multiprecision reference (closed forms of digest section 3, 40 digits) ----------


def _mp_theta(u, p, k=None):
    mp.mp.dps = 40
    u, p = mp.mpf(u), mp.mpf(p)
    e = 2 * mp.sqrt((p - 1) / p)
    c = mp.log(p - 1) / 2
    q = (p - 2) / (4 * (p - 1))
    i1 = 0
    if u < -e:
        i1 = -(u / e**2) * mp.sqrt(u * u - e * e) - mp.log(-u + mp.sqrt(u * u - e * e))
        i1 += mp.log(e)
    if k is None:
        return c if u >= 0 else c - q * u * u - i1
    return c - q * u * u - (k + 1) * i1 if u < -e else c - (p - 2) / p


def _mp_threshold(p, k):
    mp.mp.dps = 40
    e = 2 * mp.sqrt(mp.mpf(p - 1) / p)
    lo = mp.mpf(-4) * e
    return -mp.findroot(lambda u: _mp_theta(u, p, k), (lo, -e), solver="bisect")


# --- exact asymptotics ---------------------------------------------------------------


def test_published_p3_values():
    t = ls.thresholds(3, 0)
    assert_allclose(t.E_inf[0], 2 * math.sqrt(2 / 3), rtol=0, atol=1e-15)
    assert_allclose(t.E0[0], 1.657, atol=5e-4)  # Choromanska et al. / ABC
    assert 1.6569 < t.E0[0] < 1.6571


@pytest.mark.parametrize("p", [3, 4, 7, 12])
def test_complexity_matches_multiprecision(p):
    e = 2 * math.sqrt((p - 1) / p)
    u = np.concatenate(
        [[-6.0, -2.5, -e - 0.3, -e - 1e-3, -e - 1e-7, -e - 1e-12, -e], [-1.0, 0, 0.4]]
    )
    for k in (None, 0, 1, 5):
        got = ls.complexity(u, p, k)
        want = np.array([float(_mp_theta(x, p, k)) for x in u])
        assert_allclose(got, want, rtol=0, atol=1e-13, err_msg=f"k={k}")


def test_edge_rate_equals_its_integral_definition():
    mp.mp.dps = 30
    for p in (3, 5):
        e = 2 * math.sqrt((p - 1) / p)
        for u in (-e - 1e-4, -e - 0.1, -2.5, -5.0):
            ref = (
                2
                / mp.mpf(e) ** 2
                * mp.quad(lambda z, e=e: mp.sqrt(z * z - e * e), [u, -e])
            )
            assert_allclose(ls.edge_rate(u, p), float(ref), rtol=1e-12, atol=1e-15)
        # near the edge I_1 ~ (4 sqrt2 / 3) E^-3/2 (-u - E)^3/2 (digest section 3)
        d = 1e-6
        lead = 4 * math.sqrt(2) / 3 * e**-1.5 * d**1.5
        assert_allclose(ls.edge_rate(-e - d, p), lead, rtol=1e-5)
    assert ls.goe_edge_rate(1.0) == 0.0
    assert_allclose(ls.goe_edge_rate(-2.0), ls.goe_edge_rate(2.0), rtol=1e-15)


def test_thresholds_match_multiprecision_roots():
    res = ls.thresholds([3, 4, 6], 50)
    assert res.converged and res.residual < 1e-15
    for i, p in enumerate((3, 4, 6)):
        for k in (0, 1, 5, 50):
            assert_allclose(res.E[i, k], float(_mp_threshold(p, k)), rtol=0, atol=1e-13)
        assert np.all(np.diff(res.E[i]) < 0) and np.all(res.E[i] > res.E_inf[i])


def test_thresholds_approach_e_inf_like_k_to_minus_two_thirds():
    # (k + 1) (2/3) y^3 = Theta(-E_inf) at large k, E_k = E_inf sqrt(1 + y^2)
    p, k = 3, 20000
    e = ls.thresholds(p, k)
    c0 = 0.5 * math.log(2) - 1 / 3
    y = (1.5 * c0 / (k + 1)) ** (1 / 3)
    assert_allclose(e.E[0, k] - e.E_inf[0], e.E_inf[0] * y * y / 2, rtol=2e-3)


def test_log_potential_route_agrees_with_closed_form():
    x = np.array([0.0, 0.3, 1.0, 1.414, 1.4142136, 1.5, 2.0, 4.0])
    closed = x**2 / 2 - 0.5 - 0.5 * math.log(2) - ls.goe_edge_rate(x)
    assert_allclose(ls.log_potential(x), closed, rtol=0, atol=2e-12)

    # and against scipy's quadrature of the defining integral (independent of both)
    def omega(t):
        f = lambda y: math.log(abs(t - y)) * math.sqrt(2 - y * y) / math.pi  # noqa: E731
        pts = [t] if abs(t) < math.sqrt(2) else None
        return quad(f, -math.sqrt(2), math.sqrt(2), points=pts, limit=200)[0]

    for t in (0.2, 1.7):
        assert_allclose(ls.log_potential(t), omega(t), atol=1e-8)
    for p in (3, 5):
        u = np.linspace(-2.6, 0.6, 17)
        for k in (None, 0, 3):
            a = ls.complexity_log_potential(u, p, k)
            assert_allclose(a, ls.complexity(u, p, k), rtol=0, atol=2e-11)


def test_complexity_shape_facts():
    p = 3
    e = ls.e_inf(p)
    u = np.linspace(-2.5, -e, 50)
    assert_allclose(ls.complexity(u, p), ls.complexity(u, p, 0), atol=1e-15)
    c = 0.5 * math.log(p - 1) - (p - 2) / p
    for k in (0, 4):
        assert_allclose(ls.complexity(-e - 1e-12, p, k), c, atol=1e-10)
        assert ls.complexity(0.3, p, k) == pytest.approx(c, abs=1e-15)
    # total complexity is C^1 at -E_inf and at 0: one-sided slopes agree
    # (at -E_inf the one-sided difference quotients differ only through I_1, by
    # (4 sqrt2 / 3) E^-3/2 sqrt(h), which vanishes with h)
    h = 1e-6
    slopes = []
    for x in (-e, 0.0):
        left = (ls.complexity(x, p) - ls.complexity(x - h, p)) / h
        right = (ls.complexity(x + h, p) - ls.complexity(x, p)) / h
        slopes.append(left - right)
    assert_allclose(slopes[0], 4 * math.sqrt(2) / 3 * e**-1.5 * math.sqrt(h), rtol=1e-2)
    assert_allclose(slopes[1], 0.0, atol=1e-5)
    # index-k complexity has a kink at -E_inf: left slope (p-2) E / (2 (p-1))
    h = 1e-10
    left = (ls.complexity(-e - h, p, 2) - ls.complexity(-e - 2 * h, p, 2)) / h
    assert_allclose(left, (p - 2) * e / (2 * (p - 1)), rtol=1e-3)


def test_vectorised_broadcasting_and_threads():
    u = np.linspace(-3, 1, 20001)
    one = ls.complexity(u, 3, 2, num_threads=1)
    two = ls.complexity(u, 3, 2, num_threads=2)
    assert np.array_equal(one, two)
    grid = ls.complexity(u[:5, None], np.array([3, 4, 5]))
    assert grid.shape == (5, 3)
    assert_allclose(grid[:, 1], ls.complexity(u[:5], 4), rtol=0, atol=0)
    t1 = ls.thresholds(range(3, 11), 50, num_threads=1)
    t2 = ls.thresholds(range(3, 11), 50, num_threads=2)
    assert np.array_equal(t1.E, t2.E)


@pytest.mark.parametrize(
    "call,match",
    [
        (lambda: ls.complexity(-1.0, 2), "p must be >= 3"),
        (lambda: ls.complexity(-1.0, 3.5), "p must be an integer"),
        (lambda: ls.complexity(np.nan, 3), "u must not contain NaN"),
        (lambda: ls.complexity(-1.0, 3, -1), "index must be >= 0"),
        (lambda: ls.thresholds(3, -1), "k_max must be >= 0"),
        (lambda: ls.expected_counts(1, 3), "N must be >= 2"),
        (lambda: ls.expected_counts(5, 1), "p must be >= 2"),
        (lambda: ls.count_monte_carlo(5, 3, theta=[0.0]), "theta entries"),
        (lambda: ls.expected_counts(5, 3, k_max=5), "k_max must be >= 0 and <= 4"),
        (lambda: ls.piecewise_linear("swish"), "name must be one of"),
        (lambda: ls.piecewise_linear("relu", 1), "n_pieces must be between"),
        (lambda: ls.find_critical_points(1, 3), "N must be >= 2"),
    ],
)
def test_bad_input_raises_value_error_naming_it(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# --- finite N ------------------------------------------------------------------------


@pytest.mark.parametrize("N", [2, 3, 4, 5, 6, 7, 10])
def test_exact_small_n_identities(N):
    # p = 2: every index has exactly 2 critical points (4 on a circle, 6 on S^2)
    two = ls.expected_counts(N, 2)
    assert_allclose(two.by_index[:, 0], 2.0, rtol=1e-11)
    assert_allclose(two.total, 2.0 * N, rtol=1e-11)
    # Euler: sum_k (-1)^k E Crt_{N,k} = chi(S^{N-1}) for any p
    for p in (3, 4, 6):
        c = ls.expected_counts(N, p)
        alt = np.sum((-1.0) ** np.arange(N) * c.by_index[:, 0])
        assert_allclose(alt, 1 + (-1) ** (N - 1), atol=1e-10 * c.total[0])
        assert_allclose(c.by_index.sum(0), c.total, rtol=1e-11)


def test_exact_counts_n2_against_direct_double_integral():
    # GOE_2 in ABC units: density prop. to (y - x) exp(-(x^2 + y^2)) on x < y.
    p, N = 3, 2
    c = (p - 2) / (2 * p) * N
    a = -0.4 * math.sqrt(p / (2 * (p - 1)))
    z = dblquad(
        lambda y, x: (y - x) * math.exp(-(x * x + y * y)), -9, 9, lambda x: x, 9
    )
    num = dblquad(
        lambda y, x: (y - x) * math.exp(-(x * x + y * y) - c * x * x),
        -9,
        a,
        lambda x: x,
        9,
    )
    want = ls.count_prefactor(N, p) * num[0] / z[0]
    got = ls.expected_counts(N, p, -0.4).by_index[0, 0]
    assert_allclose(got, want, rtol=1e-9)


def test_monte_carlo_agrees_with_exact_counts():
    N, p = 6, 3
    u = np.array([-1.6, -1.2, -0.6, 0.0, np.inf])
    exact = ls.expected_counts(N, p, u)
    mc = ls.count_monte_carlo(N, p, u, n_samples=60_000, seed=4)
    for est, err, ref in (
        (mc.by_index, mc.stderr_by_index, exact.by_index),
        (mc.total, mc.stderr_total, exact.total),
    ):
        ok = err > 0
        z = np.abs(est[ok] - ref[ok]) / err[ok]
        assert z.max() < 4.5, z.max()
    one = ls.count_monte_carlo(N, p, u, n_samples=3000, seed=9, num_threads=1)
    two = ls.count_monte_carlo(N, p, u, n_samples=3000, seed=9, num_threads=2)
    assert np.array_equal(one.by_index, two.by_index)


def test_tridiagonal_goe_matches_dense_numpy_sampling():
    N, S = 5, 40_000
    tri = ls.goe_eigenvalues(N, S, seed=2)
    rng = np.random.default_rng(0)
    a = rng.standard_normal((S, N, N)) / math.sqrt(N)
    dense = np.linalg.eigvalsh((a + a.transpose(0, 2, 1)) / 2)
    for stat in (np.mean, np.var):
        x, y = stat(tri, 0), stat(dense, 0)
        se = np.sqrt(2 * np.var(dense**2 if stat is np.var else dense, 0) / S)
        assert np.all(np.abs(x - y) < 5 * se)
    # E tr M^2 = 1 + (N - 1) / 2 exactly
    assert_allclose((tri**2).sum(1).mean(), 1 + (N - 1) / 2, rtol=1e-2)


@pytest.mark.parametrize("N,p", [(3, 3), (4, 3), (3, 4)])
def test_newton_critical_points_match_expected_counts(N, p):
    res = ls.find_critical_points(N, p, n_samples=150, seed=5)
    assert res.converged and res.residual < 1e-10
    u = np.array([-1.0, np.inf])
    mean, se = res.mean_counts(u)
    exact = ls.expected_counts(N, p, u).by_index.T
    # standard error, floored by the Poisson one for rare cells where none was seen
    floor = np.sqrt(exact / res.n_samples)
    assert np.all(np.abs(mean - exact) <= 4.5 * np.maximum(se, floor)), (mean, exact)


@pytest.mark.slow
def test_gradient_descent_minima_lie_above_ground_state_and_approach_band():
    small = ls.gradient_descent(32, 3, 8, seed=1)
    large = ls.gradient_descent(96, 3, 8, seed=2)
    e0, einf = -small.band[0], -small.band[1]
    for r in (small, large):
        assert r.converged and np.all(r.index == 0)
        assert np.all(r.energy > -e0 - 0.05)  # nothing below the ground state level
    assert large.energy.mean() < small.energy.mean()  # deeper minima as N grows
    assert -e0 - 0.05 < large.energy.mean() < -einf + 0.12


# --- activations and the deformed problem (reconstruction) ---------------------------

TABLE = {  # digest section 1.2: E f(Z), E f'(Z), E f(Z)^2
    "relu": (1 / math.sqrt(2 * math.pi), 0.5, 0.5),
    "tanh": (0.0, 0.605706, 0.394294),
    "sigmoid": (0.5, 0.206621, 0.293379),
    "gelu": (1 / (2 * math.sqrt(math.pi)), 0.5, 0.425221),
}


@pytest.mark.parametrize("name", sorted(TABLE))
def test_activation_statistics_match_digest_table(name):
    s = ls.gaussian_statistics(name)
    assert_allclose([s.mean, s.mean_slope, s.second_moment], TABLE[name], atol=1e-6)


def test_leaky_relu_statistics_and_exact_fit():
    a = 0.01
    s = ls.gaussian_statistics("leaky_relu")
    want = ((1 - a) / math.sqrt(2 * math.pi), (1 + a) / 2, (1 + a * a) / 2)
    assert_allclose([s.mean, s.mean_slope, s.second_moment], want, atol=1e-12)
    for name in ("relu", "leaky_relu"):
        pl = ls.piecewise_linear(name, 2)
        assert pl.l2_error < 1e-12 and pl.max_error < 1e-12
        assert abs(ls.deformation_strength(pl.statistics())) < 1e-12


def test_piecewise_linear_statistics_and_convergence():
    for name in ("tanh", "sigmoid", "gelu"):
        exact = ls.gaussian_statistics(name)
        errors = []
        for n in (4, 16, 64):
            pl = ls.piecewise_linear(name, n)
            s = pl.statistics()
            # closed form of the fit against quadrature of the fit itself
            q = ls.gaussian_statistics(pl, kinks=pl.knots)
            assert_allclose(
                [s.mean, s.mean_slope, s.second_moment, s.mean_intercept],
                [q.mean, q.mean_slope, q.second_moment, q.mean_intercept],
                atol=1e-11,
            )
            # an L2 projection containing 1 and z keeps E f and E Z f = E f'
            assert_allclose(
                [s.mean, s.mean_slope], [exact.mean, exact.mean_slope], atol=1e-11
            )
            errors.append(pl.l2_error)
        assert errors[0] > errors[1] > errors[2] and errors[2] < 2e-3
    user = ls.piecewise_linear(np.abs, 3, kinks=[0.0])
    assert user.l2_error < 1e-12 and user.n_pieces == 4
    square = ls.piecewise_linear(lambda z: z**2, 32, name="square")
    assert square.name == "square" and 0 < square.l2_error < 0.1


def test_bbp_outlier_location():
    assert_allclose(ls.bbp_outlier([1.0, -1.5, 0.3]), [1.5, -1.5 - 1 / 3, math.sqrt(2)])
    for theta, tol in ((1.0, 0.01), (-1.5, 0.01), (0.4, 0.03)):
        x = ls.extreme_eigenvalues(4000, theta, 24, seed=1)
        assert abs(x.mean() - ls.bbp_outlier(theta)) < tol


def test_deformation_zero_limit_reproduces_abc():
    u = np.array([-1.2, 0.0, np.inf])
    base = ls.count_monte_carlo(5, 3, u, n_samples=20_000, seed=3)
    tiny = ls.deformed_counts(5, 3, 1e-9, u, n_samples=20_000, seed=3)
    assert_allclose(tiny.by_index, base.by_index, rtol=1e-6, atol=1e-12)
    # reflection M -> -M maps theta -> -theta and index k -> N - 1 - k
    up = ls.deformed_counts(5, 3, 0.9, n_samples=40_000, seed=3)
    down = ls.deformed_counts(5, 3, -0.9, n_samples=40_000, seed=4)
    se = np.hypot(up.stderr_by_index[:, 0], down.stderr_by_index[::-1, 0])
    assert np.all(np.abs(up.by_index[:, 0] - down.by_index[::-1, 0]) <= 4.5 * se)
    assert not np.allclose(up.by_index[:, 0], base.by_index[:, -1], rtol=0.05)


def _brute_deformed(N, p, theta, u, S, seed):
    """E|det| 1{index = k} 1{U <= u} of digest 2.2 with the spike, by plain sampling."""
    rng = np.random.default_rng(seed)
    m = N - 1
    a = rng.standard_normal((S, m, m))
    W = (a + a.transpose(0, 2, 1)) / math.sqrt(2)
    W[:, 0, 0] += math.sqrt(2 * N) * theta
    U = rng.standard_normal(S) / math.sqrt(N)
    ev = np.linalg.eigvalsh(
        W - (math.sqrt(p * N / (p - 1)) * U)[:, None, None] * np.eye(m)
    )
    det, ind = np.abs(ev).prod(1), (ev < 0).sum(1)
    vals = np.stack([det * (ind == k) * (U <= u) for k in range(N)])
    const = math.exp(  # |S^{N-1}(sqrt N)| (2 pi p)^{-(N-1)/2} (p (p-1) / N)^{(N-1)/2}
        math.log(2)
        + N / 2 * math.log(math.pi)
        + (N - 1) / 2 * math.log(N)
        - gammaln(N / 2)
        + (N - 1) / 2 * math.log((p - 1) / (2 * math.pi * N))
    )
    return const * vals.mean(1), const * vals.std(1) / math.sqrt(S)


def test_deformed_counts_match_brute_force_determinant_sampling():
    N, p, theta, u = 4, 3, 0.8, 0.0
    brute, brute_se = _brute_deformed(N, p, theta, u, 400_000, 1)
    est = ls.deformed_counts(N, p, theta, u, n_samples=100_000, seed=2)
    diff = np.abs(est.by_index[:, 0] - brute)
    se = np.hypot(brute_se, est.stderr_by_index[:, 0])
    assert np.all(diff <= 4.5 * se + 1e-9), (est.by_index[:, 0], brute, se)
    # the undeformed brute force is the exact finite-N count (digest 2.2 = 2.3)
    b0, b0_se = _brute_deformed(N, p, 0.0, u, 400_000, 3)
    exact = ls.expected_counts(N, p, u).by_index[:, 0]
    assert np.all(np.abs(b0 - exact) <= 4.5 * b0_se)


# --- command line and figures --------------------------------------------------------


def test_cli_writes_data_and_figures(tmp_path):
    out = tmp_path / "t.json"
    assert (
        main(
            ["landscape", "thresholds", "--p", "3:4", "--k-max", "2", "--out", str(out)]
        )
        == 0
    )
    data = json.loads(out.read_text())
    assert_allclose(data["E"]["3"][0], ls.thresholds(3, 0).E0[0], rtol=1e-15)
    csv = tmp_path / "c.csv"
    fig = tmp_path / "c.png"
    args = ["landscape", "complexity", "--p", "3,5", "--u=-2:0:5", "--out", str(csv)]
    assert main([*args, "--plot", str(fig)]) == 0
    rows = np.loadtxt(csv, delimiter=",", skiprows=1)
    assert_allclose(rows[:, 2], ls.complexity(rows[:, 0], 5), rtol=1e-14)
    assert fig.stat().st_size > 1000
    cnt = tmp_path / "n.csv"
    assert main(["landscape", "count", "--N", "3", "--p", "2", "--out", str(cnt)]) == 0
    assert_allclose(np.loadtxt(cnt, delimiter=",", skiprows=1)[1:], [6, 2, 2, 2])
    act = tmp_path / "a.json"
    assert (
        main(["landscape", "activations", "--names", "relu,tanh", "--out", str(act)])
        == 0
    )
    stats = json.loads(act.read_text())["tanh"]["exact_statistics"]
    assert_allclose(stats["mean_slope"], TABLE["tanh"][1], atol=1e-6)


def test_figures_are_matplotlib_figures(tmp_path):
    from matplotlib.figure import Figure

    from keatingcore.landscape import _plot

    figs = [
        _plot.plot_complexity(),
        _plot.plot_index_complexity(),
        _plot.plot_finite_n(N=(4, 8), u=np.linspace(-2, 0, 9)),
        _plot.plot_bbp(N=200, thetas=np.array([0.0, 1.0]), n_samples=4),
    ]
    for f in figs:
        assert isinstance(f, Figure) and f.axes


def test_direct_searches_do_not_depend_on_thread_count():
    a = ls.find_critical_points(4, 3, 6, seed=8, num_threads=1)
    b = ls.find_critical_points(4, 3, 6, seed=8, num_threads=2)
    assert np.array_equal(a.energy, b.energy) and np.array_equal(a.index, b.index)
    c = ls.gradient_descent(12, 3, 4, seed=8, num_threads=1)
    d = ls.gradient_descent(12, 3, 4, seed=8, num_threads=2)
    assert np.array_equal(c.energy, d.energy) and np.array_equal(c.index, d.index)
    e = ls.expected_counts(7, 3, [-1.0, 0.5], num_threads=1)
    f = ls.expected_counts(7, 3, [-1.0, 0.5], num_threads=2)
    assert np.array_equal(e.by_index, f.by_index)


def test_huge_indices_are_refused_not_wrapped():
    # Regression: index 2**31 used to wrap to 0 in the C++ int.
    with pytest.raises(ValueError, match="index must be <= 2147483647"):
        ls.complexity([-2.0], 3, index=2**31)
    with pytest.raises(ValueError, match="index must be <= 2147483647"):
        ls.complexity(-2.0, 3, index=float(2**64))


def test_exact_route_is_capped_where_it_is_accurate():
    c = ls.expected_counts(24, 3, [10.0])
    euler = np.sum((-1.0) ** np.arange(24) * c.by_index[:, 0])
    assert abs(euler) < 1e-9 * c.total[0]
    with pytest.raises(ValueError, match="count_monte_carlo"):
        ls.expected_counts(25, 3, [0.0])
