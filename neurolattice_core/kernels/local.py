"""General path of the sampling engine: single-site heat bath and Metropolis, any couplings.

Public API:

- :class:`LocalState` -- the resident working state of R replicas of one model (spins in the
  checkerboard layout, slice sums, cached dense fields), advanced by ``sweep``;
- :func:`local_sweeps` -- ``n_sweeps`` sweeps of every replica of an (R, N, T) array, in place
  (a :class:`LocalState` built for one call);
- :func:`colour_graph` -- a deterministic greedy proper colouring of the neuron graph;
- :func:`quantise_couplings` -- dense couplings in 32-bit fixed point.

The update order and the time blocks are documented in :mod:`.local_sweep`, the segment passes
and acceptance rules in :mod:`.local_segment`, the random numbers and float32 arithmetic in
:mod:`.local_math`, the memory layout in :mod:`.local_layout`.

Precision: couplings, fields, K and beta are used in float32, acceptance probabilities are
realised by float32 comparisons with 32-bit uniforms (relative error < ``PROB_ERR`` = 1e-6,
resolution 2**-32), and dense couplings are rounded to multiples of 2**-q with q as large as
int32 fields allow (:func:`quantise_couplings`). Every state update is exact (int8 spins,
integer sums), so results are bit-identical for any thread count, block size and split of a run
into calls.
"""

import numbers
import time

import numba
import numpy as np

from ..errors import ParameterError
from .local_choice import DriverChoice
from .local_layout import (
    _greedy_colours,
    _merge,
    _split,
    aligned_zeros,
    field_rows,
    new_edge_strips,
    new_working_array,
    permute_ticks,
    slice_sums_width,
    time_classes,
)
from .local_moments import layout_moments, sweeps_serial_measured
from .local_sweep import (
    KIND_ALL,
    KIND_DENSE,
    KIND_SPARSE,
    _slice_sums,
    _sweeps_neurons,
    _sweeps_parallel,
    _sweeps_pinned,
    _sweeps_pipeline,
    _sweeps_replicas,
    _sweeps_serial,
    quantise_couplings,
)

KINDS = {"all-to-all": KIND_ALL, "sparse": KIND_SPARSE, "dense": KIND_DENSE}
METHODS = ("heatbath", "metropolis")
_CACHE_BYTES = 1 << 21   # dense: cached-field rows of one task should stay in L2 (2 MiB)
PARALLEL_MIN_SITES = 1 << 13
"""Sites per time class (all replicas) below which the serial driver is always used: one
parallel region costs about 10-40 us (OpenMP threads wake from a passive wait), the time of
10**4 site updates or more. Above it the faster driver is chosen by timing (see
:meth:`LocalState.sweep`). Speed only: both drivers give identical results."""
SHORT_CALL_SWEEPS = 4  # calls of fewer sweeps are timed apart: waking the threads weighs more


# ----------------------------------------------------------------------------- colouring
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


def _validate_spins(spins, shape=None):
    if not isinstance(spins, np.ndarray) or spins.dtype != np.int8 or spins.ndim != 3:
        raise ParameterError("spins must be an int8 numpy array of shape (R, N, T)")
    if min(spins.shape) < 1:
        raise ParameterError(f"spins must have R, N, T >= 1, got shape {spins.shape}")
    if shape is not None and spins.shape != shape:
        raise ParameterError(f"spins must have shape {shape}, got {spins.shape}")
    if not np.all((spins == 1) | (spins == -1)):
        raise ParameterError("spins must contain only -1 and +1")


def _validate_model(n, T, kind, K, fields, time_periodic, J_dense, indptr, indices, weights,
                    J_all):
    """Checked model arrays of an (N, T) lattice, as a dict (float64, int64)."""
    if kind not in KINDS:
        raise ParameterError(f"kind must be one of {sorted(KINDS)}, got {kind!r}")
    if not isinstance(time_periodic, (bool, np.bool_)):
        raise ParameterError(f"time_periodic must be a bool, got {time_periodic!r}")
    out = dict(kind=kind, periodic=bool(time_periodic), K=_float_array(K, "K", (n,)),
               fields=_float_array(fields, "fields", (n, T)), J_all=0.0, J_dense=None,
               indptr=None, indices=None, weights=None)
    if kind == "all-to-all":
        if isinstance(J_all, (bool, np.bool_)) or not isinstance(J_all, numbers.Real) \
                or not np.isfinite(J_all):
            raise ParameterError(f"J_all must be a finite real number, got {J_all!r}")
        out["J_all"] = float(J_all)
    elif kind == "sparse":
        if indptr is None or indices is None or weights is None:
            raise ParameterError("kind='sparse' needs indptr, indices and weights (CSR)")
        out["indptr"], out["indices"], out["weights"] = _check_csr(indptr, indices, n, weights)
    else:
        J_dense = _float_array(J_dense, "J_dense", (n, n))
        scale = max(1.0, float(np.max(np.abs(J_dense))))
        if np.max(np.abs(J_dense - J_dense.T)) > 1e-12 * scale:
            raise ParameterError("J_dense must be symmetric (J_ij == J_ji)")
        if np.any(np.diag(J_dense) != 0.0):
            raise ParameterError("J_dense must have a zero diagonal (no self-coupling)")
        out["J_dense"] = 0.5 * (J_dense + J_dense.T)   # exactly symmetric
    return out


def _validate_run(R, betas, method, n_sweeps, keys, sweep_offset):
    if method not in METHODS:
        raise ParameterError(f"method must be one of {METHODS}, got {method!r}")
    betas = _float_array(betas, "betas", (R,))
    if np.any(betas <= 0.0):
        raise ParameterError("betas must be > 0 (beta = 1/theta, one per replica)")
    if not isinstance(keys, np.ndarray) or keys.dtype != np.uint64 or keys.shape != (R,):
        raise ParameterError(f"keys must be a uint64 numpy array of shape ({R},)")
    return (betas, method == "metropolis", _int_scalar(n_sweeps, "n_sweeps", 0),
            np.ascontiguousarray(keys), _int_scalar(sweep_offset, "sweep_offset", 0))


def _block_size(kind, n_class, n_neurons, n_rep, threads):
    """Ticks per task (the layout block): enough tasks for every thread, dense rows in cache.

    Blocks of 64 ticks or more start every segment on a cache line, so that threads never
    write to the same line of the working array (:mod:`.local_layout`).
    """
    per_replica = -(-threads // n_rep)
    block = -(-n_class // per_replica)
    if kind == "dense":
        block = min(block, max(16, _CACHE_BYTES // (4 * n_neurons)))
    return max(1, min(block, 4096))


def _energy_terms(p):
    """The exact (float64) action of checked model arrays ``p``, as layout_moments takes it.

    (all-to-all?, J_all, indptr, indices, weights, K, field rows, row of each neuron): dense
    couplings become CSR lists of their nonzero entries, fields their distinct rows in the
    permuted tick order.
    """
    n = p["K"].shape[0]
    indptr, indices = np.zeros(n + 1, dtype=np.int64), np.zeros(0, dtype=np.int64)
    weights = np.zeros(0)
    if p["kind"] == "sparse":
        indptr, indices, weights = p["indptr"], p["indices"], p["weights"]
    elif p["kind"] == "dense":
        rows, cols = np.nonzero(p["J_dense"])
        indptr = np.searchsorted(rows, np.arange(n + 1)).astype(np.int64)
        indices, weights = cols.astype(np.int64), p["J_dense"][rows, cols]
    h_rows, h_row_of = field_rows(permute_ticks(p["fields"]))
    return (p["kind"] == "all-to-all", float(p["J_all"]), indptr, indices,
            np.ascontiguousarray(weights, dtype=np.float64), p["K"], h_rows, h_row_of)


class LocalState:
    """Resident working state of R replicas of one model on the general path.

    Holds the spins in the checkerboard layout (:mod:`.local_layout`) with their slice sums
    (all-to-all) or cached fixed-point fields (dense) between calls, so a sweep costs no
    re-layout or allocation.

    Parameters
    ----------
    spins : numpy.ndarray, int8, shape (R, N, T)
        Initial configurations, values +-1 (copied).
    kind : {"all-to-all", "sparse", "dense"}
        ``"all-to-all"``: J_ij = ``J_all`` for every pair i != j (per-pair value, e.g. J/N),
        O(1) per site from slice sums. ``"sparse"``: CSR ``indptr``, ``indices``, ``weights``
        (each pair listed from both sides), updated in colour order. ``"dense"``: ``J_dense``
        with cached local fields, O(N) per accepted flip. Arguments of other kinds are ignored.
    K : numpy.ndarray, float64, shape (N,)
        Temporal couplings K_i.
    fields : numpy.ndarray, float64, shape (N, T)
        Fields h_it.
    time_periodic : bool
        Periodic (t = T-1 bonds to t = 0) or open time.
    J_dense : numpy.ndarray, float64, shape (N, N), optional
        Symmetric couplings, zero diagonal.
    indptr, indices : numpy.ndarray, int64, shapes (N + 1,), (nnz,), optional
    weights : numpy.ndarray, float64, shape (nnz,), optional
        Symmetric CSR couplings.
    J_all : float
        Per-pair coupling (all-to-all).

    Raises
    ------
    ParameterError
        On a bad shape, dtype or value.
    """

    def __init__(self, spins, *, kind, K, fields, time_periodic, J_dense=None, indptr=None,
                 indices=None, weights=None, J_all=0.0):
        _validate_spins(spins)
        self.shape = spins.shape
        R, n, T = spins.shape
        p = _validate_model(n, T, kind, K, fields, time_periodic, J_dense, indptr, indices,
                            weights, J_all)
        self.kind, self.periodic = kind, p["periodic"]
        self._kind = KINDS[kind]
        self._K = p["K"].astype(np.float32)
        self._hp, self._hrow = field_rows(permute_ticks(p["fields"]).astype(np.float32))
        self._J_all = np.float32(p["J_all"])
        self._cls = time_classes(T, self.periodic)
        self._indptr, self._indices = np.zeros(2, np.int64), np.zeros(0, np.int64)
        self._weights = np.zeros(0, np.float32)
        self._order = np.arange(n, dtype=np.int64)
        self._colour_starts = np.array([0, n], dtype=np.int64)   # sparse: colours in order
        self._smallest_colour = 0    # sparse: neurons of the smallest colour
        self._Jq, self._scale = np.zeros((1, 1), np.int32), np.float32(0.0)
        if kind == "sparse":
            self._indptr, self._indices = p["indptr"], p["indices"]
            self._weights = p["weights"].astype(np.float32)
            colours = _greedy_colours(self._indptr, self._indices)
            self._order = np.argsort(colours, kind="stable").astype(np.int64)
            counts = np.bincount(colours)
            self._colour_starts = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
            self._smallest_colour = int(counts.min())
        elif kind == "dense":
            Jq, scale = quantise_couplings(p["J_dense"])
            self._Jq, self._scale = Jq, np.float32(scale)
        self._energy_terms = _energy_terms(p)
        # the driver of short calls (one sweep between measurements) and of longer ones
        self._drivers = {True: DriverChoice(), False: DriverChoice()}
        self._block = self._serial_block()
        self.set_spins(spins)

    def _serial_block(self):
        """The layout block of the serial driver (every tick class in one task per replica)."""
        R, n, _ = self.shape
        return _block_size(self.kind, int(self._cls[:, 2].max()), n, R, 1)

    def set_spins(self, spins):
        """Replace the configurations (int8 (R, N, T), same shape); rebuilds the caches."""
        _validate_spins(spins, self.shape)
        R, n, T = self.shape
        self._lay_out(np.ascontiguousarray(spins), self._block)
        if self.kind == "dense":
            s = permute_ticks(spins).astype(np.float64).transpose(0, 2, 1)   # (R, T, N)
            # integer partial sums below 2**31 are exact in float64: phi is exact
            self._phi = aligned_zeros((R, T, n), np.int32)
            self._phi[...] = np.matmul(s, self._Jq.T.astype(np.float64))
        else:
            self._phi = np.zeros((1, 1, 1), np.int32)

    def spins(self, out=None):
        """The configurations, int8 (R, N, T): written into ``out`` if given, else a new array."""
        if out is None:
            out = np.empty(self.shape, dtype=np.int8)
        _merge(self._W, out, self._block)
        return out

    def _lay_out(self, spins, block):
        """Store spins (R, N, T) in the layout of ``block``, with their slice sums (all-to-all)."""
        R, n, T = self.shape
        self._W = _split(spins, self.periodic, new_working_array(R, n, T, block), block)
        self._X = new_edge_strips(R, n, T, block)
        self._block = block
        self._S = np.zeros((1, 1), np.int32)
        if self.kind == "all-to-all":   # the slice sums' columns depend on the block
            self._S = aligned_zeros((R, slice_sums_width(T, block)), np.int32)
            self._S[...] = _slice_sums(self._W, T, block)

    def _use_block(self, block):
        """Re-lay the spins out for tasks of ``block`` parity indices (caches are per tick)."""
        if block != self._block:
            self._lay_out(self.spins(), block)

    def moments(self):
        """Energy and magnetisation sums of each replica, float64 (R,) each.

        The model's action (``LatticeModel.energy``) with the exact float64 couplings and
        fields, read from the working layout (:func:`.local_moments.layout_moments`).
        """
        return layout_moments(self._W, self.shape[2], self._block, *self._energy_terms)

    def sweep_measured(self, *, betas, method, n_sweeps, keys, sweep_offset, measure_every):
        """:meth:`sweep`, measuring :meth:`moments` after each multiple of ``measure_every``.

        The sweeps are numbered ``sweep_offset + 1 .. sweep_offset + n_sweeps``. Each stretch
        between measurements is a call of :meth:`sweep` (whose driver choice times the serial
        and parallel drivers stretch by stretch) when :meth:`sweep` would run in parallel: on
        several threads, with at least as many replicas as threads, or on a lattice big enough
        for the parallel drivers with stretches of ``SHORT_CALL_SWEEPS`` sweeps or more, or
        shorter ones while the parallel driver looks the faster for them. Otherwise the sweeps
        and measurements run in one serial kernel call
        (:func:`.local_moments.sweeps_serial_measured`), which saves a Python call per
        stretch. For short stretches the two ways are timed like for like, calls and
        measurements included, as the serial and parallel drivers of short calls. (Timing the
        parallel one by its sweeps alone had it chosen for a 128 x 512 ring measured after
        every sweep: 4 200 sweeps/s instead of the fused call's 16 000.)

        Returns
        -------
        flips : numpy.ndarray, int64, shape (R,)
        measured_at : numpy.ndarray, int64, shape (k,)
            The sweep numbers of the measurements.
        energy, magnetization : numpy.ndarray, float64, shape (k, R)
            Sums over the sites, as :meth:`moments`.
        """
        R, n, T = self.shape
        betas, metropolis, n_sweeps, keys, offset = _validate_run(R, betas, method, n_sweeps,
                                                                  keys, sweep_offset)
        every = _int_scalar(measure_every, "measure_every", 1)
        threads = numba.get_num_threads()
        timed = threads > 1 and R < threads and R * n * T // 2 >= PARALLEL_MIN_SITES
        if threads > 1 and (R >= threads or (timed and every >= SHORT_CALL_SWEEPS)):
            return self._stretches_measured(betas, method, n_sweeps, keys, offset, every, None)
        if timed and self._drivers[True].choose():
            start = time.perf_counter()
            result = self._stretches_measured(betas, method, n_sweeps, keys, offset, every,
                                              self._parallel_driver())
            if n_sweeps > 0:   # calls and measurements included, as in the serial timing
                seconds_per_site = (time.perf_counter() - start) / (n_sweeps * R * n * T)
                self._drivers[True].record(True, seconds_per_site)
            return result
        self._use_block(self._serial_block())
        start = time.perf_counter()
        result = sweeps_serial_measured(
            *self._driver_arguments(betas, metropolis, n_sweeps, keys, offset), self._block,
            every, self._energy_terms)
        if timed and n_sweeps > 0:   # the serial time of short calls, measurements included
            seconds_per_site = (time.perf_counter() - start) / (n_sweeps * R * n * T)
            self._drivers[True].record(False, seconds_per_site)
        return result

    def _stretches_measured(self, betas, method, n_sweeps, keys, offset, every, parallel):
        """:meth:`sweep_measured` as one :meth:`sweep` call (driver ``parallel``) per stretch."""
        R = self.shape[0]
        n_measured = (offset + n_sweeps) // every - offset // every
        measured_at = np.empty(n_measured, dtype=np.int64)
        energy, magnetization = np.empty((n_measured, R)), np.empty((n_measured, R))
        flips = np.zeros(R, dtype=np.int64)
        done, k = 0, 0
        while done < n_sweeps:
            chunk = min(every - (offset + done) % every, n_sweeps - done)
            flips += self.sweep(betas=betas, method=method, n_sweeps=chunk, keys=keys,
                                sweep_offset=offset + done, parallel=parallel)
            done += chunk
            if (offset + done) % every == 0:
                energy[k], magnetization[k] = self.moments()
                measured_at[k] = offset + done
                k += 1
        return flips, measured_at, energy, magnetization

    def _parallel_driver(self):
        """The driver of one lattice on several threads ("neurons" or "ticks").

        "neurons" for sparse couplings whose every colour has a neuron for each thread, and
        for all-to-all couplings on at most one thread more than there are time classes
        (the pipeline of :func:`.local_sweep._sweeps_pipeline`).
        """
        threads = numba.get_num_threads()
        if self._smallest_colour >= threads:
            return "neurons"
        if self.kind == "all-to-all" and threads <= self._cls.shape[0] + 1:
            return "neurons"
        return "ticks"

    def _driver_arguments(self, betas, metropolis, n_sweeps, keys, offset):
        """The arguments of the local_sweep drivers up to ``cls`` (the block follows)."""
        return (self._W, self._S, self._phi, self._kind, self._J_all, self._Jq, self._scale,
                self._indptr, self._indices, self._weights, self._order, self._colour_starts,
                self._K, self._hp, self._hrow, (-2.0 * betas).astype(np.float32), self.periodic,
                metropolis, n_sweeps, keys, offset, self._cls)

    def sweep(self, *, betas, method, n_sweeps, keys, sweep_offset, block=None, parallel=None):
        """Run ``n_sweeps`` sweeps of every replica.

        A sweep is one update attempt per site, by time class (even ticks, odd ticks, and
        t = T-1 alone for periodic odd T), then neuron by neuron at each tick; see
        :mod:`.local_sweep`. Local field H_it = h_it + sum_j J_ij s_jt + K_i (s_i,t-1 + s_i,t+1)
        (one temporal neighbour at an open end; T == 1 has none; T == 2 periodic couples the
        two ticks twice, i.e. 2 K_i).

        Parameters
        ----------
        betas : numpy.ndarray, float64, shape (R,)
            Inverse temperature of each replica (> 0).
        method : {"heatbath", "metropolis"}
            Heat bath: s_it <- +1 with probability 1 / (1 + exp(-2 beta H_it)). Metropolis:
            flip with probability min(1, exp(-2 beta s_it H_it)).
        n_sweeps : int
            Number of sweeps (>= 0).
        keys : numpy.ndarray, uint64, shape (R,)
            Random stream of each replica (distinct keys, e.g. ``rng.stream_key(seed, r)``).
        sweep_offset : int
            Index of the first sweep in the stream: calls with offsets 0 (n sweeps) and n
            continue exactly like one call of 2 n sweeps.
        block : int, optional
            Ticks per parallel task (default: from the thread count and cache size); the
            spins are laid out again when it changes. Affects speed only: every value gives
            bit-identical results.
        parallel : {None, False, "ticks", "neurons", "replicas"}
            Driver: ``False`` serial; ``"ticks"`` the blocks of ticks of each time class on
            numba's threads (one parallel region per call, blocks waiting for their
            neighbours; one region per class and sweep for periodic odd T); ``"neurons"``
            the neurons split between numba's threads, all ticks of a class per task (one
            region per call): for sparse couplings each colour's neurons shared, for
            all-to-all and dense couplings consecutive parts of the neuron order in a
            pipeline over the time classes; ``"replicas"`` the replicas on numba's threads
            (one region per call). Default (None): serial with one thread; by replicas when
            there are at least as many replicas as threads; serial below
            ``PARALLEL_MIN_SITES`` sites per class; otherwise serial or in parallel (by
            neurons for sparse couplings whose every colour has a neuron per thread and for
            all-to-all couplings on at most one thread more than there are time classes, else
            by ticks), whichever has the lower measured time per site, timed apart for calls of
            fewer than ``SHORT_CALL_SWEEPS`` sweeps and longer ones (see
            :class:`.local_choice.DriverChoice`; the slower driver is timed again every 16th
            call, up to every 256th while the choice holds, so the choice follows the load of
            the machine; on a quarter of the call's sweeps when that lasts long enough to
            time, the faster driver running the rest). Speed only: results are bit-identical.

        Returns
        -------
        numpy.ndarray, int64, shape (R,)
            Number of spins flipped in each replica.
        """
        R, n, T = self.shape
        betas, metropolis, n_sweeps, keys, offset = _validate_run(R, betas, method, n_sweeps,
                                                                  keys, sweep_offset)
        threads = numba.get_num_threads()
        if parallel not in (None, False, "ticks", "neurons", "replicas"):
            raise ParameterError(f"parallel must be None, False, 'ticks', 'neurons' or "
                                 f"'replicas', got {parallel!r}")
        if block is not None:
            block = _int_scalar(block, "block", 1)
        run = (betas, metropolis, keys, block)
        timed = None
        if parallel is None and threads > 1:
            if R >= threads:
                parallel = "replicas"
            elif R * n * T // 2 >= PARALLEL_MIN_SITES:
                timed = self._drivers[n_sweeps < SHORT_CALL_SWEEPS]
                parallel = self._parallel_driver() if timed.choose() else False
        if not parallel or threads == 1:
            parallel = False
        if timed is not None and timed.exploring:   # time the slower driver on part of the call
            explored = timed.explored_sweeps(bool(parallel), n_sweeps, R * n * T)
            if explored < n_sweeps:
                flips = self._run(parallel, *run, explored, offset, timed)
                faster = False if parallel else self._parallel_driver()
                return flips + self._run(faster, *run, n_sweeps - explored, offset + explored,
                                         timed)
        return self._run(parallel, *run, n_sweeps, offset, timed)

    def _run(self, parallel, betas, metropolis, keys, block, n_sweeps, offset, timed):
        """``n_sweeps`` sweeps on the driver ``parallel`` (see :meth:`sweep`); flips (R,).

        ``block`` None picks the driver's default; ``timed`` (a DriverChoice or None) gets the
        time per site.
        """
        R, n, T = self.shape
        threads = numba.get_num_threads() if parallel else 1
        if block is None:
            per_task = threads if parallel == "ticks" else 1
            block = _block_size(self.kind, int(self._cls[:, 2].max()), n, R, per_task)
        self._use_block(block)
        arguments = self._driver_arguments(betas, metropolis, n_sweeps, keys, offset) + (block,)
        start = time.perf_counter()
        if parallel == "ticks" and self._cls.shape[0] == 2:   # one parallel region per call
            flips = _sweeps_pinned(*arguments, self._X, threads)
        elif parallel == "neurons" and self.kind == "sparse":
            flips = _sweeps_neurons(*arguments, threads)
        elif parallel == "neurons":
            flips = _sweeps_pipeline(*arguments, threads)
        else:
            flips = {False: _sweeps_serial, "ticks": _sweeps_parallel,
                     "replicas": _sweeps_replicas}[parallel](*arguments)
        if timed is not None and n_sweeps > 0:
            timed.record(threads > 1, (time.perf_counter() - start) / (n_sweeps * R * n * T))
        return flips


def local_sweeps(spins, *, kind, K, fields, betas, time_periodic, method, n_sweeps, keys,
                 sweep_offset, J_dense=None, indptr=None, indices=None, weights=None, J_all=0.0):
    """Run ``n_sweeps`` sweeps of single-site updates on every replica of ``spins``, in place.

    Builds a :class:`LocalState` for the call (see it and :meth:`LocalState.sweep` for the
    arguments), runs it and writes the configurations back.

    Parameters
    ----------
    spins : numpy.ndarray, int8, shape (R, N, T)
        Replicas x neurons x ticks, values +-1, C order; updated in place.

    Returns
    -------
    numpy.ndarray, int64, shape (R,)
        Number of spins flipped in each replica.

    Raises
    ------
    ParameterError
        On a bad shape, dtype, value (NaN, beta <= 0, spins not +-1), kind or method.
    """
    _validate_spins(spins)
    if not spins.flags.c_contiguous or not spins.flags.writeable:
        raise ParameterError("spins must be C-contiguous and writeable (updated in place)")
    R, n, T = spins.shape
    _validate_model(n, T, kind, K, fields, time_periodic, J_dense, indptr, indices, weights,
                    J_all)
    _validate_run(R, betas, method, n_sweeps, keys, sweep_offset)
    state = LocalState(spins, kind=kind, K=K, fields=fields, time_periodic=time_periodic,
                       J_dense=J_dense, indptr=indptr, indices=indices, weights=weights,
                       J_all=J_all)
    flips = state.sweep(betas=betas, method=method, n_sweeps=n_sweeps, keys=keys,
                        sweep_offset=sweep_offset)
    state.spins(out=spins)
    return flips
