"""Throughput of the general local-update path (kernels.local.local_sweeps).

Prints spin-update attempts per ns (and accepted flips per ns) for all-to-all, ring (sparse CSR)
and dense Sherrington-Kirkpatrick couplings, heat bath and Metropolis, at 256 x 256 and
1024 x 1024 (neurons x ticks), 2 replicas, with 1 and 2 numba threads, after a warm-up call
(compilation excluded). "per core" divides by the number of threads. Wall-clock time on a
shared machine is noisy: compare ratios within one run, and look at the CPU-time column.

    python benchmarks/bench_local.py [--sizes 256 1024] [--threads 1 2] [--seconds 1.0]
"""

import argparse
import time

import numba
import numpy as np

from neurolattice_core.kernels.local import local_sweeps
from neurolattice_core.kernels.rng import stream_key


def ring(n, J=1.0):
    """CSR of a ring: neighbours i - 1 and i + 1 (mod n), weight J."""
    indptr = np.arange(0, 2 * n + 1, 2, dtype=np.int64)
    indices = np.empty(2 * n, dtype=np.int64)
    indices[0::2] = (np.arange(n) - 1) % n
    indices[1::2] = (np.arange(n) + 1) % n
    return indptr, indices, np.full(2 * n, J)


def sk(n, seed=0, g=1.0):
    """Symmetric SK couplings g z_ij / sqrt(N), zero diagonal."""
    z = np.random.default_rng(seed).normal(size=(n, n))
    J = np.triu(z, 1) * g / np.sqrt(n)
    return J + J.T


def problem(kind, n, T, R):
    """(spins, keyword arguments) near the critical region of each model (theta ~ 1.2 theta_c)."""
    rng = np.random.default_rng(1)
    spins = rng.choice(np.array([-1, 1], dtype=np.int8), size=(R, n, T))
    kw = dict(kind=kind, K=np.full(n, 0.5), fields=np.zeros((n, T)),
              time_periodic=True, keys=np.array([stream_key(7, r) for r in range(R)],
                                                dtype=np.uint64))
    if kind == "all-to-all":
        kw.update(J_all=1.0 / n, betas=np.full(R, 0.35))
    elif kind == "sparse":
        indptr, indices, weights = ring(n)
        kw.update(indptr=indptr, indices=indices, weights=weights, betas=np.full(R, 0.37))
    else:
        kw.update(J_dense=sk(n), betas=np.full(R, 0.8))
    return spins, kw


def measure(kind, method, n, T, R, threads, seconds):
    """(attempts/ns, flips/ns, attempts/ns of CPU time) for one configuration."""
    numba.set_num_threads(threads)
    spins, kw = problem(kind, n, T, R)
    local_sweeps(spins, method=method, n_sweeps=1, sweep_offset=0, **kw)   # compile + warm up
    n_sweeps, done = 1, 1
    while True:
        wall, cpu = time.perf_counter(), time.process_time()
        flips = local_sweeps(spins, method=method, n_sweeps=n_sweeps, sweep_offset=done, **kw)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        done += n_sweeps
        if wall > seconds or n_sweeps >= 4096:
            break
        n_sweeps *= max(2, int(seconds / max(wall, 1e-6)))
        n_sweeps = min(n_sweeps, 4096)
    attempts = R * n * T * n_sweeps
    return attempts / wall * 1e-9, flips.sum() / wall * 1e-9, attempts / cpu * 1e-9


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 1024])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--replicas", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=1.0)
    args = parser.parse_args()
    threads = [t for t in args.threads if t <= numba.config.NUMBA_NUM_THREADS]
    print(f"numba {numba.__version__}, {numba.config.NUMBA_NUM_THREADS} threads available, "
          f"R = {args.replicas} replicas")
    print(f"{'kind':<11} {'method':<10} {'N x T':>11} {'thr':>3} {'attempts/ns':>11} "
          f"{'per core':>8} {'flips/ns':>8} {'cpu att/ns':>10}")
    for size in args.sizes:
        for kind in ("all-to-all", "sparse", "dense"):
            for method in ("heatbath", "metropolis"):
                for t in threads:
                    rate, flips, cpu_rate = measure(kind, method, size, size, args.replicas, t,
                                                    args.seconds)
                    label = "ring" if kind == "sparse" else ("SK" if kind == "dense" else kind)
                    print(f"{label:<11} {method:<10} {f'{size}x{size}':>11} {t:>3} "
                          f"{rate:11.3f} {rate / t:8.3f} {flips:8.3f} {cpu_rate:10.3f}",
                          flush=True)


if __name__ == "__main__":
    main()
