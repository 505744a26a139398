"""Series statistics and thermodynamic estimators against known answers.

AR(1) series x_t = phi x_{t-1} + e_t (started in the stationary state) have
tau_int = (1 + phi) / (2 (1 - phi)) and an exactly known variance of the mean.
"""

import warnings

import numpy as np
import pytest
from scipy.signal import lfilter

from neurolattice_core.errors import ParameterError
from neurolattice_core.observables import (
    AutocorrelationWarning,
    autocorrelation_function,
    binder_cumulant,
    blocking_analysis,
    blocking_mean_error,
    integrated_autocorrelation_time,
    jackknife,
    specific_heat,
    susceptibility,
    tau_int_error,
    thermodynamic_summary,
)


def ar1(rng, phi, shape):
    """Stationary AR(1) series with unit innovations, along the last axis."""
    e = rng.normal(size=shape)
    e[..., 0] /= np.sqrt(1 - phi**2)
    return lfilter([1.0], [1.0, -phi], e, axis=-1)


def ar1_block_variance(phi, b):
    """Exact variance of the mean of b consecutive samples of the stationary AR(1)."""
    t = np.arange(1, b)
    return (1 + 2 * np.sum((1 - t / b) * phi**t)) / (b * (1 - phi**2))


def test_autocorrelation_of_ar1():
    phi = 0.6
    x = ar1(np.random.default_rng(1), phi, 2**16)
    rho = autocorrelation_function(x, max_lag=5)
    assert rho[0] == 1.0
    # the lag-k estimate has standard error about sqrt((1 + phi^2) / (1 - phi^2) / n)
    np.testing.assert_allclose(rho, phi ** np.arange(6), atol=5 * np.sqrt(2.125 / 2**16))


@pytest.mark.parametrize("phi", [0.0, 0.5, 0.8, 0.9])
def test_tau_int_of_ar1(phi):
    n = 2**16
    x = ar1(np.random.default_rng(2), phi, n)
    tau, window = integrated_autocorrelation_time(x)
    expected = (1 + phi) / (2 * (1 - phi))
    assert window >= 5 * tau
    assert abs(tau - expected) < 5 * tau_int_error(expected, window, n)


def test_tau_int_with_replicas():
    phi, r, n = 0.8, 8, 2**13
    x = ar1(np.random.default_rng(3), phi, (r, n))
    tau, window = integrated_autocorrelation_time(x)
    assert abs(tau - 4.5) < 5 * tau_int_error(4.5, window, r * n)


def test_tau_int_of_constant_and_short_series():
    assert integrated_autocorrelation_time(np.ones(100)) == (0.5, 0)
    x = ar1(np.random.default_rng(4), 0.99, 60)
    with pytest.warns(AutocorrelationWarning, match="shorter than 50 tau_int"):
        integrated_autocorrelation_time(x)
    with pytest.raises(ParameterError):
        integrated_autocorrelation_time([1.0, np.nan, 2.0])
    with pytest.raises(ParameterError):
        integrated_autocorrelation_time(np.zeros((2, 2, 2)))


def test_blocking_of_independent_samples():
    x = np.random.default_rng(5).normal(2.0, 3.0, size=10_000)
    mean, err, tau = blocking_mean_error(x)
    table = blocking_analysis(x)
    assert table["converged"] and table["level"] == 0
    assert err == pytest.approx(np.std(x, ddof=1) / np.sqrt(x.size))
    assert abs(mean - 2.0) < 5 * err
    assert abs(tau - 0.5) < 5 * tau_int_error(0.5, 3, x.size)


def test_blocking_error_against_known_variance():
    phi, n, m = 0.8, 2**14, 200
    x = ar1(np.random.default_rng(6), phi, (m, n))
    true_var_mean = ar1_block_variance(phi, n)
    tables = [blocking_analysis(row) for row in x]
    assert all(t["converged"] for t in tables)
    est = np.array([t["error"] ** 2 for t in tables])
    # expected value of the blocked estimate at the chosen level (exact for AR(1)):
    # E err^2 = (var(block mean) - var(grand mean)) / (n_blocks - 1)
    expected = np.array(
        [
            (ar1_block_variance(phi, t["block_sizes"][t["level"]]) - true_var_mean)
            / (t["n_blocks"][t["level"]] - 1)
            for t in tables
        ]
    )
    se = est.std(ddof=1) / np.sqrt(m)
    assert abs(est.mean() - expected.mean()) < 5 * se
    # against the true variance of the mean: the documented bias is at most 2 (tau - 1/2) / b
    tau = (1 + phi) / (2 * (1 - phi))
    b_min = min(t["block_sizes"][t["level"]] for t in tables)
    ratio = est.mean() / true_var_mean
    assert 1 - 2 * (tau - 0.5) / b_min - 5 * se / true_var_mean < ratio
    assert ratio < 1 + 5 * se / true_var_mean
    # the spread of the actual means agrees with the estimated errors
    means = x.mean(axis=1)
    assert abs(means.var(ddof=1) / est.mean() - 1) < 5 * np.sqrt(2 / (m - 1))


def test_blocking_methods_and_replica_combination():
    phi, r, n = 0.7, 40, 2**12
    x = ar1(np.random.default_rng(7), phi, (r, n))
    true_err = np.sqrt(ar1_block_variance(phi, n) / r)
    mean_b, err_b, tau = blocking_mean_error(x)
    _, err_t, _ = blocking_mean_error(x, method="tau")
    _, err_between, _ = blocking_mean_error(x, combine="between")
    tau_true = (1 + phi) / (2 * (1 - phi))
    tau_window = integrated_autocorrelation_time(x)[1]
    rel_tau = tau_int_error(1.0, tau_window, r * n)
    assert abs(mean_b) < 5 * true_err
    assert abs(tau - tau_true) < 5 * rel_tau * tau_true
    # relative uncertainties: blocking 1/sqrt(2 * blocks) plus its documented bias (here
    # 2 (tau - 1/2) / b < 5 % in the variance), tau method half the relative error of
    # tau_int, between-replica 1/sqrt(2 (R - 1))
    table = blocking_analysis(x)
    blocks = r * table["n_blocks"][table["level"]]
    assert abs(err_b / true_err - 1) < 5 / np.sqrt(2 * blocks) + 0.025
    assert abs(err_t / true_err - 1) < 5 * rel_tau / 2 + 0.025
    assert abs(err_between / true_err - 1) < 5 / np.sqrt(2 * (r - 1))
    with pytest.raises(ParameterError):
        blocking_mean_error(x[0], combine="between")
    with pytest.raises(ParameterError):
        blocking_mean_error(x, method="bootstrap")


def test_blocking_warns_without_plateau():
    x = ar1(np.random.default_rng(8), 0.995, 512)
    with pytest.warns(AutocorrelationWarning):
        blocking_mean_error(x)
    assert not blocking_analysis(x)["converged"]


def test_jackknife_of_mean_is_standard_error():
    x = np.random.default_rng(9).normal(size=(3, 400))
    est, err = jackknife(lambda a: a, x, block_size=1)
    assert est == pytest.approx(x.mean())
    assert err == pytest.approx(np.std(x, ddof=1) / np.sqrt(x.size))
    with pytest.raises(ParameterError):
        jackknife(lambda a: a, x[:, :1])
    with pytest.raises(ParameterError):
        jackknife(lambda a, b: a + b, x, x[:2])


def test_specific_heat_and_susceptibility_of_gaussian_samples():
    rng = np.random.default_rng(10)
    sigma, r, n, n_sites, theta = 0.1, 4, 20_000, 100, 2.0
    e = -1.0 + sigma * rng.normal(size=(r, n))
    cv, cv_err = specific_heat(e, n_sites, theta)
    expected = n_sites * sigma**2 / theta**2
    exact_err = expected * np.sqrt(2 / (r * n))  # sd of a Gaussian sample variance
    assert abs(cv - expected) < 5 * exact_err
    units = r * (n // np.ceil(10 * 0.5))
    assert abs(cv_err / exact_err - 1) < 5 / np.sqrt(2 * units) + 0.05
    m = sigma * rng.normal(size=(r, n))
    chi, chi_err = susceptibility(m, n_sites, theta)
    assert abs(chi - n_sites * sigma**2 * (1 - 2 / np.pi) / theta) < 5 * chi_err
    chis, chis_err = susceptibility(m, n_sites, theta, symmetric=True)
    assert abs(chis - n_sites * sigma**2 / theta) < 5 * chis_err
    with pytest.raises(ParameterError):
        specific_heat(e, n_sites, -1.0)
    with pytest.raises(ParameterError):
        susceptibility(m, 0, theta)
    hot, hot_err = specific_heat(e, n_sites, 1e300)    # theta**2 would overflow a float
    assert hot == 0.0 and hot_err == 0.0


def test_binder_cumulant_limits():
    rng = np.random.default_rng(11)
    u, err = binder_cumulant(rng.normal(size=(4, 50_000)))
    assert err > 0 and abs(u) < 5 * err
    # correlated Gaussian magnetisation: still 0, with a blocked (wider) error
    u, err_c = binder_cumulant(ar1(rng, 0.9, (4, 50_000)))
    assert abs(u) < 5 * err_c
    two_states = 0.7 * rng.choice([-1.0, 1.0], size=(2, 1000))
    u, err = binder_cumulant(two_states)
    assert u == pytest.approx(2 / 3) and err == pytest.approx(0.0, abs=1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        u, _ = binder_cumulant(np.zeros(100))
    assert np.isnan(u)


def test_thermodynamic_summary():
    rng = np.random.default_rng(12)
    r, n, n_sites, theta = 4, 2**14, 64, 1.5
    e = -1.2 + 0.05 * ar1(rng, 0.8, (r, n))
    m = 0.8 * rng.choice([-1.0, 1.0], size=(r, 1)) + 0.02 * ar1(rng, 0.5, (r, n))
    out = thermodynamic_summary(e, m, n_sites, theta)
    keys = {
        "energy_per_site",
        "abs_magnetization",
        "specific_heat",
        "susceptibility",
        "susceptibility_symmetric",
        "binder",
    }
    for k in keys:
        assert np.isfinite(out[k]) and out[k + "_err"] >= 0
    assert abs(out["energy_per_site"] + 1.2) < 5 * out["energy_per_site_err"]
    assert abs(out["tau_int_energy"] - 4.5) < 5 * tau_int_error(4.5, 25, r * n)
    assert abs(out["tau_int_magnetization"] - 1.5) < 5 * tau_int_error(1.5, 8, r * n)
    var_e = 0.05**2 / (1 - 0.8**2)
    assert abs(out["specific_heat"] - n_sites * var_e / theta**2) < 5 * out["specific_heat_err"]
    assert abs(out["abs_magnetization"] - 0.8) < 5 * out["abs_magnetization_err"]
    var_m = 0.02**2 / (1 - 0.5**2)
    assert abs(out["susceptibility"] - n_sites * var_m / theta) < 5 * out["susceptibility_err"]
    assert out["binder"] == pytest.approx(2 / 3, abs=0.01)
    assert out["block_size"] >= 10 * out["tau_int_energy"]
    assert (out["n_replicas"], out["n_samples"]) == (r, n)
    same = specific_heat(e, n_sites, theta, block_size=out["block_size"])
    assert same == pytest.approx((out["specific_heat"], out["specific_heat_err"]))
    with pytest.raises(ParameterError):
        thermodynamic_summary(e, m[:, :100], n_sites, theta)


def test_derived_errors_from_too_few_jackknife_blocks_are_flagged():
    """tau_int = 40: 1000 samples make 2 blocks of 10 tau_int, 4 x 300 about 4; 2**15 make 81."""
    rng = np.random.default_rng(5)
    for r, n, flagged in ((1, 1000, True), (4, 300, True), (1, 2**15, False)):
        e = -1.2 + 0.05 * ar1(rng, 0.975, (r, n))
        m = 0.5 + 0.02 * ar1(rng, 0.975, (r, n))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            thermodynamic_summary(e, m, 64, 1.5)
        texts = [str(w.message) for w in caught if "jackknife blocks" in str(w.message)]
        assert bool(texts) == flagged, (r, n, texts)
        assert all("they are unreliable; measure about" in text for text in texts)


def test_running_mean_is_the_trailing_window_mean():
    from neurolattice_core.observables import running_mean

    rng = np.random.default_rng(3)
    x = rng.normal(size=50)
    for window in (1, 4, 50, 80):
        expected = [x[max(0, s - window + 1): s + 1].mean() for s in range(len(x))]
        np.testing.assert_allclose(running_mean(x, window), expected, rtol=1e-12, atol=1e-12)
    assert running_mean([], 5).shape == (0,)
    for bad in (0, 2.5, True):
        with pytest.raises(ParameterError, match="window"):
            running_mean(x, bad)
    with pytest.raises(ParameterError, match="one series"):
        running_mean(np.ones((2, 3)), 2)


def test_grid_time_slice_lays_a_tick_out_on_the_grid_of_connectivity_grid():
    from neurolattice_core.connectivity import grid
    from neurolattice_core.observables import grid_time_slice

    rows, cols, ticks = 3, 4, 5
    rng = np.random.default_rng(0)
    configuration = rng.choice(np.array([-1, 1], np.int8), size=(rows * cols, ticks))
    sheet = grid_time_slice(configuration, rows, cols, 2)
    assert sheet.shape == (rows, cols) and sheet.dtype == np.int8
    dense = grid(rows, cols, 1.0, periodic=False).dense()
    for r in range(rows):   # the sheet holds neuron r * cols + c, coupled to its right neighbour
        for c in range(cols):
            i = r * cols + c
            assert sheet[r, c] == configuration[i, 2]
            if c + 1 < cols:
                assert dense[i, i + 1] == 1.0
    with pytest.raises(ParameterError, match="grid needs shape"):
        grid_time_slice(configuration, 4, 4, 0)
    with pytest.raises(ParameterError, match="tick must be between 0 and 4"):
        grid_time_slice(configuration, rows, cols, 5)
