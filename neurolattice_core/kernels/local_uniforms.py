"""The general path's per-site uniforms: ARS-5 blocks written by a vector pass per segment.

With AES instructions, site k of a segment (replica key ``key``, segment counter ``c``) draws
the 32-bit word

    U_k = word (k mod 4) of ars5(key, high_key(key), c, k // 4)

(:func:`.ars.ars5`; word 0 is the low half of the block's low 64 bits, word 3 the high half of
its high 64 bits), used as float32 (rounded to nearest) against 2**32 p. The segment counter is
``(w N + i) 3 + class`` (sweep w, neuron i): a pure function of (replica, sweep, site), so the
result does not depend on threads, blocks or call boundaries.

The decision loops of :mod:`.local_segment` are vectorised by LLVM, which cannot widen AES
instructions; so :func:`fill_uniforms` writes a segment's uniforms to a small scratch array
first, with one VAES round on ``LANES // 2`` blocks per instruction (the vectors of
:mod:`.multispin_vector`), and the loop reads them back. The keyed integer hash this replaced
took about 16 of the heat-bath loop's 52 vector operations per 16 sites (README).

Kernels built for a CPU without AES instructions (or another architecture) keep that hash,
computed inside the decision loops as before, since ARS-5 in plain integer code ran the
general path three times slower there (Nehalem build, all-to-all 256 x 256: 0.12 against
0.38 flips/ns): word k of the segment is

    hash32(s, k),  s = random_u64(key, c) (SplitMix64)

with hash32 a keyed variant of Wellons' "triple32" (bias 0.02): x = k 0x9E3779B9 + s_lo;
x ^= x >> 17; x *= 0xED5AD4BB; x ^= x >> 11; x ^= s_hi; x *= 0xAC4C1B51; x ^= x >> 15;
x *= 0x31848BAB; x ^= x >> 14 (32-bit words; s_lo, s_hi the halves of s). So a seed gives
other runs on such a CPU than on one with AES instructions (as the float32 rounding of fused
multiply-adds already may).
"""

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

from .multispin_vector import _SOFTWARE, LANES, _array, _Emitter, _Words
from .rng import random_u64

BLOCKS_PER_VECTOR = LANES // 2
"""ARS-5 blocks (4 uniforms each) that one vector instruction encrypts."""
UNIFORMS_PAD = 4 * BLOCKS_PER_VECTOR + 3
"""Extra uint32 cells of a uniforms array beyond the segment's length (alignment, rounding)."""

_I64 = ir.IntType(64)
_GOLDEN32, _M1, _M2, _M3 = 0x9E3779B9, 0xED5AD4BB, 0xAC4C1B51, 0x31848BAB


def _make_fill(software):
    @intrinsic
    def fill(typingctx, U, key_lo, key_hi, counter, first_block, n_blocks):
        if not (isinstance(U, types.Array) and U.dtype == types.uint32 and U.ndim == 1):
            return None
        sig = types.void(U, key_lo, key_hi, counter, first_block, n_blocks)

        def codegen(context, builder, signature, args):
            u_v, key_lo_v, key_hi_v, ctr_v, first_v, count_v = args
            em = _Emitter(builder, LANES)
            words = _Words(context, em, key_lo_v, key_hi_v, software)
            data = _array(context, builder, signature.args[0], u_v).data
            vectors = builder.udiv(builder.add(count_v, _I64(BLOCKS_PER_VECTOR - 1)),
                                   _I64(BLOCKS_PER_VECTOR))
            lanes = range(LANES)
            # block b of the first vector is (counter, first_block + b): lanes 2b, 2b + 1
            quotients = builder.add(em.splat(first_v),
                                    ir.Constant(em.vec, [lane // 2 for lane in lanes]))
            first = em.shuffle(em.splat(ctr_v), quotients,
                               [lane + (LANES if lane % 2 else 0) for lane in lanes])
            step = ir.Constant(em.vec, [BLOCKS_PER_VECTOR * (lane % 2) for lane in lanes])
            blocks_at = cgutils.alloca_once_value(builder, first)
            with cgutils.for_range(builder, vectors) as loop:
                blocks = builder.load(blocks_at)
                index = builder.mul(loop.index, _I64(2 * LANES))   # uint32 cells per vector
                em.store(words.encrypt(blocks), data, index)
                builder.store(builder.add(blocks, step), blocks_at)
            return context.get_dummy_value()

        return sig, codegen

    return fill


def _xorshift(builder, x, shift):
    return builder.xor(x, builder.lshr(x, ir.Constant(x.type, shift)))


def _i32(builder, value):
    return builder.trunc(value, ir.IntType(32)) if value.type != ir.IntType(32) else value


@intrinsic
def _weyl32(typingctx, seed, k):
    """int32 ``k 0x9E3779B9 + s_lo``: where hash32(seed, k) starts (the low half of ``k``)."""
    if seed != types.uint64 or k not in (types.int64, types.uint64):
        return None

    def codegen(context, builder, signature, args):
        golden = ir.Constant(ir.IntType(32), _GOLDEN32)
        return builder.add(builder.mul(_i32(builder, args[1]), golden), _i32(builder, args[0]))

    return types.int32(seed, k), codegen


@intrinsic
def _next_weyl32(typingctx, x):
    """int32 ``x + 0x9E3779B9`` (wrapping): the Weyl value of the next site."""
    if x != types.int32:
        return None

    def codegen(context, builder, signature, args):
        return builder.add(args[0], ir.Constant(ir.IntType(32), _GOLDEN32))

    return types.int32(x), codegen


@intrinsic
def _hash_uniform(typingctx, seed, x):
    """float32 hash32(seed, k) from the Weyl value x of k (:func:`_weyl32`)."""
    if seed != types.uint64 or x != types.int32:
        return None

    def codegen(context, builder, signature, args):
        i32 = ir.IntType(32)
        seed_v, x = args
        s_hi = _i32(builder, builder.lshr(seed_v, _I64(32)))
        x = builder.mul(_xorshift(builder, x, 17), ir.Constant(i32, _M1))
        x = builder.mul(builder.xor(_xorshift(builder, x, 11), s_hi), ir.Constant(i32, _M2))
        x = builder.mul(_xorshift(builder, x, 15), ir.Constant(i32, _M3))
        return builder.uitofp(_xorshift(builder, x, 14), ir.FloatType())

    return types.float32(seed, x), codegen


fill_uniforms = _make_fill(_SOFTWARE)
fill_uniforms.__doc__ = """Write the ARS-5 uniforms of blocks first_block .. + n_blocks - 1.

    ``U`` (uint32, at least ``4 n_blocks`` rounded up to ``4 BLOCKS_PER_VECTOR`` cells) gets
    U[4 b + j] = word j of ars5(key_lo, key_hi, counter, first_block + b).
    """
software_fill_uniforms = _make_fill(True)   # the same bits without AES instructions (tests)
AES_UNIFORMS = not _SOFTWARE
"""True when the kernels draw ARS-5 uniforms (AES instructions), False for hash32."""


@njit(cache=True, nogil=True, inline="always")
def segment_uniforms(U, key, key_hi, counter, k_lo, n):
    """Prepare the uniforms of the sites k_lo .. k_lo + n - 1 of segment ``counter``.

    With AES instructions writes them to ``U`` (at least n + UNIFORMS_PAD cells; site k_lo + m
    is U[(k_lo mod 4) + m]); returns (seed, Weyl value of k_lo) for :func:`site_uniform`.
    """
    if AES_UNIFORMS:   # blocks k_lo // 4 .. (k_lo + n - 1) // 4
        n_blocks = ((k_lo & 3) + n + 3) >> 2
        fill_uniforms(U, key, key_hi, counter, np.uint64(k_lo >> 2), np.uint64(n_blocks))
        return np.uint64(0), np.int32(0)
    seed = random_u64(key, counter)
    return seed, _weyl32(seed, np.uint64(k_lo))


@njit(cache=True, nogil=True, inline="always")
def site_uniform(U, p, seed, x):
    """float32 word of a site: U[p] with AES instructions, else hash32 of its Weyl value x.

    Loops advance x with :func:`_next_weyl32` (dead code with AES instructions).
    """
    if AES_UNIFORMS:
        return np.float32(U[p])
    return _hash_uniform(seed, x)
