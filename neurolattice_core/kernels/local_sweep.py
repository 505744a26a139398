"""Numba sweep drivers of the general path: heat bath / Metropolis for any couplings.

Model (MODEL.md section 2), one replica = an (N, T) lattice of spins s_it = +-1:

    E[s] = - sum_t sum_{i<j} J_ij s_it s_jt - sum_t sum_i K_i s_it s_i,t+1 - sum_t sum_i h_it s_it

Local field of site (i, t): H_it = h_it + sum_j J_ij s_jt + K_i (s_i,t-1 + s_i,t+1), with one
temporal neighbour at an open end, none for T == 1, and the other tick twice for T == 2 periodic.

One sweep = one update attempt per site, in the order

    for each time class c (even ticks, odd ticks, [t = T-1 for periodic odd T]):
        for each tick t of class c (all ticks of a class are independent):
            for each neuron i in ``order`` (by colour of the neuron graph for sparse J):
                update site (i, t)

Different ticks of one class share no bond, so the result is the same for any grouping of the
ticks: the drivers cut each class into blocks of ``block`` consecutive ticks (the layout
block of the working array, :mod:`.local_layout`) and run one *task* per (replica, block),
each task visiting its neurons in order and, for each neuron, its ticks as
one vectorised segment (:mod:`.local_segment`). :func:`_sweeps_parallel` runs the tasks of a
class in parallel (``prange``, one parallel region per class and sweep),
:func:`_sweeps_replicas` the replicas in parallel (one region per call), :func:`_sweeps_neurons`
(sparse couplings) each colour's neurons shared between the threads with whole classes per task,
:func:`_sweeps_pipeline` (all-to-all and dense couplings) consecutive parts of the neuron order
on the threads, pipelined over the time classes with whole classes per task,
:func:`_sweeps_serial` everything one after the other; results are bit-identical whatever the
driver, block size and thread count, and calls of n and m sweeps with consecutive offsets
equal one call of n + m sweeps (the state is exact: spins, integer slice sums, integer
fixed-point dense fields).

Equal-time field per kind: all-to-all from int32 slice sums S[r, t] = sum_j s_jt; sparse from
the CSR neighbours; dense from cached fields phi[r, t, i] = sum_j Jq_ij s_jt (int32), Jq the
couplings in fixed point (:func:`quantise_couplings`), refreshed on every flip.
"""

import numpy as np
from numba import njit, prange

from .local_layout import (
    _block_counts,
    _fill_ghosts,
    _geometry,
    _offsets,
    _publish_edges,
    _refresh_ghosts,
    _refresh_neuron_ghosts,
    _slice_column,
    slice_sums_width,
)
from .local_segment import _block_all, _block_field
from .local_uniforms import UNIFORMS_PAD
from .sync import LINE, STATIC, fetch_add, mode, store_release, wait_at_least

KIND_ALL = 0
KIND_SPARSE = 1
KIND_DENSE = 2


@njit(cache=True, nogil=True)
def _task(W, S, phi, r, c, b, w, kind, J_all, Jq, scale, indptr, indices, weights, order,
          colours, K, hp, hrow, m2b, metropolis, key, cls, block):
    """Update block b of class c of replica r in sweep w, neuron after neuron; return flips.

    Segment counters: ``(w N + i) 3 + c`` (:mod:`.local_uniforms`). Sparse couplings: one
    block call per colour (``order[colours[k]:colours[k + 1]]``, see ``_block_field``'s Wc).
    """
    k_lo = b * block
    n = min(block, cls[c, 2] - k_lo)
    T = hp.shape[1]
    lay_b, tb, nb, fb = _offsets(cls[c, 0], cls[c, 1] + k_lo, T, block)
    row = r * _geometry(T, block)[2] + lay_b
    counter0 = np.uint64(w) * np.uint64(3 * W.shape[1]) + np.uint64(c)
    U = np.empty(n + UNIFORMS_PAD, dtype=np.uint32)
    if kind == KIND_ALL:
        return _block_all(W, W, S, row, r, tb, nb, fb, _slice_column(fb, T, block), k_lo, n, hp,
                          hrow, J_all, K, order, m2b, metropolis, key, counter0, U)
    A = np.empty(n, dtype=np.float32)
    old = np.empty(n, dtype=np.int8)
    if kind == KIND_DENSE:
        return _block_field(True, W, W, W, phi, Jq, scale, row, r, tb, nb, fb, k_lo, n, hp, hrow,
                            indptr, indices, weights, K, order, m2b, metropolis, key, counter0,
                            A, old, U)
    flips = 0
    for k in range(colours.size - 1):
        flips += _block_field(False, W, W, W, phi, Jq, scale, row, r, tb, nb, fb, k_lo, n, hp,
                              hrow, indptr, indices, weights, K, order[colours[k]:colours[k + 1]],
                              m2b, metropolis, key, counter0, A, old, U)
    return flips


@njit(cache=True, nogil=True)
def _sweeps_serial(W, S, phi, kind, J_all, Jq, scale, indptr, indices, weights, order, colours, K,
                   hp, hrow, m2b, periodic, metropolis, n_sweeps, keys, sweep_offset, cls, block):
    """``n_sweeps`` sweeps of every replica, one task after the other; flips per replica (R,).

    Arguments: see :func:`_sweeps_parallel`.
    """
    n_rep = m2b.shape[0]
    flips = np.zeros(n_rep, dtype=np.int64)
    for w in range(sweep_offset, sweep_offset + n_sweeps):
        for c in range(cls.shape[0]):
            n_blocks = (cls[c, 2] + block - 1) // block
            for r in range(n_rep):
                for b in range(n_blocks):
                    flips[r] += _task(W, S, phi, r, c, b, w, kind, J_all, Jq, scale, indptr,
                                      indices, weights, order, colours, K, hp, hrow, m2b[r],
                                      metropolis, keys[r], cls, block)
            _refresh_ghosts(W, 0, n_rep, hp.shape[1], periodic, block)
    return flips


@njit(cache=True, nogil=True, parallel=True)
def _sweeps_replicas(W, S, phi, kind, J_all, Jq, scale, indptr, indices, weights, order, colours, K,
                     hp, hrow, m2b, periodic, metropolis, n_sweeps, keys, sweep_offset, cls, block):
    """``n_sweeps`` sweeps, the replicas in parallel (one parallel region for the whole call).

    Replicas are independent, so each runs all its sweeps without waiting for the others.
    Arguments: see :func:`_sweeps_parallel`.
    """
    n_rep = m2b.shape[0]
    flips = np.zeros(n_rep, dtype=np.int64)
    for r in prange(n_rep):
        count = 0
        for w in range(sweep_offset, sweep_offset + n_sweeps):
            for c in range(cls.shape[0]):
                for b in range((cls[c, 2] + block - 1) // block):
                    count += _task(W, S, phi, r, c, b, w, kind, J_all, Jq, scale, indptr,
                                   indices, weights, order, colours, K, hp, hrow, m2b[r],
                                   metropolis, keys[r], cls, block)
                _refresh_ghosts(W, r, r + 1, hp.shape[1], periodic, block)
        flips[r] = count
    return flips


@njit(cache=True, nogil=True, parallel=True)
def _sweeps_parallel(W, S, phi, kind, J_all, Jq, scale, indptr, indices, weights, order, colours,
                     K, hp, hrow, m2b, periodic, metropolis, n_sweeps, keys, sweep_offset, cls,
                     block):
    """``n_sweeps`` sweeps of every replica, the tasks of each class in parallel.

    Parameters
    ----------
    W : int8 (R nb, N, P)
        Working spins in the layout of ``block`` (:mod:`.local_layout`), updated in place.
    S : int32 (R, width)
        Slice sums of the layout of ``block`` (all-to-all; else any shape;
        :func:`_slice_sums`), updated in place.
    phi : int32 (R, T, N)
        Cached fixed-point dense fields (dense; else any shape), updated in place.
    kind : int
        KIND_ALL, KIND_SPARSE or KIND_DENSE.
    J_all : float32
        Per-pair coupling (all-to-all).
    Jq : int32 (N, N); scale : float32
        Fixed-point couplings and their unit: J_ij ~ Jq_ij * scale (dense).
    indptr, indices : int64; weights : float32
        CSR couplings (sparse).
    order : int64 (N,)
        Neuron visiting order.
    colours : int64 (n_colours + 1,)
        ``order[colours[k]:colours[k + 1]]`` are the neurons of colour k, which share no bond
        (sparse couplings: a proper colouring; other kinds: ``[0, N]``).
    K : float32 (N,)
        Temporal couplings.
    hp : float32 (M, T); hrow : int64 (N,)
        The distinct rows of the fields h_it in permuted tick order, and each neuron's row:
        h_it = hp[hrow[i], t'] (one row for all neurons when the fields do not depend on i,
        so that the fields stay in the L1 cache instead of streaming N T floats per sweep).
    m2b : float32 (R,)
        -2 beta of each replica.
    periodic, metropolis : bool
    n_sweeps, sweep_offset : int
        Sweeps to run and the index of the first one (random stream position).
    keys : uint64 (R,)
        Random stream of each replica.
    cls : int64 (n_classes, 3)
        Time classes (:func:`.local_layout.time_classes`).
    block : int
        Parity indices per task, the layout block of W (any value >= 1 gives the same
        result).

    Returns
    -------
    int64 (R,)
        Flips per replica.
    """
    n_rep = m2b.shape[0]
    flips = np.zeros(n_rep, dtype=np.int64)
    for w in range(sweep_offset, sweep_offset + n_sweeps):
        for c in range(cls.shape[0]):
            n_blocks = (cls[c, 2] + block - 1) // block
            task_flips = np.zeros(n_rep * n_blocks, dtype=np.int64)
            for task in prange(n_rep * n_blocks):
                r = task // n_blocks
                task_flips[task] = _task(W, S, phi, r, c, task - r * n_blocks, w, kind, J_all,
                                         Jq, scale, indptr, indices, weights, order, colours, K,
                                         hp, hrow, m2b[r], metropolis, keys[r], cls, block)
            for task in range(n_rep * n_blocks):
                flips[task // n_blocks] += task_flips[task]
            _refresh_ghosts(W, 0, n_rep, hp.shape[1], periodic, block)
    return flips


@njit(cache=True, nogil=True)
def _pinned_task(W, X, S, phi, progress, step, r, b, n_blocks, kind, J_all, Jq, scale, indptr,
                 indices, weights, order, colours, K, hp, hrow, m2b, periodic, metropolis, keys,
                 sweep_offset, cls, block):
    """Task (step, r, b) of :func:`_sweeps_pinned`: wait, fill its ghosts, update; flips.

    Block b of step s (sweep sweep_offset + s // 2, class s % 2) reads the other class's
    ticks of blocks b - 1, b, b + 1 (cyclically for periodic time) as left by step s - 1, and
    none of them may start step s + 1 before it is done: it waits until those blocks have
    finished s steps, fills its ghosts from their edge strips X (:mod:`.local_layout`),
    updates, publishes its own edges, and then its progress s + 1.
    """
    T = hp.shape[1]
    base = r * n_blocks
    for d in (-1, 0, 1):
        nb = b + d
        if nb < 0 or nb >= n_blocks:
            if not periodic:
                continue
            nb %= n_blocks
        wait_at_least(progress, LINE * (base + nb), step)
    c = step % 2
    _fill_ghosts(W, X, r, b, c, T, periodic, block)
    flips = 0
    if b * block < cls[c, 2]:
        flips = _task(W, S, phi, r, c, b, sweep_offset + step // 2, kind, J_all, Jq, scale,
                      indptr, indices, weights, order, colours, K, hp, hrow, m2b[r], metropolis,
                      keys[r], cls, block)
        _publish_edges(W, X, r, b, c, T, block)
    store_release(progress, LINE * (base + b), step + 1)
    return flips


@njit(cache=True, nogil=True, parallel=True)
def _sweeps_pinned(W, S, phi, kind, J_all, Jq, scale, indptr, indices, weights, order, colours, K,
                   hp, hrow, m2b, periodic, metropolis, n_sweeps, keys, sweep_offset, cls, block,
                   X, n_workers):
    """As :func:`_sweeps_parallel`, in one parallel region per call (two time classes only).

    The tasks (step, replica, block) wait for the blocks they depend on through per-block
    progress counters (:func:`_pinned_task`) instead of the end of a parallel region per
    class; worker k owns the blocks ``[k RB / n, (k + 1) RB / n)`` of the flattened
    (replica, block) index when all workers run at once, else the workers claim tasks in
    order (:func:`.sync.mode`). Same tasks, same waits, same result: bit-identical to the
    other drivers for any number of workers. Needs ``cls.shape[0] == 2`` (even T or open
    time) and W in the layout of ``block``; ``X`` int8 (R, nb, 3, >= N) is scratch for the
    edge strips (:func:`.local_layout.new_edge_strips`); ``n_workers`` is normally numba's
    thread count.
    """
    n_rep = m2b.shape[0]
    n_blocks = (max(cls[0, 2], cls[1, 2]) + block - 1) // block
    tasks = n_rep * n_blocks
    n_steps = 2 * n_sweeps
    flips = np.zeros((n_workers, n_rep), dtype=np.int64)
    control = np.zeros(3, dtype=np.int64)          # workers arrived, mode, tasks claimed
    progress = np.zeros(LINE * tasks, dtype=np.int64)   # steps finished by each block
    for r in range(n_rep):
        for b in range(n_blocks):
            for par in range(2):
                _publish_edges(W, X, r, b, par, hp.shape[1], block)
    for k in prange(n_workers):
        if mode(control, n_workers) == STATIC:
            lo, hi = k * tasks // n_workers, (k + 1) * tasks // n_workers
            for step in range(n_steps):
                for i in range(hi - lo):    # the blocks shared with other workers first
                    g = lo if i == 0 else (hi - 1 if i == 1 else lo + i - 1)
                    r = g // n_blocks
                    flips[k, r] += _pinned_task(
                        W, X, S, phi, progress, step, r, g - r * n_blocks, n_blocks, kind, J_all,
                        Jq, scale, indptr, indices, weights, order, colours, K, hp, hrow, m2b,
                        periodic, metropolis, keys, sweep_offset, cls, block)
        else:
            while True:
                g = fetch_add(control, 2, 1)
                if g >= n_steps * tasks:
                    break
                step, g = g // tasks, g % tasks
                r = g // n_blocks
                flips[k, r] += _pinned_task(
                    W, X, S, phi, progress, step, r, g - r * n_blocks, n_blocks, kind, J_all, Jq,
                    scale, indptr, indices, weights, order, colours, K, hp, hrow, m2b, periodic,
                    metropolis, keys, sweep_offset, cls, block)
    _refresh_ghosts(W, 0, n_rep, hp.shape[1], periodic, block)
    return flips.sum(axis=0)


@njit(cache=True, nogil=True)
def _neuron_part(W, S, phi, r, c, w, kind, J_all, Jq, scale, indptr, indices, weights, part, K,
                 hp, hrow, m2b, periodic, metropolis, key, cls, block):
    """Class c of replica r for the neurons ``part`` (a colour's share); flips.

    Updates every block of ticks of the class, then refreshes those neurons' ghosts.
    """
    flips = 0
    one_colour = np.array([0, part.size], dtype=np.int64)
    for b in range((cls[c, 2] + block - 1) // block):
        flips += _task(W, S, phi, r, c, b, w, kind, J_all, Jq, scale, indptr, indices, weights,
                       part, one_colour, K, hp, hrow, m2b, metropolis, key, cls, block)
    _refresh_neuron_ghosts(W, r, part, hp.shape[1], periodic, block)
    return flips


@njit(cache=True, nogil=True)
def _shares(control, k, n_workers):
    """(runs, static, first, last): which of the n_workers shares worker k runs.

    Its own share ``[k, k + 1)`` when all workers run at once (:func:`.sync.mode`); else the
    first worker to claim runs every share in order and the others none (``runs`` False).
    """
    static = mode(control, n_workers) == STATIC
    if not static and fetch_add(control, 2, 1) > 0:
        return False, static, 0, 0
    if static:
        return True, static, k, k + 1
    return True, static, 0, n_workers


@njit(cache=True, nogil=True, parallel=True)
def _sweeps_neurons(W, S, phi, kind, J_all, Jq, scale, indptr, indices, weights, order, colours,
                    K, hp, hrow, m2b, periodic, metropolis, n_sweeps, keys, sweep_offset, cls,
                    block, n_workers):
    """As :func:`_sweeps_parallel`, the workers sharing each colour's neurons (sparse J).

    Neurons of one colour share no bond, so at one tick class their updates are independent
    whatever their grouping: worker k takes the k-th of ``n_workers`` shares of each colour
    (``order[colours[col]:colours[col + 1]]``), all the ticks of the class, and
    all the workers finish a colour before any starts the next colour of the class
    (per-worker progress counters). The first colour of the next class needs no wait: it
    reads its own neurons' other ticks, which the same worker updated, and the other colours
    at ticks of its own class, which nobody writes meanwhile (the slowest worker is at most
    at the last colour of the previous class, writing that class's ticks). Tasks keep whole
    classes, so on small lattices a neuron's segment is twice as long as with the blocks of
    ticks of ``"ticks"``. Same result as the other drivers, bit for bit, for any number of
    workers; with fewer threads than workers (:func:`.sync.mode`) one worker runs every share
    in order.
    """
    n_rep = m2b.shape[0]
    n_colours = colours.size - 1
    flips = np.zeros((n_workers, n_rep), dtype=np.int64)
    control = np.zeros(3, dtype=np.int64)                   # workers arrived, mode, claims
    progress = np.zeros(LINE * n_workers, dtype=np.int64)   # colours done by each worker
    for k in prange(n_workers):
        runs, static, first, last = _shares(control, k, n_workers)
        if not runs:
            continue                                        # another worker runs every share
        step = 0
        # this worker's flips (flips[k] shares a line), a cache line of margin on each side
        count = np.zeros(n_rep + 16, dtype=np.int64)[8:]
        for w in range(sweep_offset, sweep_offset + n_sweeps):
            for c in range(cls.shape[0]):
                for col in range(n_colours):
                    lo, size = colours[col], colours[col + 1] - colours[col]
                    for share in range(first, last):
                        part = order[lo + size * share // n_workers:
                                     lo + size * (share + 1) // n_workers]
                        for r in range(n_rep):
                            count[r] += _neuron_part(
                                W, S, phi, r, c, w, kind, J_all, Jq, scale, indptr, indices,
                                weights, part, K, hp, hrow, m2b[r], periodic, metropolis,
                                keys[r], cls, block)
                    if static and col < n_colours - 1:   # the next colour reads this one
                        step += 1
                        store_release(progress, LINE * k, step)
                        for other in range(n_workers):
                            wait_at_least(progress, LINE * other, step)
        for r in range(n_rep):
            flips[k, r] = count[r]
    return flips.sum(axis=0)


@njit(cache=True, nogil=True, parallel=True)
def _sweeps_pipeline(W, S, phi, kind, J_all, Jq, scale, indptr, indices, weights, order, colours,
                     K, hp, hrow, m2b, periodic, metropolis, n_sweeps, keys, sweep_offset, cls,
                     block, n_workers):
    """As :func:`_sweeps_parallel`, worker k updating part k of ``order`` (all-to-all, dense).

    A step is one time class of one sweep. In step s the neurons of part k read the new
    spins of parts 0..k-1 (through the slice sums or cached fields of the class's ticks) and
    the spins of parts k+1.. as left by step s - n_classes (the same class in the previous
    sweep); their other-class spins are their own. So worker k runs step s once worker k - 1
    has finished it and workers k + 1.. have finished step s - n_classes, and meanwhile
    worker k + 1 runs step s - 1: a pipeline in which every worker updates whole classes of
    ticks of its own rows (long segments, no ghosts to exchange; :func:`_neuron_part`).
    Efficient for up to n_classes + 1 workers. Same updates, same inputs: bit-identical to
    the other drivers; with fewer threads than workers (:func:`.sync.mode`) one worker runs
    every part in order.
    """
    n_rep = m2b.shape[0]
    n_cls = cls.shape[0]
    n_steps = n_sweeps * n_cls
    flips = np.zeros((n_workers, n_rep), dtype=np.int64)
    control = np.zeros(3, dtype=np.int64)                   # workers arrived, mode, claims
    progress = np.zeros(LINE * n_workers, dtype=np.int64)   # steps done by each worker
    for k in prange(n_workers):
        runs, static, first, last = _shares(control, k, n_workers)
        if not runs:
            continue                                        # another worker runs every part
        # this worker's flips (flips[k] shares a line), a cache line of margin on each side
        count = np.zeros(n_rep + 16, dtype=np.int64)[8:]
        for step in range(n_steps):
            w, c = sweep_offset + step // n_cls, step % n_cls
            for part in range(first, last):
                if static:
                    if part > 0:
                        wait_at_least(progress, LINE * (part - 1), step + 1)
                    for later in range(part + 1, n_workers):
                        wait_at_least(progress, LINE * later, step - n_cls + 1)
                neurons = order[order.size * part // n_workers:
                                order.size * (part + 1) // n_workers]
                for r in range(n_rep):
                    count[r] += _neuron_part(W, S, phi, r, c, w, kind, J_all, Jq, scale,
                                             indptr, indices, weights, neurons, K, hp, hrow,
                                             m2b[r], periodic, metropolis, keys[r], cls, block)
                if static:
                    store_release(progress, LINE * part, step + 1)
        for r in range(n_rep):
            flips[k, r] = count[r]
    return flips.sum(axis=0)


@njit(cache=True, nogil=True)
def _slice_sums(W, T, B):
    """Slice sums sum_i s_i(t_f) of W (layout B), int32 (R, width).

    In the columns of :func:`.local_layout._slice_column`: permuted tick order, with a gap
    after each block.
    """
    _, d, nb = _geometry(T, B)
    R = W.shape[0] // nb
    S = np.zeros((R, slice_sums_width(T, B)), dtype=np.int32)
    for r in range(R):
        for b in range(nb):   # a block's even (odd) ticks have consecutive columns
            ne_b, no_b = _block_counts(T, B, b)
            even = _slice_column(b * B, T, B)
            odd = _slice_column((T + 1) // 2 + b * B, T, B)
            for i in range(W.shape[1]):
                for j in range(ne_b):
                    S[r, even + j] += W[r * nb + b, i, j]
                for j in range(no_b):
                    S[r, odd + j] += W[r * nb + b, i, d + j]
    return S


def quantise_couplings(J):
    """Dense couplings in 32-bit fixed point: J ~ Jq * 2**-q, with every row sum of |Jq| < 2**31.

    q is the largest integer (at most 60) with max_i sum_j |J_ij| 2**q + N < 2**31, so that the
    cached fields sum_j Jq_ij s_j never overflow. Each coupling moves by at most 2**-(q+1).

    Parameters
    ----------
    J : numpy.ndarray, float64, shape (N, N)

    Returns
    -------
    Jq : numpy.ndarray, int32, shape (N, N)
        Symmetric if J is.
    scale : float
        2**-q.
    """
    n = J.shape[0]
    row_sum = float(np.max(np.sum(np.abs(J), axis=1))) if n else 0.0
    q = 60 if row_sum == 0.0 else min(60, int(np.floor(np.log2((2.0**31 - 1 - n) / row_sum))))
    return np.rint(np.ldexp(J, q)).astype(np.int32), float(np.ldexp(1.0, -q))
