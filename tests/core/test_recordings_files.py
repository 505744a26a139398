"""Writers of small recording files in every supported format, shared by the recordings tests.

Imported by the other ``test_recordings_*`` modules (``from tests.core.test_recordings_files``);
the single test below checks the writers themselves.
"""

import datetime
import io
import os
import zipfile

import h5py
import numpy as np
import scipy.io

SHARED = "/work/shared/data"
ONKEN = os.path.join(SHARED, "onken2016-salamander-retina")
MAXENT = os.path.join(SHARED, "maxent-toolbox-example50")


def toy_trains(n_units=4, duration=10.0, rate=8.0, seed=0):
    """Sorted spike trains in seconds (unit k has roughly rate * (k + 1) / 2 Hz)."""
    rng = np.random.default_rng(seed)
    out = []
    for k in range(n_units):
        n = rng.poisson(rate * duration * (k + 1) / 2)
        out.append(np.sort(rng.uniform(0, duration, n)))
    return out


# ------------------------------------------------------------------ NWB
def write_nwb(path, trains, labels=None, trials=None, acquisition=False, unit_ids=None):
    """Write a tiny NWB file with a Units table (+ optional trials and acquisition)."""
    from pynwb import NWBHDF5IO, NWBFile, TimeSeries

    nwb = NWBFile(session_description="test", identifier="neurolattice-test",
                  session_start_time=datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC))
    if labels is not None:
        nwb.add_unit_column("quality", "unit quality")
    for k, t in enumerate(trains):
        kw = {"spike_times": np.asarray(t, dtype=np.float64)}
        if labels is not None:
            kw["quality"] = labels[k]
        if unit_ids is not None:
            kw["id"] = unit_ids[k]
        nwb.add_unit(**kw)
    if trials is not None:
        nwb.add_trial_column("condition", "stimulus condition")
        nwb.add_trial_column("stim_on_time", "stimulus onset")
        for start, stop, cond, on in trials:
            nwb.add_trial(start_time=float(start), stop_time=float(stop), condition=cond,
                          stim_on_time=float(on))
    if acquisition:
        nwb.add_acquisition(TimeSeries(name="raw", data=np.zeros((1000, 4), dtype=np.int16),
                                       unit="uV", rate=1000.0))
    with NWBHDF5IO(os.fspath(path), "w") as io_:
        io_.write(nwb)
    return path


# ------------------------------------------------------------------ Phy
def phy_files(trains, rate=30000.0, groups=None, ks_labels=None, params_extra=""):
    """Contents of a Phy folder for spike trains in seconds (cluster ids 0..N-1)."""
    samples = np.concatenate([np.round(np.asarray(t) * rate) for t in trains]).astype(np.uint64)
    clusters = np.concatenate([np.full(len(t), k) for k, t in enumerate(trains)]).astype(np.int32)
    order = np.argsort(samples, kind="stable")
    files = {}
    buf = io.BytesIO()
    np.save(buf, samples[order])
    files["spike_times.npy"] = buf.getvalue()
    buf = io.BytesIO()
    np.save(buf, clusters[order])
    files["spike_clusters.npy"] = buf.getvalue()
    files["params.py"] = (f"dat_path = 'raw.bin'\nn_channels_dat = 32\ndtype = 'int16'\n"
                          f"offset = 0\nsample_rate = {rate!r}\nhp_filtered = False\n"
                          f"{params_extra}").encode()
    if groups is not None:
        files["cluster_group.tsv"] = ("cluster_id\tgroup\n" + "".join(
            f"{k}\t{g}\n" for k, g in groups.items())).encode()
    if ks_labels is not None:
        files["cluster_KSLabel.tsv"] = ("cluster_id\tKSLabel\n" + "".join(
            f"{k}\t{g}\n" for k, g in ks_labels.items())).encode()
    return files


def write_phy_folder(folder, files):
    os.makedirs(folder, exist_ok=True)
    for name, content in files.items():
        with open(os.path.join(folder, name), "wb") as fh:
            fh.write(content)
    return folder


def zip_bytes(files, prefix="kilosort_out/"):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, content in files.items():
            zf.writestr(prefix + name, content)
    return buf.getvalue()


# ------------------------------------------------------------------ CSV / NPZ
def csv_bytes(trains, unit_ids=None, scale=1.0, header="unit,time", delim=",", fmt="{:.6f}"):
    rows = [(u, t) for k, tr in enumerate(trains)
            for u, t in zip([unit_ids[k] if unit_ids else k] * len(tr), tr, strict=True)]
    rows.sort(key=lambda x: x[1])
    lines = ([header] if header else []) + [f"{u}{delim}{fmt.format(t * scale)}" for u, t in rows]
    return ("\n".join(lines) + "\n").encode()


def npz_bytes(**arrays):
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    return buf.getvalue()


def npz_spikes(trains, **extra):
    times = np.concatenate(trains)
    units = np.concatenate([np.full(len(t), k) for k, t in enumerate(trains)])
    return npz_bytes(spike_times=times, spike_units=units, **extra)


# ------------------------------------------------------------------ MATLAB
def cell_array(rows):
    """Object array (units x trials) of column vectors, as MATLAB cells."""
    n, r = len(rows), len(rows[0])
    cells = np.empty((n, r), dtype=object)
    for i in range(n):
        for j in range(r):
            cells[i, j] = np.asarray(rows[i][j], dtype=np.float64).reshape(-1, 1)
    return cells


def mat5_bytes(variables):
    buf = io.BytesIO()
    scipy.io.savemat(buf, variables, do_compression=True)
    return buf.getvalue()


MAT73_HEADER = (b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Mon Jan  1 00:00:00 2024 "
                b"HDF5 schema 1.00 .").ljust(116, b" ") + b"\x00" * 8 + b"\x00\x02IM"


def _mclass(arr):
    return {"f": "double", "b": "logical", "u": f"uint{8 * arr.dtype.itemsize}",
            "i": f"int{8 * arr.dtype.itemsize}"}[arr.dtype.kind]


def write_mat73(path, variables):
    """Write a MATLAB v7.3-like file: numeric arrays and cell arrays (object arrays).

    MATLAB's column-major storage is mimicked by writing every array transposed; cells are
    datasets of object references into ``#refs#``.
    """
    with h5py.File(path, "w", userblock_size=512, libver="earliest") as f:
        refs = f.create_group("#refs#")
        count = 0
        for name, value in variables.items():
            value = np.asarray(value) if not isinstance(value, np.ndarray) else value
            if value.dtype == object:
                ref_arr = np.empty(value.shape, dtype=h5py.ref_dtype)
                for idx in np.ndindex(value.shape):
                    elem = np.asarray(value[idx])
                    key = f"c{count}"
                    count += 1
                    if elem.size == 0:
                        ds = refs.create_dataset(key, data=np.array([0, 0], dtype=np.uint64))
                        ds.attrs["MATLAB_empty"] = np.uint8(1)
                        ds.attrs["MATLAB_class"] = np.bytes_("double")
                    else:
                        ds = refs.create_dataset(key, data=np.atleast_2d(elem).T)
                        ds.attrs["MATLAB_class"] = np.bytes_(_mclass(elem))
                    ref_arr[idx] = ds.ref
                ds = f.create_dataset(name, data=ref_arr.T)
                ds.attrs["MATLAB_class"] = np.bytes_("cell")
            else:
                data = value.astype(np.uint8) if value.dtype == bool else value
                ds = f.create_dataset(name, data=data.T)
                ds.attrs["MATLAB_class"] = np.bytes_(_mclass(value))
    with open(path, "r+b") as fh:
        fh.write(MAT73_HEADER)
    return path


def mat73_bytes(tmp_path, variables, name="x.mat"):
    p = write_mat73(os.path.join(tmp_path, name), variables)
    with open(p, "rb") as fh:
        return fh.read()


def test_mat73_writer_is_read_back_by_h5py(tmp_path):
    p = write_mat73(tmp_path / "a.mat", {"r": np.eye(3, 5), "c": cell_array([[[1, 2]], [[3]]])})
    with open(p, "rb") as fh:
        head = fh.read(600)
    assert head.startswith(b"MATLAB 7.3 MAT-file") and head[512:516] == b"\x89HDF"
    with h5py.File(p, "r") as f:
        assert f["r"].shape == (5, 3)
        assert f[f["c"][0, 1]][()].ravel().tolist() == [3.0]
