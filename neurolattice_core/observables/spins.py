"""Spin arrays: conversion from spike rasters, validation, per-configuration observables.

Every observable in this package takes spins ``s`` of shape ``(R, N, T)`` (replicas or trials x
neurons x ticks) with values -1/+1, so that simulated chains and recorded trials go through the
same code. Spike rasters (0/1, boolean or spike counts) are converted with :func:`as_spins`
(``psi = 1`` when the unit spiked at least once in the bin, ``s = 2 psi - 1``, MODEL.md section 1).
"""

import numpy as np

from neurolattice_core.errors import ParameterError

__all__ = [
    "as_spins",
    "validate_spins",
    "magnetization",
    "abs_magnetization",
    "slice_magnetization",
    "population_count",
]


def as_spins(raster):
    """Convert a spike raster (0/1, boolean or counts) to int8 spins -1/+1 of shape (R, N, T).

    Parameters
    ----------
    raster : array_like, shape (R, N, T) or (N, T)
        Boolean, integer or float array of spike indicators or spike counts per bin. Any count
        ``> 0`` is a spike (``psi = 1``, spin +1); ``0`` is silence (spin -1). A 2-D raster is one
        trial and becomes shape ``(1, N, T)``.

    Returns
    -------
    numpy.ndarray, shape (R, N, T), int8
        C-contiguous spins ``s = 2 psi - 1``.

    Raises
    ------
    ParameterError
        If the raster is not 2-D or 3-D, is empty, or holds NaN, infinite, negative or
        non-integer values.
    """
    a = np.asarray(raster)
    if a.ndim not in (2, 3):
        raise ParameterError(
            f"raster must have shape (R, N, T) or (N, T) (neurons x ticks); got shape {a.shape}"
        )
    if a.size == 0:
        raise ParameterError(f"raster is empty (shape {a.shape}); need N >= 1 and T >= 1")
    if a.ndim == 2:
        a = a[None, :, :]
    if a.dtype == np.bool_:
        spiked = a
    elif np.issubdtype(a.dtype, np.integer):
        if np.any(a < 0):
            raise ParameterError("raster holds negative values; expected 0/1 or spike counts >= 0")
        spiked = a > 0
    elif np.issubdtype(a.dtype, np.floating):
        if not np.all(np.isfinite(a)):
            raise ParameterError("raster holds NaN or infinite values; expected 0/1 or counts")
        if np.any(a < 0):
            raise ParameterError("raster holds negative values; expected 0/1 or spike counts >= 0")
        if np.any(a != np.floor(a)):
            raise ParameterError(
                "raster holds non-integer values; expected 0/1 or spike counts (bin rates first)"
            )
        spiked = a > 0
    else:
        raise ParameterError(f"raster has unsupported dtype {a.dtype}; use bool, int or float")
    out = np.where(spiked, np.int8(1), np.int8(-1))
    return np.ascontiguousarray(out, dtype=np.int8)


def validate_spins(spins, name="spins", min_replicas=1, min_neurons=1, min_ticks=1):
    """Check that ``spins`` is a (R, N, T) array of -1/+1 and return it as an ndarray.

    Parameters
    ----------
    spins : array_like, shape (R, N, T)
        Integer or float spins with values exactly -1 or +1.
    name : str
        Name used in error messages.
    min_replicas, min_neurons, min_ticks : int
        Smallest allowed R, N and T for the calling observable.

    Returns
    -------
    numpy.ndarray, shape (R, N, T)
        The input as an array (no copy when it already is one; dtype unchanged).

    Raises
    ------
    ParameterError
        Wrong number of dimensions, too few replicas/neurons/ticks, non-numeric dtype, NaN, or
        values other than -1/+1.
    """
    s = np.asarray(spins)
    if s.ndim != 3:
        hint = " (for one replica use spins[None])" if s.ndim == 2 else ""
        raise ParameterError(
            f"{name} must have shape (R, N, T) = replicas x neurons x ticks; got {s.shape}{hint}"
        )
    r, n, t = s.shape
    for label, value, low in (("R", r, min_replicas), ("N", n, min_neurons), ("T", t, min_ticks)):
        if value < low:
            raise ParameterError(f"{name} needs {label} >= {low}; got shape {s.shape}")
    if not (np.issubdtype(s.dtype, np.integer) or np.issubdtype(s.dtype, np.floating)):
        raise ParameterError(f"{name} must be an integer or float array; got dtype {s.dtype}")
    if np.issubdtype(s.dtype, np.floating) and np.isnan(s).any():
        raise ParameterError(f"{name} holds NaN; spins must be -1 or +1")
    if not ((s == 1) | (s == -1)).all():
        raise ParameterError(
            f"{name} must hold only -1 and +1; for a 0/1 spike raster use as_spins(raster)"
        )
    return s


def magnetization(spins):
    """Magnetisation per site of each replica, ``m_r = mean_{i,t} s_rit``.

    Parameters
    ----------
    spins : array_like, shape (R, N, T)
        Spins -1/+1.

    Returns
    -------
    numpy.ndarray, shape (R,), float64
    """
    s = validate_spins(spins)
    return s.mean(axis=(1, 2), dtype=np.float64)


def abs_magnetization(spins):
    """Absolute magnetisation per site of each replica, ``|m_r|``, shape (R,), float64."""
    return np.abs(magnetization(spins))


def slice_magnetization(spins):
    """Slice magnetisation ``nu_rt = mean_i s_rit`` (population activity in spin units).

    Parameters
    ----------
    spins : array_like, shape (R, N, T)
        Spins -1/+1.

    Returns
    -------
    numpy.ndarray, shape (R, T), float64
    """
    s = validate_spins(spins)
    return s.mean(axis=1, dtype=np.float64)


def population_count(spins):
    """Count active neurons per tick (synchrony) ``k_rt = sum_i psi_rit``, ``psi = (1 + s)/2``.

    Parameters
    ----------
    spins : array_like, shape (R, N, T)
        Spins -1/+1.

    Returns
    -------
    numpy.ndarray, shape (R, T), int64
        Number of active neurons in each tick, 0..N.
    """
    s = validate_spins(spins)
    return (s > 0).sum(axis=1, dtype=np.int64)


def grid_time_slice(configuration, rows, cols, tick):
    """The spins of one tick laid out on the neurons' r x c grid.

    Parameters
    ----------
    configuration : array_like
        One configuration, int8 (N, T) of +-1, with N = rows * cols.
    rows, cols : int
        The grid (neuron i sits at row i // cols, column i % cols, as in
        ``connectivity.grid``).
    tick : int
        The time slice, 0 <= tick < T.

    Returns
    -------
    numpy.ndarray
        int8 (rows, cols).
    """
    configuration = np.asarray(configuration)
    if configuration.ndim != 2 or configuration.shape[0] != rows * cols:
        raise ParameterError(f"configuration has shape {configuration.shape}; a {rows} x {cols} "
                             f"grid needs shape ({rows * cols}, T).")
    if not 0 <= tick < configuration.shape[1]:
        raise ParameterError(f"tick must be between 0 and {configuration.shape[1] - 1}, "
                             f"got {tick}.")
    return configuration[:, tick].reshape(rows, cols).astype(np.int8)
