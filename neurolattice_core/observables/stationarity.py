"""Stationarity and ergodicity estimators (MODEL.md section 4).

Stationarity: with the kernel ``m_it`` (mean of R trials) and ``mu_i = mean_t m_it``,

    S_i = mean_t (m_it - mu_i)**2 / ((1 - mu_i**2) / R).

If neuron i is stationary and its trials independent, ``m_it`` fluctuates around ``mu_i`` with
variance ``(1 - mu_i**2) / R``, so ``S_i`` is about 1: for independent ticks
``E S_i = (T - 1)/T`` up to ``O(1/(R T))``, with standard deviation about ``sqrt(2/T)``
(temporal correlation inside trials widens it). A time-locked modulation of the rate makes
``S_i >> 1``. ``S_i`` is NaN when ``mu_i = +-1`` (the neuron never changes; undefined).

Ergodicity: time averages ``a_ri = mean_t s_rit`` (one per trial and neuron) against ensemble
averages ``m_it`` (one per tick and neuron). Both scatter around ``mu_i``; an ergodic,
stationary neuron with independent ticks gives spreads ``sqrt((1 - mu_i**2)/T)`` and
``sqrt((1 - mu_i**2)/R)``, so W1 between the two distributions is not zero when R != T: its
Gaussian reference is ``sqrt(2/pi) sqrt(1 - mu_i**2) |1/sqrt(T) - 1/sqrt(R)|``. Trials frozen
in different states (broken ergodicity) spread the time averages far beyond it.
"""

import math

import numpy as np

from neurolattice_core.observables.spectra import wasserstein1
from neurolattice_core.observables.spins import validate_spins

__all__ = [
    "stationarity_statistic",
    "population_stationarity_statistic",
    "stationarity_summary",
    "ergodicity",
]


def stationarity_statistic(spins):
    """Per-neuron stationarity statistic ``S_i`` (about 1 when stationary).

    Parameters
    ----------
    spins : array_like, shape (R, N, T)
        Spins -1/+1, trials aligned on the same clock.

    Returns
    -------
    numpy.ndarray, shape (N,), float64
        NaN for neurons with ``mu_i = +-1``. For R = 1 every defined ``S_i`` is exactly 1
        (uninformative).
    """
    s = validate_spins(spins)
    r = s.shape[0]
    m = s.mean(axis=0, dtype=np.float64)
    mu = m.mean(axis=1)
    num = np.mean((m - mu[:, None]) ** 2, axis=1)
    den = (1.0 - mu**2) / r
    out = np.full(mu.shape, np.nan)
    ok = den > 1e-15
    out[ok] = num[ok] / den[ok]
    return out


def population_stationarity_statistic(spins):
    """Stationarity statistic of the population activity ``nu_rt = mean_i s_rit``.

    ``S_pop = mean_t (nu_t - nubar)**2 / (v / R)`` with ``nu_t = mean_r nu_rt``,
    ``nubar = mean_t nu_t`` and ``v = mean_{r,t} (nu_rt - nubar)**2`` (the analogue of
    ``1 - mu_i**2``).

    Parameters
    ----------
    spins : array_like, shape (R, N, T)
        Spins -1/+1.

    Returns
    -------
    float
        NaN when the population activity is constant.
    """
    s = validate_spins(spins)
    r = s.shape[0]
    nu_rt = s.mean(axis=1, dtype=np.float64)
    nu_t = nu_rt.mean(axis=0)
    nubar = nu_t.mean()
    v = float(np.mean((nu_rt - nubar) ** 2))
    if v <= 1e-15:
        return float("nan")
    return float(np.mean((nu_t - nubar) ** 2) / (v / r))


def stationarity_summary(spins):
    """Stationarity statistics with their null reference.

    Parameters
    ----------
    spins : array_like, shape (R, N, T)
        Spins -1/+1.

    Returns
    -------
    dict
        ``S`` (N,), ``mean_S`` and ``mean_S_err`` (mean over neurons with defined S and its
        standard error from the spread across neurons), ``expected`` ``(T - 1)/T`` (stationary,
        independent ticks), ``null_std`` ``sqrt(2/T)`` (per neuron, Gaussian approximation),
        ``S_population``.
    """
    s = validate_spins(spins)
    t = s.shape[2]
    values = stationarity_statistic(s)
    ok = values[np.isfinite(values)]
    mean = float(ok.mean()) if ok.size else float("nan")
    err = float(ok.std(ddof=1) / math.sqrt(ok.size)) if ok.size > 1 else float("nan")
    return {
        "S": values,
        "mean_S": mean,
        "mean_S_err": err,
        "expected": (t - 1) / t,
        "null_std": math.sqrt(2.0 / t),
        "S_population": population_stationarity_statistic(s),
    }


def ergodicity(spins):
    """Time averages versus ensemble averages, per neuron and for the population.

    Parameters
    ----------
    spins : array_like, shape (R, N, T)
        Spins -1/+1.

    Returns
    -------
    dict
        ``time_averages`` (R, N): ``mean_t s_rit``; ``ensemble_averages`` (N, T): ``m_it``;
        ``w1_per_neuron`` (N,): W1 between ``{a_ri}_r`` and ``{m_it}_t``;
        ``w1_reference`` (N,): its Gaussian value for a stationary ergodic neuron with
        independent ticks (module docstring); ``w1_pooled``: W1 between all time averages and
        all ensemble averages; ``population_time_averages`` (R,): ``mean_{i,t} s_rit``;
        ``population_ensemble_averages`` (T,): ``nu_t = mean_i m_it``; ``w1_population``: W1
        between those two; ``w1_population_reference``: its Gaussian reference with the
        spreads estimated as for neurons from the pooled population variance.
    """
    s = validate_spins(spins)
    r, n, t = s.shape
    time_avg = s.mean(axis=2, dtype=np.float64)
    ens_avg = s.mean(axis=0, dtype=np.float64)
    mu = ens_avg.mean(axis=1)
    w1 = np.array([wasserstein1(time_avg[:, i], ens_avg[i]) for i in range(n)])
    scale = math.sqrt(2.0 / math.pi) * abs(1.0 / math.sqrt(t) - 1.0 / math.sqrt(r))
    ref = scale * np.sqrt(np.clip(1.0 - mu**2, 0.0, None))
    pop_time = time_avg.mean(axis=1)
    pop_ens = ens_avg.mean(axis=0)
    nu_rt = s.mean(axis=1, dtype=np.float64)
    v_pop = float(np.mean((nu_rt - nu_rt.mean()) ** 2))
    return {
        "time_averages": time_avg,
        "ensemble_averages": ens_avg,
        "w1_per_neuron": w1,
        "w1_reference": ref,
        "w1_pooled": wasserstein1(time_avg, ens_avg),
        "population_time_averages": pop_time,
        "population_ensemble_averages": pop_ens,
        "w1_population": wasserstein1(pop_time, pop_ens),
        "w1_population_reference": scale * math.sqrt(v_pop),
    }
