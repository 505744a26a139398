"""Single-site updates of one block: the ticks k_lo .. k_lo + n - 1 of one time class.

A *segment* is the sites (i, t_k) of one neuron i of the block (one replica r, one time class,
see :mod:`.local_layout`): given the rest of the lattice they are independent, so the loop over
them is free of carried dependences and vectorises (float32 lanes). A block function visits the
neurons in ``order`` and updates each one's segment; keeping the neuron loop inside one
function lets LLVM hoist the set-up of the vector loop. Arrays are addressed by unsigned
offsets (no views, no negative-index wraparound).

All-to-all couplings (:func:`_block_all`) take one pass per segment: H = h_it +
J_all (S_t - s_it) + K_i (s_i,t-1 + s_i,t+1) from the int32 slice sums S_t = sum_j s_jt, which
the pass updates. Sparse couplings of a neuron with two or four neighbours (a ring's, a grid's)
take one pass too (the neighbours read in it); other sparse and dense couplings
(:func:`_block_field`) take two or three:

1. A[m] = h_i(t) + sum_j J_ij s_j(t) (m = k - k_lo, float32): sparse from the CSR neighbours
   (in CSR order), dense from the cached fixed-point fields phi_t,i * 2**-q;
2. add K_i (s_i,t-1 + s_i,t+1), decide, and store the spins that flip (dense: after saving
   the segment's spins in ``old``);
3. dense only: add (s_new - s_old) Jq_i,: to the cached fields of tick t_m for every flipped
   site (integer arithmetic: exact, order-free).

The decision loops store the new spins with :func:`_store_spin`: on AVX-512 only the spins
that flip (a masked byte store: cheaper than narrowing every lane back to int8), elsewhere every
spin (AVX2 has no masked byte store, and LLVM leaves a loop with one unvectorised: 3.7x slower
on an AMD Zen 3).

Rules, with H the local field and U = r / 2**32 the site's uniform (r its 32-bit word,
:mod:`.local_uniforms`):

- heat bath: with sigma = sign(H) (+1 for H = 0) and q = e / (1 + e), e = exp(-2 beta |H|)
  (q <= 1/2 is the probability of the spin opposite to H), s <- -sigma if U < q, else
  sigma; this is s <- +1 with probability 1 / (1 + exp(-2 beta H));
- Metropolis: x = -2 beta s H; flip if x >= 0 or U < exp(x).

Block functions return the number of flips. Float arithmetic is float32 with fused
multiply-adds. The loops count vector operations (512-bit ones share two ports): the two
temporal neighbours are added as bytes and converted once, S_t - s_it is formed in int32,
-2 beta s H flips the sign bit of -2 beta H, and Metropolis leaves x uncapped (its exp is
unused where x >= 0); each gives the same bits as the plain float32 expression (README).

Random numbers: before each segment's decisions :func:`.local_uniforms.fill_uniforms` writes
its sites' words, from the replica's key and the segment counter (w N + i) 3 + c (sweep w,
neuron i, class c), into the scratch ``U``: a pure function of (replica, sweep, site),
independent of threads, blocks and call boundaries.
"""

import numpy as np
from numba import njit
from numba.extending import overload

from .._vector_width import compile_target_has
from .ars import high_key
from .disjoint import njit_disjoint
from .local_math import F32, _exp32, _exp32_2p32, _inc32, _times_spin
from .local_uniforms import _next_weyl32, segment_uniforms, site_uniform

_ONE = F32(1.0)
_ZERO = F32(0.0)
_TWO_32 = F32(4294967296.0)
_FAST = {"contract"}   # fused multiply-add only: no reassociation, no change beyond rounding
_MASKED_BYTE_STORES = compile_target_has("avx512bw")   # a compile-time constant of the kernels


@njit(cache=True, nogil=True, inline="always")
def _store_spin(W, row, i, p, si, flip):
    """W[row, i, p] = -si if ``flip`` else si, as the fastest vector store of the target CPU."""
    if _MASKED_BYTE_STORES:
        if flip:
            W[row, i, p] = -si
    else:
        W[row, i, p] = -si if flip else si


@njit(cache=True, nogil=True, inline="always", fastmath=_FAST, error_model="numpy")
def _heatbath(si, H, m2b, u):
    """True if heat bath flips the spin si (int8; float32 H; ``m2b`` = -2 beta; ``u`` uniform).

    The new spin is -sigma if U < e / (1 + e), tested as u (1 + e) < e 2**32 (no division),
    else sigma; it differs from si when that test and si == sigma agree.
    """
    e = _exp32(m2b * abs(H))
    return (u * (_ONE + e) < e * _TWO_32) == ((si > 0) == (H >= _ZERO))


@njit(cache=True, nogil=True, inline="always", fastmath=_FAST)
def _metropolis(si, H, m2b, u):
    """True if Metropolis flips the spin si (int8; float32 H; ``m2b`` = -2 beta; ``u`` uniform).

    x = -2 beta si H; exp's value for x > 0 does not matter (the flip is certain).
    """
    x = _times_spin(m2b * H, si)
    return (u < _exp32_2p32(x)) | (x >= _ZERO)


@njit(cache=True, nogil=True, inline="always")
def _neighbour_sum(Wn, row, i, p):
    """float32 s_i,t-1 + s_i,t+1 of the cells Wn[row, i, p] and Wn[row, i, p + 1].

    Added as bytes, then converted once (exact: the sum is -2..2).
    """
    return F32(np.int8(Wn[row, i, p] + Wn[row, i, p + np.uint64(1)]))


@njit_disjoint(cache=True, nogil=True, fastmath=_FAST, error_model="numpy", _nrt=False)
def _block_all(W, Wn, S, row, r, t0, nb0, f0, s0, k_lo, n, hp, hrow, J_all, K, order, m2b,
               metropolis, key, counter0, U):
    """Update the block with all-to-all couplings from the slice sums S; returns flips.

    Site m (class index k_lo + m) of neuron i has its spin at W[row, i, t0 + m], its temporal
    neighbours at Wn[row, i, nb0 + m] and Wn[row, i, nb0 + m + 1] (``Wn`` is W, passed again
    for the reads of ticks no update of the block writes: :mod:`.disjoint`), its field at
    hp[hrow[i], f0 + m] and its slice sum at S[r, s0 + m]. The segment of the q-th neuron
    i = order[q] draws its uniforms with the counter ``counter0 + 3 i`` into the scratch ``U``
    (uint32, at least n + UNIFORMS_PAD cells; :mod:`.local_uniforms`).
    """
    flips = 0
    if row < 0 or r < 0 or t0 < 0 or nb0 < 0 or f0 < 0 or s0 < 0 or k_lo < 0:
        return flips
    tb, nb, fb, sb = np.uint64(t0), np.uint64(nb0), np.uint64(f0), np.uint64(s0)
    key_hi, off = high_key(key), np.uint64(k_lo & 3)   # site k_lo + m: uniform U[off + m]
    for q in range(order.size):
        i = np.uint64(order[q])
        fi = np.uint64(hrow[i])   # the neuron's row of hp
        seed, x = segment_uniforms(U, key, key_hi, counter0 + np.uint64(3) * i, k_lo, n)
        Ki = K[i]
        n_flips = np.int32(0)
        if metropolis:
            for m in range(n):
                mu = np.uint64(m)
                si, S_t = W[row, i, tb + mu], S[r, sb + mu]
                others = np.int32(S_t - si)
                H = (hp[fi, fb + mu] + J_all * F32(others)
                     + Ki * _neighbour_sum(Wn, row, i, nb + mu))
                flip = _metropolis(si, H, m2b, site_uniform(U, off + mu, seed, x))
                x = _next_weyl32(x)
                _store_spin(W, row, i, tb + mu, si, flip)
                S[r, sb + mu] = np.int32(others - si) if flip else S_t
                n_flips = _inc32(n_flips, flip)
        else:
            for m in range(n):
                mu = np.uint64(m)
                si, S_t = W[row, i, tb + mu], S[r, sb + mu]
                others = np.int32(S_t - si)
                H = (hp[fi, fb + mu] + J_all * F32(others)
                     + Ki * _neighbour_sum(Wn, row, i, nb + mu))
                flip = _heatbath(si, H, m2b, site_uniform(U, off + mu, seed, x))
                x = _next_weyl32(x)
                _store_spin(W, row, i, tb + mu, si, flip)
                S[r, sb + mu] = np.int32(others - si) if flip else S_t
                n_flips = _inc32(n_flips, flip)
        flips += n_flips
    return flips


@njit(cache=True, nogil=True, inline="always")
def _coupling(indices, weights, p):
    """(neighbour, weight) of CSR entry p: (uint64, float32)."""
    return np.uint64(indices[p]), weights[p]


def _neighbour_field(hp, fi, fb, Wc, row, tb, mu, couplings):
    """float32 h_it + sum_k w_k s_(j_k)t over a tuple of 2 or 4 (j_k, w_k), in tuple order."""


@overload(_neighbour_field, inline="always", jit_options={"fastmath": _FAST})
def _neighbour_field_of(hp, fi, fb, Wc, row, tb, mu, couplings):
    """:func:`_neighbour_field` written out for the tuple's length (constant cells per site)."""
    if len(couplings) == 2:
        def two(hp, fi, fb, Wc, row, tb, mu, couplings):
            (j0, w0), (j1, w1) = couplings
            return ((hp[fi, fb + mu] + w0 * F32(Wc[row, j0, tb + mu]))
                    + w1 * F32(Wc[row, j1, tb + mu]))
        return two
    if len(couplings) == 4:
        def four(hp, fi, fb, Wc, row, tb, mu, couplings):
            (j0, w0), (j1, w1), (j2, w2), (j3, w3) = couplings
            return ((((hp[fi, fb + mu] + w0 * F32(Wc[row, j0, tb + mu]))
                      + w1 * F32(Wc[row, j1, tb + mu])) + w2 * F32(Wc[row, j2, tb + mu]))
                    + w3 * F32(Wc[row, j3, tb + mu]))
        return four
    return None


@njit(cache=True, nogil=True, inline="always", fastmath=_FAST, error_model="numpy")
def _decide_in_one_pass(W, Wc, Wn, row, i, tb, nb, fb, fi, hp, couplings, Ki, m2b, metropolis,
                        U, off, seed, x, n):
    """Update the segment of neuron i with a few neighbours in one pass; flips.

    ``couplings``: a tuple of (neighbour j (uint64), J_ij (float32)) in CSR order.

    H = (h_it + w_1 s_1t + ...) + K_i (s_i,t-1 + s_i,t+1), added in that order: the float32
    operations of the passes of :func:`_block_field`, kept in registers. Reads the
    neighbours through ``Wc``.
    """
    n_flips = np.int32(0)
    if metropolis:
        for m in range(n):
            mu = np.uint64(m)
            si = W[row, i, tb + mu]
            H = (_neighbour_field(hp, fi, fb, Wc, row, tb, mu, couplings)
                 + Ki * _neighbour_sum(Wn, row, i, nb + mu))
            flip = _metropolis(si, H, m2b, site_uniform(U, off + mu, seed, x))
            x = _next_weyl32(x)
            _store_spin(W, row, i, tb + mu, si, flip)
            n_flips = _inc32(n_flips, flip)
    else:
        for m in range(n):
            mu = np.uint64(m)
            si = W[row, i, tb + mu]
            H = (_neighbour_field(hp, fi, fb, Wc, row, tb, mu, couplings)
                 + Ki * _neighbour_sum(Wn, row, i, nb + mu))
            flip = _heatbath(si, H, m2b, site_uniform(U, off + mu, seed, x))
            x = _next_weyl32(x)
            _store_spin(W, row, i, tb + mu, si, flip)
            n_flips = _inc32(n_flips, flip)
    return n_flips


@njit_disjoint(cache=True, nogil=True, fastmath=_FAST, error_model="numpy", _nrt=False)
def _block_field(dense, W, Wn, Wc, phi, Jq, scale, row, r, t0, nb0, f0, k_lo, n, hp, hrow,
                 indptr, indices, weights, K, order, m2b, metropolis, key, counter0, A, old, U):
    """Update the block with sparse (CSR) or dense (cached fields) couplings; returns flips.

    ``A`` float32 and ``old`` int8 are scratch arrays of at least n entries. Cells, fields,
    ``Wn``, uniforms and ``U`` as in :func:`_block_all`; cached fields at phi[r, f0 + m, :].
    ``Wc`` is W once more, for the neighbours of the neurons with exactly two or four (a
    ring's, a grid's), updated in one pass (:func:`_decide_in_one_pass`): with sparse
    couplings the neurons of ``order`` must share no bond (one colour), so that no neuron of
    the call writes a row read through ``Wc``. Other neighbour neurons are read through W.
    """
    flips = 0
    if row < 0 or r < 0 or t0 < 0 or nb0 < 0 or f0 < 0 or k_lo < 0:
        return flips
    tb, nb, fb = np.uint64(t0), np.uint64(nb0), np.uint64(f0)
    key_hi, off = high_key(key), np.uint64(k_lo & 3)   # site k_lo + m: uniform U[off + m]
    n_neur = np.uint64(W.shape[1])
    for q in range(order.size):
        i = np.uint64(order[q])
        fi = np.uint64(hrow[i])   # the neuron's row of hp
        seed, x = segment_uniforms(U, key, key_hi, counter0 + np.uint64(3) * i, k_lo, n)
        Ki = K[i]
        p, p_end = (0, 0) if dense else (indptr[i], indptr[i + 1])
        if p_end - p == 2:   # a ring's neuron
            couplings = (_coupling(indices, weights, p), _coupling(indices, weights, p + 1))
            flips += _decide_in_one_pass(W, Wc, Wn, row, i, tb, nb, fb, fi, hp, couplings, Ki,
                                         m2b, metropolis, U, off, seed, x, n)
            continue
        if p_end - p == 4:   # a grid's neuron
            couplings = (_coupling(indices, weights, p), _coupling(indices, weights, p + 1),
                         _coupling(indices, weights, p + 2), _coupling(indices, weights, p + 3))
            flips += _decide_in_one_pass(W, Wc, Wn, row, i, tb, nb, fb, fi, hp, couplings, Ki,
                                         m2b, metropolis, U, off, seed, x, n)
            continue
        # 1. equal-time fields
        if dense:
            for m in range(n):
                mu = np.uint64(m)
                A[mu] = hp[fi, fb + mu] + F32(phi[r, fb + mu, i]) * scale
        else:   # neighbours two at a time (in CSR order: the float32 sum is reproducible)
            if p + 1 < p_end:
                j, wp = np.uint64(indices[p]), weights[p]
                j2, wp2 = np.uint64(indices[p + 1]), weights[p + 1]
                for m in range(n):
                    mu = np.uint64(m)
                    A[mu] = ((hp[fi, fb + mu] + wp * F32(W[row, j, tb + mu]))
                             + wp2 * F32(W[row, j2, tb + mu]))
                p += 2
            elif p < p_end:
                j, wp = np.uint64(indices[p]), weights[p]
                for m in range(n):
                    mu = np.uint64(m)
                    A[mu] = hp[fi, fb + mu] + wp * F32(W[row, j, tb + mu])
                p += 1
            else:
                for m in range(n):
                    mu = np.uint64(m)
                    A[mu] = hp[fi, fb + mu]
            while p + 1 < p_end:
                j, wp = np.uint64(indices[p]), weights[p]
                j2, wp2 = np.uint64(indices[p + 1]), weights[p + 1]
                for m in range(n):
                    mu = np.uint64(m)
                    A[mu] = ((A[mu] + wp * F32(W[row, j, tb + mu]))
                             + wp2 * F32(W[row, j2, tb + mu]))
                p += 2
            if p < p_end:
                j, wp = np.uint64(indices[p]), weights[p]
                for m in range(n):
                    mu = np.uint64(m)
                    A[mu] += wp * F32(W[row, j, tb + mu])
        if dense:   # the spins before the decisions, for step 3
            for m in range(n):
                old[m] = W[row, i, tb + np.uint64(m)]
        # 2. decisions
        n_flips = np.int32(0)
        if metropolis:
            for m in range(n):
                mu = np.uint64(m)
                si = W[row, i, tb + mu]
                H = A[mu] + Ki * _neighbour_sum(Wn, row, i, nb + mu)
                flip = _metropolis(si, H, m2b, site_uniform(U, off + mu, seed, x))
                x = _next_weyl32(x)
                _store_spin(W, row, i, tb + mu, si, flip)
                n_flips = _inc32(n_flips, flip)
        else:
            for m in range(n):
                mu = np.uint64(m)
                si = W[row, i, tb + mu]
                H = A[mu] + Ki * _neighbour_sum(Wn, row, i, nb + mu)
                flip = _heatbath(si, H, m2b, site_uniform(U, off + mu, seed, x))
                x = _next_weyl32(x)
                _store_spin(W, row, i, tb + mu, si, flip)
                n_flips = _inc32(n_flips, flip)
        flips += n_flips
        # 3. cached dense fields of the flipped sites
        if dense:
            for m in range(n):
                d = np.int32(W[row, i, tb + np.uint64(m)]) - np.int32(old[m])
                if d != 0:
                    tick = fb + np.uint64(m)
                    for j in range(n_neur):
                        phi[r, tick, j] += np.int32(d * Jq[i, j])
    return flips
