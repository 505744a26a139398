"""Numba sweep kernels of the general path: heat bath / Metropolis for any couplings.

Model (MODEL.md section 2), one replica = an (N, T) lattice of int8 spins s_it = +-1:

    E[s] = - sum_t sum_{i<j} J_ij s_it s_jt - sum_t sum_i K_i s_it s_i,t+1 - sum_t sum_i h_it s_it

Local field of site (i, t): H_it = h_it + sum_j J_ij s_jt + K_i (s_i,t-1 + s_i,t+1), with one
temporal neighbour at an open end, none for T == 1, and the other tick twice for T == 2 periodic.

One sweep = one update attempt per site, in the order

    for each time class c (even ticks, odd ticks, [t = T-1 for periodic odd T]):
        for each neuron i (``order``: by colour of the neuron graph, then index):
            update the sites (i, t), t in class c        (one vectorised segment)

Sites of one neuron and one class are conditionally independent (no equal-time bond, no
temporal bond between them), and so are the segments of neurons of one colour, so the result
does not depend on the order inside a block. The equal-time part of H is obtained per kind:

- ``KIND_ALL`` (J_ij = J_all, i != j): from cached slice sums S_t = sum_j s_jt (float64), O(1) per
  site: sum_j J_ij s_jt = J_all (S_t - s_it);
- ``KIND_SPARSE`` (CSR): summed over the neighbours of i, O(degree) per site;
- ``KIND_DENSE`` (dense J): cached phi_t,i = sum_j J_ij s_jt (float64 (T, N), tick-major in
  the permuted tick order), refreshed after each accepted flip by phi_t,: += 2 s_new J_i,:,
  O(N) per flip.

Shared read-only inputs that the inner loops touch are copied per replica first: views or calls
on arrays shared between threads would bounce their reference counts between cores.

Random numbers, counters and acceptance rules: see :mod:`.local_segment`; the refinement
stream of replica r is ``derive_key(keys[r], FINE_STREAM)``.
"""

import numpy as np
from numba import njit, prange

from .local_layout import _merge, _offsets, _refresh_ghosts, _split
from .local_segment import _update_segment
from .rng import derive_key

KIND_ALL = 0
KIND_SPARSE = 1
KIND_DENSE = 2
FINE_STREAM = np.uint64(0x6C6F63616C)  # label of the refinement stream: derive_key(key, ...)


@njit(cache=True, nogil=True)
def _position_column(f, ne):
    """Column of W holding the tick at permuted position f."""
    return 1 + f if f < ne else f + 3


@njit(cache=True, nogil=True)
def _init_dense_fields(W, J, T):
    """Phi (T, N): phi[f, i] = sum_j J_ji s_j(t_f), accumulated over j in order."""
    n = W.shape[0]
    ne = (T + 1) // 2
    phi = np.zeros((T, n))
    for f in range(T):
        col = _position_column(f, ne)
        for j in range(n):
            sj = np.float64(W[j, col])
            for i in range(n):
                phi[f, i] += sj * J[j, i]
    return phi


@njit(cache=True, nogil=True)
def _slice_sums(W, T):
    """S[f] = sum_i s_i(t_f) in the permuted tick order (float64: exact small integers)."""
    ne = (T + 1) // 2
    S = np.zeros(T)
    for i in range(W.shape[0]):
        for f in range(T):
            S[f] += np.float64(W[i, _position_column(f, ne)])
    return S


@njit(cache=True, nogil=True)
def _sparse_fields(W, A, D, hp, i, t_off, f_off, n, indptr, indices, weights):
    """A[0, m] = h_i(t_m) + sum_j J_ij s_j(t_m) over the CSR neighbours j of i; D[:n] = 0.

    Column indices are unsigned so that numba emits no wraparound code (the loops vectorise).
    """
    if i < 0 or t_off < 0 or f_off < 0:
        return
    for m in range(n):
        A[0, m] = hp[i, np.uint64(f_off + m)]
        D[m] = 0.0
    for p in range(indptr[i], indptr[i + 1]):
        j = indices[p]
        wp = weights[p]
        if j < 0:
            return
        for m in range(n):
            A[0, m] += wp * np.float64(W[j, np.uint64(t_off + m)])


@njit(cache=True, nogil=True)
def _dense_fields(A, D, hp, phi, i, f_off, n):
    """A[0, m] = h_i(t_m) + phi[t_m, i]; D[:n] = 0."""
    if i < 0 or f_off < 0:
        return
    for m in range(n):
        A[0, m] = hp[i, np.uint64(f_off + m)] + phi[np.uint64(f_off + m), i]
        D[m] = 0.0


@njit(cache=True, nogil=True)
def _dense_refresh(phi, J, D, i, f_off, n):
    """phi[t_m, :] += D[m] J[i, :] for every site m whose spin changed (D[m] = 2 s_new)."""
    if i < 0 or f_off < 0:
        return
    n_neur = phi.shape[1]
    for m in range(n):
        d = D[m]
        if d != 0.0:
            row = f_off + m
            for j in range(n_neur):
                phi[row, j] += d * J[i, j]


@njit(cache=True, nogil=True)
def _local_replica(s, kind, J_all, J, indptr, indices, weights, order, K, hp_shared, beta,
                   periodic, metropolis, n_sweeps, key, sweep_offset, cls):
    """Run ``n_sweeps`` sweeps on one replica ``s`` (int8 (N, T), in place); return flips."""
    n, T = s.shape
    ne = (T + 1) // 2
    hp = hp_shared.copy()
    indptr = indptr.copy()
    indices = indices.copy()
    weights = weights.copy()
    W = _split(s, T, periodic)
    S = _slice_sums(W, T)
    phi = _init_dense_fields(W, J, T) if kind == KIND_DENSE else np.zeros((0, n))
    A = np.zeros((1, ne))
    D = np.zeros(ne)                       # change of the spins (sparse, dense)
    amb = np.zeros(ne, dtype=np.bool_)
    key_fine = derive_key(key, FINE_STREAM)
    flips = 0
    n_u = np.uint64(n)
    t_u = np.uint64(T)
    for w in range(n_sweeps):
        w_u = np.uint64(sweep_offset) + np.uint64(w)
        for c in range(cls.shape[0]):
            par, k0, m_len = cls[c, 0], cls[c, 1], cls[c, 2]
            t_off, nb_off, f_off = _offsets(par, k0, ne)
            for q in range(n):
                i = order[q]
                c0 = (w_u * n_u + np.uint64(i)) * t_u + np.uint64(2 * k0 + par)
                if kind == KIND_ALL:
                    flips += _update_segment(W, i, t_off, nb_off, m_len, hp, i, f_off, S,
                                             f_off, amb, J_all, K[i], beta, metropolis, key,
                                             key_fine, c0)
                else:
                    if kind == KIND_SPARSE:
                        _sparse_fields(W, A, D, hp, i, t_off, f_off, m_len, indptr, indices,
                                       weights)
                    else:
                        _dense_fields(A, D, hp, phi, i, f_off, m_len)
                    flips += _update_segment(W, i, t_off, nb_off, m_len, A, 0, 0, D, 0, amb,
                                             0.0, K[i], beta, metropolis, key, key_fine, c0)
                    if kind == KIND_DENSE:
                        _dense_refresh(phi, J, D, i, f_off, m_len)
                _refresh_ghosts(W, i, T, periodic)
    _merge(W, s, T)
    return flips


@njit(cache=True, nogil=True, parallel=True)
def _local_sweeps(spins, kind, J_all, J, indptr, indices, weights, order, K, hp, betas,
                  periodic, metropolis, n_sweeps, keys, sweep_offset, cls):
    """All replicas in parallel (``prange``); returns flips per replica, int64 (R,).

    ``hp`` float64 (N, T): fields in the permuted tick order. Replica r uses stream ``keys[r]``
    and inverse temperature ``betas[r]``.
    """
    n_rep = spins.shape[0]
    flips = np.zeros(n_rep, dtype=np.int64)
    for r in prange(n_rep):
        flips[r] = _local_replica(spins[r], kind, J_all, J, indptr, indices, weights, order,
                                  K.copy(), hp, betas[r], periodic, metropolis, n_sweeps,
                                  keys[r], sweep_offset, cls.copy())
    return flips
