"""Replica (trial) overlaps, P(q), the Edwards-Anderson parameter and phase labels.

Trials of a recording play the role of replicas (MODEL.md section 4):
``q_ab(t) = mean_i s^a_it s^b_it`` for every pair a < b (order of ``numpy.triu_indices(R, 1)``),
``q_EA = mean_{i,t} m_it**2`` with the kernel ``m_it = mean_r s_rit``. With R replicas
``q_EA`` carries a finite-R floor: for independent unbiased spins ``E q_EA = 1/R``; the
"unbiased" version ``(R q_EA - 1) / (R - 1)`` equals the mean of ``q_ab(t)`` over all pairs
and ticks and has expectation ``mean_i <s_i>**2``.
"""

import math

import numpy as np

from neurolattice_core.errors import MemoryBudgetError, ParameterError
from neurolattice_core.observables.spins import validate_spins

__all__ = [
    "overlaps",
    "overlap_distribution",
    "edwards_anderson",
    "phase_thresholds",
    "phase_label",
    "phase_summary",
]

_CHUNK_ELEMENTS = 1 << 21
_MAX_OVERLAP_BYTES = 512 * 2**20


def _overlap_chunks(s):
    """Yield (t0, q) with q of shape (P, c): pair overlaps for ticks t0..t0+c-1."""
    r, n, t = s.shape
    iu, ju = np.triu_indices(r, 1)
    step = max(1, _CHUNK_ELEMENTS // max(r * n, r * r))
    for t0 in range(0, t, step):
        # float32 is exact here: the products are sums of at most N < 2**24 terms +-1
        x = np.ascontiguousarray(s[:, :, t0 : t0 + step].transpose(2, 0, 1), dtype=np.float32)
        g = np.matmul(x, x.transpose(0, 2, 1))  # (c, R, R)
        yield t0, g[:, iu, ju].T.astype(np.float64) / n


def overlaps(spins):
    """Replica overlaps ``q_ab(t) = mean_i s^a_it s^b_it`` for all pairs a < b.

    Parameters
    ----------
    spins : array_like, shape (R, N, T)
        Spins -1/+1, R >= 2.

    Returns
    -------
    numpy.ndarray, shape (R (R - 1) / 2, T), float64
        Rows in the order of ``numpy.triu_indices(R, 1)``; values in {-1, -1 + 2/N, ..., 1}.

    Raises
    ------
    MemoryBudgetError
        If the output would exceed 512 MiB (use :func:`overlap_distribution`, which streams).
    """
    s = validate_spins(spins, min_replicas=2)
    r, _, t = s.shape
    pairs = r * (r - 1) // 2
    if pairs * t * 8 > _MAX_OVERLAP_BYTES:
        raise MemoryBudgetError(
            f"overlaps of {pairs} pairs x {t} ticks need {pairs * t * 8 / 2**20:.0f} MiB "
            f"(limit {_MAX_OVERLAP_BYTES // 2**20} MiB); use fewer trials or overlap_distribution"
        )
    q = np.empty((pairs, t))
    for t0, chunk in _overlap_chunks(s):
        q[:, t0 : t0 + chunk.shape[1]] = chunk
    return q


def _default_edges(n):
    if n <= 400:
        return np.linspace(-1.0 - 1.0 / n, 1.0 + 1.0 / n, n + 2)
    return np.linspace(-1.0, 1.0, 202)


def overlap_distribution(spins, bins=None):
    """Histogram P(q) of all pair overlaps pooled over pairs and ticks, on fixed bins.

    Parameters
    ----------
    spins : array_like, shape (R, N, T)
        Spins -1/+1, R >= 2.
    bins : int or array_like, optional
        Default: for N <= 400 one bin of width 2/N centred on each attainable value
        ``-1 + 2k/N``; otherwise 201 equal bins on [-1, 1]. An int gives that many equal bins on
        [-1, 1]; an array gives the edges.

    Returns
    -------
    centers : numpy.ndarray, shape (B,), float64
    density : numpy.ndarray, shape (B,), float64
        Normalised so that ``sum(density * widths) == 1``.
    """
    s = validate_spins(spins, min_replicas=2)
    n = s.shape[1]
    if bins is None:
        edges = _default_edges(n)
    elif np.ndim(bins) == 0:
        if int(bins) < 1:
            raise ParameterError(f"bins must be >= 1; got {bins}")
        edges = np.linspace(-1.0, 1.0, int(bins) + 1)
    else:
        edges = np.asarray(bins, dtype=np.float64)
        if edges.ndim != 1 or edges.size < 2 or np.any(np.diff(edges) <= 0):
            raise ParameterError("bins must be increasing edges with at least 2 values")
    counts = np.zeros(edges.size - 1)
    for _, chunk in _overlap_chunks(s):
        counts += np.histogram(chunk, bins=edges)[0]
    widths = np.diff(edges)
    total = counts.sum()
    density = counts / (total * widths) if total > 0 else counts
    return 0.5 * (edges[:-1] + edges[1:]), density


def edwards_anderson(spins, unbiased=False):
    """Edwards-Anderson parameter ``q_EA = mean_{i,t} m_it**2``.

    Parameters
    ----------
    spins : array_like, shape (R, N, T)
        Spins -1/+1.
    unbiased : bool
        Return ``(R q_EA - 1) / (R - 1)`` (the mean pair overlap; needs R >= 2) instead of the
        MODEL.md definition, which has expectation ``1/R`` for independent unbiased spins.

    Returns
    -------
    float
    """
    s = validate_spins(spins, min_replicas=2 if unbiased else 1)
    r = s.shape[0]
    q = float(np.mean(s.mean(axis=0, dtype=np.float64) ** 2))
    return (r * q - 1.0) / (r - 1.0) if unbiased else q


def phase_thresholds(n_neurons, n_ticks, n_replicas, z=5.0, m_floor=0.05, q_floor=0.05):
    """Thresholds of :func:`phase_label`, from the noise of independent unbiased spins.

    For independent spins with ``p = 1/2`` on an N x T lattice the magnetisation of one replica
    has standard deviation ``1/sqrt(N T)``, and ``q_EA`` (MODEL.md definition, R replicas) has
    mean ``1/R`` and standard deviation ``sqrt(2 (R - 1) / (R**3 N T))``. A value counts as
    significant when it exceeds the noise by z standard deviations and an absolute floor.

    Parameters
    ----------
    n_neurons, n_ticks, n_replicas : int
        Lattice size N, T and number of replicas R.
    z : float
        Number of noise standard deviations (> 0).
    m_floor, q_floor : float
        Absolute minimum excess of ``|m|`` and of ``q_EA - 1/R`` (>= 0).

    Returns
    -------
    dict
        ``m_threshold``, ``q_threshold``, ``m_noise``, ``q_noise_mean``, ``q_noise_std``.
    """
    n, t, r = int(n_neurons), int(n_ticks), int(n_replicas)
    if min(n, t, r) < 1:
        raise ParameterError(f"N, T, R must be >= 1; got {n_neurons}, {n_ticks}, {n_replicas}")
    if not z > 0 or m_floor < 0 or q_floor < 0:
        raise ParameterError("z must be > 0 and the floors >= 0")
    sites = n * t
    m_noise = 1.0 / math.sqrt(sites)
    q_std = math.sqrt(2.0 * (r - 1) / (r**3 * sites))
    return {
        "m_threshold": max(m_floor, z * m_noise),
        "q_threshold": 1.0 / r + max(q_floor, z * q_std),
        "m_noise": m_noise,
        "q_noise_mean": 1.0 / r,
        "q_noise_std": q_std,
    }


def phase_label(abs_m, q_ea, n_neurons, n_ticks, n_replicas, z=5.0, m_floor=0.05, q_floor=0.05):
    """Label a state "ordered", "glassy" or "paramagnetic" from ``<|m|>`` and ``q_EA``.

    ``"ordered"`` when ``<|m|>`` exceeds ``m_threshold``; otherwise ``"glassy"`` when ``q_EA``
    (MODEL.md definition) exceeds ``q_threshold`` (replicas frozen in a common, non-uniform
    pattern); otherwise ``"paramagnetic"`` (see :func:`phase_thresholds`). Caveats: with
    fields h != 0 both quantities include the field-induced part (a stimulus-locked recording
    has ``q_EA > 1/R`` without any glass); replicas that fall into different glassy valleys
    average out in the kernel, so inspect P(q) too; with R = 1 nothing can be called glassy.

    Parameters
    ----------
    abs_m : float
        Mean over replicas of ``|m|``, m the magnetisation per site of one replica.
    q_ea : float
        ``mean_{i,t} m_it**2``.
    n_neurons, n_ticks, n_replicas : int
        N, T, R.
    z, m_floor, q_floor : float
        See :func:`phase_thresholds`.

    Returns
    -------
    str
        ``"paramagnetic"``, ``"ordered"`` or ``"glassy"``.
    """
    th = phase_thresholds(n_neurons, n_ticks, n_replicas, z=z, m_floor=m_floor, q_floor=q_floor)
    if abs_m > th["m_threshold"]:
        return "ordered"
    if q_ea > th["q_threshold"]:
        return "glassy"
    return "paramagnetic"


def phase_summary(spins, z=5.0, m_floor=0.05, q_floor=0.05):
    """``<|m|>``, ``q_EA`` (both versions), thresholds and the phase label of a spin sample.

    Parameters
    ----------
    spins : array_like, shape (R, N, T)
        Spins -1/+1.
    z, m_floor, q_floor : float
        See :func:`phase_thresholds`.

    Returns
    -------
    dict
        ``abs_magnetization``, ``q_ea``, ``q_ea_unbiased`` (NaN for R = 1), ``thresholds``
        (dict), ``label`` (str).
    """
    s = validate_spins(spins)
    r, n, t = s.shape
    abs_m = float(np.mean(np.abs(s.mean(axis=(1, 2), dtype=np.float64))))
    q = edwards_anderson(s)
    th = phase_thresholds(n, t, r, z=z, m_floor=m_floor, q_floor=q_floor)
    return {
        "abs_magnetization": abs_m,
        "q_ea": q,
        "q_ea_unbiased": (r * q - 1.0) / (r - 1.0) if r > 1 else float("nan"),
        "thresholds": th,
        "label": phase_label(abs_m, q, n, t, r, z=z, m_floor=m_floor, q_floor=q_floor),
    }
