"""Observables on spin lattices: conversion, kernel, W1, SVD, correlation functions and matrices.

Statistical tolerances are 5 standard errors computed from the samples (or from the exact
variance of independent spins); exact identities use 1e-12.
"""

import numpy as np
import pytest
from scipy import stats

from neurolattice_core.errors import FitError, ParameterError
from neurolattice_core.observables import (
    abs_magnetization,
    as_spins,
    column_averages,
    equal_time_correlation,
    exponential_correlation_length,
    kernel,
    kernel_svd,
    lagged_correlation,
    magnetization,
    noise_correlation,
    population_count,
    row_averages,
    second_moment_correlation_length,
    signal_correlation,
    slice_magnetization,
    spatial_correlation,
    spectrum,
    spike_probability,
    temporal_correlation,
    validate_spins,
    wasserstein1,
)


def random_spins(rng, shape, p=0.5):
    """Independent spins with P(s = +1) = p (p broadcast against shape)."""
    return np.where(rng.random(shape) < p, 1, -1).astype(np.int8)


@pytest.fixture(scope="module")
def known_p():
    """Independent spins, R = 50 trials, N = 200 neurons, T = 100 ticks, per-neuron p_i."""
    rng = np.random.default_rng(20240601)
    r, n, t = 50, 200, 100
    p = rng.permutation(np.linspace(0.15, 0.85, n))
    return random_spins(rng, (r, n, t), p[None, :, None]), p


# ---------------------------------------------------------------- conversion and validation


def test_as_spins_accepts_binary_bool_and_counts():
    raster = np.array([[0, 1, 2], [3, 0, 0]])
    expected = np.array([[[-1, 1, 1], [1, -1, -1]]], dtype=np.int8)
    for a in (raster, raster > 0, raster.astype(float), raster.astype(np.uint8)):
        s = as_spins(a)
        assert s.dtype == np.int8 and s.shape == (1, 2, 3) and s.flags.c_contiguous
        np.testing.assert_array_equal(s, expected)
    s3 = as_spins(np.stack([raster, 1 - (raster > 0)]))
    assert s3.shape == (2, 2, 3)
    np.testing.assert_array_equal(s3[1], -expected[0])


@pytest.mark.parametrize(
    "bad",
    [
        np.zeros(5),
        np.zeros((1, 2, 3, 4)),
        np.zeros((0, 3)),
        np.array([[0.0, np.nan]]),
        np.array([[0, -1]]),
        np.array([[0.5, 1.0]]),
        np.array([["a", "b"]]),
    ],
)
def test_as_spins_rejects_bad_rasters(bad):
    with pytest.raises(ParameterError):
        as_spins(bad)


@pytest.mark.parametrize(
    "bad",
    [np.ones((3, 4)), np.zeros((1, 3, 4)), np.full((1, 2, 2), np.nan), np.ones((0, 2, 2))],
)
def test_observables_reject_bad_spins(bad):
    with pytest.raises(ParameterError):
        validate_spins(bad)
    with pytest.raises(ParameterError):
        kernel(bad)


def test_per_configuration_observables():
    s = np.array([[[1, 1, -1], [1, -1, -1]], [[-1, -1, -1], [-1, -1, 1]]], dtype=np.int8)
    np.testing.assert_allclose(magnetization(s), [0.0, -4 / 6])
    np.testing.assert_allclose(slice_magnetization(s), [[1, 0, -1], [-1, -1, 0]])
    np.testing.assert_array_equal(population_count(s), [[2, 1, 0], [0, 0, 1]])
    np.testing.assert_array_equal(population_count(s), (1 + s).sum(axis=1) // 2)


# ---------------------------------------------------------------- independent spins, known p


def test_kernel_of_independent_spins(known_p):
    s, p = known_p
    r, n, t = s.shape
    m_true = 2 * p - 1
    m = kernel(s)
    z2 = ((m - m_true[:, None]) ** 2 / ((1 - m_true[:, None] ** 2) / r)).ravel()
    assert abs(z2.mean() - 1.0) < 5 * z2.std() / np.sqrt(z2.size)
    mu = row_averages(m)
    z = (mu - m_true) / np.sqrt((1 - m_true**2) / (r * t))
    assert np.max(np.abs(z)) < 5
    nu = column_averages(m)
    se_nu = np.sqrt(np.mean(1 - m_true**2) / (r * n))
    assert np.max(np.abs(nu - m_true.mean())) < 5 * se_nu
    np.testing.assert_allclose(nu.mean(), mu.mean(), atol=1e-12)


def test_temporal_correlation_of_independent_spins(known_p):
    s, p = known_p
    r, n, t = s.shape
    var_i = 4 * p * (1 - p)
    for periodic in (True, False):
        c = temporal_correlation(s, periodic=periodic)
        assert c.shape == (t // 2 + 1,)
        lags = np.arange(1, c.size)
        pairs = t if periodic else t - lags
        se = np.sqrt(np.mean(var_i**2) / (r * n * pairs))
        # per-trial time-mean subtraction: E C(tau >= 1) = -var / T exactly for independent ticks
        assert np.all(np.abs(c[1:] + var_i.mean() / t) < 5 * se)
        # C(0) = mean(1 - xbar**2), xbar the time mean: var(xbar**2) = 4 mu^2 var/T + 2 var^2/T^2
        mu2 = 1 - var_i
        se0 = np.sqrt(np.mean(4 * mu2 * var_i / t + 2 * var_i**2 / t**2) / (r * n))
        assert abs(c[0] - var_i.mean() * (t - 1) / t) < 5 * se0 + 1e-12


def test_matrices_of_independent_spins(known_p):
    s, p = known_p
    r, n, t = s.shape
    var_i = 4 * p * (1 - p)
    c = equal_time_correlation(s)
    off = ~np.eye(n, dtype=bool)
    se = np.sqrt(np.outer(var_i, var_i) / (r * t))
    assert np.max(np.abs(c[off]) / se[off]) < 6  # 19900 pairs: max of |N(0,1)| ~ 4.3
    np.testing.assert_allclose(np.diag(c), 1 - row_averages(kernel(s)) ** 2, atol=1e-12)
    d1 = lagged_correlation(s, 1)
    se1 = np.sqrt(np.outer(var_i, var_i) / (r * (t - 1)))
    assert np.max(np.abs(d1) / se1) < 6


# ---------------------------------------------------------------- hand-built configurations


def test_alternating_configuration_exact_correlations():
    r, n, t = 2, 8, 12
    i, tt = np.meshgrid(np.arange(n), np.arange(t), indexing="ij")
    s = np.broadcast_to(np.where((i + tt) % 2 == 0, 1, -1), (r, n, t)).astype(np.int8)
    for periodic in (True, False):
        for subtract in ("time", "none"):
            np.testing.assert_allclose(
                temporal_correlation(s, periodic, subtract=subtract), (-1.0) ** np.arange(7)
            )
            np.testing.assert_allclose(
                spatial_correlation(s, "ring", periodic=periodic, subtract=subtract),
                (-1.0) ** np.arange(5),
            )


def test_period_four_configuration():
    g = np.tile([1, 1, -1, -1], 4)  # T = 16
    s = np.broadcast_to(g, (3, 5, 16)).astype(np.int8)
    expected = np.array([1, 0, -1, 0, 1, 0, -1, 0, 1], dtype=float)
    np.testing.assert_allclose(temporal_correlation(s, True), expected, atol=1e-12)
    np.testing.assert_allclose(temporal_correlation(s, True, normalize=True), expected, atol=1e-12)
    # open boundary: average of g_t g_{t+tau} over the T - tau available pairs
    direct = [np.mean(g[: 16 - k] * g[k:]) for k in range(9)]
    np.testing.assert_allclose(temporal_correlation(s, False, subtract="none"), direct, atol=1e-12)
    # all neurons fluctuate in phase around their time means; identical replicas: no
    # trial-to-trial fluctuation around the kernel
    np.testing.assert_allclose(spatial_correlation(s), 1.0, atol=1e-12)
    np.testing.assert_allclose(spatial_correlation(s, subtract="ensemble"), 0.0, atol=1e-12)


def test_checkerboard_grid_shells():
    rows, cols = 6, 6
    x, y = np.meshgrid(np.arange(rows), np.arange(cols), indexing="ij")
    board = np.where((x + y) % 2 == 0, 1, -1).ravel()
    s = np.broadcast_to(board[None, :, None], (2, rows * cols, 3)).astype(np.int8)
    c = spatial_correlation(s, "grid", grid_shape=(rows, cols), periodic=True, subtract="none")
    # shells of round(sqrt(dx^2 + dy^2)) with minimum-image displacements on the 6 x 6 torus
    num, den = np.zeros(4), np.zeros(4)
    for dx in range(rows):
        for dy in range(cols):
            mx, my = min(dx, rows - dx), min(dy, cols - dy)
            shell = int(np.rint(np.hypot(mx, my)))
            if shell <= 3:
                num[shell] += (-1.0) ** (dx + dy)
                den[shell] += 1
    np.testing.assert_allclose(c, num / den, atol=1e-12)
    assert c[0] == 1.0 and c[1] == pytest.approx((-4 + 4) / 8)


# ---------------------------------------------------------------- FFT versus direct sums


def centred(s, subtract):
    s = s.astype(float)
    if subtract == "time":
        return s - s.mean(axis=2, keepdims=True)
    if subtract == "ensemble":
        return s - s.mean(axis=0)
    return s


def direct_temporal(s, periodic, subtract):
    d = centred(s, subtract)
    t = s.shape[2]
    out = []
    for k in range(t // 2 + 1):
        if periodic:
            prods = [d[:, :, u] * d[:, :, (u + k) % t] for u in range(t)]
        else:
            prods = [d[:, :, u] * d[:, :, u + k] for u in range(t - k)]
        out.append(np.mean(prods))
    return np.array(out)


def direct_spatial(s, positions, periodic, extent, rmax, subtract):
    """Average of d_i d_j over ordered pairs at (rounded Euclidean) distance r, brute force."""
    d = centred(s, subtract)
    num, den = np.zeros(rmax + 1), np.zeros(rmax + 1)
    for i, pi in enumerate(positions):
        for j, pj in enumerate(positions):
            delta = np.abs(np.subtract(pj, pi))
            if periodic:
                delta = np.minimum(delta, np.subtract(extent, delta))
            dist = int(np.rint(np.sqrt(np.sum(delta**2))))
            if dist <= rmax:
                num[dist] += np.mean(d[:, i, :] * d[:, j, :])
                den[dist] += 1
    return num / den


@pytest.mark.parametrize("periodic", [True, False])
@pytest.mark.parametrize("subtract", ["time", "ensemble", "none"])
def test_temporal_fft_equals_direct_sums(periodic, subtract):
    s = random_spins(np.random.default_rng(3), (3, 5, 11), 0.6)
    np.testing.assert_allclose(
        temporal_correlation(s, periodic, subtract=subtract),
        direct_temporal(s, periodic, subtract),
        atol=1e-12,
    )


@pytest.mark.parametrize("periodic", [True, False])
@pytest.mark.parametrize("grid", [None, (3, 4), (4, 4), (5, 3)])
def test_spatial_fft_equals_direct_sums(periodic, grid):
    rng = np.random.default_rng(4)
    n = 12 if grid is None else grid[0] * grid[1]
    s = random_spins(rng, (3, n, 6), 0.4)
    if grid is None:
        positions, extent, rmax = [(i,) for i in range(n)], (n,), n // 2
        fast = spatial_correlation(s, "ring", periodic=periodic, subtract="ensemble")
    else:
        positions = [(i // grid[1], i % grid[1]) for i in range(n)]
        extent, rmax = grid, min(grid) // 2
        fast = spatial_correlation(s, "grid", grid, periodic=periodic, subtract="ensemble")
    direct = direct_spatial(s, positions, periodic, extent, rmax, "ensemble")
    np.testing.assert_allclose(fast, direct, atol=1e-12)


def test_spatial_correlation_rejects_bad_grid():
    s = np.ones((1, 6, 2), dtype=np.int8)
    with pytest.raises(ParameterError):
        spatial_correlation(s, "grid", grid_shape=(4, 2))
    with pytest.raises(ParameterError):
        spatial_correlation(s, "grid")
    with pytest.raises(ParameterError):
        spatial_correlation(s, "hexagonal")
    with pytest.raises(ParameterError):
        temporal_correlation(s, True, subtract="ensemble")  # needs R >= 2


# ---------------------------------------------------------------- exact Ising chains (E3)


def open_ising_chains(rng, shape, tau):
    """Independent open chains with h = 0 sampled exactly: <s_t s_t+r> = tau^r (MODEL.md E3)."""
    r, n, t = shape
    s = np.empty(shape, dtype=np.int8)
    s[:, :, 0] = random_spins(rng, (r, n))
    flips = random_spins(rng, (r, n, t - 1), (1 + tau) / 2)
    s[:, :, 1:] = s[:, :, :1] * np.cumprod(flips, axis=2)
    return s


def test_temporal_correlation_of_exact_chains():
    tau, shape = 0.7, (40, 50, 64)
    s = open_ising_chains(np.random.default_rng(7), shape, tau)
    c = temporal_correlation(s, periodic=False, subtract="none", max_lag=8)
    lags = np.arange(9)
    # chains are independent: the standard error comes from the spread of per-chain estimates
    t = shape[2]
    per_chain = np.array([np.mean(s[:, :, : t - k] * s[:, :, k:], axis=2) for k in lags])
    se = per_chain.reshape(9, -1).std(axis=1, ddof=1) / np.sqrt(shape[0] * shape[1])
    assert np.all(np.abs(c - tau**lags) < 5 * se + 1e-12)
    d1 = lagged_correlation(s, 1)
    assert abs(np.mean(np.diag(d1)) - tau) < 5 * se[1]


def test_second_moment_length_of_exact_periodic_chain():
    for length, tau in ((16, 0.5), (25, 0.8), (64, 0.95)):
        x = np.arange(length // 2 + 1)
        c = (tau**x + tau ** (length - x)) / (1 + tau**length)  # periodic chain, MODEL.md E3
        expected = np.sqrt(tau) / (1 - tau)
        assert second_moment_correlation_length(c, length) == pytest.approx(expected, rel=1e-10)
        full = c[np.minimum(np.arange(length), length - np.arange(length))]
        assert second_moment_correlation_length(full, length) == pytest.approx(expected)
    assert np.isnan(second_moment_correlation_length([1.0, -0.5, 0.2], 4))
    with pytest.raises(ParameterError):
        second_moment_correlation_length([1.0, 0.5], 7)


def test_exponential_correlation_length_fits():
    r = np.arange(12)
    xi, err = exponential_correlation_length(0.9 * np.exp(-r / 3.0))
    assert xi == pytest.approx(3.0, rel=1e-6) and err < 1e-6
    length, tau = 30, 0.75
    x = np.arange(length // 2 + 1)
    c = (tau**x + tau ** (length - x)) / (1 + tau**length)  # exactly A cosh((x - L/2) / xi)
    xi, _ = exponential_correlation_length(c, periodic_length=length)
    assert xi == pytest.approx(-1 / np.log(tau), rel=1e-6)
    with pytest.raises(FitError):
        exponential_correlation_length([1.0, -0.2, 0.1, -0.05])
    with pytest.raises(ParameterError):
        exponential_correlation_length(c, r_min=1, r_max=40)


def test_correlation_options():
    s = random_spins(np.random.default_rng(17), (4, 6, 10), 0.3)
    c = temporal_correlation(s, False, max_lag=9)
    assert c.shape == (10,)
    np.testing.assert_allclose(temporal_correlation(s, False, normalize=True, max_lag=9), c / c[0])
    with pytest.raises(ParameterError):
        temporal_correlation(s, False, max_lag=10)
    with pytest.raises(ParameterError):
        temporal_correlation(s, False, subtract="mean")
    np.testing.assert_allclose(spike_probability(s), (1 + kernel(s)) / 2)
    np.testing.assert_allclose(abs_magnetization(s), np.abs(magnetization(s)))


# ---------------------------------------------------------------- correlation matrices


def test_exactly_correlated_pairs():
    rng = np.random.default_rng(11)
    s = random_spins(rng, (4, 6, 30), 0.3)
    s[:, 1] = s[:, 0]
    s[:, 2] = -s[:, 0]
    s[:, 3] = np.roll(s[:, 0], 2, axis=1)  # neuron 3 repeats neuron 0 two ticks later
    s[:, 4] = -1  # a silent neuron
    c = equal_time_correlation(s, pearson=True)
    assert c[0, 1] == pytest.approx(1.0) and c[0, 2] == pytest.approx(-1.0)
    np.testing.assert_array_equal(c[4], 0.0)
    np.testing.assert_allclose(np.diag(c)[[0, 1, 2, 3, 5]], 1.0)
    d = lagged_correlation(s, 2, periodic=True, pearson=True)
    assert d[0, 3] == pytest.approx(1.0)
    assert lagged_correlation(s, -2, periodic=True, pearson=True)[3, 0] == pytest.approx(1.0)
    np.testing.assert_allclose(lagged_correlation(s, 0), equal_time_correlation(s), atol=1e-12)
    cov = equal_time_correlation(s)
    np.testing.assert_allclose(cov, cov.T)
    assert np.all(np.linalg.eigvalsh(cov) > -1e-12)


def test_lagged_open_uses_available_ticks():
    s = random_spins(np.random.default_rng(12), (3, 4, 9), 0.5)
    lag = 3
    a = s[:, :, :-lag].transpose(1, 0, 2).reshape(4, -1).astype(float)
    b = s[:, :, lag:].transpose(1, 0, 2).reshape(4, -1).astype(float)
    expected = a @ b.T / a.shape[1] - np.outer(a.mean(1), b.mean(1))
    np.testing.assert_allclose(lagged_correlation(s, lag), expected, atol=1e-12)
    np.testing.assert_allclose(lagged_correlation(s, -lag), expected.T, atol=1e-12)
    with pytest.raises(ParameterError):
        lagged_correlation(s, 9)


def test_signal_and_noise_decomposition():
    rng = np.random.default_rng(13)
    r, n, t = 80, 10, 60
    phase = rng.uniform(0, 2 * np.pi, n)
    p = 0.5 + 0.35 * np.sin(2 * np.pi * np.arange(t)[None, :] / 20 + phase[:, None])
    s = random_spins(rng, (r, n, t), p[None])
    total, sig, noise = equal_time_correlation(s), signal_correlation(s), noise_correlation(s)
    np.testing.assert_allclose(total, sig + noise, atol=1e-12)
    m = kernel(s)
    np.testing.assert_allclose(np.diag(noise), np.mean(1 - m**2, axis=1), atol=1e-12)
    # independent given the stimulus: no noise correlation, signal correlation as the drive
    off = ~np.eye(n, dtype=bool)
    m_true = 2 * p - 1
    v = 1 - m_true**2  # (N, T) variance of one spin
    se_noise = np.sqrt(v @ v.T / t / (r * t))
    assert np.max(np.abs(noise[off]) / se_noise[off]) < 5
    dm = m_true - m_true.mean(axis=1, keepdims=True)
    expected_sig = dm @ dm.T / t
    # sig - expected ~ mean_t (dm_i eta_j + dm_j eta_i + eta_i eta_j), var(eta_it) = v_it / R
    var_sig = ((dm**2) @ v.T + v @ (dm**2).T) / (r * t * t) + (v @ v.T) / (r**2 * t * t)
    assert np.max(np.abs(sig - expected_sig)[off] / np.sqrt(var_sig[off])) < 5
    assert np.max(np.abs(signal_correlation(s, pearson=True))) <= 1 + 1e-12


# ---------------------------------------------------------------- permutation invariance


def test_neuron_permutation_invariance():
    rng = np.random.default_rng(14)
    r, n, t = 6, 9, 20
    s = random_spins(rng, (r, n, t), rng.uniform(0.2, 0.8, (1, n, 1)))
    perm = rng.permutation(n)
    sp = s[:, perm]
    for f in (equal_time_correlation, signal_correlation, noise_correlation):
        np.testing.assert_allclose(f(sp), f(s)[np.ix_(perm, perm)], atol=1e-12)
    np.testing.assert_allclose(
        lagged_correlation(sp, 2), lagged_correlation(s, 2)[np.ix_(perm, perm)]
    )
    m, mp = kernel(s), kernel(sp)
    np.testing.assert_array_equal(spectrum(row_averages(m)), spectrum(row_averages(mp)))
    np.testing.assert_allclose(column_averages(m), column_averages(mp), atol=1e-12)
    np.testing.assert_allclose(kernel_svd(m).singular_values, kernel_svd(mp).singular_values)
    assert wasserstein1(row_averages(m), column_averages(m)) == pytest.approx(
        wasserstein1(row_averages(mp), column_averages(mp))
    )
    for periodic in (True, False):
        np.testing.assert_allclose(
            temporal_correlation(sp, periodic), temporal_correlation(s, periodic), atol=1e-12
        )
    np.testing.assert_allclose(magnetization(sp), magnetization(s))
    np.testing.assert_array_equal(population_count(sp), population_count(s))


# ---------------------------------------------------------------- W1 and SVD


def w1_by_cdf(a, b):
    """W1 = integral |F_a - F_b| dx, evaluated exactly between the pooled sorted points."""
    grid = np.sort(np.concatenate([a, b]))
    fa = np.searchsorted(np.sort(a), grid[:-1], side="right") / a.size
    fb = np.searchsorted(np.sort(b), grid[:-1], side="right") / b.size
    return np.sum(np.abs(fa - fb) * np.diff(grid))


def test_wasserstein_identities():
    rng = np.random.default_rng(15)
    a, b, c = rng.normal(size=50), rng.exponential(size=50), rng.uniform(-1, 2, size=37)
    assert wasserstein1(a, a) == 0.0
    assert wasserstein1(a, rng.permutation(a)) == 0.0
    assert wasserstein1(a, b) == pytest.approx(wasserstein1(b, a))
    assert wasserstein1(a, a + 0.3) == pytest.approx(0.3)
    assert wasserstein1(2.5 * a, 2.5 * b) == pytest.approx(2.5 * wasserstein1(a, b))
    assert wasserstein1([1.0], [4.0]) == pytest.approx(3.0)
    assert wasserstein1(a, b) == pytest.approx(np.mean(np.abs(np.sort(a) - np.sort(b))))
    assert wasserstein1(a, b) == pytest.approx(stats.wasserstein_distance(a, b))
    for x, y in ((a, c), (c, b), ([0.0, 1.0], [0.0, 0.5, 1.0])):
        assert wasserstein1(x, y) == pytest.approx(w1_by_cdf(np.asarray(x), np.asarray(y)))
    assert wasserstein1(a, c) <= wasserstein1(a, b) + wasserstein1(b, c) + 1e-12
    # a sample repeated k times is the same distribution
    assert wasserstein1(c, np.repeat(c, 3)) == pytest.approx(0.0, abs=1e-12)
    np.testing.assert_array_equal(spectrum([[3, 1], [2, 0]]), [0, 1, 2, 3])
    with pytest.raises(ParameterError):
        wasserstein1([], [1.0])


@pytest.mark.parametrize("shape", [(7, 15), (15, 7), (6, 6)])
def test_svd_pca_relation(shape):
    rng = np.random.default_rng(16)
    m = rng.uniform(-1, 1, shape)
    n, t = shape
    res = kernel_svd(m)
    k = min(n, t)
    assert res.singular_values.shape == (k,)
    rows = np.sort(np.linalg.eigvalsh(m @ m.T / t))[::-1]
    cols = np.sort(np.linalg.eigvalsh(m.T @ m / n))[::-1]
    np.testing.assert_allclose(res.neuron_pca_eigenvalues, rows[:k], atol=1e-12)
    np.testing.assert_allclose(res.time_pca_eigenvalues, cols[:k], atol=1e-12)
    np.testing.assert_allclose(rows[k:], 0.0, atol=1e-12)
    np.testing.assert_allclose(cols[k:], 0.0, atol=1e-12)
    np.testing.assert_allclose(
        res.neuron_modes * res.singular_values @ res.time_modes, m, atol=1e-12
    )
    centred_res = kernel_svd(m, center=True)
    mc = m - m.mean(axis=1, keepdims=True)
    np.testing.assert_allclose(
        np.sum(centred_res.neuron_pca_eigenvalues), np.trace(mc @ mc.T / t), atol=1e-12
    )
