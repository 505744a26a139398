"""Validation shared by every loader: spike trains and pre-binned rasters.

Every check names *where* the bad value is (file, variable, unit, trial, index) so that the
message of the exception says what is wrong, where, and how to fix it.
"""

import numpy as np

from neurolattice_core.errors import ParameterError, RasterValueError, SpikeTimesError

__all__ = ["check_spike_train", "check_raster", "median_isi", "arrange_raster", "MAX_COUNT"]

#: Largest count a raster bin may hold (stored as uint32).
MAX_COUNT = np.iinfo(np.uint32).max


def check_spike_train(values, where):
    """Validate one unit's spike times and return them as a float64 vector (unit unchanged).

    Parameters
    ----------
    values : array_like
        Spike times of one unit (any numeric dtype; a vector, or a matrix with one
        non-singleton axis such as MATLAB's n x 1 columns).
    where : str
        Location used in error messages, e.g. ``"file.mat, variable 'Spikes', cell (3, 7)"``.

    Returns
    -------
    numpy.ndarray, shape (n,), float64

    Raises
    ------
    SpikeTimesError
        Non-numeric, not a vector, NaN/infinite, negative or unsorted times.
    """
    a = np.asarray(values)
    if a.dtype.kind not in "biuf":
        raise SpikeTimesError(
            f"{where}: spike times must be numbers, got dtype {a.dtype} "
            f"(kind {a.dtype.kind!r}); store them as a numeric vector"
        )
    if a.ndim > 1 and sum(n > 1 for n in a.shape) > 1:
        raise SpikeTimesError(
            f"{where}: spike times must be a vector, got an array of shape {a.shape}; "
            "store one vector of times per unit (and per trial)"
        )
    t = a.astype(np.float64, copy=False).reshape(-1)
    if t.size == 0:
        return t
    finite = np.isfinite(t)
    if not finite.all():
        k = int(np.argmin(finite))
        raise SpikeTimesError(
            f"{where}: spike time at index {k} (0-based) is {t[k]}; spike times must be finite "
            "numbers: remove the NaN/infinite entries"
        )
    if t.min() < 0:
        k = int(np.argmax(t < 0))
        raise SpikeTimesError(
            f"{where}: spike time at index {k} (0-based) is negative ({t[k]:g}); times must be "
            ">= 0 from the start of the recording (or of the trial): shift them by the "
            "pre-event window or drop the negative entries"
        )
    d = np.diff(t)
    if d.size and d.min() < 0:
        k = int(np.argmax(d < 0))
        raise SpikeTimesError(
            f"{where}: spike times are not sorted: index {k + 1} ({t[k + 1]:g}) comes after "
            f"index {k} ({t[k]:g}); sort each unit's spike times in increasing order"
        )
    return t


def median_isi(trains):
    """Median over units (with >= 3 spikes) of each unit's median positive inter-spike interval.

    Returns None when no unit has two positive intervals.
    """
    per_unit = []
    for t in trains:
        if t.size >= 3:
            d = np.diff(t)
            d = d[d > 0]
            if d.size >= 2:
                per_unit.append(np.median(d))
    return float(np.median(per_unit)) if per_unit else None


def check_raster(values, where):
    """Validate a pre-binned raster of spike counts and return it as an unsigned integer array.

    Parameters
    ----------
    values : numpy.ndarray
        Raster in its source layout (any shape); bool, integer or float.
    where : str
        Location used in error messages (file, variable, layout).

    Returns
    -------
    numpy.ndarray
        Same shape, dtype uint8 (bool/uint8 input or max <= 255), uint16 or uint32.

    Raises
    ------
    RasterValueError
        Non-numeric dtype, NaN/infinite, negative, fractional or too large values.
    """
    a = np.asarray(values)
    if a.dtype.kind not in "biuf":
        raise RasterValueError(
            f"{where}: a raster must hold spike counts (bool, integer or float), got dtype "
            f"{a.dtype}; save the raster as a numeric array"
        )
    if a.size == 0:
        raise RasterValueError(f"{where}: the raster is empty (shape {a.shape})")
    if a.dtype.kind == "b":
        return a.astype(np.uint8)

    def _bad(mask, what, fix):
        idx = tuple(int(i) for i in np.unravel_index(int(np.argmax(mask)), a.shape))
        raise RasterValueError(
            f"{where}: the raster holds {what} (first at index {idx} (0-based) of the stored "
            f"array of shape {a.shape}, value {float(a[idx])!r}); "
            f"a raster must hold spike counts 0, 1, 2, ...; {fix}"
        )

    if a.dtype.kind == "f":
        finite = np.isfinite(a)
        if not finite.all():
            _bad(~finite, "NaN or infinite values", "replace missing bins by 0 or drop them")
    if a.min() < 0:
        _bad(a < 0, "negative values", "it may be a rate, a z-score or a voltage, not counts")
    if a.dtype.kind == "f":
        frac = a != np.floor(a)
        if frac.any():
            _bad(frac, "fractional values",
                 "it may hold rates or smoothed values: bin the spike times instead")
    vmax = a.max()
    if vmax > MAX_COUNT:
        _bad(a > MAX_COUNT, f"counts above {MAX_COUNT}", "these cannot be spike counts per bin")
    if vmax <= np.iinfo(np.uint8).max:
        return a.astype(np.uint8)
    if vmax <= np.iinfo(np.uint16).max:
        return a.astype(np.uint16)
    return a.astype(np.uint32)


_AXIS_NAMES = {"units": "units", "unit": "units", "neurons": "units", "n": "units",
               "trials": "trials", "trial": "trials", "r": "trials",
               "bins": "bins", "bin": "bins", "ticks": "bins", "time": "bins", "t": "bins"}


def arrange_raster(a, axes, where):
    """Transpose a raster from its stored layout to (trials, units, bins).

    Parameters
    ----------
    a : numpy.ndarray, 2-D or 3-D
        Raster in its stored axis order.
    axes : str or None
        Comma-separated axis names in stored order, e.g. ``"units,bins"`` (default for 2-D),
        ``"trials,units,bins"`` (default for 3-D), ``"bins,units"`` or ``"units,bins,trials"``.
    where : str
        Location for messages.

    Returns
    -------
    numpy.ndarray, shape (R, N, T)

    Raises
    ------
    ParameterError
        ``axes`` does not name each of the array's axes once.
    RasterValueError
        The array is not 2-D or 3-D.
    """
    if a.ndim not in (2, 3):
        raise RasterValueError(
            f"{where}: a raster must be 2-D (units x bins) or 3-D (trials x units x bins); got "
            f"shape {a.shape}"
        )
    if axes is None:
        names = ["units", "bins"] if a.ndim == 2 else ["trials", "units", "bins"]
    else:
        names = [_AXIS_NAMES.get(s.strip().lower(), s.strip()) for s in str(axes).split(",")]
    expected = {"units", "bins"} if a.ndim == 2 else {"trials", "units", "bins"}
    if len(names) != a.ndim or set(names) != expected:
        raise ParameterError(
            f"{where}: axes={axes!r} must name the {a.ndim} axes of the raster (shape "
            f"{a.shape}) once each, from {sorted(expected)}, e.g. 'units,bins'"
        )
    if a.ndim == 2:
        a = a[None]
        names = ["trials"] + names
    return np.transpose(a, [names.index(k) for k in ("trials", "units", "bins")])
