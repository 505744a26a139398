"""Fit-speed benchmarks of the pseudo-likelihood fitter (issue 4 targets).

Prints JSON records; with ``--json`` the last line is the JSON list that ``run_all.py`` collects.

- ``example50``: the maxent-toolbox example (50 units x 40,000 bins, one trial): maxent pl
  (target <= 1 s) and lft pl (target <= 3 s).
- ``onken``: Onken Movie1Exp2 at 20 ms (49 units x 30 trials x 900 bins = 27,000 bins): maxent
  and lft pl. Reference: ConIII 3.0.1's pseudo-likelihood took 25.7 s for 49 units x 43,239
  bins on this machine.
- ``synthetic200``: 200 units x 100,000 bins (100 trials x 1,000 ticks) simulated from a sparse
  kinetic Ising model (:func:`neurolattice_core.fitting.synthetic.kinetic_data`; rates about
  0.02-0.2 per bin, spatial and temporal correlations): maxent
  and lft pl (target <= 60 s).

Fit time only (data in memory, validation off): best wall time of ``--repeats`` runs after a
warm-up run (Numba compiled and cached), with the CPU time of that run and the number of Numba
threads. The machine is shared: wall times are noisy.

    python benchmarks/bench_fit.py [--json] [--repeats 3] [--skip-large]
"""

import json
import sys
import time
from pathlib import Path

import numba
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from neurolattice_core.fitting.data import FitData  # noqa: E402
from neurolattice_core.fitting.pseudolikelihood import fit_pseudolikelihood  # noqa: E402
from neurolattice_core.fitting.synthetic import kinetic_data  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
TARGETS = {("example50", "maxent"): 1.0, ("example50", "lft"): 3.0,
           ("synthetic200", "maxent"): 60.0, ("synthetic200", "lft"): 60.0}


def example50():
    import h5py

    with h5py.File(DATA / "maxent-toolbox-example50" / "example50.mat", "r") as f:
        return FitData.from_raster(np.array(f["spikes50"]).T)


def onken(bin_ms=20, duration_ms=18000):
    import scipy.io

    cells = scipy.io.loadmat(DATA / "onken2016-salamander-retina" / "Movie1Exp2.mat")["Spikes"]
    n_units, n_trials = cells.shape
    T = duration_ms // bin_ms
    raster = np.zeros((n_trials, n_units, T), dtype=np.uint8)
    for i in range(n_units):
        for k in range(n_trials):
            t = np.asarray(cells[i, k], dtype=np.int64).ravel() // bin_ms
            raster[k, i, t[(t >= 0) & (t < T)]] = 1
    return FitData.from_raster(raster, bin_ms=bin_ms)


def synthetic200():
    return kinetic_data(n=200, n_trials=100, n_ticks=1000, seed=0)


def time_fit(name, data, model, repeats):
    fit_pseudolikelihood(data, model)                            # warm-up (compilation)
    best, cpu, res = np.inf, None, None
    for _ in range(repeats):
        c0, t0 = time.process_time(), time.perf_counter()
        res = fit_pseudolikelihood(data, model)
        wall = time.perf_counter() - t0
        if wall < best:
            best, cpu = wall, time.process_time() - c0
    target = TARGETS.get((name, model))
    d = res["diagnostics"]
    return {"benchmark": "fit_pl", "data": name, "model": model, "n_units": data.n_units,
            "n_bins": data.n_samples, "rates": round(float(data.rates().mean()), 4),
            "seconds": round(best, 3), "cpu_seconds": round(cpu, 3),
            "threads": numba.get_num_threads(), "n_rows": d["n_rows"],
            "iterations": d["iterations"], "converged": d["converged"],
            "target_seconds": target, "meets_target": None if target is None else best <= target}


def main():
    repeats = 3
    if "--repeats" in sys.argv:
        repeats = int(sys.argv[sys.argv.index("--repeats") + 1])
    sets = [("example50", example50), ("onken", onken)]
    if "--skip-large" not in sys.argv:
        sets.append(("synthetic200", synthetic200))
    records = []
    for name, make in sets:
        data = make()
        for model in ("maxent", "lft"):
            record = time_fit(name, data, model, 1 if name == "synthetic200" else repeats)
            records.append(record)
            if "--json" not in sys.argv:
                print(json.dumps(record), flush=True)
    print(json.dumps(records))


if __name__ == "__main__":
    main()
