"""The cache-line prefetch hint used by the multi-spin task driver."""

import numpy as np
import pytest
from numba import njit
from numba.core.errors import TypingError

from neurolattice_core.kernels.sync import prefetch


@njit
def _prefetch_all(words, write_words):
    for p in range(0, words.size, 8):
        prefetch(words, p, 0)
        prefetch(write_words, p, 1)
    return words.sum() + write_words.sum()


def test_prefetch_changes_nothing_and_emits_both_hints():
    words = np.arange(100, dtype=np.uint64)
    write_words = np.arange(100, 200, dtype=np.uint64)
    before = words.copy(), write_words.copy()
    assert _prefetch_all(words, write_words) == sum(range(200))
    np.testing.assert_array_equal(words, before[0])
    np.testing.assert_array_equal(write_words, before[1])
    assembly = next(iter(_prefetch_all.inspect_asm().values()))
    assert "prefetcht0" in assembly                 # the read hint
    assert "prefetchw" in assembly or assembly.count("prefetcht0") >= 2   # the write hint


def test_prefetch_needs_a_literal_read_or_write_flag():
    @njit
    def with_variable_flag(words, flag):
        prefetch(words, 0, flag)

    with pytest.raises(TypingError):
        with_variable_flag(np.zeros(8, dtype=np.uint64), 1)
