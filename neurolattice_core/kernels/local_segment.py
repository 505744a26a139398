"""Single-site updates of one segment: a run of conditionally independent sites.

A *segment* is the sites (i, t_k), k = k_lo .. k_hi - 1, of one neuron i in one replica r and
one time class (see :mod:`.local_layout`): given the rest of the lattice they are independent,
so every loop here is free of carried dependences and vectorises (16 float32 lanes with
AVX-512). Arrays are addressed by unsigned offsets (no views, no negative-index wraparound).

All-to-all couplings take one pass (:func:`_all_pass`): H = h_it + J_all (S_t - s_it) +
K_i (s_i,t-1 + s_i,t+1) from the int32 slice sums S_t = sum_j s_jt, which the pass updates.
Sparse and dense couplings take two or three:

1. ``_prep_*`` writes A[m] = h_i(t) + sum_j J_ij s_j(t) (m = k - k_lo, float32): sparse from the
   CSR neighbours (in CSR order), dense from the cached fixed-point fields phi_t,i * 2**-q;
2. :func:`_field_pass` adds K_i (s_i,t-1 + s_i,t+1), decides, stores the new spins and
   D[m] = s_new - s_old (int32);
3. dense only, :func:`_post_dense` adds D[m] J_i,: to the cached fields of tick t_m for every
   flipped site (integer arithmetic: exact, order-free).

Rules, with H the local field and U = r / 2**32 the site's uniform
(:func:`.local_math._uniform32`):

- heat bath: with sigma = sign(H) (+1 for H = 0) and q = e / (1 + e), e = exp(-2 beta |H|)
  (q <= 1/2 is the probability of the spin opposite to H), s <- -sigma if U < q, else
  sigma; this is s <- +1 with probability 1 / (1 + exp(-2 beta H));
- Metropolis: x = -2 beta s H; flip if x >= 0 or U < exp(x).

Passes return the number of flips. All float arithmetic is float32 with fused multiply-adds.

Random numbers: the segment key is ``random_u64(key_r, (w N + i) * 3 + c)`` (sweep w, neuron
i, class c) and site k of the class draws ``_uniform32(segment key, k)``: a pure function of
(replica, sweep, site), independent of threads, blocks and call boundaries.
"""

import numpy as np
from numba import njit

from .local_math import F32, _exp32, _uniform32

_ONE = F32(1.0)
_ZERO = F32(0.0)
_TWO_32 = F32(4294967296.0)
_FAST = {"contract"}   # fused multiply-add only: no reassociation, no change beyond rounding


@njit(cache=True, nogil=True, inline="always", fastmath=_FAST, error_model="numpy")
def _heatbath(s, H, m2b, u):
    """New spin by heat bath (float32 s, H; ``m2b`` = -2 beta; ``u`` the site's 32-bit uniform)."""
    sigma = _ONE if H >= _ZERO else -_ONE
    e = _exp32(m2b * abs(H))
    return -sigma if u < e / (_ONE + e) * _TWO_32 else sigma


@njit(cache=True, nogil=True, inline="always", fastmath=_FAST)
def _metropolis(s, H, m2b, u):
    """New spin by Metropolis (float32 s, H; ``m2b`` = -2 beta; ``u`` the site's 32-bit uniform)."""
    x = m2b * s * H
    flip = (u < _exp32(min(x, _ZERO)) * _TWO_32) | (x >= _ZERO)
    return -s if flip else s


@njit(cache=True, nogil=True, fastmath=_FAST, error_model="numpy")
def _all_pass(W, S, r, i, t_off, nb_off, f_off, k_lo, n, hp, J_all, Ki, m2b, metropolis, seg):
    """Update the segment with all-to-all couplings from the slice sums S; returns flips."""
    flips = 0
    if r < 0 or i < 0 or t_off < 0 or nb_off < 0 or f_off < 0 or k_lo < 0:
        return flips
    tb, nb, fb = np.uint64(t_off + k_lo), np.uint64(nb_off + k_lo), np.uint64(f_off + k_lo)
    one = np.uint64(1)
    if metropolis:
        for m in range(n):
            mu = np.uint64(m)
            si = np.int32(W[r, i, tb + mu])
            s = F32(si)
            H = (hp[i, fb + mu] + J_all * F32(S[r, fb + mu] - si)
                 + Ki * (F32(W[r, i, nb + mu]) + F32(W[r, i, nb + mu + one])))
            sn = _metropolis(s, H, m2b, _uniform32(seg, k_lo + m))
            W[r, i, tb + mu] = np.int8(sn)
            S[r, fb + mu] += np.int32(sn - s)
            flips += sn != s
    else:
        for m in range(n):
            mu = np.uint64(m)
            si = np.int32(W[r, i, tb + mu])
            s = F32(si)
            H = (hp[i, fb + mu] + J_all * F32(S[r, fb + mu] - si)
                 + Ki * (F32(W[r, i, nb + mu]) + F32(W[r, i, nb + mu + one])))
            sn = _heatbath(s, H, m2b, _uniform32(seg, k_lo + m))
            W[r, i, tb + mu] = np.int8(sn)
            S[r, fb + mu] += np.int32(sn - s)
            flips += sn != s
    return flips


@njit(cache=True, nogil=True, fastmath=_FAST, error_model="numpy")
def _field_pass(W, r, i, t_off, nb_off, k_lo, n, A, D, Ki, m2b, metropolis, seg):
    """Update the segment with equal-time fields A (float32); D[m] = change; returns flips."""
    flips = 0
    if r < 0 or i < 0 or t_off < 0 or nb_off < 0 or k_lo < 0:
        return flips
    tb, nb = np.uint64(t_off + k_lo), np.uint64(nb_off + k_lo)
    one = np.uint64(1)
    if metropolis:
        for m in range(n):
            mu = np.uint64(m)
            s = F32(W[r, i, tb + mu])
            H = A[mu] + Ki * (F32(W[r, i, nb + mu]) + F32(W[r, i, nb + mu + one]))
            sn = _metropolis(s, H, m2b, _uniform32(seg, k_lo + m))
            W[r, i, tb + mu] = np.int8(sn)
            D[mu] = np.int32(sn - s)
            flips += sn != s
    else:
        for m in range(n):
            mu = np.uint64(m)
            s = F32(W[r, i, tb + mu])
            H = A[mu] + Ki * (F32(W[r, i, nb + mu]) + F32(W[r, i, nb + mu + one]))
            sn = _heatbath(s, H, m2b, _uniform32(seg, k_lo + m))
            W[r, i, tb + mu] = np.int8(sn)
            D[mu] = np.int32(sn - s)
            flips += sn != s
    return flips


@njit(cache=True, nogil=True, fastmath=_FAST)
def _prep_sparse(W, r, i, t_off, f_off, k_lo, n, hp, indptr, indices, weights, A):
    """A[m] = h_i(t) + sum_p w_p s_{j_p}(t) over the CSR neighbours of i, in CSR order."""
    if r < 0 or i < 0 or t_off < 0 or f_off < 0 or k_lo < 0:
        return
    tb, fb = np.uint64(t_off + k_lo), np.uint64(f_off + k_lo)
    for m in range(n):
        mu = np.uint64(m)
        A[mu] = hp[i, fb + mu]
    for p in range(indptr[i], indptr[i + 1]):
        j = indices[p]
        wp = weights[p]
        if j < 0:
            return
        for m in range(n):
            mu = np.uint64(m)
            A[mu] += wp * F32(W[r, j, tb + mu])


@njit(cache=True, nogil=True, fastmath=_FAST)
def _prep_dense(r, i, f_off, k_lo, n, hp, phi, scale, A):
    """A[m] = h_i(t) + phi[r, t, i] * scale (dense, cached fixed-point fields)."""
    if r < 0 or i < 0 or f_off < 0 or k_lo < 0:
        return
    fb = np.uint64(f_off + k_lo)
    for m in range(n):
        mu = np.uint64(m)
        A[mu] = hp[i, fb + mu] + F32(phi[r, fb + mu, i]) * scale


@njit(cache=True, nogil=True)
def _post_dense(phi, Jq, r, i, f_off, k_lo, n, D):
    """phi[r, t_m, :] += D[m] Jq[i, :] for every flipped site m (int32, exact)."""
    if r < 0 or i < 0 or f_off < 0 or k_lo < 0:
        return
    n_neur = np.uint64(Jq.shape[1])
    for m in range(n):
        d = D[m]
        if d != 0:
            row = np.uint64(f_off + k_lo + m)
            for j in range(n_neur):
                phi[r, row, j] += np.int32(d * Jq[i, j])
