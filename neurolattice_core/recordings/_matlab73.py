"""Read one variable of a MATLAB v7.3 file (HDF5 with a 512-byte MATLAB header) via h5py.

MATLAB stores arrays column-major, so h5py sees every shape reversed: each array is transposed
back to MATLAB's ``size()`` order. Cell arrays are datasets of object references into the
``#refs#`` group; empty arrays carry the attribute ``MATLAB_empty``; sparse matrices are groups
with ``data``, ``ir``, ``jc`` and the attribute ``MATLAB_sparse`` (the number of rows).
"""

import io

import numpy as np

from neurolattice_core.errors import (
    RecordingCorruptError,
    RecordingError,
    RecordingTooLargeError,
    SpikeTimesError,
)
from neurolattice_core.recordings.matlab import (
    MAX_CELLS,
    NUMERIC_CLASSES,
    check_declared_size,
    choose_variable,
)

__all__ = ["read_mat73_variable"]


def _attr_str(obj, key):
    v = obj.attrs.get(key, b"")
    if isinstance(v, np.ndarray):
        v = v.reshape(-1)[0] if v.size else b""
    return v.decode("ascii", "replace") if isinstance(v, bytes | np.bytes_) else str(v)


def _is_empty(obj):
    v = obj.attrs.get("MATLAB_empty", 0)
    return bool(np.asarray(v).reshape(-1)[0]) if np.asarray(v).size else False


def _list_variables(f):
    import h5py

    info = []
    for name in f:
        if name.startswith("#"):
            continue
        obj = f[name]
        if isinstance(obj, h5py.Group):
            if "MATLAB_sparse" in obj.attrs:
                nrows = int(np.asarray(obj.attrs["MATLAB_sparse"]).reshape(-1)[0])
                ncols = int(obj["jc"].shape[0]) - 1 if "jc" in obj else 0
                info.append((name, (nrows, ncols), "sparse"))
            else:
                info.append((name, (1, 1), _attr_str(obj, "MATLAB_class") or "struct"))
        else:
            shape = (0, 0) if _is_empty(obj) else tuple(int(n) for n in obj.shape[::-1])
            info.append((name, shape, _attr_str(obj, "MATLAB_class") or "unknown"))
    return info


def _read_numeric(ds, where, budget):
    if ds.dtype.kind not in "biuf":
        raise SpikeTimesError(f"{where}: holds dtype {ds.dtype}, not numbers")
    budget[0] -= ds.size * ds.dtype.itemsize
    if budget[0] < 0:
        raise RecordingTooLargeError(f"{where}: the data exceed the size cap")
    return np.asarray(ds[()]).T


def _read_sparse(g, shape, where):
    from scipy import sparse

    data = g["data"][()] if "data" in g else np.zeros(0)
    ir = g["ir"][()] if "ir" in g else np.zeros(0, dtype=np.int64)
    jc = g["jc"][()]
    m = sparse.csc_matrix((data, ir, jc), shape=shape)
    return m.toarray()


def _read_cells(f, ds, where, budget):
    import h5py

    if h5py.check_dtype(ref=ds.dtype) is not h5py.Reference:
        raise RecordingCorruptError(f"{where}: a MATLAB cell must hold object references")
    if ds.size > MAX_CELLS:
        raise RecordingTooLargeError(f"{where}: {ds.size} cells, above {MAX_CELLS}")
    refs = np.asarray(ds[()]).T
    out = np.empty(refs.shape, dtype=object)
    for idx in np.ndindex(refs.shape):
        cwhere = f"{where}, cell {idx} (0-based)"
        target = f[refs[idx]]
        if not isinstance(target, h5py.Dataset):
            raise SpikeTimesError(
                f"{cwhere}: holds a MATLAB {_attr_str(target, 'MATLAB_class') or 'struct'}, not "
                "a numeric vector of spike times"
            )
        cls = _attr_str(target, "MATLAB_class")
        if cls not in NUMERIC_CLASSES:
            raise SpikeTimesError(
                f"{cwhere}: holds a MATLAB {cls or 'value of unknown class'}, not a numeric "
                "vector of spike times"
            )
        out[idx] = np.zeros(0) if _is_empty(target) else _read_numeric(target, cwhere, budget)
    return out


def read_mat73_variable(source, *, where, cap_bytes, variable=None):
    """Read the chosen variable of a v7.3 file.

    Parameters
    ----------
    source : str, os.PathLike or bytes
        File path or content.
    where : str
        Name for messages.
    cap_bytes : int
        Largest number of bytes of data read.
    variable : str, optional
        Variable name; default the only candidate.

    Returns
    -------
    value : numpy.ndarray
        Numeric array in MATLAB's shape, or an object array of numeric arrays for a cell.
    cls : str
        MATLAB class of the variable.
    name : str
        Variable name.

    Raises
    ------
    RecordingError (subclasses)
    """
    import h5py

    fileobj = io.BytesIO(source) if isinstance(source, bytes | bytearray) else source
    try:
        f = h5py.File(fileobj, "r")
    except Exception as exc:  # h5py raises OSError, ValueError, ... on corrupt files
        raise RecordingCorruptError(
            f"{where}: the MATLAB v7.3 (HDF5) file cannot be opened ({type(exc).__name__}: "
            f"{exc}); it is corrupt or truncated"
        ) from exc
    try:
        with f:
            info = _list_variables(f)
            name, shape, cls = choose_variable(info, variable, where)
            vwhere = f"{where}, variable {name!r}"
            check_declared_size(shape, cls, vwhere, cap_bytes)
            budget = [cap_bytes]
            obj = f[name]
            if cls == "cell":
                return _read_cells(f, obj, vwhere, budget), cls, name
            if cls == "sparse":
                return _read_sparse(obj, shape, vwhere), cls, name
            if _is_empty(obj):
                return np.zeros(shape), cls, name
            return _read_numeric(obj, vwhere, budget), cls, name
    except RecordingError:
        raise
    except Exception as exc:
        raise RecordingCorruptError(
            f"{where}: the MATLAB v7.3 file is corrupt or truncated ({type(exc).__name__}: "
            f"{exc})"
        ) from exc
