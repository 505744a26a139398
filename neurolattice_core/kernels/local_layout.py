"""The checkerboard-in-time working layout of the local-update kernels.

The spins s[r, i, t] of R replicas (int8, (R, N, T), C order) live in a resident working array
W of shape (R, N, L), split by the parity of t so that every update class is a contiguous run of
bytes (ne = (T + 1) // 2 even ticks, no = T // 2 odd ticks; e0, o0, L from :func:`_bases`):

    W[r, i, e0 + k]     = s[r, i, 2k]          k = 0 .. ne-1   (even block)
    W[r, i, o0 + k]     = s[r, i, 2k + 1]      k = 0 .. no-1   (odd block)

The temporal neighbours of the even site t = 2k are W[r, i, o0 + k - 1] (t - 1) and
W[r, i, o0 + k] (t + 1); those of the odd site t = 2k + 1 are W[r, i, e0 + k] and
W[r, i, e0 + k + 1]. The cells e0 - 1, e0 + ne, o0 - 1 and o0 + no stand for t = -1 or t = T:
they are ghosts, 0 for open time (no bond), copies of the wrapped spin for periodic time
(refreshed by :func:`_refresh_ghosts` after every update class). For T == 1 the ghosts stay 0
(no temporal bond); for T == 2 periodic both ghosts copy the other tick, so the pair is coupled
twice (2 K_i), as in the energy convention.

Rows of at least ``ALIGN_MIN_TICKS`` even ticks are padded so that rows and both blocks start on
a cache line (W itself is allocated on one, :func:`new_working_array`): threads that update
blocks of a multiple of 64 ticks then never write to the same cache line. Shorter rows are
packed (e0 = 1, o0 = ne + 3, L = T + 4).

Per-tick arrays (fields h[i, :], slice sums S, cached fields phi) use the permuted tick order
[0, 2, 4, ..., 1, 3, 5, ...]: even tick 2k at position k, odd tick 2k + 1 at ne + k.

Update classes (the sites of one class at one tick are updated neuron after neuron; different
ticks of one class are conditionally independent, because no bond joins two of them):

- class 0: even ticks, except t = T-1 when time is periodic and T is odd (T >= 3);
- class 1: odd ticks;
- class 2 (periodic, odd T >= 3 only): the single tick t = T-1, which touches both t = T-2
  (odd) and t = 0 (even).

Neurons are visited in index order, or for sparse couplings in the order of a greedy proper
colouring of the neuron graph (:func:`_greedy_colours`), so that neurons of one colour, which
share no bond, come together.

Each class is a row ``(parity, k0, n)``: sites k0 .. k0 + n - 1 of the parity's block; inside a
class a site is named by its class index k = 0 .. n-1 (random numbers are keyed by it).
"""

import numpy as np
from numba import njit


def time_classes(T, periodic):
    """The update classes of T ticks; int64 array (n_classes, 3) of (parity, k0, n)."""
    ne, no = (T + 1) // 2, T // 2
    if T == 1:
        return np.array([[0, 0, 1]], dtype=np.int64)
    if periodic and T % 2 == 1:
        return np.array([[0, 0, ne - 1], [1, 0, no], [0, ne - 1, 1]], dtype=np.int64)
    return np.array([[0, 0, ne], [1, 0, no]], dtype=np.int64)


CACHE_LINE = 64
"""Bytes of a cache line."""
ALIGN_MIN_TICKS = 64
"""Rows with at least this many even ticks are cache-line aligned (:func:`_bases`)."""


@njit(cache=True, nogil=True)
def _round_up(x, m):
    return (x + m - 1) // m * m


@njit(cache=True, nogil=True)
def _bases(T):
    """(e0, o0, L): the cells of ticks 0 and 1 in a row of W, and the row length (bytes)."""
    ne, no = (T + 1) // 2, T // 2
    if ne < ALIGN_MIN_TICKS:
        return 1, ne + 3, ne + no + 4
    o0 = _round_up(CACHE_LINE + ne + 2, CACHE_LINE)
    return CACHE_LINE, o0, _round_up(o0 + no + 1, CACHE_LINE)


@njit(cache=True, nogil=True)
def _offsets(par, k0, T):
    """(t_off, nb_off, f_off) of a class starting at site k0 of parity ``par``.

    Class site k has its spin at W[r, i, t_off + k], its t - 1 neighbour at W[r, i, nb_off + k]
    (t + 1 at nb_off + k + 1), and its per-tick entries at position f_off + k.
    """
    e0, o0, _ = _bases(T)
    if par == 0:
        return e0 + k0, o0 - 1 + k0, k0
    return o0 + k0, e0 + k0, (T + 1) // 2 + k0


@njit(cache=True, nogil=True)
def _cell(t, T):
    """The cell of tick t (0 <= t < T) in a row of W."""
    e0, o0, _ = _bases(T)
    return (e0 if t % 2 == 0 else o0) + t // 2


@njit(cache=True, nogil=True)
def _refresh_ghosts(W, r0, r1, T, periodic):
    """Copy the wrapped spins into the ghost cells of replicas r0..r1-1 (periodic time)."""
    if not periodic or T < 2:
        return
    e0, o0, _ = _bases(T)
    ne, no = (T + 1) // 2, T // 2
    for r in range(r0, r1):
        for i in range(W.shape[1]):
            if T % 2 == 0:
                W[r, i, o0 - 1] = W[r, i, o0 + no - 1]    # t = -1  is  t = T-1 (odd)
                W[r, i, e0 + ne] = W[r, i, e0]            # t = T   is  t = 0
            else:
                W[r, i, o0 - 1] = W[r, i, e0 + ne - 1]    # t = -1  is  t = T-1 (even)
                W[r, i, o0 + no] = W[r, i, e0]            # t = T   is  t = 0


def aligned_zeros(shape, dtype):
    """A zeroed C-ordered array whose first byte starts a cache line.

    Arrays that several threads write in disjoint parts (the working spins, slice sums, cached
    fields) are aligned, so that parts ending on a multiple of 64 bytes share no cache line.
    """
    dtype = np.dtype(dtype)
    size = int(np.prod(shape)) * dtype.itemsize
    buffer = np.zeros(size + CACHE_LINE, dtype=np.uint8)
    start = -buffer.ctypes.data % CACHE_LINE
    return buffer[start:start + size].view(dtype).reshape(shape)


def new_working_array(R, n, T):
    """A zeroed W (R, N, L) int8 whose first byte starts a cache line."""
    return aligned_zeros((R, n, int(_bases(T)[2])), np.int8)


@njit(cache=True, nogil=True)
def _split(spins, periodic, W):
    """Fill the zeroed working array W (:func:`new_working_array`) from spins (R, N, T)."""
    R, n, T = spins.shape
    for r in range(R):
        for i in range(n):
            for t in range(T):
                W[r, i, _cell(t, T)] = spins[r, i, t]
    _refresh_ghosts(W, 0, R, T, periodic)
    return W


@njit(cache=True, nogil=True)
def _merge(W, spins):
    """Write the working array W (R, N, L) into spins (R, N, T)."""
    R, n, T = spins.shape
    for r in range(R):
        for i in range(n):
            for t in range(T):
                spins[r, i, t] = W[r, i, _cell(t, T)]


def permute_ticks(per_site):
    """Per-site array (..., T) -> the permuted tick order [even ticks | odd ticks], C order."""
    return np.ascontiguousarray(np.concatenate([per_site[..., 0::2], per_site[..., 1::2]],
                                               axis=-1))


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
