import json
import math
import subprocess
import sys

import numpy as np
import pytest

from neurolattice_core.recordings import (
    QualityParams,
    Recording,
    bin_recording,
    inspect_recording,
    quality_report,
)

REQUIRED = {"units": int, "trials": int, "duration_s": float, "bin_ms": float, "ticks": int,
            "rates_hz": list, "spike_prob_per_bin": list, "multi_spike_fraction": float,
            "mean_correlation": float, "near_duplicate_pairs": list, "warnings": list}


def synthetic():
    """Unit 0, 1 independent; 2 a near copy of 0; 3 silent; 4 a single spike."""
    rng = np.random.default_rng(7)
    t0 = np.sort(rng.uniform(0, 100.0, 800))
    t1 = np.sort(rng.uniform(0, 100.0, 600))
    keep = rng.random(t0.size) < 0.9  # 90% of unit 0's spikes, jittered within 1 ms
    t2 = np.sort(np.clip(t0[keep] + rng.uniform(-5e-4, 5e-4, keep.sum()), 0, None))
    trains = [t0, t1, t2, np.array([]), np.array([50.0])]
    return Recording.from_spike_trains(trains, time_unit="s", t_stop_s=100.0)


def test_quality_flags_silent_constant_and_duplicates():
    b = bin_recording(synthetic(), 0.02)
    q = quality_report(b)
    assert q.silent_units == (3,)
    assert q.near_constant_units == (4,)
    assert [(i, j) for i, j, _ in q.near_duplicate_pairs] == [(0, 2)]
    r02 = q.near_duplicate_pairs[0][2]
    assert 0.85 < r02 <= 1.0
    assert abs(q.correlation[0, 1]) < 0.05
    assert np.isnan(q.correlation[3]).all()
    reasons = dict(q.proposed_exclusions)
    assert set(reasons) == {2, 3, 4} and "near-duplicate of unit 0" in reasons[2]
    assert q.keep_units() == [0, 1]
    np.testing.assert_allclose(q.rates_hz[:2], [8.0, 6.0])
    assert q.stationarity is None  # one trial
    assert any("near-duplicate" in w for w in q.warnings)


def test_stationarity_statistic_null_and_locked_units():
    rng = np.random.default_rng(11)
    r, t = 60, 300
    p_flat = 0.1
    p_locked = 0.05 + 0.3 * (np.arange(t) % 50 < 10)
    raster = np.zeros((r, 3, t), dtype=np.uint8)
    raster[:, 0] = rng.random((r, t)) < p_flat
    raster[:, 1] = rng.random((r, t)) < 0.3
    raster[:, 2] = rng.random((r, t)) < p_locked
    q = quality_report(bin_recording(Recording.from_raster(raster, 0.01)))
    null_sd = math.sqrt(2.0 / t)
    assert abs(q.stationarity[0] - 1.0) < 5 * null_sd
    assert abs(q.stationarity[1] - 1.0) < 5 * null_sd
    assert q.stationarity[2] > 1.0 + 10 * null_sd
    assert q.time_locked_units == (2,)
    assert 2 not in dict(q.proposed_exclusions)  # reported, not proposed for exclusion


@pytest.mark.parametrize("sample,pairs", [
    ("onken-movie1-exp2", [(10, 12), (22, 46), (39, 42)]),
    ("onken-movie1-exp1", [(26, 30), (24, 27)]),
])
def test_onken_near_duplicates_are_flagged_with_zero_based_indices(sample, pairs):
    d = inspect_recording(f"sample:{sample}", bin_ms=20.0)
    found = {(i, j): r for i, j, r in d["near_duplicate_pairs"]}
    for pair in pairs:
        assert pair in found and found[pair] > 0.8, (pair, found)
        one_based = (pair[0] - 1, pair[1] - 1)  # README indices read as 1-based
        assert one_based not in found
    assert d["unit_ids"] == list(range(d["units"]))  # positions are rows of the cell array


def test_inspect_contract_on_default_sample():
    d = inspect_recording("sample:onken-movie1-exp2")
    for key, typ in REQUIRED.items():
        assert isinstance(d[key], typ), key
    assert (d["units"], d["trials"], d["ticks"]) == (49, 30, 900)
    assert d["bin_ms"] == 20.0 and d["duration_s"] == pytest.approx(540.0)
    assert len(d["rates_hz"]) == 49 and len(d["spike_prob_per_bin"]) == 49
    assert sum(d["rates_hz"]) * 540.0 == pytest.approx(76833)
    assert 0.0 < d["multi_spike_fraction"] < 0.5
    assert all(len(p) == 3 for p in d["near_duplicate_pairs"])
    assert all(isinstance(w, str) for w in d["warnings"])
    text = json.dumps(d, allow_nan=False)
    assert json.loads(text)["units"] == 49


def test_inspect_raster_of_unknown_bin_width_states_the_assumption():
    d = inspect_recording("sample:maxent-example50", bin_ms=20.0)
    assert (d["units"], d["trials"], d["ticks"]) == (50, 1, 40000)
    assert any("taken to be bin_ms = 20 ms" in w for w in d["warnings"])
    assert np.mean(d["spike_prob_per_bin"]) == pytest.approx(0.088, abs=5e-4)
    assert d["multi_spike_fraction"] == 0.0 and d["stationarity"] is None
    json.dumps(d, allow_nan=False)


def test_inspect_accepts_bytes_and_recordings():
    rec = synthetic()
    d = inspect_recording(rec, bin_ms=10.0)
    assert d["units"] == 5 and d["ticks"] == 10_000 and d["silent_units"] == [3]
    assert d["rates_hz"][3] == 0.0
    json.dumps(d, allow_nan=False)
    csv = b"unit,time\n" + b"".join(f"{k % 3},{k * 0.013:.4f}\n".encode() for k in range(600))
    d = inspect_recording(csv, bin_ms=5.0, name="x.csv")
    assert d["units"] == 3 and d["time_unit"] == "s"


def test_quality_params_have_docs_and_bounds():
    for name, par in QualityParams.param.objects().items():
        if name != "name":
            assert par.doc, name
    with pytest.raises(ValueError):
        QualityParams(duplicate_threshold=1.5)


def test_core_recordings_do_not_import_gui_or_heavy_readers_eagerly():
    code = ("import sys, neurolattice_core.recordings as r; "
            "r.inspect_recording('sample:onken-movie1-exp1'); "
            "bad = [m for m in ('panel', 'holoviews', 'bokeh') if m in sys.modules]; "
            "print(bad, 'pynwb' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=300)
    assert out.stdout.strip() == "[] False", out.stdout + out.stderr
