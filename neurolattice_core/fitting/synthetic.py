"""Synthetic models with known parameters, and samples of them, for tests and benchmarks.

Every builder is seeded (numpy ``default_rng``), so one seed gives one model. Regimes mimic
recordings: sparse firing (spike probabilities mostly 0.02-0.3 per bin), sparse signed
couplings, positive temporal coupling (bursts).

- :func:`maxent_model`, :func:`lft_model`, :func:`kinetic_model`: parameters (theta = 1).
- :func:`exact_maxent_samples`, :func:`exact_lattice_samples`: independent exact draws by
  enumeration (small N, N x T <= 20 for the lattice).
- :func:`kinetic_data`: a forward-simulated kinetic Ising recording (any size) as
  :class:`.data.FitData`, e.g. the 200-unit benchmark.
"""

import numpy as np

from .data import FitData
from .sampling import sample_kinetic

__all__ = ["sparse_couplings", "maxent_model", "lft_model", "kinetic_model",
           "exact_maxent_samples", "exact_lattice_samples", "kinetic_data"]


def sparse_couplings(n, seed, density=0.4, scale=0.4):
    """Symmetric J with zero diagonal: N(0, scale^2) entries on a random graph.

    Parameters
    ----------
    n : int
        Units.
    seed : int
    density : float
        Probability that a pair is coupled.
    scale : float
        Standard deviation of a coupling.

    Returns
    -------
    numpy.ndarray, float64, shape (n, n)
    """
    rng = np.random.default_rng(seed)
    mask = np.triu(rng.random((n, n)) < density, 1)
    J = np.where(mask, rng.normal(0.0, scale, (n, n)), 0.0)
    return J + J.T


def maxent_model(n, seed, field=(-1.4, -0.6), density=0.4, scale=0.4):
    """Static pairwise model in a sparse-firing regime.

    Returns
    -------
    h : numpy.ndarray, float64, shape (n,)
        Fields uniform in ``field``.
    J : numpy.ndarray, float64, shape (n, n)
        :func:`sparse_couplings`.
    """
    rng = np.random.default_rng(seed + 1000)
    return rng.uniform(*field, n), sparse_couplings(n, seed, density=density, scale=scale)


def lft_model(n, seed):
    """Lft parameters in a sparse-firing regime (rates mostly 0.02-0.3 per bin).

    Returns
    -------
    h, K : numpy.ndarray, float64, shape (n,)
    J : numpy.ndarray, float64, shape (n, n)
        Returned as (h, J, K).
    """
    rng = np.random.default_rng(seed + 2000)
    J = sparse_couplings(n, seed, density=0.3, scale=0.3)
    K = rng.uniform(0.2, 0.5, n)
    h = rng.uniform(-0.8, -0.5, n) - 0.3 * np.clip(J.sum(axis=1), 0, None)
    return h, J, K


def kinetic_model(n, seed, density=0.1, scale=0.3):
    """Sparse kinetic Ising model with bursty self-excitation (rates about 0.02-0.2 per bin).

    Returns
    -------
    h : numpy.ndarray, float64, shape (n,)
    J : numpy.ndarray, float64, shape (n, n)
        J[i, j]: influence of s_j,t on s_i,t+1; off-diagonal N(0, scale^2) on a random graph
        of the given density, diagonal uniform in [0.3, 0.8].
    """
    rng = np.random.default_rng(seed)
    J = rng.normal(0.0, scale, (n, n)) * (rng.random((n, n)) < density)
    J[np.diag_indices(n)] = rng.uniform(0.3, 0.8, n)
    h = rng.uniform(-2.0, -1.3, n) + 0.5 * J.sum(axis=1)
    return h, J


def kinetic_data(n=200, n_trials=100, n_ticks=1000, seed=0):
    """A recording simulated from :func:`kinetic_model` (the 200-unit benchmark by default).

    Returns
    -------
    FitData
        int8 spins of shape (n_trials, n, n_ticks).
    """
    h, J = kinetic_model(n, seed)
    return FitData.from_raster(sample_kinetic(h, J, n_ticks=n_ticks, n_trials=n_trials,
                                              seed=seed))


def exact_maxent_samples(h, J, n_samples, seed):
    """Independent exact draws of the static pairwise model (enumeration, N <= 20).

    Returns
    -------
    numpy.ndarray, int8, shape (n_samples, N)
    """
    from .exact import maxent_distribution

    states, p = maxent_distribution(h, J)
    idx = np.random.default_rng(seed).choice(p.size, size=n_samples, p=p)
    return states[idx]


def exact_lattice_samples(h, J, K, n_ticks, n_trials, seed):
    """Independent exact draws of open-time N x T lattices (N * T <= 20, theta = 1).

    Returns
    -------
    numpy.ndarray, int8, shape (n_trials, N, n_ticks)
    """
    from ..exact import exact_distribution

    fields = np.repeat(np.asarray(h, float)[:, None], n_ticks, axis=1)
    states, p = exact_distribution(J, K, fields, 1.0, False)
    idx = np.random.default_rng(seed).choice(p.size, size=n_trials, p=p)
    return states[idx]
