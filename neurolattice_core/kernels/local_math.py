"""Branch-free scalar building blocks of the local-update kernels (they vectorise under LLVM).

Acceptance decisions are *exact* (to double rounding) although the fast path uses a cheap exp
and 32 random bits per site. The trick is lazy evaluation of the comparison ``U < p``:

- ``U = (r + V) / 2**32`` is a uniform variate whose first 32 bits ``r`` come from the fast
  stream; the remaining bits ``V`` (a 53-bit uniform from a second stream) are drawn only if
  needed.
- ``p`` is first bracketed with :func:`_exp_approx` (relative error < ``EXP_APPROX_ERR``) and a
  safety factor ``1 +- MARGIN``: if the whole interval [r, r + 1) / 2**32 lies below the
  bracket the answer is "yes", if above "no". Otherwise (probability about 2**-32 + 2 MARGIN
  per site) the site is marked ambiguous and decided afterwards with libm's exp and ``V``.

The result has the law of an exact comparison with an 85-bit uniform, so nothing is biased
beyond the rounding of p itself.

Functions:

- :func:`_exp_approx`: exp(x) for |x| <= 700 by Cody-Waite range reduction x = n ln2 + r,
  |r| <= ln2 / 2, a degree-6 Taylor polynomial and an exact scaling by 2**n through the exponent
  bits. Truncation error <= e^|r| |r|^7 / 7! < 1.7e-7 relative; with rounding < 2e-7.
- :func:`_u32_to_f64`: an int64 in [0, 2**32) to float64 exactly, without the int64 -> double
  conversion that AVX2 lacks.
"""

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

EXP_CLAMP = 700.0
"""exp arguments are clamped to [-700, 700]: e^-700 < 1e-304 is far below any resolution here."""
EXP_APPROX_ERR = 2e-7
"""Bound on the relative error of :func:`_exp_approx`."""
MARGIN = 1e-6
"""Safety factor of the fast comparison (> EXP_APPROX_ERR plus rounding, with room to spare)."""
TWO_32 = 4294967296.0

_SHIFTER = 6755399441055744.0  # 1.5 * 2**52: x + SHIFTER rounds x to an integer (|x| < 2**51)
_TWO_52_BITS = np.int64(0x4330000000000000)  # bits of 2**52
_TWO_52 = 4503599627370496.0
_LOG2E = 1.4426950408889634
_LN2_HI = 6.93147180369123816490e-01  # fdlibm split of ln 2: n * LN2_HI is exact for |n| < 2**11
_LN2_LO = 1.90821492927058770002e-10
_C6 = 1.0 / 720.0
_C5 = 1.0 / 120.0
_C4 = 1.0 / 24.0
_C3 = 1.0 / 6.0


@intrinsic
def _f64_bits(typingctx, x):
    """Reinterpret a float64 as int64 (LLVM bitcast)."""
    if x != types.float64:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(64))

    return types.int64(types.float64), codegen


@intrinsic
def _bits_f64(typingctx, x):
    """Reinterpret an int64 as float64 (LLVM bitcast)."""
    if x != types.int64:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())

    return types.float64(types.int64), codegen


@njit(cache=True, nogil=True, inline="always")
def _u32_to_f64(r):
    """Exact float64 of an int64 0 <= r < 2**32: bits of 2**52 + r, minus 2**52."""
    return _bits_f64(r | _TWO_52_BITS) - _TWO_52


@njit(cache=True, nogil=True, inline="always")
def _exp_approx(x):
    """exp(x) for -700 <= x <= 700 within relative error EXP_APPROX_ERR; branch-free."""
    y = x * _LOG2E + _SHIFTER
    n = y - _SHIFTER
    ni = _f64_bits(y) - _f64_bits(_SHIFTER)
    r = (x - n * _LN2_HI) - n * _LN2_LO
    p = _C6
    p = p * r + _C5
    p = p * r + _C4
    p = p * r + _C3
    p = p * r + 0.5
    p = p * r + 1.0
    p = p * r + 1.0
    return _bits_f64(_f64_bits(p) + (ni << 52))


@njit(cache=True, nogil=True)
def _exp_approx_array(x):
    """:func:`_exp_approx` over a float64 array (tests, benchmarks)."""
    out = np.empty_like(x)
    for k in range(x.size):
        out[k] = _exp_approx(x[k])
    return out


@njit(cache=True, nogil=True)
def _u32_to_f64_array(r):
    """:func:`_u32_to_f64` over an int64 array (tests)."""
    out = np.empty(r.size)
    for k in range(r.size):
        out[k] = _u32_to_f64(r[k])
    return out
