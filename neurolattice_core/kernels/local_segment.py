"""Single-site updates of one run of conditionally independent sites (one neuron, one time class).

A *segment* is n sites (i, t_m), t_m = t0 + 2 m, of one neuron i and one time class of the
checkerboard layout (see :mod:`.local_layout`): given the rest of the lattice they are
independent, so the loop has no carried dependence and vectorises. For site m, with s = tgt[m]:

    H_m = A[m] + J_all (S[m] - s) + K_i (nb[m] + nb[m + 1])

``A`` holds h_it (+ sum_j J_ij s_jt for sparse/dense couplings, prepared by the caller), ``S``
the slice sums sum_j s_jt for all-to-all couplings (any finite values when J_all == 0), and
nb[m], nb[m + 1] the spins at t - 1 and t + 1 (0 for an open end). Rules:

- heat bath: s <- +1 if U < 1 / (1 + exp(-2 beta H)), else -1;
- Metropolis: s <- -s if U < min(1, exp(-2 beta s H)).

``S[m]`` is incremented by (new - old) spin, so for all-to-all it stays the slice sum and for a
zeroed scratch array it records the change (0 or +-2).

Random numbers (see :mod:`.local_math` for the exact lazy comparison): the segment's counters
are c0 + 2 m (c0 = counter of its first site; site (i, t) of sweep w has counter
(w N + i) T + t). Sites m < h = ceil(n / 2) take the low 32 bits of ``random_u64(key, c0 + 2 m)``
and sites m + h the high 32 bits of the same draw; an ambiguous site m completes its variate
with ``random_uniform(key_fine, c0 + 2 m)``. Draws depend only on (replica, sweep, site), never
on threads or the order of updates.
"""

import math

import numpy as np
from numba import njit

from .local_math import EXP_CLAMP, MARGIN, TWO_32, _exp_approx, _u32_to_f64
from .rng import GOLDEN, mix64, random_u64, random_uniform

_FAST = {"contract"}  # allow fused multiply-add only: never changes results beyond rounding
_TWO_GOLDEN = np.uint64((2 * int(GOLDEN)) % (1 << 64))
_LOW32 = np.uint64(0xFFFFFFFF)
_HI = TWO_32 / (1.0 + MARGIN)
_LO = TWO_32 / (1.0 - MARGIN)


@njit(cache=True, nogil=True, inline="always")
def _field(s, a, sm, left, right, J_all, Ki):
    """Local field H = a + J_all (sm - s) + K_i (left + right) of a site with spin s (floats)."""
    return a + J_all * (sm - s) + Ki * (left + right)


@njit(cache=True, nogil=True, inline="always")
def _heatbath_fast(s, H, beta, bits):
    """Fast heat-bath decision: (new spin, undecided). Undecided sites keep s (float64)."""
    a = 1.0 + _exp_approx(min(max(-2.0 * beta * H, -EXP_CLAMP), EXP_CLAMP))
    r = _u32_to_f64(np.int64(bits))
    up = (r + 1.0) * a <= _HI       # U (1 + e) < 1 for every U in [r, r + 1) / 2**32
    down = r * a >= _LO             # U (1 + e) >= 1 for every such U
    return (1.0 if up else (-1.0 if down else s)), not (up or down)


@njit(cache=True, nogil=True, inline="always")
def _metropolis_fast(s, H, beta, bits):
    """Fast Metropolis decision: (new spin, undecided). Undecided sites keep s (float64)."""
    q = _exp_approx(min(max(-2.0 * beta * s * H, -EXP_CLAMP), 0.0)) * TWO_32
    r = _u32_to_f64(np.int64(bits))
    flip = (r + 1.0) * (1.0 + MARGIN) <= q
    stay = r * (1.0 - MARGIN) >= q
    return (-s if flip else s), not (flip or stay)


@njit(cache=True, nogil=True)
def _resolve(tgt, nb, A, S, amb, J_all, Ki, beta, metropolis, key, key_fine, c0):
    """Decide the ambiguous sites exactly (libm exp and 32 + 53 random bits); return flips."""
    n = tgt.size
    h = (n + 1) // 2
    flips = 0
    for m in range(n):
        if not amb[m]:
            continue
        pair = m if m < h else m - h
        x = random_u64(key, c0 + np.uint64(2 * pair))
        bits = x & _LOW32 if m < h else x >> np.uint64(32)
        u = _u32_to_f64(np.int64(bits)) + random_uniform(key_fine, c0 + np.uint64(2 * m))
        s = np.float64(tgt[m])
        H = _field(s, A[m], S[m], np.float64(nb[m]), np.float64(nb[m + 1]), J_all, Ki)
        if metropolis:
            q = math.exp(min(max(-2.0 * beta * s * H, -EXP_CLAMP), 0.0))
            sn = -s if u < q * TWO_32 else s
        else:
            p = 1.0 / (1.0 + math.exp(min(max(-2.0 * beta * H, -EXP_CLAMP), EXP_CLAMP)))
            sn = 1.0 if u < p * TWO_32 else -1.0
        tgt[m] = np.int8(sn)
        S[m] += sn - s
        flips += sn != s
    return flips


@njit(cache=True, nogil=True, inline="always")
def _fast_decision(s, H, beta, metropolis, bits):
    """(new spin, undecided) by the fast rule of ``metropolis`` (bool) for 32 random bits."""
    if metropolis:
        return _metropolis_fast(s, H, beta, bits)
    return _heatbath_fast(s, H, beta, bits)


@njit(cache=True, nogil=True, fastmath=_FAST)
def _fast_pass(tgt, nb, A, S, amb, J_all, Ki, beta, metropolis, key, c0):
    """Vectorised pass over the segment; returns (flips, number of undecided sites)."""
    n = tgt.size
    h = (n + 1) // 2
    flips = 0
    n_amb = 0
    z = key + c0 * GOLDEN
    lo_t, lo_nb, lo_A, lo_S, lo_amb = tgt[:h], nb[:h + 1], A[:h], S[:h], amb[:h]
    hi_t, hi_nb, hi_A, hi_S, hi_amb = tgt[h:], nb[h:], A[h:], S[h:], amb[h:]
    for m in range(n - h):
        x = mix64(z)
        z += _TWO_GOLDEN
        s = np.float64(lo_t[m])
        H = _field(s, lo_A[m], lo_S[m], np.float64(lo_nb[m]), np.float64(lo_nb[m + 1]),
                   J_all, Ki)
        sn, und = _fast_decision(s, H, beta, metropolis, x & _LOW32)
        lo_amb[m] = und
        lo_t[m] = np.int8(sn)
        lo_S[m] += sn - s
        s2 = np.float64(hi_t[m])
        H2 = _field(s2, hi_A[m], hi_S[m], np.float64(hi_nb[m]), np.float64(hi_nb[m + 1]),
                    J_all, Ki)
        sn2, und2 = _fast_decision(s2, H2, beta, metropolis, x >> np.uint64(32))
        hi_amb[m] = und2
        hi_t[m] = np.int8(sn2)
        hi_S[m] += sn2 - s2
        flips += (sn != s) + (sn2 != s2)
        n_amb += und + und2
    if n - h < h:   # odd n: the middle site h - 1 has no partner
        x = mix64(z)
        m = h - 1
        s = np.float64(tgt[m])
        H = _field(s, A[m], S[m], np.float64(nb[m]), np.float64(nb[m + 1]), J_all, Ki)
        sn, und = _fast_decision(s, H, beta, metropolis, x & _LOW32)
        amb[m] = und
        tgt[m] = np.int8(sn)
        S[m] += sn - s
        flips += sn != s
        n_amb += und
    return flips, n_amb


@njit(cache=True, nogil=True)
def _update_segment(tgt, nb, A, S, amb, J_all, Ki, beta, metropolis, key, key_fine, c0):
    """Update every site of the segment once (exact rule); return the number of flips.

    Parameters: ``tgt`` int8 (n,) spins, updated in place; ``nb`` int8 (n + 1,) temporal
    neighbours; ``A`` float64 (n,); ``S`` float64 (n,) updated in place; ``amb`` bool (n,)
    scratch; ``key``, ``key_fine`` uint64 streams; ``c0`` uint64 counter of site 0.
    """
    flips, n_amb = _fast_pass(tgt, nb, A, S, amb, J_all, Ki, beta, metropolis, key, c0)
    if n_amb > 0:
        flips += _resolve(tgt, nb, A, S, amb, J_all, Ki, beta, metropolis, key, key_fine, c0)
    return flips
