"""ARS-5: the AES-based counter generator of the fast path's comparison steps.

ARS-5 (Salmon, Moraes, Dror, Shaw, "Parallel random numbers: as easy as 1, 2, 3", SC 2011;
Random123's ``ars``) passes TestU01's BigCrush. A 128-bit counter block ``(lo, hi)`` and a
128-bit key ``k_0`` give 128 random bits::

    v = block xor k_0
    v = aesenc(v, k_i)       for i = 1..4,    k_i = k_{i-1} + WEYL (each 64-bit half)
    v = aesenclast(v, k_5)

with ``aesenc`` one AES encryption round (SubBytes, ShiftRows, MixColumns, AddRoundKey) and
``aesenclast`` the final one (no MixColumns). A CPU with AES instructions runs one round on
four blocks in one instruction (VAES, 512-bit vectors); :mod:`.multispin_vector` emits those.
This module holds the definition in plain integer code (T-tables), used by tests, by CPUs
without AES instructions and to document the bits: 64-bit halves are little-endian, byte
``b`` of ``lo`` is byte ``b`` of the AES state (column ``b // 4``, row ``b % 4``).
"""

import numpy as np
from numba import njit, uint64

from .rng import mix64

ROUNDS = 5
WEYL_LO = np.uint64(0x9E3779B97F4A7C15)   # Random123's ARS key increment (low, high half)
WEYL_HI = np.uint64(0xBB67AE8584CAA73B)
_HIGH_KEY_LABEL = np.uint64(0x5851F42D4C957F2D)


def _sbox():
    """The AES S-box (FIPS-197 section 5.1.1), uint8 (256,), computed from its definition."""
    def mul(a, b):
        product = 0
        while b:
            if b & 1:
                product ^= a
            a = ((a << 1) ^ (0x1B if a & 0x80 else 0)) & 0xFF
            b >>= 1
        return product

    box = np.zeros(256, dtype=np.uint8)
    for x in range(256):
        inverse = next((y for y in range(1, 256) if mul(x, y) == 1), 0) if x else 0
        b = inverse
        for shift in (1, 2, 3, 4):
            b ^= ((inverse << shift) | (inverse >> (8 - shift))) & 0xFF
        box[x] = b ^ 0x63
    return box


SBOX = _sbox()


def _t_tables():
    """T0..T3 (uint32 (4, 256)): SubBytes and MixColumns of a byte in row r, as a column."""
    s = SBOX.astype(np.uint32)
    s2 = ((s << 1) ^ np.where(s & 0x80, 0x1B, 0)) & 0xFF
    s3 = s2 ^ s
    coefficients = ((s2, s, s, s3), (s3, s2, s, s), (s, s3, s2, s), (s, s, s3, s2))
    tables = np.zeros((4, 256), dtype=np.uint32)
    for r, rows in enumerate(coefficients):
        tables[r] = rows[0] | (rows[1] << 8) | (rows[2] << 16) | (rows[3] << 24)
    return tables


T_TABLES = _t_tables()
_SBOX32 = SBOX.astype(np.uint32)


@njit(cache=True, nogil=True, inline="always")
def _byte(column, row):
    return (column >> np.uint32(8 * row)) & np.uint32(0xFF)


@njit(cache=True, nogil=True, inline="always")
def _column(c0, c1, c2, c3, last):
    """Output column of a round from row 0 of c0, row 1 of c1, row 2 of c2, row 3 of c3."""
    if last:
        v = (_SBOX32[_byte(c0, 0)] | (_SBOX32[_byte(c1, 1)] << np.uint32(8))
             | (_SBOX32[_byte(c2, 2)] << np.uint32(16)) | (_SBOX32[_byte(c3, 3)] << np.uint32(24)))
    else:
        v = (T_TABLES[0, _byte(c0, 0)] ^ T_TABLES[1, _byte(c1, 1)]
             ^ T_TABLES[2, _byte(c2, 2)] ^ T_TABLES[3, _byte(c3, 3)])
    return np.uint64(v)


@njit(cache=True, nogil=True)
def aes_round(lo, hi, key_lo, key_hi, last):
    """One AES round (``aesenc``, or ``aesenclast`` when ``last``) of the state (lo, hi)."""
    low32 = np.uint64(0xFFFFFFFF)
    c0 = np.uint32(lo & low32)
    c1 = np.uint32(lo >> np.uint64(32))
    c2 = np.uint32(hi & low32)
    c3 = np.uint32(hi >> np.uint64(32))
    # output column k takes row r from column k + r (ShiftRows)
    out_lo = _column(c0, c1, c2, c3, last) | (_column(c1, c2, c3, c0, last) << np.uint64(32))
    out_hi = _column(c2, c3, c0, c1, last) | (_column(c3, c0, c1, c2, last) << np.uint64(32))
    return out_lo ^ key_lo, out_hi ^ key_hi


@njit(uint64(uint64), cache=True, nogil=True)
def high_key(key):
    """The high half of the ARS key whose low half is the stream key ``key``."""
    return mix64(key ^ _HIGH_KEY_LABEL)


@njit(cache=True, nogil=True)
def ars5(key_lo, key_hi, block_lo, block_hi):
    """ARS-5 of the counter block (block_lo, block_hi) under the key (key_lo, key_hi).

    Plain integer code (no AES instructions); returns the two 64-bit halves (lo, hi).
    """
    lo = block_lo ^ key_lo
    hi = block_hi ^ key_hi
    for i in range(1, ROUNDS + 1):
        key_lo = key_lo + WEYL_LO
        key_hi = key_hi + WEYL_HI
        lo, hi = aes_round(lo, hi, key_lo, key_hi, i == ROUNDS)
    return lo, hi


@njit(cache=True, nogil=True)
def step_words(key, counter, n_steps):
    """The random words r_0 .. r_{n_steps-1} (n_steps even) of one word of 64 spins.

    Pair ``j, j + 1`` (j even) is ARS-5 of the block ``(counter + j, 0)`` under the key
    ``(key, high_key(key))``: r_j its low half, r_{j+1} its high half.
    """
    out = np.empty(n_steps, dtype=np.uint64)
    key_hi = high_key(key)
    for j in range(0, n_steps, 2):
        out[j], out[j + 1] = ars5(key, key_hi, counter + np.uint64(j), np.uint64(0))
    return out
