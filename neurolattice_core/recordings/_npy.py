"""Bounded, pickle-free reading of ``.npy`` arrays (alone or inside a zip/npz).

The header is parsed with numpy's own (``ast.literal_eval``-based) parser; the dtype must be a
plain bool/int/uint/float (or fixed-width string for ids), never object or structured; the
declared size is compared with the bytes actually present before any allocation, so a
truncated file or a header claiming a huge shape is refused without reading further.
"""

import io
import zipfile

import numpy as np

from neurolattice_core.errors import (
    RecordingCorruptError,
    RecordingError,
    RecordingTooLargeError,
)

__all__ = ["read_npy_bytes", "read_zip_members"]


def read_npy_bytes(data, where, allow_strings=False):
    """Parse one ``.npy`` file held in memory.

    Parameters
    ----------
    data : bytes
        The complete ``.npy`` content.
    where : str
        Location for error messages.
    allow_strings : bool
        Also accept fixed-width unicode/bytes arrays (unit ids, labels).

    Returns
    -------
    numpy.ndarray
        A read-only view on ``data`` (C or Fortran order as stored).

    Raises
    ------
    RecordingCorruptError
        Bad magic, bad header, forbidden dtype, or fewer bytes than the header declares.
    """
    fp = io.BytesIO(data)
    try:
        version = np.lib.format.read_magic(fp)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(fp)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(fp)
        else:
            raise ValueError(f"unsupported .npy format version {version}")
    except Exception as exc:  # numpy's header parser raises ValueError, TokenError, ...
        raise RecordingCorruptError(
            f"{where}: not a valid .npy array ({exc}); re-save it with numpy.save"
        ) from exc
    kinds = "biuf" + ("US" if allow_strings else "")
    if dtype.hasobject or dtype.names is not None or dtype.kind not in kinds:
        raise RecordingCorruptError(
            f"{where}: arrays of dtype {dtype} are not accepted (object, structured or "
            "non-numeric arrays are never unpickled); save plain numeric arrays"
        )
    if any(int(n) < 0 for n in shape):
        raise RecordingCorruptError(f"{where}: negative dimension in .npy header {shape}")
    count = 1
    for n in shape:
        count *= int(n)
    need = count * dtype.itemsize
    have = len(data) - fp.tell()
    if need > have:
        raise RecordingCorruptError(
            f"{where}: the .npy header declares shape {shape} ({need} bytes) but only {have} "
            "bytes follow: the file is truncated"
        )
    arr = np.frombuffer(data, dtype=dtype, count=count, offset=fp.tell())
    return arr.reshape(shape, order="F" if fortran else "C")


def read_zip_members(data, where, cap_bytes, wanted=None):
    """Read members of a zip archive held in memory, refusing zip bombs.

    Parameters
    ----------
    data : bytes
        The zip file.
    where : str
        Location for error messages.
    cap_bytes : int
        Largest total uncompressed size read.
    wanted : callable, optional
        ``wanted(member_name) -> bool`` selects members (default: all files).

    Returns
    -------
    dict of str -> bytes
        Member name -> uncompressed content.

    Raises
    ------
    RecordingCorruptError, RecordingTooLargeError
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            infos = [i for i in zf.infolist()
                     if not i.is_dir() and (wanted is None or wanted(i.filename))]
            total = sum(i.file_size for i in infos)
            if total > cap_bytes:
                raise RecordingTooLargeError(
                    f"{where}: the archive expands to {total} bytes, above the cap of "
                    f"{cap_bytes} bytes; raise size_cap_bytes if you trust this file"
                )
            out = {}
            for info in infos:
                with zf.open(info) as fh:
                    content = fh.read(info.file_size + 1)
                if len(content) != info.file_size:
                    raise RecordingCorruptError(
                        f"{where}: member {info.filename!r} does not have its declared size"
                    )
                out[info.filename] = content
            return out
    except RecordingError:
        raise
    except Exception as exc:  # BadZipFile, zlib.error, EOFError, NotImplementedError, ...
        raise RecordingCorruptError(
            f"{where}: the zip archive is corrupt or truncated ({type(exc).__name__}: {exc}); "
            "re-create it"
        ) from exc
