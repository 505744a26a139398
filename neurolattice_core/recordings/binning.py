"""Binning a recording into lattice fields: per-trial rasters (trials x units x ticks).

Conventions
-----------
- Each trial r gives an anchor ``A_r``: the trial start, or the time of the event named by
  ``align`` (``"start"``, ``"stop"`` or a trial event such as ``"onset"``). The window
  ``(a, b)`` is relative to the anchor; by default it is the part common to every trial
  (``max_r(start_r - A_r)``, ``min_r(stop_r - A_r)``). Without trials the whole recording is
  one trial, or consecutive segments of ``segment_s`` seconds are the trials.
- ``T = floor((b - a) / bin_s)`` ticks; bin k of trial r is ``[A_r + a + k w, A_r + a +
  (k + 1) w)`` with ``w = bin_s``. The last bin also takes a spike at exactly its right edge
  (``close_last_bin=True``, like :func:`numpy.histogram`; off for segments, whose edges are
  shared).
- Edge tolerance: the bin index is ``floor((t - A_r - a) / w + tol)``, so a spike within
  ``tol * w`` before an edge (floating-point error of a spike that is *on* the edge, e.g.
  0.66 s / 0.02 s = 32.999999...) lands in the bin that starts at that edge. The default
  ``tol = 1e-6`` is 20 ns for 20 ms bins, far below any sampling period.
- ``counts`` (uint16, or uint32 when a unit has more than 65535 spikes) holds spikes per bin;
  ``binary`` (uint8) is ``counts > 0`` (the lattice-gas field psi of MODEL.md section 1).
  ``multi_spike_fraction`` = occupied bins holding more than one spike / occupied bins: the
  fraction of occupied bins whose count binarisation truncates.
- A pre-binned raster is re-binned by summing groups of ``bin_s / native_bin`` bins (an
  integer); it cannot be split finer or aligned to events.
"""

import math
from dataclasses import dataclass

import numpy as np
import param

from neurolattice_core.errors import BinningError

__all__ = ["BinnedRecording", "BinningParams", "bin_recording", "MAX_LATTICE_CELLS"]

#: Largest number of lattice sites R * N * T a binning may create (memory guard).
MAX_LATTICE_CELLS = 400_000_000


@dataclass(frozen=True, eq=False)
class BinnedRecording:
    """Per-trial rasters of a recording.

    Attributes
    ----------
    binary : numpy.ndarray, shape (R, N, T), uint8
        1 where the unit spiked at least once in the bin.
    counts : numpy.ndarray, shape (R, N, T), uint16 or uint32
        Spikes per bin.
    bin_s : float
        Bin width in seconds.
    window_s : tuple of float
        ``(a, a + T * bin_s)``, relative to the anchors.
    align : str or None
        Event the trials are aligned to (None: trial start or recording start).
    anchors_s : numpy.ndarray, shape (R,), float64
        Anchor time of each trial on the recording's timeline (NaN for rasters of unknown
        bin width).
    unit_ids, unit_labels, trial_labels : tuple
    multi_spike_fraction : float
        Occupied bins with more than one spike / occupied bins (0 when no bin is occupied).
    n_spikes_binned : int
        Spikes counted (a spike inside two overlapping windows counts twice).
    n_spikes_outside : int
        Spikes of the recording that lie in no window.
    warnings : tuple of str
    """

    binary: np.ndarray
    counts: np.ndarray
    bin_s: float
    window_s: tuple
    align: str | None
    anchors_s: np.ndarray
    unit_ids: tuple
    unit_labels: tuple
    trial_labels: tuple | None
    multi_spike_fraction: float
    n_spikes_binned: int
    n_spikes_outside: int
    warnings: tuple = ()

    @property
    def shape(self):
        """(R, N, T)."""
        return self.binary.shape

    def spins(self):
        """Spins ``s = 2 psi - 1`` of shape (R, N, T), int8 (the engine's convention).

        Computed by :func:`neurolattice_core.observables.as_spins`, the conversion every
        observable of recorded trials goes through.
        """
        from neurolattice_core.observables import as_spins

        return as_spins(self.binary)


class BinningParams(param.Parameterized):
    """Binning settings (declared once; the app builds its widgets from them)."""

    bin_ms = param.Number(20.0, bounds=(1e-3, 3.6e6), softbounds=(1.0, 100.0),
                          label="Bin width (ms)", doc="Bin width (tick) in milliseconds.")
    window_start_s = param.Number(None, allow_None=True, label="Window start (s)",
                                  doc="Window start relative to the anchor, s (None: default).")
    window_stop_s = param.Number(None, allow_None=True, label="Window stop (s)",
                                 doc="Window stop relative to the anchor, s (None: default).")
    align = param.String(None, allow_None=True, label="Align trials to",
                         doc="Trial event to align to ('start', 'stop' or an event name).")
    segment_s = param.Number(None, allow_None=True, bounds=(1e-3, None),
                             doc="Cut a recording without trials into segments of this length.")
    edge_tolerance = param.Number(1e-6, bounds=(0.0, 0.01),
                                  doc="Spikes within this fraction of a bin before an edge "
                                      "belong to the bin after it.")

    def bin(self, recording):
        """Bin ``recording`` with these settings (see :func:`bin_recording`)."""
        window = None
        if self.window_start_s is not None or self.window_stop_s is not None:
            window = (self.window_start_s, self.window_stop_s)
        return bin_recording(recording, self.bin_ms / 1000.0, window=window, align=self.align,
                             segment_s=self.segment_s, edge_tolerance=self.edge_tolerance)


def _check_bin(bin_s):
    if not (isinstance(bin_s, int | float | np.floating | np.integer) and math.isfinite(bin_s)
            and bin_s > 0):
        raise BinningError(f"bin width must be a finite number of seconds > 0; got {bin_s!r}")
    return float(bin_s)


def _anchors(rec, align, segment_s):
    """Return (anchors (R,), default window (a, b), trial labels, close_last, notes)."""
    tr = rec.trials
    if tr is None:
        if align is not None:
            raise BinningError(
                f"align={align!r} needs trials, and this recording has none; drop align or load "
                "a file with a trials table"
            )
        dur = rec.t_stop_s - rec.t_start_s
        if segment_s is None:
            return np.array([rec.t_start_s]), (0.0, dur), None, True, []
        seg = float(segment_s)
        if not (math.isfinite(seg) and seg > 0):
            raise BinningError(f"segment_s must be > 0 s; got {segment_s!r}")
        n = int(math.floor(dur / seg + 1e-9))
        if n < 1:
            raise BinningError(
                f"segment_s = {seg:g} s is longer than the recording ({dur:g} s); choose a "
                "shorter segment"
            )
        return rec.t_start_s + seg * np.arange(n), (0.0, seg), None, False, []
    if segment_s is not None:
        raise BinningError("segment_s applies only to recordings without trials")
    if align is None or align == "start":
        anchors = tr.start_s
    elif align == "stop":
        anchors = tr.stop_s
    elif align in tr.events:
        anchors = tr.events[align]
    else:
        raise BinningError(
            f"no trial event {align!r}; events: {['start', 'stop', *sorted(tr.events)]}"
        )
    bad = ~np.isfinite(anchors)
    if bad.any():
        raise BinningError(
            f"event {align!r} is missing (NaN) in trial(s) {np.flatnonzero(bad)[:10].tolist()} "
            "(0-based); align to another event or drop those trials"
        )
    window = (float(np.max(tr.start_s - anchors)), float(np.min(tr.stop_s - anchors)))
    notes = []
    lengths = tr.stop_s - tr.start_s
    if lengths.max() - lengths.min() > 1e-9 * max(1.0, lengths.max()):
        notes.append(f"trials last {lengths.min():.6g} to {lengths.max():.6g} s; the default "
                     "window keeps the part common to all of them")
    return np.asarray(anchors, dtype=np.float64), window, tr.labels, True, notes


def _ticks(window, w, tol):
    a, b = window
    if not (math.isfinite(a) and math.isfinite(b)) or b <= a:
        raise BinningError(f"window ({a!r}, {b!r}) s is empty or invalid; need start < stop")
    n = int(math.floor((b - a) / w + tol))
    if n < 1:
        raise BinningError(
            f"the bin width {w * 1e3:g} ms is larger than the window of {(b - a) * 1e3:g} ms "
            "(the recording or trial length); choose a smaller bin width"
        )
    return n


def _guard(r, n, t):
    cells = r * n * t
    if cells > MAX_LATTICE_CELLS:
        raise BinningError(
            f"binning would create {r} x {n} x {t} = {cells} lattice sites, above "
            f"{MAX_LATTICE_CELLS}; use a larger bin width or a shorter window"
        )


def bin_recording(recording, bin_s=None, *, window=None, align=None, segment_s=None,
                  edge_tolerance=1e-6, close_last_bin=None):
    """Bin a recording into per-trial rasters (see the module docstring for conventions).

    Parameters
    ----------
    recording : Recording
    bin_s : float, optional
        Bin width in seconds. Required for spike times; for a raster, default its native bin.
    window : tuple (start, stop) of float or None, optional
        Seconds relative to the anchor; None entries keep the default.
    align : str, optional
        ``"start"``, ``"stop"`` or the name of a trial event.
    segment_s : float, optional
        For a recording without trials: consecutive segments of this length are the trials.
    edge_tolerance : float
        Fraction of a bin; see the module docstring.
    close_last_bin : bool, optional
        Count a spike at exactly the window's end in the last bin (default True, False for
        segments).

    Returns
    -------
    BinnedRecording

    Raises
    ------
    BinningError
        Invalid bin width, window, event or segment; a bin wider than the window; too many
        lattice sites.
    """
    from neurolattice_core.recordings.recording import Recording

    if not isinstance(recording, Recording):
        raise BinningError(f"bin_recording bins a Recording (load_recording(...), or "
                           f"Recording.from_raster(array, bin_width_s) for an array), not "
                           f"{type(recording).__name__}")
    tol = float(edge_tolerance)
    if not (0.0 <= tol <= 0.01):
        raise BinningError(f"edge_tolerance must lie in [0, 0.01]; got {edge_tolerance!r}")
    if recording.kind == "raster":
        from neurolattice_core.recordings._rebin import bin_raster

        return bin_raster(recording, bin_s, window=window, align=align, segment_s=segment_s,
                          tol=tol)
    if bin_s is None:
        raise BinningError("bin_s (bin width in seconds) is required to bin spike times")
    w = _check_bin(bin_s)
    anchors, default, labels, close, notes = _anchors(recording, align, segment_s)
    if close_last_bin is not None:
        close = bool(close_last_bin)
    a, b = default
    if window is not None:
        wa, wb = window
        a = a if wa is None else float(wa)
        b = b if wb is None else float(wb)
    n_ticks = _ticks((a, b), w, tol)
    if (b - a) - n_ticks * w > tol * w:
        notes.append(f"the window ({b - a:.6g} s) is not a multiple of the bin: its last "
                     f"{(b - a) - n_ticks * w:.6g} s are dropped")
    r, n = anchors.size, recording.n_units
    _guard(r, n, n_ticks)
    big = recording.spike_counts().max(initial=0) > np.iinfo(np.uint16).max
    counts = np.zeros((r, n, n_ticks), dtype=np.uint32 if big else np.uint16)
    covered = np.zeros(recording.spike_times_s.size, dtype=np.uint8)
    from ._bin_kernel import bin_spikes  # Numba: loaded with the first binning

    total, occupied, multi = bin_spikes(
        recording.spike_times_s, recording.spike_indptr,
        np.ascontiguousarray(anchors + a, dtype=np.float64), w, n_ticks, tol, close, counts,
        covered,
    )
    binary = (counts > 0).view(np.uint8)
    outside = int(covered.size - np.count_nonzero(covered))
    if occupied == 0:
        notes.append("no spike falls in the window: every bin is empty")
    return BinnedRecording(
        binary=binary, counts=counts, bin_s=w, window_s=(a, a + n_ticks * w), align=align,
        anchors_s=np.asarray(anchors, dtype=np.float64), unit_ids=recording.unit_ids,
        unit_labels=recording.unit_labels, trial_labels=labels,
        multi_spike_fraction=multi / occupied if occupied else 0.0,
        n_spikes_binned=int(total), n_spikes_outside=outside, warnings=tuple(notes),
    )


#: Bin width (ms) when none is asked for and the recording has spike times or an unknown bin.
DEFAULT_BIN_MS = 20.0


def native_bin_ms(recording):
    """The bin width (ms) of a raster that stores it, else :data:`DEFAULT_BIN_MS`."""
    if recording.kind == "raster" and recording.raster_bin_s is not None:
        return 1000.0 * float(recording.raster_bin_s)
    return DEFAULT_BIN_MS


def ensure_bin_width(recording, bin_s):
    """A raster without a stored bin width takes ``bin_s`` as the width of each stored bin.

    Returns
    -------
    recording : Recording
        Unchanged when it has spike times or a known bin width.
    note : str or None
        What was assumed, for the user's warnings.
    """
    if recording.kind != "raster" or recording.raster_bin_s is not None:
        return recording, None
    note = (f"the raster's bin width is not stored in the file: each stored bin is taken to be "
            f"bin_ms = {bin_s * 1000:g} ms (set the bin width to change this)")
    return recording.with_raster_bin_width(bin_s), note
