"""``load_recording``: one entry point for every supported format, chosen by content.

The format is recognised from the first bytes (HDF5 signature, MATLAB header, zip, npy magic,
text) and checked against the file name's extension: an extension that names a different format
than the content is refused (:class:`~neurolattice_core.errors.RecordingExtensionError`); an
unknown or missing extension defers to the content. A folder is read as Kilosort/Phy output.

NWB and MATLAB files are parsed in a worker process (:mod:`._isolate`), because the HDF5
library and scipy's compiled MAT reader can crash or hang on corrupt files.

Reading is bounded: files larger than :data:`SIZE_CAP_BYTES` and uploads (bytes) larger than
:data:`UPLOAD_SIZE_CAP_BYTES` are refused before being read (for NWB, the cap applies to the
spike times read, since acquisition data are never read). The app may set these module
constants; ``size_cap_bytes=`` overrides them per call.
"""

import os

from neurolattice_core.errors import (
    EmptyRecordingFileError,
    NoUnitsError,
    ParameterError,
    RecordingError,
    RecordingExtensionError,
    RecordingFormatError,
    RecordingNotFoundError,
    RecordingTooLargeError,
)
from neurolattice_core.recordings._sniff import FORMAT_NAMES, extension_formats, sniff_content
from neurolattice_core.recordings._timeunits import normalize_time_unit
from neurolattice_core.recordings.recording import Recording

__all__ = ["load_recording", "detect_format", "SIZE_CAP_BYTES", "UPLOAD_SIZE_CAP_BYTES",
           "FORMAT_OPTIONS"]

#: Largest file (bytes) read from disk; the app or a script may change it.
SIZE_CAP_BYTES = 2 * 1024**3
#: Largest in-memory upload (bytes); the app may change it.
UPLOAD_SIZE_CAP_BYTES = 256 * 1024**2

#: Options accepted by each format's reader (beyond ``time_unit`` and ``size_cap_bytes``).
FORMAT_OPTIONS = {
    "nwb": {"labels", "label_column", "trial_label_column"},
    "phy": {"labels"},
    "text": set(),
    "npz": {"bin_width_s", "axes"},
    "npy": {"bin_width_s", "axes"},
    "mat5": {"variable", "trial_duration_s", "bin_width_s", "axes"},
    "mat73": {"variable", "trial_duration_s", "bin_width_s", "axes"},
}
_KIND_TO_FORMAT = {"hdf5": "nwb", "mat73": "mat73", "mat5": "mat5", "zip": "zip", "npy": "npy",
                   "text": "text"}


def _one_of(names):
    """'A', 'A or B', 'A, B or C'."""
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"


def detect_format(head, name=None):
    """Return the content kind of a file from its first bytes, checked against its extension.

    Parameters
    ----------
    head : bytes
        First bytes of the file (>= 1100 when available).
    name : str, optional
        File name (only its extension is used).

    Returns
    -------
    str
        ``'hdf5'``, ``'mat73'``, ``'mat5'``, ``'zip'``, ``'npy'`` or ``'text'``.

    Raises
    ------
    EmptyRecordingFileError, RecordingFormatError, RecordingExtensionError
    """
    label = name or "upload"
    if not head:
        raise EmptyRecordingFileError(
            f"{label}: the file is empty (0 bytes); export the recording again"
        )
    kind = sniff_content(head)
    ext, allowed = extension_formats(name)
    if kind is None:
        expected = _one_of([FORMAT_NAMES[k] for k in sorted(allowed)]) if allowed else None
        raise RecordingFormatError(
            f"{label}: the content is not a supported recording format"
            + (f" (the extension {ext!r} promises {expected}, but the bytes do not match: the "
               "file is corrupt or truncated)" if expected else "")
            + "; supported: NWB, Kilosort/Phy folder or zip, CSV/TSV, NPZ/NPY, MATLAB .mat"
        )
    if allowed is not None and kind not in allowed:
        raise RecordingExtensionError(
            f"{label}: the extension {ext!r} says {_one_of([FORMAT_NAMES[k] for k in allowed])} "
            f"but the content is {FORMAT_NAMES[kind]}; rename the file with the right extension"
        )
    return kind


def _check_options(fmt, options):
    unknown = set(options) - FORMAT_OPTIONS[fmt]
    if unknown:
        raise ParameterError(
            f"option(s) {sorted(unknown)} do not apply to {fmt} files; valid: "
            f"{sorted(FORMAT_OPTIONS[fmt]) or 'none'} (plus time_unit, size_cap_bytes)"
        )
    if options.get("bin_width_s") is not None:
        w = options["bin_width_s"]
        if not (isinstance(w, int | float) and w > 0 and w < float("inf")):
            raise ParameterError(f"bin_width_s must be a number of seconds > 0; got {w!r}")
    if options.get("trial_duration_s") is not None:
        d = options["trial_duration_s"]
        if not (isinstance(d, int | float) and d > 0 and d < float("inf")):
            raise ParameterError(f"trial_duration_s must be a number of seconds > 0; got {d!r}")


def _read_bounded(path, cap):
    size = os.path.getsize(path)
    if size > cap:
        raise RecordingTooLargeError(
            f"{path}: {size} bytes, above the size cap of {cap} bytes; raise size_cap_bytes "
            "(or loader.SIZE_CAP_BYTES) if you mean to load it"
        )
    with open(path, "rb") as fh:
        return fh.read(cap + 1)


def load_recording(source, name=None, *, size_cap_bytes=None, time_unit=None, **options):
    """Load a recording from a path, a folder, bytes or a shipped sample name.

    Parameters
    ----------
    source : str, os.PathLike, bytes, Recording
        A file path; a Kilosort/Phy folder; the content of an uploaded file; a shipped sample
        ``"sample:NAME"`` (see :func:`~neurolattice_core.recordings.samples.list_samples`);
        or a :class:`Recording` (returned unchanged).
    name : str, optional
        File name of uploaded bytes (its extension is checked against the content) or a
        display name for messages.
    size_cap_bytes : int, optional
        Largest size read; default :data:`SIZE_CAP_BYTES` for files, :data:`UPLOAD_SIZE_CAP_BYTES`
        for bytes.
    time_unit : {'s', 'ms', 'us'}, optional
        Unit of spike times in CSV/NPZ/MATLAB cell arrays; default detected (and stated in the
        recording's warnings).
    **options
        Format-specific options (:data:`FORMAT_OPTIONS`): ``labels`` (Phy, NWB), ``variable``,
        ``trial_duration_s``, ``axes``, ``bin_width_s`` (MATLAB, NPZ), ``label_column``,
        ``trial_label_column`` (NWB).

    Returns
    -------
    Recording

    Raises
    ------
    RecordingError
        Its subclasses say what is wrong: not found, empty, wrong extension, corrupt, too
        large, no units, bad spike times, bad raster values.
    ParameterError
        An option is invalid.
    """
    if isinstance(source, Recording):
        return source
    time_unit = normalize_time_unit(time_unit)
    if isinstance(source, str) and source.startswith("sample:"):
        from neurolattice_core.recordings.samples import load_sample

        if time_unit is not None:
            options["time_unit"] = time_unit
        if size_cap_bytes is not None:
            options["size_cap_bytes"] = size_cap_bytes
        return load_sample(source[len("sample:"):], **options)
    if size_cap_bytes is not None and not (isinstance(size_cap_bytes, int) and size_cap_bytes > 0):
        raise ParameterError(f"size_cap_bytes must be a positive integer; got {size_cap_bytes!r}")
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
        cap = UPLOAD_SIZE_CAP_BYTES if size_cap_bytes is None else size_cap_bytes
        where = name or "upload"
        if len(data) > cap:
            raise RecordingTooLargeError(
                f"{where}: {len(data)} bytes, above the upload cap of {cap} bytes"
            )
        path = None
    elif isinstance(source, str | os.PathLike):
        path = os.fspath(source)
        cap = SIZE_CAP_BYTES if size_cap_bytes is None else size_cap_bytes
        where = name or path
        if os.path.isdir(path):
            from neurolattice_core.recordings.phy import load_phy_folder

            _check_options("phy", options)
            if time_unit is not None:
                raise ParameterError("Phy spike times are sample indices; drop time_unit")
            return _finish(load_phy_folder(path, cap_bytes=cap, **options), path, where)
        if not os.path.isfile(path):
            raise RecordingNotFoundError(f"{path}: no such file or folder")
        data = None
        name = name or path
    else:
        raise ParameterError(
            f"source must be a path, bytes, 'sample:NAME' or a Recording; got "
            f"{type(source).__name__}"
        )
    if data is None:
        with open(path, "rb") as fh:
            head = fh.read(4096)
    else:
        head = data[:4096]
    kind = detect_format(head, name)
    fmt = _KIND_TO_FORMAT[kind]
    try:
        rec = _dispatch(fmt, path, data, where, cap, time_unit, options)
    except MemoryError as exc:
        raise RecordingTooLargeError(
            f"{where}: not enough memory to read this file ({exc}); it may be corrupt"
        ) from exc
    except RecordingError:
        raise
    except RecursionError as exc:
        raise RecordingFormatError(f"{where}: the file is nested too deeply to read") from exc
    return _finish(rec, path, where)


def _finish(rec, path, where):
    if rec.n_spikes == 0:
        raise NoUnitsError(f"{where}: not one spike in the recording (all {rec.n_units} units "
                           "are silent); check that the file holds the spikes, or choose the "
                           "variable that does")
    prov = {"source": path if path is not None else "<bytes>", "name": os.path.basename(where)}
    return rec.with_provenance(**prov)


def _dispatch(fmt, path, data, where, cap, time_unit, options):
    """Call the reader of ``fmt`` with the file's content (or path for HDF5)."""
    if fmt in ("nwb", "mat73", "mat5"):
        if path is not None and fmt != "nwb":
            size = os.path.getsize(path)
            if size > cap:
                raise RecordingTooLargeError(
                    f"{where}: {size} bytes, above the size cap of {cap} bytes; raise "
                    "size_cap_bytes (or loader.SIZE_CAP_BYTES) if you mean to load it"
                )
        source = path if path is not None else data
        _check_options(fmt, options)
        if fmt == "nwb" and time_unit not in (None, "s"):
            raise ParameterError("NWB spike times are always in seconds; drop time_unit")
        from neurolattice_core.recordings import _isolate

        args = (fmt, source, where, cap, time_unit, options)
        if _isolate.ISOLATE_READERS:
            return _isolate.run_isolated(_isolate.load_native, args, where=where)
        return _isolate.load_native(*args)
    if data is None:
        data = _read_bounded(path, cap)
    if fmt == "zip":
        from neurolattice_core.recordings._npy import read_zip_members

        names = read_zip_members(data, where, cap, wanted=lambda n: n.endswith("params.py"))
        fmt = "phy" if names else "npz"
    _check_options(fmt, options)
    if fmt == "phy":
        from neurolattice_core.recordings.phy import load_phy_zip

        if time_unit is not None:
            raise ParameterError("Phy spike times are sample indices; drop time_unit")
        return load_phy_zip(data, where=where, cap_bytes=cap, **options)
    if fmt == "npz":
        from neurolattice_core.recordings.npz import load_npz

        return load_npz(data, where=where, cap_bytes=cap, time_unit=time_unit, **options)
    if fmt == "npy":
        from neurolattice_core.recordings.npz import load_npy

        return load_npy(data, where=where, **options)
    from neurolattice_core.recordings.text import load_text

    return load_text(data, where=where, time_unit=time_unit)
