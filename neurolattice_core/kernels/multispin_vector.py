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

The loops compute what :mod:`.multispin_update` documents, for each word of a segment: the
bit-sliced anti-aligned counts, the lanes of each class, the lazy comparison of every lane
with its class's P, the flips of the accepted lanes and their count. The first ``NFIX`` steps
run on every vector, branch-free; the rare vectors with lanes still tied after them (about one
in ten) take steps NFIX..63 in a loop of four steps at a time until no lane is tied.

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
_TERNLOG = LANES == 8


def _align_frame(function):
    """Make LLVM realign the stack frame of ``function`` (llvmlite IR) to a cache line.

    The loops keep more vectors live than there are registers, so LLVM spills some and
    reloads them in the loop. Numba's functions keep the stack only 16-byte aligned, and the
    operating system starts the stack at a random place in every process: in 3 processes of 4
    the 64-byte spill slots straddled two cache lines, and every reload was a split load (1
    thread, 256 x 256: 11.5-11.9 flips/ns in those processes, 13.6 in the others; realigned,
    13.8-13.9 in every process).
    """
    # llvmlite prints alignstack only beside another attribute; Numba's functions report
    # errors through their return status and never unwind
    function.attributes.add("nounwind")
    function.attributes.alignstack = 64


class _Emitter:
    """IR helpers for vectors of ``lanes`` uint64 values."""

    def __init__(self, builder, lanes):
        self.b = builder
        self.lanes = lanes
        _align_frame(builder.function)
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

    def masked_store(self, value, base, index, lanes):
        """Store the lanes of ``value`` where ``lanes`` (<LANES x i1>) is set, at base[index]."""
        ptr = self.b.bitcast(self.b.gep(base, [index]), self.vec.as_pointer())
        fn = cgutils.get_or_insert_function(
            self.b.module, ir.FunctionType(ir.VoidType(), [self.vec, ptr.type, _I32, lanes.type]),
            f"llvm.masked.store.v{self.lanes}i64.p0")
        self.b.call(fn, [value, ptr, _I32(8), lanes])

    def not_(self, v):
        return self.b.xor(v, self.ones)

    def any_set(self, v):
        """Whether any bit of the vector ``v`` is set (an i1)."""
        lanes_set = self.b.icmp_unsigned("!=", v, self.zero)
        return self.b.icmp_unsigned("!=", self.b.bitcast(lanes_set, ir.IntType(self.lanes)),
                                    ir.Constant(ir.IntType(self.lanes), 0))

    def ternary(self, truth, a, b, c, plain):
        """truth(a, b, c) bitwise: one vpternlogq with AVX-512, else ``plain(a, b, c)``.

        ``truth`` maps three bits (0 or 1) to one; ``plain`` builds the same function from
        logic instructions. LLVM merges most logic trees into vpternlogq itself, but not those
        that share a subexpression (each step's ``random xor threshold`` feeds two of them).
        """
        if not _TERNLOG:
            return plain(a, b, c)
        imm = sum(truth(i >> 2 & 1, i >> 1 & 1, i & 1) << i for i in range(8))
        fn = cgutils.get_or_insert_function(
            self.b.module, ir.FunctionType(self.vec, [self.vec] * 3 + [_I32]),
            "llvm.x86.avx512.pternlog.q.512")
        return self.b.call(fn, [a, b, c, _I32(imm)])


class _Words:
    """Each lane's random words r_j, r_{j+1} (j even) from its counter (ARS-5 pairs)."""

    def __init__(self, context, em, key_lo, key_hi, software):
        self.context, self.em, self.software = context, em, software
        b = em.b
        self.key_lo, self.key_hi = key_lo, key_hi
        if software:
            return
        self.keys = []
        lo, hi = key_lo, key_hi
        for _ in range(ROUNDS):
            lo = b.add(lo, _I64(int(WEYL_LO)))
            hi = b.add(hi, _I64(int(WEYL_HI)))
            self.keys.append(self._broadcast(lo, hi))
        fn_type = ir.FunctionType(em.vec, [em.vec, em.vec])
        self.enc = cgutils.get_or_insert_function(b.module, fn_type, _AES_NAME.format(""))
        self.enc_last = cgutils.get_or_insert_function(b.module, fn_type,
                                                       _AES_NAME.format("last"))

    def _broadcast(self, lo, hi):
        """The 128-bit value (lo, hi) in every 128-bit half of a vector."""
        b = self.em.b
        pair_type = ir.VectorType(_I64, 2)
        pair = b.insert_element(b.insert_element(ir.Constant(pair_type, ir.Undefined), lo,
                                                 _I32(0)), hi, _I32(1))
        return self.em.shuffle(pair, pair, [0, 1] * (self.em.lanes // 2))

    def words(self, counters, first, count):
        """[r_first .. r_{first+count-1}], vectors of the lanes' words (``first``: i64, even)."""
        out = []
        for j in range(0, count, 2):
            out.extend(self.pair(counters, self.em.b.add(first, _I64(j))))
        return out

    def pair(self, counters, j):
        """(r_j, r_{j+1}) of each lane (counters: a vector; j: an even i64 below 64)."""
        return self._software(counters, j) if self.software else self._hardware(counters, j)

    def encrypt(self, blocks):
        """ARS-5 of the 128-bit blocks (lanes 2b, 2b + 1 = low, high half of block b)."""
        em, b = self.em, self.em.b
        if self.software:
            pair = types.UniTuple(types.uint64, 2)
            sig = pair(types.uint64, types.uint64, types.uint64, types.uint64)
            out = blocks
            for lane in range(0, em.lanes, 2):
                result = self.context.compile_internal(
                    b, lambda klo, khi, lo, hi: ars5(klo, khi, lo, hi), sig,
                    [self.key_lo, self.key_hi, b.extract_element(blocks, _I32(lane)),
                     b.extract_element(blocks, _I32(lane + 1))])
                for k in range(2):
                    out = b.insert_element(out, b.extract_value(result, k), _I32(lane + k))
            return out
        v = b.xor(blocks, self._broadcast(self.key_lo, self.key_hi))
        for key in self.keys[:-1]:
            v = b.call(self.enc, [v, key])
        return b.call(self.enc_last, [v, self.keys[-1]])

    def _hardware(self, counters, j):
        em, b = self.em, self.em.b
        lanes = em.lanes
        # counters are multiples of 64, so (counter + j, 0) xor k_0 = (counter, 0) xor
        # (k_0 with j in its low half): one xor per block
        whiten = self._broadcast(b.xor(self.key_lo, j), self.key_hi)
        # the blocks (counter, 0) of the even lanes and of the odd lanes: a block's two output
        # words then sit in its lane's 128-bit half, and splitting them needs no lane crossing
        ys = []
        for parity in (0, 1):
            v = em.shuffle(counters, em.zero, sum(([k, lanes] for k in range(parity, lanes, 2)),
                                                  []))
            v = b.xor(v, whiten)
            for key in self.keys[:-1]:
                v = b.call(self.enc, [v, key])
            ys.append(b.call(self.enc_last, [v, self.keys[-1]]))
        # lane L takes word `half` of block L // 2 of ys[L % 2]
        return [em.shuffle(ys[0], ys[1], [(lane % 2) * lanes + (lane // 2) * 2 + half
                                          for lane in range(lanes)]) for half in range(2)]

    def _software(self, counters, j):
        em, b = self.em, self.em.b
        pair = types.UniTuple(types.uint64, 2)
        sig = pair(types.uint64, types.uint64, types.uint64, types.uint64)
        out = [ir.Constant(em.vec, ir.Undefined) for _ in range(2)]
        for lane in range(em.lanes):
            counter = b.extract_element(counters, _I32(lane))
            result = self.context.compile_internal(
                b, lambda klo, khi, lo, hi: ars5(klo, khi, lo, hi), sig,
                [self.key_lo, self.key_hi, b.add(counter, j), _I64(0)])
            for k in range(2):
                out[k] = b.insert_element(out[k], b.extract_value(result, k), _I32(lane))
        return out


def _steps(em, live, thresholds, words):
    """The NFIX branch-free lazy-comparison steps: (tied, below) lanes.

    ``tied``: the live lanes whose random bits equal their thresholds on every step;
    ``below``: the lanes whose first differing random bit is 0 (accepted: U < P). Run from
    the last step to the first: a lane's outcome is that of the first step whose random bit
    differs from its threshold bit, so each step overrides what the later ones decided. That
    takes one three-input selection per step, where the first-to-last order needs two
    operations to record an acceptance and one to retire the decided lanes.
    """
    b = em.b
    below = em.zero                 # random prefix < threshold prefix on steps j..NFIX-1
    tied = live
    for j in reversed(range(NFIX)):
        t = thresholds(j)
        below = em.ternary(lambda r, p, w: p if r != p else w, words[j], t, below,
                           lambda r, p, w: _select(b, b.xor(r, p), p, w))
        tied = em.ternary(lambda e, r, p: e & (r == p), tied, words[j], t,
                          lambda e, r, p: b.and_(e, em.not_(b.xor(r, p))))
    return tied, below


def _late_steps(em, words, counters, tied, below, late_thresholds):
    """Steps NFIX..63, four at a time, while a lane of the vector is tied; returns ``below``.

    Taken by about one vector in ten. ``late_thresholds()``, called on entry, returns the
    function j (i64) -> threshold bits of step j. Lanes tied after step 63 have U == P and are
    rejected.
    """
    b = em.b
    tied_at = cgutils.alloca_once_value(b, tied)
    below_at = cgutils.alloca_once_value(b, below)
    with cgutils.if_unlikely(b, em.any_set(tied)):
        threshold = late_thresholds()
        step_at = cgutils.alloca_once_value(b, _I64(NFIX))
        head, body, done = (b.append_basic_block(f"late.{name}")
                            for name in ("head", "body", "done"))
        b.branch(head)
        b.position_at_end(head)
        step = b.load(step_at)
        b.cbranch(b.and_(b.icmp_unsigned("<", step, _I64(64)), em.any_set(b.load(tied_at))),
                  body, done)
        b.position_at_end(body)
        tied, below = b.load(tied_at), b.load(below_at)
        for k, r in enumerate(words.words(counters, step, 4)):
            t = threshold(b.add(step, _I64(k)))
            accepted = em.ternary(lambda e, p, r: e & p & (1 - r), tied, t, r,
                                  lambda e, p, r: b.and_(b.and_(e, p), em.not_(r)))
            below = b.or_(below, accepted)
            tied = em.ternary(lambda e, r, p: e & (r == p), tied, r, t,
                              lambda e, r, p: b.and_(e, em.not_(b.xor(r, p))))
        b.store(tied, tied_at)
        b.store(below, below_at)
        b.store(b.add(step, _I64(4)), step_at)
        b.branch(head)
        b.position_at_end(done)
    return b.load(below_at)


def _bit_mask(b, value, j):
    """All ones if bit 63 - j of the scalar ``value`` is 1, else 0 (i64; j an i64)."""
    return b.sub(_I64(0), b.and_(b.lshr(value, b.sub(_I64(63), j)), _I64(1)))


def _select(b, mask, if_set, if_clear):
    """Bits of ``if_set`` where ``mask`` is 1, of ``if_clear`` where it is 0."""
    inverse = b.xor(mask, ir.Constant(mask.type, [-1] * mask.type.count))
    return b.or_(b.and_(mask, if_set), b.and_(inverse, if_clear))


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


class _Outcome:
    """Flips the accepted lanes of a vector of words in place and counts them.

    Words past the segment's ``m`` (the loops run in whole vectors) are neither written nor
    counted: they may belong to another segment, or to another thread's part of the row.
    """

    def __init__(self, em, xs, m):
        self.em, self.xs = em, xs
        self.m = em.splat(m)
        self.lane_index = ir.Constant(em.vec, list(range(em.lanes)))
        self.flips = cgutils.alloca_once_value(em.b, em.zero)

    def write(self, q, p, x, live, below):
        em, b = self.em, self.em.b
        inside = b.icmp_unsigned("<", b.add(em.splat(q), self.lane_index), self.m)
        accepted = b.select(inside, b.or_(em.not_(live), below), em.zero)
        em.masked_store(b.xor(x, accepted), self.xs, p, inside)
        ctpop = cgutils.get_or_insert_function(b.module, ir.FunctionType(em.vec, [em.vec]),
                                               f"llvm.ctpop.v{em.lanes}i64")
        b.store(b.add(b.load(self.flips), b.call(ctpop, [accepted])), self.flips)

    def total_flips(self):
        em, b = self.em, self.em.b
        fn = cgutils.get_or_insert_function(
            b.module, ir.FunctionType(_I64, [em.vec]), f"llvm.vector.reduce.add.v{em.lanes}i64")
        return b.call(fn, [b.load(self.flips)])


def _table_item(context, builder, aryty, table, row, column):
    """CL[row, column] (row: an intp value or int)."""
    index = [row if isinstance(row, ir.Value) else context.get_constant(types.intp, row),
             context.get_constant(types.intp, column)]
    return builder.load(cgutils.get_item_pointer(context, builder, aryty, table, index))


_LOOP_DOC = """Flips the lanes accepted among the first ``m`` words in place and returns how many.
    The loop runs over ``n >= m`` words (a whole number of vectors) and reads up to ``n``."""


def _make_fused(n_rows, software):
    """The fused segment loop for class tables of ``n_rows`` rows (see module docstring)."""

    @intrinsic
    def fused(typingctx, xrow, nrow, prow, px, q0, q1, q2, q3, n, m, nmask, pmask, kc, CL,
              key_lo, key_hi, ctr_base, pbase):
        sig = types.uint64(xrow, nrow, prow, px, q0, q1, q2, q3, n, m, nmask, pmask, kc, CL,
                           key_lo, key_hi, ctr_base, pbase)

        def codegen(context, builder, signature, args):
            (xrow_v, nrow_v, prow_v, px_v, q0_v, q1_v, q2_v, q3_v, n_v, m_v, nmask_v, pmask_v,
             kc_v, cl_v, key_lo_v, key_hi_v, ctr_v, pbase_v) = args
            ty = signature.args
            em = _Emitter(builder, LANES)
            xs, ns, ps, bases = (_array(context, builder, ty[k], args[k]).data
                                 for k in (0, 1, 2, 17))
            outcome = _Outcome(em, xs, m_v)
            table = _array(context, builder, ty[13], cl_v)
            scalars = [[_table_item(context, builder, ty[13], table, c, k)
                        for k in range(10 + NFIX)] for c in range(n_rows)]
            rows = [[em.splat(v) for v in row] for row in scalars]
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

                def late_thresholds():
                    def threshold(j):
                        t = em.zero
                        for mask, row in zip(masks, scalars, strict=True):
                            bit = em.splat(_bit_mask(builder, row[9 + NFIX], j))
                            t = builder.or_(t, builder.and_(mask, bit))
                        return t
                    return threshold

                counters = builder.add(ctr, em.load(bases, p))
                r = words.words(counters, _I64(0), NFIX)
                tied, below = _steps(em, live, thresholds, r)
                below = _late_steps(em, words, counters, tied, below, late_thresholds)
                outcome.write(q, p, x, live, below)
            return outcome.total_flips()

        return sig, codegen

    fused.__doc__ = f"""The steps of a segment's words with a {n_rows}-row class table.

    {_LOOP_DOC}"""
    return fused


def _make_decide(software):
    """The steps from accumulated class masks (multispin_update._accumulate's AC)."""

    @intrinsic
    def decide(typingctx, AC, CL, xrow, nrow, prow, px, q0, q1, q2, q3, n, m, nmask, pmask, kc,
               key_lo, key_hi, ctr_base, pbase):
        sig = types.uint64(AC, CL, xrow, nrow, prow, px, q0, q1, q2, q3, n, m, nmask, pmask,
                           kc, key_lo, key_hi, ctr_base, pbase)

        def codegen(context, builder, signature, args):
            (ac_v, cl_v, xrow_v, nrow_v, prow_v, px_v, q0_v, q1_v, q2_v, q3_v, n_v, m_v,
             nmask_v, pmask_v, kc_v, key_lo_v, key_hi_v, ctr_v, pbase_v) = args
            ty = signature.args
            em = _Emitter(builder, LANES)
            acc = _array(context, builder, ty[0], ac_v).data
            table = _array(context, builder, ty[1], cl_v)
            n_rows = builder.extract_value(table.shape, 0)
            xs, ns, ps, bases = (_array(context, builder, ty[k], args[k]).data
                                 for k in (2, 3, 4, 18))
            outcome = _Outcome(em, xs, m_v)
            nmask, pmask, kc = (em.splat(v) for v in (nmask_v, pmask_v, kc_v))
            ctr = em.splat(ctr_v)
            words = _Words(context, em, key_lo_v, key_hi_v, software)
            with cgutils.for_range_slice(builder, _I64(0), n_v, _I64(LANES)) as (q, _):
                p = builder.add(px_v, q)
                x = em.load(xs, p)
                live = em.gather(acc, q, ACC, 0)

                def late_thresholds():   # every row's class lanes again, per late step
                    neighbours = [em.load(xs, builder.add(qd, q))
                                  for qd in (q0_v, q1_v, q2_v, q3_v)]
                    counts = _counts(em, x, em.load(ns, p), em.load(ps, p), neighbours, nmask,
                                     pmask, kc, em.not_(kc))

                    def threshold(j):
                        t_at = cgutils.alloca_once_value(builder, em.zero)
                        with cgutils.for_range(builder, n_rows) as loop:
                            row = [em.splat(_table_item(context, builder, ty[1], table,
                                                        loop.index, k)) for k in range(9)]
                            p_row = _table_item(context, builder, ty[1], table, loop.index,
                                                9 + NFIX)
                            lanes = _class_lanes(em, row, *counts, x)
                            bit = em.splat(_bit_mask(builder, p_row, j))
                            builder.store(builder.or_(builder.load(t_at),
                                                      builder.and_(lanes, bit)), t_at)
                        return builder.load(t_at)
                    return threshold

                counters = builder.add(ctr, em.load(bases, p))
                r = words.words(counters, _I64(0), NFIX)
                tied, below = _steps(em, live, lambda j: em.gather(acc, q, ACC, 1 + j), r)
                below = _late_steps(em, words, counters, tied, below, late_thresholds)
                outcome.write(q, p, x, live, below)
            return outcome.total_flips()

        return sig, codegen

    decide.__doc__ = f"""The steps of a segment's words from accumulated class masks.

    {_LOOP_DOC}"""
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
