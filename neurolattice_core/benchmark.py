"""Throughput of the engine's paths in spin-flip attempts per nanosecond.

Used by ``neurolattice bench`` and ``make bench``. Times only the kernels, at each model's
critical temperature (J = K = 1), in calls of about ``CALL_SECONDS``, after a warm-up in which
the kernels compile, the calls grow to that length and then run as long as they are timed.
"""

import time

import numba

from .model import LatticeModel
from .sampler import Sampler

THETA_C = 2.269185314213022
SIZES = ((256, 256), (1024, 1024))
CASES = (("fast", "ring"), ("general", "ring"), ("general", "all-to-all"))
#: The sweeps of one call grow until a call lasts about this long: the engine is called in
#: chunks of about 20 ms by the dashboard (app.store.CHUNK_SECONDS) and in long runs by the CLI.
CALL_SECONDS = 0.02


def measure_throughput(path, connectivity, neurons, ticks, threads, min_seconds=0.5):
    """flips/ns of one path on one lattice with ``threads`` numba threads.

    Returns
    -------
    dict
        ``{path, connectivity, neurons, ticks, threads, flips_per_ns, sweeps, cpu_per_wall}``;
        ``cpu_per_wall`` (process CPU time / wall time) near ``threads`` shows that the threads
        really ran in parallel, well below it that the machine was shared.
    """
    model = LatticeModel.create(neurons=neurons, ticks=ticks, replicas=1,
                                connectivity=connectivity, J=1.0, K=1.0)
    model.temperature = model.critical_temperature() or THETA_C
    previous_threads = numba.get_num_threads()
    numba.set_num_threads(threads)
    try:
        sampler = Sampler(model, seed=1, measure_every=10**9, allow_fast=(path == "fast"),
                          history=1)
        if sampler.path.name != ("fast" if path == "fast" else "local"):
            raise RuntimeError(f"benchmark expected the {path} path, got {sampler.path.name}")
        sampler.step(2)  # compile and warm caches
        sampler.path.sweep(1)  # the first direct call loads its kernel (~20 ms): not a batch size
        batch = 1
        while True:   # warm-up: calls grow to CALL_SECONDS (the engine picks its driver)
            # each size twice: the first call of the general path's parallel driver loads its
            # code too (> 20 ms), which once left 1024 x 1024 all-to-all on 1-sweep calls
            if min(_call_seconds(sampler.path, batch) for _ in range(2)) >= CALL_SECONDS:
                break
            batch *= 2
        # then as long again untimed, as in a dashboard that has run a while: the general path
        # has timed its serial and threaded drivers by then and settled on the faster one
        settle = time.perf_counter()
        while time.perf_counter() - settle < min_seconds:
            sampler.path.sweep(batch)
        sweeps, start, cpu_start = 0, time.perf_counter(), time.process_time()
        while sweeps == 0 or time.perf_counter() - start < min_seconds:   # at least one call
            sampler.path.sweep(batch)
            sweeps += batch
        elapsed = time.perf_counter() - start
        cpu = time.process_time() - cpu_start
    finally:
        numba.set_num_threads(previous_threads)
    flips = sweeps * neurons * ticks
    return {"path": path, "connectivity": connectivity, "neurons": neurons, "ticks": ticks,
            "threads": threads, "flips_per_ns": flips / elapsed / 1e9, "sweeps": sweeps,
            "cpu_per_wall": cpu / elapsed}


def _call_seconds(path, n_sweeps):
    """Wall seconds of one call of ``path.sweep(n_sweeps)``."""
    called = time.perf_counter()
    path.sweep(n_sweeps)
    return time.perf_counter() - called


def engine_benchmarks(min_seconds=0.5, sizes=None, cases=None):
    """Every (path, connectivity) of ``cases`` at every size, on 1 and 2 threads."""
    sizes, cases = sizes or SIZES, cases or CASES
    thread_counts = sorted({1, min(2, numba.config.NUMBA_NUM_THREADS)})
    return [measure_throughput(path, connectivity, neurons, ticks, threads, min_seconds)
            for path, connectivity in cases for neurons, ticks in sizes
            for threads in thread_counts]
