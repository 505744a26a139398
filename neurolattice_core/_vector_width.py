"""Let Numba's kernels use full 512-bit vectors on CPUs that have AVX-512.

LLVM tunes recent Intel server CPUs (Skylake-SP and later) with ``prefer-256-bit``: even with
AVX-512 available it vectorises loops with 256-bit registers, to avoid the clock drop that
512-bit instructions caused on the first AVX-512 chips. The general path's segment loops
(float32 lanes, :mod:`.kernels.local_segment`) ran 2.0-2.5x faster with 512-bit vectors on
this project's machine (Emerald Rapids; ``make bench``), the fast path 1.1-1.3x. Results do not
change: every lane computes the same float32 operations in the same order.

This sets ``NUMBA_CPU_NAME`` and ``NUMBA_CPU_FEATURES`` to the host's own CPU and features
plus ``-prefer-256-bit``, before Numba builds its code generator. Numba builds it lazily, when
the first function is decorated with ``numba.njit``: so this works after ``import numba`` but
not after a decoration, and then warns (import ``neurolattice_core`` first). It does nothing
when the user already set either variable or ``NUMBA_ENABLE_AVX=0``, when the host has no
AVX-512, or when ``NEUROLATTICE_VECTOR_WIDTH=256`` asks for LLVM's default. Compiled kernels
are cached per CPU name and feature string, so the two settings never share a cache entry.
"""

import os
import sys
import warnings

_OPT_OUT = "NEUROLATTICE_VECTOR_WIDTH"


def prefer_full_vector_width():
    """Ask Numba for 512-bit vectors if the host has AVX-512; True if the setting was made.

    Reads the host CPU with llvmlite (about 30 ms) and does not import Numba, which the
    dashboard loads only with a session's engine.
    """
    if os.environ.get(_OPT_OUT, "").strip() == "256":
        return False
    if "NUMBA_CPU_NAME" in os.environ or "NUMBA_CPU_FEATURES" in os.environ:
        return False
    if os.environ.get("NUMBA_ENABLE_AVX", "").strip() == "0":   # Numba's own AVX switch
        return False
    import llvmlite.binding as llvm

    features = llvm.get_host_cpu_features()
    if not features.get("avx512f", False):
        return False
    if _numba_code_generator_built():
        warnings.warn("Numba compiled or decorated a function before neurolattice_core was "
                      "imported, so neurolattice's kernels keep 256-bit vectors on this AVX-512 "
                      "CPU (the general path runs about 2x slower). Import neurolattice_core "
                      "before defining Numba functions.", RuntimeWarning, stacklevel=2)
        return False
    os.environ["NUMBA_CPU_NAME"] = llvm.get_host_cpu_name()
    os.environ["NUMBA_CPU_FEATURES"] = features.flatten() + ",-prefer-256-bit"
    if "numba" in sys.modules:    # already imported: its configuration reads the variables again
        from numba.core import config
        config.reload_config()
    return True


def compile_target_has(feature):
    """True if the CPU features Numba compiles for include ``feature`` (an LLVM name: "avx512bw").

    These are ``NUMBA_CPU_FEATURES`` when set (by the user or by
    :func:`prefer_full_vector_width`), else the host's own. When the target is not known from
    them (``NUMBA_CPU_NAME`` without a feature list) or ``NUMBA_ENABLE_AVX=0`` removes the AVX
    features, the answer is False for a feature named "avx...": callers fall back to code that
    is correct on every CPU.
    """
    listed = os.environ.get("NUMBA_CPU_FEATURES", "").strip()
    if listed:
        return f"+{feature}" in [item.strip() for item in listed.split(",")]
    if feature.startswith("avx") and os.environ.get("NUMBA_ENABLE_AVX", "").strip() == "0":
        return False
    if os.environ.get("NUMBA_CPU_NAME", "").strip():
        return False
    import llvmlite.binding as llvm

    return bool(llvm.get_host_cpu_features().get(feature, False))


def _numba_code_generator_built():
    """True once Numba has built its CPU code generator (its CPU settings are then fixed)."""
    if "numba" not in sys.modules:
        return False
    from numba.core import registry

    # Numba keeps the built target context in this cached property (numba 0.5x-0.6x)
    return "_toplevel_target_context" in vars(registry.cpu_target)
