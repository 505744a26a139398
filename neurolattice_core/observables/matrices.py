"""Correlation matrices between neurons: equal-time, lagged, signal and noise.

All averages ``<.>`` pool replicas (trials) and ticks. With the kernel ``m_it = mean_r s_rit``
and ``eta_rit = s_rit - m_it`` the total equal-time covariance splits exactly into

    c_ij = <s_i s_j> - mu_i mu_j = signal_ij + noise_ij,
    signal_ij = mean_t (m_it - mu_i)(m_jt - mu_j)       (stimulus-locked part),
    noise_ij  = mean_t mean_r eta_rit eta_rjt            (trial-to-trial part),

because ``mean_r eta_rit = 0``. With R trials the noise part uses the sample kernel, so its
diagonal is ``(R - 1)/R`` times the unbiased estimate and the signal part carries a positive
``noise / R`` bias. Pearson versions divide by the square roots of the matching variances; a
pair involving a neuron of zero variance gets 0 (its diagonal entry too). Matrices transform
as ``c[p][:, p]`` under a permutation p of the neurons.
"""

import numpy as np

from neurolattice_core.errors import ParameterError
from neurolattice_core.observables.spins import validate_spins

__all__ = [
    "equal_time_correlation",
    "lagged_correlation",
    "signal_correlation",
    "noise_correlation",
]

_CHUNK_ELEMENTS = 1 << 21
_ZERO_VARIANCE = 1e-12


def _pearson(cov, var_rows, var_cols):
    ok_r = var_rows > _ZERO_VARIANCE
    ok_c = var_cols > _ZERO_VARIANCE
    sr = np.sqrt(np.where(ok_r, var_rows, 1.0))
    sc = np.sqrt(np.where(ok_c, var_cols, 1.0))
    out = cov / np.outer(sr, sc)
    out[~ok_r, :] = 0.0
    out[:, ~ok_c] = 0.0
    return out


def _cross_moments(a, b):
    """``sum_{r,t} a_rit b_rjt`` (N, N), row sums of a and b (N,) and the number of (r, t)."""
    r, n, t = a.shape
    prod = np.zeros((n, n))
    sum_a = np.zeros(n)
    sum_b = np.zeros(n)
    step = max(1, _CHUNK_ELEMENTS // (n * t))
    # float32 products are exact while a chunk sums fewer than 2**24 terms +-1
    dtype = np.float32 if step * t < 2**24 else np.float64
    for start in range(0, r, step):
        x = a[start : start + step].transpose(1, 0, 2).reshape(n, -1).astype(dtype)
        y = b[start : start + step].transpose(1, 0, 2).reshape(n, -1).astype(dtype)
        prod += x @ y.T
        sum_a += x.sum(axis=1, dtype=np.float64)
        sum_b += y.sum(axis=1, dtype=np.float64)
    return prod, sum_a, sum_b, r * t


def equal_time_correlation(spins, pearson=False):
    """Compute the connected equal-time correlation ``c_ij = <s_i s_j> - <s_i><s_j>``.

    Averages pool replicas and ticks.

    Parameters
    ----------
    spins : array_like, shape (R, N, T)
        Spins -1/+1.
    pearson : bool
        Return the correlation coefficient ``c_ij / sqrt(c_ii c_jj)`` instead of the covariance.

    Returns
    -------
    numpy.ndarray, shape (N, N), float64
        Symmetric. For spins ``c_ii = 1 - mu_i**2``; in lattice-gas units divide by 4.
    """
    s = validate_spins(spins)
    prod, sa, _, count = _cross_moments(s, s)
    mu = sa / count
    cov = prod / count - np.outer(mu, mu)
    cov = 0.5 * (cov + cov.T)
    if pearson:
        var = np.diag(cov).copy()
        return _pearson(cov, var, var)
    return cov


def lagged_correlation(spins, lag, periodic=False, pearson=False):
    """Lagged connected correlation ``D_ij(tau) = <s_i,t s_j,t+tau> - <s_i,t><s_j,t+tau>``.

    Parameters
    ----------
    spins : array_like, shape (R, N, T)
        Spins -1/+1.
    lag : int
        tau, ``|tau| < T``. ``D(-tau) = D(tau)^T``; ``D(0)`` is :func:`equal_time_correlation`.
    periodic : bool
        False (data): average over the ``T - tau`` available ticks, each mean taken over the ticks
        that enter it. True: ``t + tau`` modulo T, full-time means.
    pearson : bool
        Divide by ``sqrt(var(s_i,t) var(s_j,t+tau))`` over the same ticks.

    Returns
    -------
    numpy.ndarray, shape (N, N), float64
        Not symmetric: row i leads, column j follows by tau ticks.
    """
    s = validate_spins(spins)
    t = s.shape[2]
    lag = int(lag)
    if abs(lag) >= t:
        raise ParameterError(f"lag must satisfy |lag| < T = {t}; got {lag}")
    if lag < 0:
        return lagged_correlation(s, -lag, periodic=periodic, pearson=pearson).T
    if periodic:
        a, b = s, np.roll(s, -lag, axis=2)
    else:
        a, b = s[:, :, : t - lag], s[:, :, lag:]
    prod, sa, sb, count = _cross_moments(a, b)
    mu_a, mu_b = sa / count, sb / count
    cov = prod / count - np.outer(mu_a, mu_b)
    if pearson:
        return _pearson(cov, 1.0 - mu_a**2, 1.0 - mu_b**2)
    return cov


def signal_correlation(spins, pearson=False):
    """Signal (stimulus-locked) correlation: covariance across time of the kernel rows.

    Parameters
    ----------
    spins : array_like, shape (R, N, T)
        Spins -1/+1 (trials aligned on the same clock).
    pearson : bool
        Normalise by the signal variances.

    Returns
    -------
    numpy.ndarray, shape (N, N), float64
        ``mean_t (m_it - mu_i)(m_jt - mu_j)``.
    """
    s = validate_spins(spins)
    m = s.mean(axis=0, dtype=np.float64)
    d = m - m.mean(axis=1, keepdims=True)
    cov = d @ d.T / m.shape[1]
    if pearson:
        var = np.diag(cov).copy()
        return _pearson(cov, var, var)
    return cov


def noise_correlation(spins, pearson=False):
    """Noise (trial-to-trial) correlation: total equal-time minus signal correlation.

    Parameters
    ----------
    spins : array_like, shape (R, N, T)
        Spins -1/+1, R >= 2 trials.
    pearson : bool
        Normalise by the noise variances (the diagonal of the noise covariance).

    Returns
    -------
    numpy.ndarray, shape (N, N), float64
        ``mean_t mean_r (s_rit - m_it)(s_rjt - m_jt)``.
    """
    s = validate_spins(spins, min_replicas=2)
    cov = equal_time_correlation(s) - signal_correlation(s)
    if pearson:
        var = np.diag(cov).copy()
        return _pearson(cov, var, var)
    return cov
