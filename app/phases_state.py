"""Per-session state of the "Renormalise & phases" view: a Dask sweep and the RG flows.

Both jobs run in daemon threads; they post progress and results to an
:class:`~app.outbox.Outbox` that the session delivers on its own thread. The physics lives in the
core: :func:`neurolattice_core.sweeps.run_sweep`, :mod:`neurolattice_core.renormalization` and
:mod:`neurolattice_core.phases`.
"""

import logging
import os
import threading

import numpy as np
import param

from neurolattice_core import phases
from neurolattice_core.errors import NeurolatticeError
from neurolattice_core.renormalization import flow_in_neurons, flow_in_time
from neurolattice_core.sweeps import SCHEDULER_ENV, run_sweep

from .outbox import Outbox

log = logging.getLogger(__name__)
CORES = os.cpu_count() or 1


class SweepSettings(param.Parameterized):
    """A (J/θ, K/θ) grid at h = 0; the defaults are tiny so that a sweep takes seconds."""

    connectivity = param.Selector(objects=list(phases.CRITICAL_LINES), default="ring",
                                  doc="Model of the diagram: ring x time (exact line E2) or "
                                      "all-to-all with temporal coupling (mean-field line E5).")
    neurons = param.Integer(8, bounds=(2, 512), softbounds=(4, 64),
                            doc="Neurons N of each simulated lattice.")
    ticks = param.Integer(8, bounds=(2, 4096), softbounds=(4, 64),
                          doc="Ticks T (periodic time) of each simulated lattice.")
    J_min = param.Number(0.1, bounds=(0.0, 10.0), softbounds=(0.0, 2.0),
                         doc="Smallest equal-time coupling J/θ of the grid.")
    J_max = param.Number(1.0, bounds=(0.0, 10.0), softbounds=(0.0, 2.0),
                         doc="Largest equal-time coupling J/θ of the grid.")
    J_points = param.Integer(3, bounds=(2, 64), softbounds=(2, 16),
                             doc="Grid points along J/θ.")
    K_min = param.Number(0.1, bounds=(0.0, 10.0), softbounds=(0.0, 2.0),
                         doc="Smallest temporal coupling K/θ of the grid.")
    K_max = param.Number(1.0, bounds=(0.0, 10.0), softbounds=(0.0, 2.0),
                         doc="Largest temporal coupling K/θ of the grid.")
    K_points = param.Integer(3, bounds=(2, 64), softbounds=(2, 16),
                             doc="Grid points along K/θ.")
    sweeps = param.Integer(200, bounds=(4, 1_000_000), softbounds=(50, 5000),
                           doc="Measured Monte Carlo sweeps per grid point.")
    burn_in = param.Integer(50, bounds=(0, 1_000_000), softbounds=(0, 1000),
                            doc="Discarded sweeps per grid point before measuring.")
    workers = param.Integer(min(2, CORES), bounds=(1, CORES), softbounds=(1, CORES),
                            doc="Workers of the local Dask cluster (ignored when "
                                f"{SCHEDULER_ENV} names a scheduler).")
    seed = param.Integer(0, bounds=(0, 2**31 - 1), softbounds=(0, 100),
                         doc="Seed of the sweep (each point derives its own from it).")

    def axes(self):
        """The J/θ and K/θ values of the grid (lists of float)."""
        return (np.linspace(self.J_min, self.J_max, self.J_points).tolist(),
                np.linspace(self.K_min, self.K_max, self.K_points).tolist())


class FlowSettings(param.Parameterized):
    """Refits of the loaded recording at coarser bins and on subsets of units (lft model)."""

    factors = param.ListSelector(default=[1, 2, 4], objects=[1, 2, 3, 4, 6, 8, 12, 16],
                                 label="Decimation factors b",
                                 doc="Bin width Δ -> bΔ, Δ being the Recording tab's bin width.")
    rule = param.Selector(objects=["any", "keep"], default="any",
                          doc="any: a spike in any of the b bins (rebinning); keep: every b-th "
                              "bin (the rule of the exact chain identity).")
    subset_sizes = param.Integer(3, bounds=(2, 8), softbounds=(2, 6),
                                 doc="Subset sizes n of the flow over neurons (evenly spaced "
                                     "up to all kept units).")
    draws = param.Integer(2, bounds=(1, 20), softbounds=(1, 8),
                          doc="Random subsets of units per size n.")


class PhasesState(param.Parameterized):
    """Sweep and flow jobs of one session, their progress and results."""

    observable = param.Selector(objects={"⟨|m|⟩": "abs_magnetization", "Binder U": "binder",
                                         "susceptibility χ": "susceptibility",
                                         "q_EA": "q_ea"}, default="abs_magnetization",
                                doc="Observable coloured on the phase diagram.")
    sweep_status = param.Selector(objects=["idle", "running", "done", "cancelled", "error"],
                                  default="idle", constant=True, doc="State of the sweep job.")
    sweep_done = param.Integer(0, constant=True, doc="Grid points finished.")
    sweep_total = param.Integer(0, constant=True, doc="Grid points of the running sweep.")
    sweep_version = param.Integer(0, constant=True, doc="Increments when records change.")
    flow_status = param.Selector(objects=["idle", "running", "done", "error"], default="idle",
                                 constant=True, doc="State of the flow job.")
    flow_version = param.Integer(0, constant=True, doc="Increments when a flow is published.")
    error = param.String("", constant=True, doc="Why the last job failed (shown to the user).")

    def __init__(self, fit_state=None, **params):
        super().__init__(**params)
        self.sweep = SweepSettings(name="sweep")
        self.flow = FlowSettings(name="flow")
        self.fit_state = fit_state
        self.records = []            # sweep records (partial while running)
        self.swept = None            # the SweepSettings values of self.records
        self.time_flow = None        # flow_in_time output
        self.neuron_flow = None      # flow_in_neurons output
        self._flow_job = 0           # the flow whose result may be published
        self.outbox = Outbox(self)
        self._cancel = threading.Event()
        self._lock = threading.Lock()
        self._versions = 0

    # ------------------------------------------------------------------ sweep
    def scheduler_label(self):
        """Where a sweep runs (the environment's scheduler, else a local cluster)."""
        address = os.environ.get(SCHEDULER_ENV)
        if address:
            return f"Dask scheduler {address} (from {SCHEDULER_ENV})"
        return f"local Dask cluster, {self.sweep.workers} worker(s)"

    def start_sweep(self):
        """Run the grid of :attr:`sweep` in a background thread; returns the thread or None."""
        if self.sweep_status == "running":
            return None
        s = self.sweep
        if s.J_max <= s.J_min or s.K_max <= s.K_min:
            self._publish(sweep_status="error",
                          error="The sweep needs J max > J min and K max > K min.")
            return None
        J, K = s.axes()
        settings = {k: v for k, v in s.param.values().items() if k != "name"}
        self._cancel = threading.Event()
        self.records, self.swept = [], settings
        self._publish(sweep_status="running", error="", sweep_done=0,
                      sweep_total=len(J) * len(K), sweep_version=self._next())
        thread = threading.Thread(target=self._sweep_work, args=(settings, J, K, self._cancel),
                                  daemon=True, name="neurolattice-sweep")
        thread.start()
        return thread

    def cancel_sweep(self):
        """Stop the running sweep: pending points are cancelled, finished ones are kept."""
        self._cancel.set()

    def _sweep_work(self, s, J, K, cancel):
        partial = {}

        def on_record(i, record):
            with self._lock:
                partial[i] = record
                self.records = [partial[k] for k in sorted(partial)]
            self.outbox.post(sweep_version=self._next())

        try:
            records = run_sweep(s["connectivity"], s["neurons"], s["ticks"], J, K,
                                sweeps=s["sweeps"], burn_in=s["burn_in"], seed=s["seed"],
                                workers=s["workers"], cancel=cancel, on_record=on_record,
                                progress=lambda done, total: self.outbox.post(
                                    sweep_done=done, sweep_total=total))
        except NeurolatticeError as error:
            self.outbox.post(sweep_status="error", error=str(error))
            return
        except Exception as error:  # a bug: logged with traceback, shown as one line
            log.exception("sweep failed")
            self.outbox.post(sweep_status="error", error=f"unexpected error in the sweep: {error}")
            return
        with self._lock:
            self.records = records
        failed = [r for r in records if r["status"] == "failed"]
        status = "cancelled" if cancel.is_set() else "done"
        error = f"{len(failed)} grid point(s) failed: {failed[0]['error']}" if failed else ""
        self.outbox.post(sweep_status="error" if failed else status, error=error,
                         sweep_version=self._next())

    def grid(self):
        """(J, K, values, errors) of the current records for :attr:`observable`, or None."""
        with self._lock:
            records = list(self.records)
        if not records:
            return None
        return phases.sweep_grid(records, self.observable)

    # ------------------------------------------------------------------ flows
    def forget_flows(self):
        """Drop the flows (the recording they refitted changed); a running flow is abandoned."""
        if self.time_flow is None and self.neuron_flow is None and self.flow_status != "running":
            return
        self._flow_job += 1   # a flow still running publishes nothing
        self.time_flow = self.neuron_flow = None
        self._publish(flow_status="idle", flow_version=self.flow_version + 1)

    def start_flow(self, recording_state):
        """Refit the loaded recording along the flows of :attr:`flow` in the background."""
        if self.flow_status == "running":   # one flow at a time (the button is off meanwhile)
            return None
        binned = recording_state.binned if recording_state is not None else None
        if binned is None:
            self._publish(flow_status="error", error="Load a recording before computing flows.")
            return None
        units = recording_state.kept_units()
        factors = sorted(self.flow.factors) or [1]
        n = len(units)
        sizes = sorted({max(2, int(round(n * (k + 1) / self.flow.subset_sizes)))
                        for k in range(self.flow.subset_sizes)})
        self._publish(flow_status="running", error="")
        self._flow_job += 1
        args = (self._flow_job, binned, units, factors, self.flow.rule, sizes, self.flow.draws)
        thread = threading.Thread(target=self._flow_work, args=args, daemon=True,
                                  name="neurolattice-flow")
        thread.start()
        return thread

    def _flow_work(self, job, binned, units, factors, rule, sizes, draws):
        try:
            raster = binned.binary[:, units]
            time_flow = flow_in_time(raster, factors, model="lft", rule=rule)
            for entry in time_flow:
                entry["bin_ms"] = binned.bin_s * 1000.0 * entry["factor"]
            neuron_flow = flow_in_neurons(raster, sizes, draws=draws, model="lft")
        except NeurolatticeError as error:
            if job == self._flow_job:
                self.outbox.post(flow_status="error", error=str(error))
            return
        except Exception as error:
            log.exception("flow failed")
            if job == self._flow_job:
                self.outbox.post(flow_status="error",
                                 error=f"unexpected error in the flow: {error}")
            return
        if job != self._flow_job:   # the recording changed meanwhile: its flow is not shown
            return
        self.time_flow, self.neuron_flow = time_flow, neuron_flow
        self.outbox.post(flow_status="done", flow_version=self._next())

    # ------------------------------------------------------------------ the recording's point
    def recording_point(self, connectivity):
        """The loaded recording on the diagram: (point dict or None, note for the user).

        Source: the flow's first bin width when there is a flow (where the flow's path on the
        diagram starts: one fit for both), else the Fit tab's result when it is an lft fit.
        """
        result = self.fit_state.result if self.fit_state is not None else None
        try:
            if self.time_flow:
                entry = self.time_flow[0]
                point = phases.point_from_summary(entry, connectivity)
                point["source"] = f"flow's fit ({entry['bin_ms']:g} ms bins)"
                return point, ""
            if result is not None and result.model == "lft":
                point = phases.recording_point(result, connectivity)
                point["source"] = f"Fit tab's lft fit ({result.bin_ms:g} ms bins)"
                return point, ""
        except NeurolatticeError as error:
            return None, str(error)
        return None, ("Fit the lft model (Fit tab) or compute the flows to place the recording "
                      "on the diagram.")

    def trajectory(self, connectivity):
        """The flow in time as points on the diagram (list of dicts with ``bin_ms``)."""
        if not self.time_flow:
            return []
        return [{**phases.point_from_summary(e, connectivity), "bin_ms": e["bin_ms"]}
                for e in self.time_flow]

    # ------------------------------------------------------------------ plumbing
    def _next(self):
        with self._lock:
            self._versions += 1
            return self._versions

    def _publish(self, **values):
        """Set state parameters now (UI thread only)."""
        with param.edit_constant(self):
            self.param.update(**values)

    def shutdown(self):
        """Cancel a running sweep (the session closed)."""
        self._cancel.set()

    def wait(self, thread, timeout=None):
        """Join a job's thread and deliver its outcome (scripts and tests)."""
        thread.join(timeout)
        self.outbox.deliver()
