"""Real recordings for the fitting tests (not collected by pytest).

Synthetic models and their samples live in :mod:`neurolattice_core.fitting.synthetic`.
"""

from functools import lru_cache

import numpy as np
import scipy.io

from tests.conftest import SHARED_DATA


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
