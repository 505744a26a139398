"""Numba kernels get 512-bit vectors on AVX-512 hosts (neurolattice_core._vector_width)."""

import os
import subprocess
import sys

from numba.core import codegen

_PROBE = """
import os
import warnings
import numpy as np
from numba import njit
{before}
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    import neurolattice_core

@njit(fastmath={{"contract"}})
def axpy(a, x, y):
    for k in range(x.size):
        y[k] += a * x[k]

axpy(np.float32(2), np.ones(64, np.float32), np.ones(64, np.float32))
asm = next(iter(axpy.inspect_asm().values()))
print(os.environ.get("NUMBA_CPU_FEATURES", "-"), "zmm" in asm,
      any(issubclass(w.category, RuntimeWarning) for w in caught))
"""
_DECORATE_FIRST = """
@njit
def identity(x):
    return x
"""


def _probe(before="", **settings):
    """(NUMBA_CPU_FEATURES, 512-bit registers used, warned) in a fresh process with ``settings``,
    running ``before`` after ``import numba`` and before ``import neurolattice_core``."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("NUMBA_CPU_", "NEUROLATTICE_VECTOR"))}
    env.update(settings)
    out = subprocess.run([sys.executable, "-c", _PROBE.format(before=before)], env=env,
                         capture_output=True, text=True, check=True, timeout=120).stdout.split()
    return out[0].lstrip("-"), out[1] == "True", out[2] == "True"


def test_avx512_hosts_compile_with_512_bit_vectors():
    has_avx512 = "+avx512f" in codegen.get_host_cpu_features().split(",")
    features, wide, warned = _probe()
    assert features.endswith(",-prefer-256-bit") == has_avx512
    assert wide == has_avx512 and not warned


def test_numba_functions_decorated_before_the_import_keep_the_default_and_warn():
    has_avx512 = "+avx512f" in codegen.get_host_cpu_features().split(",")
    features, wide, warned = _probe(before=_DECORATE_FIRST)
    assert features == "" and not wide
    assert warned == has_avx512


def test_the_opt_out_and_the_users_own_settings_win():
    features, wide, warned = _probe(NEUROLATTICE_VECTOR_WIDTH="256")
    assert features == "" and not wide and not warned
    features, wide, warned = _probe(NUMBA_ENABLE_AVX="0")
    assert features == "" and not wide and not warned
    features, wide, warned = _probe(NUMBA_CPU_FEATURES="+avx2,+fma")
    assert features == "+avx2,+fma" and not wide and not warned


def test_the_compile_target_features_are_numbas_setting_else_the_hosts(monkeypatch):
    from neurolattice_core._vector_width import compile_target_has

    monkeypatch.setenv("NUMBA_CPU_FEATURES", "+avx2, -avx512bw,+fma")
    assert compile_target_has("avx2") and compile_target_has("fma")
    assert not compile_target_has("avx512bw") and not compile_target_has("avx512f")
    monkeypatch.delenv("NUMBA_CPU_FEATURES")
    monkeypatch.delenv("NUMBA_CPU_NAME", raising=False)
    monkeypatch.setenv("NUMBA_ENABLE_AVX", "0")       # Numba then compiles without AVX
    assert not compile_target_has("avx2") and not compile_target_has("avx512bw")
    monkeypatch.delenv("NUMBA_ENABLE_AVX")
    monkeypatch.setenv("NUMBA_CPU_NAME", "generic")   # a named CPU without a feature list
    assert not compile_target_has("avx512bw")
    monkeypatch.delenv("NUMBA_CPU_NAME")
    host = codegen.get_host_cpu_features().split(",")
    assert compile_target_has("avx2") == ("+avx2" in host)
    assert compile_target_has("avx512bw") == ("+avx512bw" in host)
