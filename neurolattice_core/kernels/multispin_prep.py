"""Preparation of a multi-spin sweep: checked colouring, working layout, acceptance classes.

See :mod:`.multispin_update` for the working layout ``work[r, w, p]`` (neurons of colour 0 first),
the segments and the columns of a class-table row.  Everything here depends only on the
neighbour table and on (J, K, h, beta, method), so it is cached between calls.
"""

import functools
import math

import numpy as np
from numba import njit

from ..errors import ParameterError
from .multispin_update import NCOL, NFIX

_ALL = 0xFFFFFFFFFFFFFFFF
PAD = 32        # words of padding after each working row (see .multispin_tasks._padded)
_TABLE_SIZES = (2, 4, 8) + tuple(range(12, 257, 4))    # row counts the kernel handles


@njit(cache=True, nogil=True)
def _to_work(words, pos, segs, work):
    """work[r, w, pos[i]] = words[r, i, w], then the ghost copies (segment rows of length 0)."""
    n_rep, n, n_words = words.shape
    for r in range(n_rep):
        for i in range(n):
            for w in range(n_words):
                work[r, w, pos[i]] = words[r, i, w]
        for sg in range(segs.shape[0]):
            if segs[sg, 2] == 0:
                for w in range(n_words):
                    work[r, w, segs[sg, 1]] = work[r, w, segs[sg, 1] + segs[sg, 3]]


@njit(cache=True, nogil=True)
def _from_work(work, pos, words):
    """words[r, i, w] = work[r, w, pos[i]]."""
    n_rep, n, n_words = words.shape
    for r in range(n_rep):
        for i in range(n):
            for w in range(n_words):
                words[r, i, w] = work[r, w, pos[i]]


@njit(cache=True, nogil=True)
def _graph(nbr):
    """Check a neighbour table and 2-colour it; returns (error code, i, colour, present count).

    Codes: 0 fine, 1 index out of range, 2 self loop, 3 repeated neighbour, 4 asymmetric,
    5 not bipartite.
    """
    n, z = nbr.shape
    colour = np.full(n, -1, dtype=np.int64)
    count = np.zeros(n, dtype=np.int64)
    for i in range(n):
        for d in range(z):
            j = nbr[i, d]
            if j < -1 or j >= n:
                return 1, i, colour, count
            if j == -1:
                continue
            if j == i:
                return 2, i, colour, count
            count[i] += 1
            back = 0
            for e in range(z):
                if e != d and nbr[i, e] == j:
                    return 3, i, colour, count
                if nbr[j, e] == i:
                    back += 1
            if back != 1:
                return 4, i, colour, count
    stack = np.empty(n, dtype=np.int64)
    for root in range(n):
        if colour[root] >= 0:
            continue
        colour[root] = 0
        top = 0
        stack[top] = root
        top += 1
        while top > 0:
            top -= 1
            i = stack[top]
            for d in range(z):
                j = nbr[i, d]
                if j < 0:
                    continue
                if colour[j] < 0:
                    colour[j] = 1 - colour[i]
                    stack[top] = j
                    top += 1
                elif colour[j] == colour[i]:
                    return 5, i, colour, count
    return 0, 0, colour, count


_GRAPH_ERRORS = {1: "an index outside -1..N-1", 2: "a self loop", 3: "a repeated neighbour",
                 4: "an asymmetric entry (j lists i exactly once iff i lists j)",
                 5: "an odd cycle (the graph is not bipartite, so no checkerboard exists)"}


def _acceptance(d_e, beta, method):
    """Outcome of one class: -1 always accept, -2 never, or the fraction floor(p 2**64)."""
    x = beta * d_e
    if method == "metropolis":
        p = 1.0 if d_e <= 0 else math.exp(-x)
    elif x <= 0:
        p = 1.0 / (1.0 + math.exp(x))
    else:
        e = math.exp(-x)
        p = e / (1.0 + e)
    if p >= 1.0:
        return -1
    big_p = int(math.ldexp(p, 64))
    return -2 if big_p == 0 else big_p


def _class_rows(J, K, h, beta, method, z, z_k, lane):
    """Class-table rows (see :mod:`.multispin_update`) of lanes with z and z_K bonds."""
    combined = J == K
    rows = []
    keys = ([(a, -1) for a in range(z + z_k + 1)] if combined
            else [(a_j, a_k) for a_j in range(z + 1) for a_k in range(z_k + 1)])
    for v1, v2 in keys:
        a_j, a_k = (min(v1, z), v1 - min(v1, z)) if combined else (v1, v2)
        res = {s: _acceptance(2.0 * (J * (z - 2 * a_j) + K * (z_k - 2 * a_k) + h * s), beta,
                              method) for s in (1, -1)}
        spins = [(0, res[1])] if res[1] == res[-1] else [(1, res[1]), (-1, res[-1])]
        for s, outcome in spins:
            if outcome == -1:       # always accepted: the complement of the listed classes
                continue
            big_p = max(outcome, 0)  # never accepted: P = 0
            row = [0 if (v1 >> b) & 1 else _ALL for b in range(3)]
            row += ([0, 0, _ALL] if v2 < 0
                    else [0 if v2 & 1 else _ALL, 0 if v2 & 2 else _ALL, 0])
            row += [_ALL if s == 0 else 0, _ALL if s == -1 else 0, lane]
            row += [_ALL if (big_p >> (63 - j)) & 1 else 0 for j in range(NFIX)]
            row += [big_p]
            rows.append(row)
    return rows


def _padded(tables):
    """Stack lists of rows into one uint64 array, padded with never-matching rows."""
    size = max([2] + [len(t) for t in tables])
    size = next(k for k in _TABLE_SIZES if k >= size)    # few distinct compiled variants
    dummy = [0] * NCOL                                   # lane mask 0: selects nothing
    out = np.array([t + [dummy] * (size - len(t)) for t in tables], dtype=np.uint64)
    return out.reshape(len(tables), size, NCOL)


@functools.lru_cache(maxsize=64)
def _tables(J, K, h, beta, method, z_present, time_periodic):
    """Class tables of the kernel: (inner rows (Z, C, NCOL), open-time end rows (Z, 2, C', NCOL)).

    One table per present-neighbour count z in ``z_present``.  End rows (w = 0 and w = L-1 of
    open time) hold the lanes with two temporal bonds and the end lane (bit 0 / bit 63) with one.
    """
    inner = [_class_rows(J, K, h, beta, method, z, 2, _ALL) for z in z_present]
    cl_n = _padded(inner)
    if time_periodic:
        cl_e = np.zeros((len(z_present), 2, 2, NCOL), dtype=np.uint64)
    else:
        ends = []
        for z, rows in zip(z_present, inner, strict=True):
            for lane in (1, 1 << 63):
                keep = _ALL ^ lane
                ends.append([r[:8] + [keep] + r[9:] for r in rows]
                            + _class_rows(J, K, h, beta, method, z, 1, lane))
        cl_e = _padded(ends)
        cl_e = cl_e.reshape(len(z_present), 2, *cl_e.shape[1:])
    cl_n.setflags(write=False)
    cl_e.setflags(write=False)
    return cl_n, cl_e


def _segments(nbp, colour_sorted, zrow):
    """Cut each colour block into runs with constant neighbour offsets; int64 (S, 8) rows.

    Row: block, first position, length, 4 neighbour offsets (0 = absent), class-table index.
    A row of length 0 is a ghost word: after its block is updated, the word at the first
    position becomes a copy of the word at first position + offset 0 (see :func:`_ring_layout`).
    """
    n = nbp.shape[0]
    feat = np.column_stack([colour_sorted, nbp - np.arange(n)[:, None], zrow])
    change = np.ones(n, dtype=bool)
    change[1:] = np.any(feat[1:] != feat[:-1], axis=1)
    starts = np.flatnonzero(change)
    lengths = np.diff(np.append(starts, n))
    rows = np.column_stack([feat[starts, 0], starts, lengths, feat[starts, 1:5],
                            feat[starts, 5]])
    return np.ascontiguousarray(rows, dtype=np.int64)


def spread_offset(words):
    """The smallest multiple of 8 words >= ``words``, from 128 words on 1-3 KiB from 4 KiB.

    That is: a whole number of 64-byte cache lines that, from 128 words on, lies 1-3 KiB away
    from every multiple of 4 KiB.
    The fast path's loops store each vector of spins and then load words at fixed distances
    from it (the neighbours in the other colour block, the rows of the next and previous
    ticks). A load whose address matches an earlier store's in its 12 low bits waits for that
    store (4K aliasing, x86): at N = 1024 both distances were about 4 KiB. Kept 1-3 KiB away
    from those multiples and with 64-byte-aligned vectors, one replica of 1024 x 1024 ran 5 %
    faster on one thread (three alternating runs, Intel host; README).
    """
    words = -(-words // 8) * 8
    while words >= 128 and not 128 <= words % 512 <= 384:
        words += 8
    return words


@njit(cache=True, nogil=True)
def aligned_zeros(size):
    """``size`` uint64 zeros whose first word starts a 64-byte cache line (1-D; reshape it)."""
    buffer = np.zeros(size + 8, dtype=np.uint64)
    skip = (-buffer.ctypes.data % 64) // 8
    return buffer[skip:skip + size]


def _ring_layout(nbr):
    """Working layout of a periodic ring (N even >= 4) with two ghost words: one segment per colour.

    Positions: even neuron 2k at k, a ghost of neuron 0 at H = N / 2, a ghost of neuron N - 1 at
    S - 1, odd neuron 2j + 1 at S + j, with S = spread_offset(H + 2) (both blocks start on a
    cache line).  Every even neuron then has its neighbours at offsets S - 1 and S, every odd
    one at -S and -(S - 1), so each colour is one vectorised loop (the wrap-around neuron no
    longer needs a one-word segment of its own).  Returns None when ``nbr`` is not such a ring.
    """
    n, z = nbr.shape
    index = np.arange(n)
    if (z != 2 or n < 4 or n % 2 or not np.array_equal(nbr[:, 0], (index - 1) % n)
            or not np.array_equal(nbr[:, 1], (index + 1) % n)):
        return None
    half = n // 2
    odd = spread_offset(half + 2)
    pos = np.empty(n, dtype=np.int64)
    pos[0::2] = np.arange(half)
    pos[1::2] = odd + np.arange(half)
    segs = np.array([[0, 0, half, odd - 1, odd, 0, 0, 0],
                     [1, odd, half, -odd, -(odd - 1), 0, 0, 0],
                     [0, half, 0, pos[0] - half, 0, 0, 0, 0],                 # ghost copies
                     [1, odd - 1, 0, pos[n - 1] - (odd - 1), 0, 0, 0, 0]], dtype=np.int64)
    return pos, odd + half, segs


@functools.lru_cache(maxsize=16)
def _layout(table_bytes, shape):
    """Checked 2-colouring, working positions and segments of a neighbour table (cached).

    Returns (z_present, pos, width, segs): the present-neighbour counts that occur, the working
    position of every neuron (colour 0 first), the working row length (neurons and ghost words,
    without the padding) and the segment table of :func:`.multispin_tasks.sweeps`.
    """
    nbr = np.frombuffer(table_bytes, dtype=np.int64).reshape(shape)
    n = shape[0]
    code, where, colour, count = _graph(nbr)
    if code:
        raise ParameterError(f"neighbours: row {where} has {_GRAPH_ERRORS[code]}.")
    z_present = tuple(int(z) for z in np.unique(count))
    ring = _ring_layout(nbr)
    if ring is not None:
        pos, width, segs = ring
    else:
        perm = np.argsort(colour, kind="stable")
        pos = np.empty(n, dtype=np.int64)
        pos[perm] = np.arange(n, dtype=np.int64)
        nbp = np.repeat(np.arange(n, dtype=np.int64)[:, None], 4, axis=1)   # absent = itself
        nbr_p = nbr[perm]
        nbp[:, :shape[1]] = np.where(nbr_p < 0, nbp[:, :shape[1]], pos[nbr_p])
        zrow = np.searchsorted(np.array(z_present), count[perm])
        segs, width = _segments(nbp, colour[perm], zrow), n
    pos.setflags(write=False)
    segs.setflags(write=False)
    return z_present, pos, width, segs
