"""Neural-collapse metrics against direct per-sample computations."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose

from keatingcore import collapse


def _direct(X, y, W, b):
    """Textbook NC1-NC4 with explicit per-sample sums (Papyan, Han & Donoho 2020)."""
    K = y.max() + 1
    N, D = X.shape
    mu = np.array([X[y == c].mean(axis=0) for c in range(K)])
    mu_g = X.mean(axis=0)
    sigma_w = np.zeros((D, D))
    for i in range(N):
        v = X[i] - mu[y[i]]
        sigma_w += np.outer(v, v)
    sigma_w /= N
    M = (mu - mu_g).T
    sigma_b = M @ M.T / K
    nc1 = np.trace(sigma_w @ np.linalg.pinv(sigma_b)) / K
    etf = (np.eye(K) - 1 / K) / np.sqrt(K - 1)
    G = M.T @ M
    nc2 = np.linalg.norm(G / np.linalg.norm(G) - etf)
    WM = W @ M
    nc3 = np.linalg.norm(WM / np.linalg.norm(WM) - etf)
    pred = np.array([np.argmax(W @ x + b) for x in X])
    near = np.array([np.argmin([np.sum((x - m) ** 2) for m in mu]) for x in X])
    return nc1, nc2, nc3, np.mean(pred != near), np.linalg.svd(M, compute_uv=False)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("balanced", [True, False])
def test_metrics_match_a_direct_per_sample_computation(dtype, balanced):
    rng = np.random.default_rng(7)
    K, D = 5, 12
    counts = [40] * K if balanced else [10, 25, 40, 55, 70]
    y = np.repeat(np.arange(K), counts)
    X = 2.0 * rng.standard_normal((K, D))[y] + rng.standard_normal((y.size, D))
    W, b = rng.standard_normal((K, D)), rng.standard_normal(K)
    m = collapse.nc_metrics(X.astype(dtype), y, W, b)
    nc1, nc2, nc3, nc4, sv = _direct(X, y, W, b)
    rtol = 1e-10 if dtype == np.float64 else 1e-5
    assert_allclose([m.nc1, m.nc2, m.nc3], [nc1, nc2, nc3], rtol=rtol)
    assert m.nc4 == pytest.approx(nc4, abs=0)
    assert_allclose(m.spectrum, sv, rtol=rtol, atol=1e-6 * sv[0])
    assert m.numerical_rank == np.sum(sv > 0.1 * sv[0])


def test_exact_collapse_gives_zero_metrics():
    K, D, n = 6, 9, 7
    rng = np.random.default_rng(0)
    Q, _ = np.linalg.qr(rng.standard_normal((D, K)))
    etf = (np.eye(K) - 1 / K) @ Q.T * 3.0  # simplex ETF class means
    y = np.repeat(np.arange(K), n)
    X = etf[y] + 0.5  # plus a global offset
    m = collapse.nc_metrics(X, y, weights=etf, bias=np.zeros(K))
    assert m.nc1 < 1e-28
    assert m.nc2 < 1e-14 and m.nc3 < 1e-14 and m.nc4 == 0.0
    assert m.numerical_rank == K - 1
    assert m.effective_rank == pytest.approx(K - 1, rel=1e-12)


def test_rank_summaries_reference_values():
    assert collapse.effective_rank([3.0, 3.0, 3.0, 0.0]) == pytest.approx(
        3.0, rel=1e-14
    )
    assert collapse.effective_rank([5.0]) == pytest.approx(1.0)
    p = np.array([0.5, 0.25, 0.25])
    assert collapse.effective_rank(4 * p) == pytest.approx(
        np.exp(-np.sum(p * np.log(p)))
    )
    assert collapse.numerical_rank([10.0, 2.0, 0.5], tol=0.1) == 2
    assert collapse.numerical_rank([10.0, 2.0, 0.5], tol=0.3) == 1
    assert_allclose(collapse.numerical_rank(np.array([[1, 1.0], [1, 0.0]])), [2, 1])
    A = np.random.default_rng(1).standard_normal((6, 4))
    assert_allclose(
        collapse.singular_spectrum(A, center=True),
        np.linalg.svd(A - A.mean(axis=0), compute_uv=False),
    )
    with pytest.raises(ValueError, match="tol"):
        collapse.numerical_rank([1.0], tol=0.0)


@pytest.mark.parametrize(("K", "depth"), [(4, 2), (8, 3), (16, 5)])
def test_normalised_margin_reference_values(K, depth):
    # Digest 3.7: NC gives (K-1)^(-L/2); the Walsh cube code gives (2/K) m^(-L/2).
    etf = np.eye(K) - 1.0 / K
    assert collapse.normalised_margin(5.0 * etf, depth) == pytest.approx(
        (K - 1) ** (-depth / 2), rel=1e-12
    )
    m = int(np.log2(K))
    H = np.array([[(-1) ** bin(g & k).count("1") for k in range(K)] for g in range(K)])
    U = H / np.sqrt(K)
    modes = [2**j for j in range(m)]
    cube = U[:, modes] @ U[:, modes].T
    assert collapse.normalised_margin(cube, depth) == pytest.approx(
        (2 / K) * m ** (-depth / 2), rel=1e-12
    )


def test_per_layer_matches_single_calls():
    rng = np.random.default_rng(3)
    y = np.repeat(np.arange(4), 10)
    feats = [
        rng.standard_normal((40, d)) + rng.standard_normal((4, d))[y] for d in (3, 8)
    ]
    layers = collapse.per_layer(feats, y)
    for i, f in enumerate(feats):
        m = collapse.nc_metrics(f, y)
        assert layers.nc1[i] == m.nc1 and layers.nc2[i] == m.nc2
        assert layers.numerical_rank[i] == m.numerical_rank


def test_class_means_and_bad_input():
    X = np.arange(12.0).reshape(6, 2)
    means, counts = collapse.class_means(X, [0, 0, 1, 1, 1, 2])
    assert_allclose(means, [[1, 2], [6, 7], [10, 11]])
    assert_allclose(counts, [2, 3, 1])
    with pytest.raises(ValueError, match="labels must have shape"):
        collapse.nc_metrics(X, [0, 1])
    with pytest.raises(ValueError, match="every class"):
        collapse.class_means(X, [0, 0, 2, 2, 2, 2])
    with pytest.raises(ValueError, match="integers"):
        collapse.nc_metrics(X, np.zeros(6) + 0.5)
    with pytest.raises(ValueError, match="weights must have shape"):
        collapse.nc_metrics(X, [0, 0, 1, 1, 1, 2], weights=np.ones((2, 2)))
    with pytest.raises(ValueError, match="features must have shape"):
        collapse.nc_metrics(np.ones(5), [0, 1, 0, 1, 0])


@pytest.mark.parametrize("offset", [100.0, 1000.0])
def test_nc1_and_nc2_survive_a_large_common_offset(offset):
    # Regression: a large mean feature used to leave a rounding-noise K-th direction
    # in Sigma_B^+ (NC1 ~ 1e31) and float32 sums moved NC2.
    rng = np.random.default_rng(3)
    K, n, D = 4, 50, 16
    y = np.repeat(np.arange(K), n)
    X = 0.1 * rng.normal(size=(K * n, D)) + rng.normal(size=(K, D))[y]
    base = collapse.nc_metrics(X, y)
    shifted = collapse.nc_metrics(X + offset, y)
    assert_allclose(shifted.nc1, base.nc1, rtol=1e-8)
    assert_allclose(shifted.nc2, base.nc2, rtol=1e-8)
    single = collapse.nc_metrics((X + offset).astype(np.float32), y)
    assert_allclose(single.nc2, base.nc2, rtol=2e-3)
