"""General path of the sampling engine: single-site heat bath and Metropolis, any couplings.

Public API:

- :func:`colour_graph` -- a deterministic greedy proper colouring of the neuron graph;
- :func:`local_sweeps` -- ``n_sweeps`` sweeps of single-site updates on every replica, in place.

The model, update order, random streams and acceptance rules are documented in
:mod:`.local_sweep` and :mod:`.local_segment`, the exact lazy acceptance test in
:mod:`.local_math`, the memory layout in :mod:`.local_layout`. This module validates the inputs
and calls the parallel kernel.
"""

import numbers

import numpy as np
from numba import njit

from ..errors import ParameterError
from .local_layout import permute_ticks, time_classes
from .local_sweep import KIND_ALL, KIND_DENSE, KIND_SPARSE, _local_sweeps

KINDS = {"all-to-all": KIND_ALL, "sparse": KIND_SPARSE, "dense": KIND_DENSE}
METHODS = ("heatbath", "metropolis")


# ----------------------------------------------------------------------------- colouring
@njit(cache=True, nogil=True)
def _greedy_colours(indptr, indices):
    """Colour neurons 0..N-1 in order with the smallest colour unused by coloured neighbours."""
    n = indptr.size - 1
    colours = np.full(n, -1, dtype=np.int64)
    seen = np.full(n + 1, -1, dtype=np.int64)   # seen[c] == i: colour c is taken near i
    for i in range(n):
        for p in range(indptr[i], indptr[i + 1]):
            cj = colours[indices[p]]
            if cj >= 0:
                seen[cj] = i
        c = 0
        while seen[c] == i:
            c += 1
        colours[i] = c
    return colours


def _check_csr(indptr, indices, n=None, weights=None):
    """Validate a CSR neighbour list; return (indptr, indices, weights) as int64/float64."""
    for name, arr in (("indptr", indptr), ("indices", indices)):
        if not isinstance(arr, np.ndarray) or arr.ndim != 1 or arr.dtype.kind not in "iu":
            raise ParameterError(f"{name} must be a 1-D int64 numpy array")
    indptr = np.ascontiguousarray(indptr, dtype=np.int64)
    indices = np.ascontiguousarray(indices, dtype=np.int64)
    n_csr = indptr.size - 1
    if n_csr < 1 or (n is not None and n_csr != n):
        raise ParameterError(f"indptr must have shape (N + 1,) with N = {n}, got {indptr.shape}")
    if indptr[0] != 0 or np.any(np.diff(indptr) < 0) or indptr[-1] != indices.size:
        raise ParameterError("indptr must start at 0, be non-decreasing and end at len(indices)")
    if indices.size and (indices.min() < 0 or indices.max() >= n_csr):
        raise ParameterError(f"indices must lie in 0..{n_csr - 1}")
    rows = np.repeat(np.arange(n_csr, dtype=np.int64), np.diff(indptr))
    if np.any(rows == indices):
        raise ParameterError("indices must not list a neuron as its own neighbour (J_ii = 0)")
    fwd = rows * n_csr + indices
    order = np.argsort(fwd, kind="stable")
    if np.any(np.diff(fwd[order]) == 0):
        raise ParameterError("indices must not list the same neighbour twice for a neuron")
    bwd_order = np.argsort(indices * n_csr + rows, kind="stable")
    if not np.array_equal(fwd[order], (indices * n_csr + rows)[bwd_order]):
        raise ParameterError("the CSR graph must be symmetric (j in row i <=> i in row j)")
    if weights is not None:
        if not isinstance(weights, np.ndarray) or weights.dtype.kind != "f" \
                or weights.shape != indices.shape:
            raise ParameterError(f"weights must be a float64 array of shape {indices.shape}")
        weights = np.ascontiguousarray(weights, dtype=np.float64)
        if not np.all(np.isfinite(weights)):
            raise ParameterError("weights must be finite (no NaN or inf)")
        if not np.array_equal(weights[order], weights[bwd_order]):
            raise ParameterError("weights must be symmetric (J_ij == J_ji)")
    return indptr, indices, weights


def colour_graph(indptr, indices):
    """Proper greedy colouring of the neuron graph given as CSR.

    Neurons are visited in index order and each takes the smallest colour not used by an
    already-coloured neighbour, so the result is deterministic and uses at most max degree + 1
    colours. Neurons of one colour share no bond: at equal time they can be updated
    independently.

    Parameters
    ----------
    indptr : numpy.ndarray, int64, shape (N + 1,)
    indices : numpy.ndarray, int64, shape (nnz,)
        Symmetric neighbour lists (j in row i <=> i in row j), no self loops.

    Returns
    -------
    numpy.ndarray, int64, shape (N,)
        Colours 0 .. n_colours - 1.
    """
    indptr, indices, _ = _check_csr(indptr, indices)
    return _greedy_colours(indptr, indices)


# ----------------------------------------------------------------------------- validation
def _float_array(x, name, shape):
    if x is None or isinstance(x, (bool, np.bool_)):
        raise ParameterError(f"{name} must be a float64 array of shape {shape}")
    arr = np.asarray(x)
    if arr.dtype.kind not in "fiu":
        raise ParameterError(f"{name} must be a real float64 array, got dtype {arr.dtype}")
    if arr.shape != shape:
        raise ParameterError(f"{name} must have shape {shape}, got {arr.shape}")
    arr = np.ascontiguousarray(arr, dtype=np.float64)
    if not np.all(np.isfinite(arr)):
        raise ParameterError(f"{name} must be finite (no NaN or inf)")
    return arr


def _int_scalar(x, name, low):
    if isinstance(x, (bool, np.bool_)) or not isinstance(x, numbers.Integral) or x < low:
        raise ParameterError(f"{name} must be an integer >= {low}, got {x!r}")
    return int(x)


def _validate(spins, kind, K, fields, betas, time_periodic, method, n_sweeps, keys,
              sweep_offset, J_dense, indptr, indices, weights, J_all):
    if not isinstance(spins, np.ndarray) or spins.dtype != np.int8 or spins.ndim != 3:
        raise ParameterError("spins must be an int8 numpy array of shape (R, N, T)")
    if not spins.flags.c_contiguous or not spins.flags.writeable:
        raise ParameterError("spins must be C-contiguous and writeable (updated in place)")
    R, n, T = spins.shape
    if min(R, n, T) < 1:
        raise ParameterError(f"spins must have R, N, T >= 1, got shape {spins.shape}")
    if not np.all((spins == 1) | (spins == -1)):
        raise ParameterError("spins must contain only -1 and +1")
    if kind not in KINDS:
        raise ParameterError(f"kind must be one of {sorted(KINDS)}, got {kind!r}")
    if method not in METHODS:
        raise ParameterError(f"method must be one of {METHODS}, got {method!r}")
    if not isinstance(time_periodic, (bool, np.bool_)):
        raise ParameterError(f"time_periodic must be a bool, got {time_periodic!r}")
    K = _float_array(K, "K", (n,))
    fields = _float_array(fields, "fields", (n, T))
    betas = _float_array(betas, "betas", (R,))
    if np.any(betas <= 0.0):
        raise ParameterError("betas must be > 0 (beta = 1/theta, one per replica)")
    if not isinstance(keys, np.ndarray) or keys.dtype != np.uint64 or keys.shape != (R,):
        raise ParameterError(f"keys must be a uint64 numpy array of shape ({R},)")
    n_sweeps = _int_scalar(n_sweeps, "n_sweeps", 0)
    sweep_offset = _int_scalar(sweep_offset, "sweep_offset", 0)
    if kind == "all-to-all":
        if isinstance(J_all, (bool, np.bool_)) or not isinstance(J_all, numbers.Real) \
                or not np.isfinite(J_all):
            raise ParameterError(f"J_all must be a finite real number, got {J_all!r}")
    elif kind == "sparse":
        if indptr is None or indices is None or weights is None:
            raise ParameterError("kind='sparse' needs indptr, indices and weights (CSR)")
        indptr, indices, weights = _check_csr(indptr, indices, n, weights)
    else:
        J_dense = _float_array(J_dense, "J_dense", (n, n))
        scale = max(1.0, float(np.max(np.abs(J_dense))))
        if np.max(np.abs(J_dense - J_dense.T)) > 1e-12 * scale:
            raise ParameterError("J_dense must be symmetric (J_ij == J_ji)")
        if np.any(np.diag(J_dense) != 0.0):
            raise ParameterError("J_dense must have a zero diagonal (no self-coupling)")
        J_dense = 0.5 * (J_dense + J_dense.T)   # exactly symmetric; unchanged if it already was
    return dict(spins=spins, kind=kind, K=K, fields=fields, betas=betas,
                periodic=bool(time_periodic), method=method, n_sweeps=n_sweeps, keys=keys,
                sweep_offset=sweep_offset, J_dense=J_dense, indptr=indptr, indices=indices,
                weights=weights, J_all=float(J_all) if kind == "all-to-all" else 0.0)


# ----------------------------------------------------------------------------- driver
def _run(p):
    """Call the kernel on validated parameters ``p`` (see :func:`_validate`)."""
    spins = p["spins"]
    n, T = spins.shape[1:]
    if p["kind"] == "sparse":
        indptr, indices, weights = p["indptr"], p["indices"], p["weights"]
        order = np.argsort(_greedy_colours(indptr, indices), kind="stable").astype(np.int64)
    else:
        indptr, indices, weights = (np.zeros(2, np.int64), np.zeros(0, np.int64),
                                    np.zeros(0, np.float64))
        order = np.arange(n, dtype=np.int64)
    J = p["J_dense"] if p["kind"] == "dense" else np.zeros((1, 1))
    return _local_sweeps(spins, KINDS[p["kind"]], p["J_all"], J, indptr, indices, weights,
                         order, p["K"], permute_ticks(p["fields"]), p["betas"], p["periodic"],
                         p["method"] == "metropolis", p["n_sweeps"], p["keys"],
                         p["sweep_offset"], time_classes(T, p["periodic"]))


def local_sweeps(spins, *, kind, K, fields, betas, time_periodic, method, n_sweeps, keys,
                 sweep_offset, J_dense=None, indptr=None, indices=None, weights=None, J_all=0.0):
    """Run ``n_sweeps`` sweeps of single-site updates on every replica, in place.

    A sweep is one update attempt per site, ordered by time class (even ticks, odd ticks, and
    t = T-1 alone for periodic odd T), then by neuron (colour order for ``"sparse"``); see
    :mod:`.local_sweep`. Local field H_it = h_it + sum_j J_ij s_jt + K_i (s_i,t-1 + s_i,t+1)
    (one temporal neighbour at an open end; T == 1 has none; T == 2 periodic couples the two
    ticks twice, i.e. 2 K_i).

    Parameters
    ----------
    spins : numpy.ndarray, int8, shape (R, N, T)
        Replicas x neurons x ticks, values +-1, C order; updated in place.
    kind : {"all-to-all", "sparse", "dense"}
        ``"all-to-all"``: J_ij = ``J_all`` for every pair i != j (per-pair value, e.g. J/N),
        O(1) per site from cached slice sums. ``"sparse"``: CSR ``indptr``, ``indices``,
        ``weights`` (each pair listed from both sides). ``"dense"``: ``J_dense`` with cached
        local fields, O(N) per accepted flip. Arguments of the other kinds are ignored.
    K : numpy.ndarray, float64, shape (N,)
        Temporal couplings K_i.
    fields : numpy.ndarray, float64, shape (N, T)
        Fields h_it.
    betas : numpy.ndarray, float64, shape (R,)
        Inverse temperature of each replica (> 0).
    time_periodic : bool
        Periodic (t = T-1 bonds to t = 0) or open time.
    method : {"heatbath", "metropolis"}
        Heat bath: s_it <- +1 with probability 1 / (1 + exp(-2 beta H_it)). Metropolis: flip
        with probability min(1, exp(-2 beta s_it H_it)).
    n_sweeps : int
        Number of sweeps (>= 0).
    keys : numpy.ndarray, uint64, shape (R,)
        Random stream of each replica (use distinct keys, e.g. ``rng.stream_key(seed, r)``).
    sweep_offset : int
        Index of the first sweep in the stream: calls with offsets 0 (n sweeps) and n continue
        exactly like one call of 2 n sweeps (for ``"dense"`` up to the rounding of the cached
        fields, which are rebuilt at each call).
    J_dense : numpy.ndarray, float64, shape (N, N), optional
        Symmetric couplings, zero diagonal (``kind="dense"``).
    indptr, indices : numpy.ndarray, int64, shapes (N + 1,), (nnz,), optional
        Symmetric neighbour lists (``kind="sparse"``).
    weights : numpy.ndarray, float64, shape (nnz,), optional
        J_ij in CSR order, symmetric (``kind="sparse"``).
    J_all : float
        Per-pair coupling (``kind="all-to-all"``).

    Returns
    -------
    numpy.ndarray, int64, shape (R,)
        Number of spins flipped in each replica.

    Raises
    ------
    ParameterError
        On a bad shape, dtype, value (NaN, beta <= 0, spins not +-1), kind or method.
    """
    p = _validate(spins, kind, K, fields, betas, time_periodic, method, n_sweeps, keys,
                  sweep_offset, J_dense, indptr, indices, weights, J_all)
    return _run(p)
