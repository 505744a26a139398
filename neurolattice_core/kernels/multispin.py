"""Fast path: multi-spin coding (64 spins per word) for ring/grid x time with uniform J, K, h.

Packed layout
-------------
``words`` is uint64 of shape (R, N, L) with ``T = 64 L`` and ``L`` even (``T % 128 == 0``).
Bit ``b`` of word ``w`` of neuron ``i`` holds tick ``t = b L + w`` (bit 1 = spin +1, 0 = -1).
The time neighbour ``t + 1`` of (word ``w``, bit ``b``) is (``w + 1``, ``b``), except for
``w = L - 1`` where it is bit ``b + 1`` of word 0 (a 1-bit rotation); for periodic time bit 63 of
word ``L - 1`` (t = T - 1) couples to bit 0 of word 0 (t = 0).  Since ``L`` is even, the parity of
``t`` equals that of ``w``, so with a 2-colouring ``c_i`` of the neuron graph the checkerboard
colour ``(c_i + w) mod 2`` is shared by the 64 lanes of a word.

Energy (project convention) with uniform couplings on the neighbour table::

    E = -J sum_<ij> sum_t s_it s_jt - K sum_i sum_t s_it s_i,t+1 - h sum_it s_it

so ``E = -J j_bond_sum - K k_bond_sum - h magnetisation_sum`` with the sums of
:func:`packed_moments`.  The update kernels live in :mod:`.multispin_update`, the preparation
(colouring, working layout, acceptance classes) in :mod:`.multispin_prep`.
"""

import contextlib
import math
import numbers

import numba
import numpy as np
from numba import njit

from ..errors import ParameterError
from .multispin_prep import (
    PAD,
    _from_work,
    _layout,
    _tables,
    _to_work,
    aligned_zeros,
    spread_offset,
)
from .multispin_tasks import serial_run, serial_scratch, sweeps
from .multispin_update import popcount64

METHODS = ("metropolis", "heatbath")
PARALLEL_WORDS = 1 << 18    # word updates per call from which WorkingLattice.sweep uses threads
_ALL = 0xFFFFFFFFFFFFFFFF


def fast_path_supported(connectivity, n_neurons, n_ticks, grid_shape, neuron_periodic,
                        time_periodic):
    """Whether multi-spin coding applies to this lattice, and a sentence saying why (not).

    Parameters
    ----------
    connectivity : str
        "ring" or "grid" (other connectivities are not nearest-neighbour lattices).
    n_neurons, n_ticks : int
        N and T.  T must be a positive multiple of 128 (64-spin words, an even number per neuron).
    grid_shape : tuple of int or None
        (rows, cols) for "grid", with rows * cols == N.
    neuron_periodic : bool
        Periodic neuron boundary.  A periodic ring needs even N, a periodic grid even rows and
        cols (a bipartite neuron graph); lengths 1 and 2 never wrap (as in the connectivity
        presets), so they are always allowed.
    time_periodic : bool
        Periodic or open time; both are supported.

    Returns
    -------
    (bool, str)
    """
    del time_periodic  # both time boundaries are supported
    if connectivity not in ("ring", "grid"):
        return False, f"the fast path needs ring or grid connectivity, not {connectivity!r}."
    if int(n_ticks) < 128 or int(n_ticks) % 128:
        return False, (f"the fast path needs T to be a multiple of 128 (64-spin words, an even "
                       f"number per neuron); T = {n_ticks}.")
    if connectivity == "ring":
        lengths = [int(n_neurons)]
    else:
        if grid_shape is None or len(grid_shape) != 2:
            return False, "grid connectivity needs grid_shape = (rows, cols)."
        lengths = [int(grid_shape[0]), int(grid_shape[1])]
        if lengths[0] * lengths[1] != int(n_neurons):
            return False, f"grid_shape {tuple(grid_shape)} does not hold N = {n_neurons} neurons."
    if min(lengths) < 1:
        return False, "the lattice needs at least one neuron."
    if neuron_periodic and any(n > 2 and n % 2 for n in lengths):
        return False, (f"a periodic {connectivity} with an odd length ({lengths}) is not "
                       f"bipartite, so no checkerboard exists; use even lengths or open "
                       f"boundaries.")
    return True, "multi-spin coding (64 spins per word) applies."


def neighbour_table(connectivity, n_neurons, grid_shape, neuron_periodic):
    """Equal-time neighbours of every neuron, int64 (N, z), -1 where absent (open boundary).

    Ring: z = 2, columns (i - 1, i + 1).  Grid (neuron ``i = row * cols + col``): z = 4,
    columns (up, down, left, right).  Wrapping happens only along periodic lengths > 2, so every
    pair appears once per row, as in :mod:`neurolattice_core.connectivity`.
    """
    n = int(n_neurons)
    if connectivity == "ring":
        shape = (1, n)
    elif connectivity == "grid":
        if grid_shape is None or int(grid_shape[0]) * int(grid_shape[1]) != n:
            raise ParameterError(f"grid_shape {grid_shape!r} must be (rows, cols) with "
                                 f"rows * cols = N = {n}.")
        shape = (int(grid_shape[0]), int(grid_shape[1]))
    else:
        raise ParameterError(f"connectivity must be 'ring' or 'grid', not {connectivity!r}.")
    index = np.arange(n, dtype=np.int64).reshape(shape)
    columns = []
    for axis in ((0, 1) if connectivity == "grid" else (1,)):
        length = shape[axis]
        wrap = bool(neuron_periodic) and length > 2
        for step in (1, -1):  # step 1: neighbour at position - 1; step -1: at position + 1
            nb = np.roll(index, step, axis=axis)
            edge = [slice(None), slice(None)]
            edge[axis] = 0 if step == 1 else length - 1
            if not wrap:
                nb[tuple(edge)] = -1
            columns.append(nb.ravel())
    return np.ascontiguousarray(np.stack(columns, axis=1))


def pack(spins):
    """Pack int8 +-1 spins (R, N, T), T % 128 == 0, into uint64 words (R, N, T // 64)."""
    if not isinstance(spins, np.ndarray) or spins.dtype != np.int8 or spins.ndim != 3:
        raise ParameterError("spins must be an int8 numpy array of shape (R, N, T).")
    n_rep, n, n_ticks = spins.shape
    if n_ticks < 128 or n_ticks % 128:
        raise ParameterError(f"spins: T must be a positive multiple of 128, got T = {n_ticks}.")
    if not np.all(np.abs(spins) == 1):
        raise ParameterError("spins must contain only -1 and +1.")
    n_words = n_ticks // 64
    bits = (spins > 0).reshape(n_rep, n, 64, n_words).transpose(0, 1, 3, 2)
    packed = np.packbits(bits, axis=-1, bitorder="little")          # (R, N, L, 8) bytes
    return np.ascontiguousarray(packed).view("<u8")[..., 0].astype(np.uint64)


def unpack(words, n_ticks):
    """Inverse of :func:`pack`: int8 +-1 spins (R, N, n_ticks) from words (R, N, n_ticks // 64)."""
    _check_words(words)
    if int(n_ticks) != 64 * words.shape[2]:
        raise ParameterError(f"n_ticks = {n_ticks} does not match {words.shape[2]} words "
                             f"per neuron (T = 64 L).")
    n_rep, n, n_words = words.shape
    raw = np.ascontiguousarray(words.astype("<u8")).view(np.uint8)   # (R, N, 8 L)
    bits = np.unpackbits(raw.reshape(n_rep, n, n_words, 8), axis=-1, bitorder="little")
    spins = bits.transpose(0, 1, 3, 2).reshape(n_rep, n, int(n_ticks)).astype(np.int8)
    return 2 * spins - 1


def _check_words(words):
    if not isinstance(words, np.ndarray) or words.dtype != np.uint64 or words.ndim != 3:
        raise ParameterError("words must be a uint64 numpy array of shape (R, N, L).")
    if words.shape[2] < 2 or words.shape[2] % 2:
        raise ParameterError(f"words: L = {words.shape[2]} words per neuron must be even and "
                             f">= 2 (T a multiple of 128).")
    if not words.flags.c_contiguous:
        raise ParameterError("words must be C-contiguous.")


def _real(value, name, positive=False):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ParameterError(f"{name} must be a real number, got {value!r}.")
    value = float(value)
    if not math.isfinite(value) or (positive and value <= 0):
        need = "finite and > 0 (temperature theta = 1/beta > 0)" if positive else "finite"
        raise ParameterError(f"{name} must be {need}, got {value}.")
    return value


class WorkingLattice:
    """Packed configurations held in the sweep kernel's working layout between calls.

    Sweeping works on a neuron-permuted, word-major copy of the packed words (see
    :mod:`.multispin_update`); keeping it resident saves two transpositions per call.  Convert
    back with :meth:`words` only when the spins are read.

    Parameters
    ----------
    words : numpy.ndarray
        uint64 (R, N, L), C-contiguous, layout of :func:`pack` (copied, not modified).
    neighbours : numpy.ndarray
        int64 (N, z), z <= 4: equal-time neighbours (-1 = absent), symmetric and bipartite,
        e.g. from :func:`neighbour_table`.
    """

    def __init__(self, words, neighbours):
        _check_words(words)
        n_rep, n, n_words = words.shape
        if (not isinstance(neighbours, np.ndarray) or neighbours.dtype != np.int64
                or neighbours.ndim != 2 or neighbours.shape[0] != n
                or neighbours.shape[1] > 4):
            raise ParameterError(f"neighbours must be an int64 array of shape "
                                 f"(N = {n}, z <= 4).")
        self.shape = words.shape
        self._neighbours = np.ascontiguousarray(neighbours).copy()   # for the bond sums
        self._z_present, self._pos, width, self._segs = _layout(neighbours.tobytes(),
                                                                neighbours.shape)
        row = spread_offset(width + PAD)   # rows on cache lines, 1-3 KiB from 4 KiB apart
        self._pbase = aligned_zeros(row)
        self._pbase[self._pos] = np.arange(n, dtype=np.uint64) * np.uint64(64 * n_words)
        self._stride = n * n_words * 64
        self._work = aligned_zeros(n_rep * n_words * row).reshape(n_rep, n_words, row)
        _to_work(words, self._pos, self._segs, self._work)

    def words(self):
        """The configurations as packed words, uint64 (R, N, L) (a new array)."""
        words = np.empty(self.shape, dtype=np.uint64)
        _from_work(self._work, self._pos, words)
        return words

    def sweep(self, J, K, h, beta, time_periodic, method, n_sweeps, keys, sweep_offset,
              workers=None):
        """Advance by ``n_sweeps`` sweeps; the arguments are those of :func:`multispin_sweeps`.

        ``workers`` is the number of task-taking workers of the parallel region; the result
        does not depend on it.  Default: the numba thread count of the calling thread, or 1 for
        a call of fewer than ``PARALLEL_WORDS`` word updates (waking a second thread costs
        about 0.1-0.3 ms on a virtual machine, more than it saves on a small call).

        Returns
        -------
        numpy.ndarray
            int64 (R,): spins flipped per replica.
        """
        kernel_args, workers = self._kernel_arguments(J, K, h, beta, time_periodic, method, keys,
                                                      sweep_offset, n_sweeps, None, workers)
        with _at_most_threads(workers):
            return sweeps(*kernel_args, int(sweep_offset), int(n_sweeps), workers)

    def sweep_measured(self, J, K, h, beta, time_periodic, method, n_sweeps, keys, sweep_offset,
                       measure_every):
        """:meth:`sweep` and :func:`packed_moments` in one call, for a sampler's time series.

        Measures after each sweep whose number ``sweep_offset + s`` (s = 1 .. n_sweeps) is a
        multiple of ``measure_every``. The spins and flips are those of :meth:`sweep` called
        between the measurements; one call saves the Python work of one call per measurement
        (about 0.1 ms, more than a sweep of a 128 x 512 lattice).

        Returns
        -------
        flips : numpy.ndarray
            int64 (R,): spins flipped per replica.
        measured_at : numpy.ndarray
            int64 (k,): the sweep numbers of the measurements.
        sums : numpy.ndarray
            int64 (k, 3, R): magnetisation, J-bond and K-bond sums (as :func:`packed_moments`).
        """
        if (isinstance(measure_every, bool) or not isinstance(measure_every, numbers.Integral)
                or measure_every < 1):
            raise ParameterError(f"measure_every must be an integer >= 1, got {measure_every!r}.")
        kernel_args, workers = self._kernel_arguments(J, K, h, beta, time_periodic, method, keys,
                                                      sweep_offset, n_sweeps, measure_every, None)
        with _at_most_threads(workers):
            return _sweeps_measured(kernel_args, self._pos, self._neighbours,
                                    np.empty(self.shape, dtype=np.uint64), int(sweep_offset),
                                    int(n_sweeps), workers, int(measure_every))

    def _kernel_arguments(self, J, K, h, beta, time_periodic, method, keys, sweep_offset,
                          n_sweeps, sweeps_per_call, workers):
        """Checked arguments of :func:`.multispin_tasks.sweeps` up to ``stride``, and the workers.

        ``sweeps_per_call``: the most sweeps one kernel call runs (None: all ``n_sweeps``); it
        sets the default worker count.
        """
        n_rep = self.shape[0]
        if not isinstance(keys, np.ndarray) or keys.dtype != np.uint64 or keys.shape != (n_rep,):
            raise ParameterError(f"keys must be a uint64 array of shape (R = {n_rep},).")
        if method not in METHODS:
            raise ParameterError(f"method must be one of {METHODS}, got {method!r}.")
        for name, value in (("n_sweeps", n_sweeps), ("sweep_offset", sweep_offset)):
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
                raise ParameterError(f"{name} must be an integer >= 0, got {value!r}.")
        if workers is None:
            per_call = n_sweeps if sweeps_per_call is None else min(sweeps_per_call, n_sweeps)
            small = max(1, int(per_call)) * int(np.prod(self.shape)) < PARALLEL_WORDS
            workers = 1 if small else numba.get_num_threads()
        if isinstance(workers, bool) or not isinstance(workers, numbers.Integral) or workers < 1:
            raise ParameterError(f"workers must be an integer >= 1, got {workers!r}.")
        J, K, h = _real(J, "J"), _real(K, "K"), _real(h, "h")
        beta = _real(beta, "beta", positive=True)
        cl_n, cl_e = _tables(J, K, h, beta, method, self._z_present, bool(time_periodic))
        return ((self._work, self._segs, cl_n, cl_e, J == K, bool(time_periodic),
                 np.ascontiguousarray(keys), self._pbase, self._stride), int(workers))


@contextlib.contextmanager
def _at_most_threads(workers):
    """Numba's thread count lowered to ``workers`` inside the block: wake no idle thread."""
    threads = numba.get_num_threads()
    numba.set_num_threads(min(threads, workers))
    try:
        yield
    finally:
        numba.set_num_threads(threads)


@njit(cache=True, nogil=True)
def _sweeps_measured(kernel_args, pos, nbr, words, sweep_offset, n_sweeps, n_workers, every):
    """The sweeps of :meth:`WorkingLattice.sweep_measured`, measuring in between.

    ``words`` (R, N, L) is scratch for the packed configuration that :func:`_moments` reads.
    """
    work, segs, cl_n, cl_e, combined, periodic, keys, pbase, stride = kernel_args
    n_rep = words.shape[0]
    n_measured = (sweep_offset + n_sweeps) // every - sweep_offset // every
    measured_at = np.empty(n_measured, dtype=np.int64)
    sums = np.empty((n_measured, 3, n_rep), dtype=np.int64)
    flips = np.zeros(n_rep, dtype=np.int64)
    serial = serial_scratch(work, segs)   # one worker: made once, not per sweep
    done, k = 0, 0
    while done < n_sweeps:
        chunk = min(every - (sweep_offset + done) % every, n_sweeps - done)
        if n_workers == 1:
            serial_run(serial, work, segs, cl_n, cl_e, combined, periodic, keys, pbase, stride,
                       sweep_offset + done, chunk)
        else:
            flips += sweeps(work, segs, cl_n, cl_e, combined, periodic, keys, pbase, stride,
                            sweep_offset + done, chunk, n_workers)
        done += chunk
        if (sweep_offset + done) % every == 0:
            _from_work(work, pos, words)
            parts = _moments(words, nbr, periodic)
            for q in range(3):
                for r in range(n_rep):
                    sums[k, q, r] = parts[q, r].sum()
            measured_at[k] = sweep_offset + done
            k += 1
    flips += serial[3][:n_rep]
    return flips, measured_at, sums


def multispin_sweeps(words, neighbours, J, K, h, beta, time_periodic, method, n_sweeps, keys,
                     sweep_offset):
    """Advance packed configurations by ``n_sweeps`` checkerboard sweeps, in place.

    Parameters
    ----------
    words : numpy.ndarray
        uint64 (R, N, L), C-contiguous, layout of :func:`pack`; modified in place.
    neighbours : numpy.ndarray
        int64 (N, z), z <= 4: equal-time neighbours (-1 = absent), symmetric and bipartite,
        e.g. from :func:`neighbour_table`.
    J, K, h : float
        Uniform equal-time coupling, temporal coupling and field.
    beta : float
        Inverse temperature 1/theta, finite and > 0.
    time_periodic : bool
        Couple t = T-1 with t = 0.
    method : str
        "metropolis" (accept min(1, exp(-beta dE))) or "heatbath" (1 / (1 + exp(beta dE))).
    n_sweeps : int
        Sweeps to do (>= 0); a sweep updates every site once (both colours).
    keys : numpy.ndarray
        uint64 (R,): random key of each replica.
    sweep_offset : int
        Sweep counter of the first sweep (>= 0); successive calls continue the random stream.

    Returns
    -------
    numpy.ndarray
        int64 (R,): spins flipped per replica.

    Notes
    -----
    Every acceptance is exact: a lane flips with probability floor(p 2**64) / 2**64 (p = 1
    exactly when p rounds to 1.0), decided by a lazy bitwise comparison with counter-based random
    words (see :mod:`.multispin_update`).  Results are bit-identical for any thread count
    (:mod:`.multispin_tasks`).  Repeated calls on one lattice are cheaper through
    :class:`WorkingLattice`, which keeps the working layout between calls.
    """
    lattice = WorkingLattice(words, neighbours)
    flips = lattice.sweep(J, K, h, beta, time_periodic, method, n_sweeps, keys, sweep_offset)
    words[...] = lattice.words()
    return flips


@njit(cache=True, nogil=True)
def _moments(words, nbr, periodic):
    """Per (replica, neuron) sums of s, of s s' over J-bonds j > i, and of s s' over K-bonds.

    Serial: a few microseconds for the dashboard's lattices, measured after every sweep, where
    waking the parallel threads cost about 150 us.
    """
    n_rep, n, n_words = words.shape
    out = np.zeros((3, n_rep, n), dtype=np.int64)
    last = np.uint64(_ALL) if periodic else ~(np.uint64(1) << np.uint64(63))
    bonds_last = 64 if periodic else 63
    for it in range(n_rep * n):
        r = it // n
        i = it % n
        mag = 0
        jb = 0
        kb = 0
        for w in range(n_words):
            x = words[r, i, w]
            mag += 2 * np.int64(popcount64(x)) - 64
            for d in range(nbr.shape[1]):
                j = nbr[i, d]
                if j > i:
                    jb += 64 - 2 * np.int64(popcount64(x ^ words[r, j, w]))
            if w < n_words - 1:
                kb += 64 - 2 * np.int64(popcount64(x ^ words[r, i, w + 1]))
            else:
                x0 = words[r, i, 0]
                nxt = (x0 >> np.uint64(1)) | (x0 << np.uint64(63))
                kb += bonds_last - 2 * np.int64(popcount64((x ^ nxt) & last))
        out[0, r, i] = mag
        out[1, r, i] = jb
        out[2, r, i] = kb
    return out


def packed_moments(words, neighbours, time_periodic):
    """Magnetisation and bond sums of packed configurations, int64 (R,) each.

    Returns ``(sum_it s_it, sum_<ij> sum_t s_it s_jt, sum_i sum_t s_it s_i,t+1)``; the J-bonds
    are the pairs (i, j > i) of ``neighbours``; the K-bonds include (T-1, 0) iff
    ``time_periodic``.  Energy = -J j_bond_sum - K k_bond_sum - h magnetisation_sum.
    """
    _check_words(words)
    if (not isinstance(neighbours, np.ndarray) or neighbours.dtype != np.int64
            or neighbours.ndim != 2 or neighbours.shape[0] != words.shape[1]):
        raise ParameterError(f"neighbours must be an int64 array of shape "
                             f"(N = {words.shape[1]}, z).")
    parts = _moments(words, np.ascontiguousarray(neighbours), bool(time_periodic)).sum(axis=2)
    return parts[0], parts[1], parts[2]
