"""The ``neurolattice`` command.

Every error caused by the user's input prints one line on stderr and exits with code 2; no
traceback reaches the user (``--debug`` shows it for bug reports).
"""

import argparse
import json
import logging
import sys

from .errors import NeurolatticeError

EXIT_BAD_INPUT = 2


def _simulate(args):
    from .model import LatticeModel
    from .simulation import run_simulation

    params = dict(neurons=args.neurons, ticks=args.ticks or 128, replicas=args.replicas,
                  connectivity=args.connectivity, J=args.J, K=args.K, h=args.h,
                  temperature=args.temperature, time_boundary=args.time_boundary,
                  neuron_boundary=args.neuron_boundary, seed=args.seed)
    if args.grid:
        params["grid_rows"], params["grid_cols"] = args.grid
    if args.model_file:  # a fit saved by `neurolattice fit --out`: its action, theta = 1
        from .fitting.io import load_fit, to_lattice_model
        model = to_lattice_model(load_fit(args.model_file), ticks=args.ticks,
                                 replicas=args.replicas)
    else:
        model = LatticeModel.create(**params)
    result = run_simulation(model, algorithm=args.algorithm, sweeps=args.sweeps,
                            burn_in=args.burn_in, seed=args.seed, threads=args.threads)
    if args.json:
        print(json.dumps(result))
        return
    print(f"{model.describe()}\npath: {result['path']} ({result['path_reason']})")
    for key in ("energy_per_site", "abs_magnetization"):
        print(f"{key:>20}: {result[key]:.6f} +- {result[key + '_err']:.6f}")
    for key in ("specific_heat", "susceptibility", "binder", "tau_int_energy", "flips_per_ns"):
        print(f"{key:>20}: {result[key]:.6g}")


def _inspect(args):
    from .recordings import inspect_recording

    report = inspect_recording(args.file, bin_ms=args.bin_ms)
    if args.json:
        print(json.dumps(report))
        return
    for key in ("units", "trials", "duration_s", "bin_ms", "ticks", "multi_spike_fraction",
                "mean_correlation"):
        print(f"{key:>22}: {report[key]}")
    for i, j, r in report["near_duplicate_pairs"]:
        print(f"{'near-duplicate pair':>22}: units {i} and {j} (r = {r:.2f})")
    for warning in report["warnings"]:
        print(f"{'warning':>22}: {warning}")


def _fit(args):
    from .fitting.api import fit
    from .fitting.io import fit_to_json, save_fit
    from .recordings import bin_recording, load_recording
    from .recordings.binning import ensure_bin_width

    recording, note = ensure_bin_width(load_recording(args.file), args.bin_ms / 1000.0)
    binned = bin_recording(recording, args.bin_ms / 1000.0)
    result = fit(binned.binary, model=args.model, method=args.method, bin_ms=args.bin_ms,
                 holdout=args.holdout, drop_units=args.drop or None, seed=args.seed,
                 drive={"auto": "auto", "on": True, "off": False}[args.drive],
                 provenance={"source": args.file})
    if args.out:
        save_fit(result, args.out)
    if note:
        result.warnings.append(note)
    record = fit_to_json(result)
    if args.json:
        print(json.dumps(record))
        return
    v = result.validation or {}
    print(f"{result.model} by {result.method}: {result.n_units} units, {result.n_samples} "
          f"samples, {result.seconds:.2f} s, converged={result.converged}")
    for key in ("rate_corr", "corr_corr", "lag1_corr", "pk_w1", "heldout_pll"):
        if key in v:
            print(f"{key:>12}: {v[key]:.4g}")
    for warning in result.warnings:
        print(f"     warning: {warning}")


def _bench(args):
    from .benchmark import engine_benchmarks

    records = engine_benchmarks(min_seconds=args.seconds)
    if args.json:
        print(json.dumps(records))
        return
    for r in records:
        print(f"{r['path']:>8} {r['connectivity']:>10} {r['neurons']:>5} x {r['ticks']:<5} "
              f"threads={r['threads']}  {r['flips_per_ns']:.3f} flips/ns")


def _serve(args):
    try:
        from app.main import serve
    except ImportError as error:  # the dashboard's dependencies are missing
        raise NeurolatticeError(f"the dashboard needs panel, holoviews and bokeh ({error}); "
                                "install them with 'make serve' or pip install neurolattice."
                                ) from error
    if args.file:  # refuse a bad file now, with exit code 2, rather than on the page
        from .recordings import load_recording
        load_recording(args.file)
    origins = args.allow_websocket_origin or None
    for name in ("app", "neurolattice_core"):
        logging.getLogger(name).setLevel(args.log_level.upper())
    print(f"neurolattice: serving on http://{args.address}:{args.port}/neurolattice "
          "(Ctrl+C stops); the engine loads in the background (the first start after an "
          "install compiles it: about a minute)", file=sys.stderr, flush=True)
    serve(args.file, port=args.port, address=args.address, allow_websocket_origin=origins,
          show=args.show)


def _positive_int(text):
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


def _grid_shape(text):
    try:
        rows, cols = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"grid shape must look like 10x10, got {text!r}") from None
    return rows, cols


def build_parser():
    """The argument parser of the ``neurolattice`` command."""
    parser = argparse.ArgumentParser(prog="neurolattice", description=__doc__.splitlines()[0])
    parser.add_argument("--debug", action="store_true", help="show tracebacks (for bug reports)")
    commands = parser.add_subparsers(dest="command", required=True)

    sim = commands.add_parser("simulate", help="sample the lattice model and print observables")
    sim.add_argument("--neurons", type=int, default=64)
    sim.add_argument("--ticks", type=int, default=None,
                     help="ticks per replica (default 128, or the fit's trial length)")
    sim.add_argument("--replicas", type=int, default=1)
    sim.add_argument("--connectivity", default="ring",
                     choices=["all-to-all", "ring", "grid", "sk", "hopfield"])
    sim.add_argument("--grid", type=_grid_shape, help="grid shape ROWSxCOLS (grid connectivity)")
    sim.add_argument("--J", type=float, default=1.0, help="equal-time coupling")
    sim.add_argument("--K", type=float, default=1.0, help="temporal coupling")
    sim.add_argument("--h", type=float, default=0.0, help="uniform field")
    sim.add_argument("--temperature", type=float, default=2.269185)
    sim.add_argument("--time-boundary", choices=["periodic", "open"], default="periodic")
    sim.add_argument("--neuron-boundary", choices=["periodic", "open"], default="periodic")
    sim.add_argument("--algorithm", choices=["auto", "metropolis", "heatbath", "cluster"],
                     default="auto")
    sim.add_argument("--sweeps", type=_positive_int, default=1000)
    sim.add_argument("--burn-in", type=_positive_int, default=200)
    sim.add_argument("--seed", type=_positive_int, default=0)
    sim.add_argument("--threads", type=int, default=None, help="numba threads (default: all)")
    sim.add_argument("--model-file", help="simulate a fitted model saved by 'neurolattice fit'")
    sim.add_argument("--json", action="store_true", help="print one JSON object")
    sim.set_defaults(handler=_simulate)

    ins = commands.add_parser("inspect", help="describe a recording (or sample:NAME)")
    ins.add_argument("file", help="recording file, or sample:NAME for a shipped sample")
    ins.add_argument("--bin-ms", type=float, default=20.0, help="bin width in ms")
    ins.add_argument("--json", action="store_true", help="print one JSON object")
    ins.set_defaults(handler=_inspect)

    fit = commands.add_parser("fit", help="fit the lattice field theory to a recording")
    fit.add_argument("file", help="recording file, or sample:NAME for a shipped sample")
    fit.add_argument("--bin-ms", type=float, default=20.0, help="bin width in ms")
    fit.add_argument("--model", choices=["maxent", "lft", "kinetic"], default="lft")
    fit.add_argument("--method", choices=["pl", "mf", "bm", "exact"], default="pl")
    fit.add_argument("--holdout", type=float, default=0.2,
                     help="fraction of trials (or time blocks) held out for validation")
    fit.add_argument("--drop", type=int, action="append",
                     help="unit position to leave out (repeatable)")
    fit.add_argument("--seed", type=_positive_int, default=0)
    fit.add_argument("--drive", choices=["auto", "on", "off"], default="auto",
                     help="time-locked drive u_t (auto: lft by pl/bm on stimulus-locked trials)")
    fit.add_argument("--out", help="save the fit (JSON) for 'simulate --model-file'")
    fit.add_argument("--json", action="store_true", help="print one JSON object")
    fit.set_defaults(handler=_fit)

    srv = commands.add_parser("serve", help="start the dashboard in the browser")
    srv.add_argument("file", nargs="?", help="recording to preload (default: the shipped sample)")
    srv.add_argument("--port", type=int, default=5006)
    srv.add_argument("--address", default="localhost")
    srv.add_argument("--allow-websocket-origin", action="append",
                     help="host[:port] allowed to connect (repeatable)")
    srv.add_argument("--show", action="store_true", help="open a browser tab")
    srv.add_argument("--log-level", default="warning",
                     choices=["debug", "info", "warning", "error"], help="server log detail")
    srv.set_defaults(handler=_serve)

    bench = commands.add_parser("bench", help="measure the engine's throughput (flips/ns)")
    bench.add_argument("--seconds", type=float, default=0.5, help="timing per case")
    bench.add_argument("--json", action="store_true", help="print a JSON list of records")
    bench.set_defaults(handler=_bench)

    from .cli_sweeps import add_commands
    add_commands(commands)  # sweep, flow
    return parser


def main(argv=None):
    """Entry point of the console script; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if getattr(args, "threads", None) is not None and args.threads < 1:
        parser.error(f"--threads must be >= 1, got {args.threads}")
    try:
        args.handler(args)
    except NeurolatticeError as error:
        if args.debug:
            raise
        print(f"neurolattice {args.command}: error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print(f"neurolattice {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into `head` and the like
        sys.stderr.close()
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
