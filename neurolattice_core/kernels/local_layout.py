"""The checkerboard-in-time working layout of the local-update kernels, in blocks of ticks.

The spins s[r, i, t] of R replicas (int8, (R, N, T), C order) are split by the parity of t
(ne = (T + 1) // 2 even ticks, no = T // 2 odd ticks; even tick 2k and odd tick 2k + 1 both
have parity index k) and cut into ``nb = ceil(ne / B)`` *blocks* of B parity indices (the
layout block: the ticks one task updates). The working array W has shape (R nb, N, P), block
major: row ``r nb + b`` holds block b of replica r for every neuron, so that the threads that
update different blocks work in separate regions of memory (hardware prefetchers stream along
rows; with neuron rows interleaving blocks they pulled the other thread's lines back and forth).
With P, the row length, and d, the odd offset, from :func:`_geometry`:

    W[r nb + b, i, j]         = s[r, i, 2 (b B + j)]        j < ne_b   (even segment)
    W[r nb + b, i, d + j]     = s[r, i, 2 (b B + j) + 1]    j < no_b   (odd segment)

with ne_b, no_b the even and odd indices of the block. Every segment carries copies of the
spins its neighbour class reads outside the block, *ghosts*, so that a task reads only cells of
its own block:

- even ghost at column ne_b: the even index b B + ne_b (first of block b + 1; for the last
  block, t = T: tick 0 for periodic time, else 0), read by the odd site before it;
- odd ghosts at columns d - 1 and d + no_b: the odd indices b B - 1 (last of block b - 1; for
  block 0, t = -1: tick T - 1 for periodic time, else 0) and b B + no_b (only read when
  no_b < ne_b, i.e. t = T for odd T: tick 0 for periodic time, else 0).

Ghosts are refreshed from the cells they copy after every update class (:func:`_refresh_ghosts`),
or, by the one-region driver, from compact per-block edge strips (:func:`_publish_edges`,
:func:`_fill_ghosts`): a block's neighbour then reads N contiguous bytes written by another
thread instead of one such cache line per neuron. For T == 1 the ghosts
stay 0 (no temporal bond); for T == 2 periodic both ghosts copy the other tick, so the pair is
coupled twice (2 K_i), as in the energy convention.

With B >= ``ALIGN_MIN_TICKS`` every segment starts on a cache line (W itself is allocated on
one, :func:`new_working_array`): threads that update different blocks never touch the same
cache line of W. Shorter blocks are packed.

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

Each class is a row ``(parity, k0, n)``: parity indices k0 .. k0 + n - 1; inside a class a site
is named by its class index k = 0 .. n-1 (random numbers are keyed by it).
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

SLICE_GAP = 1024
"""int32 cells left empty after the slice sums of each block of a time class (4 KiB).

Two threads update the slice sums of neighbouring blocks at once. Without the gap, the hardware
prefetchers of the thread streaming through the lower block pulled in the lines of the block
above, which the other thread was writing: on all-to-all 1024 x 1024 with two blocks, the upper
block's thread took 25 % longer and the other waited for it (2.64-2.69 flips/ns on 2 threads)."""


@njit(cache=True, nogil=True)
def _round_up(x, m):
    return (x + m - 1) // m * m


@njit(cache=True, nogil=True)
def _geometry(T, B):
    """(P, d, nb): row length of W and offset of the odd segment (bytes), blocks per replica."""
    ne = (T + 1) // 2
    if B >= ALIGN_MIN_TICKS:
        d = _round_up(B + 2, CACHE_LINE)
        return d + _round_up(B + 1, CACHE_LINE), d, (ne + B - 1) // B
    return 2 * B + 3, B + 2, (ne + B - 1) // B


@njit(cache=True, nogil=True)
def _block_counts(T, B, b):
    """(ne_b, no_b): even and odd parity indices held by block b."""
    ne, no = (T + 1) // 2, T // 2
    return min(B, ne - b * B), max(0, min(B, no - b * B))


@njit(cache=True, nogil=True)
def _slice_column(f, T, B):
    """The column of the slice sums S (R, :func:`slice_sums_width`) of permuted tick f.

    The sums of each block of each time class are contiguous, followed by SLICE_GAP empty cells.
    """
    ne, nb = (T + 1) // 2, _geometry(T, B)[2]
    segment = f // B if f < ne else nb + (f - ne) // B
    return f + SLICE_GAP * segment


@njit(cache=True, nogil=True)
def slice_sums_width(T, B):
    """Columns of the slice sums S of T ticks in layout block B (:func:`_slice_column`)."""
    return T + SLICE_GAP * 2 * _geometry(T, B)[2]


@njit(cache=True, nogil=True)
def _offsets(par, k, T, B):
    """(b, t, nb, f): the block of parity index k and where its site is.

    In a row of block b the spin is at column t, its t - 1 neighbour at nb and its t + 1
    neighbour at nb + 1; f is its per-tick position.
    """
    _, d, _ = _geometry(T, B)
    b, j = k // B, k % B
    if par == 0:
        return b, j, d - 1 + j, k
    return b, d + j, j, (T + 1) // 2 + k


@njit(cache=True, nogil=True)
def _cell(t, T, B):
    """(b, column) of tick t (0 <= t < T): the spin s[r, i, t] is W[r nb + b, i, column]."""
    _, d, _ = _geometry(T, B)
    k = t // 2
    return k // B, (d if t % 2 else 0) + k % B


@njit(cache=True, nogil=True)
def _cells(T, B):
    """(blocks, columns), int64 (T,) each: :func:`_cell` of every tick, found once per call."""
    blocks = np.empty(T, dtype=np.int64)
    columns = np.empty(T, dtype=np.int64)
    for t in range(T):
        blocks[t], columns[t] = _cell(t, T, B)
    return blocks, columns


@njit(cache=True, nogil=True)
def _refresh_ghosts(W, r0, r1, T, periodic, B):
    """Copy into every ghost of replicas r0..r1-1 the cell it stands for.

    Sources (:mod:`.local_layout`): the neighbouring block's edge, or the wrapped tick for
    periodic time; ghosts with no source keep 0 (open time, T == 1: no bond).
    """
    nb = _geometry(T, B)[2]
    sources = _ghost_sources(T, periodic, B)
    for r in range(r0, r1):
        for b in range(nb):
            ne_b, no_b = _block_counts(T, B, b)
            for i in range(W.shape[1]):
                _refresh_cell_ghosts(W, r, b, i, ne_b, no_b, sources)


@njit(cache=True, nogil=True)
def _refresh_neuron_ghosts(W, r, neurons, T, periodic, B):
    """:func:`_refresh_ghosts` for the neurons ``neurons`` (int64 array) of replica r only.

    A ghost copies a cell of its own neuron, so workers that update different neurons can
    refresh their ghosts without waiting for each other.
    """
    sources = _ghost_sources(T, periodic, B)
    for b in range(_geometry(T, B)[2]):
        ne_b, no_b = _block_counts(T, B, b)
        for q in range(neurons.size):
            _refresh_cell_ghosts(W, r, b, neurons[q], ne_b, no_b, sources)


@njit(cache=True, nogil=True, inline="always")
def _ghost_sources(T, periodic, B):
    """What every ghost copy needs: (B, d, nb, wrap, even T, cells of ticks 0 and T - 1)."""
    _, d, nb = _geometry(T, B)
    first_b, first_c = _cell(0, T, B)
    last_b, last_c = _cell(T - 1, T, B)
    return B, d, nb, periodic and T >= 2, T % 2 == 0, first_b, first_c, last_b, last_c


@njit(cache=True, nogil=True, inline="always")
def _refresh_cell_ghosts(W, r, b, i, ne_b, no_b, sources):
    """The ghosts of neuron i in block b of replica r (``sources``: :func:`_ghost_sources`)."""
    B, d, nb, wrap, even, first_b, first_c, last_b, last_c = sources
    row = r * nb + b
    if b + 1 < nb:
        W[row, i, ne_b] = W[row + 1, i, 0]
    elif wrap and even:
        W[row, i, ne_b] = W[r * nb + first_b, i, first_c]
    if b > 0:
        W[row, i, d - 1] = W[row - 1, i, d + B - 1]
    elif wrap:
        W[row, i, d - 1] = W[r * nb + last_b, i, last_c]
    if wrap and no_b < ne_b:
        W[row, i, d + no_b] = W[r * nb + first_b, i, first_c]


EDGE_FIRST_EVEN, EDGE_LAST_EVEN, EDGE_LAST_ODD = 0, 1, 2


def new_edge_strips(R, n, T, B):
    """Zeroed edge strips X (R, nb, 3, N rounded up to a cache line), int8, line aligned."""
    width = -(-n // CACHE_LINE) * CACHE_LINE
    return aligned_zeros((R, int(_geometry(T, B)[2]), 3, width), np.int8)


@njit(cache=True, nogil=True)
def _publish_edges(W, X, r, b, par, T, B):
    """Copy the edge spins of block b of parity ``par`` (replica r) into its strips.

    Even: the first and last even spins (X[r, b, EDGE_FIRST_EVEN / EDGE_LAST_EVEN, i]); odd:
    the last odd spin (X[r, b, EDGE_LAST_ODD, i]).
    """
    _, d, nb = _geometry(T, B)
    ne_b, no_b = _block_counts(T, B, b)
    row = r * nb + b
    if par == 0:
        for i in range(W.shape[1]):
            X[r, b, EDGE_FIRST_EVEN, i] = W[row, i, 0]
            X[r, b, EDGE_LAST_EVEN, i] = W[row, i, ne_b - 1]
    elif no_b > 0:
        for i in range(W.shape[1]):
            X[r, b, EDGE_LAST_ODD, i] = W[row, i, d + no_b - 1]


@njit(cache=True, nogil=True)
def _fill_ghosts(W, X, r, b, par, T, periodic, B):
    """Fill the ghosts that sites of parity ``par`` in block b read, from the edge strips.

    Even sites read the odd ghosts, odd sites the even one; the sources are those of
    :func:`_refresh_ghosts`.
    """
    _, d, nb = _geometry(T, B)
    ne_b, no_b = _block_counts(T, B, b)
    wrap = periodic and T >= 2
    row = r * nb + b
    if par == 1:
        if b + 1 < nb or (wrap and T % 2 == 0):
            src = (b + 1) % nb
            for i in range(W.shape[1]):
                W[row, i, ne_b] = X[r, src, EDGE_FIRST_EVEN, i]
        return
    if b > 0 or wrap:
        src, edge = b - 1, EDGE_LAST_ODD
        if b == 0:
            src, edge = nb - 1, (EDGE_LAST_ODD if T % 2 == 0 else EDGE_LAST_EVEN)
        for i in range(W.shape[1]):
            W[row, i, d - 1] = X[r, src, edge, i]
    if wrap and no_b < ne_b:
        for i in range(W.shape[1]):
            W[row, i, d + no_b] = X[r, 0, EDGE_FIRST_EVEN, i]


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


def new_working_array(R, n, T, B):
    """A zeroed W (R nb, N, P) int8 for layout block B whose first byte starts a cache line."""
    P, _, nb = _geometry(T, B)
    return aligned_zeros((R * nb, n, int(P)), np.int8)


@njit(cache=True, nogil=True)
def _split(spins, periodic, W, B):
    """Fill the zeroed working array W (:func:`new_working_array`) from spins (R, N, T)."""
    R, n, T = spins.shape
    nb = _geometry(T, B)[2]
    blocks, columns = _cells(T, B)
    for r in range(R):
        for i in range(n):
            for t in range(T):
                W[r * nb + blocks[t], i, columns[t]] = spins[r, i, t]
    _refresh_ghosts(W, 0, R, T, periodic, B)
    return W


@njit(cache=True, nogil=True)
def _merge(W, spins, B):
    """Write the working array W (R nb, N, P) of layout block B into spins (R, N, T)."""
    R, n, T = spins.shape
    nb = _geometry(T, B)[2]
    blocks, columns = _cells(T, B)
    for r in range(R):
        for i in range(n):
            for t in range(T):
                spins[r, i, t] = W[r * nb + blocks[t], i, columns[t]]


def permute_ticks(per_site):
    """Per-site array (..., T) -> the permuted tick order [even ticks | odd ticks], C order."""
    return np.ascontiguousarray(np.concatenate([per_site[..., 0::2], per_site[..., 1::2]],
                                               axis=-1))


def field_rows(fields):
    """The distinct rows of per-site fields and the row of each neuron.

    Parameters
    ----------
    fields : numpy.ndarray, float32 or float64, shape (N, T)
        h_it in any tick order.

    Returns
    -------
    rows : numpy.ndarray, shape (M, T), the dtype of ``fields``
        The distinct rows (M = 1 when no field depends on the neuron, the usual case).
    row_of : numpy.ndarray, int64, shape (N,)
        ``fields[i] == rows[row_of[i]]``.

    The kernels read h_it as ``rows[row_of[i], t]``: a single row stays in the L1 cache,
    where N T per-site fields (4 MiB for 1024 x 1024) streamed from memory every sweep.
    """
    n = fields.shape[0]
    if n == 0 or bool(np.all(fields == fields[:1])):
        return np.ascontiguousarray(fields[:1]), np.zeros(n, dtype=np.int64)
    rows, row_of = np.unique(fields, axis=0, return_inverse=True)
    return np.ascontiguousarray(rows), row_of.reshape(n).astype(np.int64)


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
