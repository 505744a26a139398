"""NWB files (Neurodata Without Borders, HDF5) read lazily through pynwb.

Only the Units table (ids, ``spike_times``, a label column) and the trials table are read.
Waveforms, acquisition and processing data are never touched: pynwb maps datasets lazily and
this module reads only ``units/id``, ``units/spike_times(_index)``, the label column and the
trials columns. :func:`list_nwb_units` reads ids, labels and spike counts (from the ragged
index) without reading a single spike time.

Unit labels come from ``label_column`` or the first present of ``quality``, ``label``,
``KSLabel``, ``group``; ``labels`` keeps only units with those labels (``"noise"`` is kept
unless excluded: NWB has no standard for it). Trials: ``start_time``, ``stop_time``, a label
column (``trial_label_column`` or the first text column) and, as events, every numeric column
whose name contains ``time``. NWB times are in seconds.
"""

import io
import os
import warnings

import numpy as np

from neurolattice_core.errors import (
    NoUnitsError,
    RecordingCorruptError,
    RecordingError,
    RecordingFormatError,
    RecordingTooLargeError,
)
from neurolattice_core.recordings.recording import Recording, Trials, spike_trains_to_seconds

__all__ = ["list_nwb_units", "load_nwb", "LABEL_COLUMNS"]

#: Units-table columns tried, in order, for the unit label.
LABEL_COLUMNS = ("quality", "label", "KSLabel", "group")


class _NwbReader:
    """Context manager opening an NWB file read-only and giving its NWBFile (lazily mapped)."""

    def __init__(self, source, where):
        self.source = source
        self.where = where
        self.notes = []

    def __enter__(self):
        import h5py

        fileobj = io.BytesIO(self.source) if isinstance(self.source, bytes | bytearray) \
            else os.fspath(self.source)
        try:
            self.h5 = h5py.File(fileobj, "r")
        except Exception as exc:  # OSError and others on corrupt or truncated files
            raise RecordingCorruptError(
                f"{self.where}: the HDF5/NWB file cannot be opened ({type(exc).__name__}: "
                f"{exc}); it is corrupt or truncated"
            ) from exc
        try:
            if "nwb_version" not in self.h5.attrs:
                raise RecordingFormatError(
                    f"{self.where}: an HDF5 file without the 'nwb_version' attribute is not NWB; "
                    "plain HDF5 is not supported (save spike times as NWB, .npz or .mat)"
                )
            from pynwb import NWBHDF5IO

            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                self.io = NWBHDF5IO(file=self.h5, mode="r", load_namespaces=True)
                self.nwb = self.io.read()
            self.notes = [f"NWB reader: {w.message}" for w in caught]
        except RecordingError:
            self.h5.close()
            raise
        except Exception as exc:  # pynwb/hdmf raise many types on invalid files
            self.h5.close()
            raise RecordingCorruptError(
                f"{self.where}: the NWB file is invalid ({type(exc).__name__}: {exc})"
            ) from exc
        return self

    def __exit__(self, *exc):
        try:
            self.io.close()
        finally:
            self.h5.close()
        return False


def _units_table(nwb, where):
    units = nwb.units
    if units is None or len(units.id) == 0:
        raise NoUnitsError(
            f"{where}: the NWB file has no Units table (or it is empty); spike-sorted units "
            "must be stored in nwbfile.units"
        )
    if "spike_times" not in units.colnames:
        raise NoUnitsError(f"{where}: the Units table has no 'spike_times' column")
    return units


def _text(values):
    return [v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in values]


def _unit_labels(units, label_column, where):
    names = (label_column,) if label_column else LABEL_COLUMNS
    for name in names:
        if name in units.colnames:
            col = units[name]
            if type(col).__name__ == "VectorIndex":
                continue
            return _text(col.data[:]), name
    if label_column:
        raise RecordingFormatError(
            f"{where}: the Units table has no column {label_column!r}; columns: "
            f"{list(units.colnames)}"
        )
    return ["unsorted"] * len(units.id), None


def _ids(units):
    ids = np.asarray(units.id.data[:])
    return [int(i) for i in ids]


def list_nwb_units(source, *, where=None, label_column=None, isolate=None):
    """List an NWB file's units without reading their spike times.

    Parameters
    ----------
    source : str, os.PathLike or bytes
    where : str, optional
        Name for messages.
    label_column : str, optional
        Units-table column holding the label.
    isolate : bool, optional
        Read in the worker process (default :data:`._isolate.ISOLATE_READERS`).

    Returns
    -------
    dict
        ``unit_ids`` (list of int), ``unit_labels`` (list of str), ``n_spikes`` (list of int,
        from the ragged index), ``columns`` (list of str), ``has_trials`` (bool).
    """
    where = where or (os.fspath(source) if not isinstance(source, bytes) else "<bytes>")
    from neurolattice_core.recordings import _isolate

    if _isolate.ISOLATE_READERS if isolate is None else isolate:
        return _isolate.run_isolated(
            list_nwb_units, (source,),
            {"where": where, "label_column": label_column, "isolate": False}, where=where,
        )
    with _NwbReader(source, where) as rd:
        try:
            units = _units_table(rd.nwb, where)
            labels, _ = _unit_labels(units, label_column, where)
            ends = np.asarray(units["spike_times"].data[:], dtype=np.int64)
            return {
                "unit_ids": _ids(units),
                "unit_labels": labels,
                "n_spikes": np.diff(np.concatenate([[0], ends])).tolist(),
                "columns": list(units.colnames),
                "has_trials": rd.nwb.trials is not None,
            }
        except RecordingError:
            raise
        except Exception as exc:
            raise RecordingCorruptError(
                f"{where}: the Units table is invalid ({type(exc).__name__}: {exc})"
            ) from exc


def _trials(nwb, trial_label_column, where):
    tr = nwb.trials
    if tr is None or len(tr.id) == 0:
        return None
    start = np.asarray(tr["start_time"].data[:], dtype=np.float64)
    stop = np.asarray(tr["stop_time"].data[:], dtype=np.float64)
    labels, events = None, {}
    for name in tr.colnames:
        if name in ("start_time", "stop_time"):
            continue
        col = tr[name]
        if type(col).__name__ == "VectorIndex":
            continue
        data = np.asarray(col.data[:])
        if data.ndim != 1:
            continue
        if data.dtype.kind in "iuf" and "time" in name:
            events[name] = data.astype(np.float64)
        elif data.dtype.kind in "OSU" and labels is None and (
            trial_label_column in (None, name)
        ):
            labels = _text(data)
    if trial_label_column and labels is None:
        raise RecordingFormatError(
            f"{where}: the trials table has no text column {trial_label_column!r}; columns: "
            f"{list(tr.colnames)}"
        )
    return Trials(start, stop, labels, events)


def load_nwb(source, *, where, cap_bytes, labels=None, label_column=None,
             trial_label_column=None):
    """Read an NWB file's units and trials (see the module docstring).

    Parameters
    ----------
    source : str, os.PathLike or bytes
    where : str
        Name for messages.
    cap_bytes : int
        Largest number of bytes of spike times read (the file itself may be much larger:
        acquisition data are never read).
    labels : sequence of str, optional
        Keep only units with these labels.
    label_column, trial_label_column : str, optional

    Returns
    -------
    Recording
    """
    with _NwbReader(source, where) as rd:
        try:
            units = _units_table(rd.nwb, where)
            unit_labels, label_col = _unit_labels(units, label_column, where)
            ids = _ids(units)
            index = units["spike_times"]
            data = index.target.data
            nbytes = int(data.size) * int(data.dtype.itemsize)
            if nbytes > cap_bytes:
                raise RecordingTooLargeError(
                    f"{where}: the spike times take {nbytes} bytes, above the cap of {cap_bytes} "
                    "bytes; raise size_cap_bytes if you mean to load them"
                )
            ends = np.asarray(index.data[:], dtype=np.int64)
            times = np.asarray(data[:])
            trials = _trials(rd.nwb, trial_label_column, where)
        except RecordingError:
            raise
        except Exception as exc:
            raise RecordingCorruptError(
                f"{where}: the Units/trials tables are invalid ({type(exc).__name__}: {exc})"
            ) from exc
        notes = list(rd.notes)
    if ends.size != len(ids) or (ends.size and (np.any(np.diff(ends) < 0) or ends[-1] != times.size
                                                or ends[0] < 0)):
        raise RecordingCorruptError(
            f"{where}: units/spike_times_index does not match spike_times ({ends.size} units, "
            f"{times.size} spikes)"
        )
    starts = np.concatenate([[0], ends[:-1]])
    keep = [k for k, lab in enumerate(unit_labels) if labels is None or lab in labels]
    if not keep:
        raise NoUnitsError(
            f"{where}: no unit has a label in {sorted(labels)}; labels present: "
            f"{sorted(set(unit_labels))}"
        )
    if len(keep) < len(ids):
        notes.append(f"{len(ids) - len(keep)} unit(s) dropped by label")
    trains = [times[starts[k]:ends[k]] for k in keep]
    sec, unit, how, _ = spike_trains_to_seconds(
        trains, "s", [f"{where}, unit id {ids[k]}" for k in keep], where
    )
    return Recording.from_seconds(
        sec, unit=unit, how="NWB stores seconds", unit_ids=[ids[k] for k in keep],
        unit_labels=[unit_labels[k] for k in keep], trials=trials, warnings=notes,
        provenance={"format": "nwb", "label_column": label_col},
    )
