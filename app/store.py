"""Per-session state: the control model the widgets edit, the engine, recordings and fits.

One :class:`SessionStore` per browser session (nothing mutable at module level). The engine runs
in its own daemon thread; widgets change a separate *control* model whose changes are validated and
queued to the sampler, so a half-edited value never reaches a running kernel.
"""

import logging
import threading

import param

from neurolattice_core.errors import AlgorithmError, NeurolatticeError
from neurolattice_core.model import LatticeModel

from .analysis import ThrottledAnalyser
from .fit_state import FitState
from .outbox import Outbox
from .phases_state import PhasesState
from .presets import FIT_PRESET, PRESETS
from .recording_state import RecordingState

log = logging.getLogger(__name__)

#: Model parameters shown as widgets in the Simulate view (order matters).
CONTROL_PARAMETERS = ["connectivity", "neurons", "ticks", "replicas", "grid_rows", "grid_cols",
                      "J", "sk_J0", "sk_spread", "hopfield_patterns", "K", "h", "temperature",
                      "drive", "drive_amplitude", "drive_onset", "drive_duration",
                      "time_boundary", "neuron_boundary", "seed"]
#: Parameters that only mean something for one connectivity preset.
PRESET_ONLY = {"grid_rows": {"grid"}, "grid_cols": {"grid"}, "sk_J0": {"sk"},
               "sk_spread": {"sk"}, "hopfield_patterns": {"hopfield"},
               "neuron_boundary": {"ring", "grid"}, "J": {"all-to-all", "ring", "grid", "hopfield"}}


def visible_controls(controls):
    """The control parameters that apply to the model ``controls`` (in display order).

    Per-neuron arrays (a fit's K_i and h_i) replace K and h, and custom couplings J, so those
    sliders, which would change nothing, are left out.
    """
    connectivity = controls.connectivity
    replaced = {"K": controls.K_per_neuron is not None, "h": controls.h_per_neuron is not None,
                "J": connectivity == "custom"}
    return [name for name in CONTROL_PARAMETERS
            if connectivity in PRESET_ONLY.get(name, {connectivity})
            and not replaced.get(name, False)]


#: The engine thread runs sweeps in chunks of about this many seconds (and at least
#: ``sweeps_per_frame`` sweeps): snapshots and parameter changes pass between chunks, and the
#: per-chunk work (copying the configuration, the throttled analysis) stays a few per cent.
CHUNK_SECONDS = 0.02


#: Sweeps shorter than this are timed in a batch of about this many seconds (see chunk_sweeps).
BATCH_SECONDS = 0.002


def chunk_sweeps(sampler, minimum=1, seconds=CHUNK_SECONDS):
    """Sweeps per chunk so that a chunk takes about ``seconds`` (at most 1000).

    Times single sweeps of ``sampler`` now, then ever larger batches until one takes at least
    :data:`BATCH_SECONDS`, which spreads the fixed cost of a call (about 0.2 ms, 15 single
    sweeps of the default lattice) over the batch; the fastest time per sweep counts, so one
    call slowed by a busy machine does not shrink the chunks. The sweeps count like any other.
    """
    n_sweeps, timings = 1, []
    while True:
        busy = sampler.progress()["busy_seconds"]
        sampler.step(n_sweeps)
        elapsed = sampler.progress()["busy_seconds"] - busy
        timings.append(elapsed / n_sweeps)
        if len(timings) >= 2 and (elapsed >= BATCH_SECONDS or n_sweeps >= 1000):
            break
        n_sweeps = min(1000, n_sweeps * max(2, int(BATCH_SECONDS / max(elapsed, 1e-6)) + 1))
    per_sweep = max(min(timings), 1e-7)
    return int(min(max(minimum, seconds // per_sweep), 1000))


#: Seconds between two analyses of the running engine (correlations, kernel, |m|): the Simulate
#: view redraws each statistics plot every 1.4 s or so and the readout 7 times a second.
ANALYSIS_PERIOD = 0.25

#: Largest lattice the page accepts (sites per replica x replicas): keeps a session responsive.
MAX_SITES = 4_000_000


class SessionStore(param.Parameterized):
    """Everything one browser session owns."""

    preset = param.Selector(objects=[*PRESETS, FIT_PRESET], default="Critical 2-D Ising",
                            doc="Named starting point of the simulation.")
    algorithm = param.Selector(objects=["auto", "metropolis", "heatbath", "cluster"],
                               default="auto", doc="Update algorithm of the engine: auto takes "
                               "Metropolis, or heat bath when some neuron's spins change the "
                               "energy by less than θ/10; cluster (Wolff) needs J, K ≥ 0.")
    sweeps_per_frame = param.Integer(1, bounds=(1, 1000), softbounds=(1, 50),
                                     label="Sweeps per frame, at least",
                                     doc="Fewest sweeps the engine runs between two frames (it "
                                         "runs chunks of about 20 ms, often hundreds of sweeps: "
                                         "the readout gives the rate).")
    message = param.String("", doc="Last error or warning for the user (shown as a notification).")
    message_level = param.Selector(objects=["info", "warning", "error"], default="info",
                                   doc="Severity of the last message.")

    def __init__(self, **params):
        super().__init__(**params)
        self.outbox = Outbox(self)
        self.recording = RecordingState()
        self.fit = FitState()
        self.phases = PhasesState(fit_state=self.fit)
        # a fit or a flow belongs to the recording, binning and units it was made from
        self.recording.param.watch(self._forget_fits, "version")
        self.simulating_fit = False
        self.controls = LatticeModel(name="controls")
        self.controls.param.update(**PRESETS[self.preset][1])
        self._sampler = None   # built on first use (see sampler)
        self._engine_failed = False   # the last try_build_engine failed
        self.closed = False   # shutdown() was called: the tab is gone
        self._sampler_lock = threading.RLock()   # re-entered by watchers of a reverted change
        self.controls.param.watch(self._forward_change, CONTROL_PARAMETERS)
        self._applying_preset = False
        self._setting_algorithm = False   # the selector is set back, not applied
        self._reverting_preset = False   # the fit preset is being undone (no fit to run)
        self._static_preset = self.preset   # the last preset of PRESETS chosen

    def _forget_fits(self, event):
        self.fit.forget()
        self.phases.forget_flows()

    # ------------------------------------------------------------------ engine
    @property
    def sampler(self):
        """The session's engine, built on first use.

        ``app.main.create_app`` builds it with the page, or once the server's
        :class:`~app.warmup.EngineWarmup` has loaded Numba and the kernels.
        """
        return self.build_engine()

    @sampler.setter
    def sampler(self, sampler):
        self._sampler = sampler

    def build_engine(self):
        """The engine, built now unless it is (any thread)."""
        with self._sampler_lock:   # never during a change of the controls (see _forward_change)
            if self._sampler is None:
                self._sampler = self._new_sampler()
            return self._sampler

    def try_build_engine(self):
        """Build the engine now (any thread); a failure is posted as an error message.

        Returns True if the engine is ready; the next use of ``sampler`` tries again.
        """
        try:
            self.build_engine()
        except Exception as error:   # shown to the user, never lost
            log.exception("the engine could not be built")
            self._engine_failed = True
            self.outbox.post(message=f"The engine could not start: {error}",
                             message_level="error")
            return False
        if self._engine_failed:      # replaces the error on the page
            self._engine_failed = False
            self.outbox.post(message="The engine started.", message_level="info")
        return True

    @property
    def engine_failed(self):
        """True while the last attempt to build the engine failed (its message tells why)."""
        return self._engine_failed

    @property
    def engine_ready(self):
        """True once the engine is built."""
        return self._sampler is not None

    def _new_sampler(self):
        from neurolattice_core.sampler import Sampler  # Numba: not needed to draw the page

        sampler = Sampler(LatticeModel.create(**self._control_values()), algorithm=self.algorithm,
                          seed=self.controls.seed, history=2000,
                          initial=PRESETS[self.preset][2] if self.preset in PRESETS
                          else "random")
        sampler.frame_analyser = ThrottledAnalyser(sampler, period=ANALYSIS_PERIOD)
        sampler.on_error(lambda error: self.outbox.post(  # from the worker thread
            message=f"The engine stopped: {error}", message_level="error"))
        sampler.step(1)
        return sampler

    def _control_values(self):
        return {k: v for k, v in self.controls.param.values().items() if k != "name"}

    def notify(self, text, level="info"):
        """Publish a message for the views (UI thread; workers use :attr:`outbox`)."""
        self.param.update(message=text, message_level=level)

    def _forward_change(self, *events):
        if self._applying_preset:
            return
        self.message = ""
        changes = {event.name: event.new for event in events}
        log.debug("control change %s", changes)
        if self.controls.neurons * self.controls.ticks * self.controls.replicas > MAX_SITES:
            self._revert(events, f"{self.controls.neurons} x {self.controls.ticks} x "
                                 f"{self.controls.replicas} sites is more than this page handles "
                                 f"({MAX_SITES:,}); use the CLI for larger lattices.")
            return
        with self._sampler_lock:   # waits for a build in progress, which read the old values
            if self._sampler is None:   # checked alone; the engine, once built, reads them
                try:
                    LatticeModel.create(**self._control_values())
                except NeurolatticeError as error:
                    self._revert(events, str(error))
                return
        try:
            self.sampler.set_parameters(**changes)
        except NeurolatticeError as error:
            self._revert(events, str(error))

    def _revert(self, events, text):
        self._applying_preset = True
        try:
            self.controls.param.update(**{event.name: event.old for event in events})
        finally:
            self._applying_preset = False
        self.notify(text, "error")

    @param.depends("preset", watch=True)
    def _apply_preset(self):
        if self._reverting_preset:
            return
        if self.preset == FIT_PRESET:
            if not self.simulating_fit and not self.simulate_fit():   # no fit: message shown
                self._reverting_preset = True
                try:
                    self.preset = self._static_preset
                finally:
                    self._reverting_preset = False
            return
        self._static_preset = self.preset
        self.message = ""   # a refusal of the previous preset's values no longer applies
        values = PRESETS[self.preset][1]
        if self.simulating_fit:   # from the defaults: the fit's arrays must not outlive it
            values = {name: parameter.default for name, parameter in
                      LatticeModel.param.objects("existing").items()
                      if name not in ("name", "seed", "replicas")} | values
        self.simulating_fit = False
        self._applying_preset = True
        try:
            self.controls.param.update(**values)
        finally:
            self._applying_preset = False
        self.reset()

    @param.depends("algorithm", watch=True)
    def _apply_algorithm(self):
        if self._setting_algorithm:
            return
        with self._sampler_lock:   # waits for a build in progress, which read the old value
            if self._sampler is None:   # the engine, once built, reads it
                return
        try:
            self.sampler.set_parameters(algorithm=self.algorithm)
            self.message = ""
        except NeurolatticeError as error:   # the selector shows what the engine runs
            self._set_algorithm(self.sampler.algorithm)
            self.notify(str(error), "error")

    def _set_algorithm(self, algorithm):
        """Show ``algorithm`` in the selector without applying it to the engine."""
        self._setting_algorithm = True
        try:
            self.algorithm = algorithm
        finally:
            self._setting_algorithm = False

    def play(self):
        """Start (or resume) the engine thread (building the engine if it is not yet)."""
        if not self.try_build_engine():
            return
        if self.sampler.running:
            self.sampler.resume()
        else:
            self.sampler.start(sweeps_per_chunk=chunk_sweeps(self.sampler, self.sweeps_per_frame))

    def pause(self):
        """Pause the engine thread after its current chunk."""
        if self.engine_ready:
            self.sampler.pause()

    def step(self):
        """Run one frame's worth of sweeps (before Play, or while paused)."""
        if self.try_build_engine() and (not self.sampler.running or self.sampler.paused):
            self.sampler.step(self.sweeps_per_frame)

    def reset(self):
        """Restart the engine from the preset's initial state with the current controls."""
        if not self.engine_ready:
            self.try_build_engine()   # a new engine is a reset
            return
        running = self.sampler.running and not self.sampler.paused
        self.sampler.stop()
        try:
            self.sampler = self._new_sampler()
        except AlgorithmError:
            # a preset the cluster algorithm cannot run (SK, Hopfield: J_ij < 0) runs with auto
            self._set_algorithm("auto")
            self.sampler = self._new_sampler()
            self.notify("The cluster algorithm needs ferromagnetic couplings (J_ij >= 0 and "
                        "K >= 0): this preset runs with the algorithm 'auto'.", "warning")
        if running:
            self.play()

    @param.depends("sweeps_per_frame", watch=True)
    def _restart_with_new_chunk(self):
        if self.engine_ready and self.sampler.running and not self.sampler.paused:
            self.sampler.stop()
            self.sampler.start(sweeps_per_chunk=chunk_sweeps(self.sampler, self.sweeps_per_frame))

    def simulate_fit(self, sweeps=200):
        """Load the latest fit into the engine (custom couplings, open time, theta = 1).

        Runs ``sweeps`` sweeps at once so a simulated trial is ready to compare; the Simulate
        view then plays it like any other model.
        """
        from neurolattice_core.fitting.io import to_lattice_model

        result = self.fit.result
        if result is None:
            self.notify("Fit a recording first: there is no fit to simulate.", "error")
            return False
        try:
            model = to_lattice_model(result)
        except NeurolatticeError as error:
            self.notify(str(error), "error")
            return False
        if not self.try_build_engine():   # the error message is on the page
            return False
        values = {k: v for k, v in model.param.values().items() if k != "name"}
        self._applying_preset = True
        try:
            self.controls.param.update(**values)
        finally:
            self._applying_preset = False
        self.sampler.stop()
        self.sampler = self._new_sampler()
        self.sampler.step(sweeps)
        self.simulating_fit = True
        self.preset = FIT_PRESET   # the Simulate view's preset says what runs
        self.fit.param.trigger("version")
        self.notify(f"The fit ({result.n_units} units, {model.ticks} ticks) now runs in the "
                    "engine (Simulate tab).", "info")
        return True

    def deliver(self):
        """Apply what worker threads posted (called by the session's periodic callback)."""
        self.outbox.deliver()
        self.recording.outbox.deliver()
        self.fit.outbox.deliver()
        self.phases.outbox.deliver()

    def shutdown(self):
        """Stop every background thread of this session (tab closed); True when all stopped."""
        self.closed = True
        self.phases.shutdown()
        return self._sampler is None or self._sampler.stop(timeout=2.0)
