"""The reference every engine benchmark is divided by: a plain Numba checkerboard Metropolis
sampler of the 2-D Ising torus with np.random, as one would write it in an afternoon."""

import time

import numba
import numpy as np
from numba import njit, prange

# before any @njit: neurolattice_core sets Numba's CPU options (512-bit vectors on AVX-512
# hosts), fixed at the first decoration; the reference then gets the engine's code generator
import neurolattice_core  # noqa: E402, F401


@njit(parallel=True, cache=True)
def _plain_checkerboard(spins, beta, n_sweeps):
    rows, cols = spins.shape
    for _ in range(n_sweeps):
        for colour in range(2):
            for i in prange(rows):
                for j in range((i + colour) % 2, cols, 2):
                    s = spins[i, j]
                    field = (spins[(i + 1) % rows, j] + spins[i - 1, j]
                             + spins[i, (j + 1) % cols] + spins[i, j - 1])
                    delta = 2.0 * s * field
                    if delta <= 0 or np.random.random() < np.exp(-beta * delta):  # noqa: NPY002 (the reference uses np.random)
                        spins[i, j] = -s
    return spins


def reference_flips_per_ns(neurons, ticks, threads, min_seconds=0.5):
    """flips/ns of the plain checkerboard sampler at the critical temperature."""
    previous = numba.get_num_threads()
    numba.set_num_threads(threads)
    try:
        spins = np.where(np.random.default_rng(0).random((neurons, ticks)) < 0.5, -1, 1).astype(
            np.int8)
        beta = np.log(1 + np.sqrt(2)) / 2
        _plain_checkerboard(spins, beta, 1)
        sweeps, start = 0, time.perf_counter()
        while time.perf_counter() - start < min_seconds:
            _plain_checkerboard(spins, beta, 2)
            sweeps += 2
        elapsed = time.perf_counter() - start
    finally:
        numba.set_num_threads(previous)
    return sweeps * neurons * ticks / elapsed / 1e9
