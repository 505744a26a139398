"""NumPy ``.npz`` (and single ``.npy``) recordings, read without unpickling.

Two layouts of ``.npz`` are accepted (keys are array names given to ``numpy.savez``):

Spike times
    ``spike_times`` (n,) and ``spike_units`` (n,) (the unit id of each spike; alias
    ``spike_clusters``); optional ``unit_ids`` (N,) listing every unit (silent ones too, in
    order), ``unit_labels`` (N,) strings, ``time_unit`` (0-d string: 's', 'ms' or 'us'),
    ``t_stop`` (scalar, same unit as the times). Optional trials: ``trial_start``,
    ``trial_stop`` (R,), ``trial_labels`` (R,) strings and any ``trial_event_<name>`` (R,),
    all in the unit of the spike times.
Pre-binned raster
    ``raster``: (N, T) units x bins or (R, N, T) trials x units x bins of spike counts (bool,
    integer or integer-valued float); optional ``bin_width_s`` (or ``bin_ms``) scalar and
    ``unit_ids`` (N,). Another stored axis order is given with ``axes="bins,units"`` etc.

A single ``.npy`` file is read as a raster (same ``axes`` and ``bin_width_s`` options).
Object arrays are refused (never unpickled); string arrays are allowed only for ids and labels.
"""

import numpy as np

from neurolattice_core.errors import ParameterError, RecordingFormatError, SpikeTimesError
from neurolattice_core.recordings._checks import arrange_raster, check_raster
from neurolattice_core.recordings._npy import read_npy_bytes, read_zip_members
from neurolattice_core.recordings._timeunits import TIME_UNIT_SCALES, normalize_time_unit
from neurolattice_core.recordings.recording import Recording, Trials, spike_trains_to_seconds

__all__ = ["load_npz", "load_npy"]

_STRING_KEYS = {"unit_ids", "unit_labels", "trial_labels", "time_unit", "spike_units",
                "spike_clusters"}


def load_npz(data, *, where, cap_bytes, time_unit=None, bin_width_s=None, axes=None):
    """Read an ``.npz`` archive held in memory (see the module docstring for its keys).

    Parameters
    ----------
    data : bytes
    where : str
        Name used in messages.
    cap_bytes : int
        Largest total uncompressed size.
    time_unit : {'s', 'ms', 'us'} or None
        Unit of spike times (overrides the ``time_unit`` key); None detects it.
    bin_width_s : float, optional
        Bin width of a raster in seconds (overrides the file's ``bin_width_s``).
    axes : str, optional
        Stored axis order of a raster.

    Returns
    -------
    Recording

    Raises
    ------
    RecordingError (subclasses)
    """
    members = read_zip_members(data, where, cap_bytes)
    arrays = {}
    for name, content in members.items():
        if not name.endswith(".npy"):
            raise RecordingFormatError(
                f"{where}: member {name!r} is not a .npy array; an .npz holds only arrays "
                "saved by numpy.savez"
            )
        key = name[:-4]
        arrays[key] = read_npy_bytes(content, f"{where}[{key!r}]",
                                     allow_strings=key in _STRING_KEYS)
    if "raster" in arrays:
        return _raster_from_npz(arrays, where, bin_width_s, axes)
    if "spike_times" in arrays:
        return _spikes_from_npz(arrays, where, time_unit)
    raise RecordingFormatError(
        f"{where}: found arrays {sorted(arrays)} but neither 'spike_times' (with "
        "'spike_units') nor 'raster'; save one of the two layouts described in the docs"
    )


def load_npy(data, *, where, bin_width_s=None, axes=None):
    """Read a single ``.npy`` array as a raster of spike counts."""
    a = check_raster(read_npy_bytes(data, where), where)
    rec = Recording.from_raster(arrange_raster(a, axes, where), bin_width_s, where=where,
                                provenance={"format": "npy", "axes": axes})
    return rec


def _scalar(arrays, key, where, kind=float):
    a = arrays[key]
    if a.size != 1:
        raise RecordingFormatError(f"{where}[{key!r}]: expected one value, got shape {a.shape}")
    return kind(a.reshape(-1)[0])


def _raster_from_npz(arrays, where, bin_width_s, axes):
    if "spike_times" in arrays:
        raise RecordingFormatError(
            f"{where}: holds both 'raster' and 'spike_times'; keep one layout per file"
        )
    if bin_width_s is None and "bin_width_s" in arrays:
        bin_width_s = _scalar(arrays, "bin_width_s", where)
    elif bin_width_s is None and "bin_ms" in arrays:
        bin_width_s = _scalar(arrays, "bin_ms", where) / 1000.0
    counts = check_raster(arrays["raster"], f"{where}['raster']")
    counts = arrange_raster(counts, axes, f"{where}['raster']")
    ids = None
    if "unit_ids" in arrays:
        ids = _ids(arrays["unit_ids"], counts.shape[1], where)
    return Recording.from_raster(
        counts, bin_width_s, unit_ids=ids, where=f"{where}['raster']",
        provenance={"format": "npz-raster", "axes": axes},
    )


def _ids(a, n, where):
    a = a.reshape(-1)
    if a.size != n:
        raise RecordingFormatError(
            f"{where}['unit_ids']: {a.size} ids for {n} units; give one id per unit"
        )
    if a.dtype.kind in "iub":
        return tuple(int(x) for x in a)
    return tuple(str(x) for x in a)


def _spikes_from_npz(arrays, where, time_unit):
    times = arrays["spike_times"]
    ukey = "spike_units" if "spike_units" in arrays else "spike_clusters"
    if ukey not in arrays:
        raise RecordingFormatError(
            f"{where}: 'spike_times' needs 'spike_units' (the unit id of each spike)"
        )
    units = arrays[ukey].reshape(-1)
    times = times.reshape(-1) if times.ndim <= 2 and min(times.shape or (1,)) <= 1 else times
    if times.ndim != 1 or times.size != units.size:
        raise RecordingFormatError(
            f"{where}: 'spike_times' (shape {arrays['spike_times'].shape}) and '{ukey}' "
            f"(shape {arrays[ukey].shape}) must be vectors of the same length"
        )
    if times.dtype.kind not in "iuf":
        raise SpikeTimesError(f"{where}['spike_times']: dtype {times.dtype} is not numeric")
    unit = normalize_time_unit(time_unit)
    if unit is None and "time_unit" in arrays:
        value = _scalar(arrays, "time_unit", where, str)
        try:
            unit = normalize_time_unit(value, "the file's 'time_unit'")
        except ParameterError as exc:
            raise RecordingFormatError(f"{where}: {exc}") from None
    if units.dtype.kind not in "iubU":
        raise RecordingFormatError(
            f"{where}['{ukey}']: unit ids must be integers or strings, got dtype {units.dtype}"
        )
    if "unit_ids" in arrays:
        listed = arrays["unit_ids"].reshape(-1)
        ids = _ids(listed, listed.size, where)
        if len(set(ids)) != len(ids):
            raise RecordingFormatError(f"{where}['unit_ids']: ids are not unique")
        if (listed.dtype.kind == "U") != (units.dtype.kind == "U"):
            raise RecordingFormatError(
                f"{where}: 'unit_ids' and '{ukey}' must both be integers or both strings"
            )
        sorter = np.argsort(listed, kind="stable")
        pos = np.searchsorted(listed[sorter], units)
        pos = np.minimum(pos, listed.size - 1)
        found = listed[sorter][pos] == units
        if not found.all():
            k = int(np.argmin(found))
            raise RecordingFormatError(
                f"{where}: spike {k} (0-based) has unit {units[k]!r}, which 'unit_ids' does "
                "not list; list every unit in 'unit_ids' or drop that key"
            )
        inverse = sorter[pos]
    else:
        uniq, inverse = np.unique(units, return_inverse=True)
        conv = str if units.dtype.kind == "U" else int
        ids = tuple(conv(u) for u in uniq)
    order = np.argsort(inverse, kind="stable")
    bounds = np.searchsorted(inverse[order], np.arange(len(ids) + 1))
    t_sorted = times[order]
    trains = [t_sorted[bounds[i]:bounds[i + 1]] for i in range(len(ids))]
    labels = None
    if "unit_labels" in arrays:
        labels = tuple(str(x) for x in _ids(arrays["unit_labels"], len(ids), where))
    sec, unit, how, notes = spike_trains_to_seconds(
        trains, unit, [f"{where}, unit {u!r}" for u in ids], where
    )
    scale = TIME_UNIT_SCALES[unit]
    trials = None
    if "trial_start" in arrays or "trial_stop" in arrays:
        if not ("trial_start" in arrays and "trial_stop" in arrays):
            raise RecordingFormatError(f"{where}: give both 'trial_start' and 'trial_stop'")
        events = {k[len("trial_event_"):]: _times(arrays[k], where, k) * scale
                  for k in arrays if k.startswith("trial_event_")}
        tl = arrays.get("trial_labels")
        trials = Trials(_times(arrays["trial_start"], where, "trial_start") * scale,
                        _times(arrays["trial_stop"], where, "trial_stop") * scale,
                        None if tl is None else tuple(str(x) for x in tl.reshape(-1)), events)
    t_stop = None
    if "t_stop" in arrays:
        t_stop = _scalar(arrays, "t_stop", where) * scale
        last = max([float(t[-1]) for t in sec if t.size] + [0.0])
        if not (np.isfinite(t_stop) and t_stop >= last):
            raise RecordingFormatError(
                f"{where}['t_stop']: {t_stop!r} s must be finite and after the last spike "
                f"({last:g} s); fix or drop it"
            )
    return Recording.from_seconds(
        sec, unit=unit, how=how, unit_ids=ids, unit_labels=labels, trials=trials,
        t_stop_s=t_stop, warnings=notes, provenance={"format": "npz-spikes"},
    )


def _times(a, where, key):
    if a.dtype.kind not in "iuf":
        raise RecordingFormatError(f"{where}[{key!r}]: dtype {a.dtype} is not numeric")
    return a.astype(np.float64).reshape(-1)
