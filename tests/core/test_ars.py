"""ARS-5 random words of the fast path: AES round, definition, and the vector loops' words."""

import numpy as np
import pytest
from numba import njit

from neurolattice_core.kernels import multispin_vector as vector
from neurolattice_core.kernels.ars import SBOX, aes_round, ars5, high_key, step_words
from neurolattice_core.kernels.multispin_update import ACC, NCOL, _accumulate, _counts, _mt
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


PX, OFFSETS = 3, (5, 6, 9, 11)          # segment start and neighbour offsets of the tests
N_WORDS, M_WORDS = 2048, 2045           # words the loops run over; words of the segment
MASKS = (_ALL, ~np.uint64(1), _ALL)     # nmask, pmask, kc (t = 0 has no t - 1)


def _segment_inputs(rng, n_rows):
    """Random rows x, nx, pv; a class table of disjoint classes; counter offsets.

    Row c selects the lanes whose count (b0, b1, b2) is (c + 3) % 8 (3 and 4 are the most
    frequent counts) and, for tables of more than 8 rows, whose spin is c // 8.
    """
    size = 2 * N_WORDS + 32
    words = [rng.integers(0, 2**63, size, dtype=np.uint64) * np.uint64(2)
             + rng.integers(0, 2, size, dtype=np.uint64) for _ in range(3)]
    table = np.zeros((n_rows, NCOL), dtype=np.uint64)
    for c in range(n_rows):
        count = (c + 3) % 8
        table[c, :3] = [_ALL * np.uint64(1 - (count >> k & 1)) for k in range(3)]
        table[c, 5] = _ALL                                       # any temporal count
        table[c, 6] = _ALL if n_rows <= 8 else 0                 # any spin, or spin c // 8
        table[c, 7] = _ALL * np.uint64(c // 8)
        table[c, 8] = _ALL
        p = np.uint64(rng.integers(0, 2**63)) * np.uint64(2)
        table[c, 9 + 12] = p
        for j in range(12):
            table[c, 9 + j] = _ALL if (int(p) >> (63 - j)) & 1 else 0
    pbase = np.arange(size, dtype=np.uint64) * np.uint64(64)
    return words, table, pbase


@njit
def _expected(x, nx, pv, table, key, ctr_base, pbase):
    """Spins after the segment update, flips and lanes tied after 12 steps, lane by lane."""
    new = x.copy()
    flips = tied = 0
    nmask, pmask, kc = MASKS
    for q in range(M_WORDS):
        p = PX + q
        b0, b1, b2, e0, e1 = _counts(x[p], nx[p], pv[p], x[p + OFFSETS[0]], x[p + OFFSETS[1]],
                                     x[p + OFFSETS[2]], x[p + OFFSETS[3]], nmask, pmask, kc)
        words = step_words(key, ctr_base + pbase[p], 64)
        for lane in range(64):
            big_p = _ALL
            for c in range(table.shape[0]):
                if (_mt(table[c], b0, b1, b2, e0, e1, x[p]) >> np.uint64(lane)) & np.uint64(1):
                    big_p = table[c, 9 + 12]
            u = np.uint64(0)
            for j in range(64):
                u |= ((words[j] >> np.uint64(lane)) & np.uint64(1)) << np.uint64(63 - j)
            if big_p != _ALL and u >> np.uint64(52) == big_p >> np.uint64(52):
                tied += 1
            if big_p == _ALL or u < big_p:
                new[p] ^= np.uint64(1) << np.uint64(lane)
                flips += 1
    return new, flips, tied


def _fused(loop):
    """njit function running the fused loop ``loop`` on the test's segment."""
    @njit
    def run(x, nx, pv, table, key, ctr_base, pbase):
        nmask, pmask, kc = MASKS
        return loop(x, nx, pv, np.uint64(PX), np.uint64(PX + OFFSETS[0]),
                    np.uint64(PX + OFFSETS[1]), np.uint64(PX + OFFSETS[2]),
                    np.uint64(PX + OFFSETS[3]), np.uint64(N_WORDS), np.uint64(M_WORDS), nmask,
                    pmask, kc, table, key, high_key(key), ctr_base, pbase)
    return run


def _decide(loop):
    """njit function accumulating the test's table and running the decide loop ``loop``."""
    @njit
    def run(x, nx, pv, table, key, ctr_base, pbase):
        px, (nmask, pmask, kc) = np.uint64(PX), MASKS
        q0, q1 = np.uint64(PX + OFFSETS[0]), np.uint64(PX + OFFSETS[1])
        q2, q3 = np.uint64(PX + OFFSETS[2]), np.uint64(PX + OFFSETS[3])
        acc = np.zeros(ACC * N_WORDS, dtype=np.uint64)
        for c0 in range(0, table.shape[0], 4):
            _accumulate(x, nx, pv, px, q0, q1, q2, q3, N_WORDS, nmask, pmask, kc, table, c0,
                        acc)
        return loop(acc, table, x, nx, pv, px, q0, q1, q2, q3, np.uint64(N_WORDS),
                    np.uint64(M_WORDS), nmask, pmask, kc, key, high_key(key), ctr_base, pbase)
    return run


LOOPS = {2: (vector.fused2, vector.software_fused2), 4: (vector.fused4, vector.software_fused4),
         8: (vector.fused8, vector.software_fused8),
         16: (vector.decide, vector.software_decide)}


@pytest.mark.parametrize("n_rows", [2, 4, 8, 16])
def test_vector_loops_flip_the_lanes_of_the_plain_per_lane_comparison(n_rows):
    """The loops with AES instructions (on this CPU) and with the plain-integer words give the
    flips of comparing each lane's U (all 64 words of step_words) with its class's P.

    The segment's last 3 words lie inside the last vector and must stay untouched. Some lanes
    are tied after the 12 branch-free steps (2^-12 of the lanes in a class), so the later
    steps are tested too.
    """
    rng = np.random.default_rng(n_rows)
    (x, nx, pv), table, pbase = _segment_inputs(rng, n_rows)
    key, ctr_base = np.uint64(mix64(np.uint64(n_rows))), np.uint64(7 << 30)
    want, want_flips, tied = _expected(x, nx, pv, table, key, ctr_base, pbase)
    assert tied >= 10 and 0 < want_flips < 64 * M_WORDS
    runner = _fused if n_rows <= 8 else _decide
    for loop in LOOPS[n_rows]:
        got = x.copy()
        flips = runner(loop)(got, nx, pv, table, key, ctr_base, pbase)
        assert flips == want_flips
        assert np.array_equal(got, want)


def test_vector_loops_realign_their_stack_frame_to_a_cache_line():
    """The loops spill vectors: the function's prologue realigns the stack, so that the spill
    slots never straddle two cache lines, wherever the process's stack starts (llvmlite drops
    ``alignstack`` when it is a function's only attribute, which once left it unaligned)."""
    rng = np.random.default_rng(2)
    (x, nx, pv), table, pbase = _segment_inputs(rng, 2)
    run = _fused(vector.fused2)
    run(x, nx, pv, table, np.uint64(1), np.uint64(0), pbase)
    (machine_code,) = run.inspect_asm().values()
    assert "andq\t$-64, %rsp" in machine_code
