"""The :class:`Recording`: units, their spike times in seconds, optional trials, provenance.

A recording holds either

- *spike times* (``kind == "spikes"``): one sorted float64 vector of times in seconds per unit,
  stored flat (``spike_times_s`` unit after unit, ``spike_indptr`` of shape (N + 1,), like CSR),
  on one timeline; trials, when present, are intervals ``[start, stop]`` of that timeline with
  optional labels and event times; or
- a *pre-binned raster* (``kind == "raster"``): spike counts of shape (R, N, T) (trials x units
  x bins, R = 1 without trials) with the bin width in seconds (None when the file does not say).

Trial-relative spike times (MATLAB cell arrays units x trials) are laid end to end on a synthetic
timeline: trial r occupies ``[r P, r P + L]`` with ``P = L + 1 s`` (``L`` the trial duration);
the ``"onset"`` event of each trial is its start. The gap keeps a spike at exactly ``L`` (end of
trial r) apart from the first bin of trial r + 1.

Recordings are immutable: arrays are read-only, methods return new recordings.
"""

from dataclasses import dataclass, field, replace

import numpy as np

from neurolattice_core.errors import (
    NoUnitsError,
    ParameterError,
    RecordingCorruptError,
    SpikeTimesError,
)
from neurolattice_core.recordings._checks import check_raster
from neurolattice_core.recordings._timeunits import spike_trains_to_seconds
from neurolattice_core.recordings.trials import Trials, frozen

__all__ = ["Trials", "Recording", "TRIAL_GAP_S", "spike_trains_to_seconds"]  # re-exports

#: Gap in seconds between trials laid end to end on a synthetic timeline.
TRIAL_GAP_S = 1.0


@dataclass(frozen=True, eq=False)
class Recording:
    """Spike data of N units, as spike times (seconds) or a pre-binned count raster.

    Build recordings with :meth:`from_spike_trains`, :meth:`from_trial_spike_trains` or
    :meth:`from_raster`, which validate the data; the loaders in this package use them.

    Parameters
    ----------
    unit_ids : tuple of int or str, length N
        Identifiers of the units as the file gives them (cluster ids, NWB ids, ...).
    unit_labels : tuple of str, length N
        Quality labels ("good", "mua", "unsorted", ...).
    spike_times_s : numpy.ndarray, shape (n_spikes,), float64, or None
        All spike times in seconds, unit after unit, sorted within each unit.
    spike_indptr : numpy.ndarray, shape (N + 1,), int64, or None
        Unit i's spikes are ``spike_times_s[spike_indptr[i]:spike_indptr[i + 1]]``.
    t_start_s, t_stop_s : float
        Extent of the timeline in seconds (for a raster: 0 and R * T * bin, or NaN if the bin
        width is unknown).
    trials : Trials or None
        Trials on the timeline (spike recordings only).
    raster : numpy.ndarray, shape (R, N, T), unsigned int, or None
        Spike counts per bin of a pre-binned recording.
    raster_bin_s : float or None
        Bin width of ``raster`` in seconds, None when unknown.
    provenance : dict
        Where the data came from: source, format, variable, time unit and how it was chosen.
    warnings : tuple of str
        Notes for the user made while loading (detected units, dropped clusters, ...).
    """

    unit_ids: tuple
    unit_labels: tuple
    spike_times_s: np.ndarray | None
    spike_indptr: np.ndarray | None
    t_start_s: float
    t_stop_s: float
    trials: Trials | None = None
    raster: np.ndarray | None = None
    raster_bin_s: float | None = None
    provenance: dict = field(default_factory=dict)
    warnings: tuple = ()

    def __post_init__(self):
        n = len(self.unit_ids)
        if n == 0:
            raise NoUnitsError(f"{self.provenance.get('name', 'recording')}: no units")
        if len(self.unit_labels) != n:
            raise RecordingCorruptError(f"{n} unit ids but {len(self.unit_labels)} unit labels")
        if (self.raster is None) == (self.spike_times_s is None):
            raise ParameterError("a Recording holds either spike times or a raster (not both)")
        if self.raster is not None:
            if self.raster.ndim != 3 or self.raster.shape[1] != n:
                raise RecordingCorruptError(
                    f"raster of shape {self.raster.shape} does not match {n} units"
                )
            object.__setattr__(self, "raster", frozen(self.raster))
        else:
            indptr = np.asarray(self.spike_indptr, dtype=np.int64)
            if indptr.shape != (n + 1,) or indptr[0] != 0 or indptr[-1] != self.spike_times_s.size:
                raise RecordingCorruptError("spike_indptr does not match the spike times")
            object.__setattr__(self, "spike_indptr", frozen(indptr))
            object.__setattr__(self, "spike_times_s", frozen(self.spike_times_s))
        object.__setattr__(self, "unit_ids", tuple(self.unit_ids))
        object.__setattr__(self, "unit_labels", tuple(str(x) for x in self.unit_labels))
        object.__setattr__(self, "warnings", tuple(self.warnings))
        object.__setattr__(self, "provenance", dict(self.provenance))

    # ----------------------------------------------------------------- constructors
    @classmethod
    def from_spike_trains(cls, trains, *, time_unit="s", unit_ids=None, unit_labels=None,
                          t_start_s=0.0, t_stop_s=None, trials=None, provenance=None,
                          warnings=(), where="recording"):
        """Build a recording from one vector of spike times per unit (one timeline).

        Parameters
        ----------
        trains : sequence of array_like, length N
            Raw spike times of each unit, sorted, >= 0.
        time_unit : {'s', 'ms', 'us'} or None
            Unit of the raw times; None detects seconds vs milliseconds (and says so in
            ``warnings``).
        unit_ids, unit_labels : sequence, optional
            Default ``0..N-1`` and ``"unsorted"``.
        t_start_s, t_stop_s : float
            Extent of the timeline in seconds; ``t_stop_s`` defaults to the last spike (or last
            trial stop).
        trials : Trials, optional
            Trials on the timeline (already in seconds).
        provenance : dict, optional
        warnings : sequence of str
        where : str
            Location prefix for error messages (file name).

        Raises
        ------
        NoUnitsError, SpikeTimesError
        """
        trains = list(trains)
        if not trains:
            raise NoUnitsError(f"{where}: the recording holds no units; nothing to load")
        ids = tuple(range(len(trains))) if unit_ids is None else tuple(unit_ids)
        sec, unit, how, notes = spike_trains_to_seconds(
            trains, time_unit, [f"{where}, unit {u!r}" for u in ids], where
        )
        return cls.from_seconds(
            sec, unit=unit, how=how, unit_ids=ids, unit_labels=unit_labels,
            t_start_s=t_start_s, t_stop_s=t_stop_s, trials=trials, provenance=provenance,
            warnings=tuple(warnings) + tuple(notes),
        )

    @classmethod
    def from_seconds(cls, sec, *, unit="s", how="given", unit_ids=None, unit_labels=None,
                     t_start_s=0.0, t_stop_s=None, trials=None, provenance=None, warnings=()):
        """Build a recording from spike trains already validated and converted to seconds.

        Used by the loaders after :func:`spike_trains_to_seconds`; ``unit`` and ``how`` record
        the original unit and how it was chosen in the provenance.
        """
        ids = tuple(range(len(sec))) if unit_ids is None else tuple(unit_ids)
        indptr = np.zeros(len(sec) + 1, dtype=np.int64)
        indptr[1:] = np.cumsum([t.size for t in sec])
        flat = np.concatenate(sec) if sec else np.zeros(0)
        last = max([float(t[-1]) for t in sec if t.size] + [t_start_s])
        if trials is not None:
            last = max(last, float(trials.stop_s.max()))
        prov = dict(provenance or {})
        prov.update(time_unit=unit, time_unit_source=how)
        return cls(
            unit_ids=ids,
            unit_labels=("unsorted",) * len(ids) if unit_labels is None else tuple(unit_labels),
            spike_times_s=flat, spike_indptr=indptr,
            t_start_s=float(t_start_s), t_stop_s=float(last if t_stop_s is None else t_stop_s),
            trials=trials, provenance=prov, warnings=tuple(warnings),
        )

    @classmethod
    def from_trial_spike_trains(cls, cells, *, time_unit="s", trial_duration_s=None,
                                unit_ids=None, unit_labels=None, trial_labels=None,
                                provenance=None, warnings=(), where="recording"):
        """Build a recording from trial-relative spike times ``cells[i][r]`` (units x trials).

        Times are relative to each trial's onset. Trials are laid end to end on a synthetic
        timeline (see the module docstring); the event ``"onset"`` marks each trial's start.

        Parameters
        ----------
        cells : sequence (N) of sequences (R) of array_like
            Raw spike times of unit i in trial r.
        time_unit : {'s', 'ms', 'us'} or None
            Unit of the raw times; None detects it.
        trial_duration_s : float, optional
            Length L of every trial in seconds. Default: the latest spike time (stated in
            ``warnings``). Spikes after L are kept on the timeline but fall outside the trials.
        unit_ids, unit_labels, trial_labels, provenance, warnings, where
            As in :meth:`from_spike_trains`.

        Raises
        ------
        NoUnitsError, SpikeTimesError, ParameterError
        """
        cells = [list(row) for row in cells]
        if not cells:
            raise NoUnitsError(f"{where}: the recording holds no units; nothing to load")
        n_trials = len(cells[0])
        if n_trials == 0 or any(len(row) != n_trials for row in cells):
            raise RecordingCorruptError(
                f"{where}: every unit needs the same number (>= 1) of trials"
            )
        ids = tuple(range(len(cells))) if unit_ids is None else tuple(unit_ids)
        flat_raw = [c for row in cells for c in row]
        names = [f"{where}, unit {ids[i]!r} (row {i}), trial {r} (0-based)"
                 for i in range(len(cells)) for r in range(n_trials)]
        flat_cells, unit, how, notes = spike_trains_to_seconds(flat_raw, time_unit, names, where)
        latest = max([float(c[-1]) for c in flat_cells if c.size] + [0.0])
        notes = list(notes)
        if trial_duration_s is None:
            if latest <= 0:
                raise SpikeTimesError(
                    f"{where}: no spike in any trial, so the trial duration cannot be inferred; "
                    "pass trial_duration_s"
                )
            length = latest
            notes.append(f"trial duration not stored in the file; taken as the latest spike "
                         f"time, {length:.6g} s (pass trial_duration_s to set it)")
        else:
            length = float(trial_duration_s)
            if not (np.isfinite(length) and length > 0):
                raise ParameterError(f"trial_duration_s must be > 0; got {trial_duration_s}")
            late = sum(int(np.sum(c > length * (1 + 1e-12))) for c in flat_cells)
            if late:
                notes.append(f"{late} spikes lie after the trial duration {length:g} s and "
                             "fall outside the trials")
        period = max(length, latest) + TRIAL_GAP_S
        starts = np.arange(n_trials, dtype=np.float64) * period
        raw = [flat_cells[i * n_trials:(i + 1) * n_trials] for i in range(len(cells))]
        trains = [np.concatenate([starts[r] + c for r, c in enumerate(row)]) for row in raw]
        trials = Trials(starts, starts + length, trial_labels, {"onset": starts})
        prov = dict(provenance or {})
        prov.update(timeline="synthetic: trials laid end to end, "
                    f"trial r starts at r * {period:g} s")
        return cls.from_seconds(
            trains, unit=unit, how=how, unit_ids=ids, unit_labels=unit_labels, t_start_s=0.0,
            t_stop_s=float(starts[-1] + max(length, latest)), trials=trials, provenance=prov,
            warnings=tuple(warnings) + tuple(notes),
        )

    @classmethod
    def from_raster(cls, raster, bin_width_s=None, *, unit_ids=None, unit_labels=None,
                    provenance=None, warnings=(), where="raster"):
        """Build a recording from a pre-binned raster of spike counts.

        Parameters
        ----------
        raster : array_like, shape (N, T) or (R, N, T)
            Spike counts (bool, integer, or integer-valued float), units x bins or trials x
            units x bins.
        bin_width_s : float, optional
            Bin width in seconds; None when unknown.

        Raises
        ------
        RasterValueError, NoUnitsError, ParameterError
        """
        counts = check_raster(raster, where)
        if counts.ndim == 2:
            counts = counts[None]
        if counts.ndim != 3:
            raise RecordingCorruptError(
                f"{where}: a raster must be 2-D (units x bins) or 3-D (trials x units x bins); "
                f"got shape {np.shape(raster)}"
            )
        if counts.shape[1] == 0:
            raise NoUnitsError(f"{where}: the raster holds no units (shape {counts.shape})")
        if bin_width_s is not None:
            bin_width_s = float(bin_width_s)
            if not (np.isfinite(bin_width_s) and bin_width_s > 0):
                raise RecordingCorruptError(
                    f"{where}: bin width must be a number > 0 s; got {bin_width_s}"
                )
        r, n, t = counts.shape
        notes = list(warnings)
        if counts.max() <= 1:
            notes.append("the raster is binary: spikes lost by binarisation cannot be counted "
                         "(multi-spike fraction is 0 by construction)")
        if bin_width_s is None:
            notes.append("the raster's bin width is not stored in the file; pass it "
                         "(bin_width_s) to get rates in Hz")
        ids = tuple(range(n)) if unit_ids is None else tuple(unit_ids)
        stop = r * t * bin_width_s if bin_width_s is not None else float("nan")
        return cls(
            unit_ids=ids,
            unit_labels=("unsorted",) * n if unit_labels is None else tuple(unit_labels),
            spike_times_s=None, spike_indptr=None, t_start_s=0.0, t_stop_s=stop,
            raster=counts, raster_bin_s=bin_width_s, provenance=dict(provenance or {}),
            warnings=tuple(notes),
        )

    # ----------------------------------------------------------------- properties
    @property
    def kind(self):
        """``"spikes"`` (spike times) or ``"raster"`` (pre-binned counts)."""
        return "raster" if self.raster is not None else "spikes"

    @property
    def n_units(self):
        """Number of units N."""
        return len(self.unit_ids)

    @property
    def n_trials(self):
        """Number of trials R (0 for spike times without trials; raster: its first axis)."""
        if self.raster is not None:
            return int(self.raster.shape[0])
        return 0 if self.trials is None else self.trials.n_trials

    @property
    def n_spikes(self):
        """Total number of spikes (for a raster: sum of counts)."""
        if self.raster is not None:
            return int(self.raster.sum(dtype=np.int64))
        return int(self.spike_times_s.size)

    @property
    def duration_s(self):
        """Length of the timeline in seconds (NaN for a raster of unknown bin width)."""
        return float(self.t_stop_s - self.t_start_s)

    def spike_counts(self):
        """Spikes per unit, int64 array of shape (N,)."""
        if self.raster is not None:
            return self.raster.sum(axis=(0, 2), dtype=np.int64)
        return np.diff(self.spike_indptr)

    def unit_spike_times(self, i):
        """Spike times in seconds of unit ``i`` (position 0..N-1), a read-only view."""
        if self.raster is not None:
            raise ParameterError("a pre-binned raster has no spike times")
        return self.spike_times_s[self.spike_indptr[i]:self.spike_indptr[i + 1]]

    # ----------------------------------------------------------------- derived recordings
    def with_provenance(self, **items):
        """Return a copy with provenance entries added or replaced."""
        prov = dict(self.provenance)
        prov.update(items)
        return replace(self, provenance=prov)

    def with_warnings(self, *notes):
        """Return a copy with extra warnings appended."""
        return replace(self, warnings=self.warnings + tuple(notes))

    def with_raster_bin_width(self, bin_width_s):
        """Return a copy of a raster recording with its bin width set (seconds)."""
        if self.raster is None:
            raise ParameterError("only a pre-binned raster has a bin width to set")
        w = float(bin_width_s)
        if not (np.isfinite(w) and w > 0):
            raise ParameterError(f"bin_width_s must be > 0; got {bin_width_s}")
        r, _, t = self.raster.shape
        return replace(self, raster_bin_s=w, t_stop_s=r * t * w)

    def subset_units(self, keep):
        """Return the recording restricted to units at positions ``keep`` (in that order).

        Parameters
        ----------
        keep : sequence of int
            Unit positions 0..N-1 (not ids), e.g. everything except the proposed exclusions.
        """
        keep = np.asarray(keep, dtype=np.int64).reshape(-1)
        if keep.size == 0:
            raise NoUnitsError("subset_units: keep at least one unit")
        if keep.min() < 0 or keep.max() >= self.n_units:
            raise ParameterError(f"subset_units: positions must lie in 0..{self.n_units - 1}")
        ids = tuple(self.unit_ids[i] for i in keep)
        labels = tuple(self.unit_labels[i] for i in keep)
        if self.raster is not None:
            return replace(self, unit_ids=ids, unit_labels=labels, raster=self.raster[:, keep])
        parts = [self.unit_spike_times(i) for i in keep]
        indptr = np.zeros(keep.size + 1, dtype=np.int64)
        indptr[1:] = np.cumsum([p.size for p in parts])
        return replace(self, unit_ids=ids, unit_labels=labels,
                       spike_times_s=np.concatenate(parts), spike_indptr=indptr)

    def summary(self):
        """A short JSON-ready description (no per-spike data)."""
        return {
            "kind": self.kind,
            "units": self.n_units,
            "trials": self.n_trials,
            "spikes": self.n_spikes,
            "duration_s": None if np.isnan(self.duration_s) else self.duration_s,
            "raster_bin_s": self.raster_bin_s,
            "provenance": {k: v for k, v in self.provenance.items()},
            "warnings": list(self.warnings),
        }
