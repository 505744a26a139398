"""Task-parallel driver of the multi-spin sweeps (private to :mod:`.multispin`).

A parallel region costs tens of microseconds to start on a virtual machine (the sleeping worker
thread has to be woken), about as long as a half-sweep of a 1024 x 1024 lattice takes.  All the
sweeps of one call therefore run in a single region: its workers take *tasks* from a shared
atomic counter and wait, through per-row progress counters, for the tasks they depend on.

Task ``g`` is the half-sweep ``hs = g // (R L)`` (sweep ``hs // 2``, colour ``hs % 2``) of the
working row ``(r, w)`` (``g % (R L) = r L + i``, ``w = (i + hs) mod L``): it updates the words
of that colour in row ``w`` of replica ``r`` (see :mod:`.multispin_update` for the layout).  It
reads the other colour of rows ``w - 1``, ``w``, ``w + 1`` (cyclically: the time neighbours of
rows 0 and L - 1 are each other, rotated by one bit) and writes its own colour of row ``w``, so
it may start once those three rows have finished half-sweep ``hs - 1``; every task that reads or
writes what it writes is ordered with it through these counters.  A task depends only on tasks
with smaller indices, which have all been claimed, so the lowest unfinished task can always run:
no deadlock, whatever the number of threads that actually execute the workers.  Each task draws
its random numbers from its own counters, so the result is bit-identical for any number of
workers and threads.  Starting each half-sweep one row later makes its first tasks depend on the
rows finished first in the previous half-sweep, so workers rarely wait at half-sweep boundaries.

That dynamic claiming is the fallback.  When all workers are seen running at once (the usual
case, :func:`_mode`), worker k instead owns the contiguous rows ``[k RL / n, (k+1) RL / n)`` of
the flattened (replica, row) index and runs their tasks half-sweep by half-sweep, the two rows
it shares with other workers first: every row then stays in one core's cache.  The same tasks
with the same waits run either way, so the result is the same.
"""

import numpy as np
from numba import njit, prange

from .multispin_prep import PAD
from .multispin_update import ACC, _finish, _flip, _segment
from .sync import LINE, STATIC, fetch_add, mode, store_release, wait_at_least

_ONE = np.uint64(1)
_S63 = np.uint64(63)
_ALL = np.uint64(0xFFFFFFFFFFFFFFFF)
_ZERO = np.uint64(0)

@njit(cache=True, nogil=True, inline="always")
def _padded(length):
    """Words computed for a segment of ``length`` words: a multiple of the vector loop's stride.

    The vectorised loop of :func:`.multispin_update._segment` would finish a remainder word by
    word at several times the cost; the extra words (up to PAD - 1, in the row padding or in the
    other block) are computed but never flipped.
    """
    if length < 8:
        return length
    return (length + PAD - 1) // PAD * PAD


@njit(cache=True, nogil=True)
def _rotated(src, shift_right, dst):
    """Fill dst with src rotated by one bit: right (t + 1 of word L-1) or left (t - 1 of word 0)."""
    for p in range(src.shape[0]):
        v = src[p]
        if shift_right:
            dst[p] = (v >> _ONE) | (v << _S63)
        else:
            dst[p] = (v << _ONE) | (v >> _S63)
    return dst


@njit(cache=True, nogil=True)
def _task(work, r, w, blk, segs, CLn, CLe, kc, periodic, key, ctr_hs, pbase, out, AC, cm, rot):
    """Update the words of block ``blk`` of working row (r, w), segment by segment; flips.

    ``out``, ``AC``, ``cm`` and ``rot`` (uint64 (2, N)) are the worker's scratch arrays.
    """
    n_words = work.shape[1]
    xrow = work[r, w]
    if w == n_words - 1:                 # t + 1 of word L-1 is word 0 shifted by one bit
        nrow = _rotated(work[r, 0], True, rot[0])
    else:
        nrow = work[r, w + 1]
    if w == 0:                           # t - 1 of word 0 is word L-1 shifted by one bit
        prow = _rotated(work[r, n_words - 1], False, rot[1])
    else:
        prow = work[r, w - 1]
    edge = -1
    nmask = _ALL
    pmask = _ALL
    if not periodic:
        if w == 0:
            edge = 0
            pmask = ~_ONE                # t = 0 has no t - 1
        if w == n_words - 1:
            edge = 1
            nmask = ~(_ONE << _S63)      # t = T - 1 has no t + 1
    ctr_base = ctr_hs + np.uint64(w * 64)
    total = 0
    for sg in range(segs.shape[0]):
        if segs[sg, 0] != blk:
            continue
        m = segs[sg, 2]
        if m == 0:                       # a ghost word: refresh its copy (after the segments)
            xrow[segs[sg, 1]] = xrow[segs[sg, 1] + segs[sg, 3]]
            continue
        px = np.uint64(segs[sg, 1])
        q0 = px + np.uint64(segs[sg, 3])
        q1 = px + np.uint64(segs[sg, 4])
        q2 = px + np.uint64(segs[sg, 5])
        q3 = px + np.uint64(segs[sg, 6])
        CL = CLn[segs[sg, 7]] if edge < 0 else CLe[segs[sg, 7], edge]
        _segment(xrow, nrow, prow, px, q0, q1, q2, q3, _padded(m), nmask, pmask, kc, CL, key,
                 ctr_base, pbase, out, AC)
        _finish(xrow, nrow, prow, px, q0, q1, q2, q3, m, nmask, pmask, kc, CL, key, ctr_base,
                pbase, out, cm)
        total += _flip(xrow, px, m, out)
    return total


@njit(cache=True, nogil=True)
def _run(work, progress, hs, row, segs, CLn, CLe, kc, periodic, keys, stride, sweep_offset,
         pbase, out, AC, cm, rot):
    """Task (hs, row): wait for its three rows, update, publish its progress; flips."""
    n_words = work.shape[1]
    r, w = row // n_words, row % n_words
    base = r * n_words
    wait_at_least(progress, LINE * (base + (w + n_words - 1) % n_words), hs)
    wait_at_least(progress, LINE * row, hs)
    wait_at_least(progress, LINE * (base + (w + 1) % n_words), hs)
    ctr_hs = np.uint64(2 * sweep_offset + hs) * np.uint64(stride)
    flips = _task(work, r, w, (hs + w) & 1, segs, CLn, CLe, kc, periodic, keys[r], ctr_hs,
                  pbase, out, AC, cm, rot)
    store_release(progress, LINE * row, hs + 1)
    return flips


@njit(cache=True, nogil=True, parallel=True)
def sweeps(work, segs, CLn, CLe, combined, periodic, keys, pbase, stride, sweep_offset,
           n_sweeps, n_workers):
    """``n_sweeps`` checkerboard sweeps of the working layout in place; flips per replica.

    work : uint64 (R, L, W + PAD), the working layout of :mod:`.multispin_update`: rows of W
        words (N neurons and any ghost words), each followed by PAD words of padding.
    segs : int64 (S, 8) rows: block, first position, length, the 4 neighbour offsets (position
        of the neighbour minus position; 0 = absent), class-table index; rows of length 0 are
        ghost copies, listed after the segments (:func:`.multispin_prep._segments`).
    CLn, CLe : class tables of inner rows (and of all rows for periodic time) and of the rows
        w = 0 / w = L-1 of open time (:func:`.multispin_prep._tables`).
    pbase : uint64 (W + PAD,), ``i L 64`` for the neuron i at each position (0 elsewhere);
        stride : int, ``N L 64``, the counter step of a half-sweep; keys : uint64 (R,).
    n_workers : int, workers of the parallel region (normally the numba thread count).
    """
    n_rep, n_words = work.shape[:2]
    width = work.shape[2]
    max_len = 1
    for sg in range(segs.shape[0]):
        max_len = max(max_len, _padded(segs[sg, 2]))
    kc = _ALL if combined else _ZERO
    rows = n_rep * n_words
    n_tasks = 2 * n_sweeps * rows
    out = np.empty((n_workers, 2, max_len), dtype=np.uint64)
    AC = np.empty((n_workers, ACC * max_len), dtype=np.uint64)
    cm = np.empty((n_workers, max(CLn.shape[1], CLe.shape[2])), dtype=np.uint64)
    rot = np.empty((n_workers, 2, width), dtype=np.uint64)
    flips = np.zeros((n_workers, n_rep), dtype=np.int64)
    control = np.zeros(3, dtype=np.int64)       # workers arrived, mode, tasks claimed
    progress = np.zeros(LINE * rows, dtype=np.int64)   # half-sweeps finished by each row
    for k in prange(n_workers):
        if mode(control, n_workers) == STATIC:
            lo, hi = k * rows // n_workers, (k + 1) * rows // n_workers
            for hs in range(2 * n_sweeps):
                for i in range(hi - lo):        # the shared edge rows first, then in order
                    row = lo if i == 0 else (hi - 1 if i == 1 else lo + i - 1)
                    flips[k, row // n_words] += _run(
                        work, progress, hs, row, segs, CLn, CLe, kc, periodic, keys, stride,
                        sweep_offset, pbase, out[k], AC[k], cm[k], rot[k])
        else:
            while True:
                g = fetch_add(control, 2, 1)
                if g >= n_tasks:
                    break
                hs = g // rows
                row = g % rows
                row += (hs + row) % n_words - row % n_words   # one row later each half-sweep
                flips[k, row // n_words] += _run(
                    work, progress, hs, row, segs, CLn, CLe, kc, periodic, keys, stride,
                    sweep_offset, pbase, out[k], AC[k], cm[k], rot[k])
    return flips.sum(axis=0)
