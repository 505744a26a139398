"""Calibration of the reported standard errors: spread over independent datasets vs se.

For a parameter estimated on each of D independent synthetic datasets, the sample variance of
the estimates over datasets has relative standard error sqrt(2 / (D - 1)) (Gaussian estimates).
The pooled ratio spread^2 / mean(se^2) over units is then 1 within 3 of those errors, even if
the units were perfectly correlated (the conservative case used for the bound).

The errors are asymptotic: with 1,000 samples a pair that is co-active only ~5 times has a
spread 3x its se (non-Gaussian estimate), so the datasets here have 2,000 samples.
"""

import numpy as np
import pytest

from neurolattice_core.fitting.data import FitData
from neurolattice_core.fitting.pseudolikelihood import fit_pseudolikelihood
from neurolattice_core.fitting.sampling import sample_kinetic, sample_lattice
from neurolattice_core.fitting.sandwich import sample_groups
from neurolattice_core.fitting.synthetic import (
    exact_maxent_samples,
    kinetic_model,
    lft_model,
    maxent_model,
)

N_DATASETS = 100
BOUND = 3.0 * np.sqrt(2.0 / (N_DATASETS - 1))


def _ratios(fits, key, se_key):
    est = np.array([f[key] for f in fits])
    se = np.array([f[se_key] for f in fits])
    if est.ndim == 3:
        iu = np.triu_indices(est.shape[1], 1)
        est, se = est[:, iu[0], iu[1]], se[:, iu[0], iu[1]]
    return float(np.mean(est.var(axis=0, ddof=1) / np.mean(se**2, axis=0)))


@pytest.fixture(scope="module", params=[(40, 50), (1, 2000)], ids=["trials", "one-trial"])
def lft_fits(request):
    """lft pl fits of N_DATASETS independent engine-sampled datasets (R trials x T ticks)."""
    trials, ticks = request.param
    h, J, K = lft_model(6, seed=5)
    s, _, _ = sample_lattice(h, J, K, n_ticks=ticks, n_replicas=N_DATASETS * trials,
                             burn_in=200, seed=3)
    return [fit_pseudolikelihood(FitData.from_raster(s[k * trials:(k + 1) * trials]), "lft")
            for k in range(N_DATASETS)]


def test_sandwich_K_se_is_calibrated_and_the_hessian_one_is_not(lft_fits):
    sandwich = _ratios(lft_fits, "K", "K_se")
    hessian = _ratios(lft_fits, "K", "K_se_hessian")
    assert abs(sandwich - 1.0) < BOUND, sandwich
    # the inverse Hessian misses the correlation of neighbouring ticks' conditionals
    assert hessian > 1.0 + BOUND, hessian


def test_sandwich_J_se_of_lft_is_calibrated(lft_fits):
    ratio = _ratios(lft_fits, "J", "J_se")
    assert abs(ratio - 1.0) < BOUND, ratio


def test_sandwich_J_se_of_maxent_is_calibrated():
    h, J = maxent_model(6, seed=8)
    x = exact_maxent_samples(h, J, N_DATASETS * 2000, seed=4).reshape(N_DATASETS, 2000, 6)
    fits = [fit_pseudolikelihood(FitData.from_raster(np.ascontiguousarray(d.T)), "maxent")
            for d in x]
    ratio = _ratios(fits, "J", "J_se")
    assert abs(ratio - 1.0) < BOUND, ratio


def test_sandwich_J_se_of_kinetic_is_calibrated():
    h, J = kinetic_model(6, seed=2, density=0.5)
    s = sample_kinetic(h, J, n_ticks=1000, n_trials=N_DATASETS * 20, seed=1)
    fits = [fit_pseudolikelihood(FitData.from_raster(s[k * 20:(k + 1) * 20]), "kinetic")
            for k in range(N_DATASETS)]
    est = np.array([f["J"] for f in fits]).reshape(N_DATASETS, -1)
    se = np.array([f["J_se"] for f in fits]).reshape(N_DATASETS, -1)
    ratio = float(np.mean(est.var(axis=0, ddof=1) / np.mean(se**2, axis=0)))
    assert abs(ratio - 1.0) < BOUND, ratio


def test_groups_are_trials_or_blocks():
    g = sample_groups(60, 10)
    assert np.array_equal(g[:, 0], np.arange(60)) and np.all(g == g[:, :1])
    g = sample_groups(2, 1000)                 # 25 contiguous blocks per trial
    assert np.unique(g).size == 50 and np.all(np.diff(g[0]) >= 0)
    assert set(np.unique(g[1])).isdisjoint(np.unique(g[0]))
    assert np.unique(sample_groups(1, 40)).size == 8     # blocks of at least 5 ticks
