"""MATLAB ``.mat`` recordings: v5 (``scipy.io.loadmat``) and v7.3 (HDF5 via ``h5py``).

One variable is read (``variable=`` or the only candidate; names such as ``Spikes`` or
``raster`` are preferred when there are several):

Cell array of spike times
    A 2-D cell ``units x trials`` (``axes="units,trials"``, the default; ``"trials,units"``
    for the transpose); each cell holds the spike times of one unit in one trial, relative to
    the trial onset. A cell *vector* (1 x N or N x 1) without ``axes`` is N units on one
    timeline (no trials). Time unit: ``time_unit`` or detected. Trial duration:
    ``trial_duration_s`` or the latest spike.
Numeric or logical array (dense or sparse)
    A raster of spike counts, ``units x bins`` (2-D) or ``trials x units x bins`` (3-D) in
    MATLAB's ``size()`` order; another order is given with ``axes`` (e.g. ``"bins,units"``).
    Bin width: ``bin_width_s`` (a .mat file has no standard place for it).

Structs, strings, function handles and objects are refused; nothing is ever evaluated.
"""

import io

import numpy as np

from neurolattice_core.errors import (
    NoUnitsError,
    ParameterError,
    RecordingCorruptError,
    RecordingFormatError,
    RecordingTooLargeError,
    SpikeTimesError,
)
from neurolattice_core.recordings._checks import arrange_raster, check_raster
from neurolattice_core.recordings.recording import Recording

__all__ = ["load_mat5", "load_mat73", "recording_from_matlab_value", "MAX_CELLS"]

#: Largest number of cells read from a cell array (each cell is one unit x trial).
MAX_CELLS = 1_000_000

NUMERIC_CLASSES = {"double", "single", "int8", "uint8", "int16", "uint16", "int32", "uint32",
                   "int64", "uint64", "logical", "sparse"}
PREFERRED_NAMES = ("spikes", "spike_times", "spiketimes", "raster", "spk", "data")


def choose_variable(info, variable, where):
    """Pick the variable to read from ``[(name, matlab_shape, matlab_class), ...]``.

    Raises
    ------
    RecordingFormatError
        The named variable is absent or of a refused class, or no/several candidates.
    """
    by_name = {n: (tuple(s), c) for n, s, c in info}
    if variable is not None:
        if variable not in by_name:
            raise RecordingFormatError(
                f"{where}: no variable {variable!r}; variables: {_listing(info)}"
            )
        shape, cls = by_name[variable]
        if cls != "cell" and cls not in NUMERIC_CLASSES:
            raise RecordingFormatError(
                f"{where}: variable {variable!r} is a MATLAB {cls}; only numeric/logical arrays "
                "(rasters) and cell arrays of spike times are read"
            )
        return variable, shape, cls
    cands = [(n, tuple(s), c) for n, s, c in info
             if c == "cell" or (c in NUMERIC_CLASSES and int(np.prod(s)) > 1)]
    if len(cands) > 1:
        pref = [x for x in cands if x[0].lower() in PREFERRED_NAMES]
        cands = pref if len(pref) == 1 else cands
    if len(cands) != 1:
        raise RecordingFormatError(
            f"{where}: {'no' if not cands else 'several'} candidate variables (cell arrays of "
            f"spike times or rasters) among {_listing(info)}; pass variable='NAME'"
        )
    return cands[0]


def _listing(info):
    return ", ".join(f"{n} ({'x'.join(map(str, s))} {c})" for n, s, c in info) or "none"


def check_declared_size(shape, cls, where, cap_bytes):
    """Refuse a variable whose declared size exceeds the cap (before reading it)."""
    count = int(np.prod(shape, dtype=np.float64)) if shape else 1
    if cls == "cell":
        if count > MAX_CELLS:
            raise RecordingTooLargeError(
                f"{where}: the cell array has {count} cells, above {MAX_CELLS}; split the file"
            )
        return
    if count * 8 > cap_bytes:
        raise RecordingTooLargeError(
            f"{where}: the array of shape {shape} would take {count * 8} bytes as float64, "
            f"above the cap of {cap_bytes} bytes; raise size_cap_bytes if you trust this file"
        )


def recording_from_matlab_value(value, cls, *, where, time_unit=None, trial_duration_s=None,
                                bin_width_s=None, axes=None, provenance=None):
    """Build a recording from a MATLAB variable already read into numpy.

    Parameters
    ----------
    value : numpy.ndarray
        For ``cls == "cell"``: an object array of numeric arrays in MATLAB's shape; otherwise a
        numeric array (sparse matrices already made dense).
    cls : str
        MATLAB class name.
    where : str
        Location (file and variable) for messages.
    time_unit, trial_duration_s, bin_width_s, axes, provenance
        See the module docstring.

    Returns
    -------
    Recording
    """
    if cls != "cell":
        counts = arrange_raster(check_raster(np.asarray(value), where), axes, where)
        return Recording.from_raster(counts, bin_width_s, where=where,
                                     provenance=dict(provenance or {}, axes=axes))
    cells = np.asarray(value, dtype=object)
    if cells.size == 0:
        raise NoUnitsError(f"{where}: the cell array is empty; nothing to load")
    for idx in np.ndindex(cells.shape):
        c = cells[idx]
        if not isinstance(c, np.ndarray) or c.dtype.kind not in "biuf":
            what = type(c).__name__ if not isinstance(c, np.ndarray) else f"dtype {c.dtype}"
            raise SpikeTimesError(
                f"{where}, cell {tuple(int(i) for i in idx)} (0-based): holds {what}, not a "
                "numeric vector of spike times; each cell must hold numbers"
            )
    if cells.ndim != 2:
        raise RecordingFormatError(
            f"{where}: a cell array of spike times must be 2-D (units x trials); got shape "
            f"{cells.shape}"
        )
    prov = dict(provenance or {})
    if axes is None and 1 in cells.shape:
        if trial_duration_s is not None:
            raise ParameterError(f"{where}: trial_duration_s applies to a units x trials cell "
                                 f"array; this {cells.shape[0]}x{cells.shape[1]} cell vector "
                                 "is one timeline without trials")
        trains = list(cells.reshape(-1))
        prov["axes"] = "units"
        return Recording.from_spike_trains(trains, time_unit=time_unit, where=where,
                                           provenance=prov)
    names = [s.strip().lower() for s in str(axes or "units,trials").split(",")]
    if sorted(names) != ["trials", "units"]:
        raise ParameterError(
            f"{where}: axes={axes!r} must be 'units,trials' or 'trials,units' for a cell array"
        )
    if names[0] == "trials":
        cells = cells.T
    prov["axes"] = "units,trials"
    rows = [list(cells[i]) for i in range(cells.shape[0])]
    return Recording.from_trial_spike_trains(
        rows, time_unit=time_unit, trial_duration_s=trial_duration_s, where=where,
        provenance=prov,
    )


def load_mat5(data, *, where, cap_bytes, variable=None, time_unit=None, trial_duration_s=None,
              bin_width_s=None, axes=None):
    """Read a MATLAB v5 file held in memory (see the module docstring).

    Raises
    ------
    RecordingError (subclasses)
    """
    from scipy import io as sio
    from scipy import sparse

    try:
        info = sio.whosmat(io.BytesIO(data))
    except Exception as exc:  # scipy raises many types on corrupt headers
        raise RecordingCorruptError(
            f"{where}: the MATLAB v5 file is corrupt or truncated ({type(exc).__name__}: "
            f"{exc}); re-save it in MATLAB with save(..., '-v7')"
        ) from exc
    name, shape, cls = choose_variable(info, variable, where)
    vwhere = f"{where}, variable {name!r}"
    check_declared_size(shape, cls, vwhere, cap_bytes)
    try:
        m = sio.loadmat(io.BytesIO(data), variable_names=[name], squeeze_me=False,
                        struct_as_record=True, chars_as_strings=True, mat_dtype=False)
        value = m[name]
        if sparse.issparse(value):
            value = value.toarray()
        elif isinstance(value, np.ndarray) and value.dtype == object:
            for idx in np.ndindex(value.shape):
                if sparse.issparse(value[idx]):
                    value[idx] = value[idx].toarray()
    except Exception as exc:
        raise RecordingCorruptError(
            f"{vwhere}: could not be read ({type(exc).__name__}: {exc}); the file is corrupt "
            "or truncated"
        ) from exc
    return recording_from_matlab_value(
        value, cls, where=vwhere, time_unit=time_unit, trial_duration_s=trial_duration_s,
        bin_width_s=bin_width_s, axes=axes,
        provenance={"format": "matlab-v5", "variable": name},
    )


def load_mat73(source, *, where, cap_bytes, variable=None, time_unit=None,
               trial_duration_s=None, bin_width_s=None, axes=None):
    """Read a MATLAB v7.3 (HDF5) file from a path or bytes (see the module docstring)."""
    from neurolattice_core.recordings._matlab73 import read_mat73_variable

    value, cls, name = read_mat73_variable(source, where=where, cap_bytes=cap_bytes,
                                           variable=variable)
    return recording_from_matlab_value(
        value, cls, where=f"{where}, variable {name!r}", time_unit=time_unit,
        trial_duration_s=trial_duration_s, bin_width_s=bin_width_s, axes=axes,
        provenance={"format": "matlab-v7.3", "variable": name},
    )
