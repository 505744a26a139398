"""``njit_disjoint``: compile a kernel whose array arguments never share the memory it writes.

LLVM vectorises a loop that writes one array and reads others only after a run-time check that
the ranges do not overlap, and keeps a scalar copy of the loop for when they do. The general
path runs such loops once per neuron and block of ticks (64 ticks on a 256 x 256 lattice), and
these checks (seven pairs of pointers for all-to-all couplings) were a fixed cost of about 10 ns
per segment (README). Numba can mark every pointer argument ``noalias`` (its ``noalias`` flag,
which parallel loops use), but its decorators do not offer it; this module registers the option
``no_alias`` for the CPU target when Numba's option table accepts it, and otherwise compiles
without it (the same results, with the checks).

The promise a caller makes: memory written through one array argument is not read or written
through another during the call. Two arguments may be the same array when one of them is only
read at places nobody writes during the call (``local_segment``'s ``Wn``: the temporal
neighbours, which belong to the other time class).
"""

from numba import njit


def _register_option():
    """Add ``no_alias`` -> Numba's ``noalias`` flag to the CPU target options; True if done."""
    try:
        from numba.core import cpu, options

        if not hasattr(cpu.CPUTargetOptions, "no_alias"):
            cpu.CPUTargetOptions.no_alias = options.TargetOptions.Mapping("noalias")
        return True
    except (ImportError, AttributeError, TypeError):   # another Numba: compile without it
        return False


DISJOINT_ARGUMENTS = _register_option()


def njit_disjoint(**options):
    """``numba.njit(**options)`` with every pointer argument ``noalias`` (when available)."""
    if DISJOINT_ARGUMENTS:
        options["no_alias"] = True
    return njit(**options)
