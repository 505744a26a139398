"""Throughput of the multi-spin coded fast path (spin-flip attempts per nanosecond).

Cases: ring x periodic time, isotropic J = K = 1, h = 0, at the critical temperature
theta_c = 2.269185, on 1024 x 1024 and 256 x 256 lattices, Metropolis and heat bath, with
1 and 2 numba threads.  The denominator of the printed speed-up is a plain one-byte-per-spin
numba checkerboard Metropolis sweep with np.random (written below, one thread).

Other processes may share the CPU: every number is the best of several repeats after a
warm-up; the CPU-time column (process time / wall time x flips/ns) shows how much of the
machine the run actually got.

Usage: python benchmarks/bench_multispin.py [--repeats 5] [--seconds 0.5]
"""

import argparse
import math
import time

import numba
import numpy as np
from numba import njit

from neurolattice_core.kernels import multispin as ms
from neurolattice_core.kernels.rng import stream_key

THETA_C = 2.0 / math.log(1.0 + math.sqrt(2.0))


@njit(cache=True, nogil=True)
def plain_checkerboard(spins, beta, n_sweeps):
    """Reference: Metropolis checkerboard sweeps of an int8 (N, T) torus, J = K = 1, np.random."""
    n, n_ticks = spins.shape
    boltz = np.array([math.exp(-beta * 4.0), math.exp(-beta * 8.0)])
    for _ in range(n_sweeps):
        for colour in range(2):
            for i in range(n):
                up, down = (i - 1) % n, (i + 1) % n
                for t in range((i + colour) % 2, n_ticks, 2):
                    s = spins[i, t]
                    field = (spins[up, t] + spins[down, t] + spins[i, (t - 1) % n_ticks]
                             + spins[i, (t + 1) % n_ticks])
                    d_e = 2 * s * field
                    if d_e <= 0 or np.random.random() < boltz[d_e // 4 - 1]:  # noqa: NPY002
                        spins[i, t] = -s


def best_rate(run, sites, seconds, repeats):
    """Best flips/ns of ``run(n_sweeps)`` over ``repeats`` timed runs of about ``seconds`` each.

    Returns (wall flips/ns, cpu flips/ns) of the best wall-clock repeat.
    """
    run(1)
    t0 = time.perf_counter()
    run(2)
    per_sweep = max((time.perf_counter() - t0) / 2, 1e-6)
    n_sweeps = max(1, int(seconds / per_sweep))
    best = (0.0, 0.0)
    for _ in range(repeats):
        c0, t0 = time.process_time(), time.perf_counter()
        run(n_sweeps)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        rate = sites * n_sweeps / wall / 1e9
        if rate > best[0]:
            best = (rate, sites * n_sweeps / max(cpu, 1e-9) / 1e9)
    return best


def fast_runner(n, n_ticks, method, seed=0):
    rng = np.random.default_rng(seed)
    words = ms.pack(rng.choice(np.array([-1, 1], dtype=np.int8), size=(1, n, n_ticks)))
    table = ms.neighbour_table("ring", n, None, True)
    keys = np.array([stream_key(seed, 0)], dtype=np.uint64)
    done = [0]

    def run(n_sweeps):
        ms.multispin_sweeps(words, table, 1.0, 1.0, 0.0, 1.0 / THETA_C, True, method, n_sweeps,
                            keys, done[0])
        done[0] += n_sweeps

    return run


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=0.5)
    args = parser.parse_args()
    threads_available = numba.config.NUMBA_NUM_THREADS

    numba.set_num_threads(1)
    spins = np.random.default_rng(0).choice(np.array([-1, 1], dtype=np.int8), size=(256, 256))
    ref, _ = best_rate(lambda k: plain_checkerboard(spins, 1.0 / THETA_C, k), spins.size,
                       args.seconds, args.repeats)
    print(f"plain numba checkerboard (np.random, 1 thread), 256 x 256: {ref:.3f} flips/ns")
    print(f"{'lattice':>12} {'method':>11} {'threads':>7} {'flips/ns':>9} {'cpu-equiv':>9} "
          f"{'x plain':>8}")
    for n, n_ticks in ((1024, 1024), (256, 256)):
        for method in ("metropolis", "heatbath"):
            for threads in (1, 2):
                if threads > threads_available:
                    continue
                numba.set_num_threads(threads)
                wall, cpu = best_rate(fast_runner(n, n_ticks, method), n * n_ticks,
                                      args.seconds, args.repeats)
                print(f"{n:>5} x {n_ticks:<5} {method:>11} {threads:>7} {wall:9.2f} "
                      f"{cpu * threads:9.2f} {wall / ref:8.0f}")
    numba.set_num_threads(threads_available)


if __name__ == "__main__":
    main()
