"""Presentation mode: the live lattice full width in large type, a few controls, guided experiments.

For lectures and lab meetings: black-on-white, fonts readable from the back of a room, and one
sentence per step of a guided experiment (:mod:`app.experiments`). The snapshot may be shown
decimated in time by the core's :func:`~neurolattice_core.renormalization.decimate_time`.
"""

import panel as pn
import param

from neurolattice_core.renormalization import decimate_time

from ..analysis import ModelFacts
from ..outbox import start_periodic
from ..store import visible_controls
from .live_plots import LiveLines
from .raster import LiveRaster
from .simulate import FRAME_PERIOD_MS, STATS_EVERY

BIG = [":host { font-size: 22px; }", "select { font-size: 22px !important; height: 52px; }"]
SLIDER = [".bk-slider-title, .bk-slider-value { font-size: 24px !important; }",
          ".noUi-horizontal { height: 14px; }", ".noUi-handle { transform: scale(1.4); }"]
BUTTON = dict(height=52, stylesheets=[":host .bk-btn { font-size: 22px; }"])


class PresentView(pn.viewable.Viewer):
    """The presentation layout of one session."""

    store = param.Parameter(doc="The session's SessionStore.")
    experiments = param.Parameter(doc="The session's ExperimentState.")

    def __init__(self, **params):
        super().__init__(**params)
        self.raster = LiveRaster("Field snapshot (dark = spike)", "neurolattice-present-snapshot",
                                 height=560, font_scale=1.8)
        self.raster.figure.xaxis.axis_label = "time t (ticks of width Δ)"
        self.magnetization = LiveLines("Magnetisation", "sweep", "magnetisation m",
                                       [("m", None, "#b00020", "solid")],
                                       "neurolattice-present-magnetisation", y_range=(-1.05, 1.05),
                                       height=560, font_scale=1.8, x_format="0,0")
        self.magnetization.figure.xaxis.ticker.desired_num_ticks = 3
        self._drawn = (None, -1)   # (engine path, sweep) of the snapshot on the page
        self._last_trace_sweep = 0
        self._traced = None   # the engine whose trace is drawn
        self._frames = 0
        self._facts = ModelFacts()
        self._callback = None
        self.readout = pn.pane.HTML("", sizing_mode="stretch_width",
                                    css_classes=["nl-present-readout"])
        self.step_text = pn.pane.HTML("", sizing_mode="stretch_width",
                                      css_classes=["nl-present-step"])
        self.experiments.param.watch(self._on_step, ["experiment", "step"])
        self._on_step()

    # ------------------------------------------------------------------ plots
    def _draw_raster(self):
        """The snapshot, decimated in time by the core when b > 1 (same time axis, wider bins)."""
        spins = self.store.sampler.snapshot()
        b = self.experiments.decimation
        if b > 1 and spins.shape[1] >= b:
            spins = decimate_time(spins, b, rule="keep")
        else:
            b = 1
        self.raster.set_title("Field snapshot (dark = spike)" if b == 1 else
                              f"Decimated in time: b = {b}, every {b}th tick (bins of {b}Δ)")
        self.raster.update(spins, tick_width=b)

    # ------------------------------------------------------------------ frames
    def _on_frame(self):
        if not self.store.engine_ready:
            return
        sampler = self.store.sampler
        frame = sampler.latest_frame()
        if self._drawn[0] is not sampler.path or self._drawn[1] != frame["sweep"]:
            # a new engine, or a new lattice shape (a new path), restarts the sweep count
            self._drawn = (sampler.path, frame["sweep"])
            self._draw_raster()
        self._frames += 1
        if self._frames % STATS_EVERY == 1:
            self._draw_trace(sampler)
        self._update_readout(frame)

    def _draw_trace(self, sampler):
        if sampler is not self._traced:   # a new engine (it may be at the same sweep count)
            if self._traced is not None:
                self.magnetization.clear("m")
            self._traced, self._last_trace_sweep = sampler, 0
        history = sampler.history()
        new = history["sweep"] > self._last_trace_sweep
        if new.any():
            self._last_trace_sweep = int(history["sweep"][new][-1])
            self.magnetization.extend("m", history["sweep"][new],
                                      history["magnetization"][new, 0])
        elif history["sweep"].size and history["sweep"][-1] < self._last_trace_sweep:
            self.magnetization.clear("m")
            self._last_trace_sweep = 0

    def _update_readout(self, frame):
        sampler = self.store.sampler
        model = sampler.model
        theta_c, _ = self._facts(model)
        ratio = f"θ/θ<sub>c</sub> = {model.temperature / theta_c:.2f}" if theta_c else ""
        abs_m = frame["products"].get("abs_magnetization", float("nan"))
        state = "running" if sampler.running and not sampler.paused else "paused"
        couplings = ([f"J = {model.J:g}", f"K = {model.K:g}"] if model.connectivity != "custom"
                     and model.K_per_neuron is None else ["fitted J<sub>ij</sub>, K<sub>i</sub>"])
        parts = [f"θ = {model.temperature:.3f}", ratio, *couplings, f"|m| = {abs_m:.2f}"]
        self.readout.object = ("&nbsp;&nbsp;·&nbsp;&nbsp;".join(p for p in parts if p)
                               + "&nbsp;&nbsp;·&nbsp;&nbsp;<span style='color:#555;font-size:20px'>"
                                 f"sweep "
                                 f"{sampler.sweeps_done:,} · {state}</span>")

    def _on_step(self, *events):
        experiments = self.experiments
        steps = experiments.steps
        if experiments.step < 0:
            self.step_text.object = (f"<b>{experiments.experiment}</b> · {len(steps)} steps. "
                                     "Press <b>Next ▶</b> to start.")
        else:
            self.step_text.object = (f"<b>{experiments.experiment}</b> · step "
                                     f"{experiments.step + 1} of {len(steps)}<br>"
                                     f"{steps[experiments.step].text}")
        self._drawn = (None, -1)  # redraw: the decimation may have changed

    def start_frames(self):
        """Start pulling frames (while the presentation is shown)."""
        if self._callback is None:
            self._callback = start_periodic(self._on_frame, FRAME_PERIOD_MS)
        return self._callback

    def stop_frames(self):
        """Stop pulling frames."""
        if self._callback is not None:
            self._callback.stop()
            self._callback = None

    # ------------------------------------------------------------------ layout
    def header(self, exit_button):
        """Experiment choice, Back / Next, Play / Pause and the exit button."""
        store, experiments = self.store, self.experiments
        choice = pn.widgets.Select.from_param(experiments.param.experiment, name="",
                                              width=380, height=52, stylesheets=BIG)
        back = pn.widgets.Button(label="◀ Back", width=120, **BUTTON)
        forward = pn.widgets.Button(label="Next ▶", color="primary", width=130, **BUTTON)
        play = pn.widgets.Button(label="Play", width=100, **BUTTON)
        pause = pn.widgets.Button(label="Pause", width=100, **BUTTON)
        back.on_click(lambda _: experiments.previous())
        forward.on_click(lambda _: experiments.next())

        def at_the_ends(*_):   # nothing before the first step, nothing after the last
            back.disabled = experiments.step <= 0
            forward.disabled = experiments.step >= len(experiments.steps) - 1

        experiments.param.watch(at_the_ends, ["step", "experiment"])
        at_the_ends()
        play.on_click(lambda _: store.play())
        pause.on_click(lambda _: store.pause())
        return pn.Row(choice, back, forward, pn.Spacer(width=30), play, pause,
                      pn.layout.HSpacer(), exit_button, sizing_mode="stretch_width",
                      css_classes=["nl-present-bar"])

    def sliders(self):
        """Temperature and temporal coupling: the two knobs every experiment is about.

        The K slider is hidden while per-neuron K_i (a fit's) replace the uniform K.
        """
        controls = self.store.controls
        common = dict(sizing_mode="stretch_width", stylesheets=SLIDER, step=0.01,
                      format="0.000", margin=(10, 30))
        temporal = pn.widgets.FloatSlider.from_param(controls.param.K,
                                                     name="temporal coupling K", **common)

        def show_temporal(*_):
            temporal.visible = "K" in visible_controls(controls)
        controls.param.watch(show_temporal, ["K_per_neuron", "connectivity"])
        show_temporal()
        return pn.Row(
            pn.widgets.FloatSlider.from_param(controls.param.temperature,
                                              name="temperature θ", **common),
            temporal, sizing_mode="stretch_width")

    def layout(self, exit_button):
        """The whole presentation page."""
        return pn.Column(
            self.header(exit_button), self.step_text,
            pn.Row(pn.Column(self.raster.pane, sizing_mode="stretch_width",
                             styles={"flex": "2.6"}),
                   pn.Column(self.magnetization.pane,
                             sizing_mode="stretch_width", styles={"flex": "1.2"}),
                   sizing_mode="stretch_width"),
            self.readout, self.sliders(), sizing_mode="stretch_width",
            css_classes=["nl-present"])

