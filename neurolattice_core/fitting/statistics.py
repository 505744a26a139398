"""Summary statistics of spin data and of fitted models, compared by :mod:`.validation`.

One dict of statistics per source (held-out data, training data, samples of a fitted model,
an exactly enumerated model, the independent model), all in spin units (s = +-1):

- ``m`` (N,): <s_i>; ``rates`` (N,): spike probability per bin p_i = (1 + m_i) / 2;
- ``corr`` (N(N-1)/2,): connected equal-time covariances c_ij, i < j (row-major upper triangle);
- ``lag1`` (N*N,): lag-1 covariances D_ij = <s_i,t s_j,t+1> - <s_i><s_j> within trials (row i
  leads), flattened;
- ``triplets`` (n_triplets,): connected third moments <ds_i ds_j ds_k>, ds = s - <s>, for a
  fixed list of triplets;
- ``pk`` (N+1,): distribution of the population count k_t = number of active units;
- ``patterns`` (n_patterns,): frequency of a fixed list of patterns (the most common held-out
  ones);
- ``mu_spectrum`` (N,) and ``nu_spectrum`` (T,): sorted row and column averages of the kernel
  m_it = mean over trials (MODEL.md section 4).

Correlation matrices, kernel, spectra and W1 come from :mod:`neurolattice_core.observables`;
triplets, P(k) and pattern frequencies are computed here (the observables package has no such
functions).
"""

import numpy as np

from ..observables import (
    column_averages,
    equal_time_correlation,
    kernel,
    lagged_correlation,
    row_averages,
    spectrum,
)

__all__ = ["choose_triplets", "top_patterns", "sample_statistics", "distribution_statistics",
           "independent_statistics", "pattern_keys"]

MAX_TRIPLETS = 2000
N_PATTERNS = 20


def choose_triplets(n, seed=0, max_triplets=MAX_TRIPLETS):
    """All triplets i < j < k when there are at most ``max_triplets``, else a seeded sample.

    Returns
    -------
    numpy.ndarray, int64, shape (n_triplets, 3)
    """
    if n < 3:
        return np.zeros((0, 3), dtype=np.int64)
    total = n * (n - 1) * (n - 2) // 6
    if total <= max_triplets:
        i, j, k = np.meshgrid(np.arange(n), np.arange(n), np.arange(n), indexing="ij")
        sel = (i < j) & (j < k)
        return np.stack([i[sel], j[sel], k[sel]], axis=1).astype(np.int64)
    rng = np.random.default_rng(seed)
    trip = np.sort(np.stack([rng.choice(n, 3, replace=False) for _ in range(max_triplets)]),
                   axis=1)
    return np.unique(trip, axis=0).astype(np.int64)


def _samples(spins):
    """(R*T, N) samples of a (R, N, T) array, as int8."""
    return spins.transpose(0, 2, 1).reshape(-1, spins.shape[1])


def pattern_keys(samples):
    """One hashable byte key per sample row (packed spike bits), numpy void array (M,)."""
    packed = np.packbits(samples > 0, axis=1)
    return np.ascontiguousarray(packed).view(np.dtype((np.void, packed.shape[1]))).ravel()


def top_patterns(spins, n_patterns=N_PATTERNS):
    """The most common patterns of ``spins`` (R, N, T), int8 (n, N) spins, most common first."""
    x = _samples(spins)
    keys = pattern_keys(x)
    _, first, counts = np.unique(keys, return_index=True, return_counts=True)
    order = np.argsort(-counts, kind="stable")[:n_patterns]
    return x[first[order]]


def _triplet_moments(x, m, triplets, max_rows=200_000):
    d = x[:max_rows].astype(np.float32) - m[None, :].astype(np.float32)
    if triplets.shape[0] == 0:
        return np.zeros(0)
    prod = d[:, triplets[:, 0]] * d[:, triplets[:, 1]] * d[:, triplets[:, 2]]
    return prod.mean(axis=0, dtype=np.float64)


def sample_statistics(spins, triplets, patterns):
    """Statistics of a (R, N, T) spin array (data or model samples); see the module docstring.

    Parameters
    ----------
    spins : numpy.ndarray, int8, shape (R, N, T)
    triplets : numpy.ndarray, int64, shape (n_triplets, 3)
    patterns : numpy.ndarray, int8, shape (n_patterns, N)

    Returns
    -------
    dict of numpy.ndarray
    """
    r, n, t = spins.shape
    x = _samples(spins)
    m = x.mean(axis=0, dtype=np.float64)
    iu = np.triu_indices(n, 1)
    C = equal_time_correlation(spins)
    D = lagged_correlation(spins, 1) if t >= 2 else np.zeros((n, n))
    k = (x > 0).sum(axis=1)
    pk = np.bincount(k, minlength=n + 1)[: n + 1] / x.shape[0]
    keys = pattern_keys(x)
    pkeys = pattern_keys(patterns)
    freq = np.array([np.count_nonzero(keys == key) for key in pkeys]) / x.shape[0]
    ker = kernel(spins)
    return {"m": m, "rates": 0.5 * (1 + m), "corr": C[iu], "lag1": D.ravel(),
            "triplets": _triplet_moments(x, m, triplets), "pk": pk, "patterns": freq,
            "mu_spectrum": spectrum(row_averages(ker)),
            "nu_spectrum": spectrum(column_averages(ker)), "n_samples": x.shape[0]}


def distribution_statistics(states, p, triplets, patterns, n_ticks):
    """Exact statistics of a static model given all its patterns and probabilities.

    The model has independent time slices: lag-1 covariances are 0 and the kernel is
    m_it = m_i at every tick (so ``nu_spectrum`` is constant, length ``n_ticks``).
    """
    n = states.shape[1]
    x = states.astype(np.float64)
    m = p @ x
    second = x.T @ (x * p[:, None])
    C = second - np.outer(m, m)
    iu = np.triu_indices(n, 1)
    d = x - m[None, :]
    trip = np.array([p @ (d[:, a] * d[:, b] * d[:, c]) for a, b, c in triplets])
    k = (states > 0).sum(axis=1)
    pk = np.bincount(k, weights=p, minlength=n + 1)
    bits = (patterns > 0).astype(np.int64) @ (1 << np.arange(n, dtype=np.int64))
    return {"m": m, "rates": 0.5 * (1 + m), "corr": C[iu], "lag1": np.zeros(n * n),
            "triplets": trip, "pk": pk, "patterns": p[bits],
            "mu_spectrum": np.sort(m), "nu_spectrum": np.full(n_ticks, m.mean()),
            "n_samples": None}


def independent_statistics(m, triplets, patterns, n_ticks):
    """Exact statistics of independent units with magnetisations ``m`` (N,), static in time."""
    n = m.size
    p1 = 0.5 * (1 + m)
    pk = np.zeros(n + 1)
    pk[0] = 1.0
    for q in p1:                      # Poisson-binomial by convolution
        pk[1:] = pk[1:] * (1 - q) + pk[:-1] * q
        pk[0] *= 1 - q
    on = patterns > 0
    freq = np.prod(np.where(on, p1[None, :], 1 - p1[None, :]), axis=1)
    return {"m": m.copy(), "rates": p1, "corr": np.zeros(n * (n - 1) // 2),
            "lag1": np.zeros(n * n), "triplets": np.zeros(triplets.shape[0]), "pk": pk,
            "patterns": freq, "mu_spectrum": np.sort(m), "nu_spectrum": np.full(n_ticks,
                                                                                 m.mean()),
            "n_samples": None}
