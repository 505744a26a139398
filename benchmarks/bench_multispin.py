"""Throughput of the multi-spin coded fast path (spin-flip attempts per nanosecond).

Cases: ring x periodic time, isotropic J = K = 1, h = 0, at the critical temperature
theta_c = 2.269185, on 256 x 256 and 1024 x 1024 lattices, one replica, Metropolis and heat
bath, with 1 and 2 numba threads.  The kernel runs on a :class:`WorkingLattice` (the resident
layout :class:`~neurolattice_core.engine.FastPath` uses).  Every case is divided by the plain
Numba checkerboard of ``benchmarks/reference.py`` timed in the same run with the same threads.

Other processes may share the CPU: every number is the best of several repeats after a warm-up,
and ``cpu_per_wall`` (process CPU time / wall time of that repeat) shows how much of the machine
the run got (about ``threads`` when the threads really ran in parallel).

Usage: python benchmarks/bench_multispin.py [--repeats 5] [--seconds 0.3] [--json]
"""

import math
import sys
import time
from pathlib import Path

import numba
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from reference import reference_flips_per_ns  # noqa: E402
from script_options import run  # noqa: E402

from neurolattice_core.kernels import multispin as ms  # noqa: E402
from neurolattice_core.kernels.rng import stream_key  # noqa: E402

THETA_C = 2.0 / math.log(1.0 + math.sqrt(2.0))
SIZES = ((256, 256), (1024, 1024))


def best_rate(run, sites, seconds, repeats):
    """Best flips/ns of ``run(n_sweeps)`` over ``repeats`` runs of about ``seconds`` each.

    Returns (flips/ns, cpu_per_wall) of the best repeat.
    """
    run(2)
    t0 = time.perf_counter()
    run(4)
    per_sweep = max((time.perf_counter() - t0) / 4, 1e-7)
    n_sweeps = max(1, int(seconds / per_sweep))
    best = (0.0, 0.0)
    for _ in range(repeats):
        c0, t0 = time.process_time(), time.perf_counter()
        run(n_sweeps)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        rate = sites * n_sweeps / wall / 1e9
        if rate > best[0]:
            best = (rate, cpu / wall)
    return best


def fast_runner(n, n_ticks, method, seed=0):
    """``run(n_sweeps)`` advancing one random n x n_ticks ring lattice at theta_c."""
    spins = np.random.default_rng(seed).choice(np.array([-1, 1], dtype=np.int8),
                                               size=(1, n, n_ticks))
    lattice = ms.WorkingLattice(ms.pack(spins), ms.neighbour_table("ring", n, None, True))
    keys = np.array([stream_key(seed, 0)], dtype=np.uint64)
    done = [0]

    def run(n_sweeps):
        lattice.sweep(1.0, 1.0, 0.0, 1.0 / THETA_C, True, method, n_sweeps, keys, done[0])
        done[0] += n_sweeps

    return run


def measure(seconds, repeats):
    """Records {neurons, ticks, method, threads, flips_per_ns, cpu_per_wall, reference...}."""
    thread_counts = sorted({1, min(2, numba.config.NUMBA_NUM_THREADS)})
    previous = numba.get_num_threads()
    records = []
    try:
        for n, n_ticks in SIZES:
            for threads in thread_counts:
                reference = reference_flips_per_ns(n, n_ticks, threads, seconds)
                numba.set_num_threads(threads)
                for method in ("metropolis", "heatbath"):
                    rate, share = best_rate(fast_runner(n, n_ticks, method), n * n_ticks,
                                            seconds, repeats)
                    records.append({"neurons": n, "ticks": n_ticks, "method": method,
                                    "threads": threads, "flips_per_ns": rate,
                                    "cpu_per_wall": share,
                                    "reference_flips_per_ns": reference,
                                    "speedup_vs_reference": rate / reference})
    finally:
        numba.set_num_threads(previous)
    return records


def print_table(records):
    """The records as a table."""
    print(f"{'lattice':>11} {'method':>10} {'thr':>3} {'flips/ns':>9} {'cpu/wall':>8} "
          f"{'reference':>9} {'ratio':>6}")
    for r in records:
        print(f"{r['neurons']:>5}x{r['ticks']:<5} {r['method']:>10} {r['threads']:>3} "
              f"{r['flips_per_ns']:9.2f} {r['cpu_per_wall']:8.2f} "
              f"{r['reference_flips_per_ns']:9.3f} {r['speedup_vs_reference']:6.0f}")


def main():
    run(__doc__.splitlines()[0], measure, print_table)


if __name__ == "__main__":
    main()
