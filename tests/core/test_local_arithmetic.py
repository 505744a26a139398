"""The block functions' arithmetic (kernels.local_math, local_uniforms, local_segment).

The float32 exp and its error, the decision shortcuts against the textbook rules bit for bit,
the per-site uniforms against their documented words and for uniformity, one segment's
decisions against the exact rule, and the block loops' vectorisation without overlap checks.
The sampling itself is tested in test_local.py.
"""


import numba
import numpy as np
import pytest

from neurolattice_core.kernels.ars import ars5, high_key
from neurolattice_core.kernels.disjoint import DISJOINT_ARGUMENTS, njit_disjoint
from neurolattice_core.kernels.local_math import (
    EXP32_ERR,
    PROB_ERR,
    _exp32,
    _exp32_2p32,
    _exp32_array,
    _times_spin,
)
from neurolattice_core.kernels.local_segment import _block_all, _block_field, _heatbath, _metropolis
from neurolattice_core.kernels.local_uniforms import (
    AES_UNIFORMS,
    UNIFORMS_PAD,
    _hash_uniform,
    _next_weyl32,
    _weyl32,
    fill_uniforms,
    software_fill_uniforms,
)
from neurolattice_core.kernels.rng import random_u64, stream_key
from tests.core.test_local import random_spins


# ----------------------------------------------------------------------------- float32 rule
def test_exp32_error_bound():
    x = np.concatenate([np.linspace(-80, 0, 800001), -np.logspace(-9, 1.9, 100001),
                        [0.0, -80.0]]).astype(np.float32)
    rel = np.abs(_exp32_array(x).astype(np.float64) / np.exp(x.astype(np.float64)) - 1.0)
    assert rel.max() < EXP32_ERR
    assert _exp32_array(np.array([-1000.0], dtype=np.float32))[0] == np.float32(np.exp(-80.0))



@numba.njit
def _decisions(si, H, m2b, u):
    """(kernel, textbook) Metropolis and heat-bath decisions of every site; bool (4, n).

    Textbook forms: x = (m2b s) H, flip if u < exp(min(x, 0)) 2**32 or x >= 0; heat bath
    sigma = sign(H), e = exp(m2b |H|), flip if (u (1 + e) < e 2**32) == (s == sigma).
    """
    out = np.empty((4, H.size), dtype=np.bool_)
    two32 = np.float32(4294967296.0)
    for k in range(H.size):
        s = np.float32(si[k])
        x = m2b * s * H[k]
        out[0, k] = _metropolis(si[k], H[k], m2b, u[k])
        out[1, k] = (u[k] < _exp32(min(x, np.float32(0.0))) * two32) | (x >= np.float32(0.0))
        sigma = np.float32(1.0) if H[k] >= np.float32(0.0) else np.float32(-1.0)
        e = _exp32(m2b * abs(H[k]))
        out[2, k] = _heatbath(si[k], H[k], m2b, u[k])
        out[3, k] = (u[k] * (np.float32(1.0) + e) < e * two32) == (s == sigma)
    return out


@numba.njit
def _exp32_pairs(x):
    out = np.empty((2, x.size), dtype=np.float32)
    for k in range(x.size):
        out[0, k] = _exp32_2p32(x[k])
        out[1, k] = _exp32(x[k]) * np.float32(4294967296.0)
    return out


@numba.njit
def _times_spin_array(x, s):
    out = np.empty_like(x)
    for k in range(x.size):
        out[k] = _times_spin(x[k], s[k])
    return out


def test_decision_shortcuts_change_no_bit():
    """The kernels' shortcuts (sign flips, exp's 2**32 in its coefficients, the spin compared
    as an integer) decide exactly as the textbook rules, fields of +-0 and extreme x included."""
    rng = np.random.default_rng(11)
    n = 200_000
    H = np.concatenate([rng.normal(0.0, 3.0, n - 6), [0.0, -0.0, 1e-30, -1e-30, 90.0, -90.0]])
    H = H.astype(np.float32)
    si = rng.choice(np.array([-1, 1], dtype=np.int8), H.size)
    u = rng.integers(0, 2**32, H.size, dtype=np.uint64).astype(np.float32)
    H = np.concatenate([H, np.float32([0.0, -0.0, 0.0, -0.0])])   # x = +-0 with the largest u
    si = np.concatenate([si, np.int8([1, 1, -1, -1])])
    u = np.concatenate([u, np.full(4, 2**32 - 1, dtype=np.uint64).astype(np.float32)])
    for m2b in np.float32([-0.05, -0.88, -4.0]):
        metropolis, metropolis_ref, heatbath, heatbath_ref = _decisions(si, H, m2b, u)
        assert np.array_equal(metropolis, metropolis_ref)
        assert np.array_equal(heatbath, heatbath_ref)
        assert 0.05 < metropolis.mean() < 0.95 and 0.05 < heatbath.mean() < 0.95
    x = np.concatenate([np.linspace(-85, 0, 100001), [-0.0, -1e-30]]).astype(np.float32)
    scaled, reference = _exp32_pairs(x)
    assert np.array_equal(scaled.view(np.uint32), reference.view(np.uint32))
    y = np.concatenate([rng.normal(0.0, 5.0, 1000), [0.0, -0.0, np.inf]]).astype(np.float32)
    s = rng.choice(np.array([-1, 1], dtype=np.int8), y.size)
    assert np.array_equal(_times_spin_array(y, s).view(np.uint32),
                          (y * s.astype(np.float32)).view(np.uint32))

@numba.njit
def _ars_blocks(key, counter, n_blocks):
    out = np.empty(2 * n_blocks, dtype=np.uint64)
    key_hi = high_key(key)
    for q in range(n_blocks):
        out[2 * q], out[2 * q + 1] = ars5(key, key_hi, counter, np.uint64(q))
    return out


def _ars_uniforms(key, counter, n):
    """Reference of kernels.local_uniforms: uint32 words 0..n-1 of a segment's ARS-5 blocks."""
    return _ars_blocks(np.uint64(key), np.uint64(counter), -(-n // 4)).view(np.uint32)[:n]


def _hash32(seed, k):
    """Reference of local_uniforms' hash32 in numpy (uint32 words)."""
    seed = int(seed)
    s_lo, s_hi = np.uint32(seed & 0xFFFFFFFF), np.uint32(seed >> 32)
    with np.errstate(over="ignore"):
        x = k.astype(np.uint32) * np.uint32(0x9E3779B9) + s_lo
        x ^= x >> np.uint32(17)
        x *= np.uint32(0xED5AD4BB)
        x ^= (x >> np.uint32(11)) ^ s_hi
        x *= np.uint32(0xAC4C1B51)
        x ^= x >> np.uint32(15)
        x *= np.uint32(0x31848BAB)
        x ^= x >> np.uint32(14)
    return x


def _hash_uniforms(key, counter, n):
    """Reference of the hash uniforms of CPUs without AES: words 0..n-1 of a segment."""
    return _hash32(random_u64(np.uint64(key), np.uint64(counter)), np.arange(n))


def _segment_uniforms(key, counter, n):
    """The words the kernels of this build draw (ARS-5 with AES instructions, else hash32)."""
    return (_ars_uniforms if AES_UNIFORMS else _hash_uniforms)(key, counter, n)


def _filler(fill):
    """njit function: a uniforms array filled by ``fill``."""
    @numba.njit
    def filled(key, counter, first_block, n_blocks):
        U = np.full(4 * n_blocks + UNIFORMS_PAD, 7, dtype=np.uint32)
        fill(U, key, high_key(key), counter, first_block, n_blocks)
        return U
    return filled


@numba.njit
def _hashed(seed, first, n):
    """float32 hash uniforms of sites first .. first + n - 1, as the loops draw them."""
    out = np.empty(n, dtype=np.float32)
    x = _weyl32(seed, np.uint64(first))
    for m in range(n):
        out[m] = _hash_uniform(seed, x)
        x = _next_weyl32(x)
    return out


@pytest.mark.parametrize("n_blocks", [1, 3, 9, 4096])
def test_uniforms_are_the_documented_words(n_blocks):
    """The vector pass (AES instructions on this CPU) and the plain-integer one give word j of
    ars5(key, high_key(key), counter, first_block + b) at U[4 b + j], from any first block; the
    loops' hash (CPUs without AES instructions) gives hash32(random_u64(key, counter), k)."""
    key, counter = stream_key(3, 1), np.uint64(12345)
    first, n = np.uint64(5), 4 * n_blocks
    want = _ars_uniforms(key, counter, 4 * (n_blocks + 5))[20:]
    for fill in (fill_uniforms, software_fill_uniforms):
        assert np.array_equal(_filler(fill)(key, counter, first, np.uint64(n_blocks))[:n], want)
    hashed = _hashed(random_u64(key, counter), 20, n)
    assert np.array_equal(hashed, _hash_uniforms(key, counter, n + 20)[20:].astype(np.float32))


@pytest.mark.parametrize("reference", [_ars_uniforms, _hash_uniforms])
def test_uniforms_are_uniform_and_uncorrelated(reference):
    key = stream_key(3, 1)
    n = 1 << 18
    words = reference(key, 77, n)
    # 64 equal bins over [0, 2**32): chi-square with 63 degrees of freedom, 5 sigma bound
    counts = np.bincount((words >> np.uint32(26)).astype(np.int64), minlength=64)
    chi2 = np.sum((counts - n / 64) ** 2 / (n / 64))
    assert abs(chi2 - 63) < 5 * np.sqrt(2 * 63)
    # neighbouring sites, neighbouring segments and neighbouring keys are uncorrelated
    x = words.astype(np.float64) / 2**32 - 0.5
    others = (reference(key, 78, n), reference(np.uint64(int(key) + 1), 77, n))
    pairs = [(x[:-1], x[1:])] + [(x, o.astype(np.float64) / 2**32 - 0.5) for o in others]
    for a, b in pairs:
        assert abs(np.corrcoef(a, b)[0, 1]) < 5 / np.sqrt(n)


def _segment_case(metropolis, n=20001):
    """A random segment; the pass's decisions; numpy's float64 decisions and their margins."""
    rng = np.random.default_rng(9)
    s0 = random_spins(rng, n)
    nb = rng.choice(np.array([-1, 0, 1], dtype=np.int8), n + 1)
    A = rng.normal(0, 1.5, n).astype(np.float32)
    m2b, key, counter0 = np.float32(-1.6), stream_key(12, 34), np.uint64(77)
    W = np.zeros((1, 2, 2 * n + 2), dtype=np.int8)   # neuron 1: spins at 0.., neighbours at n..
    W[0, 1, :n] = s0
    W[0, 1, n:2 * n + 1] = nb
    hp = np.zeros((2, n), dtype=np.float32)
    hp[1] = A                                         # no equal-time neighbours: fields = A
    flips = _block_field(False, W, W, W, np.zeros((1, 1, 1), np.int32),
                         np.zeros((1, 1), np.int32),
                         np.float32(0), 0, 0, 0, n, 0, 0, n, hp, np.array([0, 1], np.int64),
                         np.zeros(3, np.int64),
                         np.zeros(0, np.int64), np.zeros(0, np.float32),
                         np.array([0.0, 0.4], np.float32), np.array([1], np.int64), m2b,
                         metropolis, key, counter0, np.zeros(n, np.float32),
                         np.zeros(n, np.int8), np.zeros(n + UNIFORMS_PAD, np.uint32))
    s = s0.astype(np.float64)
    H = A.astype(np.float64) + 0.4 * (nb[:-1].astype(np.float64) + nb[1:].astype(np.float64))
    u = _segment_uniforms(key, counter0 + np.uint64(3), n).astype(np.float64) / 2.0**32  # neuron 1
    if metropolis:
        p = np.exp(np.minimum(-1.6 * s * H, 0.0))        # probability of a flip
        expected = np.where(u < p, -s, s)
    else:
        p = 1.0 / (1.0 + np.exp(1.6 * np.abs(H)))        # probability against sign(H)
        sigma = np.where(H >= 0, 1.0, -1.0)
        expected = np.where(u < p, -sigma, sigma)
    close = np.abs(u - p) <= PROB_ERR * p + 2.0**-32     # within the documented resolution
    return W[0, 1, :n], flips, expected.astype(np.int8), s0, close


@pytest.mark.parametrize("metropolis", [False, True])
def test_segment_decisions_match_the_exact_rule(metropolis):
    """Site by site the float32 pass decides like U < p in float64, except within PROB_ERR."""
    new, flips, expected, s0, close = _segment_case(metropolis)
    differ = new != expected
    assert not np.any(differ & ~close), np.flatnonzero(differ & ~close)[:10]
    assert close.sum() < 5                              # the band is a few 1e-6 wide
    assert flips == np.count_nonzero(new != s0)


# ----------------------------------------------------------------------------- vectorisation
def _block_arguments(block, n):
    """Arguments of a call of ``block`` (_block_all or _block_field) on segments of n sites."""
    W = np.zeros((1, 3, 2 * n + 2), dtype=np.int8)
    hp, hrow, K = np.zeros((1, n), np.float32), np.zeros(3, np.int64), np.ones(3, np.float32)
    order, m2b, U = np.array([0, 1], np.int64), np.float32(-0.8), np.zeros(n + UNIFORMS_PAD,
                                                                           np.uint32)
    if block is _block_all:
        return (W, W, np.zeros((1, n), np.int32), 0, 0, 0, n, 0, 0, 0, n, hp, hrow,
                np.float32(0.1), K, order, m2b, True, np.uint64(1), np.uint64(0), U)
    ring = dict(indptr=np.array([0, 2, 4, 6]), indices=np.array([1, 2, 0, 2, 0, 1]),
                weights=np.full(6, 0.3, np.float32))    # 3 neurons: order[:1] is one colour
    return (False, W, W, W, np.zeros((1, 1, 1), np.int32), np.zeros((1, 1), np.int32),
            np.float32(0), 0, 0, 0, n, 0, 0, n, hp, hrow, ring["indptr"], ring["indices"],
            ring["weights"], K, order[:1], m2b, True, np.uint64(1), np.uint64(0),
            np.zeros(n, np.float32), np.zeros(n, np.int8), U)


@pytest.mark.parametrize("block", [_block_all, _block_field], ids=["all", "field"])
@pytest.mark.parametrize("disjoint", [True, False])
def test_block_loops_vectorise_without_overlap_checks(disjoint, block):
    """With kernels.disjoint the block loops (all-to-all; sparse one-pass, two-pass and dense)
    have no run-time overlap checks.

    Compiled again from their Python source (the cached kernel has no IR to read): with
    ``njit_disjoint`` as in local_segment, and with plain ``numba.njit``, which has the checks.
    """
    assert DISJOINT_ARGUMENTS
    decorate = njit_disjoint if disjoint else numba.njit
    kernel = decorate(fastmath={"contract"}, error_model="numpy", _nrt=False)(block.py_func)
    kernel(*_block_arguments(block, 64))
    code = kernel.inspect_llvm(kernel.signatures[0])
    assert "x float>" in code                         # the loops are vectorised
    assert ("vector.memcheck" in code) != disjoint
