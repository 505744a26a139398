"""The checkerboard-in-time working layout of the local-update kernels.

A replica's spins s[i, t] (int8, (N, T), C order) are copied into a working array W of shape
(N, L), L = (ne + 2) + (no + 2), ne = (T + 1) // 2 even ticks, no = T // 2 odd ticks, split
by the parity of t so that every update class is a contiguous run of memory:

    W[i, 1 + k]      = s[i, 2k]          k = 0 .. ne-1   (even block, base 0)
    W[i, B + 1 + k]  = s[i, 2k + 1]      k = 0 .. no-1   (odd block, base B = ne + 2)

The temporal neighbours of the even site t = 2k are W[i, B + k] (t - 1) and W[i, B + k + 1]
(t + 1); those of the odd site t = 2k + 1 are W[i, 1 + k] and W[i, 2 + k]. Cells standing for
t = -1 or t = T are ghosts: 0 for open time (no bond), copies of the wrapped spin for periodic
time (refreshed by :func:`_refresh_ghosts` after every update of a neuron's class). For T == 1
the ghosts stay 0 (no temporal bond); for T == 2 periodic both ghosts copy the other tick, so
the pair is coupled twice (2 K_i), as in the energy convention.

Per-tick arrays (fields h[i, :], slice sums S, cached fields phi) use the permuted tick order
[0, 2, 4, ..., 1, 3, 5, ...]: even tick 2k at position k, odd tick 2k + 1 at ne + k.

Update classes (sites of one class and one neuron are conditionally independent):

- class 0: even ticks, except t = T-1 when time is periodic and T is odd (T >= 3);
- class 1: odd ticks;
- class 2 (periodic, odd T >= 3 only): the single tick t = T-1, which touches both t = T-2
  (odd) and t = 0 (even).

Each class is a row ``(parity, k0, n)``: sites k = k0 .. k0 + n - 1 of the parity's block.
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


@njit(cache=True, nogil=True)
def _offsets(par, k0, ne):
    """(t_off, nb_off, f_off) of the class starting at site k0 of parity ``par``.

    Spins of the class start at W[i, t_off], their t - 1 neighbours at W[i, nb_off] (t + 1 at
    nb_off + 1), and per-tick arrays at position f_off.
    """
    base_odd = ne + 2
    if par == 0:
        return 1 + k0, base_odd + k0, k0
    return base_odd + 1 + k0, 1 + k0, ne + k0


@njit(cache=True, nogil=True)
def _refresh_ghosts(W, i, T, periodic):
    """Copy the wrapped spins of neuron i into its ghost cells (periodic time, T >= 2)."""
    if not periodic or T < 2:
        return
    ne, no = (T + 1) // 2, T // 2
    base_odd = ne + 2
    if T % 2 == 0:
        W[i, base_odd] = W[i, base_odd + no]   # t = -1  is  t = T-1 (odd)
        W[i, ne + 1] = W[i, 1]                 # t = T   is  t = 0
    else:
        W[i, base_odd] = W[i, ne]              # t = -1  is  t = T-1 (even)
        W[i, base_odd + no + 1] = W[i, 1]      # t = T   is  t = 0


@njit(cache=True, nogil=True)
def _split(s, T, periodic):
    """The working array W (N, L) of one replica from its spins s (N, T)."""
    n = s.shape[0]
    ne, no = (T + 1) // 2, T // 2
    W = np.zeros((n, ne + no + 4), dtype=np.int8)
    for i in range(n):
        for t in range(T):
            W[i, 1 + t // 2 + (ne + 2) * (t % 2)] = s[i, t]
        _refresh_ghosts(W, i, T, periodic)
    return W


@njit(cache=True, nogil=True)
def _merge(W, s, T):
    """Write the working array of one replica back into s (N, T)."""
    ne = (T + 1) // 2
    for i in range(s.shape[0]):
        for t in range(T):
            s[i, t] = W[i, 1 + t // 2 + (ne + 2) * (t % 2)]


def permute_ticks(fields):
    """Per-site array (N, T) -> the permuted tick order [even ticks | odd ticks], C order."""
    return np.ascontiguousarray(np.concatenate([fields[:, 0::2], fields[:, 1::2]], axis=1))
