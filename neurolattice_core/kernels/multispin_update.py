"""Multi-spin coded Metropolis / heat-bath sweeps (private kernels of :mod:`.multispin`).

Packed layout (see :mod:`.multispin`): bit ``b`` of word ``w`` of neuron ``i`` holds tick
``t = b L + w`` (``T = 64 L``, ``L`` even; 1 = spin +1).  The time neighbour ``t + 1`` of (word
``w``, bit ``b``) is (``w + 1``, ``b``), or for ``w = L - 1`` bit ``b + 1`` of word 0 (a rotation).

Working layout.  A sweep runs on ``work[r, w, p]`` (uint64 (R, L, W + PAD)): word ``w`` of
the neuron at position ``p``; the neurons of colour 0 come first, then those of colour 1 (a
2-colouring ``c_i`` of the neuron graph), then PAD words of padding (a periodic ring also has
two ghost words, see :func:`.multispin_prep._ring_layout`).  A word's checkerboard colour is
``(c_i + w) mod 2``, so the words of one colour in row ``w`` form one contiguous run, cut into
*segments* inside which every equal-time neighbour sits at a constant offset (periodic ring: 1
segment per colour, grid: about one per grid row).  Each segment is one unit-stride loop that
LLVM vectorises (AVX2 / AVX-512), whatever T; it is run for a multiple of PAD words so that no
word is left to a scalar remainder loop.

Acceptance.  Flipping spin ``s`` changes the energy by
``dE = 2 [J (z - 2 a_J) + K (z_K - 2 a_K) + h s]`` where ``a_J`` (``a_K``) counts the anti-aligned
equal-time (temporal) neighbours among the ``z`` (``z_K``) present ones.  The class
``(z, z_K, s, a_J, a_K)`` of a lane fixes its acceptance fraction ``P`` (uint64: the flip is
accepted with probability ``P / 2**64 = floor(p 2**64) / 2**64``, p = Metropolis
``min(1, exp(-beta dE))`` or heat bath ``1 / (1 + exp(beta dE))``), or says "always" (p = 1.0)
or "never" (P = 0).  A lane compares the 64-bit integer ``U`` whose bit ``63 - j`` is its bit of
the random word ``r_j`` with ``P``: accept iff ``U < P``.  The
comparison is lazy and bit-parallel: at step ``j`` the lanes whose bit differs from bit ``63 - j``
of their ``P`` are decided (accepted where ``P`` has the 1); equal lanes stay undecided; lanes
still undecided after 64 steps have ``U == P`` and are rejected.  This is exact, and independent
of the number ``NFIX`` of steps every word takes before the loop over the remaining ones.

Class table rows (uint64, ``NCOL`` columns): 0-4 xor masks selecting the count bits
(b0, b1, b2 of a_J [+ a_K when J == K], e0, e1 of a_K), 5 "any a_K", 6 "any spin", 7 spin xor
mask (all-ones selects s = -1), 8 lane mask (0 for padding rows), 9 .. 9 + NFIX - 1 bit
``63 - j`` of P as a mask, 9 + NFIX: P.  Lanes of unlisted classes (p = 1) are accepted.

Random words: ``counter = (((2 sweep + colour) N + i) L + w) 64``, key per replica.  The words
come in pairs from ARS-5 (:func:`.ars.step_words`: ``r_j, r_{j+1}`` from the block
``(counter + j, 0)``), computed with AES instructions in :mod:`.multispin_vector`.

The segment loops (counts, classes, steps and flips) are :mod:`.multispin_vector`'s explicit
vector code; :func:`_counts` and :func:`_mt` below are their scalar twins, used by the
accumulation of large tables.
"""

import numpy as np
from numba import njit, types
from numba.extending import intrinsic

from . import multispin_vector as vector
from .ars import high_key
from .multispin_vector import ACC, NFIX

NCOL = 10 + NFIX          # columns of a class-table row (spelled out in _class_row)
_ZERO = np.uint64(0)


@intrinsic
def popcount64(typingctx, x):
    """Number of set bits of a uint64 (LLVM ``ctpop``)."""
    if x != types.uint64:
        return None

    def codegen(context, builder, signature, args):
        return builder.ctpop(args[0])

    return types.uint64(types.uint64), codegen


@njit(cache=True, nogil=True, inline="always")
def _class_row(CL, c):
    """Row ``c`` of a class table as a tuple of NCOL scalars (kept in registers by the loops).

    Spelled out: numba's ``to_fixed_tuple`` builds the tuple in a loop that shuffles it through
    the stack, about 2000 instructions per row, which cost more than a short segment's words.
    """
    row = CL[c]
    return (row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7], row[8], row[9],
            row[10], row[11], row[12], row[13], row[14], row[15], row[16], row[17], row[18],
            row[19], row[20], row[21])


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
def _mt(row, b0, b1, b2, e0, e1, x):
    """Lanes of the class ``row`` (a register tuple; columns in the module docstring)."""
    return ((b0 ^ row[0]) & (b1 ^ row[1]) & (b2 ^ row[2])
            & (((e0 ^ row[3]) & (e1 ^ row[4])) | row[5]) & ((x ^ row[7]) | row[6]) & row[8])


@njit(cache=True, nogil=True, inline="always")
def _threshold(m, r, j):
    """Lanes of the class masks ``m`` (tuple) whose P has a 1 at bit 63 - j (rows ``r``)."""
    t = _ZERO
    for c in range(len(m)):
        t |= m[c] & r[c][9 + j]
    return t


@njit(cache=True, nogil=True, inline="always")
def _or_threshold(AC, o, m, r, j):
    """AC[o + 1 + j] |= threshold t_j of the class masks ``m`` (spelled-out step j)."""
    AC[o + np.uint64(1 + j)] |= _threshold(m, r, j)


@njit(cache=True, nogil=True, _nrt=False)
def _accumulate(xrow, nrow, prow, px, q0, q1, q2, q3, n, nmask, pmask, kc, CL, c0, AC):
    """OR the classes c0 .. c0+3 of a segment into AC (tables of more than 8 rows).

    AC (ACC n,) holds the NFIX + 1 accumulators of word q at AC[ACC q + k]: the live lanes
    (k = 0) and the thresholds t_j (k = 1 + j, lanes whose P has a 1 at bit 63 - j).
    Interleaved in one array with constant offsets, so LLVM proves independence and vectorises.
    """
    r = (_class_row(CL, c0), _class_row(CL, c0 + 1),
         _class_row(CL, c0 + 2), _class_row(CL, c0 + 3))
    for q in range(n):
        uq = np.uint64(q)
        p = px + uq
        x = xrow[p]
        b0, b1, b2, e0, e1 = _counts(x, nrow[p], prow[p], xrow[q0 + uq], xrow[q1 + uq],
                                     xrow[q2 + uq], xrow[q3 + uq], nmask, pmask, kc)
        m = (_mt(r[0], b0, b1, b2, e0, e1, x), _mt(r[1], b0, b1, b2, e0, e1, x),
             _mt(r[2], b0, b1, b2, e0, e1, x), _mt(r[3], b0, b1, b2, e0, e1, x))
        o = uq * np.uint64(ACC)
        AC[o] |= m[0] | m[1] | m[2] | m[3]
        _or_threshold(AC, o, m, r, 0)
        _or_threshold(AC, o, m, r, 1)
        _or_threshold(AC, o, m, r, 2)
        _or_threshold(AC, o, m, r, 3)
        _or_threshold(AC, o, m, r, 4)
        _or_threshold(AC, o, m, r, 5)
        _or_threshold(AC, o, m, r, 6)
        _or_threshold(AC, o, m, r, 7)
        _or_threshold(AC, o, m, r, 8)
        _or_threshold(AC, o, m, r, 9)
        _or_threshold(AC, o, m, r, 10)
        _or_threshold(AC, o, m, r, 11)


@njit(cache=True, nogil=True, _nrt=False)
def _segment(xrow, nrow, prow, px, q0, q1, q2, q3, n, m, nmask, pmask, kc, CL, key, ctr_base,
             pbase, AC):
    """Update the ``m`` words of a segment with the class table CL; returns the flips.

    ``n`` >= ``m`` is the number of words the vector loops of :mod:`.multispin_vector` run
    over, a multiple of PAD. Up to 8 classes everything is one loop; larger tables
    (anisotropic couplings with a field, open-time end rows) accumulate their classes four at
    a time in AC first.
    """
    n_rows = CL.shape[0]
    key_hi = high_key(key)
    count = np.uint64(n)
    real = np.uint64(m)
    if n_rows == 2:
        flips = vector.fused2(xrow, nrow, prow, px, q0, q1, q2, q3, count, real, nmask, pmask,
                              kc, CL, key, key_hi, ctr_base, pbase)
    elif n_rows == 4:
        flips = vector.fused4(xrow, nrow, prow, px, q0, q1, q2, q3, count, real, nmask, pmask,
                              kc, CL, key, key_hi, ctr_base, pbase)
    elif n_rows == 8:
        flips = vector.fused8(xrow, nrow, prow, px, q0, q1, q2, q3, count, real, nmask, pmask,
                              kc, CL, key, key_hi, ctr_base, pbase)
    else:
        for k in range(ACC * n):
            AC[k] = _ZERO
        for c0 in range(0, n_rows, 4):
            _accumulate(xrow, nrow, prow, px, q0, q1, q2, q3, n, nmask, pmask, kc, CL, c0, AC)
        flips = vector.decide(AC, CL, xrow, nrow, prow, px, q0, q1, q2, q3, count, real, nmask,
                              pmask, kc, key, key_hi, ctr_base, pbase)
    return int(flips)
