"""Wolff cluster updates for ferromagnetic space-time lattices, with a ghost spin for the fields.

The model (MODEL.md section 2) on one replica, an (N, T) lattice of spins s_it = +-1:

    E[s] = - sum_t sum_{i<j} J_ij s_it s_jt - sum_t sum_i K_i s_it s_i,t+1 - sum_t sum_i h_it s_it

with every J_ij >= 0 and K_i >= 0 (any sign of h_it). The field is written as a coupling
h_it s_it s_0 to a ghost spin s_0 = +1 (Griffiths' ghost spin, used for cluster updates by
Wang & Swendsen, Physica A 167, 565 (1990)), which makes the extended model Z2-symmetric and
lets clusters carry the field exactly.

One Wolff update (Wolff, PRL 62, 361 (1989)):

1. pick a seed site uniformly among the N*T sites; s0 is its spin;
2. grow a cluster of spins equal to s0: a site (i, t) in the cluster adds each neighbour of the
   same spin with probability p = 1 - exp(-2 beta J) (J = J_ij for (j, t), K_i for (i, t +- 1));
   every bond is tried once;
3. a site of the cluster whose spin is aligned with its field (s0 * h_it > 0) links to the ghost
   with probability 1 - exp(-2 beta |h_it|);
4. flip the cluster unless it is linked to the ghost. A cluster linked to the ghost is left as
   it is (flipping it would flip the ghost; growth stops at the first ghost link).

Detailed balance: the bond factors give the usual ratio exp(-beta dE_J) across the cluster
boundary, and the probability of no ghost link, exp(-2 beta sum_{aligned sites} |h|), gives the
ratio exp(-beta dE_h) for the field part, so P(s -> s') / P(s' -> s) = exp(-beta (E' - E)).

Why Wolff and not Swendsen-Wang: replicas are already run in parallel (one thread per replica,
``prange``), so Swendsen-Wang's internal parallelism buys nothing, while Wolff flips larger
clusters on average (a site is picked with probability proportional to its cluster's size),
draws fewer random numbers and costs O(cluster) rather than O(N*T + bonds) per update; its
dynamic exponent is comparable to Swendsen-Wang's in 2-D and smaller in higher dimensions. Its
weakness, tiny clusters far above the critical temperature, is where local updates are
already fast.

Time boundary: periodic (t = T-1 bonds to t = 0) or open. T == 1 has no temporal bond; T == 2
periodic couples the two ticks twice (bonds t=0 -> 1 and t=1 -> 0, each tried), as in the
energy convention.

Cost: a cluster site tries its degree(i) + 2 bonds, so one sweep-equivalent (about N*T flipped
spins) costs O(nnz * T + N * T) bond trials at the critical point and beyond. The all-to-all
preset (J_ij = J/N) is passed as CSR with N (N - 1) entries: 16 bytes per entry (1.4 MB at
N = 300), plus 8 bytes per entry and replica for the bond probabilities while a call runs, and
each cluster site tries N - 1 bonds, so a sweep-equivalent costs O(N^2 T): N times a local sweep
with cached slice sums (``kernels.local``), worth it only near the critical point, where local
updates slow down.

Random numbers: update u of replica r uses the stream key
``derive_key(derive_key(keys[r], sweep_offset), u)`` and draws 0, 1, 2, ... from it in the order
the cluster is grown (draw 0 picks the seed). A call is therefore a pure function of its inputs,
bit-identical for any thread count, and different values of ``sweep_offset`` give independent
streams whatever ``n_updates`` is (splitting n updates into two calls changes the draws but
never reuses them).
"""

import math

import numpy as np
from numba import njit, prange

from ..errors import AlgorithmError
from .rng import derive_key, random_uniform


@njit(cache=True, nogil=True)
def _wolff_replica(s, indptr, indices, p_bond, p_time, p_ghost, fields, periodic, n_updates,
                   key, queue):
    """Run ``n_updates`` Wolff updates on one (N, T) int8 lattice ``s`` in place.

    Parameters are the per-replica bond probabilities: ``p_bond`` float64 (nnz,) aligned with
    the CSR lists, ``p_time`` float64 (N,) for the temporal bonds, ``p_ghost`` float64 (N, T)
    for the ghost bonds; ``queue`` int64 (N*T,) scratch. ``key`` (uint64) is this call's stream
    of the replica: update u draws from ``derive_key(key, u)``. Returns the number of flipped
    spins (rejected clusters count zero).
    """
    n, t_len = s.shape
    n_sites = n * t_len
    flipped = 0
    for update in range(n_updates):
        ukey = derive_key(key, np.uint64(update))
        draw = 0
        seed = int(random_uniform(ukey, np.uint64(draw)) * n_sites)
        draw += 1
        if seed >= n_sites:  # guard against rounding at the top of [0, 1)
            seed = n_sites - 1
        i0 = seed // t_len
        s0 = s[i0, seed - i0 * t_len]
        flip = -s0
        s[i0, seed - i0 * t_len] = flip
        queue[0] = seed
        size = 1
        head = 0
        linked_to_ghost = False
        while head < size:
            site = queue[head]
            head += 1
            i = site // t_len
            t = site - i * t_len
            if s0 * fields[i, t] > 0.0:
                u = random_uniform(ukey, np.uint64(draw))
                draw += 1
                if u < p_ghost[i, t]:
                    linked_to_ghost = True
                    break
            for k in range(indptr[i], indptr[i + 1]):
                j = indices[k]
                if s[j, t] == s0 and p_bond[k] > 0.0:
                    u = random_uniform(ukey, np.uint64(draw))
                    draw += 1
                    if u < p_bond[k]:
                        s[j, t] = flip
                        queue[size] = j * t_len + t
                        size += 1
            if t_len > 1 and p_time[i] > 0.0:
                for step in range(2):  # t + 1, then t - 1
                    if step == 0:
                        if t + 1 < t_len:
                            tn = t + 1
                        elif periodic:
                            tn = 0
                        else:
                            continue
                    else:
                        if t > 0:
                            tn = t - 1
                        elif periodic:
                            tn = t_len - 1
                        else:
                            continue
                    if s[i, tn] == s0:
                        u = random_uniform(ukey, np.uint64(draw))
                        draw += 1
                        if u < p_time[i]:
                            s[i, tn] = flip
                            queue[size] = i * t_len + tn
                            size += 1
        if linked_to_ghost:
            for q in range(size):
                site = queue[q]
                i = site // t_len
                s[i, site - i * t_len] = s0
        else:
            flipped += size
    return flipped


@njit(cache=True, nogil=True, parallel=True)
def _wolff_sweeps(spins, indptr, indices, weights, K, fields, betas, periodic, n_updates, keys,
                  sweep_offset, flipped):
    """Wolff updates on every replica of ``spins`` (int8 (R, N, T), in place), parallel over R.

    Bond probabilities for replica r: 1 - exp(-2 beta_r J_ij), 1 - exp(-2 beta_r K_i) and
    1 - exp(-2 beta_r |h_it|). ``n_updates`` int64 (R,), ``keys`` uint64 (R,), ``flipped``
    int64 (R,) output.
    """
    n_rep, n, t_len = spins.shape
    for r in prange(n_rep):
        beta = betas[r]
        p_bond = np.empty(weights.size)
        for k in range(weights.size):
            p_bond[k] = -math.expm1(-2.0 * beta * weights[k])
        p_time = np.empty(n)
        for i in range(n):
            p_time[i] = -math.expm1(-2.0 * beta * K[i])
        p_ghost = np.empty((n, t_len))
        for i in range(n):
            for t in range(t_len):
                p_ghost[i, t] = -math.expm1(-2.0 * beta * abs(fields[i, t]))
        queue = np.empty(n * t_len, dtype=np.int64)
        key = derive_key(keys[r], np.uint64(sweep_offset))
        flipped[r] = _wolff_replica(spins[r], indptr, indices, p_bond, p_time, p_ghost, fields,
                                    periodic, n_updates[r], key, queue)
    return flipped


def check_ferromagnetic(indptr, indices, weights, K):
    """Raise :class:`AlgorithmError` unless every J_ij >= 0 and every K_i >= 0.

    Parameters
    ----------
    indptr, indices, weights : numpy.ndarray
        CSR neighbour lists (int64 (N+1,), int64 (nnz,), float64 (nnz,)).
    K : numpy.ndarray
        Temporal couplings, float64 (N,).

    Raises
    ------
    AlgorithmError
        Naming the first negative pair J[i, j] (in CSR order) or neuron K[i]; the engine then
        falls back to local updates.
    """
    weights = np.asarray(weights)
    negative = np.flatnonzero(weights < 0)
    if negative.size:
        k = int(negative[0])
        i = int(np.searchsorted(np.asarray(indptr), k, side="right") - 1)
        j = int(np.asarray(indices)[k])
        raise AlgorithmError(f"the cluster algorithm needs ferromagnetic couplings, but "
                             f"J[{i}, {j}] = {weights[k]:g} < 0 (neuron pair ({i}, {j})); use "
                             "local updates (heat bath or Metropolis) for these couplings.")
    negative = np.flatnonzero(np.asarray(K) < 0)
    if negative.size:
        i = int(negative[0])
        raise AlgorithmError(f"the cluster algorithm needs K_i >= 0, but K[{i}] = {K[i]:g} < 0; "
                             "use local updates (heat bath or Metropolis).")


def _validate(spins, indptr, indices, weights, K, fields, betas, n_updates, keys, sweep_offset):
    """Check shapes, dtypes and ranges; return (n_updates int64 (R,), sweep_offset int)."""
    if not isinstance(spins, np.ndarray) or spins.dtype != np.int8 or spins.ndim != 3:
        raise TypeError("spins must be an int8 numpy array of shape (R, N, T).")
    if not spins.flags.c_contiguous:
        raise ValueError("spins must be C-contiguous (they are updated in place).")
    n_rep, n, t_len = spins.shape
    if np.any(np.abs(spins) != 1):
        raise ValueError("spins must hold only -1 and +1.")
    arrays = {"indptr": (indptr, np.int64, (n + 1,)), "K": (K, np.float64, (n,)),
              "fields": (fields, np.float64, (n, t_len)), "betas": (betas, np.float64, (n_rep,)),
              "keys": (keys, np.uint64, (n_rep,)),
              "indices": (indices, np.int64, None), "weights": (weights, np.float64, None)}
    for name, (value, dtype, shape) in arrays.items():
        if not isinstance(value, np.ndarray) or value.dtype != dtype:
            raise TypeError(f"{name} must be a numpy array of dtype {np.dtype(dtype).name}.")
        if shape is not None and value.shape != shape:
            raise ValueError(f"{name} has shape {value.shape}, expected {shape}.")
    if indices.shape != weights.shape or indices.ndim != 1:
        raise ValueError(f"indices {indices.shape} and weights {weights.shape} must be 1-D arrays "
                         "of the same length (nnz,).")
    if indptr[0] != 0 or indptr[-1] != indices.size or np.any(np.diff(indptr) < 0):
        raise ValueError("indptr must start at 0, be non-decreasing and end at nnz.")
    if indices.size and (indices.min() < 0 or indices.max() >= n):
        raise ValueError(f"indices must lie in [0, {n - 1}].")
    for name, value in (("weights", weights), ("K", K), ("fields", fields)):
        if not np.all(np.isfinite(value)):
            raise ValueError(f"{name} must be finite.")
    if not np.all(np.isfinite(betas)) or np.any(betas < 0):
        raise ValueError("betas must be finite and >= 0 (beta = 1/theta).")
    check_ferromagnetic(indptr, indices, weights, K)
    counts = np.asarray(n_updates)
    if counts.dtype.kind not in "iu" or counts.ndim > 1 or np.any(counts < 0):
        raise ValueError("n_updates must be a non-negative integer or an integer array (R,).")
    counts = np.broadcast_to(counts.astype(np.int64), (n_rep,)).copy()
    if not isinstance(sweep_offset, (int, np.integer)) or not 0 <= sweep_offset < 2**63:
        raise ValueError("sweep_offset must be an integer in [0, 2**63).")
    return counts, int(sweep_offset)


def cluster_sweeps(spins, *, indptr, indices, weights, K, fields, betas, time_periodic,
                   n_updates, keys, sweep_offset):
    """Wolff cluster updates (with a ghost spin for the fields) on every replica, in place.

    Parameters
    ----------
    spins : numpy.ndarray
        int8 (R, N, T), C-contiguous, values +-1; replicas x neurons x ticks. Updated in place.
    indptr, indices, weights : numpy.ndarray
        CSR couplings: int64 (N+1,), int64 (nnz,), float64 (nnz,); neuron i's neighbours are
        ``indices[indptr[i]:indptr[i+1]]`` with couplings J_ij >= 0, each pair listed from both
        sides with the same value (symmetry is assumed, as built by ``connectivity``).
    K : numpy.ndarray
        float64 (N,), temporal couplings K_i >= 0 between (i, t) and (i, t+1).
    fields : numpy.ndarray
        float64 (N, T), fields h_it of any sign (exact, via the ghost spin).
    betas : numpy.ndarray
        float64 (R,), inverse temperature 1/theta of each replica (>= 0).
    time_periodic : bool
        Periodic time (T-1 bonds to 0; T == 2 couples the two ticks twice) or open.
    n_updates : int or numpy.ndarray
        Number of Wolff updates (cluster flip attempts, counting the rare clusters rejected by a
        ghost link) per replica: one integer, or int (R,) per replica. This is NOT a number of
        sweeps: convert with :func:`sweep_equivalent_updates`, since a cluster holds from one
        spin (hot) to almost N*T spins (cold).
    keys : numpy.ndarray
        uint64 (R,), one counter-based stream key per replica (``rng.stream_key``).
    sweep_offset : int
        Labels this call's random streams; use a different value for every call (for example a
        running count of calls or of updates). Calls with the same keys and offset repeat.

    Returns
    -------
    numpy.ndarray
        int64 (R,), total number of spins flipped in each replica.

    Raises
    ------
    AlgorithmError
        For a negative J_ij or K_i (naming the first offending pair or neuron).
    TypeError, ValueError
        For arrays of the wrong dtype, shape or range.
    """
    counts, offset = _validate(spins, indptr, indices, weights, K, fields, betas, n_updates, keys,
                               sweep_offset)
    flipped = np.zeros(spins.shape[0], dtype=np.int64)
    return _wolff_sweeps(spins, indptr, indices, weights, K, fields, betas, bool(time_periodic),
                         counts, keys, np.uint64(offset), flipped)


def sweep_equivalent_updates(flipped, n_updates, n_sites, n_sweeps=1.0):
    """Wolff updates per replica that flip about ``n_sweeps * n_sites`` spins on average.

    Calibrate from a previous call: the mean flipped cluster size of replica r is
    ``flipped[r] / n_updates[r]``, so ``n_sweeps * n_sites / mean_size`` updates make
    ``n_sweeps`` sweep-equivalents. Fix the counts after a warm-up (or on a change of
    temperature) rather than re-tuning every call, so the number of updates does not depend on
    the current state.

    Parameters
    ----------
    flipped : array_like
        int (R,), spins flipped per replica (the return value of :func:`cluster_sweeps`).
    n_updates : int or array_like
        Updates that produced ``flipped`` (scalar or (R,)).
    n_sites : int
        N * T, sites per replica.
    n_sweeps : float
        Sweep-equivalents wanted.

    Returns
    -------
    numpy.ndarray
        int64 (R,), at least 1 and at most ``ceil(n_sweeps * n_sites)`` (the cost of one-spin
        clusters; also the value when nothing was flipped, e.g. clusters pinned by a field).
    """
    flipped = np.asarray(flipped, dtype=np.float64)
    counts = np.broadcast_to(np.asarray(n_updates, dtype=np.float64), flipped.shape)
    if np.any(counts <= 0) or n_sites < 1 or n_sweeps <= 0:
        raise ValueError("n_updates, n_sites and n_sweeps must be positive.")
    cap = math.ceil(n_sweeps * n_sites)
    mean_size = flipped / counts
    with np.errstate(divide="ignore"):
        wanted = np.where(mean_size > 0, np.ceil(n_sweeps * n_sites / mean_size), cap)
    return np.clip(wanted, 1, cap).astype(np.int64)
