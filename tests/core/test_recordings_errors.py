"""Bad input: each case raises one specific RecordingError subclass with a helpful message."""

import io

import h5py
import numpy as np
import pytest

from neurolattice_core.errors import (
    BinningError,
    EmptyRecordingFileError,
    NoUnitsError,
    RasterValueError,
    RecordingCorruptError,
    RecordingError,
    RecordingExtensionError,
    RecordingFormatError,
    RecordingTooLargeError,
    SpikeTimesError,
)
from neurolattice_core.recordings import inspect_recording, load_recording, loader
from tests.core.test_recordings_files import (
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


def raises(exc, data, name, *fragments, **kw):
    with pytest.raises(exc) as info:
        load_recording(data, name, **kw)
    msg = str(info.value)
    for frag in fragments:
        assert frag in msg, (frag, msg)
    assert type(info.value) is exc, type(info.value)
    return msg


@pytest.fixture(scope="module")
def nwb_bytes(tmp_path_factory):
    p = tmp_path_factory.mktemp("nwb") / "t.nwb"
    write_nwb(p, toy_trains(3))
    return p.read_bytes()


# ------------------------------------------------------------------ empty / truncated / corrupt
@pytest.mark.parametrize("name", ["a.mat", "a.nwb", "a.csv", "a.npz", "noext"])
def test_empty_file(name, tmp_path):
    raises(EmptyRecordingFileError, b"", name, "empty (0 bytes)")
    p = tmp_path / name
    p.write_bytes(b"")
    raises(EmptyRecordingFileError, p, None, "empty")


def test_truncated_files(tmp_path, nwb_bytes):
    mat = mat5_bytes({"Spikes": cell_array([[np.arange(50.0)] * 3] * 4)})
    raises(RecordingCorruptError, mat[: len(mat) // 2], "a.mat", "a.mat", "corrupt or truncated")
    raises(RecordingCorruptError, mat[:100], "a.mat", "corrupt or truncated")
    raises(RecordingCorruptError, nwb_bytes[: len(nwb_bytes) // 2], "a.nwb", "a.nwb",
           "corrupt or truncated")
    npz = npz_spikes(toy_trains(2))
    raises(RecordingCorruptError, npz[: len(npz) - 30], "a.npz", "a.npz")
    m73 = mat73_bytes(tmp_path, {"raster": np.ones((4, 100))})
    raises(RecordingCorruptError, m73[:3000], "b.mat", "b.mat", "corrupt or truncated")


def test_garbage_with_a_known_extension():
    junk = bytes(np.random.default_rng(0).integers(0, 256, 2000, dtype=np.uint8))
    raises(RecordingFormatError, junk, "x.mat", "promises MATLAB v5 or MATLAB v7.3",
           "corrupt or truncated")
    raises(RecordingFormatError, junk, "x.bin", "not a supported recording format")


def test_wrong_extension(nwb_bytes):
    raises(RecordingExtensionError, nwb_bytes, "spikes.csv", "'.csv'", "HDF5 (NWB)", "rename")
    raises(RecordingExtensionError, csv_bytes(toy_trains(2)), "spikes.mat", "text (CSV/TSV)")


# ------------------------------------------------------------------ no units
def test_no_units(tmp_path):
    raises(NoUnitsError, b"unit,time\n", "a.csv", "no spike rows")
    raises(NoUnitsError, b"# only a comment\n", "a.csv", "no rows")
    raises(NoUnitsError, mat5_bytes({"Spikes": np.empty((0, 3), dtype=object)}), "a.mat",
           "empty")
    files = phy_files(toy_trains(2), groups={0: "noise", 1: "noise"})
    raises(NoUnitsError, write_phy_folder(tmp_path / "ks", files), None, "no cluster left")
    p = tmp_path / "empty.nwb"
    write_nwb(p, [])
    raises(NoUnitsError, p, None, "no Units table")


# ------------------------------------------------------------------ bad spike times
def test_unsorted_negative_nan_times_in_csv():
    raises(SpikeTimesError, b"unit,time\n1,0.5\n1,0.2\n", "a.csv", "line 3", "comes after",
           "sort")
    raises(SpikeTimesError, b"unit,time\n1,0.5\n2,-0.2\n", "a.csv", "line 3", "negative")
    raises(SpikeTimesError, b"unit,time\n1,0.5\n2,nan\n", "a.csv", "line 3", "missing")
    raises(SpikeTimesError, b"unit,time\n1,0.5\n2,abc\n", "a.csv", "line 3", "not a number")
    raises(RecordingCorruptError, b"unit,time\n1,0.5\n2\n", "a.csv", "line 3", "field")


def test_bad_times_in_matlab_cells(tmp_path):
    rows = [[[1.0, 2.0], [0.5]], [[3.0, 1.0], []]]
    raises(SpikeTimesError, mat5_bytes({"S": cell_array(rows)}), "a.mat",
           "unit 1 (row 1), trial 0", "not sorted")
    rows = [[[1.0, np.nan]], [[1.0]]]
    raises(SpikeTimesError, mat5_bytes({"S": cell_array(rows)}), "a.mat", "unit 0", "NaN")
    rows = [[[-1.0, 2.0]], [[1.0]]]
    raises(SpikeTimesError, mat73_bytes(tmp_path, {"S": cell_array(rows)}), "a.mat",
           "negative")
    cells = np.empty((2, 1), dtype=object)
    cells[0, 0], cells[1, 0] = np.array([[1.0]]), "text"
    raises(SpikeTimesError, mat5_bytes({"S": cells}), "a.mat", "cell (1, 0)", "not a numeric")


def test_bad_times_in_npz_nwb_phy(tmp_path):
    raises(SpikeTimesError, npz_spikes([np.array([1.0, 0.5])]), "a.npz", "not sorted")
    raises(SpikeTimesError, npz_spikes([np.array([1.0, np.inf])]), "a.npz", "finite")
    p = tmp_path / "u.nwb"
    write_nwb(p, [np.array([0.1, 0.3]), np.array([0.5, 0.2])], unit_ids=[4, 9])
    raises(SpikeTimesError, p, None, "unit id 9", "not sorted")
    files = phy_files(toy_trains(2))
    times = np.load(io.BytesIO(files["spike_times.npy"]))
    buf = io.BytesIO()
    np.save(buf, times[::-1].copy())
    files["spike_times.npy"] = buf.getvalue()
    raises(SpikeTimesError, write_phy_folder(tmp_path / "ks", files), None, "cluster",
           "not sorted")


def test_times_clearly_in_the_wrong_unit():
    trains = toy_trains(3, duration=20.0, rate=20.0)
    raises(SpikeTimesError, csv_bytes(trains), "a.csv", "clearly not in 'ms'", "time_unit='s'",
           time_unit="ms")
    rng = np.random.default_rng(4)
    ms = [np.sort(rng.uniform(0, 3.6e6, 3000)) for _ in range(3)]  # 1 h in ms, ~0.8 Hz
    raises(SpikeTimesError, csv_bytes(ms, fmt="{:.3f}"), "a.csv", "clearly too large",
           "time_unit='ms'", time_unit="s")


# ------------------------------------------------------------------ rasters that are not counts
@pytest.mark.parametrize("bad,what", [(-1, "negative"), (0.5, "fractional"),
                                      (np.nan, "NaN or infinite")])
def test_raster_values_not_counts(bad, what, tmp_path):
    raster = np.zeros((3, 20))
    raster[1, 7] = bad
    msg = raises(RasterValueError, npz_bytes(raster=raster), "r.npz", what, "(1, 7)")
    assert "spike counts" in msg
    raises(RasterValueError, mat5_bytes({"raster": raster}), "r.mat", what, "raster")
    p = write_mat73(tmp_path / "r.mat", {"raster": raster})
    raises(RasterValueError, p, None, what)


# ------------------------------------------------------------------ no unpickling, no code
def test_object_arrays_are_never_unpickled():
    buf = io.BytesIO()
    np.savez(buf, spike_times=np.array([0.1, 0.2]), spike_units=np.array([{}, {}], dtype=object))
    raises(RecordingCorruptError, buf.getvalue(), "evil.npz", "never unpickled")
    buf = io.BytesIO()
    np.save(buf, np.array([None, 1], dtype=object), allow_pickle=True)
    raises(RecordingCorruptError, buf.getvalue(), "evil.npy", "never unpickled")


def test_matlab_structs_strings_and_handles_refused(tmp_path):
    raises(RecordingFormatError, mat5_bytes({"s": {"a": 1.0}}), "s.mat", "variable=")
    raises(RecordingFormatError, mat5_bytes({"s": {"a": 1.0}}), "s.mat", "MATLAB struct",
           variable="s")
    raises(RecordingFormatError, mat5_bytes({"c": "hello"}), "s.mat", "MATLAB char",
           variable="c")
    p = tmp_path / "h.mat"
    write_mat73(p, {"x": np.ones((2, 3))})
    with h5py.File(p, "r+") as f:
        ds = f.create_dataset("fh", data=np.zeros((1, 4), dtype=np.uint32))
        ds.attrs["MATLAB_class"] = np.bytes_("function_handle")
        g = f.create_group("obj")
        g.attrs["MATLAB_class"] = np.bytes_("MyClass")
    raises(RecordingFormatError, p, None, "function_handle", variable="fh")
    raises(RecordingFormatError, p, None, "MyClass", variable="obj")


# ------------------------------------------------------------------ bounded reading
def test_size_caps(tmp_path, monkeypatch, nwb_bytes):
    data = csv_bytes(toy_trains(3))
    p = tmp_path / "a.csv"
    p.write_bytes(data)
    raises(RecordingTooLargeError, p, None, "size cap", size_cap_bytes=100)
    monkeypatch.setattr(loader, "UPLOAD_SIZE_CAP_BYTES", 100)
    raises(RecordingTooLargeError, data, "a.csv", "upload cap")
    monkeypatch.undo()
    bomb = npz_bytes(raster=np.zeros((100, 100_000), dtype=np.uint8))  # 10 MB, compresses
    assert len(bomb) < 100_000
    raises(RecordingTooLargeError, bomb, "bomb.npz", "expands to", size_cap_bytes=1_000_000)
    p = tmp_path / "a.nwb"
    p.write_bytes(nwb_bytes)  # on disk, the cap applies to the spike times read
    raises(RecordingTooLargeError, p, None, "spike times take", size_cap_bytes=1000)
    files = phy_files(toy_trains(2))
    raises(RecordingTooLargeError, zip_bytes(files), "ks.zip", "cap", size_cap_bytes=200)


def test_bad_bin_in_inspect():
    with pytest.raises(BinningError, match="larger than the window"):
        inspect_recording("sample:onken-movie1-exp1", bin_ms=20_000.0)
    with pytest.raises(BinningError, match="bin_ms"):
        inspect_recording("sample:onken-movie1-exp1", bin_ms=-5)


def test_every_error_class_is_a_recording_error():
    for exc in (EmptyRecordingFileError, NoUnitsError, RasterValueError, RecordingCorruptError,
                RecordingExtensionError, RecordingFormatError, RecordingTooLargeError,
                SpikeTimesError, BinningError):
        assert issubclass(exc, RecordingError)


# ------------------------------------------------------------------ HDF5 worker isolation
def _crash():
    import os
    import signal

    os.kill(os.getpid(), signal.SIGSEGV)


def _sleep():
    import time

    time.sleep(30)


def test_hdf5_worker_crash_and_timeout_become_recording_errors(monkeypatch, nwb_bytes):
    from neurolattice_core.recordings import _isolate

    with pytest.raises(RecordingCorruptError, match="crashed"):
        _isolate.run_isolated(_crash, where="bad.nwb")
    monkeypatch.setattr(_isolate, "READER_TIMEOUT_S", 2.0)
    with pytest.raises(RecordingCorruptError, match="longer than 2 s"):
        _isolate.run_isolated(_sleep, where="slow.nwb")
    monkeypatch.undo()
    rec = load_recording(nwb_bytes, "ok.nwb")  # a fresh worker serves the next file
    assert rec.n_units == 3 and not rec.spike_times_s.flags.writeable


def test_bin_recording_refuses_what_is_not_a_recording():
    from neurolattice_core.errors import BinningError
    from neurolattice_core.recordings import bin_recording

    with pytest.raises(BinningError, match=r"bin_recording bins a Recording .*not ndarray"):
        bin_recording(np.zeros((3, 3)), 0.02)


def test_a_csv_row_shorter_than_its_header_is_refused():
    """'a,b,c' then '1,2' loaded as a one-spike recording."""
    raises(RecordingCorruptError, b"a,b,c\n1,2\n", "x.csv", "line 2: 2 field(s) where the header "
           "has 3")
    rec = load_recording(b"unit,time,quality\n1,0.5,good\n2,0.7,good\n", "ok.csv")
    assert rec.n_units == 2


def test_a_recording_without_one_spike_is_refused():
    """An all-zero raster loaded, then showed NaN correlations and a -1..1 Hz rate axis."""
    buffer = io.BytesIO()
    np.savez(buffer, raster=np.zeros((3, 5, 100), np.uint8), bin_width_s=0.02)
    raises(NoUnitsError, buffer.getvalue(), "zeros.npz", "not one spike in the recording",
           "all 5 units are silent")
