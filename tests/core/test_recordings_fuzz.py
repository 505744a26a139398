"""Property-based tests: malformed inputs for every loader end in a RecordingError, quickly.

Inputs: random bytes under every extension, truncations and byte mutations of valid files of
every format, and valid containers with mutated fields (random arrays, random text rows,
random params.py / label files). A loader may also accept a mutated file if it is still valid
(the result is then a validated Recording). Anything else (a raw h5py/scipy/zipfile exception,
a ValueError from numpy, a RuntimeWarning from our code) fails the test. NWB and MATLAB files
are read in the worker process, so a crash or hang of their native readers becomes a
RecordingError.
"""

import io
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from neurolattice_core.errors import RecordingError
from neurolattice_core.recordings import Recording, _isolate, bin_recording, load_recording
from tests.core.test_recordings_files import (
    cell_array,
    csv_bytes,
    mat5_bytes,
    mat73_bytes,
    npz_bytes,
    npz_spikes,
    phy_files,
    toy_trains,
    write_nwb,
    write_phy_folder,
    zip_bytes,
)

# NWB and MATLAB files are read in a worker process (the HDF5 library and scipy's MAT reader can
# crash or hang on corrupt files); during these tests the worker gets WORKER_TIMEOUT_S per file.
# Per-example wall-clock limit: that timeout plus a worker restart (~2 s) on a loaded machine.
WORKER_TIMEOUT_S = 4.0
LIMIT_S = WORKER_TIMEOUT_S + 6.0
FAST = settings(max_examples=60, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
HDF5 = settings(max_examples=25, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _valid_files():
    trains = toy_trains(3, duration=4.0, rate=6.0, seed=5)
    rows = [[t[t < 2.0], t[t >= 2.0] - 2.0] for t in trains]
    out = {
        "spikes.csv": csv_bytes(trains),
        "spikes.tsv": csv_bytes(trains, scale=1000.0, header="unit\ttime_ms", delim="\t",
                                fmt="{:.1f}"),
        "spikes.npz": npz_spikes(trains, trial_start=np.array([0.0, 2.0]),
                                 trial_stop=np.array([2.0, 4.0])),
        "raster.npz": npz_bytes(raster=np.random.default_rng(0).integers(0, 3, (2, 3, 40)),
                                bin_width_s=np.array(0.01)),
        "cells.mat": mat5_bytes({"Spikes": cell_array(rows), "n_trials": 2.0}),
        "raster.mat": mat5_bytes({"raster": np.random.default_rng(1).random((4, 30)) < 0.3}),
        "sorting.zip": zip_bytes(phy_files(trains, groups={0: "good", 1: "mua", 2: "noise"})),
    }
    buf = io.BytesIO()
    np.save(buf, np.random.default_rng(2).integers(0, 2, (3, 50)).astype(np.uint8))
    out["raster.npy"] = buf.getvalue()
    with tempfile.TemporaryDirectory() as tmp:
        out["cells73.mat"] = mat73_bytes(tmp, {"Spikes": cell_array(rows)}, "c.mat")
        out["raster73.mat"] = mat73_bytes(tmp, {"raster": np.ones((3, 20))}, "r.mat")
        p = Path(tmp) / "t.nwb"
        write_nwb(p, trains, labels=["good", "mua", "good"],
                  trials=[(0.0, 2.0, "A", 0.5), (2.0, 4.0, "B", 2.5)])
        out["units.nwb"] = p.read_bytes()
    return out


VALID = _valid_files()
NON_HDF5 = sorted(k for k in VALID if not (k.endswith(".nwb") or "73" in k))
HDF5_FILES = sorted(k for k in VALID if k.endswith(".nwb") or "73" in k)
EXTENSIONS = [".nwb", ".mat", ".csv", ".tsv", ".txt", ".npz", ".npy", ".zip", ".h5", ""]


def check(data, name, **kw):
    """Load; accept a Recording or a RecordingError, within the time limit."""
    saved = _isolate.READER_TIMEOUT_S
    _isolate.READER_TIMEOUT_S = WORKER_TIMEOUT_S
    t0 = time.perf_counter()
    try:
        rec = load_recording(data, name, **kw)
    except RecordingError as exc:
        assert str(exc), "empty error message"
        rec = None
    finally:
        _isolate.READER_TIMEOUT_S = saved
    assert time.perf_counter() - t0 < LIMIT_S
    if rec is not None:
        assert isinstance(rec, Recording) and rec.n_units >= 1
    return rec


def test_every_valid_fixture_loads():
    for name, data in VALID.items():
        rec = load_recording(data, name, time_unit=None) if not name.endswith(
            (".nwb", ".zip", ".npy", "raster.npz", "raster.mat", "raster73.mat")
        ) else load_recording(data, name)
        assert rec.n_units >= 1, name


@FAST
@given(st.binary(max_size=3000), st.sampled_from(EXTENSIONS))
def test_random_bytes(data, ext):
    check(data, f"upload{ext}")


@FAST
@given(st.sampled_from(NON_HDF5), st.floats(0.0, 1.0))
def test_truncations(name, frac):
    data = VALID[name]
    check(data[: int(len(data) * frac)], name)


@FAST
@given(st.sampled_from(NON_HDF5), st.lists(st.tuples(st.floats(0, 1), st.integers(0, 255)),
                                           min_size=1, max_size=8))
def test_byte_mutations(name, edits):
    data = bytearray(VALID[name])
    for pos, value in edits:
        data[min(int(pos * len(data)), len(data) - 1)] = value
    check(bytes(data), name)


@HDF5
@given(st.sampled_from(HDF5_FILES), st.floats(0.0, 1.0))
def test_hdf5_truncations(name, frac):
    data = VALID[name]
    check(data[: int(len(data) * frac)], name)


@HDF5
@given(st.sampled_from(HDF5_FILES), st.lists(st.tuples(st.floats(0, 1), st.integers(0, 255)),
                                             min_size=1, max_size=8))
def test_hdf5_byte_mutations(name, edits):
    data = bytearray(VALID[name])
    for pos, value in edits:
        data[min(int(pos * len(data)), len(data) - 1)] = value
    check(bytes(data), name)


# ------------------------------------------------------------------ mutated fields
VALUES = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True, width=64),
    st.integers(-5, 10**12).map(float),
    st.sampled_from([0.0, -0.0, 1e-300, 1e300, 0.5, 18000.0]),
)
ARRAYS = hnp.arrays(
    dtype=st.sampled_from([np.float64, np.float32, np.int64, np.int8, np.uint8, np.bool_,
                           np.complex64, np.dtype("U3")]),
    shape=hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=5),
)
NPZ_KEYS = st.sampled_from(["spike_times", "spike_units", "unit_ids", "unit_labels",
                            "time_unit", "t_stop", "trial_start", "trial_stop", "trial_labels",
                            "trial_event_go", "raster", "bin_width_s", "bin_ms", "other"])


@FAST
@given(st.dictionaries(NPZ_KEYS, ARRAYS, min_size=1, max_size=6))
def test_npz_with_random_fields(arrays):
    check(npz_bytes(**arrays), "fields.npz")


@FAST
@given(hnp.arrays(np.float64, st.tuples(st.integers(1, 4), st.integers(1, 4)), elements=VALUES),
       st.sampled_from(["raster", "cells"]), st.sampled_from([None, "s", "ms"]))
def test_mat5_with_random_fields(values, kind, unit):
    if kind == "raster":
        data = mat5_bytes({"raster": values})
    else:
        rows = [[np.sort(values[i, : j + 1]) if j % 2 else values[i, :j] for j in range(3)]
                for i in range(values.shape[0])]
        data = mat5_bytes({"Spikes": cell_array(rows)})
    rec = check(data, "fields.mat", time_unit=unit)
    if rec is not None:
        b = bin_recording(rec, rec.raster_bin_s) if rec.kind == "raster" else None
        assert b is None or b.counts.sum() == rec.n_spikes


TOKENS = st.sampled_from(["1", "2", "a", "0.5", "-1", "nan", "inf", "1e300", "", " ", "unit",
                          "time", "time_ms", "#", "\t", ",", ";", "1,2", "3.25", "x y"])


@FAST
@given(st.lists(st.lists(TOKENS, max_size=4).map(lambda t: ",".join(t)), max_size=30),
       st.sampled_from([".csv", ".tsv", ".txt"]))
def test_text_with_random_rows(rows, ext):
    check("\n".join(rows).encode(), f"rows{ext}")


PARAMS = st.sampled_from([
    "sample_rate = 30000.0", "sample_rate = 'fast'", "sample_rate = -1", "sample_rate = 1e400",
    "sample_rate = (", "import os", "sample_rate = [30000]", "", "sample_rate = True",
    "sample_rate = 30000 if x else 2", "sample_rate: float = 3e4", "sample_rate = 1e6",
])
LABELS = st.sampled_from(["cluster_id\tgroup\n0\tgood\n", "cluster_id\tgroup\n0\n",
                          "cluster_id\tgroup\nx\tgood\n", "id\tKSLabel\n1\tnoise\n", "\x00\xff",
                          "cluster_id\tgroup\n0\tnoise\n1\tnoise\n2\tnoise\n", ""])


@FAST
@given(st.lists(PARAMS, max_size=3), LABELS, st.booleans(), st.integers(-3, 3))
def test_phy_with_mutated_fields(params, labels, drop_clusters, shift):
    files = phy_files(toy_trains(3, duration=2.0, seed=1))
    files["params.py"] = "\n".join(params).encode("utf-8", "surrogatepass")
    files["cluster_group.tsv"] = labels.encode("latin-1")
    if drop_clusters:
        del files["spike_clusters.npy"]
    if shift:
        clusters = np.load(io.BytesIO(files.get("spike_clusters.npy", files["spike_times.npy"])))
        buf = io.BytesIO()
        np.save(buf, clusters[: max(0, len(clusters) + shift)] if shift < 0 else
                np.concatenate([clusters, clusters[:shift]]))
        files["spike_clusters.npy"] = buf.getvalue()
    check(zip_bytes(files), "sorting.zip")


@pytest.mark.parametrize("missing", ["spike_times.npy", "params.py", "spike_clusters.npy"])
def test_phy_folder_missing_files(tmp_path, missing):
    files = phy_files(toy_trains(2))
    del files[missing]
    if missing == "spike_clusters.npy":
        assert check(write_phy_folder(tmp_path / "ks", files), None) is None
    else:
        with pytest.raises(RecordingError, match=missing):
            load_recording(write_phy_folder(tmp_path / "ks", files))
