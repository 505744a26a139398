"""Task-parallel driver of the multi-spin sweeps (private to :mod:`.multispin`).

A parallel region costs tens of microseconds to start on a virtual machine (the sleeping worker
thread has to be woken), about as long as a half-sweep of a 1024 x 1024 lattice takes.  All the
sweeps of one call therefore run in a single region: its workers run *tasks* and wait, through
progress counters, for the tasks they depend on.

A *unit* is part k of working row w of replica r, numbered ``(r P + k) L + w``.  Each colour
block of a row is cut into P parts (:func:`part_cuts`): P = 1 when the replicas divide evenly
among the workers or when every worker gets at least WHOLE_ROWS_FROM whole rows, otherwise P =
the number of workers, so that a single replica of few rows still keeps every core busy.
Task (hs, unit) is half-sweep ``hs`` (sweep ``hs // 2``, colour ``hs % 2``) of that unit: it
updates the words of colour block ``(hs + w) % 2`` in its part of row ``w`` (see
:mod:`.multispin_update` for the layout).  It reads the other colour of rows ``w - 1``,
``w``, ``w + 1`` (cyclically: the time neighbours of rows 0 and L - 1 are each other, rotated
by one bit), so it may start once every part of those three rows has finished half-sweep
``hs - 1``; every task that reads or writes what it writes is ordered with it through these
counters.  Each task draws its random numbers from counters fixed by the site and the
half-sweep, so the result is bit-identical for any number of workers, parts and threads.

When all workers are seen running at once (the usual case, :func:`.sync.mode`), worker k owns
the contiguous units ``[k U / n, (k+1) U / n)`` and runs their tasks half-sweep by half-sweep,
starting one unit later each half-sweep so that its first task depends on units finished
early in the previous one; every unit then stays in one core's cache.  Each worker publishes
one count of the tasks it has finished (:func:`_wait_owners`).  Otherwise (a worker did not
start in time) workers claim tasks in order from a shared atomic counter and publish the
half-sweeps finished by each unit (:func:`_wait_units`): a task
depends only on tasks with smaller indices, which have all been claimed, so the lowest
unfinished task can always run, whatever the number of threads that actually execute the
workers.  The same tasks with the same waits run either way, so the result is the same.

With one worker, :func:`serial_run` runs the same tasks in the same order without a parallel
region, whose start costs more than a small lattice's sweep.

The task kernels are compiled without Numba's reference counting (``_nrt=False``): they only
take views of arrays their caller owns, and the atomic increments and decrements of those views'
shared counts cost about a third of a small task and bounced a cache line between the cores.
"""

import numpy as np
from numba import njit, prange

from .multispin_prep import PAD, aligned_zeros
from .multispin_update import ACC, _segment
from .sync import LINE, STATIC, fetch_add, mode, prefetch, store_release, wait_at_least

_ONE = np.uint64(1)
_S63 = np.uint64(63)
_ALL = np.uint64(0xFFFFFFFFFFFFFFFF)
_ZERO = np.uint64(0)
#: Rows per worker from which a replica is split by whole rows rather than every row in parts.
#: One replica on 2 workers (``make bench`` machine, 4 runs each): 256 x 4096 (32 rows each)
#: 15.6 against 11.3 flips/ns, 512 x 2048 (16) 15.9 against 13.4; at 8 rows each the two ways
#: tie (1024 x 1024: 15.2 and 15.2); at 4 parts win (512 x 512: 13.6 against 10.7).
WHOLE_ROWS_FROM = 16

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


@njit(cache=True, nogil=True, _nrt=False)
def _rotated(src, shift_right, dst, lo, hi):
    """dst[lo:hi] = src[lo:hi] rotated by one bit.

    Right gives the t + 1 neighbours of word L-1 (from word 0), left the t - 1 neighbours of
    word 0 (from word L-1).
    """
    for p in range(lo, hi):
        v = src[p]
        if shift_right:
            dst[p] = (v >> _ONE) | (v << _S63)
        else:
            dst[p] = (v << _ONE) | (v >> _S63)
    return dst


@njit(cache=True, nogil=True)
def part_cuts(segs, n_parts):
    """Where the parts of each colour block begin and end: int64 (2, n_parts + 1) positions.

    Block b's segments span positions ``[cuts[b, 0], cuts[b, n_parts])``; part ``k`` updates
    ``[cuts[b, k], cuts[b, k + 1])``.  Inner cuts sit a multiple of PAD after the block's start,
    so that a part's padded vector loops end where the next part begins.
    """
    cuts = np.zeros((2, n_parts + 1), dtype=np.int64)
    for b in range(2):
        lo, hi = -1, -1
        for sg in range(segs.shape[0]):
            if segs[sg, 0] == b and segs[sg, 2] > 0:
                start, end = segs[sg, 1], segs[sg, 1] + segs[sg, 2]
                lo = start if lo < 0 else min(lo, start)
                hi = max(hi, end)
        lo, hi = max(lo, 0), max(hi, 0)
        for k in range(n_parts + 1):
            cut = lo + ((hi - lo) * k // n_parts + PAD // 2) // PAD * PAD
            cuts[b, k] = min(max(cut, lo), hi)
        cuts[b, 0], cuts[b, n_parts] = lo, hi
    return cuts


@njit(cache=True, nogil=True, _nrt=False, inline="always")
def _prefetch_rows(xrow, nrow, prow, lo, end):
    """Ask for the lines of positions [lo, end) of the three rows a task reads and writes.

    With two workers some of these lines were last written by the other core (the rows next to
    its units, the words next to its part); asked for all at once they arrive together rather
    than one stall at a time inside the vector loop. One replica of 1024 x 1024 on 2 threads
    (``benchmarks/bench_multispin.py``, alternating runs): 16.6-17.3 flips/ns without, 18.1-18.6
    with; prefetching only the row written, or only the rows read, gained about half as much.
    One thread: unchanged (10.0-10.7).
    """
    for p in range(lo, end, LINE):
        prefetch(nrow, p, 0)
        prefetch(prow, p, 0)
        prefetch(xrow, p, 1)


@njit(cache=True, nogil=True, _nrt=False)
def _task(work, r, w, blk, lo, hi, segs, CLn, CLe, kc, periodic, key, ctr_hs, pbase, AC, rot):
    """Update the words of block ``blk`` at positions [lo, hi) of working row (r, w); flips.

    ``AC`` and ``rot`` (uint64) are the worker's scratch arrays.
    """
    n_words = work.shape[1]
    xrow = work[r, w]
    end = min(hi + PAD, xrow.shape[0])   # the padded loops read up to PAD - 1 words past hi
    if w == n_words - 1:                 # t + 1 of word L-1 is word 0 shifted by one bit
        nrow = _rotated(work[r, 0], True, rot[0], lo, end)
    else:
        nrow = work[r, w + 1]
    if w == 0:                           # t - 1 of word 0 is word L-1 shifted by one bit
        prow = _rotated(work[r, n_words - 1], False, rot[1], lo, end)
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
    _prefetch_rows(xrow, nrow, prow, lo, end)
    ctr_base = ctr_hs + np.uint64(w * 64)
    total = 0
    for sg in range(segs.shape[0]):
        if segs[sg, 0] != blk:
            continue
        if segs[sg, 2] == 0:             # a ghost word: refresh its copy (after the segments)
            source = segs[sg, 1] + segs[sg, 3]
            if lo <= source < hi:
                xrow[segs[sg, 1]] = xrow[source]
            continue
        start = max(segs[sg, 1], lo)
        m = min(segs[sg, 1] + segs[sg, 2], hi) - start
        if m <= 0:
            continue
        px = np.uint64(start)
        q0 = px + np.uint64(segs[sg, 3])
        q1 = px + np.uint64(segs[sg, 4])
        q2 = px + np.uint64(segs[sg, 5])
        q3 = px + np.uint64(segs[sg, 6])
        CL = CLn[segs[sg, 7]] if edge < 0 else CLe[segs[sg, 7], edge]
        total += _segment(xrow, nrow, prow, px, q0, q1, q2, q3, _padded(m), m, nmask, pmask,
                          kc, CL, key, ctr_base, pbase, AC)
    return total


@njit(cache=True, nogil=True, _nrt=False)
def _run(work, hs, w, k, r, cuts, segs, CLn, CLe, kc, periodic, keys, stride, sweep_offset,
         pbase, AC, rot):
    """Task (hs, unit) of unit (part k of row w of replica r), once what it reads is ready; flips.

    It may start when every part of rows w - 1, w, w + 1 has finished half-sweep hs - 1
    (:func:`_wait_units`, :func:`_wait_owners`).
    """
    ctr_hs = np.uint64(2 * sweep_offset + hs) * np.uint64(stride)
    blk = (hs + w) & 1
    return _task(work, r, w, blk, cuts[blk, k], cuts[blk, k + 1], segs, CLn, CLe, kc, periodic,
                 keys[r], ctr_hs, pbase, AC, rot)


@njit(cache=True, nogil=True)
def _units(n_rep, n_parts, n_words, n_workers):
    """Row, part and replica of each unit, and what its tasks wait for in static mode.

    Returns ``rows`` int64 (U, 3): (w, k, r) of unit ``(r P + k) L + w``; ``remote`` int64
    (U, 3 P, 3) and ``n_remote`` (U,): for each unit v that unit u's tasks read (every part of
    rows w - 1, w, w + 1) and that another worker o owns, the row (o, n_o, v - lo_o + 1), where
    o owns the n_o units from lo_o (see :func:`_wait_owners`).
    """
    units = n_rep * n_parts * n_words
    rows = np.empty((units, 3), dtype=np.int64)
    remote = np.zeros((units, 3 * n_parts, 3), dtype=np.int64)
    n_remote = np.zeros(units, dtype=np.int64)
    for unit in range(units):
        w = unit % n_words
        rows[unit, 0], rows[unit, 1] = w, unit // n_words % n_parts
        rows[unit, 2] = unit // (n_words * n_parts)
        me = ((unit + 1) * n_workers - 1) // units       # the worker that owns the unit
        first = rows[unit, 2] * n_parts * n_words
        for part in range(n_parts):
            for dw in range(n_words - 1, n_words + 2):
                v = first + part * n_words + (w + dw) % n_words
                owner = ((v + 1) * n_workers - 1) // units
                if owner != me:
                    lo, hi = owner * units // n_workers, (owner + 1) * units // n_workers
                    d = n_remote[unit]
                    remote[unit, d, 0], remote[unit, d, 1] = owner, hi - lo
                    remote[unit, d, 2] = v - lo + 1
                    n_remote[unit] += 1
    return rows, remote, n_remote


@njit(cache=True, nogil=True, _nrt=False)
def _wait_units(progress, hs, unit, n_words, n_parts):
    """Dynamic mode: wait until every part of rows w - 1, w, w + 1 has finished hs - 1.

    ``progress[LINE u]`` holds the half-sweeps finished by unit u.
    """
    w = unit % n_words
    first = unit // (n_words * n_parts) * n_parts * n_words
    for part in range(n_parts):
        base = first + part * n_words
        wait_at_least(progress, LINE * (base + (w + n_words - 1) % n_words), hs)
        wait_at_least(progress, LINE * (base + w), hs)
        wait_at_least(progress, LINE * (base + (w + 1) % n_words), hs)


@njit(cache=True, nogil=True, _nrt=False)
def _wait_owners(done, seen, hs, remote, n_remote):
    """Static mode: wait until other workers have run the tasks (hs - 1, v) that a task reads.

    ``remote[:n_remote]`` are the rows (o, n_o, v - lo_o + 1) of :func:`_units`.  Worker o owns
    the units ``[lo_o, lo_o + n_o)`` and runs (hs, v) as its task number ``hs n_o + (v - lo_o -
    hs) mod n_o``; ``done[LINE o]`` counts the tasks it has finished.  ``seen[o]`` is the last
    count read, so a worker rereads another's counter (a cache line the other core keeps
    writing) only when what it saw is not yet enough.  A worker's own earlier tasks are finished
    by construction.
    """
    if hs == 0:
        return
    for d in range(n_remote):
        owner, n_owned = remote[d, 0], remote[d, 1]
        need = (hs - 1) * n_owned + (remote[d, 2] - hs) % n_owned + 1
        if seen[owner] < need:
            seen[owner] = wait_at_least(done, LINE * owner, need)


@njit(cache=True, nogil=True)
def _scratch(work, segs, n_workers):
    """Each worker's scratch rows and flip counts (uint64 AC, rot; int64 flips).

    Every row ends a cache line before the next worker's begins.
    """
    n_rep, width = work.shape[0], work.shape[2]
    max_len = 1
    for sg in range(segs.shape[0]):
        max_len = max(max_len, _padded(segs[sg, 2]))
    AC = np.empty((n_workers, ACC * max_len + LINE), dtype=np.uint64)
    # rows on cache lines (width is a multiple of 8)
    rot = aligned_zeros(n_workers * 2 * width).reshape((n_workers, 2, width))
    flips = np.zeros((n_workers, n_rep + LINE), dtype=np.int64)
    return AC, rot, flips


@njit(cache=True, nogil=True, _nrt=False)
def _static_worker(k, n_workers, n_sweeps, work, cuts, segs, CLn, CLe, kc, periodic, keys,
                   stride, sweep_offset, pbase, AC, rot, flips, done, seen, rows, remote,
                   n_remote):
    """Static mode: worker k runs the tasks of its units ``[k U / n, (k+1) U / n)``.

    Half-sweep by half-sweep, one unit later each half-sweep (see the module docstring).
    ``AC``, ``rot``, ``flips`` and ``seen`` are the worker's own rows.
    """
    units = rows.shape[0]
    lo, hi = k * units // n_workers, (k + 1) * units // n_workers
    for hs in range(2 * n_sweeps if hi > lo else 0):
        unit = lo + hs % (hi - lo)
        for i in range(hi - lo):
            _wait_owners(done, seen, hs, remote[unit], n_remote[unit])
            w, part, r = rows[unit, 0], rows[unit, 1], rows[unit, 2]
            flips[r] += _run(work, hs, w, part, r, cuts, segs, CLn, CLe, kc, periodic, keys,
                             stride, sweep_offset, pbase, AC, rot)
            store_release(done, LINE * k, hs * (hi - lo) + i + 1)
            unit = lo if unit == hi - 1 else unit + 1


@njit(cache=True, nogil=True)
def serial_scratch(work, segs):
    """What :func:`serial_run` needs besides the lattice, made once for any number of calls."""
    n_rep, n_words = work.shape[:2]
    AC, rot, flips = _scratch(work, segs, 1)
    rows, remote, n_remote = _units(n_rep, 1, n_words, 1)
    return (part_cuts(segs, 1), AC[0], rot[0], flips[0], rows, remote, n_remote,
            np.zeros(LINE, dtype=np.int64), np.zeros(1 + LINE, dtype=np.int64))


@njit(cache=True, nogil=True)
def serial_run(scratch, work, segs, CLn, CLe, combined, periodic, keys, pbase, stride,
               sweep_offset, n_sweeps):
    """:func:`sweeps` with one worker, without a parallel region; adds the flips to scratch[3].

    Starting a parallel region costs about 5 µs even for one worker, and more while another
    Python thread of the process runs: a 128 x 512 lattice measured after every sweep (one call
    per sweep, as in the dashboard) ran 47700 sweeps/s through the region and 63700 without it;
    with a Python thread busy a quarter of the time, 34000 against 60400.
    """
    cuts, AC, rot, flips, rows, remote, n_remote, done, seen = scratch
    kc = _ALL if combined else _ZERO
    _static_worker(0, 1, n_sweeps, work, cuts, segs, CLn, CLe, kc, periodic, keys, stride,
                   sweep_offset, pbase, AC, rot, flips, done, seen, rows, remote, n_remote)


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
    if n_workers == 1:
        scratch = serial_scratch(work, segs)
        serial_run(scratch, work, segs, CLn, CLe, combined, periodic, keys, pbase, stride,
                   sweep_offset, n_sweeps)
        return scratch[3][:work.shape[0]].copy()
    n_rep, n_words = work.shape[:2]
    kc = _ALL if combined else _ZERO
    whole_rows = n_rep % n_workers == 0 or n_rep * n_words >= WHOLE_ROWS_FROM * n_workers
    n_parts = 1 if whole_rows else n_workers
    cuts = part_cuts(segs, n_parts)
    units = n_rep * n_parts * n_words
    n_tasks = 2 * n_sweeps * units
    AC, rot, flips = _scratch(work, segs, n_workers)
    control = np.zeros(3, dtype=np.int64)       # workers arrived, mode, tasks claimed
    progress = np.zeros(LINE * units, dtype=np.int64)   # dynamic: half-sweeps done by unit
    done = np.zeros(LINE * n_workers, dtype=np.int64)   # static: tasks done by each worker
    seen = np.zeros((n_workers, n_workers + LINE), dtype=np.int64)
    rows, remote, n_remote = _units(n_rep, n_parts, n_words, n_workers)
    for k in prange(n_workers):
        if mode(control, n_workers) == STATIC:
            _static_worker(k, n_workers, n_sweeps, work, cuts, segs, CLn, CLe, kc, periodic,
                           keys, stride, sweep_offset, pbase, AC[k], rot[k], flips[k], done,
                           seen[k], rows, remote, n_remote)
        else:
            while True:
                g = fetch_add(control, 2, 1)
                if g >= n_tasks:
                    break
                hs = g // units
                unit = g % units
                unit += (hs + unit) % n_words - unit % n_words   # one row later each half-sweep
                _wait_units(progress, hs, unit, n_words, n_parts)
                w, part, r = rows[unit, 0], rows[unit, 1], rows[unit, 2]
                flips[k, r] += _run(work, hs, w, part, r, cuts, segs, CLn, CLe, kc, periodic,
                                    keys, stride, sweep_offset, pbase, AC[k], rot[k])
                store_release(progress, LINE * unit, hs + 1)
    return flips[:, :n_rep].sum(axis=0)
