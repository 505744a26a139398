"""The ``neurolattice sweep`` and ``neurolattice flow`` commands (phase diagrams and RG flows).

    neurolattice sweep --connectivity ring --neurons 64 --ticks 64 --J 0.2:0.8:16
        --K 0.2:0.8:16 --sweeps 2000 [--scheduler tcp://HOST:8786] --json --out sweep.json
    neurolattice flow sample:onken-movie1-exp2 --bin-ms 5,10,20,40 --subsample 10,20,40 --json

Progress goes to stderr, results to stdout (``--json``: one JSON value) or ``--out``. Input
errors (a malformed range, an unknown connectivity, a scheduler that does not answer) raise
:class:`~neurolattice_core.errors.ParameterError`, which the CLI turns into one line on stderr and
exit code 2. Values are parsed in the handlers, not by argparse, so that such errors are one line.
"""

import itertools
import json
import math
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

from .cli import (
    add_drop_option,
    add_loader_options,
    check_bin_ms,
    check_drop,
    check_out,
    loader_options,
)
from .errors import ParameterError
from .sweeps import MAX_POINTS

EXIT_POINTS_FAILED = 1  # the input was fine but points failed at run time

SWEEP_CONNECTIVITIES = ("ring", "all-to-all", "grid", "sk", "hopfield")
ALGORITHMS = ("auto", "metropolis", "heatbath", "cluster")
FLOW_SUBSAMPLE_BIN_MS = 20.0    # flow over neurons: bin width (ms)
FLOW_DRAWS = 5                  # flow over neurons: random subsets per size
FLOW_DIAGRAM = "all-to-all"     # J convention of the flow's phase-diagram points


def parse_values(text, option):
    """Values of a sweep axis: ``START:STOP:COUNT`` (inclusive linspace), ``a,b,c`` or ``x``.

    Raises :class:`ParameterError` naming ``option`` for anything else (e.g. ``0.2:0.8``, a count
    of zero, non-finite numbers).
    """
    hint = (f"{option} {text!r}: expected START:STOP:COUNT (e.g. 0.2:0.8:16), a comma-separated "
            "list (0.2,0.5) or one number")
    parts = text.split(":")
    try:
        if len(parts) == 3 and parts[2].strip().isdigit():
            count = min(int(parts[2]), MAX_POINTS + 1)   # more is refused below, unallocated
            values = np.linspace(float(parts[0]), float(parts[1]), count).tolist()
        elif len(parts) == 1:
            count, values = None, [float(v) for v in text.split(",")]
        else:
            raise ValueError
    except ValueError:
        raise ParameterError(hint) from None
    if count == 0:
        raise ParameterError(f"{hint}; the count must be >= 1, got 0")
    if count is not None and count > MAX_POINTS:
        raise ParameterError(f"{option} {text!r}: {parts[2].strip()} values; a sweep has at "
                             f"most {MAX_POINTS} points")
    if not all(math.isfinite(v) for v in values):
        raise ParameterError(f"{hint}; values must be finite")
    return values


def _positive_list(text, option, kind=float):
    """A comma list of positive numbers (bin widths, subset sizes)."""
    try:
        values = [kind(v) for v in text.split(",")]
    except ValueError:
        raise ParameterError(f"{option} {text!r}: expected a comma-separated list of positive "
                             f"{'integers' if kind is int else 'numbers'}, e.g. 5,10,20") from None
    if not values or not all(math.isfinite(v) and v > 0 for v in values):
        raise ParameterError(f"{option} {text!r}: every value must be finite and > 0")
    return values


def _plain(x):
    """JSON-able copy: numpy values -> Python, non-finite floats -> None (valid JSON)."""
    if isinstance(x, dict):
        return {str(k): _plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple, np.ndarray)):
        return [_plain(v) for v in x]
    if isinstance(x, (np.floating, float)):
        return float(x) if math.isfinite(x) else None
    if isinstance(x, np.integer):
        return int(x)
    return x


def _check_seed(seed):
    if not 0 <= seed < 2**63:
        raise ParameterError(f"--seed {seed}: a seed must be an integer from 0 to 2**63 - 1")


def _check_cache(path):
    """Create the --cache folder now, so that a file or an unwritable place fails in one line."""
    folder = Path(path)
    if folder.exists() and not folder.is_dir():
        raise ParameterError(f"--cache {path}: is a file, not a folder; give a folder (it is "
                             "created if missing)")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ParameterError(f"--cache {path}: cannot create the folder ({error.strerror}); "
                             "give a folder you can write to") from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ParameterError(f"--cache {path}: the folder is not writable; give one you can "
                             "write to")


def _write_json(path, value):
    """Write JSON atomically (a killed run never leaves a torn file)."""
    target = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(dir=target.parent if str(target.parent) else ".",
                                   suffix=".tmp")
    except OSError as error:
        raise ParameterError(f"--out {path}: cannot write there ({error.strerror})") from None
    with os.fdopen(fd, "w") as handle:
        json.dump(value, handle)
    os.replace(tmp, target)


class ProgressBar:
    """A text progress bar on a stream (stderr), redrawn in place; callable(done, total)."""

    def __init__(self, label, stream=None, width=30):
        self.label, self.stream, self.width = label, stream or sys.stderr, width
        self._last = None

    def __call__(self, done, total):
        """Redraw the bar at ``done`` of ``total`` points (ends the line at the total)."""
        if (done, total) == self._last:
            return
        self._last = (done, total)
        filled = int(round(self.width * done / total)) if total else self.width
        self.stream.write(f"\r{self.label} [{'#' * filled}{'.' * (self.width - filled)}] "
                          f"{done}/{total}")
        if done >= total:
            self.stream.write("\n")
        self.stream.flush()

    def close(self):
        """End the line if the bar stopped before reaching the total (cancel, error)."""
        if self._last is not None and self._last[0] < self._last[1]:
            self.stream.write("\n")
            self.stream.flush()


def _sweep(args):
    from .sweeps import SCHEDULER_ENV, open_client, run_sweep

    if args.connectivity not in SWEEP_CONNECTIVITIES:
        raise ParameterError(f"--connectivity {args.connectivity!r} is unknown; choose one of "
                             f"{', '.join(SWEEP_CONNECTIVITIES)}")
    if args.algorithm not in ALGORITHMS:
        raise ParameterError(f"--algorithm {args.algorithm!r} is unknown; choose one of "
                             f"{', '.join(ALGORITHMS)}")
    J = parse_values(args.J, "--J")
    K = parse_values(args.K, "--K")
    h = parse_values(args.h, "--h")
    if not 0 < args.timeout < math.inf:   # also refuses nan
        raise ParameterError(f"--timeout must be > 0 seconds; got {args.timeout}")
    _check_seed(args.seed)
    _check_points(args, J, K, h)
    if args.out:
        check_out(args.out)
    if args.cache:
        _check_cache(args.cache)
    # the cluster's own INFO logs (here and in the worker processes) would bury the bar
    os.environ.setdefault("DASK_LOGGING__DISTRIBUTED", "warning")
    scheduler, owned = args.scheduler or os.environ.get(SCHEDULER_ENV), False
    if scheduler:  # connect first: an address that does not answer fails before any output
        scheduler, owned = open_client(scheduler, timeout=args.timeout)
    bar = None if args.quiet else ProgressBar(f"sweep {len(J) * len(K) * len(h)} points")
    try:
        records = run_sweep(args.connectivity, args.neurons, args.ticks, J, K,
                            sweeps=args.sweeps, burn_in=args.burn_in, seed=args.seed,
                            scheduler=scheduler, cache_dir=args.cache, progress=bar,
                            h_values=h, replicas=args.replicas, algorithm=args.algorithm,
                            time_boundary=args.time_boundary, workers=args.workers,
                            timeout=args.timeout)
    finally:
        if bar is not None:
            bar.close()
        if owned:
            scheduler.close()
    records = _plain(records)
    if args.out:
        _write_json(args.out, records)
    failed = [r for r in records if r["status"] != "ok"]
    for r in failed:
        print(f"neurolattice sweep: warning: point J={r['J']}, K={r['K']}, h={r['h']} "
              f"{r['status']}: {r.get('error', '')}", file=sys.stderr)
    if failed:
        print(f"neurolattice sweep: error: {len(failed)} of {len(records)} points did not "
              "complete (see the warnings above)", file=sys.stderr)
    _print_sweep(args, records)
    return EXIT_POINTS_FAILED if failed else 0


def _check_points(args, J, K, h):
    """Check the sweep's options and its corner points' models (bad options fail once here).

    Not in every worker, with a traceback each.
    """
    from .engine import choose_path
    from .model import LatticeModel
    from .sweeps import sweep_points

    sweep_points(args.connectivity, args.neurons, args.ticks, J, K, h, sweeps=args.sweeps,
                 burn_in=args.burn_in, replicas=args.replicas)
    if args.time_boundary not in ("periodic", "open"):
        raise ParameterError(f"--time-boundary {args.time_boundary!r}: choose periodic or open")
    for j, k, field in itertools.product(*({min(v), max(v)} for v in (J, K, h))):
        model = LatticeModel.create(neurons=args.neurons, ticks=args.ticks,
                                    replicas=args.replicas, connectivity=args.connectivity,
                                    J=j, K=k, h=field, temperature=1.0,
                                    time_boundary=args.time_boundary, seed=args.seed)
        choose_path(model, args.algorithm)   # the cluster algorithm needs J, K >= 0


def _print_sweep(args, records):
    if args.json:
        print(json.dumps(records))
        return
    print(f"{'J/θ':>8} {'K/θ':>8} {'h/θ':>7} {'<|m|>':>16} {'Binder':>16} {'q_EA':>16}  status")
    for r in records:
        cells = [f"{r[k]:.4f} ± {r[k + '_err'] or float('nan'):.4f}" if r.get(k) is not None
                 else "-" for k in ("abs_magnetization", "binder", "q_ea")]
        print(f"{r['J']:8.4f} {r['K']:8.4f} {r['h']:7.3f} {cells[0]:>16} {cells[1]:>16} "
              f"{cells[2]:>16}  {r['status']}")


def _check_flow_options(args):
    """Refuse options that would be ignored, and fill in their defaults (argparse gives None)."""
    over_neurons = [name for name, value in (("--subsample-bin-ms", args.subsample_bin_ms),
                                             ("--draws", args.draws)) if value is not None]
    if over_neurons and not args.subsample:
        one = len(over_neurons) == 1
        raise ParameterError(f"{' and '.join(over_neurons)} only appl{'ies' if one else 'y'} to "
                             f"the flow over neurons: add --subsample SIZES (e.g. --subsample "
                             f"10,20,40) or leave {'it' if one else 'them'} out")
    if args.diagram is not None and args.model != "lft":
        raise ParameterError(f"--diagram {args.diagram} only applies to --model lft (a maxent fit "
                             f"has no temporal coupling to place on the phase diagram): leave it "
                             f"out or use --model lft")
    args.subsample_bin_ms = FLOW_SUBSAMPLE_BIN_MS if args.subsample_bin_ms is None \
        else args.subsample_bin_ms
    args.draws = FLOW_DRAWS if args.draws is None else args.draws
    args.diagram = FLOW_DIAGRAM if args.diagram is None else args.diagram


def _flow(args):
    from .phases import point_from_summary
    from .recordings import bin_recording, load_recording
    from .recordings.binning import ensure_bin_width
    from .renormalization import flow_in_neurons, flow_in_time

    widths = sorted(_positive_list(args.bin_ms, "--bin-ms"))
    base = widths[0]
    factors = [w / base for w in widths]
    if any(abs(f - round(f)) > 1e-9 for f in factors):
        raise ParameterError(f"--bin-ms {args.bin_ms}: every bin width must be an integer "
                             f"multiple of the smallest ({base:g} ms), e.g. 5,10,20,40")
    _check_seed(args.seed)
    _check_flow_options(args)
    sizes = None
    if args.subsample:  # checked before the fits in time, which take a while
        sizes = _positive_list(args.subsample, "--subsample", int)
        if args.draws < 1:
            raise ParameterError(f"--draws {args.draws}: must be >= 1 random subset per size")
        check_bin_ms(args.subsample_bin_ms, "--subsample-bin-ms")
    recording, note = ensure_bin_width(load_recording(args.file, **loader_options(args)),
                                       base / 1000.0)
    binned = bin_recording(recording, base / 1000.0)
    check_drop(args.drop, binned.binary.shape[1], args.file)
    kept = np.setdiff1d(np.arange(binned.binary.shape[1]), args.drop or [])
    sub = None
    if sizes:   # subsets drawn among the kept units
        sub = bin_recording(recording, args.subsample_bin_ms / 1000.0).binary[:, kept]
        if not all(2 <= n <= kept.size for n in sizes):
            left = f", {len(set(args.drop))} left out by --drop" if args.drop else ""
            raise ParameterError(f"--subsample {args.subsample}: subset sizes must be between 2 "
                                 f"and N = {kept.size} (the units of {args.file}{left})")
    result = {"source": args.file, "base_bin_ms": base, "rule": args.rule, "model": args.model,
              "warnings": [note] if note else []}
    result["time"] = flow_in_time(binned, [int(round(f)) for f in factors], model=args.model,
                                  rule=args.rule, drop_units=args.drop or None)
    if args.model == "lft":
        for entry in result["time"]:
            entry["phase_point"] = point_from_summary(entry, args.diagram)
    if sizes:
        result["neurons"] = flow_in_neurons(sub, sizes, draws=args.draws, model=args.model,
                                            seed=args.seed)
        for entry in result["neurons"]:   # numbered among the kept units: positions
            for draw in entry["draws"]:
                draw["subset"] = kept[draw["subset"]].tolist()
                draw["units"] = kept[draw["units"]].tolist()
        result["subsample_bin_ms"] = args.subsample_bin_ms
    result = _plain(result)
    if args.json:
        print(json.dumps(result))
        return
    print(f"flow in time of {args.file} ({args.model}, rule {args.rule!r}):")
    print(f"{'bin ms':>8} {'<J_ij>':>18} {'<K_i>':>18} {'<h_i>':>9} {'K chain':>9}")
    for e in result["time"]:
        chain = e.get("K_chain")
        print(f"{e['bin_s'] * 1000:8.3g} {e['mean_J']:9.4f} ± {e['mean_J_err'] or 0:.4f} "
              f"{e['mean_K'] if e['mean_K'] is not None else float('nan'):9.4f} ± "
              f"{e['mean_K_err'] or 0:.4f} {e['mean_h']:9.4f} "
              f"{chain if chain is not None else float('nan'):9.4f}")
    for e in result.get("neurons", []):
        print(f"n = {e['n']:4d}: n<J_ij> = {e['J_eff']:.4f} ± {e['J_eff_err'] or 0:.4f}, "
              f"<h_i> = {e['mean_h']:.4f} ± {e['mean_h_err'] or 0:.4f}")
    for warning in result["warnings"]:
        print(f"warning: {warning}")


def add_commands(commands):
    """Register ``sweep`` and ``flow`` on the ``neurolattice`` subparsers."""
    sweep = commands.add_parser("sweep", help="phase-diagram sweep over (J/θ, K/θ) on Dask")
    sweep.add_argument("--connectivity", default="ring",
                       help=f"one of {', '.join(SWEEP_CONNECTIVITIES)}")
    sweep.add_argument("--neurons", type=int, default=16)
    sweep.add_argument("--ticks", type=int, default=16)
    sweep.add_argument("--J", default="0.2:0.8:4", help="J/θ: START:STOP:COUNT, a,b,c or x")
    sweep.add_argument("--K", default="0.2:0.8:4", help="K/θ: START:STOP:COUNT, a,b,c or x")
    sweep.add_argument("--h", default="0", help="h/θ: START:STOP:COUNT, a,b,c or x")
    sweep.add_argument("--sweeps", type=int, default=1000, help="measured sweeps per point")
    sweep.add_argument("--burn-in", type=int, default=200, help="discarded sweeps per point")
    sweep.add_argument("--replicas", type=int, default=2, help="replicas per point (>= 2)")
    sweep.add_argument("--algorithm", default="auto",
                       help="auto, metropolis, heatbath or cluster (Wolff)")
    sweep.add_argument("--time-boundary", default="periodic", help="periodic or open")
    sweep.add_argument("--seed", type=int, default=0)
    sweep.add_argument("--scheduler", default=None,
                       help="Dask scheduler address tcp://HOST:PORT (default: "
                            "$NEUROLATTICE_SCHEDULER, else a local cluster)")
    sweep.add_argument("--workers", type=int, default=None,
                       help="workers of the local cluster (default: one per core)")
    sweep.add_argument("--timeout", type=float, default=10.0,
                       help="seconds the scheduler has to answer")
    sweep.add_argument("--cache", default=None,
                       help="folder of cached points (a rerun is instant, a killed run resumes)")
    sweep.add_argument("--out", help="write the JSON list of records to this file")
    sweep.add_argument("--quiet", action="store_true", help="no progress bar on stderr")
    sweep.add_argument("--json", action="store_true", help="print the JSON list of records")
    sweep.set_defaults(handler=_sweep)

    flow = commands.add_parser("flow", help="renormalisation flow of a recording's fit")
    flow.add_argument("file", help="recording file, or sample:NAME for a shipped sample")
    flow.add_argument("--bin-ms", default="5,10,20,40",
                      help="bin widths in ms, integer multiples of the smallest "
                           "(default 5,10,20,40)")
    flow.add_argument("--rule", default="any", choices=["any", "keep"],
                      help="any: spike in any merged bin (rebinning); keep: every b-th bin "
                           "(default any)")
    flow.add_argument("--model", default="lft", choices=["lft", "maxent"],
                      help="lft: the lattice field theory; maxent: equal-time pairwise "
                           "maximum entropy (default lft)")
    flow.add_argument("--subsample", default=None,
                      help="subset sizes n for the flow over neurons, e.g. 10,20,40")
    flow.add_argument("--subsample-bin-ms", type=float, default=None,
                      help=f"bin width of the flow over neurons, with --subsample (default "
                           f"{FLOW_SUBSAMPLE_BIN_MS:g})")
    flow.add_argument("--draws", type=int, default=None,
                      help=f"random subsets per size, with --subsample (default {FLOW_DRAWS})")
    flow.add_argument("--diagram", default=None, choices=["all-to-all", "ring"],
                      help=f"J convention of the phase-diagram point, with --model lft (see "
                           f"neurolattice_core.phases; default {FLOW_DIAGRAM})")
    add_drop_option(flow)
    add_loader_options(flow)
    flow.add_argument("--seed", type=int, default=0,
                      help="seed of the random subsets of --subsample (default 0)")
    flow.add_argument("--json", action="store_true", help="print one JSON object")
    flow.set_defaults(handler=_flow)
