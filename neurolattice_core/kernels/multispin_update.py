"""Multi-spin coded Metropolis / heat-bath sweeps (private kernels of :mod:`.multispin`).

Packed layout (see :mod:`.multispin`): bit ``b`` of word ``w`` of neuron ``i`` holds tick
``t = b L + w`` (``T = 64 L``, ``L`` even; 1 = spin +1).  The time neighbour ``t + 1`` of (word
``w``, bit ``b``) is (``w + 1``, ``b``), or for ``w = L - 1`` bit ``b + 1`` of word 0 (a rotation).

Working layout.  A sweep runs on ``work[r, w, p]`` (uint64 (R, L, N)): word ``w`` of neuron
``perm[p]``, where ``perm`` lists the neurons of colour 0, then those of colour 1 (a 2-colouring
``c_i`` of the neuron graph).  A word's checkerboard colour is ``(c_i + w) mod 2``, so the words
of one colour in row ``w`` form one contiguous run, cut into *segments* inside which every
equal-time neighbour sits at a constant offset (ring: 2 segments, grid: about one per grid row).
Each segment is one unit-stride loop that LLVM vectorises (AVX2), whatever T.

Acceptance.  Flipping spin ``s`` changes the energy by
``dE = 2 [J (z - 2 a_J) + K (z_K - 2 a_K) + h s]`` where ``a_J`` (``a_K``) counts the anti-aligned
equal-time (temporal) neighbours among the ``z`` (``z_K``) present ones.  The class
``(z, z_K, s, a_J, a_K)`` of a lane fixes its acceptance fraction ``P`` (uint64: the flip is
accepted with probability ``P / 2**64 = floor(p 2**64) / 2**64``, p = Metropolis
``min(1, exp(-beta dE))`` or heat bath ``1 / (1 + exp(beta dE))``), or says "always" (p = 1.0)
or "never" (P = 0).  A lane compares the 64-bit integer ``U`` whose bit ``63 - j`` is its bit of
the random word ``r_j = random_u64(key_r, counter + j)`` with ``P``: accept iff ``U < P``.  The
comparison is lazy and bit-parallel: at step ``j`` the lanes whose bit differs from bit ``63 - j``
of their ``P`` are decided (accepted where ``P`` has the 1); equal lanes stay undecided; lanes
still undecided after 64 steps have ``U == P`` and are rejected.  This is exact, and independent
of the number ``NFIX`` of branch-free steps done before the scalar finish.

Class table rows (uint64, ``NCOL`` columns): 0-4 xor masks selecting the count bits
(b0, b1, b2 of a_J [+ a_K when J == K], e0, e1 of a_K), 5 "any a_K", 6 "any spin", 7 spin xor
mask (all-ones selects s = -1), 8 lane mask (0 for padding rows), 9 .. 9 + NFIX - 1 bit
``63 - j`` of P as a mask, 9 + NFIX: P.  Lanes of unlisted classes (p = 1) are accepted.

Random counters: ``counter = (((2 sweep + colour) N + i) L + w) 64`` (+ ``j``), key per replica.
"""

import numpy as np
from numba import njit, prange, types
from numba.extending import intrinsic

from numba.np.unsafe.ndarray import to_fixed_tuple

from .rng import random_u64

NFIX = 10                 # branch-free comparison steps (the code spells out 10)
NCOL = 10 + NFIX          # columns of a class-table row
_ZERO = np.uint64(0)
_ONE = np.uint64(1)
_ALL = np.uint64(0xFFFFFFFFFFFFFFFF)
_S63 = np.uint64(63)
_Z11 = (_ZERO,) * 11      # empty accumulators (live, t_0 .. t_9)


@intrinsic
def popcount64(typingctx, x):
    """Number of set bits of a uint64 (LLVM ``ctpop``)."""
    if x != types.uint64:
        return None

    def codegen(context, builder, signature, args):
        return builder.ctpop(args[0])

    return types.uint64(types.uint64), codegen


@njit(cache=True, nogil=True, parallel=True)
def _to_work(words, perm, work):
    """work[r, w, p] = words[r, perm[p], w]."""
    n_rep, n, n_words = words.shape
    for it in prange(n_rep * n):
        r, p = it // n, it % n
        i = perm[p]
        for w in range(n_words):
            work[r, w, p] = words[r, i, w]


@njit(cache=True, nogil=True, parallel=True)
def _from_work(work, perm, words):
    """words[r, perm[p], w] = work[r, w, p]."""
    n_rep, n, n_words = words.shape
    for it in prange(n_rep * n):
        r, p = it // n, it % n
        i = perm[p]
        for w in range(n_words):
            words[r, i, w] = work[r, w, p]


@njit(cache=True, nogil=True)
def _counts(x, nx, pv, n0, n1, n2, n3, nmask, pmask, kc):
    """Bit-sliced anti-aligned counts of one word (see module docstring for b and e)."""
    ak1 = (x ^ nx) & nmask
    ak2 = (x ^ pv) & pmask
    a1 = x ^ n0
    a2 = x ^ n1
    a3 = x ^ n2
    a4 = x ^ n3
    a5 = ak1 & kc
    a6 = ak2 & kc
    t1 = a1 ^ a2
    s1 = t1 ^ a3
    c1 = (a1 & a2) | (t1 & a3)
    t2 = a4 ^ a5
    s2 = t2 ^ a6
    c2 = (a4 & a5) | (t2 & a6)
    c3 = s1 & s2
    t3 = c1 ^ c2
    e0 = (ak1 ^ ak2) & ~kc
    e1 = (ak1 & ak2) & ~kc
    return s1 ^ s2, t3 ^ c3, (c1 & c2) | (t3 & c3), e0, e1


@njit(cache=True, nogil=True)
def _acc(row, b0, b1, b2, e0, e1, x, A):
    """OR the lanes of class ``row`` into the accumulators A = (live, t_0 .. t_NFIX-1)."""
    mk = ((b0 ^ row[0]) & (b1 ^ row[1]) & (b2 ^ row[2])
          & (((e0 ^ row[3]) & (e1 ^ row[4])) | row[5]) & ((x ^ row[7]) | row[6]) & row[8])
    return (A[0] | mk, A[1] | (mk & row[9]), A[2] | (mk & row[10]), A[3] | (mk & row[11]),
            A[4] | (mk & row[12]), A[5] | (mk & row[13]), A[6] | (mk & row[14]),
            A[7] | (mk & row[15]), A[8] | (mk & row[16]), A[9] | (mk & row[17]),
            A[10] | (mk & row[18]))


@njit(cache=True, nogil=True)
def _group(CL, g, nc):
    """Rows 4g .. 4g+3 of the class table as register tuples (indices clamped to nc - 1)."""
    last = nc - 1
    return (to_fixed_tuple(CL[min(4 * g, last)], NCOL),
            to_fixed_tuple(CL[min(4 * g + 1, last)], NCOL),
            to_fixed_tuple(CL[min(4 * g + 2, last)], NCOL),
            to_fixed_tuple(CL[min(4 * g + 3, last)], NCOL))


@njit(cache=True, nogil=True)
def _acc4(R, k, b0, b1, b2, e0, e1, x, A):
    """OR the first min(k, 4) classes of the group R into A (k is a compile-time constant)."""
    A = _acc(R[0], b0, b1, b2, e0, e1, x, A)
    if k > 1:
        A = _acc(R[1], b0, b1, b2, e0, e1, x, A)
    if k > 2:
        A = _acc(R[2], b0, b1, b2, e0, e1, x, A)
    if k > 3:
        A = _acc(R[3], b0, b1, b2, e0, e1, x, A)
    return A


@njit(cache=True, nogil=True)
def _steps(A, key, ctr):
    """The NFIX branch-free lazy-comparison steps: (undecided lanes, accepted lanes)."""
    u = A[0]
    a = ~u
    for j in range(NFIX):
        t = A[1 + j]
        d = random_u64(key, ctr + np.uint64(j)) ^ t
        a |= u & d & t
        u &= ~d
    return u, a


@njit(cache=True, nogil=True)
def _fused(tag, xrow, nrow, prow, px, q0, q1, q2, q3, n, nmask, pmask, kc, CL, key, ctr_base,
           pbase, out):
    """One segment: counts, classes and the NFIX lazy-comparison steps, vectorised.

    Positions px .. px+n-1 of the working row ``xrow``; the d-th equal-time neighbour of
    position px + q is at ``q_d + q``.  ``nrow``/``prow`` are the (already rotated) time
    neighbours, ``nmask``/``pmask`` clear missing temporal bonds, ``kc`` is all-ones when the
    temporal count is merged into the main count (J == K).  The class table ``CL`` has
    nc = len(tag) <= 64 rows; nc is a compile-time constant, so the class loop below is
    unrolled at compile time with the rows held in registers: the loop over q vectorises.
    Writes out[0, q] (lanes still undecided) and out[1, q] (lanes accepted so far); lanes of
    unlisted classes (p = 1) are accepted.
    """
    nc = len(tag)
    G0, G1, G2, G3 = _group(CL, 0, nc), _group(CL, 1, nc), _group(CL, 2, nc), _group(CL, 3, nc)
    G4, G5, G6, G7 = _group(CL, 4, nc), _group(CL, 5, nc), _group(CL, 6, nc), _group(CL, 7, nc)
    G8, G9, G10, G11 = (_group(CL, 8, nc), _group(CL, 9, nc), _group(CL, 10, nc),
                        _group(CL, 11, nc))
    G12, G13, G14, G15 = (_group(CL, 12, nc), _group(CL, 13, nc), _group(CL, 14, nc),
                          _group(CL, 15, nc))
    for q in range(n):
        uq = np.uint64(q)
        p = px + uq
        x = xrow[p]
        b0, b1, b2, e0, e1 = _counts(x, nrow[p], prow[p], xrow[q0 + uq], xrow[q1 + uq],
                                     xrow[q2 + uq], xrow[q3 + uq], nmask, pmask, kc)
        A = _acc4(G0, nc, b0, b1, b2, e0, e1, x, _Z11)
        if nc > 4:
            A = _acc4(G1, nc - 4, b0, b1, b2, e0, e1, x, A)
        if nc > 8:
            A = _acc4(G2, nc - 8, b0, b1, b2, e0, e1, x, A)
        if nc > 12:
            A = _acc4(G3, nc - 12, b0, b1, b2, e0, e1, x, A)
        if nc > 16:
            A = _acc4(G4, nc - 16, b0, b1, b2, e0, e1, x, A)
            A = _acc4(G5, nc - 20, b0, b1, b2, e0, e1, x, A)
            A = _acc4(G6, nc - 24, b0, b1, b2, e0, e1, x, A)
            A = _acc4(G7, nc - 28, b0, b1, b2, e0, e1, x, A)
        if nc > 32:
            A = _acc4(G8, nc - 32, b0, b1, b2, e0, e1, x, A)
            A = _acc4(G9, nc - 36, b0, b1, b2, e0, e1, x, A)
            A = _acc4(G10, nc - 40, b0, b1, b2, e0, e1, x, A)
            A = _acc4(G11, nc - 44, b0, b1, b2, e0, e1, x, A)
            A = _acc4(G12, nc - 48, b0, b1, b2, e0, e1, x, A)
            A = _acc4(G13, nc - 52, b0, b1, b2, e0, e1, x, A)
            A = _acc4(G14, nc - 56, b0, b1, b2, e0, e1, x, A)
            A = _acc4(G15, nc - 60, b0, b1, b2, e0, e1, x, A)
        u, a = _steps(A, key, ctr_base + pbase[p])
        out[0, q] = u
        out[1, q] = a


@njit(cache=True, nogil=True)
def _flip(xrow, px, n, out):
    """Flip the accepted lanes of the fully decided words of a segment; returns the count."""
    flips = _ZERO
    for q in range(n):
        p = px + np.uint64(q)
        done = out[1, q] if out[0, q] == _ZERO else _ZERO
        xrow[p] ^= done
        flips += popcount64(done)
    return int(flips)


@njit(cache=True, nogil=True)
def _finish(xrow, nrow, prow, px, q0, q1, q2, q3, n, nmask, pmask, kc, CL, key, ctr_base,
            pbase, out):
    """Steps NFIX..63 for the words of a segment left undecided by :func:`_fused`; flips them.

    Lane by lane: the lane's class gives its P, and its bits of r_NFIX, r_NFIX+1, ... are
    compared with P's until they differ (the same decision as the bit-parallel steps).
    """
    flips = 0
    for q in range(n):
        u = out[0, q]
        if u == _ZERO:
            continue
        uq = np.uint64(q)
        p = px + uq
        x = xrow[p]
        b0, b1, b2, e0, e1 = _counts(x, nrow[p], prow[p], xrow[q0 + uq], xrow[q1 + uq],
                                     xrow[q2 + uq], xrow[q3 + uq], nmask, pmask, kc)
        a = out[1, q]
        ctr = ctr_base + pbase[p]
        while u != _ZERO:
            lane = u & (_ZERO - u)          # lowest undecided lane
            u ^= lane
            big_p = _ZERO
            for c in range(CL.shape[0]):
                mk = ((b0 ^ CL[c, 0]) & (b1 ^ CL[c, 1]) & (b2 ^ CL[c, 2])
                      & (((e0 ^ CL[c, 3]) & (e1 ^ CL[c, 4])) | CL[c, 5])
                      & ((x ^ CL[c, 7]) | CL[c, 6]) & CL[c, 8])
                if mk & lane:
                    big_p = CL[c, 9 + NFIX]
            for step in range(NFIX, 64):
                bit_p = (big_p >> np.uint64(63 - step)) & _ONE
                if ((random_u64(key, ctr + np.uint64(step)) & lane) != _ZERO) != (bit_p != _ZERO):
                    if bit_p != _ZERO:
                        a |= lane
                    break
        xrow[p] = x ^ a
        flips += int(popcount64(a))
    return flips


@njit(cache=True, nogil=True, parallel=True)
def _sweeps(work, segs, tag_n, CLn, tag_e, CLe, combined, periodic, keys, pbase, sweep_offset,
            n_sweeps):
    """``n_sweeps`` checkerboard sweeps of the working layout in place; flips per replica.

    Work items (replica, row w) of one half-sweep run in parallel; each updates the words of
    colour ``col`` of row w (block (col + w) mod 2 of the positions), segment by segment.
    segs (S, 8) int64 rows: block, first position, length, the 4 neighbour offsets (position of
    the neighbour minus position; 0 = absent), class-table index.  CLn[k] are the class tables
    of inner rows (and of all rows for periodic time), CLe[k, 0] / CLe[k, 1] those of the rows
    w = 0 / w = L-1 of open time; len(tag_n) and len(tag_e) are their (padded) row counts, so
    each table size is one compiled variant.  Each item's
    result depends only on its own random counters: the outcome is independent of the number
    of threads.  pbase[p] = perm[p] L 64.
    """
    n_rep, n_words, n = work.shape
    n_items = n_rep * n_words
    n_segs = segs.shape[0]
    max_len = 1
    for sg in range(n_segs):
        max_len = max(max_len, segs[sg, 2])
    kc = _ALL if combined else _ZERO
    flips = np.zeros(n_items, dtype=np.int64)
    for s in range(n_sweeps):
        for col in range(2):
            hs = 2 * (sweep_offset + s) + col
            ctr_hs = np.uint64(hs) * np.uint64(n * n_words * 64)
            for it in prange(n_items):
                r = it // n_words
                w = it % n_words
                blk = (col + w) & 1
                key = keys[r]
                xrow = work[r, w]
                if w == n_words - 1:
                    nrow = np.empty(n, dtype=np.uint64)
                    src = work[r, 0]
                    for p in range(n):
                        nrow[p] = (src[p] >> _ONE) | (src[p] << _S63)
                else:
                    nrow = work[r, w + 1]
                if w == 0:
                    prow = np.empty(n, dtype=np.uint64)
                    src = work[r, n_words - 1]
                    for p in range(n):
                        prow[p] = (src[p] << _ONE) | (src[p] >> _S63)
                else:
                    prow = work[r, w - 1]
                edge = -1
                nmask = _ALL
                pmask = _ALL
                if not periodic:
                    if w == 0:
                        edge = 0
                        pmask = ~_ONE
                    if w == n_words - 1:
                        edge = 1
                        nmask = ~(_ONE << _S63)
                ctr_base = ctr_hs + np.uint64(w * 64)
                total = 0
                out = np.empty((2, max_len), dtype=np.uint64)
                for sg in range(n_segs):
                    if segs[sg, 0] != blk:
                        continue
                    px = segs[sg, 1]
                    m = segs[sg, 2]
                    q0 = np.uint64(px + segs[sg, 3])
                    q1 = np.uint64(px + segs[sg, 4])
                    q2 = np.uint64(px + segs[sg, 5])
                    q3 = np.uint64(px + segs[sg, 6])
                    CL = CLn[segs[sg, 7]] if edge < 0 else CLe[segs[sg, 7], edge]
                    if edge < 0:
                        _fused(tag_n, xrow, nrow, prow, np.uint64(px), q0, q1, q2, q3, m, nmask,
                               pmask, kc, CL, key, ctr_base, pbase, out)
                    else:
                        _fused(tag_e, xrow, nrow, prow, np.uint64(px), q0, q1, q2, q3, m, nmask,
                               pmask, kc, CL, key, ctr_base, pbase, out)
                    # finish first: it reads the unflipped neighbourhood of its own words only
                    total += _finish(xrow, nrow, prow, np.uint64(px), q0, q1, q2, q3, m, nmask,
                                     pmask, kc, CL, key, ctr_base, pbase, out)
                    total += _flip(xrow, np.uint64(px), m, out)
                flips[it] += total
    out = np.zeros(n_rep, dtype=np.int64)
    for it in range(n_items):
        out[it // n_words] += flips[it]
    return out
