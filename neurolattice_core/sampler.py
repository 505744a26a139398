"""A GUI-free runner for the engine: configure, step, run in the background, snapshot, stop.

The same :class:`Sampler` serves pytest, scripts, the CLI and the dashboard. Kernels release the
GIL (``nogil=True``), so a sampler thread runs beside a web server. Parameter changes requested
while running are queued and applied between chunks of sweeps, never in the middle of one.
Memory is bounded: time series live in fixed-size ring buffers.
"""

import logging
import threading
import time

import numpy as np

from .engine import build_path, choose_method, choose_path
from .errors import MemoryBudgetError, ParameterError
from .model import LatticeModel, check_integer

#: Seeds of the random streams have the range of the model's disorder seed.
SEED_MAX = LatticeModel.param.seed.bounds[1]
#: Most measurements one call of a path holds (3 x 8 bytes per replica each): a burn-in of
#: 10**12 sweeps ran out of memory at once.
MEASURED_PER_CALL = 65536

log = logging.getLogger(__name__)
_RULE_NAMES = {"metropolis": "Metropolis", "heatbath": "heat bath"}

# Changing these needs new arrays of another shape: the configuration restarts hot.
_SHAPE_PARAMETERS = {"neurons", "ticks", "replicas", "grid_rows", "grid_cols"}


def _history_row_bytes(replicas):
    """Bytes of one measurement in the ring buffers (float64 sweep, energy and m per replica)."""
    return (1 + 2 * replicas) * 8


class RingBuffer:
    """Last ``capacity`` rows of a (n, width) float64 series, returned in time order."""

    def __init__(self, capacity, width):
        self._data = np.full((capacity, width), np.nan)
        self._count = 0

    def append(self, row):
        """Store one row (width,), overwriting the oldest when full."""
        self._data[self._count % len(self._data)] = row
        self._count += 1

    def extend(self, rows):
        """Store rows (k, width) in order, as k appends (one numpy assignment per wrap)."""
        rows = np.asarray(rows, dtype=np.float64).reshape(-1, self._data.shape[1])
        capacity, n_rows = len(self._data), len(rows)
        rows = rows[-capacity:]           # older rows would be overwritten at once
        start = (self._count + n_rows - len(rows)) % capacity
        first = min(len(rows), capacity - start)
        self._data[start:start + first] = rows[:first]
        self._data[:len(rows) - first] = rows[first:]
        self._count += n_rows

    def values(self):
        """The stored rows, oldest first, float64 (min(count, capacity), width)."""
        capacity = len(self._data)
        if self._count <= capacity:
            return self._data[: self._count].copy()
        start = self._count % capacity
        return np.concatenate([self._data[start:], self._data[:start]])

    def __len__(self):
        return min(self._count, len(self._data))


class Sampler:
    """Runs the sampling engine on a :class:`LatticeModel`.

    Parameters
    ----------
    model : LatticeModel, optional
        The model (a default ring x time model if omitted). The sampler works on it in place.
    algorithm : {"auto", "metropolis", "heatbath", "cluster"}
    seed : int
        Seed of the random streams and of the hot start, 0 <= seed < 2**63.
    history : int
        Capacity of the ring buffers of measured time series (rows); with the lattice it must
        fit in the model's ``memory_limit_bytes`` (else :class:`MemoryBudgetError`).
    measure_every : int
        Sweeps between two measurements of energy and magnetisation.
    threads : int, optional
        Numba threads used by the kernels (default: numba's default, all cores).
    allow_fast : bool
        False keeps eligible lattices on the general path (benchmarks and cross-checks).
    initial : {"random", "up", "pattern"}
        Starting configuration (see :func:`engine.initial_spins`); also used after a resize.

    The model is validated here (create()'s checks, memory included) before anything is
    allocated, so a model built directly or edited by attribute assignment is checked too.
    """

    def __init__(self, model=None, *, algorithm="auto", seed=0, history=4096, measure_every=1,
                 threads=None, allow_fast=True, initial="random"):
        history = check_integer("history", history, 1)
        measure_every = check_integer("measure_every", measure_every, 1)
        seed = check_integer("seed", seed, 0, SEED_MAX)
        if threads is not None:
            import numba
            threads = check_integer("threads", threads, 1, numba.config.NUMBA_NUM_THREADS)
        if model is not None and not isinstance(model, LatticeModel):
            raise ParameterError(f"Sampler samples a LatticeModel (LatticeModel.create(...)), "
                                 f"not {type(model).__name__}")
        self.model = model if model is not None else LatticeModel.create()
        self.algorithm = algorithm
        self.seed = int(seed)
        self.measure_every = int(measure_every)
        self.threads = threads
        self.allow_fast = allow_fast
        self.initial = initial
        #: Optional callable(spins int8 (R, N, T)) -> dict, run in the worker after each chunk,
        #: so that derived observables are computed off the UI thread (see latest_frame()).
        self.frame_analyser = None
        self._history_capacity = int(history)
        self._lock = threading.RLock()
        self._stepping = threading.Lock()   # one step() at a time: the thread's or a paused user's
        self._pending = {}
        self._thread = None
        self._stop = threading.Event()
        self._resume = threading.Event()
        self._resume.set()
        self._idle = threading.Event()   # set while the background thread runs no chunk
        self._idle.set()
        self.error = None
        self._error_callbacks = []
        self._build(spins=None)

    # ------------------------------------------------------------------ configuration
    def _history_bytes(self, replicas):
        """Memory of the ring buffers: sweep numbers, energy and magnetisation per replica."""
        return self._history_capacity * _history_row_bytes(replicas)

    def _check_memory(self, model):
        """Refuse a model whose lattice plus the measured history exceed its memory limit."""
        model.check_memory()
        lattice = model.memory_estimate_bytes()
        history = self._history_bytes(model.replicas)
        if lattice + history > model.memory_limit_bytes:
            fits = (model.memory_limit_bytes - lattice) // _history_row_bytes(model.replicas)
            raise MemoryBudgetError(
                f"history={self._history_capacity} measurements x {model.replicas} replicas needs "
                f"about {history / 2**30:.1f} GiB, which with the lattice "
                f"({lattice / 2**30:.1f} GiB) exceeds the limit of "
                f"{model.memory_limit_bytes / 2**30:.1f} GiB: use a history of at most "
                f"{max(fits, 0)} measurements.")

    def _build(self, spins):
        self._check_memory(self.model)   # build_path then validates the rest of the model
        self.path, self.path_reason = build_path(self.model, self.algorithm, self.seed, spins,
                                                   self.allow_fast, self._initial_for_model())
        if self.path.name == "cluster":
            self.rule, self.rule_reason = "Wolff clusters", ""
        else:
            _, reason = choose_method(self.model, self.algorithm)
            self.rule_reason = reason[:1].upper() + reason[1:]
            self.rule = _RULE_NAMES[self.path.method]
        replicas = self.model.replicas
        self._sweeps = RingBuffer(self._history_capacity, 1)
        self._energy = RingBuffer(self._history_capacity, replicas)
        self._magnetization = RingBuffer(self._history_capacity, replicas)
        self.sweeps_done = 0
        self._busy_seconds = 0.0
        self._flips_attempted = 0
        self._flips_done = 0
        self._snapshot = self.path.spins()
        self._frame = {"sweep": 0, "products": {}}
        self._last_rate = (time.perf_counter(), 0)

    def _initial_for_model(self):
        if self.initial == "pattern" and self.model.connectivity != "hopfield":
            return "random"  # the cue only exists for Hopfield couplings
        return self.initial

    def set_parameters(self, **params):
        """Change model parameters (temperature, couplings, fields, sizes, algorithm, ...).

        While running, the change is validated now and applied between two chunks of sweeps
        (while paused, once the chunk in flight is done). Changing the lattice shape restarts
        from a hot configuration; other changes keep it.

        Raises
        ------
        ParameterError
            If a value is invalid (nothing is changed then).
        """
        if "name" in params:
            raise ParameterError("name is not a model parameter; pass temperature, J, K, h, "
                                 "neurons, ticks, ... or algorithm.")
        with self._lock:   # validated with the changes already queued, before queueing
            algorithm = params.pop("algorithm", self._pending_algorithm_or_current())
            trial = self.model.param.values() | self._pending | params
            trial.pop("name", None)
            trial_model = LatticeModel.create(**trial)
            choose_path(trial_model, algorithm, self.allow_fast)   # unknown or unfit algorithm
            self._check_memory(trial_model)
            self._pending.update(params)
            self._pending_algorithm = algorithm
            if not self.running:
                self._apply_pending()
                return
        if self.paused:   # applied now (the model shown is the one sampled), after the chunk
            with self._stepping, self._lock:   # in flight, as step() does
                self._apply_pending()

    def _pending_algorithm_or_current(self):
        return getattr(self, "_pending_algorithm", self.algorithm)

    def _apply_pending(self):
        params = self._pending
        algorithm = self._pending_algorithm_or_current()
        self._pending = {}
        if not params and algorithm == self.algorithm:
            return
        reshape = bool(_SHAPE_PARAMETERS & params.keys())
        old_choice = (self.algorithm, self.path.name, self.path.method)
        self.model.update(**params)
        self.algorithm = algorithm
        spins = None if reshape else self.path.spins()
        new_name, _ = choose_path(self.model, algorithm, self.allow_fast)
        new_method, _ = choose_method(self.model, algorithm)
        if reshape or (algorithm, new_name, new_method) != old_choice:
            sweeps = self.sweeps_done
            self._build(spins)
            if not reshape:
                self.sweeps_done = sweeps
                self.path.sweeps_done = sweeps
        else:
            self.path.reload_model()

    # ------------------------------------------------------------------ stepping
    def step(self, n_sweeps=1):
        """Run ``n_sweeps`` sweeps now, measuring every ``measure_every`` sweeps. Returns self.

        Allowed when the sampler is not running in the background or is paused: it then waits
        for the chunk in flight and applies the changes queued meanwhile first.
        """
        n_sweeps = check_integer("n_sweeps", n_sweeps, 0)
        background = threading.current_thread() is self._thread
        if self.running and not background and not self.paused:
            raise RuntimeError("the sampler is running in the background: pause() or stop() it "
                               "before calling step().")
        with self._stepping:    # a paused thread's last chunk finishes first
            if not background:
                with self._lock:
                    self._apply_pending()   # changes queued while paused
            if self.threads is not None:
                import numba
                numba.set_num_threads(int(self.threads))
            if hasattr(self.path, "sweep_measured"):   # the fast path measures in its own call
                self._step_measured(n_sweeps)
            else:
                self._step_then_measure(n_sweeps)
            spins = self.path.spins()
            products = self.frame_analyser(spins) if self.frame_analyser is not None else {}
            with self._lock:
                self._snapshot = spins
                self._frame = {"sweep": self.sweeps_done, "products": products}
        return self

    def _step_measured(self, n_sweeps):
        """Sweeps and measurements in calls of the path (its busy time includes both).

        A call holds all its measurements: calls of at most MEASURED_PER_CALL measurements
        keep a huge ``n_sweeps`` (a long burn-in) from allocating them all at once.
        """
        per_call = self.measure_every * MEASURED_PER_CALL
        done = 0
        while done < n_sweeps:
            chunk = min(per_call, n_sweeps - done)
            start = time.perf_counter()
            flips, measured_at, energy, magnetization = self.path.sweep_measured(
                chunk, self.measure_every)
            self._busy_seconds += time.perf_counter() - start
            self._flips_done += int(np.sum(flips))
            self._flips_attempted += chunk * self.path.flips_per_sweep
            self.sweeps_done += chunk
            done += chunk
            with self._lock:   # one call per chunk: the engine thread needs the GIL briefly
                self._sweeps.extend(measured_at[:, None])
                self._energy.extend(energy)
                self._magnetization.extend(magnetization)

    def _step_then_measure(self, n_sweeps):
        """Sweeps in calls between the measurements (busy time: the sweeps only)."""
        done = 0
        while done < n_sweeps:
            chunk = min(self.measure_every - self.sweeps_done % self.measure_every,
                        n_sweeps - done)
            start = time.perf_counter()
            flips = self.path.sweep(chunk)
            self._busy_seconds += time.perf_counter() - start
            self._flips_done += int(np.sum(flips))
            self._flips_attempted += chunk * self.path.flips_per_sweep
            done += chunk
            self.sweeps_done += chunk
            if self.sweeps_done % self.measure_every == 0:
                self._measure()

    def latest_frame(self):
        """The sweep count of the latest snapshot and what :attr:`frame_analyser` made of it."""
        with self._lock:
            return dict(self._frame)

    def _measure(self):
        energy, magnetization = self.path.moments()
        with self._lock:
            self._sweeps.append([self.sweeps_done])
            self._energy.append(energy)
            self._magnetization.append(magnetization)

    # ------------------------------------------------------------------ background thread
    @property
    def running(self):
        """True while the background thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    @property
    def paused(self):
        """True while a running sampler is paused (from :meth:`pause`, its chunk may still run)."""
        return not self._resume.is_set()

    @property
    def idle(self):
        """True while no sweep runs in the background thread (not started, stopped, or paused).

        After :meth:`pause` it turns True once the chunk that was running has finished.
        """
        return not self.running or self._idle.is_set()

    def start(self, sweeps_per_chunk=1, max_sweeps=None):
        """Run in a daemon thread, ``sweeps_per_chunk`` sweeps between parameter updates.

        The thread stops after ``max_sweeps`` sweeps (if given), on :meth:`stop`, or on an error,
        which is stored in :attr:`error`, logged and passed to the callbacks of :meth:`on_error`.
        """
        sweeps_per_chunk = check_integer("sweeps_per_chunk", sweeps_per_chunk, 1)
        if max_sweeps is not None:
            max_sweeps = check_integer("max_sweeps", max_sweeps, 0)
        if self.running:
            return self
        self.error = None
        self._stop.clear()
        self._resume.set()
        self._thread = threading.Thread(target=self._run, args=(sweeps_per_chunk, max_sweeps),
                                        name="neurolattice-sampler", daemon=True)
        self._thread.start()
        return self

    def _run(self, sweeps_per_chunk, max_sweeps):
        target = None if max_sweeps is None else self.sweeps_done + max_sweeps
        try:
            while not self._stop.is_set():
                if self._resume.is_set():
                    self._idle.clear()
                if not self._resume.is_set():     # read after the clear: a pause() that came
                    self._idle.set()              # in between is seen, and no chunk starts
                    self._resume.wait(timeout=0.1)
                    continue
                with self._lock:
                    self._apply_pending()
                chunk = sweeps_per_chunk if target is None else min(sweeps_per_chunk,
                                                                      target - self.sweeps_done)
                if chunk <= 0:
                    break
                self.step(chunk)
        except Exception as error:  # surfaced to the caller, never swallowed
            self.error = error
            log.exception("sampler thread failed")
            for callback in list(self._error_callbacks):
                callback(error)
        finally:
            self._idle.set()

    def pause(self):
        """Pause a running sampler after its current chunk."""
        self._resume.clear()

    def resume(self):
        """Resume a paused sampler."""
        self._resume.set()

    def stop(self, timeout=2.0):
        """Stop the background thread and wait up to ``timeout`` seconds; True if it stopped."""
        self._stop.set()
        self._resume.set()
        if self._thread is not None:
            self._thread.join(timeout)
        return not self.running

    def wait(self, timeout=None):
        """Wait for a thread started with ``max_sweeps`` to finish; re-raise its error."""
        if self._thread is not None:
            self._thread.join(timeout)
        self.raise_if_failed()
        return not self.running

    def on_error(self, callback):
        """Call ``callback(exception)`` from the worker thread if a run fails."""
        self._error_callbacks.append(callback)

    def raise_if_failed(self):
        """Re-raise the exception that ended the background thread, if any."""
        if self.error is not None:
            raise self.error

    # ------------------------------------------------------------------ results
    def snapshot(self, replica=0):
        """The latest configuration of one replica, int8 (N, T) (a copy)."""
        replica = check_integer("replica", replica, 0, self.model.replicas - 1)
        with self._lock:
            return self._snapshot[replica].copy()

    def configurations(self):
        """The latest configurations of all replicas, int8 (R, N, T) (a copy)."""
        with self._lock:
            return self._snapshot.copy()

    def history(self):
        """Measured series: ``sweep`` (n,), ``energy_per_site`` and ``magnetization`` (n, R).

        Time runs along axis 0 here; the observables (:mod:`neurolattice_core.observables`)
        take series as (R, n), replicas first: pass ``history()["energy_per_site"].T``.
        """
        with self._lock:
            return {"sweep": self._sweeps.values()[:, 0].astype(np.int64),
                    "energy_per_site": self._energy.values(),
                    "magnetization": self._magnetization.values()}

    def progress(self):
        """Sweeps done, throughput (flips per ns of kernel time) and the path in use.

        ``rule`` names the update ("Metropolis", "heat bath", "Wolff clusters"), and
        ``rule_reason`` says why when algorithm "auto" did not take Metropolis. On the cluster
        path ``acceptance`` is the spins flipped per site and sweep (about 1, and more when one
        cluster is most of the lattice).

        Kernel time is the time in the path's sweep calls; on the fast path these also take the
        measurements (``sweep_measured``), on the others the measurements come after them.
        """
        with self._lock:
            busy = self._busy_seconds
            return {"sweeps": self.sweeps_done, "path": self.path.name,
                    "path_reason": self.path_reason, "rule": self.rule,
                    "rule_reason": self.rule_reason,
                    "flips_per_ns": self._flips_attempted / busy / 1e9 if busy > 0 else 0.0,
                    "sweeps_per_second": self.sweeps_done / busy if busy > 0 else 0.0,
                    "busy_seconds": busy, "flips_attempted": self._flips_attempted,
                    "flips_done": self._flips_done,
                    "acceptance": (self._flips_done / self._flips_attempted
                                   if self._flips_attempted else 0.0),
                    "running": self.running, "paused": self.paused}
