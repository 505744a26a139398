"""Counter-based random numbers shared by every kernel.

Every random number is a pure function of ``(key, counter)``: ``key`` identifies a stream
(seed, replica, purpose) and ``counter`` the position in it (sweep, site, draw).  Results are
therefore bit-identical whatever the number of threads or the order in which sites are visited.

The mixer is the SplitMix64 finaliser (Steele, Lea, Flood 2014), which passes BigCrush when fed
a Weyl sequence; we feed it ``key + counter * GOLDEN``.
"""

import numpy as np
from numba import njit, uint64

GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_INV_2_53 = 1.0 / 9007199254740992.0  # 2**-53


@njit(uint64(uint64), cache=True, nogil=True, inline="always")
def mix64(x):
    """SplitMix64 finaliser: a bijective avalanche of a 64-bit word."""
    x = (x ^ (x >> np.uint64(30))) * _M1
    x = (x ^ (x >> np.uint64(27))) * _M2
    return x ^ (x >> np.uint64(31))


@njit(uint64(uint64, uint64), cache=True, nogil=True, inline="always")
def random_u64(key, counter):
    """64 random bits at position ``counter`` of stream ``key``."""
    return mix64(key + counter * GOLDEN)


@njit(cache=True, nogil=True, inline="always")
def random_uniform(key, counter):
    """A uniform double in [0, 1) with 53 random bits, at position ``counter`` of stream ``key``."""
    return float(random_u64(key, counter) >> np.uint64(11)) * _INV_2_53


@njit(uint64(uint64, uint64), cache=True, nogil=True)
def derive_key(parent, label):
    """A new stream key from a parent key and an integer label (replica, purpose, ...)."""
    return mix64(mix64(parent ^ mix64(label + GOLDEN)) + GOLDEN)


def stream_key(seed, *labels):
    """Python-side helper: the key for ``seed`` refined by integer ``labels``.

    Parameters
    ----------
    seed : int
        Non-negative user seed (taken modulo 2**64).
    *labels : int
        Integers that name a sub-stream, for example a replica index or a purpose code.

    Returns
    -------
    numpy.uint64
    """
    key = mix64(np.uint64(int(seed) % (1 << 64)))
    for label in labels:
        key = derive_key(key, np.uint64(int(label) % (1 << 64)))
    return np.uint64(key)


@njit(cache=True, nogil=True)
def _fill_random_words(key, out):
    """Fill ``out`` (uint64 (n,)) with the words 0..n-1 of stream ``key``."""
    for i in range(out.size):
        out[i] = random_u64(key, np.uint64(i))
    return out


def random_words(key, count):
    """The first ``count`` 64-bit words of stream ``key``, uint64 (count,)."""
    return _fill_random_words(np.uint64(key), np.empty(int(count), dtype=np.uint64))
