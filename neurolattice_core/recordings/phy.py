"""Kilosort / Phy output: a folder (or a zip of it) of ``.npy`` and ``.tsv`` files.

Files read (and only these):

- ``spike_times.npy``: spike times as sample indices (integers), divided by ``sample_rate``;
- ``params.py``: only the assignment ``sample_rate = ...``, parsed with :func:`ast.parse` and
  :func:`ast.literal_eval` (the file is never executed);
- ``spike_clusters.npy`` (cluster of each spike; falls back to ``spike_templates.npy``);
- labels: ``cluster_group.tsv`` (Phy's manual curation) over ``cluster_info.tsv``'s ``group``
  column over ``cluster_KSLabel.tsv`` (Kilosort's automatic label); clusters without a label are
  ``"unsorted"``.

Clusters labelled ``"noise"`` are always dropped; ``labels`` selects which other labels to keep
(default: all of them). Unit ids are the cluster ids.
"""

import ast
import os

import numpy as np

from neurolattice_core.errors import (
    NoUnitsError,
    ParameterError,
    RecordingCorruptError,
    RecordingFormatError,
    RecordingTooLargeError,
    SpikeTimesError,
)
from neurolattice_core.recordings._npy import read_npy_bytes, read_zip_members
from neurolattice_core.recordings.recording import Recording, spike_trains_to_seconds

__all__ = ["load_phy_folder", "load_phy_zip", "parse_sample_rate", "PHY_FILES"]

#: Files of a Kilosort/Phy folder that the loader reads.
PHY_FILES = ("spike_times.npy", "spike_clusters.npy", "spike_templates.npy", "params.py",
             "cluster_group.tsv", "cluster_info.tsv", "cluster_KSLabel.tsv")


def parse_sample_rate(text, where):
    """Read ``sample_rate`` from the text of a Phy ``params.py`` without executing it.

    Returns
    -------
    float
        Sampling rate in Hz.

    Raises
    ------
    RecordingFormatError
        No literal ``sample_rate = <number>`` assignment, or an implausible value.
    """
    try:
        tree = ast.parse(text, filename="params.py", mode="exec")
    except Exception as exc:  # SyntaxError, ValueError (NUL bytes), RecursionError, ...
        raise RecordingFormatError(
            f"{where}: params.py is not valid Python ({type(exc).__name__}); it must contain a "
            "line 'sample_rate = 30000.0'"
        ) from exc
    value = None
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "sample_rate" for t in node.targets
        ):
            try:
                value = ast.literal_eval(node.value)
            except Exception as exc:  # not a literal: ValueError, TypeError, RecursionError
                raise RecordingFormatError(
                    f"{where}: params.py line {node.lineno}: sample_rate must be a literal "
                    "number (it is not evaluated as code)"
                ) from exc
    if value is None:
        raise RecordingFormatError(
            f"{where}: params.py has no 'sample_rate = <number>' assignment; add the sampling "
            "rate in Hz"
        )
    if isinstance(value, bool) or not isinstance(value, int | float) or not (
        100.0 <= float(value) <= 1e7
    ):
        raise RecordingFormatError(
            f"{where}: params.py sample_rate = {value!r} is not a sampling rate in Hz "
            "(expected a number between 100 and 1e7, e.g. 30000.0)"
        )
    return float(value)


def _parse_labels(text, where, fname):
    """Return {cluster_id: label} from a two-or-more column TSV with a header."""
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if not lines:
        return {}
    header = [h.strip() for h in lines[0].split("\t")]
    col = next((k for k, h in enumerate(header) if h in ("group", "KSLabel")), None)
    cid = next((k for k, h in enumerate(header) if h in ("cluster_id", "id")), None)
    if col is None or cid is None:
        raise RecordingFormatError(
            f"{where}/{fname}: header {header} lacks 'cluster_id' and 'group'/'KSLabel' columns"
        )
    out = {}
    for k, line in enumerate(lines[1:], start=2):
        f = line.split("\t")
        if len(f) <= max(col, cid):
            raise RecordingFormatError(f"{where}/{fname}, line {k}: too few columns")
        try:
            out[int(f[cid].strip())] = f[col].strip() or "unsorted"
        except ValueError:
            raise RecordingFormatError(
                f"{where}/{fname}, line {k}: cluster id {f[cid]!r} is not an integer"
            ) from None
    return out


def _decode(content, where, fname):
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise RecordingFormatError(f"{where}/{fname}: not UTF-8 text") from exc


def load_phy_files(files, *, where, labels=None):
    """Build a recording from the contents of a Phy folder.

    Parameters
    ----------
    files : dict of str -> bytes
        File name (basename, from :data:`PHY_FILES`) -> content.
    where : str
        Folder or zip name for messages.
    labels : sequence of str, optional
        Labels to keep (e.g. ``("good",)``); default all but ``"noise"``.

    Returns
    -------
    Recording
    """
    for need in ("spike_times.npy", "params.py"):
        if need not in files:
            raise RecordingFormatError(
                f"{where}: {need} is missing; a Kilosort/Phy folder needs spike_times.npy, "
                "spike_clusters.npy and params.py"
            )
    rate = parse_sample_rate(_decode(files["params.py"], where, "params.py"), where)
    samples = read_npy_bytes(files["spike_times.npy"], f"{where}/spike_times.npy").reshape(-1)
    notes = []
    if "spike_clusters.npy" in files:
        clusters = read_npy_bytes(files["spike_clusters.npy"], f"{where}/spike_clusters.npy")
    elif "spike_templates.npy" in files:
        clusters = read_npy_bytes(files["spike_templates.npy"], f"{where}/spike_templates.npy")
        notes.append("spike_clusters.npy missing: units are Kilosort templates (uncurated)")
    else:
        raise RecordingFormatError(
            f"{where}: spike_clusters.npy (or spike_templates.npy) is missing"
        )
    clusters = clusters.reshape(-1)
    if clusters.dtype.kind not in "iu":
        raise RecordingFormatError(
            f"{where}/spike_clusters.npy: cluster ids must be integers, got {clusters.dtype}"
        )
    if clusters.size != samples.size:
        raise RecordingCorruptError(
            f"{where}: spike_times.npy has {samples.size} spikes but spike_clusters.npy has "
            f"{clusters.size}; the two files come from different sortings"
        )
    if samples.size == 0:
        raise NoUnitsError(f"{where}: spike_times.npy holds no spikes")
    if samples.dtype.kind == "f" and not np.all(samples == np.floor(samples)):
        raise SpikeTimesError(
            f"{where}/spike_times.npy: values must be sample indices (integers); got fractional "
            "values. If they are seconds, load them as an .npz with spike_times/spike_units"
        )
    if samples.dtype.kind not in "iuf":
        raise SpikeTimesError(f"{where}/spike_times.npy: dtype {samples.dtype} is not numeric")
    label_of = {}
    for fname in ("cluster_KSLabel.tsv", "cluster_info.tsv", "cluster_group.tsv"):
        if fname in files:  # later files take precedence
            label_of.update(_parse_labels(_decode(files[fname], where, fname), where, fname))
    ids, inverse = np.unique(clusters, return_inverse=True)
    unit_labels = [label_of.get(int(c), "unsorted") for c in ids]
    keep = [k for k, lab in enumerate(unit_labels) if lab != "noise"
            and (labels is None or lab in labels)]
    dropped = len(ids) - len(keep)
    if dropped:
        notes.append(f"{dropped} cluster(s) dropped by label (noise always; kept labels: "
                     f"{'all' if labels is None else sorted(labels)})")
    if not keep:
        raise NoUnitsError(
            f"{where}: no cluster left after dropping noise and keeping labels "
            f"{'all' if labels is None else sorted(labels)}; labels present: "
            f"{sorted(set(unit_labels))}"
        )
    order = np.argsort(inverse, kind="stable")
    bounds = np.searchsorted(inverse[order], np.arange(len(ids) + 1))
    s_sorted = samples[order].astype(np.float64)
    trains = [s_sorted[bounds[k]:bounds[k + 1]] / rate for k in keep]
    kept_ids = [int(ids[k]) for k in keep]
    sec, _, _, _ = spike_trains_to_seconds(
        trains, "s", [f"{where}/spike_times.npy, cluster {c}" for c in kept_ids], where
    )
    return Recording.from_seconds(
        sec, unit="samples", how=f"sample_rate {rate:g} Hz from params.py",
        unit_ids=kept_ids, unit_labels=[unit_labels[k] for k in keep], warnings=notes,
        provenance={"format": "phy", "sample_rate_hz": rate},
    )


def _check_labels(labels):
    if labels is None:
        return None
    if isinstance(labels, str):
        labels = (labels,)
    labels = tuple(str(x) for x in labels)
    if not labels:
        raise ParameterError("labels must name at least one label, e.g. ('good', 'mua')")
    return labels


def load_phy_folder(path, *, cap_bytes, labels=None):
    """Read a Kilosort/Phy output folder (see the module docstring).

    Parameters
    ----------
    path : str or os.PathLike
        The folder.
    cap_bytes : int
        Largest total size of the files read.
    labels : sequence of str, optional
        Labels to keep; default all but ``"noise"``.
    """
    labels = _check_labels(labels)
    where = os.fspath(path)
    present = [f for f in PHY_FILES if os.path.isfile(os.path.join(where, f))]
    total = sum(os.path.getsize(os.path.join(where, f)) for f in present)
    if total > cap_bytes:
        raise RecordingTooLargeError(
            f"{where}: the Phy files total {total} bytes, above the cap of {cap_bytes} bytes; "
            "raise size_cap_bytes if you mean to load it"
        )
    files = {}
    for f in present:
        with open(os.path.join(where, f), "rb") as fh:
            files[f] = fh.read()
    return load_phy_files(files, where=where, labels=labels)


def load_phy_zip(data, *, where, cap_bytes, labels=None):
    """Read a zip of a Kilosort/Phy folder held in memory (files at any one folder depth)."""
    labels = _check_labels(labels)
    members = read_zip_members(
        data, where, cap_bytes, wanted=lambda n: os.path.basename(n) in PHY_FILES
    )
    params = [n for n in members if os.path.basename(n) == "params.py"]
    if len(params) != 1:
        raise RecordingFormatError(
            f"{where}: a Phy zip must hold exactly one params.py (found {len(params)})"
        )
    folder = os.path.dirname(params[0])
    files = {os.path.basename(n): c for n, c in members.items() if os.path.dirname(n) == folder}
    return load_phy_files(files, where=where, labels=labels)
