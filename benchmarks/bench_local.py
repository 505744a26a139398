"""Throughput of the general local-update path (kernels.local.LocalState), against the reference.

Prints spin-update attempts per ns for ring and 2-D grid (sparse CSR), all-to-all and dense
Sherrington-Kirkpatrick couplings, heat bath and Metropolis, one replica of N x T = size x size
with 1 and 2 numba threads, after a warm-up sweep (compilation excluded), near each model's
critical region. The plain checkerboard sampler of ``reference.py`` is timed in the same run at
the same size and thread count: on a shared machine compare the ratio column, not raw rates.

    python benchmarks/bench_local.py [--sizes 256 1024] [--threads 1 2] [--seconds 0.5]
        [--kinds ring grid all-to-all SK] [--methods metropolis heatbath] [--json]
"""

import argparse
import json
import time

import numba
import numpy as np
from reference import reference_flips_per_ns

from neurolattice_core.kernels.local import LocalState
from neurolattice_core.kernels.rng import stream_key

KINDS = ("ring", "grid", "all-to-all", "SK")


def csr_from_edges(n, a, b, w=1.0):
    """Symmetric CSR (indptr, indices, weights) of the undirected edges a[k] - b[k]."""
    rows = np.concatenate([a, b])
    cols = np.concatenate([b, a])
    order = np.lexsort((cols, rows))
    rows, cols = rows[order], cols[order]
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n), out=indptr[1:])
    return indptr, cols.astype(np.int64), np.full(cols.size, float(w))


def ring(n, J=1.0):
    """CSR of a ring: neighbours i - 1 and i + 1 (mod n), weight J."""
    i = np.arange(n)
    return csr_from_edges(n, i, (i + 1) % n, J)


def grid(n, J=1.0):
    """CSR of a periodic L x L sheet (n = L**2 neurons, 4 neighbours), weight J."""
    side = int(round(np.sqrt(n)))
    i = np.arange(side * side)
    x, y = i % side, i // side
    right = (x + 1) % side + side * y
    down = x + side * ((y + 1) % side)
    return csr_from_edges(side * side, np.concatenate([i, i]), np.concatenate([right, down]), J)


def sk(n, seed=0, g=1.0):
    """Symmetric SK couplings g z_ij / sqrt(N), zero diagonal."""
    z = np.random.default_rng(seed).normal(size=(n, n))
    J = np.triu(z, 1) * g / np.sqrt(n)
    return J + J.T


def problem(kind, n, T):
    """(LocalState, beta) of one replica, J = K = 1 (SK: g = 1) near the critical region."""
    spins = np.random.default_rng(1).choice(np.array([-1, 1], dtype=np.int8), size=(1, n, T))
    kw = dict(K=np.ones(n), fields=np.zeros((n, T)), time_periodic=True)
    if kind == "all-to-all":
        return LocalState(spins, kind="all-to-all", J_all=1.0 / n, **kw), 0.5
    if kind in ("ring", "grid"):
        indptr, indices, weights = (ring if kind == "ring" else grid)(n)
        beta = 0.4407 if kind == "ring" else 0.27
        return LocalState(spins, kind="sparse", indptr=indptr, indices=indices,
                          weights=weights, **kw), beta
    return LocalState(spins, kind="dense", J_dense=sk(n), **kw), 0.8


def measure(kind, method, n, threads, seconds):
    """Spin-update attempts per ns of one configuration."""
    numba.set_num_threads(threads)
    state, beta = problem(kind, n, n)
    run = dict(betas=np.array([beta]), method=method,
               keys=np.array([stream_key(7, 0)], dtype=np.uint64))
    state.sweep(n_sweeps=1, sweep_offset=0, **run)   # compile and warm up
    done, batch, sweeps = 1, 1, 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        state.sweep(n_sweeps=batch, sweep_offset=done, **run)
        done += batch
        sweeps += batch
        batch = min(2 * batch, 64)
    return sweeps * n * n / (time.perf_counter() - start) / 1e9


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 1024])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--seconds", type=float, default=0.5)
    parser.add_argument("--kinds", nargs="+", default=list(KINDS), choices=KINDS)
    parser.add_argument("--methods", nargs="+", default=["metropolis", "heatbath"],
                        choices=["metropolis", "heatbath"])
    parser.add_argument("--json", action="store_true", help="print a JSON list of records")
    args = parser.parse_args()
    threads = [t for t in args.threads if t <= numba.config.NUMBA_NUM_THREADS]
    records = []
    if not args.json:
        print(f"numba {numba.__version__}, {numba.config.NUMBA_NUM_THREADS} threads available")
        print(f"{'kind':<11} {'method':<10} {'N x T':>11} {'thr':>3} {'flips/ns':>8} "
              f"{'reference':>9} {'ratio':>6}")
    for size in args.sizes:
        for t in threads:
            reference = reference_flips_per_ns(size, size, t, args.seconds)
            for kind in args.kinds:
                for method in args.methods:
                    rate = measure(kind, method, size, t, args.seconds)
                    records.append(dict(kind=kind, method=method, neurons=size, ticks=size,
                                        threads=t, flips_per_ns=rate,
                                        reference_flips_per_ns=reference))
                    if not args.json:
                        print(f"{kind:<11} {method:<10} {f'{size}x{size}':>11} {t:>3} "
                              f"{rate:8.3f} {reference:9.3f} {rate / reference:6.2f}",
                              flush=True)
    if args.json:
        print(json.dumps(records))


if __name__ == "__main__":
    main()
