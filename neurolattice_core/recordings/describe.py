"""The recorded observables the dashboard draws, computed by the engine's observables.

One code path for simulated replicas and recorded trials (MODEL.md section 4): the binned trials
are spins (R, N, T) exactly like the engine's replicas.
"""

import numpy as np

from .. import observables as obs


def describe_binned(binned, units=None):
    """Arrays behind the Recording view's plots.

    Parameters
    ----------
    binned : BinnedRecording
    units : sequence of int, optional
        Positions of the units to keep (default: all).

    Returns
    -------
    dict
        ``rates_hz`` (N,), ``spike_probability`` (N,), ``population_count_distribution`` P(k)
        for k = 0..N (N+1,), ``row_average`` mu_i (N,) and ``column_average`` nu_t (T,) of the
        kernel, ``temporal_correlation`` C(tau) (T//2+1,), ``correlation`` Pearson c_ij (N, N),
        ``stationarity`` S_i (N,) (NaN for units that never or always spike), ``units``
        (kept positions).
    """
    keep = np.arange(binned.shape[1]) if units is None else np.asarray(units, dtype=np.int64)
    binary = binned.binary[:, keep]
    counts = binned.counts[:, keep]
    spins = (2 * binary.astype(np.int8) - 1).astype(np.int8)
    r, n, t = spins.shape
    seconds = r * t * binned.bin_s
    k = obs.population_count(spins).ravel()
    kernel = obs.kernel(spins)
    result = {
        "units": keep,
        "rates_hz": counts.sum(axis=(0, 2), dtype=np.float64) / seconds,
        "spike_probability": binary.mean(axis=(0, 2), dtype=np.float64),
        "population_count_distribution": np.bincount(k, minlength=n + 1) / k.size,
        "row_average": kernel.mean(axis=1),
        "column_average": kernel.mean(axis=0),
        "temporal_correlation": obs.temporal_correlation(spins, periodic=False),
        "correlation": obs.equal_time_correlation(spins, pearson=True),
    }
    if r >= 2:
        with np.errstate(invalid="ignore", divide="ignore"):
            result["stationarity"] = obs.stationarity_statistic(spins)
    else:
        result["stationarity"] = np.full(n, np.nan)
    return result
