"""Branch-free scalar building blocks of the local-update kernels (they vectorise under LLVM).

Everything here works on 32-bit lanes, so that one AVX-512 register holds 16 sites:

- :func:`_exp32`: exp(x) in float32 for -80 <= x <= 0 (Cody-Waite reduction x = n ln2 + r,
  |r| <= ln2/2, a degree-5 polynomial fitted for relative error, exact scaling by 2**n through
  the exponent bits); relative error < ``EXP32_ERR``.

Resolution of the acceptance tests built on them: a site is updated with probability
P(round(r) < round(p 2**32)), r the site's uniform 32-bit word (:mod:`.local_uniforms`), p
computed in float32. Both roundings
are float32 (relative 2**-24 each), so the realised probability differs from the exact p by a
relative error below ``PROB_ERR`` (plus exp's and the field's float32 rounding), and
probabilities below 2**-32 are realised as 0. This is far below the statistical resolution of any
run (it would take ~1e14 samples to see a 1e-7 relative bias).
"""

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

EXP32_MIN = -80.0
"""Smallest argument of :func:`_exp32` (e^-80 ~ 1.8e-35, far below the 2**-32 resolution)."""
EXP32_ERR = 4e-7
"""Bound on the relative error of :func:`_exp32` (fit error 1.8e-7 plus float32 rounding)."""
PROB_ERR = 1e-6
"""Bound on the relative error of a realised acceptance probability (exp, field, 2 roundings)."""

F32 = np.float32
_I32 = ir.IntType(32)
_I64 = ir.IntType(64)

_LOG2E = F32(1.4426950408889634)
_SHIFTER = F32(12582912.0)        # 1.5 * 2**23: y + SHIFTER rounds y to an integer (|y| < 2**22)
_LN2_HI = F32(0.693359375)        # Cephes' split of ln 2: n * LN2_HI is exact for |n| < 2**9
_LN2_LO = F32(-2.12194440e-4)
# degree-5 polynomial, relative-error fit of exp on [-ln2/2, ln2/2] (error 1.8e-7; + rounding)
_C1, _C2, _C3 = F32(0.9999996919897242), F32(0.49998894849759323), F32(0.16667574733720403)
_C4, _C5 = F32(0.041915382161642735), F32(0.008297654819805609)
_ONE = F32(1.0)
_TWO_32 = F32(4294967296.0)
_MIN = F32(EXP32_MIN)


def _c32(value):
    return ir.Constant(_I32, value)


@intrinsic
def _inc32(typingctx, acc, flag):
    """int32 ``acc + flag`` (flag a bool), in 32-bit arithmetic.

    Numba widens int32 sums to int64; counters kept in 32 bits vectorise twice as wide.
    """
    if acc != types.int32 or flag != types.boolean:
        return None

    def codegen(context, builder, signature, args):
        return builder.add(args[0], builder.zext(args[1], _I32))

    return types.int32(types.int32, types.boolean), codegen


@intrinsic
def _f32_bits(typingctx, x):
    """Reinterpret a float32 as int32 (LLVM bitcast)."""
    if x != types.float32:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], _I32)

    return types.int32(types.float32), codegen


@intrinsic
def _bits_f32(typingctx, x):
    """Reinterpret an int32 as float32 (LLVM bitcast)."""
    if x != types.int32:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.FloatType())

    return types.float32(types.int32), codegen


@intrinsic
def _shl23_add(typingctx, bits, y_bits):
    """int32 ``bits + (y_bits << 23)``: scales exp's polynomial by 2**n through the exponent bits.

    y = x log2(e) + SHIFTER holds n in its low bits, and SHIFTER's own bits vanish in the
    shift (they are a multiple of 2**9), so the shift adds n to the exponent of ``bits``.
    """
    if bits != types.int32 or y_bits != types.int32:
        return None

    def codegen(context, builder, signature, args):
        return builder.add(args[0], builder.shl(args[1], _c32(23)))

    return types.int32(types.int32, types.int32), codegen


@intrinsic
def _times_spin(typingctx, x, s):
    """float32 ``x s`` for a spin s = +-1 (int8), by flipping the sign bit of x where s < 0.

    Bit for bit ``x * float32(s)`` (rounding is symmetric in the sign), one vector operation
    instead of a conversion and a product.
    """
    if x != types.float32 or s != types.int8:
        return None

    def codegen(context, builder, signature, args):
        sign = builder.and_(builder.sext(args[1], _I32), _c32(-2**31))
        return builder.bitcast(builder.xor(builder.bitcast(args[0], _I32), sign), ir.FloatType())

    return types.float32(types.float32, types.int8), codegen


@njit(cache=True, nogil=True, inline="always", fastmath={"contract"})
def _exp32_scaled(x, scale):
    """exp(x) ``scale`` for float32 x <= 0 (clamped below at EXP32_MIN), ``scale`` a power of 2.

    The scale multiplies the polynomial's coefficients, which changes no bit of the result
    (rounding commutes with powers of 2) and saves the integer addition of its exponent.
    """
    x = max(x, _MIN)
    y = x * _LOG2E + _SHIFTER
    n = y - _SHIFTER
    r = (x - n * _LN2_HI) - n * _LN2_LO
    p = _C5 * scale
    p = p * r + _C4 * scale
    p = p * r + _C3 * scale
    p = p * r + _C2 * scale
    p = p * r + _C1 * scale
    p = p * r + scale
    return _bits_f32(_shl23_add(_f32_bits(p), _f32_bits(y)))


@njit(cache=True, nogil=True, inline="always", fastmath={"contract"})
def _exp32(x):
    """exp(x) for float32 x <= 0, clamped below at EXP32_MIN; relative error < EXP32_ERR."""
    return _exp32_scaled(x, _ONE)


@njit(cache=True, nogil=True, inline="always", fastmath={"contract"})
def _exp32_2p32(x):
    """exp(x) 2**32 for float32 x <= 0, as :func:`_exp32`; for x > 0 any value (callers test x)."""
    return _exp32_scaled(x, _TWO_32)


@njit(cache=True, nogil=True, fastmath={"contract"})
def _exp32_array(x):
    """:func:`_exp32` over a float32 array (tests)."""
    out = np.empty_like(x)
    for k in range(x.size):
        out[k] = _exp32(x[k])
    return out
