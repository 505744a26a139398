"""Recordings benchmarks: binning speed, and NWB laziness (listing units without their spikes).

Prints JSON records; with ``--json`` the last line is the JSON list that ``run_all.py`` collects.

- ``binning``: 200 units, 1e6 spikes in total, 1 ms bins, as one 100 s recording (T = 1e5)
  and as 100 trials of 2 s aligned to an event (T = 2000); best of 5 after a warm-up (Numba
  compiled and cached). Target: well under a second.
- ``nwb``: NWB files of 200 units with 1e5, 1e6 and 4e6 spikes; ``list_nwb_units`` in-process
  (ids, labels, counts from the ragged index) against ``load_recording`` (reads the spike times,
  in the reader worker process by default, and in-process). Listing time should not grow with
  the number of spikes.
- ``sample``: load and inspect the default sample (Onken Movie1Exp2) at 20 ms.
"""

import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from neurolattice_core.recordings import (  # noqa: E402
    Recording,
    Trials,
    _isolate,
    bin_recording,
    inspect_recording,
    load_recording,
)
from neurolattice_core.recordings.nwb import list_nwb_units  # noqa: E402


def best_of(fn, repeats=5):
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times), float(np.median(times))


def binning_records():
    rng = np.random.default_rng(0)
    n_units, per_unit = 200, 5000
    trains = [np.sort(rng.uniform(0, 100.0, per_unit)) for _ in range(n_units)]
    rec = Recording.from_spike_trains(trains, time_unit="s", t_stop_s=100.0)
    starts = np.arange(100) * 3.0
    trials = Trials(starts, starts + 2.0, None, {"go": starts + 0.5})
    tt = [np.sort(np.concatenate([s + rng.uniform(0, 2.0, per_unit // 100) for s in starts]))
          for _ in range(n_units)]
    rec_trials = Recording.from_spike_trains(tt, time_unit="s", trials=trials)
    out = []
    for label, r, kw in (("continuous 100 s", rec, {}),
                         ("100 trials x 2 s, aligned", rec_trials,
                          {"align": "go", "window": (-0.5, 1.5)})):
        best, median = best_of(lambda r=r, kw=kw: bin_recording(r, 0.001, **kw))
        b = bin_recording(r, 0.001, **kw)
        out.append({"benchmark": "binning", "case": label, "units": n_units,
                    "spikes": int(r.n_spikes), "bin_ms": 1.0, "shape": list(b.shape),
                    "seconds_best": round(best, 4), "seconds_median": round(median, 4)})
    return out


def nwb_records():
    from tests.core.test_recordings_files import write_nwb

    out = []
    rng = np.random.default_rng(1)
    with tempfile.TemporaryDirectory() as tmp:
        for total in (100_000, 1_000_000, 4_000_000):
            per = total // 200
            trains = [np.sort(rng.uniform(0, 1000.0, per)) for _ in range(200)]
            path = Path(tmp) / f"u{total}.nwb"
            write_nwb(path, trains, labels=["good"] * 200)
            list_best, _ = best_of(lambda p=path: list_nwb_units(p, isolate=False), repeats=3)
            load_best, _ = best_of(lambda p=path: load_recording(p), repeats=3)
            _isolate.ISOLATE_READERS = False
            try:
                inproc_best, _ = best_of(lambda p=path: load_recording(p), repeats=3)
            finally:
                _isolate.ISOLATE_READERS = True
            out.append({"benchmark": "nwb", "units": 200, "spikes": total,
                        "file_mb": round(path.stat().st_size / 2**20, 1),
                        "list_units_seconds": round(list_best, 4),
                        "load_seconds_worker": round(load_best, 4),
                        "load_seconds_in_process": round(inproc_best, 4)})
    return out


def sample_records():
    load_best, _ = best_of(lambda: load_recording("sample:onken-movie1-exp2"), repeats=3)
    insp_best, _ = best_of(lambda: inspect_recording("sample:onken-movie1-exp2"), repeats=3)
    return [{"benchmark": "sample", "name": "onken-movie1-exp2", "load_seconds":
             round(load_best, 4), "inspect_20ms_seconds": round(insp_best, 4)}]


def main():
    records = binning_records() + nwb_records() + sample_records()
    if "--json" not in sys.argv:
        for r in records:
            print(json.dumps(r))
    print(json.dumps(records))


if __name__ == "__main__":
    main()
