"""Known models and their samples for the fitting tests (not collected by pytest)."""

from functools import lru_cache

import numpy as np
import scipy.io

from neurolattice_core.exact import exact_distribution
from neurolattice_core.fitting.exact import maxent_distribution
from tests.conftest import SHARED_DATA


def sparse_couplings(n, seed, density=0.4, scale=0.4):
    """Symmetric sparse-ish J (zero diagonal) with N(0, scale) entries on a random graph."""
    rng = np.random.default_rng(seed)
    mask = np.triu(rng.random((n, n)) < density, 1)
    J = np.where(mask, rng.normal(0.0, scale, (n, n)), 0.0)
    return J + J.T


def maxent_model(n, seed, field=(-1.4, -0.6), **kw):
    """Static pairwise model in a sparse-firing regime: h_i uniform in ``field``."""
    rng = np.random.default_rng(seed + 1000)
    return rng.uniform(*field, n), sparse_couplings(n, seed, **kw)


def exact_maxent_samples(h, J, n_samples, seed):
    """Independent exact draws, int8 (n_samples, N)."""
    states, p = maxent_distribution(h, J)
    idx = np.random.default_rng(seed).choice(p.size, size=n_samples, p=p)
    return states[idx]


def exact_lattice_samples(h, J, K, n_ticks, n_trials, seed):
    """Exact draws of open-time N x T lattices (N * T <= 20), int8 (n_trials, N, T)."""
    fields = np.repeat(np.asarray(h, float)[:, None], n_ticks, axis=1)
    states, p = exact_distribution(J, K, fields, 1.0, False)
    idx = np.random.default_rng(seed).choice(p.size, size=n_trials, p=p)
    return states[idx]


def lft_model(n, seed):
    """lft parameters in a sparse-firing regime (rates mostly 0.02-0.3 per bin)."""
    rng = np.random.default_rng(seed + 2000)
    J = sparse_couplings(n, seed, density=0.3, scale=0.3)
    K = rng.uniform(0.2, 0.5, n)
    h = rng.uniform(-0.8, -0.5, n) - 0.3 * np.clip(J.sum(axis=1), 0, None)
    return h, J, K


@lru_cache(maxsize=4)
def onken_raster(name="Movie1Exp2", bin_ms=20, duration_ms=18000):
    """Spike counts (trials, units, ticks) of an Onken et al. (2016) recording."""
    path = SHARED_DATA / "onken2016-salamander-retina" / f"{name}.mat"
    cells = scipy.io.loadmat(path)["Spikes"]
    n_units, n_trials = cells.shape
    T = duration_ms // bin_ms
    out = np.zeros((n_trials, n_units, T), dtype=np.int16)
    for i in range(n_units):
        for k in range(n_trials):
            t = np.asarray(cells[i, k], dtype=np.int64).ravel() // bin_ms
            t = t[(t >= 0) & (t < T)]
            np.add.at(out[k, i], t, 1)
    return out


@lru_cache(maxsize=1)
def example50_raster():
    """The maxent-toolbox example: 50 units x 40,000 binary samples, shape (50, 40000)."""
    import h5py

    path = SHARED_DATA / "maxent-toolbox-example50" / "example50.mat"
    with h5py.File(path, "r") as f:
        return np.array(f["spikes50"]).T
