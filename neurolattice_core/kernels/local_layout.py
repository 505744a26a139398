"""The checkerboard-in-time working layout of the local-update kernels.

A replica's spins s[i, t] (int8, (N, T), C order) are split by the parity of t into two padded
rows per neuron, so that every update class is a contiguous run of memory:

    ev[i, 1 + k] = s[i, 2k]        k = 0 .. ne-1,  ne = (T + 1) // 2,   ev shape (N, ne + 2)
    od[i, 1 + k] = s[i, 2k + 1]    k = 0 .. no-1,  no = T // 2,         od shape (N, no + 2)

The temporal neighbours of an even site t = 2k are od[i, k] (t - 1) and od[i, k + 1] (t + 1);
those of an odd site t = 2k + 1 are ev[i, 1 + k] and ev[i, 2 + k]. Cells that stand for t = -1
or t = T are ghosts: 0 for open time (no bond), copies of the wrapped spin for periodic time
(refreshed by :func:`_refresh_ghosts` after every update of a neuron's class). For T == 1 the
ghosts stay 0 (no temporal bond); for T == 2 periodic both ghosts copy the other tick, so the
pair is coupled twice (2 K_i), as in the energy convention.

Update classes (sites of one class and one neuron are conditionally independent):

- class 0: even ticks, except t = T-1 when time is periodic and T is odd (T >= 3);
- class 1: odd ticks;
- class 2 (periodic, odd T >= 3 only): the single tick t = T-1, which touches both t = T-2
  (odd) and t = 0 (even).

Each class is a row ``(parity, k0, n)``: sites k = k0 .. k0 + n - 1 of the parity's row.
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
def _refresh_ghosts(ev_i, od_i, T, periodic):
    """Copy the wrapped spins of one neuron into its ghost cells (periodic time, T >= 2)."""
    if not periodic or T < 2:
        return
    ne, no = (T + 1) // 2, T // 2
    if T % 2 == 0:
        od_i[0] = od_i[no]        # t = -1  is  t = T-1 (odd)
        ev_i[ne + 1] = ev_i[1]    # t = T   is  t = 0
    else:
        od_i[0] = ev_i[ne]        # t = -1  is  t = T-1 (even)
        od_i[no + 1] = ev_i[1]    # t = T   is  t = 0


@njit(cache=True, nogil=True)
def _split(s, ev, od, T, periodic):
    """Fill the working rows ``ev``, ``od`` (N, ne+2), (N, no+2) of one replica from s (N, T)."""
    n = s.shape[0]
    ev[:, :] = 0
    od[:, :] = 0
    for i in range(n):
        for t in range(T):
            if t % 2 == 0:
                ev[i, 1 + t // 2] = s[i, t]
            else:
                od[i, 1 + t // 2] = s[i, t]
        _refresh_ghosts(ev[i], od[i], T, periodic)


@njit(cache=True, nogil=True)
def _merge(ev, od, s, T):
    """Write the working rows of one replica back into s (N, T)."""
    n = s.shape[0]
    for i in range(n):
        for t in range(T):
            if t % 2 == 0:
                s[i, t] = ev[i, 1 + t // 2]
            else:
                s[i, t] = od[i, 1 + t // 2]


def split_fields(fields):
    """Per-site fields (N, T) float64 -> (even ticks (N, ne), odd ticks (N, no)), C order."""
    return (np.ascontiguousarray(fields[:, 0::2]), np.ascontiguousarray(fields[:, 1::2]))
