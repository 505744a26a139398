import numpy as np
import pytest
import scipy.io

from neurolattice_core.errors import BinningError, RecordingError
from neurolattice_core.recordings import (
    BinningParams,
    Recording,
    Trials,
    bin_recording,
    load_recording,
)
from tests.core.test_recordings_files import ONKEN, toy_trains


def brute_force(trains, starts, a, w, n_ticks, close_last=True):
    """Reference binning with exact rational arithmetic on a fine integer grid (times in us)."""
    r, n = len(starts), len(trains)
    out = np.zeros((r, n, n_ticks), dtype=np.int64)
    for i, tr in enumerate(trains):
        for k, s in enumerate(starts):
            for t in tr:
                x = round((t - s - a) * 1e6)  # integer microseconds
                wu = round(w * 1e6)
                if x < 0:
                    continue
                tick = x // wu
                if tick == n_ticks and x == n_ticks * wu and close_last:
                    tick = n_ticks - 1
                if tick < n_ticks:
                    out[k, i, tick] += 1
    return out


def test_binning_matches_exact_reference_on_a_microsecond_grid():
    rng = np.random.default_rng(1)
    # times on a 1 us grid, many of them exactly on 5 ms bin edges
    trains = []
    for _ in range(5):
        t = np.concatenate([rng.integers(0, 2_000_000, 300), rng.integers(0, 400, 50) * 5000])
        trains.append(np.sort(t) / 1e6)
    rec = Recording.from_spike_trains(trains, time_unit="s")
    b = bin_recording(rec, 0.005)
    ref = brute_force(trains, [0.0], 0.0, 0.005, b.shape[2])
    np.testing.assert_array_equal(b.counts, ref)
    np.testing.assert_array_equal(b.binary, (ref > 0).astype(np.uint8))
    assert b.binary.dtype == np.uint8 and b.counts.dtype == np.uint16
    assert b.n_spikes_binned == sum(len(t) for t in trains) - b.n_spikes_outside


def test_spike_exactly_on_edges_never_lands_in_previous_bin():
    # decimal times on 0.1 s edges: 0.7 / 0.1 = 6.999999999999999 in floating point
    times = np.arange(1, 30) / 10.0
    assert np.any(np.floor(times / 0.1) != np.arange(1, 30))
    rec = Recording.from_spike_trains([times], time_unit="s", t_stop_s=3.0)
    b = bin_recording(rec, 0.1)
    assert b.shape == (1, 1, 30)
    np.testing.assert_array_equal(np.flatnonzero(b.counts[0, 0]), np.arange(1, 30))
    # without tolerance, some of these land one bin early
    b0 = bin_recording(rec, 0.1, edge_tolerance=0.0)
    assert not np.array_equal(np.flatnonzero(b0.counts[0, 0]), np.arange(1, 30))


def test_last_edge_closed_and_remainder_dropped():
    rec = Recording.from_spike_trains([np.array([0.0, 0.5, 1.0])], time_unit="s", t_stop_s=1.0)
    b = bin_recording(rec, 0.25)
    assert b.counts[0, 0].tolist() == [1, 0, 1, 1]
    b = bin_recording(rec, 0.3)  # 3 ticks cover 0.9 s: the spike at 1.0 is outside
    assert b.counts[0, 0].tolist() == [1, 1, 0] and b.n_spikes_outside == 1
    assert any("not a multiple of the bin" in w for w in b.warnings)


def test_trials_alignment_and_window():
    trains = [np.array([1.05, 1.15, 3.02, 3.5]), np.array([0.5, 1.2, 3.2])]
    trials = Trials([0.0, 2.0], [1.9, 3.9], ("a", "b"), {"go": np.array([1.0, 3.0])})
    rec = Recording.from_spike_trains(trains, time_unit="s", trials=trials)
    b = bin_recording(rec, 0.1, align="go", window=(-0.2, 0.3))
    assert b.shape == (2, 2, 5) and b.trial_labels == ("a", "b")
    np.testing.assert_allclose(b.anchors_s, [1.0, 3.0])
    assert b.counts[0, 0].tolist() == [0, 0, 1, 1, 0]
    assert b.counts[1, 0].tolist() == [0, 0, 1, 0, 0]
    assert b.counts[0, 1].tolist() == [0, 0, 0, 0, 1]
    assert b.counts[1, 1].tolist() == [0, 0, 0, 0, 1]
    # default window: part common to all trials relative to the event
    b = bin_recording(rec, 0.1, align="go")
    assert b.window_s[0] == pytest.approx(-1.0) and b.shape[2] == 19
    with pytest.raises(BinningError, match="no trial event 'stim'"):
        bin_recording(rec, 0.1, align="stim")


def test_segments_of_a_continuous_recording():
    rec = Recording.from_spike_trains(toy_trains(3, duration=10.0), time_unit="s",
                                      t_stop_s=10.0)
    b = bin_recording(rec, 0.02, segment_s=2.0)
    assert b.shape == (5, 3, 100)
    whole = bin_recording(rec, 0.02, close_last_bin=False)
    np.testing.assert_array_equal(b.counts.transpose(1, 0, 2).reshape(3, -1), whole.counts[0])


def test_multi_spike_fraction_and_counts():
    rec = Recording.from_spike_trains([np.array([0.01, 0.012, 0.014, 0.05, 0.25])],
                                      time_unit="s", t_stop_s=0.3)
    b = bin_recording(rec, 0.02)
    assert b.counts[0, 0].tolist() == [3, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0]
    assert b.multi_spike_fraction == pytest.approx(1 / 3)
    assert b.spins().dtype == np.int8 and set(np.unique(b.spins())) == {-1, 1}


def test_bin_wider_than_recording_and_bad_bins():
    rec = Recording.from_spike_trains([np.array([0.1, 0.2])], time_unit="s", t_stop_s=0.5)
    with pytest.raises(BinningError, match="larger than the window"):
        bin_recording(rec, 1.0)
    for bad in (0.0, -1.0, float("nan"), "20"):
        with pytest.raises(BinningError):
            bin_recording(rec, bad)
    with pytest.raises(BinningError, match="needs trials"):
        bin_recording(rec, 0.1, align="go")
    assert issubclass(BinningError, RecordingError)


def test_raster_rebinning():
    rng = np.random.default_rng(2)
    raster = rng.integers(0, 2, size=(3, 4, 100))
    rec = Recording.from_raster(raster, 0.001)
    b = bin_recording(rec, 0.005)
    np.testing.assert_array_equal(b.counts, raster.reshape(3, 4, 20, 5).sum(-1))
    assert b.bin_s == pytest.approx(0.005)
    with pytest.raises(BinningError, match="multiple"):
        bin_recording(rec, 0.0025)
    with pytest.raises(BinningError, match="finer"):
        bin_recording(rec, 0.0005)
    with pytest.raises(BinningError, match="larger than the raster"):
        bin_recording(rec, 0.2)
    unknown = Recording.from_raster(raster, None)
    assert bin_recording(unknown).shape == (3, 4, 100)
    with pytest.raises(BinningError, match="unknown"):
        bin_recording(unknown, 0.005)


def test_onken_binning_equals_integer_millisecond_arithmetic():
    """Float seconds + tolerance give exactly floor(ms / 20) (spikes at 18000 ms in bin 899)."""
    rec = load_recording("sample:onken-movie1-exp2")
    b = bin_recording(rec, 0.020)
    cells = scipy.io.loadmat(f"{ONKEN}/Movie1Exp2.mat")["Spikes"]
    ref = np.zeros((30, 49, 900), dtype=np.int64)
    for i in range(49):
        for r in range(30):
            ms = cells[i, r].ravel().astype(np.int64)
            np.add.at(ref[r, i], np.minimum(ms // 20, 899), 1)
    np.testing.assert_array_equal(b.counts, ref)
    assert b.n_spikes_outside == 0 and b.counts.sum() == 76833


def test_binning_params_declared_with_docs():
    p = BinningParams(bin_ms=10.0)
    for name, par in p.param.objects().items():
        if name != "name":
            assert par.doc, name
    rec = Recording.from_spike_trains([np.array([0.001, 0.5])], time_unit="s", t_stop_s=1.0)
    assert p.bin(rec).shape == (1, 1, 100)


def test_binning_speed_200_units_1e6_spikes_at_1ms():
    """200 units, 1e6 spikes, 1 ms bins over 100 s: well under a second (after compilation)."""
    import time

    rng = np.random.default_rng(3)
    trains = [np.sort(rng.uniform(0, 100.0, 5000)) for _ in range(200)]
    rec = Recording.from_spike_trains(trains, time_unit="s", t_stop_s=100.0)
    bin_recording(Recording.from_spike_trains(trains[:2], time_unit="s"), 0.001)  # compile
    t0 = time.perf_counter()
    b = bin_recording(rec, 0.001)
    elapsed = time.perf_counter() - t0
    assert b.shape == (1, 200, 100_000) and int(b.counts.sum()) == 1_000_000
    assert elapsed < 1.0, elapsed
