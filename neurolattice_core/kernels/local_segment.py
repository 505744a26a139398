"""Single-site updates of one run of conditionally independent sites (one neuron, one time class).

A *segment* is n sites (i, t_m), t_m = t0 + 2 m, of one neuron i and one time class of the
checkerboard layout (see :mod:`.local_layout`): given the rest of the lattice they are
independent, so the loop has no carried dependence and vectorises. Arrays are addressed by
offsets (no views: creating views costs atomic reference counting in the inner loop). Site m
has spin s = W[i, t_off + m], temporal neighbours W[i, nb_off + m] (t - 1) and
W[i, nb_off + m + 1] (t + 1) (0 for an open end), and local field

    H_m = A[a_row, a_off + m] + J_all (S[s_off + m] - s) + K_i (left + right)

``A`` holds h_it (+ sum_j J_ij s_jt for sparse/dense couplings, prepared by the caller), ``S``
the slice sums sum_j s_jt for all-to-all couplings (any finite values when J_all == 0). Rules:

- heat bath: s <- +1 if U < 1 / (1 + exp(-2 beta H)), else -1;
- Metropolis: s <- -s if U < min(1, exp(-2 beta s H)).

``S[s_off + m]`` is incremented by (new - old) spin, so for all-to-all it stays the slice sum and
for a zeroed scratch array it records the change (0 or +-2).

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
def _resolve(W, i, t_off, nb_off, n, A, a_row, a_off, S, s_off, amb, J_all, Ki, beta,
             metropolis, key, key_fine, c0):
    """Decide the ambiguous sites exactly (libm exp and 32 + 53 random bits); return flips."""
    h = (n + 1) // 2
    flips = 0
    for m in range(n):
        if not amb[m]:
            continue
        pair = m if m < h else m - h
        x = random_u64(key, c0 + np.uint64(2 * pair))
        bits = x & _LOW32 if m < h else x >> np.uint64(32)
        u = _u32_to_f64(np.int64(bits)) + random_uniform(key_fine, c0 + np.uint64(2 * m))
        s = np.float64(W[i, t_off + m])
        H = _field(s, A[a_row, a_off + m], S[s_off + m], np.float64(W[i, nb_off + m]),
                   np.float64(W[i, nb_off + m + 1]), J_all, Ki)
        if metropolis:
            q = math.exp(min(max(-2.0 * beta * s * H, -EXP_CLAMP), 0.0))
            sn = -s if u < q * TWO_32 else s
        else:
            p = 1.0 / (1.0 + math.exp(min(max(-2.0 * beta * H, -EXP_CLAMP), EXP_CLAMP)))
            sn = 1.0 if u < p * TWO_32 else -1.0
        W[i, t_off + m] = np.int8(sn)
        S[s_off + m] += sn - s
        flips += sn != s
    return flips


@njit(cache=True, nogil=True, fastmath=_FAST)
def _heatbath_pass(W, i, t_off, nb_off, n, A, a_row, a_off, S, s_off, amb, J_all, Ki, beta,
                   key, c0):
    """Vectorised heat-bath pass over the segment; returns (flips, number of undecided sites).

    Sites m < h = ceil(n / 2) use the low, sites h + m the high 32 bits of draw m. Indices are
    unsigned so that numba emits no negative-index wraparound and LLVM vectorises the loop (and
    the body is written out: inlined helpers taking arrays would add reference counting).
    """
    h = (n + 1) // 2
    flips = 0
    n_amb = 0
    if i < 0 or t_off < 0 or nb_off < 0 or a_row < 0 or a_off < 0 or s_off < 0 or n < h:
        return flips, n_amb
    z = key + c0 * GOLDEN
    one = np.uint64(1)
    for m in range(n - h):
        x = mix64(z)
        z += _TWO_GOLDEN
        # site m, low 32 bits
        it, inb = np.uint64(t_off + m), np.uint64(nb_off + m)
        ia, i_s = np.uint64(a_off + m), np.uint64(s_off + m)
        s = np.float64(W[i, it])
        H = _field(s, A[a_row, ia], S[i_s], np.float64(W[i, inb]), np.float64(W[i, inb + one]),
                   J_all, Ki)
        sn, und = _heatbath_fast(s, H, beta, x & _LOW32)
        amb[np.uint64(m)] = und
        W[i, it] = np.int8(sn)
        S[i_s] += sn - s
        # site m + h, high 32 bits
        k = m + h
        it2, inb2 = np.uint64(t_off + k), np.uint64(nb_off + k)
        ia2, i_s2 = np.uint64(a_off + k), np.uint64(s_off + k)
        s2 = np.float64(W[i, it2])
        H2 = _field(s2, A[a_row, ia2], S[i_s2], np.float64(W[i, inb2]),
                    np.float64(W[i, inb2 + one]), J_all, Ki)
        sn2, und2 = _heatbath_fast(s2, H2, beta, x >> np.uint64(32))
        amb[np.uint64(k)] = und2
        W[i, it2] = np.int8(sn2)
        S[i_s2] += sn2 - s2
        flips += (sn != s) + (sn2 != s2)
        n_amb += und + und2
    if n - h < h:   # odd n: the middle site h - 1 has no partner
        x = mix64(z)
        m = h - 1
        s = np.float64(W[i, t_off + m])
        H = _field(s, A[a_row, a_off + m], S[s_off + m], np.float64(W[i, nb_off + m]),
                   np.float64(W[i, nb_off + m + 1]), J_all, Ki)
        sn, und = _heatbath_fast(s, H, beta, x & _LOW32)
        amb[m] = und
        W[i, t_off + m] = np.int8(sn)
        S[s_off + m] += sn - s
        flips += sn != s
        n_amb += und
    return flips, n_amb


@njit(cache=True, nogil=True, fastmath=_FAST)
def _metropolis_pass(W, i, t_off, nb_off, n, A, a_row, a_off, S, s_off, amb, J_all, Ki, beta,
                   key, c0):
    """Vectorised Metropolis pass over the segment; returns (flips, number of undecided sites).

    Same layout of draws and the same indexing as :func:`_heatbath_pass`.
    """
    h = (n + 1) // 2
    flips = 0
    n_amb = 0
    if i < 0 or t_off < 0 or nb_off < 0 or a_row < 0 or a_off < 0 or s_off < 0 or n < h:
        return flips, n_amb
    z = key + c0 * GOLDEN
    one = np.uint64(1)
    for m in range(n - h):
        x = mix64(z)
        z += _TWO_GOLDEN
        # site m, low 32 bits
        it, inb = np.uint64(t_off + m), np.uint64(nb_off + m)
        ia, i_s = np.uint64(a_off + m), np.uint64(s_off + m)
        s = np.float64(W[i, it])
        H = _field(s, A[a_row, ia], S[i_s], np.float64(W[i, inb]), np.float64(W[i, inb + one]),
                   J_all, Ki)
        sn, und = _metropolis_fast(s, H, beta, x & _LOW32)
        amb[np.uint64(m)] = und
        W[i, it] = np.int8(sn)
        S[i_s] += sn - s
        # site m + h, high 32 bits
        k = m + h
        it2, inb2 = np.uint64(t_off + k), np.uint64(nb_off + k)
        ia2, i_s2 = np.uint64(a_off + k), np.uint64(s_off + k)
        s2 = np.float64(W[i, it2])
        H2 = _field(s2, A[a_row, ia2], S[i_s2], np.float64(W[i, inb2]),
                    np.float64(W[i, inb2 + one]), J_all, Ki)
        sn2, und2 = _metropolis_fast(s2, H2, beta, x >> np.uint64(32))
        amb[np.uint64(k)] = und2
        W[i, it2] = np.int8(sn2)
        S[i_s2] += sn2 - s2
        flips += (sn != s) + (sn2 != s2)
        n_amb += und + und2
    if n - h < h:   # odd n: the middle site h - 1 has no partner
        x = mix64(z)
        m = h - 1
        s = np.float64(W[i, t_off + m])
        H = _field(s, A[a_row, a_off + m], S[s_off + m], np.float64(W[i, nb_off + m]),
                   np.float64(W[i, nb_off + m + 1]), J_all, Ki)
        sn, und = _metropolis_fast(s, H, beta, x & _LOW32)
        amb[m] = und
        W[i, t_off + m] = np.int8(sn)
        S[s_off + m] += sn - s
        flips += sn != s
        n_amb += und
    return flips, n_amb


@njit(cache=True, nogil=True)
def _update_segment(W, i, t_off, nb_off, n, A, a_row, a_off, S, s_off, amb, J_all, Ki, beta,
                    metropolis, key, key_fine, c0):
    """Update every site of the segment once (exact rule); return the number of flips.

    Parameters: ``W`` int8 (N, L) working spins, updated in place; ``A`` float64 2-D; ``S``
    float64 1-D, updated in place; ``amb`` bool (>= n,) scratch; ``key``, ``key_fine`` uint64
    streams; ``c0`` uint64 counter of site 0; offsets as in the module docstring.
    """
    if metropolis:
        flips, n_amb = _metropolis_pass(W, i, t_off, nb_off, n, A, a_row, a_off, S, s_off, amb,
                                        J_all, Ki, beta, key, c0)
    else:
        flips, n_amb = _heatbath_pass(W, i, t_off, nb_off, n, A, a_row, a_off, S, s_off, amb,
                                      J_all, Ki, beta, key, c0)
    if n_amb > 0:
        flips += _resolve(W, i, t_off, nb_off, n, A, a_row, a_off, S, s_off, amb, J_all, Ki,
                          beta, metropolis, key, key_fine, c0)
    return flips
