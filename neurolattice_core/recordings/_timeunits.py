"""Time units of spike times: seconds vs milliseconds detection and plausibility checks."""

import numpy as np

from neurolattice_core.errors import ParameterError, SpikeTimesError
from neurolattice_core.recordings._checks import check_spike_train, median_isi

__all__ = [
    "TIME_UNIT_SCALES",
    "MAX_TIME_S",
    "normalize_time_unit",
    "detect_time_unit",
    "check_plausible_seconds",
    "spike_trains_to_seconds",
]

#: Seconds per unit of each supported time unit.
TIME_UNIT_SCALES = {"s": 1.0, "ms": 1e-3, "us": 1e-6}

_UNIT_ALIASES = {
    "s": "s", "sec": "s", "secs": "s", "second": "s", "seconds": "s",
    "ms": "ms", "msec": "ms", "msecs": "ms", "millisecond": "ms", "milliseconds": "ms",
    "us": "us", "µs": "us", "usec": "us", "microsecond": "us", "microseconds": "us",
}

#: Latest spike time accepted, in seconds (about 30 years): beyond it the unit is surely wrong.
MAX_TIME_S = 1e9


def normalize_time_unit(value, name="time_unit"):
    """Return ``'s'``, ``'ms'`` or ``'us'`` for a time-unit name (None stays None).

    Raises
    ------
    ParameterError
        If ``value`` is not a known unit name.
    """
    if value is None:
        return None
    key = str(value).strip().lower()
    if key not in _UNIT_ALIASES:
        raise ParameterError(
            f"{name} must be one of 's', 'ms', 'us' (or None to detect it); got {value!r}"
        )
    return _UNIT_ALIASES[key]


def detect_time_unit(trains):
    """Guess whether raw spike times are in seconds or milliseconds.

    Rules, in order (raw values, before any scaling):

    1. median inter-spike interval < 0.5: seconds (in ms it would be a rate above 2 kHz);
    2. all values are integers and the largest is >= 1000: milliseconds (integer seconds
       would mean a 1 s clock);
    3. the largest value is > 1e5 (more than 27 h if in seconds): milliseconds;
    4. median inter-spike interval > 50 (a typical rate below 0.02 Hz in seconds): milliseconds;
    5. otherwise seconds.

    Parameters
    ----------
    trains : list of numpy.ndarray
        Validated raw spike times of every unit (and trial).

    Returns
    -------
    unit : str
        ``'s'`` or ``'ms'``.
    reason : str
        Human-readable reason, reported as a warning of the recording.
    """
    nonempty = [t for t in trains if t.size]
    if not nonempty:
        return "s", "no spikes to look at; assumed seconds"
    vmax = max(float(t[-1]) for t in nonempty)
    integer = all(bool(np.all(t == np.floor(t))) for t in nonempty)
    isi = median_isi(nonempty)
    if isi is not None and isi < 0.5:
        return "s", f"median inter-spike interval {isi:.3g} would be under 0.5 ms if in ms"
    if integer and vmax >= 1000:
        return "ms", f"all times are integers, up to {vmax:.0f}"
    if vmax > 1e5:
        return "ms", f"largest time {vmax:.6g} would be over 27 h if in seconds"
    if isi is not None and isi > 50:
        return "ms", f"median inter-spike interval {isi:.3g} would be over 50 s if in seconds"
    return "s", f"fractional times up to {vmax:.6g} with plausible intervals in seconds"


def check_plausible_seconds(trains_s, where, unit, how):
    """Refuse spike times (already in seconds) that are clearly in the wrong unit.

    Three tests: a spike later than :data:`MAX_TIME_S`; a median inter-spike interval below
    0.5 ms (rate above 2 kHz: the values were divided by 1000 too many); or above 100 s over a
    span of more than 1e4 s (values 1000 times too large: milliseconds or sample indices read
    as seconds).

    Parameters
    ----------
    trains_s : list of numpy.ndarray
        Spike times in seconds.
    where : str
        Location for the message.
    unit : str
        The unit the raw values were read in.
    how : str
        How that unit was chosen (``"given"``, ``"detected: ..."``), for the message.

    Raises
    ------
    SpikeTimesError
    """
    nonempty = [t for t in trains_s if t.size]
    if not nonempty:
        return
    latest = max(float(t[-1]) for t in nonempty)
    if latest > MAX_TIME_S:
        raise SpikeTimesError(
            f"{where}: read in {unit!r} ({how}), the latest spike is at {latest:.6g} s, beyond "
            f"{MAX_TIME_S:g} s (30 years): the times are in the wrong unit or corrupt"
        )
    isi = median_isi(nonempty)
    if isi is None:
        return
    span = max(float(t[-1]) for t in nonempty) - min(float(t[0]) for t in nonempty)
    other = "ms" if unit == "s" else "s"
    if isi < 5e-4:
        raise SpikeTimesError(
            f"{where}: read in {unit!r} ({how}), the median inter-spike interval is "
            f"{isi * 1e6:.3g} us (a rate above 2 kHz): the times are clearly not in {unit!r}; "
            f"pass time_unit='{other}' (or the unit they were saved in)"
        )
    if isi > 100.0 and span > 1e4:
        raise SpikeTimesError(
            f"{where}: read in {unit!r} ({how}), the median inter-spike interval is "
            f"{isi:.3g} s over a span of {span / 3600:.3g} h: the times are clearly too large; "
            "they are probably milliseconds (pass time_unit='ms') or sample indices (divide "
            "them by the sampling rate first)"
        )


def spike_trains_to_seconds(trains, time_unit, names, where):
    """Validate raw spike trains, choose their unit and convert them to seconds.

    Parameters
    ----------
    trains : sequence of array_like
        Raw spike times (one vector per unit, or per unit and trial).
    time_unit : {'s', 'ms', 'us'} or None
        Their unit; None detects seconds vs milliseconds.
    names : sequence of str
        Location of each train for error messages.
    where : str
        Location of the whole set (file name).

    Returns
    -------
    sec : list of numpy.ndarray
        Spike times in seconds, float64.
    unit : str
        Unit the raw values were read in.
    how : str
        ``"given"`` or ``"detected: <reason>"``.
    notes : list of str
        A warning stating a detected unit.

    Raises
    ------
    SpikeTimesError
    """
    raw = [check_spike_train(t, name) for t, name in zip(trains, names, strict=True)]
    unit, how, notes = _resolve_unit(raw, time_unit)
    scale = TIME_UNIT_SCALES[unit]
    sec = raw if scale == 1.0 else [t * scale for t in raw]
    check_plausible_seconds(sec, where, unit, how)
    return sec, unit, how, notes


def _resolve_unit(raw, time_unit):
    """Return (unit, how, notes) for raw spike times given an explicit or absent unit."""
    unit = normalize_time_unit(time_unit)
    if unit is not None:
        return unit, "given", []
    unit, reason = detect_time_unit(raw)
    name = {"s": "seconds", "ms": "milliseconds"}[unit]
    return unit, f"detected: {reason}", [
        f"spike times read as {name} (detected: {reason}); pass time_unit to override"
    ]
