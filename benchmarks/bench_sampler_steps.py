"""What measuring costs: the Sampler's sweeps/s against its kernel's, on the dashboard's lattice.

The dashboard's engine measures energy and magnetisation after every sweep of its 128 x 512
lattice. Each record times ``Sampler.step`` with a measurement every ``measure_every`` sweeps
and, in the same run, the path's kernel alone (``sampler.path.sweep`` of as many sweeps in one
call); ``share`` is their ratio (1.0: measuring and bookkeeping cost nothing). Cases: the
critical ring (fast path, the default preset) and, on the general path, the ring, all-to-all
and SK couplings. Best of several repeats, to keep other processes' noise out.

Usage: python benchmarks/bench_sampler_steps.py [--repeats 5] [--seconds 0.3] [--json]
"""

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from script_options import run  # noqa: E402

from neurolattice_core.model import LatticeModel  # noqa: E402
from neurolattice_core.sampler import Sampler  # noqa: E402

NEURONS, TICKS = 128, 512


def best_sweeps_per_second(run, seconds, repeats):
    """Best sweeps/s of ``run(n_sweeps)`` over ``repeats`` runs of about ``seconds`` each."""
    run(20)
    t0 = time.perf_counter()
    run(20)
    n_sweeps = max(1, int(seconds / max((time.perf_counter() - t0) / 20, 1e-7)))
    best = 0.0
    for _ in range(repeats):
        t0 = time.perf_counter()
        run(n_sweeps)
        best = max(best, n_sweeps / (time.perf_counter() - t0))
    return best


def measure(seconds, repeats):
    """Records {neurons, ticks, path, measure_every, sampler/kernel sweeps/s, share}."""
    records = []
    cases = [("ring", True, 1), ("ring", True, 10), ("ring", False, 1), ("all-to-all", False, 1),
             ("sk", False, 1)]
    for connectivity, allow_fast, measure_every in cases:
        model = LatticeModel.create(neurons=NEURONS, ticks=TICKS, connectivity=connectivity)
        sampler = Sampler(model, seed=1, measure_every=measure_every, allow_fast=allow_fast)
        stepping = best_sweeps_per_second(sampler.step, seconds, repeats)
        kernel = best_sweeps_per_second(sampler.path.sweep, seconds, repeats)
        records.append({"benchmark": "sampler_steps", "neurons": NEURONS, "ticks": TICKS,
                        "connectivity": connectivity, "path": sampler.path.name,
                        "measure_every": measure_every,
                        "sampler_sweeps_per_second": round(stepping),
                        "kernel_sweeps_per_second": round(kernel),
                        "share": round(stepping / kernel, 3)})
    return records


def print_table(records):
    """The records as a table."""
    for r in records:
        print(f"{r['neurons']}x{r['ticks']} {r['connectivity']} {r['path']} "
              f"measure_every={r['measure_every']}: "
              f"sampler {r['sampler_sweeps_per_second']} sweeps/s, kernel "
              f"{r['kernel_sweeps_per_second']} sweeps/s, share {r['share']:.2f}")


def main():
    run(__doc__.splitlines()[0], measure, print_table)


if __name__ == "__main__":
    main()
