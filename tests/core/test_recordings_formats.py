import os

import h5py
import numpy as np
import pytest
import scipy.io
import scipy.sparse

from neurolattice_core.errors import (
    NoUnitsError,
    RecordingExtensionError,
    RecordingFormatError,
    RecordingNotFoundError,
)
from neurolattice_core.recordings import (
    DEFAULT_SAMPLE,
    _isolate,
    list_samples,
    load_recording,
)
from neurolattice_core.recordings.nwb import list_nwb_units
from neurolattice_core.recordings.samples import sample_path
from tests.core.test_recordings_files import (
    MAXENT,
    ONKEN,
    cell_array,
    csv_bytes,
    mat5_bytes,
    mat73_bytes,
    npz_bytes,
    npz_spikes,
    phy_files,
    toy_trains,
    write_mat73,
    write_nwb,
    write_phy_folder,
    zip_bytes,
)


def assert_trains(rec, trains, atol=0.0):
    assert rec.n_units == len(trains)
    for i, t in enumerate(trains):
        np.testing.assert_allclose(rec.unit_spike_times(i), t, rtol=0, atol=atol)


# ------------------------------------------------------------------ NWB
@pytest.fixture(scope="module")
def nwb_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("nwb") / "toy.nwb"
    trains = toy_trains()
    write_nwb(path, trains, labels=["good", "mua", "good", "noise"],
              trials=[(0.0, 2.0, "A", 0.5), (3.0, 5.0, "B", 3.5)], acquisition=True,
              unit_ids=[10, 11, 12, 13])
    return path, trains


def test_nwb_units_trials_and_labels(nwb_file):
    path, trains = nwb_file
    rec = load_recording(path)
    assert_trains(rec, trains)
    assert rec.unit_ids == (10, 11, 12, 13)
    assert rec.unit_labels == ("good", "mua", "good", "noise")
    assert rec.trials.labels == ("A", "B")
    np.testing.assert_allclose(rec.trials.events["stim_on_time"], [0.5, 3.5])
    assert rec.provenance["format"] == "nwb" and rec.provenance["time_unit"] == "s"
    good = load_recording(path, labels=["good"])
    assert good.unit_ids == (10, 12)
    with pytest.raises(NoUnitsError, match="labels present"):
        load_recording(path, labels=["excellent"])


def test_nwb_from_bytes(nwb_file):
    path, trains = nwb_file
    rec = load_recording(path.read_bytes(), "upload.nwb")
    assert_trains(rec, trains)


def test_nwb_is_lazy_listing_reads_no_spikes_and_nothing_reads_acquisition(nwb_file,
                                                                           monkeypatch):
    path, trains = nwb_file
    reads = []
    original = h5py.Dataset.__getitem__

    def spy(self, *args, **kwargs):
        reads.append(self.name)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(h5py.Dataset, "__getitem__", spy)
    monkeypatch.setattr(_isolate, "ISOLATE_READERS", False)  # read here, where the spy is
    info = list_nwb_units(path)
    assert info["n_spikes"] == [len(t) for t in trains]
    assert info["unit_ids"] == [10, 11, 12, 13]
    assert "/units/spike_times" not in reads
    assert "/acquisition/raw/data" not in reads  # pynwb reads only scalar metadata there
    reads.clear()
    load_recording(path)
    assert "/units/spike_times" in reads
    assert "/acquisition/raw/data" not in reads


def test_plain_hdf5_is_not_nwb(tmp_path):
    p = tmp_path / "plain.h5"
    with h5py.File(p, "w") as f:
        f["x"] = np.arange(3)
    with pytest.raises(RecordingFormatError, match="not NWB"):
        load_recording(p)


# ------------------------------------------------------------------ Phy
def test_phy_folder_and_zip(tmp_path):
    trains = toy_trains(4)
    files = phy_files(trains, rate=30000.0, groups={0: "good", 1: "noise"},
                      ks_labels={0: "mua", 1: "good", 2: "mua", 3: "good"})
    folder = write_phy_folder(tmp_path / "ks", files)
    rec = load_recording(folder)
    # cluster_group.tsv (manual) wins over KSLabel; noise dropped
    assert rec.unit_ids == (0, 2, 3) and rec.unit_labels == ("good", "mua", "good")
    expected = [np.round(trains[k] * 30000.0) / 30000.0 for k in (0, 2, 3)]
    assert_trains(rec, expected, atol=1e-12)
    assert rec.provenance["sample_rate_hz"] == 30000.0
    assert any("dropped" in w for w in rec.warnings)
    z = load_recording(zip_bytes(files), "sorting.zip", labels=("good",))
    assert z.unit_ids == (0, 3)


def test_phy_params_is_never_executed(tmp_path):
    trains = toy_trains(2)
    files = phy_files(trains)
    marker = tmp_path / "executed"
    files["params.py"] = (f"open({str(marker)!r}, 'w').write('x')\n1 / 0\n"
                          "sample_rate = 20000.0\n").encode()
    rec = load_recording(write_phy_folder(tmp_path / "ks", files))
    assert rec.provenance["sample_rate_hz"] == 20000.0
    assert not marker.exists()
    files["params.py"] = b"sample_rate = __import__('os').getpid()\n"
    with pytest.raises(RecordingFormatError, match="literal number"):
        load_recording(write_phy_folder(tmp_path / "ks2", files))


# ------------------------------------------------------------------ CSV / TSV
def test_csv_seconds_detected_and_stated():
    trains = toy_trains(3)
    rec = load_recording(csv_bytes(trains), "spikes.csv")
    assert_trains(rec, trains, atol=1e-6)
    assert rec.provenance["time_unit"] == "s"
    assert any("read as seconds" in w for w in rec.warnings)


def test_csv_milliseconds_detected_header_and_argument():
    trains = [np.round(t * 1000) / 1000 for t in toy_trains(3)]
    ms_int = csv_bytes(trains, scale=1000.0, header=None, fmt="{:.0f}")
    rec = load_recording(ms_int, "spikes.csv")
    assert rec.provenance["time_unit"] == "ms"
    assert any("read as milliseconds" in w for w in rec.warnings)
    assert_trains(rec, trains, atol=1e-9)
    tsv = csv_bytes(trains, scale=1000.0, header="cluster\ttime (ms)", delim="\t",
                    fmt="{:.3f}")
    rec = load_recording(tsv, "spikes.tsv")
    assert rec.provenance["time_unit_source"].startswith("header")
    assert_trains(rec, trains, atol=1e-9)
    rec = load_recording(csv_bytes(trains, scale=1000.0, fmt="{:.3f}"), "x.csv", time_unit="ms")
    assert rec.provenance["time_unit_source"] == "given"


def test_csv_string_ids_whitespace_and_comments():
    text = b"# exported by lab tool\nneuron time\nA 0.5\nB 0.25\nA 1.5\n\nB 2.0\n"
    rec = load_recording(text, "s.txt")
    assert rec.unit_ids == ("A", "B")
    assert rec.unit_spike_times(0).tolist() == [0.5, 1.5]


# ------------------------------------------------------------------ NPZ / NPY
def test_npz_spike_times_with_trials_and_silent_unit():
    trains = toy_trains(3)
    data = npz_spikes(trains, unit_ids=np.array([0, 1, 2, 7]), time_unit=np.array("s"),
                      trial_start=np.array([0.0, 5.0]), trial_stop=np.array([4.0, 9.0]),
                      trial_labels=np.array(["x", "y"]), trial_event_go=np.array([1.0, 6.0]))
    rec = load_recording(data, "rec.npz")
    assert rec.unit_ids == (0, 1, 2, 7)
    assert rec.spike_counts()[3] == 0
    assert rec.trials.labels == ("x", "y")
    np.testing.assert_allclose(rec.trials.events["go"], [1.0, 6.0])


def test_npz_and_npy_rasters():
    rng = np.random.default_rng(0)
    raster = rng.integers(0, 3, size=(4, 5, 60))
    rec = load_recording(npz_bytes(raster=raster, bin_width_s=np.array(0.01)), "r.npz")
    assert rec.kind == "raster" and rec.raster.shape == (4, 5, 60)
    assert rec.raster_bin_s == 0.01 and rec.n_spikes == raster.sum()
    flipped = load_recording(npz_bytes(raster=raster[0].T), "r.npz", axes="bins,units")
    np.testing.assert_array_equal(flipped.raster[0], raster[0])
    import io

    buf = io.BytesIO()
    np.save(buf, raster[0] > 0)
    rec = load_recording(buf.getvalue(), "r.npy", bin_width_s=0.02)
    assert rec.raster.shape == (1, 5, 60) and rec.raster_bin_s == 0.02


# ------------------------------------------------------------------ MATLAB
ROWS = [[[1.0, 5.0], []], [[2.0], [3.0, 4.0]]]


def test_mat5_cells_and_rasters():
    rec = load_recording(mat5_bytes({"Spikes": cell_array(ROWS), "n": 2.0}), "a.mat",
                         time_unit="s", trial_duration_s=5.0)
    assert (rec.n_units, rec.n_trials) == (2, 2)
    np.testing.assert_allclose(rec.trials.start_s, [0.0, 6.0])
    assert rec.unit_spike_times(1).tolist() == [2.0, 9.0, 10.0]
    t = load_recording(mat5_bytes({"S": cell_array(ROWS).T}), "a.mat", time_unit="s",
                       axes="trials,units")
    assert t.unit_spike_times(1).tolist() == rec.unit_spike_times(1).tolist()
    vec = load_recording(mat5_bytes({"S": cell_array([[[0.1, 0.2]], [[0.3]], [[0.5]]]).T}),
                         "v.mat", time_unit="s")
    assert vec.n_units == 3 and vec.trials is None
    dense = (np.random.default_rng(1).random((6, 40)) < 0.3)
    r = load_recording(mat5_bytes({"raster": dense}), "r.mat", bin_width_s=0.005)
    np.testing.assert_array_equal(r.raster[0], dense)
    sp = load_recording(mat5_bytes({"raster": scipy.sparse.csc_matrix(dense.astype(float))}),
                        "r.mat")
    np.testing.assert_array_equal(sp.raster[0], dense)


def test_mat73_cells_and_rasters(tmp_path):
    rec = load_recording(mat73_bytes(tmp_path, {"Spikes": cell_array(ROWS)}), "a.mat",
                         time_unit="s")
    assert (rec.n_units, rec.n_trials) == (2, 2)
    assert rec.unit_spike_times(0).tolist() == [1.0, 5.0]
    counts = np.random.default_rng(2).integers(0, 4, size=(3, 7, 20))
    p = write_mat73(tmp_path / "r.mat", {"raster": counts})
    r = load_recording(p, bin_width_s=0.001)
    np.testing.assert_array_equal(r.raster, counts)


def test_mat_variable_choice():
    data = mat5_bytes({"a": np.ones((3, 4)), "b": np.ones((5, 6))})
    with pytest.raises(RecordingFormatError, match="variable="):
        load_recording(data, "x.mat")
    assert load_recording(data, "x.mat", variable="b").n_units == 5
    with pytest.raises(RecordingFormatError, match="no variable 'c'"):
        load_recording(data, "x.mat", variable="c")


# ------------------------------------------------------------------ shared datasets, samples
@pytest.mark.parametrize("fname,units,spikes", [
    ("Movie1Exp1.mat", 38, 26968), ("Movie2Exp1.mat", 38, 34889),
    ("Movie1Exp2.mat", 49, 76833), ("Movie2Exp2.mat", 49, 76128),
])
def test_onken_files(fname, units, spikes):
    rec = load_recording(os.path.join(ONKEN, fname), trial_duration_s=18.0)
    assert (rec.n_units, rec.n_trials, rec.n_spikes) == (units, 30, spikes)
    assert rec.provenance["time_unit"] == "ms"  # detected: integer ms
    lengths = rec.trials.stop_s - rec.trials.start_s
    np.testing.assert_allclose(lengths, 18.0)


def test_maxent_files():
    r50 = load_recording(os.path.join(MAXENT, "example50.mat"))
    assert r50.raster.shape == (1, 50, 40000)
    assert r50.provenance["format"] == "matlab-v7.3"
    p = r50.raster.mean(axis=(0, 2))
    assert p.mean() == pytest.approx(0.088, abs=5e-4)
    assert p.min() == pytest.approx(0.004, abs=5e-4) and p.max() == pytest.approx(0.27, abs=5e-3)
    r15 = load_recording(os.path.join(MAXENT, "example15_spatiotemporal.mat"))
    assert r15.raster.shape == (1, 15, 40000) and r15.provenance["format"] == "matlab-v5"


def test_samples_listed_and_loadable():
    names = [s["name"] for s in list_samples()]
    assert DEFAULT_SAMPLE == "onken-movie1-exp2" and DEFAULT_SAMPLE in names
    assert len(names) == 6
    for name in names:
        assert sample_path(name).is_file()
        rec = load_recording(f"sample:{name}")
        assert rec.provenance["source"] == f"sample:{name}" and rec.provenance["licence"]
    rec = load_recording(f"sample:{DEFAULT_SAMPLE}")
    assert (rec.n_units, rec.n_trials, rec.n_spikes) == (49, 30, 76833)
    with pytest.raises(RecordingNotFoundError, match="samples:"):
        load_recording("sample:nope")


def test_shipped_samples_are_copies_of_shared_data():
    for name in ("onken-movie1-exp2", "maxent-example50"):
        shipped = sample_path(name)
        shared = os.path.join(ONKEN if "onken" in name else MAXENT, shipped.name)
        assert shipped.read_bytes() == open(shared, "rb").read()


# ------------------------------------------------------------------ content vs extension
def test_content_decides_and_lying_extensions_are_refused(tmp_path):
    data = mat5_bytes({"Spikes": cell_array(ROWS)})
    p = tmp_path / "recording.dat"
    p.write_bytes(data)
    assert load_recording(p, time_unit="s").n_units == 2  # unknown extension: by content
    for ext in (".nwb", ".csv", ".npz"):
        q = tmp_path / f"recording{ext}"
        q.write_bytes(data)
        with pytest.raises(RecordingExtensionError, match="MATLAB v5"):
            load_recording(q)
    with pytest.raises(RecordingNotFoundError):
        load_recording(tmp_path / "missing.mat")


def test_onken_loaded_from_scipy_matches_cells():
    rec = load_recording(os.path.join(ONKEN, "Movie1Exp1.mat"), trial_duration_s=18.0)
    cells = scipy.io.loadmat(os.path.join(ONKEN, "Movie1Exp1.mat"))["Spikes"]
    i, r = 7, 11
    t = rec.unit_spike_times(i)
    start, stop = rec.trials.start_s[r], rec.trials.stop_s[r]
    inside = t[(t >= start) & (t <= stop)] - start
    np.testing.assert_allclose(inside, cells[i, r].ravel() / 1000.0, atol=1e-9)
