"""Recognise a recording's format from its first bytes and from its file name extension."""

import os

__all__ = ["sniff_content", "extension_formats", "FORMAT_NAMES"]

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
NPY_MAGIC = b"\x93NUMPY"
ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")

#: Human-readable names of the content kinds returned by :func:`sniff_content`.
FORMAT_NAMES = {
    "hdf5": "HDF5 (NWB)",
    "mat73": "MATLAB v7.3 (HDF5)",
    "mat5": "MATLAB v5",
    "zip": "zip archive (NPZ or Kilosort/Phy)",
    "npy": "NumPy .npy",
    "text": "text (CSV/TSV)",
}

# extension -> content kinds it may hold
_EXTENSIONS = {
    ".nwb": {"hdf5"},
    ".h5": {"hdf5", "mat73"},
    ".hdf5": {"hdf5", "mat73"},
    ".mat": {"mat5", "mat73"},
    ".npz": {"zip"},
    ".zip": {"zip"},
    ".npy": {"npy"},
    ".csv": {"text"},
    ".tsv": {"text"},
    ".txt": {"text"},
}


def extension_formats(name):
    """Return (extension, set of content kinds it may hold) or (ext, None) if unknown."""
    ext = os.path.splitext(str(name or ""))[1].lower()
    return ext, _EXTENSIONS.get(ext)


def sniff_content(head):
    """Classify content from its first bytes (at least 1100 bytes when available).

    Returns
    -------
    str or None
        One of ``'hdf5'``, ``'mat73'``, ``'mat5'``, ``'zip'``, ``'npy'``, ``'text'``, or None
        when the bytes match no supported format.
    """
    if head.startswith(b"MATLAB 7.3 MAT-file") and head[512:520] == HDF5_SIGNATURE:
        return "mat73"
    for offset in (0, 512, 1024):
        if head[offset:offset + 8] == HDF5_SIGNATURE:
            return "hdf5"
    if head.startswith(b"MATLAB 5.0 MAT-file") and (len(head) < 128 or head[126:128] in (
        b"IM", b"MI"
    )):
        return "mat5"  # a header cut short is a truncated MATLAB file
    if head.startswith(ZIP_MAGICS):
        return "zip"
    if head.startswith(NPY_MAGIC):
        return "npy"
    sample = head[:4096]
    if sample and b"\x00" not in sample:
        try:
            sample.decode("utf-8")
        except UnicodeDecodeError as exc:
            # a multi-byte character cut at the end of the sample is still text
            if exc.start < len(sample) - 4:
                return None
        return "text"
    return None
