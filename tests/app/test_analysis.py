"""The throttled per-frame analysis of a running engine."""

import numpy as np

from app.analysis import ThrottledAnalyser
from neurolattice_core.model import LatticeModel
from neurolattice_core.sampler import Sampler
from neurolattice_core.simulation import live_observables
from tests.conftest import wait_until


def test_the_last_frame_before_a_pause_is_analysed_however_recent_the_previous_analysis():
    """|m| in the readout described the configuration of an earlier frame after Pause."""
    model = LatticeModel.create(neurons=16, ticks=64, connectivity="ring", J=1.0, K=1.0,
                                temperature=2.0)
    sampler = Sampler(model, seed=3)
    sampler.frame_analyser = ThrottledAnalyser(sampler, period=3600.0)   # one analysis only
    sampler.start(sweeps_per_chunk=1)
    try:
        assert wait_until(lambda: sampler.latest_frame()["sweep"] > 50, timeout=60)
        sampler.pause()
        assert wait_until(lambda: sampler.idle, timeout=60)
        frame = sampler.latest_frame()
        expected = live_observables(model, sampler.configurations())
        assert frame["sweep"] == sampler.sweeps_done
        assert np.isclose(frame["products"]["abs_magnetization"],
                          expected["abs_magnetization"])
    finally:
        sampler.stop()
