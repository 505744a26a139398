"""A fitted model is a file: JSON with arrays as nested lists, loaded back without pickle.

Format ``neurolattice-fit`` version 1: one JSON object with ``model``, ``method``,
``n_units``, ``n_samples`` (training samples), ``n_heldout_samples``, ``n_ticks``, ``bin_ms``,
``seconds``, ``converged``, ``warnings``, ``h`` (list), ``J`` (N x N nested list), ``K`` (list,
lft only), ``u`` (list, when a drive was fitted), ``units`` (indices of the fitted units in the
recording), ``regularization``, ``diagnostics``, ``provenance`` (source, bin width, selection)
and ``validation`` (summary keys ``rate_corr``, ``corr_corr``, ``lag1_corr``, ``pk_w1``,
``heldout_pll`` at its top level, then the per-model comparisons and the plot arrays).
Non-finite numbers never reach the file (they become null).
"""

import json
import math
from pathlib import Path

import numpy as np

from ..errors import FitError
from .api import FitResult
from .pseudolikelihood import MODELS

__all__ = ["fit_to_json", "fit_from_json", "save_fit", "load_fit", "to_lattice_model",
           "lattice_fields", "FORMAT", "VERSION"]

FORMAT = "neurolattice-fit"
VERSION = 1
#: Largest |J_ij - J_ji| / max(1, max |J|) accepted in the fit file of a symmetric model; fits
#: write J exactly symmetric and JSON keeps every digit, so anything above is an edit.
SYMMETRY_TOLERANCE = 1e-9


def _plain(x):
    """Numpy scalars/arrays -> JSON-able Python values; non-finite floats -> None.

    Anything else (e.g. a Path in the provenance) is stored as its text.
    """
    if isinstance(x, dict):
        return {str(k): _plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_plain(v) for v in x]
    if isinstance(x, np.ndarray):
        return _plain(x.tolist())
    if isinstance(x, (np.bool_, bool)):
        return bool(x)
    if isinstance(x, (np.integer, int)):
        return int(x)
    if isinstance(x, (np.floating, float)):
        v = float(x)
        return v if math.isfinite(v) else None
    if x is None or isinstance(x, str):
        return x
    return str(x)                  # e.g. a Path in the provenance: stored as text


def fit_to_json(result, *, arrays=True):
    """The fit as a JSON-able dict (the ``neurolattice fit --json`` object).

    Parameters
    ----------
    result : FitResult
    arrays : bool
        Keep the validation plot arrays (``validation["arrays"]``).

    Returns
    -------
    dict
    """
    validation = result.validation
    if validation is not None and not arrays:
        validation = {k: v for k, v in validation.items() if k != "arrays"}
    out = {
        "format": FORMAT, "version": VERSION,
        "model": result.model, "method": result.method,
        "n_units": result.n_units, "n_samples": result.n_samples,
        "n_heldout_samples": result.n_heldout, "n_ticks": result.n_ticks,
        "bin_ms": result.bin_ms, "seconds": result.seconds,
        "converged": result.converged, "success": result.success,
        "warnings": list(result.warnings),
        "h": result.h, "J": result.J,
    }
    if result.K is not None:
        out["K"] = result.K
    if result.u is not None:
        out["u"] = result.u
    if result.J_se is not None:
        out["J_se"] = result.J_se
    if result.K_se is not None:
        out["K_se"] = result.K_se
    out.update({"units": result.units, "regularization": result.regularization,
                "diagnostics": {k: v for k, v in result.diagnostics.items() if k != "warnings"},
                "provenance": result.provenance, "validation": validation})
    return _plain(out)


def _array(obj, key, shape=None, required=True):
    if obj.get(key) is None:
        if required:
            raise FitError(f"fit file has no {key!r}")
        return None
    try:
        arr = np.asarray(obj[key], dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise FitError(f"fit file: {key!r} is not a numeric array ({exc})") from None
    if shape is not None and arr.shape != shape:
        raise FitError(f"fit file: {key!r} has shape {arr.shape}, expected {shape}")
    if not np.all(np.isfinite(arr)):
        raise FitError(f"fit file: {key!r} holds missing or non-finite values")
    return arr


def _count(obj, key, least):
    """The integer ``obj[key]`` (at least ``least``), or a FitError naming the key."""
    value = obj.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        raise FitError(f"fit file: {key!r} is {value!r}; expected an integer >= {least}")
    return value


def _couplings(obj, n, model):
    """The (n, n) couplings ``obj["J"]``; symmetric unless the model is kinetic."""
    J = _array(obj, "J", (n, n))
    if model != "kinetic":
        gap = np.abs(J - J.T)
        if gap.max() > SYMMETRY_TOLERANCE * max(1.0, float(np.max(np.abs(J)))):
            i, j = np.unravel_index(int(np.argmax(gap)), J.shape)
            raise FitError(f"fit file: 'J' is not symmetric (J[{i}][{j}] = {J[i, j]:g} but "
                           f"J[{j}][{i}] = {J[j, i]:g}); {model} fits have symmetric couplings, "
                           f"so the file was edited or damaged: fit the recording again")
    return J


def fit_from_json(obj):
    """Rebuild a :class:`FitResult` from :func:`fit_to_json` output (validation kept as lists)."""
    if not isinstance(obj, dict) or obj.get("format") != FORMAT:
        raise FitError(f"not a {FORMAT} file (missing or wrong 'format')")
    if int(obj.get("version", 0)) > VERSION:
        raise FitError(f"fit file version {obj.get('version')} is newer than this program "
                       f"({VERSION}); upgrade neurolattice")
    model = obj.get("model")
    if model not in MODELS:
        raise FitError(f"fit file: 'model' is {model!r}; expected one of {', '.join(MODELS)}")
    n = _count(obj, "n_units", 1)
    diag = dict(obj.get("diagnostics") or {})
    diag["warnings"] = list(obj.get("warnings") or [])
    return FitResult(
        model=model, method=str(obj.get("method")),
        h=_array(obj, "h", (n,)), J=_couplings(obj, n, model),
        K=_array(obj, "K", (n,), required=model == "lft"),
        u=_array(obj, "u", (_count(obj, "n_ticks", 1),), required=False),
        n_units=n, n_samples=_count(obj, "n_samples", 0),
        n_heldout=int(obj.get("n_heldout_samples") or 0), n_ticks=_count(obj, "n_ticks", 1),
        bin_ms=obj.get("bin_ms"), units=np.asarray(obj.get("units", range(n)), dtype=np.int64),
        regularization=dict(obj.get("regularization") or {}), diagnostics=diag,
        validation=obj.get("validation"), provenance=dict(obj.get("provenance") or {}),
        J_se=_array(obj, "J_se", (n, n), required=False),
        K_se=_array(obj, "K_se", (n,), required=False))


def save_fit(result, path, *, arrays=True):
    """Write ``result`` to ``path`` as JSON (strict: no NaN/inf tokens); returns the Path."""
    path = Path(path)
    text = json.dumps(fit_to_json(result, arrays=arrays), allow_nan=False)
    path.write_text(text, encoding="utf-8")
    return path


def load_fit(path):
    """Read a fit file written by :func:`save_fit` (plain JSON, no pickle)."""
    path = Path(path)
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FitError(f"cannot read fit file {path}: {exc}") from None
    try:
        return fit_from_json(obj)
    except FitError as exc:
        raise FitError(f"{path}: {exc} (write it again with 'neurolattice fit --out')") from None


def lattice_fields(result, ticks=None):
    """Fields h_it = h_i + u_t of the fitted model on ``ticks`` ticks, float64 (N, T).

    A fitted drive u_t is repeated periodically when ``ticks`` exceeds its length.
    """
    T = int(ticks or result.n_ticks)
    fields = np.repeat(np.asarray(result.h, dtype=np.float64)[:, None], T, axis=1)
    if result.u is not None:
        u = np.asarray(result.u, dtype=np.float64)
        fields += u[np.arange(T) % u.size][None, :]
    return fields


def to_lattice_model(result, *, ticks=None, replicas=1):
    """The fitted parameters as a :class:`~neurolattice_core.model.LatticeModel`.

    ``connectivity="custom"`` with ``custom_J = J``, ``K_per_neuron = K`` (zeros for maxent),
    ``h = 0``, ``h_per_neuron = h``, ``temperature = 1`` (fits absorb beta) and open time, so the
    engine samples exactly the fitted action. A fitted drive u_t becomes ``drive="custom"`` with
    ``custom_drive`` = u_t repeated periodically over ``ticks`` (as in :func:`lattice_fields`).

    Parameters
    ----------
    result : FitResult
    ticks : int, optional
        T of the model (default: the recording's ticks per trial).
    replicas : int

    Raises
    ------
    FitError
        For kinetic fits (asymmetric couplings define no energy).
    """
    from ..model import LatticeModel

    if result.model == "kinetic":
        raise FitError("a kinetic fit has asymmetric couplings and no energy function; it is "
                       "not a LatticeModel (simulate it with fitting.sampling.sample_kinetic)")
    n = result.n_units
    T = int(ticks or result.n_ticks)
    J = np.array(result.J, dtype=np.float64)
    J = 0.5 * (J + J.T)
    np.fill_diagonal(J, 0.0)
    K = np.zeros(n) if result.K is None else np.asarray(result.K, dtype=np.float64)
    # created without the drive first: its memory check refuses a huge T before the (T,) drive
    # is built
    model = LatticeModel.create(
        neurons=n, ticks=T, replicas=int(replicas),
        connectivity="custom", custom_J=J, K=0.0, K_per_neuron=K, h=0.0,
        h_per_neuron=np.asarray(result.h, dtype=np.float64), temperature=1.0,
        time_boundary="open", drive="constant", drive_amplitude=0.0)
    if result.u is not None:
        u = np.asarray(result.u, dtype=np.float64)
        model.update(drive="custom", custom_drive=u[np.arange(T) % u.size])
    return model
