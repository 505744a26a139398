"""`make bench`: every benchmark of the project, as ratios against references timed in the same run.

Prints a table and writes benchmarks/results.json.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from reference import reference_flips_per_ns  # noqa: E402

from neurolattice_core.benchmark import engine_benchmarks  # noqa: E402


def engine_section(seconds):
    records = engine_benchmarks(min_seconds=seconds)
    references = {}
    for record in records:
        key = (record["neurons"], record["ticks"], record["threads"])
        if key not in references:
            references[key] = reference_flips_per_ns(*key, min_seconds=seconds)
        record["reference_flips_per_ns"] = references[key]
        record["speedup_vs_reference"] = record["flips_per_ns"] / references[key]
    return records


def extra_sections():
    """Benchmarks that other modules register as scripts printing a JSON list of records."""
    results = {}
    for script in sorted(HERE.glob("bench_*.py")):
        env = os.environ | {"PYTHONPATH": str(HERE.parent)}
        run = subprocess.run([sys.executable, str(script), "--json"], capture_output=True,
                             text=True, timeout=1800, env=env)
        if run.returncode != 0:
            results[script.stem] = {"error": run.stderr.strip().splitlines()[-1:]}
            continue
        lines = run.stdout.strip().splitlines() or [""]
        try:
            results[script.stem] = json.loads(lines[-1])
        except json.JSONDecodeError:  # a script that prints a table: keep its text
            results[script.stem] = {"text": lines}
    return results


def main():
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0
    report = {"engine": engine_section(seconds)}
    print(f"{'path':>8} {'connectivity':>12} {'size':>11} {'thr':>3} {'flips/ns':>9} "
          f"{'reference':>9} {'ratio':>7}")
    for r in report["engine"]:
        print(f"{r['path']:>8} {r['connectivity']:>12} {r['neurons']:>5}x{r['ticks']:<5} "
              f"{r['threads']:>3} {r['flips_per_ns']:>9.3f} {r['reference_flips_per_ns']:>9.3f} "
              f"{r['speedup_vs_reference']:>7.1f}")
    report.update(extra_sections())
    for name, records in report.items():
        if name != "engine":
            print(f"\n{name}:\n{json.dumps(records, indent=1)}")
    (HERE / "results.json").write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
