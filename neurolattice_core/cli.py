"""The ``neurolattice`` command.

Every error caused by the user's input prints one line on stderr and exits with code 2; no
traceback reaches the user (``--debug`` shows it for bug reports).
"""

import argparse
import errno
import json
import logging
import math
import os
import re
import socket
import sys
import warnings
from pathlib import Path

from .errors import NeurolatticeError, ParameterError

EXIT_BAD_INPUT = 2
#: Model options of ``simulate`` and their defaults. They default to None in the parser, so
#: that ``--model-file`` (whose fit fixes them all) can tell a given option from a default.
SIMULATE_DEFAULTS = {"neurons": 64, "connectivity": "ring", "grid": None, "J": 1.0, "K": 1.0,
                     "h": 0.0, "temperature": 2.269185, "time_boundary": "periodic",
                     "neuron_boundary": "periodic", "sk_J0": 0.0, "sk_spread": 1.0,
                     "hopfield_patterns": 3}
#: load_recording's options -> the CLI's (add_loader_options).
LOADER_OPTIONS = {"time_unit": "--time-unit", "variable": "--variable",
                  "trial_duration_s": "--trial-duration"}
#: Options that apply to some connectivities only (the others would ignore them).
ONLY_FOR = {"J": ("all-to-all", "ring", "grid", "hopfield"), "sk_J0": ("sk",),
            "sk_spread": ("sk",), "hopfield_patterns": ("hopfield",)}
MIN_SWEEPS = 4  # the blocking error bars of the energy need 4 measured sweeps
#: Python-API names in library messages -> the CLI's words (the library messages stay as they
#: are: scripts and the dashboard use them).
CLI_WORDS = (
    (re.compile(r"\(drop_units=\[\.\.\.\]\) or pass drop_inactive=True"),
     "(--drop POSITION, repeatable; 'neurolattice inspect' lists silent units)"),
    (re.compile(r"\(drop_units\)"), "(--drop POSITION)"),
    (re.compile(r"method='(\w+)'"), r"--method \1"),
    (re.compile(r"pass time_unit='(\w+)'"), r"add --time-unit \1"),
    (re.compile(r"history=(\d+) measurements"), r"--sweeps \1 (every measured sweep kept)"),
    (re.compile(r"use a history of at most (\d+) measurements"), r"use at most --sweeps \1"),
    (re.compile(r"pass time_unit to override"), "use --time-unit to override"),
    (re.compile(r"pass trial_duration_s"), "use --trial-duration SECONDS"),
    (re.compile(r"trial_duration_s applies"), "--trial-duration applies"),
    (re.compile(r"pass variable='NAME'"), "choose one with --variable NAME"),
    (re.compile(r"use algorithm '(\w+)' or '(\w+)'"), r"use --algorithm \1 or \2"),
    (re.compile(r"invalid model parameter: \w+ parameter '(\w+)' "),
     lambda match: f"--{match.group(1).replace('_', '-')} "),
    (re.compile(r"\(holdout=0\)|\(holdout=0 or validate_fit=False\)"), "(--holdout 0)"),
    (re.compile(r"option\(s\) \[(.*?)\] do not apply to (.+?); valid: .*$"),
     lambda match: _options_not_applying(match.group(1), match.group(2))),
    (re.compile(r"with drive=True"), "with --drive on"),
    (re.compile(r"--grid-(rows|cols) must be"),
     lambda match: f"--grid: the number of {'rows' if match.group(1) == 'rows' else 'columns'}"
                   " must be"),
    (re.compile(r"^(holdout|sweeps|burn_in|replicas|bin_ms) must be"),
     lambda match: f"--{match.group(1).replace('_', '-')} must be"),
    (re.compile(r"the J x K x h values make"), "--J, --K and --h make"),
)


def _options_not_applying(listed, what):
    """``['variable', 'time_unit']`` and "text files" in the CLI's words."""
    names = [LOADER_OPTIONS.get(name.strip(" '"), name.strip(" '")) for name in listed.split(",")]
    return f"{' and '.join(names)} do{'es' if len(names) == 1 else ''} not apply to {what}"


def cli_words(message):
    """``message`` with Python-API names (drop_units=..., method='bm') in the CLI's terms."""
    for pattern, replacement in CLI_WORDS:
        message = pattern.sub(replacement, message)
    return message


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line (no usage block) and exit code 2."""

    def error(self, message):
        """Print ``prog: error: message (see prog --help)`` on stderr and exit with code 2."""
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _option(name):
    return "--" + name.replace("_", "-")


def _simulation_model(args):
    """The LatticeModel that ``simulate`` samples (refusing options it would ignore)."""
    from .model import LatticeModel

    given = [name for name in SIMULATE_DEFAULTS if getattr(args, name) is not None]
    if args.model_file:  # a fit saved by `neurolattice fit --out`: its action, theta = 1
        if given:
            options = ", ".join(_option(name) for name in given)
            raise ParameterError(
                f"--model-file {args.model_file} fixes the neurons, couplings, fields, "
                f"temperature (1) and boundaries of the fitted model, so {options} would be "
                f"ignored: drop {options} (--ticks, --replicas, --seed and the sampling options "
                "apply)")
        from .fitting.io import load_fit, to_lattice_model
        return to_lattice_model(load_fit(args.model_file), ticks=args.ticks,
                                replicas=args.replicas)
    values = {name: SIMULATE_DEFAULTS[name] if getattr(args, name) is None
              else getattr(args, name) for name in SIMULATE_DEFAULTS}
    for name, connectivities in ONLY_FOR.items():
        if getattr(args, name) is not None and values["connectivity"] not in connectivities:
            raise ParameterError(
                f"{_option(name)} does not apply to --connectivity {values['connectivity']} "
                f"(only to {', '.join(connectivities)})"
                + (": its couplings are J_ij = sk_J0/N + sk_spread z_ij/sqrt(N); set them with "
                   "--sk-J0 and --sk-spread" if values["connectivity"] == "sk" else ""))
    grid = values.pop("grid")
    if grid is not None and values["connectivity"] != "grid":
        raise ParameterError(f"--grid {grid[0]}x{grid[1]} applies to --connectivity grid only, "
                             f"not {values['connectivity']!r}: drop --grid or add "
                             "--connectivity grid")
    if grid is not None:
        values["grid_rows"], values["grid_cols"] = grid
    return LatticeModel.create(**values, ticks=args.ticks or 128, replicas=args.replicas,
                               seed=args.seed)


def _numerical_warnings(caught):
    """One readable line per distinct RuntimeWarning (overflow, invalid value...) of a run."""
    notes = sorted({str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)})
    return [f"numerical trouble in the run ({note}): the temperature, couplings or fields are "
            "too extreme for the arithmetic; quantities shown as null/nan are undefined"
            for note in notes]


def _simulate(args):
    from .cli_sweeps import _plain
    from .simulation import run_simulation

    model = _simulation_model(args)   # the Sampler refuses a history that does not fit
    with warnings.catch_warnings(record=True) as caught:  # reported in the result, not raw
        warnings.simplefilter("always", RuntimeWarning)
        result = run_simulation(model, algorithm=args.algorithm, sweeps=args.sweeps,
                                burn_in=args.burn_in, seed=args.seed, threads=args.threads)
    for message in caught:  # anything else keeps its usual path
        if not issubclass(message.category, RuntimeWarning):
            warnings.showwarning(message.message, message.category, message.filename,
                                 message.lineno)
    result["warnings"] = list(result.get("warnings", [])) + _numerical_warnings(caught)
    result = _plain(result)  # non-finite -> null: valid JSON
    if args.json:
        print(json.dumps(result, allow_nan=False))
        return
    grid = f", grid {result['grid_shape'][0]} x {result['grid_shape'][1]}" \
        if "grid_shape" in result else ""
    print(f"{model.describe()}\npath: {result['path']} ({result['path_reason']}), rule: "
          f"{result['rule']}{grid}")
    for key in ("energy_per_site", "abs_magnetization"):
        print(f"{key:>20}: {_number(result[key], '.6f')} +- "
              f"{_number(result[key + '_err'], '.6f')}")
    for key in ("specific_heat", "susceptibility", "binder"):
        print(f"{key:>20}: {_number(result[key], '.6g')} +- "
              f"{_number(result[key + '_err'], '.2g')}")
    for key in ("tau_int_energy", "flips_per_ns"):
        print(f"{key:>20}: {_number(result[key], '.6g')}")
    for warning in result["warnings"]:
        print(f"{'warning':>20}: {warning}")


def _number(value, spec):
    return "nan" if value is None else format(value, spec)


def _inspect(args):
    from .recordings import inspect_recording

    report = inspect_recording(args.file, bin_ms=args.bin_ms, **loader_options(args))
    report["warnings"] = [cli_words(warning) for warning in report["warnings"]]
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
    from .recordings.binning import ensure_bin_width, native_bin_ms

    if args.bin_ms is not None:
        check_bin_ms(args.bin_ms, "--bin-ms")
    if args.out:
        check_out(args.out)
    recording = load_recording(args.file, **loader_options(args))
    bin_ms = native_bin_ms(recording) if args.bin_ms is None else args.bin_ms
    recording, note = ensure_bin_width(recording, bin_ms / 1000.0)
    binned = bin_recording(recording, bin_ms / 1000.0)
    check_drop(args.drop, binned.binary.shape[1], args.file)
    result = fit(binned.binary, model=args.model, method=args.method, bin_ms=bin_ms,
                 holdout=args.holdout, drop_units=args.drop or None, seed=args.seed,
                 drive={"auto": "auto", "on": True, "off": False}[args.drive],
                 provenance={"source": args.file})
    if args.out:
        save_fit(result, args.out)
    if note:
        result.warnings.append(note)
    result.warnings[:] = [cli_words(w) for w in result.warnings]
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
        print(f"     warning: {cli_words(warning)}")


def add_loader_options(command):
    """``--time-unit``, ``--variable`` and ``--trial-duration``: how to read a recording."""
    command.add_argument("--time-unit", choices=["s", "ms", "us"],
                         help="unit of the spike times in CSV, NPZ and MATLAB files (default: "
                              "detected, and said in the warnings)")
    command.add_argument("--variable", metavar="NAME",
                         help="the MATLAB or NPZ variable holding the spikes, when the file has "
                              "several candidates")
    command.add_argument("--trial-duration", type=float, metavar="SECONDS",
                         help="trial length of spike times stored per trial (default: the "
                              "latest spike)")


def loader_options(args):
    """The ``load_recording`` options given on the command line (dict)."""
    given = {"time_unit": args.time_unit, "variable": args.variable,
             "trial_duration_s": args.trial_duration}
    return {name: value for name, value in given.items() if value is not None}


def add_drop_option(command):
    """``--drop POSITION`` (repeatable): units left out of a recording's fits."""
    command.add_argument("--drop", type=int, action="append", metavar="POSITION",
                         help="0-based position of a unit in the recording (as 'neurolattice "
                              "inspect' numbers them, not the file's unit id) to leave out "
                              "(repeatable)")


def check_drop(positions, n_units, source):
    """Refuse ``--drop`` positions that name no unit of ``source``, or leave fewer than 2."""
    unknown = sorted({p for p in positions or () if not 0 <= p < n_units})
    if unknown:
        raise ParameterError(
            f"--drop {', '.join(map(str, unknown))}: no unit at that position; {source} has "
            f"{n_units} units, positions 0 to {n_units - 1} (0-based, as 'neurolattice "
            "inspect' numbers them)")
    kept = n_units - len(set(positions or ()))
    if kept < 2 and not positions:
        raise ParameterError(f"{source} has {n_units} unit{'s' if n_units != 1 else ''}; a fit "
                             "of couplings needs at least 2")
    if kept < 2:
        raise ParameterError(f"--drop leaves {kept} of the {n_units} units of {source}; a fit "
                             "needs at least 2: drop fewer units")


def check_out(path):
    """Refuse an --out whose folder does not exist or is not writable (before the run)."""
    folder = Path(path).parent
    if Path(path).is_dir():
        raise ParameterError(f"--out {path}: is a folder; give a file name, e.g. {path}/out.json")
    if not folder.is_dir():
        raise ParameterError(f"--out {path}: the folder {folder} does not exist; create it or "
                             "write elsewhere")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ParameterError(f"--out {path}: the folder {folder} is not writable; write elsewhere")


def check_bin_ms(value, option):
    """Refuse a bin width (ms) that is not finite and > 0, naming the option."""
    if not (math.isfinite(value) and value > 0):
        raise ParameterError(f"{option} {value:g}: the bin width must be a finite number of "
                             "milliseconds > 0, e.g. 20")


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
    _check_can_listen(args.address, args.port)
    if args.file:  # refuse a bad file now, with exit code 2, rather than on the page
        from .recordings import load_recording
        load_recording(args.file)
    origins = args.allow_websocket_origin or None
    for name in ("app", "neurolattice_core"):
        logging.getLogger(name).setLevel(args.log_level.upper())
    print(f"neurolattice: serving on http://{args.address}:{args.port}/neurolattice "
          "(Ctrl+C stops); the engine loads in the background (the first start after an "
          "install compiles it: about a minute)", file=sys.stderr, flush=True)
    try:
        serve(args.file, port=args.port, address=args.address, allow_websocket_origin=origins,
              show=args.show)
    except OSError as error:  # the port was taken between the check and the start
        raise ParameterError(f"--address {args.address} --port {args.port}: the server cannot "
                             f"listen there ({error.strerror or error}); choose another --port"
                             ) from None


def _check_can_listen(address, port):
    """Bind (and release) the sockets the server will bind, as tornado does.

    A malformed address, one not on this machine or a busy port fails here, with one line,
    before the slow import of the dashboard and before "serving on ..." is printed.
    """
    try:
        infos = socket.getaddrinfo(address or None, port, socket.AF_UNSPEC, socket.SOCK_STREAM,
                                   0, socket.AI_PASSIVE)
    except (socket.gaierror, UnicodeError) as error:
        raise ParameterError(f"--address {address}: not a host name or IP address "
                             f"({getattr(error, 'strerror', None) or error}); use e.g. localhost, "
                             "127.0.0.1 or 0.0.0.0 (all interfaces)") from None
    for family, kind, proto, _, sockaddr in dict.fromkeys(infos):
        try:
            sock = socket.socket(family, kind, proto)
        except OSError:  # e.g. no IPv6 on this machine: tornado skips it too
            continue
        with sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6 and hasattr(socket, "IPPROTO_IPV6"):
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            try:
                sock.bind(sockaddr)
            except OSError as error:
                if error.errno == errno.EADDRINUSE:
                    raise ParameterError(f"--port {port}: already in use on {address} (another "
                                         "server?); stop it or choose another --port") from None
                raise ParameterError(f"--address {address} --port {port}: cannot listen on "
                                     f"{sockaddr[0]} ({error.strerror}); use an address of this "
                                     "machine (e.g. localhost) and a port from 1024 to 65535"
                                     ) from None


def _int_at_least(minimum, why="", maximum=None):
    """An argparse type: an integer in [minimum, maximum]; ``why`` explains the minimum."""
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"invalid int value: {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be >= {minimum}{why}, got {value}")
        if maximum is not None and value > maximum:
            raise argparse.ArgumentTypeError(f"must be <= {maximum}, got {value}")
        return value
    return parse


_non_negative_int = _int_at_least(0)


def _seconds_between(low, high):
    """An argparse type: a number of seconds in (low, high]."""
    def parse(text):
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"invalid number of seconds: {text!r}") from None
        if not low < value <= high:   # also refuses nan
            raise argparse.ArgumentTypeError(f"must be more than {low:g} and at most {high:g} "
                                             f"seconds, got {text}")
        return value
    return parse


def _grid_shape(text):
    try:
        rows, cols = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"grid shape must look like 10x10, got {text!r}") from None
    return rows, cols


def build_parser():
    """The argument parser of the ``neurolattice`` command."""
    parser = _Parser(prog="neurolattice", description=__doc__.splitlines()[0].replace("``", ""))
    parser.add_argument("--debug", action="store_true", help="show tracebacks (for bug reports)")
    commands = parser.add_subparsers(dest="command", required=True)

    sim = commands.add_parser("simulate", help="sample the lattice model and print observables")
    d = SIMULATE_DEFAULTS
    sim.add_argument("--neurons", type=int, help=f"neurons N (default {d['neurons']})")
    sim.add_argument("--ticks", type=_int_at_least(1), default=None,
                     help="ticks per replica (default 128, or the fit's trial length)")
    sim.add_argument("--replicas", type=int, default=1,
                     help="independent copies sampled together (default 1)")
    sim.add_argument("--connectivity", choices=["all-to-all", "ring", "grid", "sk", "hopfield"],
                     help=f"coupling preset (default {d['connectivity']})")
    sim.add_argument("--grid", type=_grid_shape,
                     help="grid shape ROWSxCOLS (--connectivity grid only)")
    sim.add_argument("--J", type=float, help=f"equal-time coupling (default {d['J']}; not sk)")
    sim.add_argument("--sk-J0", type=float,
                     help=f"SK mean coupling J0, J_ij = J0/N + spread z_ij/sqrt(N) (default "
                          f"{d['sk_J0']})")
    sim.add_argument("--sk-spread", type=float,
                     help=f"SK spread of the random couplings (default {d['sk_spread']})")
    sim.add_argument("--hopfield-patterns", type=int,
                     help=f"Hopfield stored patterns P (default {d['hopfield_patterns']})")
    sim.add_argument("--K", type=float, help=f"temporal coupling (default {d['K']})")
    sim.add_argument("--h", type=float, help=f"uniform field (default {d['h']})")
    sim.add_argument("--temperature", type=float, help=f"theta (default {d['temperature']})")
    sim.add_argument("--time-boundary", choices=["periodic", "open"],
                     help="default periodic (a fit's model: open)")
    sim.add_argument("--neuron-boundary", choices=["periodic", "open"], help="default periodic")
    sim.add_argument("--algorithm", choices=["auto", "metropolis", "heatbath", "cluster"],
                     default="auto", help="auto: Metropolis, or heat bath when flipping some "
                     "neuron's spins changes the energy by less than theta / 10 (default auto)")
    sim.add_argument("--sweeps", default=1000, help=f"measured sweeps (>= {MIN_SWEEPS})",
                     type=_int_at_least(MIN_SWEEPS, " (error bars need 4 measured sweeps)"))
    sim.add_argument("--burn-in", type=_non_negative_int, default=200,
                     help="sweeps discarded before measuring (default 200)")
    sim.add_argument("--seed", type=_non_negative_int, default=0,
                     help="random seed: the same seed gives the same numbers (default 0)")
    sim.add_argument("--threads", type=_int_at_least(1), default=None,
                     help="numba threads (default: all)")
    sim.add_argument("--model-file", help="simulate a fitted model saved by 'neurolattice fit'")
    sim.add_argument("--json", action="store_true", help="print one JSON object")
    sim.set_defaults(handler=_simulate)

    ins = commands.add_parser("inspect", help="describe a recording (or sample:NAME)")
    ins.add_argument("file", help="recording file, or sample:NAME for a shipped sample")
    ins.add_argument("--bin-ms", type=float, default=None,
                     help="bin width in ms (default: a raster's own, else 20)")
    add_loader_options(ins)
    ins.add_argument("--json", action="store_true", help="print one JSON object")
    ins.set_defaults(handler=_inspect)

    fit = commands.add_parser("fit", help="fit the lattice field theory to a recording")
    fit.add_argument("file", help="recording file, or sample:NAME for a shipped sample")
    fit.add_argument("--bin-ms", type=float, default=None,
                     help="bin width in ms (default: a raster's own, else 20)")
    fit.add_argument("--model", choices=["maxent", "lft", "kinetic"], default="lft",
                     help="lft: couplings J_ij, K_i and fields; maxent: J_ij and fields; "
                          "kinetic: asymmetric couplings s_j,t -> s_i,t+1 (default lft)")
    fit.add_argument("--method", choices=["pl", "mf", "bm", "exact"], default="pl",
                     help="pseudo-likelihood, mean field, Boltzmann machine or exact "
                          "(default pl)")
    fit.add_argument("--holdout", type=float, default=0.2,
                     help="fraction of trials (or time blocks) held out for validation")
    add_drop_option(fit)
    add_loader_options(fit)
    fit.add_argument("--seed", type=_non_negative_int, default=0)
    fit.add_argument("--drive", choices=["auto", "on", "off"], default="auto",
                     help="time-locked drive u_t (auto: lft by pl/bm on stimulus-locked trials)")
    fit.add_argument("--out", help="save the fit (JSON); an lft or maxent fit runs with "
                     "'simulate --model-file'")
    fit.add_argument("--json", action="store_true", help="print one JSON object")
    fit.set_defaults(handler=_fit)

    srv = commands.add_parser("serve", help="start the dashboard in the browser")
    srv.add_argument("file", nargs="?", help="recording to preload (default: the shipped sample)")
    srv.add_argument("--port", type=_int_at_least(1, maximum=65535), default=5006)
    srv.add_argument("--address", default="localhost")
    srv.add_argument("--allow-websocket-origin", action="append",
                     help="host[:port] allowed to connect (repeatable)")
    srv.add_argument("--show", action="store_true", help="open a browser tab")
    srv.add_argument("--log-level", default="warning",
                     choices=["debug", "info", "warning", "error"], help="server log detail")
    srv.set_defaults(handler=_serve)

    bench = commands.add_parser("bench", help="measure the engine's throughput (flips/ns)")
    bench.add_argument("--seconds", type=_seconds_between(0, 60), default=0.5,
                       help="timing per case, at most 60 (default 0.5)")
    bench.add_argument("--json", action="store_true", help="print a JSON list of records")
    bench.set_defaults(handler=_bench)

    from .cli_sweeps import add_commands
    add_commands(commands)  # sweep, flow
    return parser


_NEGATIVE_NUMBER = re.compile(r"^-(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$", re.IGNORECASE)


def join_negative_values(argv):
    """``--J -1e-3`` as ``--J=-1e-3``: argparse takes a token like -1e-3 for an option."""
    joined = []
    for token in argv:
        if (joined and _NEGATIVE_NUMBER.match(token) and joined[-1].startswith("--")
                and "=" not in joined[-1]):
            joined[-1] = f"{joined[-1]}={token}"
        else:
            joined.append(token)
    return joined


def main(argv=None):
    """Entry point of the console script; returns the exit code."""
    try:
        parser = build_parser()      # imports the commands' modules: Ctrl-C may come here too
    except KeyboardInterrupt:
        print("neurolattice: interrupted", file=sys.stderr)
        return 130
    try:
        args = parser.parse_args(join_negative_values(sys.argv[1:] if argv is None else argv))
    except SystemExit as done:  # a parse error (one line, code 2) or --help (code 0)
        return done.code
    logging.basicConfig(level=logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        with warnings.catch_warnings():  # numerical warnings as one line, not file:line + code
            warnings.showwarning = _one_line_warning(args.command)
            return args.handler(args) or 0
    except NeurolatticeError as error:
        if args.debug:
            raise
        print(f"neurolattice {args.command}: error: {cli_words(str(error))}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except (KeyboardInterrupt, SystemError) as error:
        if not _ctrl_c_in(error):
            raise
        print(f"neurolattice {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into `head` and the like
        sys.stderr.close()
        return 0


def _ctrl_c_in(error):
    """True if ``error`` is, or was raised while handling, a KeyboardInterrupt.

    Numba turns a Ctrl-C that comes while it loads a cached kernel into a SystemError
    ("returned a result with an exception set") whose cause is the KeyboardInterrupt.
    """
    seen = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, KeyboardInterrupt):
            return True
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return False


def _one_line_warning(command):
    def show(message, category, filename, lineno, file=None, line=None):
        print(f"neurolattice {command}: warning: {category.__name__}: {message}",
              file=file or sys.stderr)
    return show


if __name__ == "__main__":
    sys.exit(main())
