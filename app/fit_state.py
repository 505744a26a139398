"""Per-session state of the Fit view: one fit job at a time, in a background thread."""

import logging
import threading
import time

import param

from neurolattice_core.errors import NeurolatticeError

from .outbox import Outbox

log = logging.getLogger(__name__)


#: The drive widget's choices as the core's ``fit(drive=...)`` values.
_DRIVE_CHOICES = {"auto": "auto", "on": True, "off": False}


class FitState(param.Parameterized):
    """Fit settings, the running job and its result."""

    model = param.Selector(objects=["lft", "maxent", "kinetic"], default="lft",
                           doc="lft: space-time action; maxent: static pairwise (K = 0); "
                               "kinetic: asymmetric causal couplings.")
    method = param.Selector(objects=["pl", "mf", "bm", "exact"], default="pl",
                            doc="pl: pseudo-likelihood; mf: mean-field/TAP; bm: Boltzmann "
                                "learning; exact: enumeration (at most 20 units).")
    holdout = param.Number(0.2, bounds=(0.05, 0.5), softbounds=(0.1, 0.4),
                           doc="Fraction of trials held out to validate the fit.")
    drive = param.Selector(objects=["auto", "on", "off"], default="auto",
                           doc="Common time-locked drive u_t (aligned trials): 'auto' fits it for "
                               "lft when the trials are locked to a repeated stimulus.")
    status = param.Selector(objects=["idle", "running", "done", "error", "cancelled"],
                            default="idle", constant=True, doc="State of the fit job.")
    error = param.String("", constant=True, doc="Why the last fit failed.")
    started_at = param.Number(0.0, constant=True, doc="perf_counter() when the job started.")
    version = param.Integer(0, constant=True, doc="Increments when a new result is published.")

    def __init__(self, **params):
        super().__init__(**params)
        self.result = None
        self._job = 0
        self.outbox = Outbox(self)

    def start(self, recording_state):
        """Fit the loaded recording (its kept units) in a background thread."""
        binned = recording_state.binned
        if binned is None:
            self._publish(status="error", error="Load a recording before fitting.")
            return None
        self._job += 1
        job, units = self._job, recording_state.kept_units()
        settings = dict(model=self.model, method=self.method, holdout=self.holdout,
                        drive=_DRIVE_CHOICES[self.drive], bin_ms=binned.bin_s * 1000.0,
                        provenance={"source": recording_state.source_label})
        drop = [i for i in range(binned.shape[1]) if i not in set(units)]
        self._publish(status="running", error="", started_at=time.perf_counter())
        thread = threading.Thread(target=self._work, args=(job, binned.binary, drop, settings),
                                  daemon=True, name="neurolattice-fit")
        thread.start()
        return thread

    def forget(self):
        """Drop the result (the recording it was fitted to changed); a running fit is abandoned."""
        if self.result is None and self.status != "running":
            return
        self._job += 1
        self.result = None
        self._publish(status="idle", version=self._job)

    def cancel(self):
        """Abandon the running job: its result, when it comes, is discarded."""
        if self.status == "running":
            self._job += 1
            self._publish(status="cancelled")

    def _work(self, job, raster, drop, settings):
        # imported here, in the worker: 0.5 s (SciPy) that the page's start-up need not wait for
        from neurolattice_core.fitting.api import fit

        try:
            result = fit(raster, drop_units=drop or None, **settings)
        except NeurolatticeError as error:
            if job == self._job:
                self.outbox.post(status="error", error=str(error))
            return
        except Exception as error:  # a bug: logged with traceback, shown as one line
            log.exception("fit failed")
            if job == self._job:
                self.outbox.post(status="error", error=f"unexpected error: {error}")
            return
        if job == self._job:
            self.result = result
            self.outbox.post(status="done", version=job)

    def _publish(self, **values):
        """Set state parameters now (UI thread only)."""
        with param.edit_constant(self):
            self.param.update(**values)

    def wait(self, thread, timeout=None):
        """Join a job's thread and deliver its outcome (scripts and tests)."""
        thread.join(timeout)
        self.outbox.deliver()
