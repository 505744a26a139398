"""Phase-diagram sweeps on Dask: grids of (J/theta, K/theta[, h/theta]) points with error bars.

Each grid point is one task: a :class:`~neurolattice_core.sampler.Sampler` run of the model at
temperature 1 with couplings J/theta, K/theta and field h/theta (so the grid is in the
dimensionless couplings of MODEL.md E2 and E5), measuring ``<|m|>``, the Binder cumulant, the
susceptibility (estimators of :func:`~neurolattice_core.observables.thermodynamic_summary`) and
the Edwards-Anderson parameter q_EA over R >= 2 replicas, all with error bars.

Reproducibility: a point's seed is derived from a hash of its parameters and the sweep seed,
and its kernels run on one Numba thread, so results are bit-identical whatever the number of
workers or the order of completion. Points are cached on disk as JSON files named by the same
hash: a revisited sweep is instant and an interrupted one resumes. Failed tasks are retried by
Dask (``retries``) and, if they still fail, reported per point (``status = "failed"``), never
dropped. The scheduler is a :class:`distributed.LocalCluster` (processes, one thread each, one
worker per core) unless an address is given (argument or ``NEUROLATTICE_SCHEDULER``).
"""

import contextlib
import hashlib
import itertools
import json
import logging
import math
import os
import signal
import tempfile
import threading
from pathlib import Path

import numpy as np

from . import worker_preload
from .errors import ParameterError

__all__ = ["SCHEDULER_ENV", "sweep_points", "point_key", "compute_point", "open_client",
           "run_sweep", "binder_crossing"]

SCHEDULER_ENV = "NEUROLATTICE_SCHEDULER"
_VERSION = 1  # bump when compute_point's estimators change (invalidates caches)
_OBSERVABLES = ("abs_magnetization", "binder", "susceptibility", "q_ea", "q_ea_unbiased",
                "energy_per_site", "specific_heat")


#: Most points one sweep may have (its records, cache files and tasks are held at once).
MAX_POINTS = 10_000


def sweep_points(connectivity, neurons, ticks, J_values, K_values, h_values=(0.0,), *,
                 sweeps=1000, burn_in=200, seed=0, replicas=2, algorithm="auto",
                 time_boundary="periodic", neuron_boundary="periodic", pairing="grid"):
    """The parameter dicts of a sweep (one per point), in a fixed order.

    ``pairing="grid"`` takes the product J x K x h; ``"zip"`` pairs the lists elementwise
    (e.g. the isotropic diagonal J = K), h being broadcast when it has one value.
    """
    if pairing not in ("grid", "zip"):
        raise ParameterError(f"pairing must be 'grid' or 'zip'; got {pairing!r}")
    if int(sweeps) < 4:
        raise ParameterError(f"sweeps must be >= 4 (error bars need 4 measured sweeps); "
                             f"got {sweeps}")
    if int(burn_in) < 0:
        raise ParameterError(f"burn_in must be >= 0; got {burn_in}")
    if int(replicas) < 2:
        raise ParameterError(f"replicas must be >= 2 (q_EA compares two replicas); "
                             f"got {replicas}")
    J_values, K_values, h_values = (list(map(float, v)) for v in (J_values, K_values, h_values))
    sizes = (len(J_values), len(K_values), len(h_values))
    if pairing == "grid" and math.prod(sizes) > MAX_POINTS:
        raise ParameterError(f"the J x K x h values make {' x '.join(map(str, sizes))} = "
                             f"{math.prod(sizes)} points, too many for one sweep: at most "
                             f"{MAX_POINTS} (100 x 100, say); use fewer values or split the sweep")
    if pairing == "zip" and max(sizes) > MAX_POINTS:
        raise ParameterError(f"the J, K and h lists make {max(sizes)} points, too many for one "
                             f"sweep: at most {MAX_POINTS}; split the sweep")
    if pairing == "grid":
        triples = list(itertools.product(J_values, K_values, h_values))
    else:
        if len(h_values) == 1:
            h_values = h_values * len(J_values)
        if not len(J_values) == len(K_values) == len(h_values):
            raise ParameterError("pairing='zip' needs J, K (and h) lists of equal length")
        triples = list(zip(J_values, K_values, h_values, strict=True))
    base = {"connectivity": connectivity, "neurons": int(neurons), "ticks": int(ticks),
            "replicas": int(replicas), "sweeps": int(sweeps), "burn_in": int(burn_in),
            "seed": int(seed), "algorithm": algorithm, "time_boundary": time_boundary,
            "neuron_boundary": neuron_boundary, "version": _VERSION}
    return [{**base, "J": j, "K": k, "h": h} for j, k, h in triples]


def point_key(params):
    """Hex SHA-256 (first 32 digits) of the canonical JSON of a point's parameters."""
    text = json.dumps(params, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def compute_point(params):
    """Run one grid point (the Dask task). Pure: the result depends only on ``params``.

    Parameters
    ----------
    params : dict
        One entry of :func:`sweep_points`.

    Returns
    -------
    dict
        ``params`` plus the observables with ``_err`` (``abs_magnetization``, ``binder``,
        ``susceptibility``, ``energy_per_site``, ``specific_heat``, ``q_ea`` (MODEL.md
        definition, floor 1/R) and ``q_ea_unbiased`` (mean pair overlap)), ``tau_int_energy``,
        ``point_seed``, ``wall_seconds``, ``warnings`` (list of str: the reliability warnings
        of the estimates, e.g. too few independent samples) and ``status = "ok"``.
    """
    import warnings

    with warnings.catch_warnings(record=True) as caught:   # into the record, not the workers'
        warnings.simplefilter("always")                   # stderr (the CLI's progress bar)
        result = _compute_point(params)
    result["warnings"] = sorted({str(w.message) for w in caught})
    return result


def _compute_point(params):
    """:func:`compute_point` without its warnings."""
    import time

    from . import observables as obs
    from .model import LatticeModel
    from .observables.statistics import blocking_mean_error
    from .sampler import Sampler

    started = time.perf_counter()
    seed = int(point_key(params)[:15], 16)
    model = LatticeModel.create(
        neurons=params["neurons"], ticks=params["ticks"], replicas=params["replicas"],
        connectivity=params["connectivity"], J=params["J"], K=params["K"], h=params["h"],
        temperature=1.0, time_boundary=params["time_boundary"],
        neuron_boundary=params["neuron_boundary"], seed=params["seed"])
    sweeps = params["sweeps"]
    sampler = Sampler(model, algorithm=params["algorithm"], seed=seed, history=sweeps, threads=1)
    sampler.step(params["burn_in"])
    every = max(1, sweeps // 256)
    q, q_unbiased, done = [], [], 0
    while done < sweeps:
        chunk = min(every, sweeps - done)
        sampler.step(chunk)
        done += chunk
        spins = sampler.configurations()
        q.append(obs.edwards_anderson(spins))
        q_unbiased.append(obs.edwards_anderson(spins, unbiased=True))
    history = sampler.history()
    summary = obs.thermodynamic_summary(history["energy_per_site"].T, history["magnetization"].T,
                                        model.neurons * model.ticks, model.temperature)
    result = dict(params)
    for key in ("abs_magnetization", "binder", "susceptibility", "energy_per_site",
                "specific_heat"):
        result[key] = float(summary[key])
        result[key + "_err"] = float(summary[key + "_err"])
    result["tau_int_energy"] = float(summary["tau_int_energy"])
    for key, series in (("q_ea", q), ("q_ea_unbiased", q_unbiased)):
        if len(series) >= 4:
            mean, err, _ = blocking_mean_error(np.asarray(series))
        else:
            mean, err = float(np.mean(series)), float("nan")
        result[key], result[key + "_err"] = float(mean), float(err)
    result.update({"point_seed": seed, "path": sampler.path.name, "status": "ok",
                   "wall_seconds": time.perf_counter() - started})
    return result


def open_client(scheduler=None, workers=None, timeout=10.0):
    """A Dask client and whether the caller owns (must close) it.

    Parameters
    ----------
    scheduler : str or distributed.Client, optional
        Scheduler address, or an existing client (used as is). Default: the
        ``NEUROLATTICE_SCHEDULER`` environment variable, else a new LocalCluster.
    workers : int, optional
        Workers of a new LocalCluster (processes, one thread each); default: one per core.
    timeout : float
        Seconds a scheduler address has to answer; :class:`ParameterError` after that.

    Returns
    -------
    client : distributed.Client
    owned : bool
    """
    import dask
    from distributed import Client, LocalCluster

    if scheduler is not None and not isinstance(scheduler, str):
        return scheduler, False
    address = scheduler or os.environ.get(SCHEDULER_ENV) or None
    if address:
        try:
            return Client(address, timeout=float(timeout)), True
        except (OSError, TimeoutError, ValueError) as error:
            raise ParameterError(
                f"the Dask scheduler {address!r} could not be reached within {timeout:g} s "
                f"({type(error).__name__}: {error}); check the address (tcp://HOST:PORT), or "
                f"give no scheduler (and unset {SCHEDULER_ENV}) to run on a local "
                "cluster") from None
    n = int(workers) if workers is not None else (os.cpu_count() or 1)
    if n < 1:
        raise ParameterError(f"workers must be >= 1; got {workers}")
    _drop_interrupted_wait_error()
    # LocalCluster's silence_logs quiets distributed's own handler only; when logging was set up
    # before distributed was imported (a server's log), its INFO lines reached the root handler
    distributed_log = logging.getLogger("distributed")
    distributed_log.setLevel(max(distributed_log.level, logging.ERROR))
    # a command in a terminal (main thread): workers forked ignoring Ctrl-C from their start
    in_main_thread = threading.current_thread() is threading.main_thread()
    forked = {"distributed.worker.multiprocessing-method": "forkserver"}
    with dask.config.set(forked) if in_main_thread else contextlib.nullcontext():
        if in_main_thread:
            _start_fork_server_ignoring_ctrl_c()
        with _interrupts_held() as interrupted:
            # workers ignore Ctrl-C (the caller stops them) and log errors only
            cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                                   dashboard_address=":0", silence_logs=logging.ERROR,
                                   preload=[worker_preload.__name__])
    if interrupted():
        cluster.close()
        raise KeyboardInterrupt
    return Client(cluster), True


def _start_fork_server_ignoring_ctrl_c():
    """Start multiprocessing's fork server, from which the workers are forked, ignoring SIGINT.

    The fork server hands each process it forks the SIGINT handling it started with, and a
    process started with SIGINT ignored keeps it ignored: so the workers ignore Ctrl-C from
    their first instruction. (Spawned workers, Dask's default, began with Python's
    KeyboardInterrupt handler; a Ctrl-C before their preload set it aside printed a traceback.)
    SIGINT is ignored here only while the server's process is spawned, a few milliseconds;
    a Ctrl-C in them is lost. Call from the main thread (the only one that handles signals),
    with distributed's multiprocessing method set to "forkserver". Clusters started from
    other threads (the dashboard's) keep Dask's method, and the worker preload ignores SIGINT
    a moment after each worker starts.
    """
    from multiprocessing import forkserver

    from distributed.utils import get_mp_context

    get_mp_context()   # distributed's preload list of the fork server, set before it starts
    handler = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        forkserver.ensure_running()
    finally:
        signal.signal(signal.SIGINT, handler)


@contextlib.contextmanager
def _interrupts_held():
    """Ctrl-C recorded, not raised, while the block runs; yields a function telling if one came.

    A KeyboardInterrupt raised inside LocalCluster's start left a half-started cluster whose
    exit printed tracebacks; the caller raises it once the start is over. Only the main thread
    handles signals; in another thread (the dashboard) nothing changes.
    """
    came = []
    if threading.current_thread() is not threading.main_thread():
        yield lambda: False
        return
    handler = signal.signal(signal.SIGINT, lambda signum, frame: came.append(signum))
    try:
        yield lambda: bool(came)
    finally:
        signal.signal(signal.SIGINT, handler)


class _InterruptedWaitError(logging.Filter):
    """Drops the error distributed (2026.8) logs when Ctrl-C ends a wait for the scheduler.

    ``distributed.utils.sync`` then schedules a ``cancel`` that reads a variable not yet set,
    and tornado logs the NameError with its traceback while the caller already handles the
    KeyboardInterrupt. Every other record passes.
    """

    def filter(self, record):
        error = record.exc_info[1] if record.exc_info else None
        if not isinstance(error, NameError) or error.__traceback__ is None:
            return True
        last = error.__traceback__
        while last.tb_next is not None:
            last = last.tb_next
        code = last.tb_frame.f_code
        return not (code.co_name == "cancel"
                    and Path(code.co_filename).parts[-2:] == ("distributed", "utils.py"))


def _drop_interrupted_wait_error():
    logger = logging.getLogger("tornado.application")
    if not any(isinstance(f, _InterruptedWaitError) for f in logger.filters):
        logger.addFilter(_InterruptedWaitError())


def _load_cached(cache_dir, key):
    if cache_dir is None:
        return None
    path = Path(cache_dir) / f"point-{key}.json"
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError:
        return None  # a torn file from a killed run: recompute


def _store(cache_dir, key, record):
    if cache_dir is None:
        return
    folder = Path(cache_dir)
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
    with os.fdopen(fd, "w") as handle:
        json.dump(record, handle)
    os.replace(tmp, folder / f"point-{key}.json")


def run_sweep(connectivity, neurons, ticks, J_values, K_values, sweeps=1000, burn_in=200,
              seed=0, scheduler=None, cache_dir=None, progress=None, cancel=None, *,
              h_values=(0.0,), replicas=2, algorithm="auto", pairing="grid",
              time_boundary="periodic", neuron_boundary="periodic", workers=None, retries=2,
              timeout=10.0, on_record=None):
    """Sweep a grid of (J/theta, K/theta, h/theta) points on Dask.

    Parameters
    ----------
    connectivity : str
        A :class:`~neurolattice_core.model.LatticeModel` connectivity preset.
    neurons, ticks : int
        Lattice size N x T.
    J_values, K_values : sequence of float
        Couplings in units of theta (the model runs at theta = 1).
    sweeps, burn_in : int
        Measured and discarded sweeps per point.
    seed : int
        Sweep seed (also the disorder seed of SK/Hopfield couplings).
    scheduler : str or distributed.Client, optional
        See :func:`open_client`.
    cache_dir : str or Path, optional
        Folder of cached points (``point-<hash>.json``); None disables the cache.
    progress : callable(done, total), optional
        Called once at the start (cached points counted as done) and after every point.
    cancel : threading.Event, optional
        When set, pending tasks are cancelled and reported with ``status = "cancelled"``.
    h_values : sequence of float
        Fields in units of theta.
    replicas : int
        Replicas per point (>= 2, for q_EA).
    algorithm : str
        ``"auto"``, ``"metropolis"``, ``"heatbath"`` or ``"cluster"`` (Wolff, near criticality).
    pairing : {"grid", "zip"}
        See :func:`sweep_points`.
    time_boundary, neuron_boundary : {"periodic", "open"}
    workers : int, optional
        Workers of a new LocalCluster.
    retries : int
        Dask retries of a failed task.
    timeout : float
        Seconds a scheduler address has to answer (see :func:`open_client`).
    on_record : callable(index, record), optional
        Called with each computed record as it arrives (for live plots; cached points are not
        reported, they are known before the first progress call).

    Returns
    -------
    list of dict
        One record per point in grid order: the parameters, ``key`` (the cache hash),
        ``cached`` (bool), ``status`` ("ok", "failed" with ``error``, or "cancelled") and, when
        ok, the observables of :func:`compute_point`.
    """
    points = sweep_points(connectivity, neurons, ticks, J_values, K_values, h_values,
                          sweeps=sweeps, burn_in=burn_in, seed=seed, replicas=replicas,
                          algorithm=algorithm, time_boundary=time_boundary,
                          neuron_boundary=neuron_boundary, pairing=pairing)
    from .model import LatticeModel
    first = points[0]  # validate the preset and sizes here, not in every worker
    LatticeModel.create(neurons=first["neurons"], ticks=first["ticks"],
                        connectivity=first["connectivity"], time_boundary=time_boundary,
                        neuron_boundary=neuron_boundary)
    keys = [point_key(p) for p in points]
    records = [None] * len(points)
    for i, key in enumerate(keys):
        cached = _load_cached(cache_dir, key)
        if cached is not None and cached.get("status") == "ok":
            records[i] = {**cached, "key": key, "cached": True}
    total, done = len(points), sum(r is not None for r in records)
    if progress is not None:
        progress(done, total)
    todo = [i for i, r in enumerate(records) if r is None]
    if todo and not (cancel is not None and cancel.is_set()):
        client, owned = open_client(scheduler, workers, timeout)
        _compute(points, keys, todo, records, client, owned, retries, cache_dir, progress,
                 cancel, done, total, on_record)
    for i, record in enumerate(records):
        if record is None:
            records[i] = {**points[i], "key": keys[i], "cached": False, "status": "cancelled"}
    return records


def _compute(points, keys, todo, records, client, owned, retries, cache_dir, progress,
             cancel, done, total, on_record):
    from distributed import TimeoutError as DaskTimeout
    from distributed import wait

    try:
        futures = {}
        for i in todo:
            if cancel is not None and cancel.is_set():
                break
            future = client.submit(compute_point, points[i], key=f"nl-point-{keys[i]}",
                                   retries=int(retries), pure=True)
            futures[future] = i
        pending = set(futures)
        while pending:
            if cancel is not None and cancel.is_set():  # checked 4 times a second
                client.cancel(list(pending))
                break
            try:
                finished, pending = wait(pending, timeout=0.25, return_when="FIRST_COMPLETED")
            except (DaskTimeout, TimeoutError):
                continue
            for future in sorted(finished, key=futures.get):
                i = futures[future]
                if future.status == "finished":
                    record = {**future.result(), "key": keys[i], "cached": False}
                    _store(cache_dir, keys[i], record)
                elif future.status == "error":
                    record = {**points[i], "key": keys[i], "cached": False, "status": "failed",
                              "error": repr(future.exception())}
                else:
                    continue  # cancelled: reported by run_sweep
                records[i] = record
                done += 1
                if on_record is not None:
                    on_record(i, record)
                if progress is not None:
                    progress(done, total)
    finally:
        if owned:
            cluster = getattr(client, "cluster", None)
            client.close()
            if cluster is not None:
                cluster.close()


def binder_crossing(records, sizes, x="J", bootstrap=400, seed=0):
    """Locate the crossing of the Binder cumulants of two lattice sizes.

    The difference ``d(x) = U(small) - U(large)`` at the common values of ``x`` changes sign
    at the crossing; the crossing is the linear interpolation of ``d`` between the two
    neighbouring points where it does (where several do, the most significant change).
    Only those two points enter: a polynomial through the whole range would be pulled by
    points far outside the larger size's scaling window, whose Binder values sit on the
    plateaus (0 and 2/3) with tiny error bars. The error is the standard deviation of the
    crossing over a parametric bootstrap of the Binder values within their errors, taking in
    each draw the sign change nearest the data's crossing.

    Parameters
    ----------
    records : list of dict
        Sweep records (status "ok") of both sizes.
    sizes : (int, int)
        The two values of ``neurons`` to compare (records are matched on ``x``).
    x : str
        Record key used as abscissa (e.g. ``"J"``; for the isotropic torus theta = 1/J).
    bootstrap : int
        Parametric bootstrap draws.
    seed : int

    Returns
    -------
    dict
        ``x`` (crossing, NaN if ``d`` does not change sign), ``x_err``, ``points`` (matched x
        values), ``sizes``, ``failed_draws`` (bootstrap draws in which ``d`` does not change
        sign; all ``bootstrap`` of them, none drawn, when the data's ``d`` does not).
    """
    small, large = sorted(int(s) for s in sizes)
    table = {}
    for r in records:
        if r.get("status") == "ok" and r["neurons"] in (small, large):
            table.setdefault(r[x], {})[r["neurons"]] = (r["binder"], r["binder_err"])
    xs = sorted(v for v, d in table.items() if small in d and large in d)
    if len(xs) < 2:
        raise ParameterError("binder_crossing needs at least two x values with both sizes")
    xv = np.array(xs, float)
    diff = np.array([table[v][small][0] - table[v][large][0] for v in xs])
    err = np.array([np.hypot(table[v][small][1], table[v][large][1]) for v in xs])
    if not np.all(np.isfinite(err) & (err > 0)):
        raise ParameterError("Binder errors must be finite and positive")

    def crossings(d):
        """Indices k with a sign change between x[k] and x[k+1], and the interpolated x."""
        k = np.flatnonzero(d[:-1] * d[1:] < 0)
        return k, xv[k] + (xv[k + 1] - xv[k]) * d[k] / (d[k] - d[k + 1])

    index, found = crossings(diff)
    base = {"points": len(xs), "sizes": [small, large]}
    if not index.size:
        return {**base, "x": float("nan"), "x_err": float("nan"),
                "failed_draws": int(bootstrap)}
    significance = np.abs(diff[index] - diff[index + 1]) / np.hypot(err[index], err[index + 1])
    crossing = found[np.argmax(significance)]
    rng = np.random.default_rng(seed)
    draws = np.full(int(bootstrap), np.nan)
    for i in range(draws.size):
        _, roots = crossings(diff + err * rng.standard_normal(len(xv)))
        if roots.size:
            draws[i] = roots[np.argmin(np.abs(roots - crossing))]
    ok = np.isfinite(draws)
    return {**base, "x": float(crossing),
            "x_err": float(np.std(draws[ok], ddof=1)) if ok.sum() > 1 else float("nan"),
            "failed_draws": int((~ok).sum())}
