"""A complete measurement run: burn in, sample, and summarise with error bars.

This is what ``neurolattice simulate`` prints; scripts and the dashboard use it too.
"""

import time
import warnings

import numpy as np

from . import observables as obs
from .errors import ParameterError
from .model import LatticeModel, check_integer

#: Fewest measured sweeps ``run_simulation`` accepts: the series ``thermodynamic_summary`` needs.
MIN_MEASURED_SWEEPS = 4


def run_simulation(model, *, algorithm="auto", sweeps=1000, burn_in=200, seed=0, threads=None,
                   correlation_samples=64):
    """Sample ``model`` and return thermodynamics and correlation functions.

    Parameters
    ----------
    model : LatticeModel
    algorithm : str
        One of ``engine.ALGORITHMS``.
    sweeps, burn_in : int
        Measured sweeps (energy and magnetisation after every sweep; at least
        ``MIN_MEASURED_SWEEPS``, which the error analysis needs) and discarded sweeps (>= 0).
    seed : int
        Seed of the random streams, 0 <= seed < 2**63.
    threads : int, optional
        Numba threads.
    correlation_samples : int
        Configurations (evenly spaced over the measured sweeps) averaged into C(tau) and C(r).

    Returns
    -------
    dict
        JSON-ready: ``energy_per_site`` (+ ``_err``), ``abs_magnetization`` (+ ``_err``),
        ``specific_heat``, ``susceptibility``, ``binder``, ``tau_int_energy``,
        ``temporal_correlation`` (C(tau), tau = 0..T//2), ``spatial_correlation`` (C(r) along the
        neuron axis for ring and grid, else empty), ``sweeps``, ``flips_per_ns``, ``seed``, the
        path used, the wall time in seconds and ``warnings`` (e.g. a series too short for
        reliable error bars).
    """
    from .sampler import Sampler  # Numba; live_observables (used by the page) needs none

    if not isinstance(model, LatticeModel):
        raise ParameterError(f"run_simulation samples a LatticeModel (LatticeModel.create(...)), "
                             f"not {type(model).__name__}")
    sweeps = check_integer("sweeps", sweeps, MIN_MEASURED_SWEEPS)
    burn_in = check_integer("burn_in", burn_in, 0)
    correlation_samples = check_integer("correlation_samples", correlation_samples, 1)
    started = time.perf_counter()
    sampler = Sampler(model, algorithm=algorithm, seed=seed, history=max(sweeps, 1),
                      threads=threads)
    sampler.step(burn_in)
    burn_in_work = sampler.progress()
    every = max(1, sweeps // max(correlation_samples, 1))
    temporal, spatial = [], []
    done = 0
    while done < sweeps:
        chunk = min(every, sweeps - done)
        sampler.step(chunk)
        done += chunk
        spins = sampler.configurations()
        temporal.append(obs.temporal_correlation(spins, periodic=model.time_periodic))
        if model.connectivity in ("ring", "grid"):
            spatial.append(obs.spatial_correlation(
                spins, connectivity=model.connectivity,
                grid_shape=model.grid_shape() if model.connectivity == "grid" else None,
                periodic=model.neuron_periodic))
    history = sampler.history()
    with warnings.catch_warnings(record=True) as caught:  # reliability notes go in the result
        warnings.simplefilter("always")
        summary = obs.thermodynamic_summary(history["energy_per_site"].T,
                                            history["magnetization"].T,
                                            model.neurons * model.ticks, model.temperature)
    work = sampler.progress()
    flips = work["flips_attempted"] - burn_in_work["flips_attempted"]
    busy_seconds = work["busy_seconds"] - burn_in_work["busy_seconds"]
    result = {key: _plain(value) for key, value in summary.items()}
    result.update({
        "temporal_correlation": np.mean(temporal, axis=0).tolist() if temporal else [],
        "spatial_correlation": np.mean(spatial, axis=0).tolist() if spatial else [],
        "sweeps": int(sweeps), "burn_in": int(burn_in), "seed": int(seed),
        "flips_per_ns": flips / busy_seconds / 1e9 if busy_seconds > 0 else 0.0,
        "path": sampler.path.name, "path_reason": sampler.path_reason, "rule": sampler.rule,
        "algorithm": algorithm, "temperature": model.temperature,
        "wall_seconds": time.perf_counter() - started,
        "warnings": sorted({str(w.message) for w in caught}),
    })
    if model.connectivity == "grid":   # the shape chosen for N when none was given
        result["grid_shape"] = list(model.grid_shape())
    return result


def _plain(value):
    """NumPy scalars and arrays as JSON-ready Python values."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


def exact_temporal_correlation(model):
    """Exact C(tau), tau = 0..T//2, where MODEL.md E3 gives it (J = 0 chains, h = 0), else None."""
    no_space = model.J == 0 and model.connectivity in ("ring", "grid", "all-to-all", "hopfield")
    if not no_space or model.K_per_neuron is not None or not model.uniform_field or model.h != 0:
        return None
    tau = np.tanh(model.K / model.temperature)
    lags = np.arange(model.ticks // 2 + 1)
    if not model.time_periodic:
        return tau**lags
    return (tau**lags + tau ** (model.ticks - lags)) / (1 + tau**model.ticks)


def live_observables(model, spins):
    """Observables the dashboard draws for one frame (computed in the sampler's thread).

    Parameters
    ----------
    model : LatticeModel
    spins : numpy.ndarray
        int8 (R, N, T).

    Returns
    -------
    dict
        ``temporal_correlation`` C(tau) (T//2+1,); ``spatial_correlation`` C(r) for ring/grid
        (else None); ``exact_temporal_correlation`` (or None); ``row_average`` mu_i (N,) and
        ``column_average`` nu_t (T,) of the kernel; ``abs_magnetization`` of replica 0.
    """
    products = {
        "temporal_correlation": obs.temporal_correlation(spins, periodic=model.time_periodic),
        "spatial_correlation": None,
        "exact_temporal_correlation": exact_temporal_correlation(model),
    }
    if model.connectivity in ("ring", "grid"):
        products["spatial_correlation"] = obs.spatial_correlation(
            spins, connectivity=model.connectivity,
            grid_shape=model.grid_shape() if model.connectivity == "grid" else None,
            periodic=model.neuron_periodic)
    kernel = obs.kernel(spins)
    products["row_average"] = kernel.mean(axis=1)
    products["column_average"] = kernel.mean(axis=0)
    products["abs_magnetization"] = float(abs(spins[0].mean(dtype=np.float64)))
    return products
