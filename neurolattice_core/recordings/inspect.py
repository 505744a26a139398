"""``inspect_recording``: load, bin and describe a recording as one JSON-ready dict.

This is what ``neurolattice inspect FILE [--bin-ms 20] [--json]`` prints. Unit indices in the
output (``near_duplicate_pairs``, ``silent_units``, ``proposed_exclusions``...) are 0-based
positions in ``unit_ids``.
"""

import math

import numpy as np

from neurolattice_core.recordings.binning import bin_recording
from neurolattice_core.recordings.loader import load_recording
from neurolattice_core.recordings.quality import quality_report

__all__ = ["inspect_recording"]


def _num(x):
    """Python float (None for NaN/inf) for JSON."""
    x = float(x)
    return x if math.isfinite(x) else None


def _id(u):
    return u if isinstance(u, int | str) else (int(u) if isinstance(u, np.integer) else str(u))


def inspect_recording(source, bin_ms=None, *, name=None, align=None, duplicate_threshold=None,
                      **load_options):
    """Load ``source``, bin it at ``bin_ms`` and report what the lattice will see.

    Parameters
    ----------
    source : str, os.PathLike, bytes or Recording
        Anything :func:`~neurolattice_core.recordings.loader.load_recording` accepts, including
        ``"sample:NAME"``.
    bin_ms : float, optional
        Bin width in milliseconds; default the raster's own bin width when the file gives it,
        else 20. For a raster whose bin width the file does not give, the stored bins are taken
        to be ``bin_ms`` wide (stated in ``warnings``).
    name : str, optional
        File name for uploaded bytes.
    align : str, optional
        Trial event to align to.
    duplicate_threshold : float, optional
        Correlation threshold of near-duplicate pairs (default 0.7).
    **load_options
        Passed to ``load_recording`` (``time_unit``, ``variable``, ``labels``, ...).

    Returns
    -------
    dict
        JSON-ready: ``units``, ``trials``, ``duration_s`` (binned time, R T bin), ``bin_ms``,
        ``ticks``, ``rates_hz`` (list), ``spike_prob_per_bin`` (list), ``multi_spike_fraction``,
        ``mean_correlation``, ``near_duplicate_pairs`` (list of ``[i, j, r]``), ``warnings``
        (list of str), and ``source``, ``format``, ``unit_ids``, ``unit_labels``, ``spikes``,
        ``spikes_outside_window``, ``time_unit``, ``has_trials``, ``silent_units``,
        ``near_constant_units``, ``stationarity`` (list or None), ``time_locked_units``,
        ``proposed_exclusions`` (list of ``{"unit", "unit_id", "reason"}``).

    Raises
    ------
    RecordingError, ParameterError
    """
    from neurolattice_core.errors import BinningError
    from neurolattice_core.recordings.binning import ensure_bin_width, native_bin_ms

    if bin_ms is not None and not (isinstance(bin_ms, int | float) and math.isfinite(bin_ms)
                                   and bin_ms > 0):
        raise BinningError(f"bin_ms must be a finite number of milliseconds > 0; got {bin_ms!r}")
    rec = load_recording(source, name, **load_options)
    bin_ms = native_bin_ms(rec) if bin_ms is None else bin_ms
    notes = list(rec.warnings)
    rec, note = ensure_bin_width(rec, bin_ms / 1000.0)
    if note:
        notes = [w for w in notes if "bin width is not stored" not in w] + [note]
    binned = bin_recording(rec, bin_ms / 1000.0, align=align)
    q = quality_report(binned, duplicate_threshold=duplicate_threshold)
    r, n, t = binned.shape
    notes += list(binned.warnings) + list(q.warnings)
    prov = rec.provenance
    return {
        "source": str(prov.get("source", "")),
        "format": prov.get("format"),
        "units": int(n),
        "trials": int(r),
        "has_trials": rec.n_trials > 0,
        "duration_s": _num(r * t * binned.bin_s),
        "bin_ms": _num(binned.bin_s * 1000.0),
        "ticks": int(t),
        "spikes": int(q.spike_counts.sum()),
        "spikes_outside_window": int(binned.n_spikes_outside),
        "time_unit": prov.get("time_unit"),
        "unit_ids": [_id(u) for u in rec.unit_ids],
        "unit_labels": list(rec.unit_labels),
        "rates_hz": [_num(x) for x in q.rates_hz],
        "spike_prob_per_bin": [_num(x) for x in q.spike_prob_per_bin],
        "multi_spike_fraction": _num(q.multi_spike_fraction),
        "mean_correlation": _num(q.mean_correlation),
        "near_duplicate_pairs": [[i, j, _num(c)] for i, j, c in q.near_duplicate_pairs],
        "silent_units": list(q.silent_units),
        "near_constant_units": list(q.near_constant_units),
        "stationarity": None if q.stationarity is None else [_num(x) for x in q.stationarity],
        "time_locked_units": list(q.time_locked_units),
        "proposed_exclusions": [{"unit": i, "unit_id": _id(rec.unit_ids[i]), "reason": why}
                                for i, why in q.proposed_exclusions],
        "warnings": [str(w) for w in notes],
    }
