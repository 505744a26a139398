"""The engine's per-frame analysis, run at most a few times a second.

The sampler calls its ``frame_analyser`` after every chunk of sweeps, in its own thread. For a
128 x 512 lattice one sweep takes well under a millisecond while the correlation functions and
kernel averages of :func:`~neurolattice_core.simulation.live_observables` take a few: analysing
every sweep would cost the engine most of its throughput. The plots that show the analysis are
redrawn a few times a second, so analysing more often is wasted work.
"""

import time

from neurolattice_core.simulation import live_observables


class ThrottledAnalyser:
    """``live_observables`` of a sampler's configuration, at most once per ``period`` seconds.

    Between two analyses the previous result (the same dict object) is returned. A sampler that
    is stepped by hand (no background thread) or paused is analysed on every call, so a single
    Step, and the last chunk run before a pause, always show up to date correlations and |m|.

    Parameters
    ----------
    sampler : neurolattice_core.sampler.Sampler
    period : float
        Shortest time between two analyses of a running sampler, in seconds.
    """

    def __init__(self, sampler, period=0.1):
        self.sampler = sampler
        self.period = float(period)
        self._products = None
        self._shape = None
        self._last = -float("inf")

    def __call__(self, spins):
        """Analyse ``spins`` (int8 (R, N, T)) or return the last analysis (see class doc)."""
        now = time.perf_counter()
        if (self._products is None or not self.sampler.running or self.sampler.paused
                or spins.shape != self._shape or now - self._last >= self.period):
            self._products = live_observables(self.sampler.model, spins)
            self._shape, self._last = spins.shape, now
        return self._products


class ModelFacts:
    """θc and the one-line description of a model, recomputed only when its parameters change.

    ``critical_temperature()`` solves for a root; the readouts ask 20 times a second.
    """

    def __init__(self):
        self._key = None
        self._facts = (None, "")

    def __call__(self, model):
        """(critical temperature or None, description) of ``model``."""
        key = tuple((name, id(value) if hasattr(value, "shape") else value)
                    for name, value in model.param.values().items())
        if key != self._key:
            self._key, self._facts = key, (model.critical_temperature(), model.describe())
        return self._facts
