"""Sweep throughput (grid points per second) on a dask LocalCluster with 1 and 2 workers.

The same sweep (ring x periodic time, 16 x 16, 8 points of (J/theta, K/theta), Metropolis,
300 sweeps + 50 burn-in, 2 replicas) runs on a 1-worker and a 2-worker LocalCluster in the same
process; cluster start-up and a warm-up point (Numba cache load in the workers) are excluded.
The machine is shared: compare the ratio within one run.

    python benchmarks/bench_sweeps.py [--json]
"""

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from neurolattice_core import sweeps as sw  # noqa: E402

GRID = dict(connectivity="ring", neurons=16, ticks=16, J_values=[0.30, 0.38, 0.46, 0.54],
            K_values=[0.35, 0.5], sweeps=300, burn_in=50, algorithm="metropolis")


def measure(workers):
    """Points per second of GRID on a fresh LocalCluster with ``workers`` workers."""
    client, _ = sw.open_client(workers=workers)
    try:
        # warm up every worker (imports, Numba cache) with distinct throw-away points
        sw.run_sweep(**{**GRID, "J_values": [0.1] * workers, "K_values": [0.1 * (i + 1) for i
                     in range(workers)], "pairing": "zip", "seed": 99}, scheduler=client)
        start = time.perf_counter()
        records = sw.run_sweep(**GRID, seed=0, scheduler=client)
        seconds = time.perf_counter() - start
    finally:
        cluster = client.cluster
        client.close()
        cluster.close()
    assert all(r["status"] == "ok" for r in records)
    return {"benchmark": "sweep_throughput", "workers": workers, "points": len(records),
            "seconds": seconds, "points_per_second": len(records) / seconds}


def main():
    records = [measure(1), measure(2)]
    records[1]["speedup_vs_1_worker"] = (records[1]["points_per_second"]
                                         / records[0]["points_per_second"])
    if "--json" not in sys.argv:
        for record in records:
            print(json.dumps(record), flush=True)
    print(json.dumps(records))


if __name__ == "__main__":
    main()
