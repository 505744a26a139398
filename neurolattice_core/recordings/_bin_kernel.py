"""The Numba kernel of :func:`.binning.bin_recording`.

Imported on first use, so that importing the recordings package does not load Numba (the
dashboard draws its page before Numba loads).
"""

import math

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def bin_spikes(times, indptr, starts, w, n_ticks, tol, close_last, counts, covered):
    """Count spikes per (trial, unit, tick).

    For unit i (``times[indptr[i]:indptr[i+1]]``, sorted seconds) and trial r with window
    start ``s = starts[r]``, spike t goes to tick ``k = floor((t - s) / w + tol)`` when
    ``0 <= k < n_ticks`` (k == n_ticks joins the last tick if ``close_last``).
    ``counts`` (R, N, T) is incremented in place; ``covered`` (n_spikes,) uint8 marks spikes
    counted at least once. Returns (number of (spike, trial) pairs counted, occupied bins,
    bins with more than one spike).
    """
    n_units = indptr.size - 1
    n_trials = starts.size
    total = 0
    occupied = 0
    multi = 0
    for i in range(n_units):
        u = times[indptr[i]:indptr[i + 1]]
        for r in range(n_trials):
            s = starts[r]
            lo = np.searchsorted(u, s - tol * w)
            end = s + n_ticks * w
            if close_last:
                hi = np.searchsorted(u, end + tol * w, side="right")
            else:
                hi = np.searchsorted(u, end - tol * w)
            for k in range(lo, hi):
                tick = int(math.floor((u[k] - s) / w + tol))
                if tick < 0:
                    tick = 0
                if tick >= n_ticks:
                    if not close_last:
                        continue
                    tick = n_ticks - 1
                c = counts[r, i, tick]
                if c == 0:
                    occupied += 1
                elif c == 1:
                    multi += 1
                counts[r, i, tick] = c + 1
                covered[indptr[i] + k] = 1
                total += 1
    return total, occupied, multi
