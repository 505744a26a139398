"""The fast path's segment loops written in explicit vectors, with ARS-5 random words.

Half of the fast path's time went to its random words: 12 SplitMix64 words per 64 spins, two
64-bit vector multiplies each. ARS-5 (:mod:`.ars`) makes two words with five AES rounds, and
one VAES instruction runs a round on four blocks. LLVM's loop vectoriser cannot widen AES
instructions, and a separate pass that stored the words for a vectorised loop to read was no
faster (README). So these loops are emitted directly as LLVM IR over vectors of ``LANES``
words: AES rounds on one execution port overlap the counting and comparison logic on the
other.

``LANES`` follows the CPU the kernels are compiled for: 8 (AVX-512 with VAES), 4 (AVX2 with
VAES), 2 (AES-NI). Without AES instructions (or another architecture) the loops take 2 lanes
and compute each word with :func:`.ars.ars5` in plain integer code: the same bits, slowly.

The loops compute what :mod:`.multispin_update` documents: for each word q of a segment the
bit-sliced anti-aligned counts, the lanes of each class, and the first ``NFIX`` lazy
comparison steps, writing out[0, q] (lanes still undecided) and out[1, q] (lanes accepted).

Two facts of the callers save vector instructions: a word's counter ``ctr_base + pbase[p]`` is
a multiple of 64 (each word owns 64 counters), so the block ``(counter + j, 0)`` is ``(counter
xor j, 0)``; and the rows of a class table select disjoint lanes, so a lane's threshold bit is
class 0's bit xor (its class's bit xor class 0's).
"""

import os

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from .._vector_width import compile_target_has
from .ars import ROUNDS, WEYL_HI, WEYL_LO, ars5

NFIX = 12                 # branch-free steps (an even number: ARS-5 gives words in pairs)
ACC = 16                  # accumulator stride of multispin_update's _accumulate (> NFIX)
_I64 = ir.IntType(64)
_I32 = ir.IntType(32)


def _choose_lanes():
    """(lanes, AES instruction name or None) for the CPU the kernels are compiled for."""
    full_width = os.environ.get("NEUROLATTICE_VECTOR_WIDTH", "").strip() != "256"
    if compile_target_has("vaes") and compile_target_has("avx512f") and full_width:
        return 8, "llvm.x86.aesni.aesenc{}.512"
    if compile_target_has("vaes") and compile_target_has("avx2"):
        return 4, "llvm.x86.aesni.aesenc{}.256"
    if compile_target_has("aes"):
        return 2, "llvm.x86.aesni.aesenc{}"
    return 2, None


LANES, _AES_NAME = _choose_lanes()


class _Emitter:
    """IR helpers for vectors of ``lanes`` uint64 values."""

    def __init__(self, builder, lanes):
        self.b = builder
        self.lanes = lanes
        self.vec = ir.VectorType(_I64, lanes)
        self.ones = ir.Constant(self.vec, [-1] * lanes)
        self.zero = ir.Constant(self.vec, [0] * lanes)

    def splat(self, x):
        one = self.b.insert_element(ir.Constant(self.vec, ir.Undefined), x, _I32(0))
        return self.shuffle(one, ir.Constant(self.vec, ir.Undefined), [0] * self.lanes)

    def shuffle(self, a, b, index):
        return self.b.shuffle_vector(a, b, ir.Constant(ir.VectorType(_I32, len(index)), index))

    def load(self, base, index):
        ptr = self.b.bitcast(self.b.gep(base, [index]), self.vec.as_pointer())
        return self.b.load(ptr, align=8)

    def store(self, value, base, index):
        ptr = self.b.bitcast(self.b.gep(base, [index]), self.vec.as_pointer())
        self.b.store(value, ptr, align=8)

    def gather(self, base, index, stride, offset):
        """(base[index * stride + offset], ... for the next lanes - 1 indices), scalar loads."""
        vec = ir.Constant(self.vec, ir.Undefined)
        for lane in range(self.lanes):
            at = self.b.add(self.b.mul(self.b.add(index, _I64(lane)), _I64(stride)), _I64(offset))
            vec = self.b.insert_element(vec, self.b.load(self.b.gep(base, [at])), _I32(lane))
        return vec

    def not_(self, v):
        return self.b.xor(v, self.ones)


class _Words:
    """The NFIX random words of each lane's word of spins, from its counter (ARS-5 pairs)."""

    def __init__(self, context, em, key_lo, key_hi, software):
        self.context, self.em, self.software = context, em, software
        b = em.b
        self.key_lo, self.key_hi = key_lo, key_hi
        if software:
            return
        pair_type = ir.VectorType(_I64, 2)

        def broadcast(lo, hi):
            pair = b.insert_element(b.insert_element(ir.Constant(pair_type, ir.Undefined), lo,
                                                     _I32(0)), hi, _I32(1))
            return em.shuffle(pair, pair, [0, 1] * (em.lanes // 2))

        # counters are multiples of 64, so (counter + j, 0) xor k_0 = (counter, 0) xor
        # (k_0 with j in its low half): one xor per block, with these whitening keys
        self.whiten = [broadcast(b.xor(key_lo, _I64(j)), key_hi) for j in range(0, NFIX, 2)]
        self.keys = []
        lo, hi = key_lo, key_hi
        for _ in range(ROUNDS):
            lo = b.add(lo, _I64(int(WEYL_LO)))
            hi = b.add(hi, _I64(int(WEYL_HI)))
            self.keys.append(broadcast(lo, hi))
        fn_type = ir.FunctionType(em.vec, [em.vec, em.vec])
        self.enc = cgutils.get_or_insert_function(b.module, fn_type, _AES_NAME.format(""))
        self.enc_last = cgutils.get_or_insert_function(b.module, fn_type,
                                                       _AES_NAME.format("last"))

    def words(self, counters):
        """[r_0 .. r_{NFIX-1}], each a vector of the lanes' words (counters: a vector)."""
        return self._software(counters) if self.software else self._hardware(counters)

    def _hardware(self, counters):
        em, b = self.em, self.em.b
        lanes = em.lanes
        # the blocks (counter, 0) of the even lanes and of the odd lanes: a block's two output
        # words then sit in its lane's 128-bit half, and splitting them needs no lane crossing
        blocks = [em.shuffle(counters, em.zero,
                             sum(([k, lanes] for k in range(parity, lanes, 2)), []))
                  for parity in (0, 1)]
        out = []
        for whiten in self.whiten:
            ys = []
            for block in blocks:
                v = b.xor(block, whiten)
                for key in self.keys[:-1]:
                    v = b.call(self.enc, [v, key])
                ys.append(b.call(self.enc_last, [v, self.keys[-1]]))
            for half in range(2):       # lane L takes word `half` of block L // 2 of ys[L % 2]
                out.append(em.shuffle(ys[0], ys[1], [(lane % 2) * lanes + (lane // 2) * 2 + half
                                                     for lane in range(lanes)]))
        return out

    def _software(self, counters):
        em, b = self.em, self.em.b
        pair = types.UniTuple(types.uint64, 2)
        sig = pair(types.uint64, types.uint64, types.uint64, types.uint64)
        out = [ir.Constant(em.vec, ir.Undefined) for _ in range(NFIX)]
        for lane in range(em.lanes):
            counter = b.extract_element(counters, _I32(lane))
            for j in range(0, NFIX, 2):
                result = self.context.compile_internal(
                    b, lambda klo, khi, lo, hi: ars5(klo, khi, lo, hi), sig,
                    [self.key_lo, self.key_hi, b.add(counter, _I64(j)), _I64(0)])
                for k in range(2):
                    out[j + k] = b.insert_element(out[j + k], b.extract_value(result, k),
                                                  _I32(lane))
        return out


def _steps(em, u, a, thresholds, words):
    """The NFIX lazy-comparison steps: (undecided, accepted) lanes."""
    b = em.b
    for j in range(NFIX):
        t = thresholds(j)
        d = b.xor(words[j], t)
        a = b.or_(a, b.and_(b.and_(u, d), t))
        u = b.and_(u, em.not_(d))
    return u, a


def _counts(em, x, nx, pv, neighbours, nmask, pmask, kc, nkc):
    """Bit-sliced anti-aligned counts (b0, b1, b2, e0, e1), as multispin_update._counts."""
    b = em.b
    X, A, O = b.xor, b.and_, b.or_   # noqa: E741 (the logic reads as in multispin_update)
    ak1 = A(X(x, nx), nmask)
    ak2 = A(X(x, pv), pmask)
    a1, a2, a3, a4 = (X(x, v) for v in neighbours)
    a5 = A(ak1, kc)
    a6 = A(ak2, kc)
    t1 = X(a1, a2)
    s1 = X(t1, a3)
    c1 = O(A(a1, a2), A(t1, a3))
    t2 = X(a4, a5)
    s2 = X(t2, a6)
    c2 = O(A(a4, a5), A(t2, a6))
    c3 = A(s1, s2)
    t3 = X(c1, c2)
    return (X(s1, s2), X(t3, c3), O(A(c1, c2), A(t3, c3)),
            A(X(ak1, ak2), nkc), A(A(ak1, ak2), nkc))


def _class_lanes(em, row, b0, b1, b2, e0, e1, x):
    """Lanes of the class ``row`` (vectors of the row's columns), as multispin_update._mt."""
    b = em.b
    X, A, O = b.xor, b.and_, b.or_   # noqa: E741
    counts = A(A(X(b0, row[0]), X(b1, row[1])), X(b2, row[2]))
    temporal = O(A(X(e0, row[3]), X(e1, row[4])), row[5])
    return A(A(counts, temporal), A(O(X(x, row[7]), row[6]), row[8]))


def _array(context, builder, aryty, value):
    return context.make_array(aryty)(context, builder, value)


def _out_rows(context, builder, aryty, value):
    """Pointers to out[0, 0] and out[1, 0] of a 2-D uint64 array."""
    out = _array(context, builder, aryty, value)
    stride = builder.extract_value(out.strides, 0)
    row1 = builder.gep(builder.bitcast(out.data, ir.IntType(8).as_pointer()), [stride])
    return out.data, builder.bitcast(row1, _I64.as_pointer())


def _make_fused(n_rows, software):
    """The fused segment loop for class tables of ``n_rows`` rows (see module docstring)."""

    @intrinsic
    def fused(typingctx, xrow, nrow, prow, px, q0, q1, q2, q3, n, nmask, pmask, kc, CL,
              key_lo, key_hi, ctr_base, pbase, out):
        sig = types.void(xrow, nrow, prow, px, q0, q1, q2, q3, n, nmask, pmask, kc, CL,
                         key_lo, key_hi, ctr_base, pbase, out)

        def codegen(context, builder, signature, args):
            (xrow_v, nrow_v, prow_v, px_v, q0_v, q1_v, q2_v, q3_v, n_v, nmask_v, pmask_v,
             kc_v, cl_v, key_lo_v, key_hi_v, ctr_v, pbase_v, out_v) = args
            ty = signature.args
            em = _Emitter(builder, LANES)
            xs, ns, ps, bases = (_array(context, builder, ty[k], args[k]).data
                                 for k in (0, 1, 2, 16))
            out0, out1 = _out_rows(context, builder, ty[17], out_v)
            table = _array(context, builder, ty[12], cl_v)
            rows = [[em.splat(builder.load(cgutils.get_item_pointer(
                context, builder, ty[12], table,
                [context.get_constant(types.intp, c), context.get_constant(types.intp, k)])))
                for k in range(10 + NFIX)] for c in range(n_rows)]
            # classes are disjoint, so on a lane of class c, P's bit j of class 0 xor
            # (P's bit of class c xor class 0's) is class c's: one and + one xor per class
            deltas = [[builder.xor(row[9 + j], rows[0][9 + j]) for j in range(NFIX)]
                      for row in rows[1:]]
            nmask, pmask, kc = (em.splat(v) for v in (nmask_v, pmask_v, kc_v))
            nkc = em.not_(kc)
            ctr = em.splat(ctr_v)
            words = _Words(context, em, key_lo_v, key_hi_v, software)
            with cgutils.for_range_slice(builder, _I64(0), n_v, _I64(LANES)) as (q, _):
                p = builder.add(px_v, q)
                x = em.load(xs, p)
                neighbours = [em.load(xs, builder.add(qd, q)) for qd in (q0_v, q1_v, q2_v, q3_v)]
                counts = _counts(em, x, em.load(ns, p), em.load(ps, p), neighbours, nmask,
                                 pmask, kc, nkc)
                masks = [_class_lanes(em, row, *counts, x) for row in rows]
                live = masks[0]
                for mask in masks[1:]:
                    live = builder.or_(live, mask)

                def thresholds(j):     # bit j of the lane's class's P, on the live lanes
                    t = rows[0][9 + j]
                    for mask, delta in zip(masks[1:], deltas, strict=True):
                        t = builder.xor(t, builder.and_(mask, delta[j]))
                    return t

                r = words.words(builder.add(ctr, em.load(bases, p)))
                u, a = _steps(em, live, em.not_(live), thresholds, r)
                em.store(u, out0, q)
                em.store(a, out1, q)
            return context.get_dummy_value()

        return sig, codegen

    return fused


def _make_decide(software):
    """The NFIX steps from accumulated class masks (multispin_update._accumulate's AC)."""

    @intrinsic
    def decide(typingctx, AC, px, n, key_lo, key_hi, ctr_base, pbase, out):
        sig = types.void(AC, px, n, key_lo, key_hi, ctr_base, pbase, out)

        def codegen(context, builder, signature, args):
            ac_v, px_v, n_v, key_lo_v, key_hi_v, ctr_v, pbase_v, out_v = args
            ty = signature.args
            em = _Emitter(builder, LANES)
            acc = _array(context, builder, ty[0], ac_v).data
            bases = _array(context, builder, ty[6], pbase_v).data
            out0, out1 = _out_rows(context, builder, ty[7], out_v)
            ctr = em.splat(ctr_v)
            words = _Words(context, em, key_lo_v, key_hi_v, software)
            with cgutils.for_range_slice(builder, _I64(0), n_v, _I64(LANES)) as (q, _):
                live = em.gather(acc, q, ACC, 0)
                r = words.words(builder.add(ctr, em.load(bases, builder.add(px_v, q))))
                u, a = _steps(em, live, em.not_(live),
                              lambda j: em.gather(acc, q, ACC, 1 + j), r)
                em.store(u, out0, q)
                em.store(a, out1, q)
            return context.get_dummy_value()

        return sig, codegen

    return decide


_SOFTWARE = _AES_NAME is None
fused2 = _make_fused(2, _SOFTWARE)
fused4 = _make_fused(4, _SOFTWARE)
fused8 = _make_fused(8, _SOFTWARE)
decide = _make_decide(_SOFTWARE)
# The same loops with the plain-integer words, whatever the CPU (tests compare the two).
software_fused2 = _make_fused(2, True)
software_fused4 = _make_fused(4, True)
software_fused8 = _make_fused(8, True)
software_decide = _make_decide(True)
