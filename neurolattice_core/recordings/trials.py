"""Trials of a recording: intervals of its timeline with labels and event times."""

from dataclasses import dataclass, field

import numpy as np

from neurolattice_core.errors import RecordingCorruptError

__all__ = ["Trials", "frozen"]


def frozen(a):
    """Return ``a`` as a C-contiguous read-only array."""
    a = np.ascontiguousarray(a)
    a.setflags(write=False)
    return a


@dataclass(frozen=True, eq=False)
class Trials:
    """Trials of a recording: intervals of its timeline with optional labels and event times.

    Parameters
    ----------
    start_s, stop_s : numpy.ndarray, shape (R,), float64
        Start and stop of each trial, in seconds on the recording's timeline.
    labels : tuple of str or None
        One label per trial (condition, stimulus), or None.
    events : dict of str -> numpy.ndarray, shape (R,), float64
        Named event times per trial in seconds on the same timeline (NaN where absent).
    """

    start_s: np.ndarray
    stop_s: np.ndarray
    labels: tuple | None = None
    events: dict = field(default_factory=dict)

    def __post_init__(self):
        start = np.asarray(self.start_s, dtype=np.float64).reshape(-1)
        stop = np.asarray(self.stop_s, dtype=np.float64).reshape(-1)
        if start.shape != stop.shape or start.size == 0:
            raise RecordingCorruptError(
                f"trials: need as many starts as stops (>= 1); got {start.size} starts and "
                f"{stop.size} stops"
            )
        bad = ~(np.isfinite(start) & np.isfinite(stop) & (stop > start))
        if bad.any():
            r = int(np.argmax(bad))
            raise RecordingCorruptError(
                f"trials: trial {r} (0-based) has start {start[r]} and stop {stop[r]}; each trial "
                "needs finite times with stop > start: fix or drop that trial"
            )
        if self.labels is not None and len(self.labels) != start.size:
            raise RecordingCorruptError(
                f"trials: {len(self.labels)} labels for {start.size} trials"
            )
        events = {}
        for name, times in dict(self.events).items():
            t = np.asarray(times, dtype=np.float64).reshape(-1)
            if t.size != start.size:
                raise RecordingCorruptError(
                    f"trials: event {name!r} has {t.size} times for {start.size} trials"
                )
            events[str(name)] = frozen(t)
        object.__setattr__(self, "start_s", frozen(start))
        object.__setattr__(self, "stop_s", frozen(stop))
        if self.labels is not None:
            object.__setattr__(self, "labels", tuple(str(x) for x in self.labels))
        object.__setattr__(self, "events", events)

    @property
    def n_trials(self):
        """Number of trials R."""
        return int(self.start_s.size)

    def subset(self, index):
        """Return the trials selected by an integer index array."""
        index = np.asarray(index, dtype=np.int64)
        return Trials(
            self.start_s[index], self.stop_s[index],
            None if self.labels is None else tuple(self.labels[i] for i in index),
            {k: v[index] for k, v in self.events.items()},
        )
