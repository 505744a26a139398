"""ARS-5 random words of the fast path: AES round, definition, and the vector loops' words."""

import numpy as np
import pytest
from numba import njit

from neurolattice_core.kernels import multispin_vector as vector
from neurolattice_core.kernels.ars import SBOX, aes_round, ars5, high_key, step_words
from neurolattice_core.kernels.multispin_update import ACC, NCOL
from neurolattice_core.kernels.rng import mix64

_ALL = np.uint64(0xFFFFFFFFFFFFFFFF)


def _halves(data):
    return (np.uint64(int.from_bytes(data[:8], "little")),
            np.uint64(int.from_bytes(data[8:], "little")))


def _aes128_round_keys(key):
    """FIPS-197 section 5.2 key expansion of a 16-byte key: 11 round keys as (lo, hi)."""
    words = [list(key[4 * i:4 * i + 4]) for i in range(4)]
    rcon = 1
    for i in range(4, 44):
        t = list(words[i - 1])
        if i % 4 == 0:
            t = [int(SBOX[b]) for b in t[1:] + t[:1]]
            t[0] ^= rcon
            rcon = (rcon << 1) ^ (0x11B if rcon & 0x80 else 0)
        words.append([a ^ b for a, b in zip(words[i - 4], t, strict=True)])
    return [_halves(bytes(sum(words[4 * r:4 * r + 4], []))) for r in range(11)]


def test_aes_round_gives_the_fips_197_ciphertext():
    # FIPS-197 appendix C.1: AES-128 from aes_round (9 full rounds and the last one).
    keys = _aes128_round_keys(bytes(range(16)))
    lo, hi = _halves(bytes.fromhex("00112233445566778899aabbccddeeff"))
    lo, hi = lo ^ keys[0][0], hi ^ keys[0][1]
    for i in range(1, 11):
        lo, hi = (np.uint64(v) for v in aes_round(lo, hi, keys[i][0], keys[i][1], i == 10))
    cipher = int(lo).to_bytes(8, "little") + int(hi).to_bytes(8, "little")
    assert cipher.hex() == "69c4e0d86a7b0430d8cdb78070b4c55a"


def test_sbox_matches_fips_197_entries():
    assert (SBOX[0x00], SBOX[0x01], SBOX[0x53], SBOX[0xFF]) == (0x63, 0x7C, 0xED, 0x16)


def test_step_words_follow_the_documented_definition():
    key, counter = np.uint64(12345), np.uint64(64 * 777)
    words = step_words(key, counter, 12)
    for j in range(0, 12, 2):
        lo, hi = ars5(key, high_key(key), counter + np.uint64(j), np.uint64(0))
        assert (words[j], words[j + 1]) == (lo, hi)
    assert len(set(words.tolist())) == 12


def test_step_words_are_unbiased_bits():
    # 4000 words of 64 bits: each bit position's mean within 5 standard errors of 1/2.
    words = np.concatenate([step_words(np.uint64(3), np.uint64(64 * c), 12) for c in range(334)])
    bits = (words[:, None] >> np.arange(64, dtype=np.uint64)) & np.uint64(1)
    se = 0.5 / np.sqrt(words.size)
    assert np.all(np.abs(bits.mean(axis=0) - 0.5) < 5 * se)


def _segment_inputs(rng, n_rows, n=64):
    words = [rng.integers(0, 2**63, 2 * n, dtype=np.uint64) * np.uint64(2)
             + rng.integers(0, 2, 2 * n, dtype=np.uint64) for _ in range(3)]
    table = np.zeros((n_rows, NCOL), dtype=np.uint64)
    for c in range(n_rows):
        table[c, :5] = rng.integers(0, 2, 5).astype(np.uint64) * _ALL   # count pattern
        table[c, 5] = _ALL if rng.random() < 0.5 else 0
        table[c, 6] = _ALL if rng.random() < 0.5 else 0
        table[c, 7] = rng.integers(0, 2).astype(np.uint64) * _ALL
        table[c, 8] = _ALL
        p = np.uint64(rng.integers(0, 2**63)) * np.uint64(2)
        table[c, 9 + 12] = p
        for j in range(12):
            table[c, 9 + j] = _ALL if (int(p) >> (63 - j)) & 1 else 0
    pbase = np.arange(2 * n, dtype=np.uint64) * np.uint64(64)
    return words, table, pbase


@njit
def _fused_both(n_rows, x, nx, pv, table, key, pbase, hard, soft):
    args_tail = (np.uint64(3), np.uint64(5), np.uint64(6), np.uint64(9), np.uint64(11),
                 np.uint64(32), _ALL, ~np.uint64(1), _ALL)
    kh = high_key(key)
    c = np.uint64(1 << 20)
    if n_rows == 2:
        vector.fused2(x, nx, pv, *args_tail, table, key, kh, c, pbase, hard)
        vector.software_fused2(x, nx, pv, *args_tail, table, key, kh, c, pbase, soft)
    elif n_rows == 4:
        vector.fused4(x, nx, pv, *args_tail, table, key, kh, c, pbase, hard)
        vector.software_fused4(x, nx, pv, *args_tail, table, key, kh, c, pbase, soft)
    else:
        vector.fused8(x, nx, pv, *args_tail, table, key, kh, c, pbase, hard)
        vector.software_fused8(x, nx, pv, *args_tail, table, key, kh, c, pbase, soft)


@pytest.mark.parametrize("n_rows", [2, 4, 8])
def test_vector_loops_match_their_plain_integer_words(n_rows):
    """The AES-instruction loops (on this CPU) give the bits of the plain-integer ARS-5."""
    rng = np.random.default_rng(n_rows)
    (x, nx, pv), table, pbase = _segment_inputs(rng, n_rows)
    hard = np.zeros((2, 64), dtype=np.uint64)
    soft = np.ones((2, 64), dtype=np.uint64)
    _fused_both(n_rows, x, nx, pv, table, np.uint64(99), pbase, hard, soft)
    assert np.array_equal(hard[:, :32], soft[:, :32])
    accepted = hard[1, :32]
    assert np.any(accepted != 0) and np.any(accepted != _ALL)    # the words decided lanes


@njit
def _decide_both(acc, key, pbase, hard, soft):
    kh = high_key(key)
    vector.decide(acc, np.uint64(2), np.uint64(32), key, kh, np.uint64(7 << 30), pbase, hard)
    vector.software_decide(acc, np.uint64(2), np.uint64(32), key, kh, np.uint64(7 << 30),
                           pbase, soft)


def test_decide_loop_matches_its_plain_integer_words():
    rng = np.random.default_rng(5)
    acc = rng.integers(0, 2**63, ACC * 32, dtype=np.uint64)
    pbase = np.arange(40, dtype=np.uint64) * np.uint64(64)
    hard = np.zeros((2, 32), dtype=np.uint64)
    soft = np.ones((2, 32), dtype=np.uint64)
    _decide_both(acc, np.uint64(mix64(np.uint64(4))), pbase, hard, soft)
    assert np.array_equal(hard, soft)
    live = acc[::ACC]     # lanes outside every class are accepted, never left undecided
    assert np.all(hard[0] & ~live == 0) and np.all(hard[1] & ~live == ~live)
