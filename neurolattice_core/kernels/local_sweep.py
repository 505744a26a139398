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
- ``KIND_DENSE`` (dense J): cached phi_t,i = sum_j J_ij s_jt (float64, tick-major, one row per
  tick), refreshed after each accepted flip by phi_t,: += 2 s_new J_i,:, O(N) per flip.

Random numbers, counters and acceptance rules: see :mod:`.local_segment`; the refinement
stream of replica r is ``derive_key(keys[r], FINE_STREAM)``.
"""

import numpy as np
from numba import njit, prange

from .local_layout import _merge, _refresh_ghosts, _split
from .local_segment import _update_segment
from .rng import derive_key

KIND_ALL = 0
KIND_SPARSE = 1
KIND_DENSE = 2
FINE_STREAM = np.uint64(0x6C6F63616C)  # label of the refinement stream: derive_key(key, ...)


@njit(cache=True, nogil=True)
def _init_dense_fields(ev, od, J, ne, no):
    """phi_e (ne, N), phi_o (no, N): phi[k, i] = sum_j J_ij s_j,t(k), accumulated over j in order."""
    n = ev.shape[0]
    phi_e = np.zeros((ne, n))
    phi_o = np.zeros((no, n))
    for k in range(ne):
        for j in range(n):
            sj = np.float64(ev[j, 1 + k])
            for i in range(n):
                phi_e[k, i] += sj * J[j, i]
    for k in range(no):
        for j in range(n):
            sj = np.float64(od[j, 1 + k])
            for i in range(n):
                phi_o[k, i] += sj * J[j, i]
    return phi_e, phi_o


@njit(cache=True, nogil=True)
def _slice_sums(rows, n_ticks):
    """S[k] = sum_i rows[i, 1 + k], k < n_ticks (float64: exact integers, converts fast)."""
    S = np.zeros(n_ticks)
    for i in range(rows.shape[0]):
        for k in range(n_ticks):
            S[k] += np.float64(rows[i, 1 + k])
    return S


@njit(cache=True, nogil=True)
def _local_replica(s, kind, J_all, J, indptr, indices, weights, order, K, hev, hod, beta,
                   periodic, metropolis, n_sweeps, key, sweep_offset, cls):
    """Run ``n_sweeps`` sweeps on one replica ``s`` (int8 (N, T), in place); return flips."""
    n, T = s.shape
    ne, no = (T + 1) // 2, T // 2
    ev = np.empty((n, ne + 2), dtype=np.int8)
    od = np.empty((n, no + 2), dtype=np.int8)
    _split(s, ev, od, T, periodic)
    S_e = _slice_sums(ev, ne)
    S_o = _slice_sums(od, no)
    if kind == KIND_DENSE:
        phi_e, phi_o = _init_dense_fields(ev, od, J, ne, no)
    else:
        phi_e = np.zeros((0, n))
        phi_o = np.zeros((0, n))
    A = np.zeros(ne)
    D = np.zeros(ne)                       # change of the spins (sparse, dense)
    amb = np.zeros(ne, dtype=np.bool_)
    key_fine = derive_key(key, FINE_STREAM)
    j_all = J_all if kind == KIND_ALL else 0.0
    flips = 0
    n_u = np.uint64(n)
    t_u = np.uint64(T)
    for w in range(n_sweeps):
        w_u = np.uint64(sweep_offset) + np.uint64(w)
        for c in range(cls.shape[0]):
            par, k0, m_len = cls[c, 0], cls[c, 1], cls[c, 2]
            for q in range(n):
                i = order[q]
                if par == 0:
                    tgt = ev[i, 1 + k0:1 + k0 + m_len]
                    nb = od[i, k0:k0 + m_len + 1]
                    fld = hev[i, k0:k0 + m_len]
                    S = S_e[k0:k0 + m_len]
                    phi = phi_e
                    rows = ev
                else:
                    tgt = od[i, 1 + k0:1 + k0 + m_len]
                    nb = ev[i, 1 + k0:2 + k0 + m_len]
                    fld = hod[i, k0:k0 + m_len]
                    S = S_o[k0:k0 + m_len]
                    phi = phi_o
                    rows = od
                if kind == KIND_ALL:
                    Am = fld
                    Sm = S
                else:
                    Am = A[:m_len]
                    Sm = D[:m_len]
                    Sm[:] = 0.0
                    if kind == KIND_SPARSE:
                        Am[:] = fld
                        for p in range(indptr[i], indptr[i + 1]):
                            wp = weights[p]
                            row = rows[indices[p], 1 + k0:1 + k0 + m_len]
                            for m in range(m_len):
                                Am[m] += wp * np.float64(row[m])
                    else:
                        for m in range(m_len):
                            Am[m] = fld[m] + phi[k0 + m, i]
                c0 = (w_u * n_u + np.uint64(i)) * t_u + np.uint64(2 * k0 + par)
                flips += _update_segment(tgt, nb, Am, Sm, amb, j_all, K[i], beta, metropolis,
                                         key, key_fine, c0)
                if kind == KIND_DENSE:
                    for m in range(m_len):
                        if Sm[m] != 0.0:
                            row_phi = phi[k0 + m]
                            for j in range(n):
                                row_phi[j] += Sm[m] * J[i, j]
                _refresh_ghosts(ev[i], od[i], T, periodic)
    _merge(ev, od, s, T)
    return flips


@njit(cache=True, nogil=True, parallel=True)
def _local_sweeps(spins, kind, J_all, J, indptr, indices, weights, order, K, hev, hod, betas,
                  periodic, metropolis, n_sweeps, keys, sweep_offset, cls):
    """All replicas in parallel (``prange``); returns flips per replica, int64 (R,).

    Replica r uses stream ``keys[r]`` and inverse temperature ``betas[r]``.
    """
    n_rep = spins.shape[0]
    flips = np.zeros(n_rep, dtype=np.int64)
    for r in prange(n_rep):
        flips[r] = _local_replica(spins[r], kind, J_all, J, indptr, indices, weights, order, K,
                                  hev, hod, betas[r], periodic, metropolis, n_sweeps, keys[r],
                                  sweep_offset, cls)
    return flips
