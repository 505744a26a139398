"""Pseudo-likelihood round trips: sample a known model, fit it, recover the parameters.

Error bars: for maxent and kinetic the Hessian-based standard errors of the fit (exact
asymptotically for kinetic; for maxent the symmetrised J uses the conservative rule); for lft
the delete-a-group jackknife over trials (neighbouring ticks are correlated).
"""

import numba
import numpy as np
import pytest

from neurolattice_core.fitting.data import FitData
from neurolattice_core.fitting.exact import fit_exact
from neurolattice_core.fitting.pseudolikelihood import fit_pseudolikelihood, pseudo_loglik
from neurolattice_core.fitting.sampling import sample_kinetic, sample_lattice
from neurolattice_core.fitting.synthetic import (
    exact_lattice_samples,
    exact_maxent_samples,
    lft_model,
    maxent_model,
)
from neurolattice_core.fitting.uncertainty import jackknife


def _upper(a):
    return a[np.triu_indices(a.shape[0], 1)]


def _static_data(x):
    """(M, N) samples -> FitData with one trial (time order irrelevant for maxent)."""
    return FitData.from_raster(np.ascontiguousarray(x.T))


def test_maxent_round_trip_with_exact_samples():
    h, J = maxent_model(10, seed=1)
    x = exact_maxent_samples(h, J, 100_000, seed=0)
    rates = (x > 0).mean(axis=0)
    assert 0.01 < rates.min() and rates.max() < 0.4          # sparse firing regime
    fit = fit_pseudolikelihood(_static_data(x), "maxent")
    assert fit["diagnostics"]["converged"]
    assert np.corrcoef(_upper(J), _upper(fit["J"]))[0, 1] > 0.99
    z = _upper(fit["J"] - J) / _upper(fit["J_se"])
    assert np.max(np.abs(z)) < 5.0
    assert np.allclose(fit["J"], fit["J"].T) and np.all(np.diag(fit["J"]) == 0)


def test_pl_and_exact_agree_as_samples_grow():
    h, J = maxent_model(8, seed=2)
    gaps, ses = [], []
    for m in (10_000, 160_000):
        data = _static_data(exact_maxent_samples(h, J, m, seed=5))
        pl, ex = fit_pseudolikelihood(data, "maxent"), fit_exact(data)
        assert ex["diagnostics"]["converged"]
        gaps.append(np.sqrt(np.mean(_upper(pl["J"] - ex["J"]) ** 2)))
        ses.append(np.median(_upper(pl["J_se"])))
    # both are consistent: their gap shrinks faster than the statistical error (~1/sqrt(M))
    assert gaps[1] < gaps[0] / 2.5
    assert gaps[1] < 0.1 * ses[1]


def test_lft_round_trip_on_an_exactly_sampled_lattice():
    h = np.array([-1.0, -0.6, -1.3])
    J = np.array([[0.0, 0.5, -0.3], [0.5, 0.0, 0.2], [-0.3, 0.2, 0.0]])
    K = np.array([0.5, 0.3, 0.6])
    s = exact_lattice_samples(h, J, K, n_ticks=6, n_trials=60_000, seed=1)
    data = FitData.from_raster(s)
    fit = fit_pseudolikelihood(data, "lft")
    err = jackknife(data, lambda d: fit_pseudolikelihood(d, "lft"))
    assert np.all(np.abs(fit["K"] - K) < 5 * err["K"])
    assert np.all(np.abs(fit["K"] / K - 1) < 0.05)
    assert np.all(np.abs(_upper(fit["J"] - J)) < 5 * _upper(err["J"]))
    assert np.all(np.abs(fit["h"] - h) < 5 * err["h"])


def test_lft_round_trip_with_the_engine():
    h, J, K = lft_model(12, seed=4)
    s, _, _ = sample_lattice(h, J, K, n_ticks=50, n_replicas=1200, burn_in=150, seed=1)
    rates = (s > 0).mean(axis=(0, 2))
    assert 0.01 < rates.min() and rates.max() < 0.75
    data = FitData.from_raster(s)
    fit = fit_pseudolikelihood(data, "lft")
    assert fit["diagnostics"]["converged"]
    err = jackknife(data, lambda d: fit_pseudolikelihood(d, "lft"))
    assert np.corrcoef(_upper(J), _upper(fit["J"]))[0, 1] > 0.95
    assert np.all(np.abs(fit["K"] - K) < 5 * err["K"])
    assert np.median(np.abs(fit["K"] / K - 1)) < 0.05
    assert np.all(np.abs(_upper(fit["J"] - J)) < 5 * _upper(err["J"]))


def test_maxent_limit_static_data_fitted_as_lft_has_no_temporal_coupling():
    h, J = maxent_model(8, seed=4)
    x = exact_maxent_samples(h, J, 100_000, seed=2)       # independent time slices
    trials = np.ascontiguousarray(x.reshape(2000, 50, 8).transpose(0, 2, 1))
    data = FitData.from_raster(trials)
    fit = fit_pseudolikelihood(data, "lft")
    err = jackknife(data, lambda d: fit_pseudolikelihood(d, "lft"), keys=("K",))
    assert np.all(np.abs(fit["K"]) < 5 * err["K"])
    assert np.max(np.abs(fit["K"])) < 0.1


def test_kinetic_round_trip():
    rng = np.random.default_rng(7)
    n = 12
    J = rng.normal(0.0, 0.5, (n, n)) * (rng.random((n, n)) < 0.4)
    h = rng.uniform(-1.2, -0.6, n)
    s = sample_kinetic(h, J, n_ticks=100, n_trials=400, seed=3)
    fit = fit_pseudolikelihood(FitData.from_raster(s), "kinetic")
    assert fit["diagnostics"]["converged"]
    assert np.corrcoef(J.ravel(), fit["J"].ravel())[0, 1] > 0.99
    assert np.max(np.abs(fit["J"] - J) / fit["J_se"]) < 5.0   # Hessian errors exact here


def test_fit_is_identical_for_one_and_two_threads():
    h, J = maxent_model(10, seed=3)
    data = _static_data(exact_maxent_samples(h, J, 20_000, seed=1))
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = fit_pseudolikelihood(data, "lft")
        numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
        two = fit_pseudolikelihood(data, "lft")
    finally:
        numba.set_num_threads(before)
    for key in ("h", "J", "K"):
        assert np.array_equal(one[key], two[key])


def test_merging_patterns_does_not_change_the_fit():
    h, J = maxent_model(8, seed=6)
    data = _static_data(exact_maxent_samples(h, J, 20_000, seed=3))
    merged = fit_pseudolikelihood(data, "maxent", merge=True)
    plain = fit_pseudolikelihood(data, "maxent", merge=False)
    assert merged["diagnostics"]["n_rows"] < plain["diagnostics"]["n_rows"]
    assert np.allclose(merged["J"], plain["J"], atol=1e-8)
    assert np.allclose(merged["h"], plain["h"], atol=1e-8)


def test_drive_is_recovered():
    rng = np.random.default_rng(11)
    n, T = 8, 30
    h, J = rng.uniform(-1.2, -0.8, n), 0.5 * maxent_model(n, seed=8)[1]
    K = np.full(n, 0.3)
    u = np.where((np.arange(T) >= 10) & (np.arange(T) < 20), 0.8, -0.4)
    u -= u.mean()
    s, _, _ = sample_lattice(h, J, K, n_ticks=T, n_replicas=1000, u=u, burn_in=100, seed=2)
    fit = fit_pseudolikelihood(FitData.from_raster(s), "lft", drive=True)
    assert fit["diagnostics"]["converged"]
    assert abs(fit["u"].mean()) < 1e-9
    assert np.corrcoef(u, fit["u"])[0, 1] > 0.95
    assert np.mean(np.abs(fit["u"] - u)) < 0.15
    assert np.mean(np.abs(fit["K"] - K)) < 0.1


def test_pseudo_loglik_prefers_the_true_model_on_fresh_data():
    h, J = maxent_model(8, seed=9)
    data = _static_data(exact_maxent_samples(h, J, 50_000, seed=4))
    ind = np.arctanh(data.spins.mean(axis=(0, 2)))
    true_pll, _ = pseudo_loglik(data, "maxent", h, J)
    ind_pll, _ = pseudo_loglik(data, "maxent", ind, np.zeros_like(J))
    assert true_pll > ind_pll


@pytest.mark.parametrize("model", ["maxent", "lft", "kinetic"])
def test_fits_are_finite_even_with_a_never_coactive_pair(model):
    rng = np.random.default_rng(0)
    s = np.where(rng.random((20, 4, 200)) < 0.1, 1, -1).astype(np.int8)
    s[:, 1][s[:, 0] > 0] = -1                       # units 0 and 1 never fire together
    fit = fit_pseudolikelihood(FitData.from_raster(s), model)
    for key in ("h", "J", "K"):
        if fit[key] is not None:
            assert np.all(np.isfinite(fit[key]))
    assert fit["J"][0, 1] < 0
