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
mask (all-ones selects s = -1), 8 lane mask, 9 live (needs randomness), 10 never accepted,
11 .. 11 + NFIX - 1 bit ``63 - j`` of P as a mask, 11 + NFIX: P.  Unlisted lanes are accepted.

Random counters: ``counter = (((2 sweep + colour) N + i) L + w) 64`` (+ ``j``), key per replica.
"""

import numpy as np
from numba import njit, prange, types
from numba.extending import intrinsic

from .rng import random_u64

NFIX = 8                  # branch-free comparison steps of the vectorised pass
NCOL = 12 + NFIX          # columns of a class-table row
_ZERO = np.uint64(0)
_ONE = np.uint64(1)
_ALL = np.uint64(0xFFFFFFFFFFFFFFFF)
_S63 = np.uint64(63)


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


@njit(cache=True, nogil=True, inline="always")
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


@njit(cache=True, nogil=True, inline="always")
def _minterm(CL, c, b0, b1, b2, e0, e1, x):
    return ((b0 ^ CL[c, 0]) & (b1 ^ CL[c, 1]) & (b2 ^ CL[c, 2])
            & (((e0 ^ CL[c, 3]) & (e1 ^ CL[c, 4])) | CL[c, 5])
            & ((x ^ CL[c, 7]) | CL[c, 6]) & CL[c, 8])


@njit(cache=True, nogil=True)
def _fused(tag, xrow, nrow, prow, px, q0, q1, q2, q3, n, nmask, pmask, kc, CL, key, ctr_base,
           pbase, und, acc):
    """One segment: counts, classes, NFIX lazy-comparison steps and the flips, vectorised.

    Positions px .. px+n-1 of the working row ``xrow``; the d-th equal-time neighbour of
    position px + q is at ``q_d + q``.  ``nrow``/``prow`` are the (already rotated) time
    neighbours, ``nmask``/``pmask`` clear missing temporal bonds, ``kc`` is all-ones when the
    temporal count is merged into the main count (J == K).  ``len(tag)`` (a compile-time
    constant) is the number of class-table rows ``CL`` used.  Words whose lanes are all decided
    are flipped here; the others keep und[q] != 0 (undecided lanes) and acc[q] (accepted so far)
    for :func:`_finish`.  Returns the number of flips done.
    """
    nc = len(tag)
    flips = _ZERO
    for q in range(n):
        uq = np.uint64(q)
        p = px + uq
        x = xrow[p]
        b0, b1, b2, e0, e1 = _counts(x, nrow[p], prow[p], xrow[q0 + uq], xrow[q1 + uq],
                                     xrow[q2 + uq], xrow[q3 + uq], nmask, pmask, kc)
        u = _ZERO
        nev = _ZERO
        t0 = _ZERO
        t1 = _ZERO
        t2 = _ZERO
        t3 = _ZERO
        t4 = _ZERO
        t5 = _ZERO
        t6 = _ZERO
        t7 = _ZERO
        for c in range(nc):
            mk = _minterm(CL, c, b0, b1, b2, e0, e1, x)
            u |= mk & CL[c, 9]
            nev |= mk & CL[c, 10]
            t0 |= mk & CL[c, 11]
            t1 |= mk & CL[c, 12]
            t2 |= mk & CL[c, 13]
            t3 |= mk & CL[c, 14]
            t4 |= mk & CL[c, 15]
            t5 |= mk & CL[c, 16]
            t6 |= mk & CL[c, 17]
            t7 |= mk & CL[c, 18]
        a = ~(u | nev)
        ctr = ctr_base + pbase[p]
        for j, t in enumerate((t0, t1, t2, t3, t4, t5, t6, t7)):
            d = random_u64(key, ctr + np.uint64(j)) ^ t
            a |= u & d & t
            u &= ~d
        und[q] = u
        acc[q] = a
        done = a if u == _ZERO else _ZERO
        xrow[p] = x ^ done
        flips += popcount64(done)
    return flips


@njit(cache=True, nogil=True)
def _finish(xrow, nrow, prow, px, q0, q1, q2, q3, n, nmask, pmask, kc, CL, key, ctr_base,
            pbase, und, acc):
    """Steps NFIX..63 for the words of a segment left undecided by :func:`_fused`; flips them."""
    flips = 0
    for q in range(n):
        u = und[q]
        if u == _ZERO:
            continue
        uq = np.uint64(q)
        p = px + uq
        x = xrow[p]
        b0, b1, b2, e0, e1 = _counts(x, nrow[p], prow[p], xrow[q0 + uq], xrow[q1 + uq],
                                     xrow[q2 + uq], xrow[q3 + uq], nmask, pmask, kc)
        a = acc[q]
        ctr = ctr_base + pbase[p]
        step = NFIX
        while u != _ZERO and step < 64:
            sh = np.uint64(63 - step)
            t = _ZERO
            for c in range(CL.shape[0]):
                if CL[c, 9] != _ZERO and (CL[c, 11 + NFIX] >> sh) & _ONE:
                    t |= _minterm(CL, c, b0, b1, b2, e0, e1, x)
            d = random_u64(key, ctr + np.uint64(step)) ^ t
            a |= u & d & t
            u &= ~d
            step += 1
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
    w = 0 / w = L-1 of open time; len(tag_n), len(tag_e) are their row counts.  Each item's
    result depends only on its own random counters: the outcome is independent of the number
    of threads.  pbase[p] = perm[p] L 64.
    """
    n_rep, n_words, n = work.shape
    n_items = n_rep * n_words
    n_segs = segs.shape[0]
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
                for sg in range(n_segs):
                    if segs[sg, 0] != blk:
                        continue
                    px = segs[sg, 1]
                    m = segs[sg, 2]
                    q0 = np.uint64(px + segs[sg, 3])
                    q1 = np.uint64(px + segs[sg, 4])
                    q2 = np.uint64(px + segs[sg, 5])
                    q3 = np.uint64(px + segs[sg, 6])
                    und = np.empty(m, dtype=np.uint64)
                    acc = np.empty(m, dtype=np.uint64)
                    CL = CLn[segs[sg, 7]] if edge < 0 else CLe[segs[sg, 7], edge]
                    if edge < 0:
                        total += int(_fused(tag_n, xrow, nrow, prow, np.uint64(px), q0, q1, q2,
                                            q3, m, nmask, pmask, kc, CL, key, ctr_base, pbase,
                                            und, acc))
                    else:
                        total += int(_fused(tag_e, xrow, nrow, prow, np.uint64(px), q0, q1, q2,
                                            q3, m, nmask, pmask, kc, CL, key, ctr_base, pbase,
                                            und, acc))
                    total += _finish(xrow, nrow, prow, np.uint64(px), q0, q1, q2, q3, m, nmask,
                                     pmask, kc, CL, key, ctr_base, pbase, und, acc)
                flips[it] += total
    out = np.zeros(n_rep, dtype=np.int64)
    for it in range(n_items):
        out[it // n_words] += flips[it]
    return out
