"""Energy and magnetisation of one-byte spins: the byte paths' measurement after a sweep.

``LatticeModel.energy`` (float64 numpy, the reference) took 0.7-4 ms for a 128 x 512 lattice,
10-30x longer than a sweep of the general path; this loop takes tens of microseconds for sparse
and all-to-all couplings and a few hundred for dense ones.
"""

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def byte_moments(spins, all_to_all, J_all, indptr, indices, weights, K, fields, periodic):
    """Energy and magnetisation sums of each replica, float64 (R,) each.

    ``spins`` int8 (R, N, T). All-to-all couplings (``all_to_all``) give every pair ``J_all``;
    otherwise the CSR lists (``indptr``, ``indices``, ``weights``) hold the couplings, each pair
    from both sides. ``K`` float64 (N,), ``fields`` float64 (N, T). The energy is the
    action of ``LatticeModel.energy``: -sum_{i<j} J_ij sum_t s_it s_jt - sum_i K_i sum_t s_it
    s_i,t+1 (with the bond (T-1, 0) when ``periodic``) - sum_it h_it s_it.
    """
    n_rep, n, n_ticks = spins.shape
    energy = np.zeros(n_rep)
    magnetization = np.zeros(n_rep)
    slice_sums = np.zeros(n_ticks, dtype=np.int64)
    for r in range(n_rep):
        s = spins[r]
        e = 0.0
        slice_sums[:] = 0
        for i in range(n):
            row = s[i]
            for p in range(indptr[i], indptr[i + 1] if not all_to_all else indptr[i]):
                j = indices[p]
                if j > i:
                    other = s[j]
                    overlap = np.int32(0)
                    for t in range(n_ticks):
                        overlap += np.int32(row[t]) * np.int32(other[t])
                    e -= weights[p] * overlap
            bonds = np.int32(0)
            for t in range(n_ticks - 1):
                bonds += np.int32(row[t]) * np.int32(row[t + 1])
            if periodic and n_ticks > 1:
                bonds += np.int32(row[n_ticks - 1]) * np.int32(row[0])
            e -= K[i] * bonds
            field = 0.0
            total = np.int32(0)
            for t in range(n_ticks):
                field += fields[i, t] * row[t]
                total += np.int32(row[t])
                slice_sums[t] += row[t]
            e -= field
            magnetization[r] += total
        if all_to_all:
            pairs = 0   # 2 sum_{i<j} s_it s_jt = S_t^2 - N, summed over t
            for t in range(n_ticks):
                pairs += slice_sums[t] * slice_sums[t] - n
            e -= J_all * (pairs / 2)
        energy[r] = e
    return energy, magnetization
