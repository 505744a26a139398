"""A pseudo-likelihood fit, sampled, reproduces data drawn from a model of its own family.

Two links are checked separately, each against exact enumeration:

1. fit -> model: the pl fit of 40,000 exact draws of a sparse pairwise model, enumerated
   exactly, reproduces the rates and covariances of the data it was fitted to within
   ``FIT_BOUND`` data standard errors (a consistent estimator's fitted moments differ from the
   sample moments by O(1/sqrt M), i.e. O(1) standard errors; maximum likelihood gives 0);
2. model -> engine: the engine's heat bath, run on the fitted (h, J) (maxent) or (h, J, K)
   (lft), samples the fitted law: its moments agree with the exact ones within the two-sided
   1 % Bonferroni bound of their standard errors (maxent: those of the exact law for as many
   independent draws; lft: the engine samples'). A convention mismatch (J per
   pair counted twice, K per temporal bond counted twice, a factor 2 of the spin / lattice-gas
   map) moves them by dozens of standard errors, as the last assertion of each test shows.
"""

import numpy as np
import pytest
from scipy import stats

from neurolattice_core.exact import exact_distribution
from neurolattice_core.fitting.data import FitData
from neurolattice_core.fitting.exact import maxent_distribution
from neurolattice_core.fitting.pseudolikelihood import fit_pseudolikelihood
from neurolattice_core.fitting.sampling import sample_lattice
from neurolattice_core.fitting.synthetic import (
    exact_lattice_samples,
    exact_maxent_samples,
    maxent_model,
)

FIT_BOUND = 3.0


def _bonferroni(n_tests):
    return float(stats.norm.isf(0.005 / n_tests))


def _exact_moments(h, J):
    states, p = maxent_distribution(h, J)
    x = states.astype(np.float64)
    m = p @ x
    iu = np.triu_indices(h.size, 1)
    return m, (x.T @ (x * p[:, None]) - np.outer(m, m))[iu]


def _exact_standard_errors(h, J, n_samples):
    """Standard errors of the means and covariances (i < j) of ``n_samples`` independent draws
    of the exact law (sample-based errors fail for rare co-activations: one draw more or less
    moves them by a factor)."""
    states, p = maxent_distribution(h, J)
    x = states.astype(np.float64)
    d = x - p @ x
    iu = np.triu_indices(h.size, 1)
    prod = d[:, iu[0]] * d[:, iu[1]]
    var_c = p @ prod**2 - (p @ prod) ** 2
    return np.sqrt((p @ d**2) / n_samples), np.sqrt(var_c / n_samples)


def _sample_moments(x):
    """Means and covariances (i < j) of samples (M, N), with their standard errors."""
    x = x.astype(np.float64)
    iu = np.triu_indices(x.shape[1], 1)
    d = x - x.mean(axis=0)
    prod = d[:, iu[0]] * d[:, iu[1]]
    root = np.sqrt(x.shape[0])
    return x.mean(axis=0), prod.mean(axis=0), x.std(axis=0) / root, prod.std(axis=0) / root


@pytest.fixture(scope="module", params=[0, 1, 2])
def pl_fit(request):
    h, J = maxent_model(12, seed=request.param, scale=0.6)
    x = exact_maxent_samples(h, J, 40_000, seed=request.param)
    fit = fit_pseudolikelihood(FitData.from_raster(np.ascontiguousarray(x.T)), "maxent")
    return x, fit


def test_pl_fit_reproduces_the_moments_of_its_data(pl_fit):
    x, fit = pl_fit
    m_data, c_data, se_m, se_c = _sample_moments(x)
    m_fit, c_fit = _exact_moments(fit["h"], fit["J"])
    assert np.max(np.abs(m_fit - m_data) / se_m) < FIT_BOUND
    assert np.max(np.abs(c_fit - c_data) / se_c) < FIT_BOUND


def test_engine_samples_the_fitted_maxent_law(pl_fit):
    _, fit = pl_fit
    s, _, _ = sample_lattice(fit["h"], fit["J"], None, n_ticks=100, n_replicas=400,
                             burn_in=100, seed=9)
    x = s.transpose(0, 2, 1).reshape(-1, s.shape[1])   # K = 0: every slice is a sample
    m_eng, c_eng, _, _ = _sample_moments(x)
    m_ex, c_ex = _exact_moments(fit["h"], fit["J"])
    se_m, se_c = _exact_standard_errors(fit["h"], fit["J"], x.shape[0])
    z = np.concatenate([(m_eng - m_ex) / se_m, (c_eng - c_ex) / se_c])
    assert np.max(np.abs(z)) < _bonferroni(z.size)
    m_twice, _ = _exact_moments(fit["h"], 2.0 * fit["J"])    # J counted from both sides
    assert np.max(np.abs(m_eng - m_twice) / se_m) > 5 * _bonferroni(z.size)


def test_engine_samples_the_fitted_lft_law():
    h = np.array([-1.0, -0.6, -1.3])
    J = np.array([[0.0, 0.5, -0.3], [0.5, 0.0, 0.2], [-0.3, 0.2, 0.0]])
    K = np.array([0.5, 0.3, 0.6])
    T = 6
    fit = fit_pseudolikelihood(FitData.from_raster(
        exact_lattice_samples(h, J, K, n_ticks=T, n_trials=40_000, seed=2)), "lft")
    fields = np.repeat(fit["h"][:, None], T, axis=1)

    def exact_stats(K_used):
        states, p = exact_distribution(fit["J"], K_used, fields, 1.0, False)
        x = states.astype(np.float64)
        return p @ x.reshape(p.size, -1), p @ (x[:, :, :-1] * x[:, :, 1:]).reshape(p.size, -1)

    s, _, _ = sample_lattice(fit["h"], fit["J"], fit["K"], n_ticks=T, n_replicas=20_000,
                             burn_in=100, seed=4)
    x = s.astype(np.float64)
    site, bond = x.reshape(x.shape[0], -1), (x[:, :, :-1] * x[:, :, 1:]).reshape(x.shape[0], -1)
    root = np.sqrt(x.shape[0])
    m_ex, b_ex = exact_stats(fit["K"])
    z = np.concatenate([(site.mean(0) - m_ex) / (site.std(0) / root),
                        (bond.mean(0) - b_ex) / (bond.std(0) / root)])
    assert np.max(np.abs(z)) < _bonferroni(z.size)
    _, b_twice = exact_stats(2.0 * fit["K"])                 # K counted per direction
    assert np.max(np.abs(bond.mean(0) - b_twice) / (bond.std(0) / root)) > 5 * _bonferroni(
        z.size)
