"""Mean-field, exact and Boltzmann-learning fits, and their honest failure modes."""

import numpy as np
import pytest

from neurolattice_core.errors import FitError
from neurolattice_core.fitting.boltzmann import fit_boltzmann
from neurolattice_core.fitting.data import FitData
from neurolattice_core.fitting.exact import fit_exact
from neurolattice_core.fitting.meanfield import fit_meanfield
from neurolattice_core.fitting.pseudolikelihood import fit_pseudolikelihood
from neurolattice_core.fitting.sampling import sample_kinetic
from neurolattice_core.fitting.synthetic import exact_maxent_samples, maxent_model


def _upper(a):
    return a[np.triu_indices(a.shape[0], 1)]


def _static(x):
    return FitData.from_raster(np.ascontiguousarray(x.T))


@pytest.fixture(scope="module")
def weak_maxent():
    h, J = maxent_model(8, seed=12, scale=0.15, field=(-0.6, -0.2))
    return h, J, _static(exact_maxent_samples(h, J, 200_000, seed=3))


def test_mean_field_inversions_are_close_for_weak_couplings(weak_maxent):
    h, J, data = weak_maxent
    pl = fit_pseudolikelihood(data, "maxent")
    se = np.median(_upper(pl["J_se"]))
    errors = {}
    for variant in ("naive", "tap"):
        mf = fit_meanfield(data, "maxent", variant=variant)
        assert mf["diagnostics"]["converged"] and np.all(np.isfinite(mf["J"]))
        assert np.corrcoef(_upper(J), _upper(mf["J"]))[0, 1] > 0.95
        errors[variant] = np.sqrt(np.mean(_upper(mf["J"] - J) ** 2))
    # TAP corrects naive mean field; both are biased beyond the statistical error at most a bit
    assert errors["tap"] <= errors["naive"] * 1.05
    assert errors["tap"] < 10 * se


def test_kinetic_mean_field_recovers_weak_couplings():
    rng = np.random.default_rng(3)
    n = 10
    J = rng.normal(0.0, 0.15, (n, n))
    h = rng.uniform(-0.5, 0.0, n)
    s = sample_kinetic(h, J, n_ticks=200, n_trials=300, seed=1)
    for variant in ("naive", "tap"):
        mf = fit_meanfield(FitData.from_raster(s), "kinetic", variant=variant)
        assert np.corrcoef(J.ravel(), mf["J"].ravel())[0, 1] > 0.95


def test_lft_mean_field_gives_temporal_couplings_of_the_right_sign():
    rng = np.random.default_rng(4)
    # independent chains with known K: lag-1 structure only
    n, T, R, K = 6, 60, 400, np.linspace(0.1, 0.6, 6)
    s = np.empty((R, n, T), dtype=np.int8)
    p_stay = 1 / (1 + np.exp(-2 * K))
    s[:, :, 0] = np.where(rng.random((R, n)) < 0.5, 1, -1)
    for t in range(1, T):
        stay = rng.random((R, n)) < p_stay
        s[:, :, t] = np.where(stay, s[:, :, t - 1], -s[:, :, t - 1])
    mf = fit_meanfield(FitData.from_raster(s), "lft")
    assert np.all(mf["K"] > 0)
    assert np.corrcoef(K, mf["K"])[0, 1] > 0.9


def test_exact_fit_recovers_the_model(weak_maxent):
    h, J, data = weak_maxent
    ex = fit_exact(data)
    pl = fit_pseudolikelihood(data, "maxent")
    assert ex["diagnostics"]["converged"]
    assert np.all(np.abs(_upper(ex["J"] - J)) < 5 * _upper(pl["J_se"]))
    assert np.all(np.abs(ex["h"] - h) < 0.05)


def test_exact_fit_refuses_too_many_units():
    x = np.where(np.random.default_rng(0).random((21, 500)) < 0.3, 1, 0)
    with pytest.raises(FitError, match="N <= 20"):
        fit_exact(FitData.from_raster(x))


def test_boltzmann_learning_matches_moments_and_the_exact_fit():
    h, J = maxent_model(8, seed=13)
    data = _static(exact_maxent_samples(h, J, 60_000, seed=6))
    ex = fit_exact(data)
    start = {"h": np.arctanh(data.spins.mean(axis=(0, 2))), "J": np.zeros((8, 8))}
    bm = fit_boltzmann(data, "maxent", start, seed=2, max_iter=150)
    assert bm["diagnostics"]["converged"], bm["diagnostics"]["warnings"]
    assert bm["diagnostics"]["z_rms"] <= 1.0
    se = fit_pseudolikelihood(data, "maxent")["J_se"]
    assert np.all(np.abs(_upper(bm["J"] - ex["J"])) < 4 * _upper(se))


def test_boltzmann_learning_reports_non_convergence():
    h, J = maxent_model(6, seed=14)
    data = _static(exact_maxent_samples(h, J, 20_000, seed=7))
    start = {"h": np.zeros(6), "J": np.zeros((6, 6))}
    bm = fit_boltzmann(data, "maxent", start, max_iter=1, seed=0)
    assert not bm["diagnostics"]["converged"]
    assert "did not converge" in bm["diagnostics"]["warnings"][0]
    assert np.all(np.isfinite(bm["J"]))


def test_boltzmann_learning_is_not_for_kinetic():
    data = FitData.from_raster(np.where(np.random.default_rng(0).random((2, 3, 50)) < .3, 1, 0))
    with pytest.raises(FitError, match="kinetic"):
        fit_boltzmann(data, "kinetic", {"h": np.zeros(3), "J": np.zeros((3, 3))})


def test_mean_field_shrinks_a_singular_covariance_with_a_warning():
    rng = np.random.default_rng(5)
    x = np.where(rng.random((5, 4000)) < 0.2, 1, 0)
    x[4] = x[3]                                   # an exact duplicate: C is singular
    mf = fit_meanfield(FitData.from_raster(x), "maxent", variant="naive")
    assert np.all(np.isfinite(mf["J"]))
    assert any("ill-conditioned" in w for w in mf["diagnostics"]["warnings"])
