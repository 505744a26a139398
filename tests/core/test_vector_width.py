"""Numba kernels get 512-bit vectors on AVX-512 hosts (neurolattice_core._vector_width)."""

import os
import subprocess
import sys

from numba.core import codegen

_PROBE = """
import os
import numpy as np
import neurolattice_core
from numba import njit

@njit(fastmath={"contract"})
def axpy(a, x, y):
    for k in range(x.size):
        y[k] += a * x[k]

axpy(np.float32(2), np.ones(64, np.float32), np.ones(64, np.float32))
asm = next(iter(axpy.inspect_asm().values()))
print(os.environ.get("NUMBA_CPU_FEATURES", ""), "zmm" in asm)
"""


def _probe(**settings):
    """(NUMBA_CPU_FEATURES, 512-bit registers used) in a fresh process with ``settings``."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("NUMBA_CPU_", "NEUROLATTICE_VECTOR"))}
    env.update(settings)
    out = subprocess.run([sys.executable, "-c", _PROBE], env=env, capture_output=True, text=True,
                         check=True, timeout=120).stdout.split()
    return (out[0] if len(out) == 2 else ""), out[-1] == "True"


def test_avx512_hosts_compile_with_512_bit_vectors():
    has_avx512 = "+avx512f" in codegen.get_host_cpu_features().split(",")
    features, wide = _probe()
    assert features.endswith(",-prefer-256-bit") == has_avx512
    assert wide == has_avx512


def test_the_opt_out_and_the_users_own_settings_win():
    features, wide = _probe(NEUROLATTICE_VECTOR_WIDTH="256")
    assert features == "" and not wide
    features, wide = _probe(NUMBA_ENABLE_AVX="0")
    assert features == "" and not wide
    features, wide = _probe(NUMBA_CPU_FEATURES="+avx2,+fma")
    assert features == "+avx2,+fma" and not wide
