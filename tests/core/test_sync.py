"""The cache-line prefetch hint used by the multi-spin task driver."""

import re

import numpy as np
import pytest
from numba import njit
from numba.core.errors import TypingError

from neurolattice_core.kernels.sync import prefetch


@njit
def _prefetch_to_read(words):
    for p in range(0, words.size, 8):
        prefetch(words, p, 0)
    return words.sum()


@njit
def _prefetch_to_write(words):
    for p in range(0, words.size, 8):
        prefetch(words, p, 1)
    return words.sum()


@pytest.mark.parametrize("kernel, write", [(_prefetch_to_read, 0), (_prefetch_to_write, 1)])
def test_prefetch_changes_nothing_and_emits_its_hint(kernel, write):
    words = np.arange(100, dtype=np.uint64)
    assert kernel(words) == sum(range(100))
    np.testing.assert_array_equal(words, np.arange(100, dtype=np.uint64))
    # the hint as LLVM receives it (read/write flag, locality 3, data cache), whatever the CPU
    ir = next(iter(kernel.inspect_llvm().values()))
    flags = re.findall(r"call void @llvm\.prefetch\.\w+\([^,]+, i32 (\d), i32 3, i32 1\)", ir)
    assert flags and set(flags) == {str(write)}
    if write == 0:   # and as the instruction x86 runs
        assembly = next(iter(kernel.inspect_asm().values()))
        assert "prefetcht0" in assembly


def test_prefetch_needs_a_literal_read_or_write_flag():
    @njit
    def with_variable_flag(words, flag):
        prefetch(words, 0, flag)

    with pytest.raises(TypingError):
        with_variable_flag(np.zeros(8, dtype=np.uint64), 1)
