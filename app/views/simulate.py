"""The Simulate view: widgets from the model's parameters and live plots of the lattice."""

import io
import time

import numpy as np
import panel as pn
import param

from neurolattice_core.observables import grid_time_slice, running_mean

from .. import export
from ..analysis import ModelFacts
from ..outbox import start_periodic
from ..presets import PRESET_CONTROLS, preset_note
from ..store import visible_controls
from .live_plots import LiveLines
from .raster import COLOURINGS, LiveRaster

FRAME_PERIOD_MS = 36  # 28 frames per second at most (about 20-25 arrive on 2 busy cores)
#: The statistics figures join a new page a row at a time, from the engine's
#: STATISTICS_AFTER_FRAMES-th frame, every STATISTICS_ROW_FRAMES frames (see show_statistics).
STATISTICS_AFTER_FRAMES = 2
STATISTICS_ROW_FRAMES = 4
#: The readout's counters are redrawn every READOUT_EVERY-th frame (7 times a second): each
#: redraw of the readout makes the browser lay out the page again, which took a tenth of a core
#: at 28 frames/s. A change of state, temperature or model is shown with the next frame.
READOUT_EVERY = 4
#: Every STATS_EVERY-th frame one group of statistics plots (traces, correlations, spectra) is
#: redrawn, in turn (each group every 1.4 s or so). The browser's redraws of these figures took
#: a third of a core when each group was redrawn twice a second, CPU that the engine lacked on a
#: 2-core machine (see README, Benchmarks); the snapshot is redrawn at every frame.
STATS_EVERY = 12
#: Every TRACE_RESEND-th traces draw sends the whole history instead of the new points, and the
#: titles and legends of the other plots again, so a browser copy that missed an update (seen
#: through a notebook's comm) heals within seconds.
TRACE_RESEND = 10
#: Sweeps averaged by the running means drawn over the energy and magnetisation traces.
TRACE_MEAN_WINDOW = 100

_WIDGETS = {
    # Editable sliders: drag for exploration, or type an exact value (e.g. 2.269).
    # No lower bound in the browser: a typed 0 or -2 reaches the server, which says why it is
    # refused and sets the box back (app.rejected_input); the browser would keep showing it.
    # Labels with the symbols of the readout, the About page and MODEL.md.
    "temperature": {"type": pn.widgets.EditableFloatSlider, "step": 0.01, "format": "0.0[000]",
                    "fixed_start": None, "name": "Temperature θ"},
    "J": {"type": pn.widgets.EditableFloatSlider, "step": 0.01, "name": "Coupling J"},
    "K": {"type": pn.widgets.EditableFloatSlider, "step": 0.01, "name": "Temporal coupling K"},
    "h": {"type": pn.widgets.EditableFloatSlider, "step": 0.01, "name": "Field h"},
    "drive_amplitude": {"type": pn.widgets.FloatSlider, "throttled": True, "step": 0.01},
    # SK couplings are drawn again at every change: only when the slider is released
    "sk_J0": {"type": pn.widgets.EditableFloatSlider, "throttled": True, "step": 0.01,
              "name": "SK mean coupling J₀"},
    "sk_spread": {"type": pn.widgets.EditableFloatSlider, "throttled": True, "step": 0.01,
                  "name": "SK coupling spread J (std)"},
    # No bounds in the browser (the default would be the soft bounds, and the browser silently
    # ignores a value outside them while showing it): the server refuses 0 or -5 and says why
    # (app.rejected_input), and the store explains why a size is too large.
    "neurons": {"type": pn.widgets.IntInput, "start": None, "end": None},
    "ticks": {"type": pn.widgets.IntInput, "start": None, "end": None},
    "replicas": {"type": pn.widgets.IntInput, "start": None, "end": None},
    "seed": {"type": pn.widgets.IntInput, "start": None, "end": None},
    "grid_rows": {"type": pn.widgets.IntInput, "start": None, "end": None},
    "grid_cols": {"type": pn.widgets.IntInput, "start": None, "end": None},
}


def download(label, filename, content):
    """A download button whose file is made by ``content()`` (str or bytes) when clicked."""
    def callback():
        data = content()
        return io.BytesIO(data) if isinstance(data, bytes) else io.StringIO(data)
    return pn.widgets.FileDownload(callback=callback, filename=filename, label=label,
                                   color="light", width=190, height=34)


#: The readout until the engine's first frame (the server loads the kernels in the background).
LOADING_READOUT = ("<b>loading the engine…</b> <span class='nl-muted'>(the first start after an "
                   "install compiles it: about a minute)</span>")


class SimulateView(pn.viewable.Viewer):
    """Controls, the live lattice, traces, correlation functions, kernel averages and readouts."""

    store = param.Parameter(doc="The session's SessionStore.")

    def __init__(self, **params):
        super().__init__(**params)
        store = self.store
        self.raster = LiveRaster(f"Field snapshot: {COLOURINGS['spikes'][1]}",
                                 "neurolattice-snapshot")
        self.colouring = pn.widgets.RadioButtonGroup(
            options=list(COLOURINGS), value="spikes", width=160,
            description="Colour the lattice as a spike raster (dark = spike) or as spins "
                        "(red = up, blue = down)")
        self.colouring.param.watch(lambda event: self._apply_colouring(), "value")
        mean_label = f"running mean ({TRACE_MEAN_WINDOW} sweeps)"
        self.energy = LiveLines("Energy per site (replica 1)", "sweep", "energy per site",
                                [("energy", "each sweep", "#9ecae1", "solid"),
                                 ("mean", mean_label, "#08519c", "solid")],
                                "neurolattice-energy", x_format="0,0", x_integer=True)
        self.magnetization = LiveLines(
            "Magnetisation m (replica 1)", "sweep", "magnetisation m",
            [("m", "each sweep", "#fcae91", "solid"), ("mean", mean_label, "#a50f15", "solid")],
            "neurolattice-magnetisation", y_range=(-1.05, 1.05), x_format="0,0", x_integer=True)
        self.temporal = LiveLines(
            "Temporal correlation C(τ): waiting for the first frame", "lag τ (ticks)",
            "connected C(τ)", [("measured", "measured", "#1f77b4", "solid"),
                               ("exact", "exact (independent chains)", "#ff7f0e", "dashed")],
            "neurolattice-temporal-correlation")
        self.spatial = LiveLines("Spatial correlation C(r): waiting for the first frame",
                                 "distance r (neurons)", "connected C(r)",
                                 [("C", None, "#2ca02c", "solid")],
                                 "neurolattice-spatial-correlation")
        self.kernel = LiveLines(
            "Kernel spectra: waiting for the first frame", "quantile", "magnetisation",
            [("rows", "neurons μ_i", "#1f77b4", "solid"), ("cols", "ticks ν_t", "#d62728",
                                                            "solid")],
            "neurolattice-kernel-spectra", y_range=(-1.05, 1.05), legend="top_left")
        self._drawn = (None, -1)   # (engine path, sweep) of the snapshot on the page
        self._drawn_products = {}
        self._frames = 0
        self._last_trace_sweep = 0
        self._traced = None   # the engine whose traces are drawn
        self._trace_draws = 0
        self._frame_times = []
        self._engine_downloads = []   # made by exports()
        self._facts = ModelFacts()
        self._readout_key = None   # (state, θ/θc, description, rule) last drawn
        self._transport = None   # Play, Pause and Step, once controls() made them
        self._rate_mark = None     # (sampler, progress) at the previous readout
        self._recent = (None, None, 0.0)   # (sweeps/s, flips/ns, acceptance) shown last
        self._refresh = (None, [])   # (analysis before a change, product groups to redraw)
        self._sheet = self._sheet_tick = None   # the grid's time slice (see _draw_sheet)
        self._sheet_holder = pn.Column(sizing_mode="stretch_width")
        self._statistics_placeholder = pn.pane.HTML(
            "<div class='nl-muted' style='padding:12px'>Drawing the traces, correlation "
            "functions and kernel spectra…</div>")
        self._statistics = pn.Column(self._statistics_placeholder, sizing_mode="stretch_width")
        self._statistics_pending = [   # rows not in the page yet (see show_statistics)
            pn.Row(self.energy.pane, self.magnetization.pane, sizing_mode="stretch_width"),
            pn.Row(self.temporal.pane, self.spatial.pane, sizing_mode="stretch_width"),
            self.kernel.pane]
        self.readout = pn.pane.HTML(LOADING_READOUT, sizing_mode="stretch_width",
                                    css_classes=["nl-readout"])
        if store.engine_ready:
            self.show_engine()
        self.alert = pn.pane.Alert("", visible=False, sizing_mode="stretch_width")
        store.param.watch(self._on_message, ["message"])
        self.preset_note = pn.pane.Markdown(self._preset_note(), css_classes=["nl-note"])
        store.param.watch(self._on_preset, "preset")
        store.controls.param.watch(self._on_preset, PRESET_CONTROLS)
        self._callback = None

    # ------------------------------------------------------------------ frames
    def show_engine(self):
        """Draw the engine's first frame: snapshot, traces, analyses and readout.

        Called while the page is built, so the browser receives them with it; the frames that
        follow send only what changed.
        """
        sampler = self.store.sampler
        frame = sampler.latest_frame()
        self.raster.update(sampler.snapshot())
        self._drawn = (sampler.path, frame["sweep"])   # the first frame does not resend it
        self._draw_traces(sampler)
        for group in (1, 2):
            self._draw_products(frame["products"], group)
        self._update_readout(frame)

    def show_no_engine(self):
        """Say in the readout that the engine could not be built (the message tells why)."""
        self.readout.object = ("<b>no engine</b>: it could not start (see the message above); "
                               "▶ Play tries again")

    def _enable_downloads(self, enabled):
        """The exports need the engine's data: their buttons are off while there is none."""
        for button in self._engine_downloads:
            if button.disabled == enabled:
                button.disabled = not enabled

    def _on_frame(self):
        """Draw the latest snapshot; the statistics plots every STATS_EVERY-th frame."""
        ready = self.store.engine_ready
        self._enable_downloads(ready)
        if not ready:   # still loading, or the readout says why (show_no_engine)
            if self.store.engine_failed and self.readout.object == LOADING_READOUT:
                self.show_no_engine()
                self.show_statistics()
            return
        add_row = (self._frames >= STATISTICS_AFTER_FRAMES   # the lattice and readout first
                   and (self._frames - STATISTICS_AFTER_FRAMES) % STATISTICS_ROW_FRAMES == 0)
        sampler = self.store.sampler
        frame = sampler.latest_frame()
        if self._drawn[0] is not sampler.path or self._drawn[1] != frame["sweep"]:
            # a new engine, or a new lattice shape (a new path), restarts the sweep count
            self._drawn = (sampler.path, frame["sweep"])
            snapshot = sampler.snapshot()
            self.raster.update(snapshot)
            self._snapshot_title(sampler.model.replicas)
            self._draw_sheet(sampler.model, snapshot)
            now = time.perf_counter()
            self._frame_times = [t for t in self._frame_times if now - t < 2.0] + [now]
        elif sampler.model.connectivity != "grid" and self._sheet_holder.objects:
            self._sheet_holder.clear()   # no longer a grid (changed while paused)
        if self._frames % STATS_EVERY == 0:
            group = (self._frames // STATS_EVERY) % 3
            if group == 0:
                self._draw_traces(sampler)
            else:
                self._draw_products(frame["products"], group)
        stale, groups = self._refresh   # after a change of state or model (_update_readout)
        groups[:] = [group for group in groups if self._group_shown(group)]
        if 0 in groups:   # the traces need no analysis
            groups.remove(0)
            self._draw_traces(sampler)
        if groups and frame["products"]:
            if frame["products"] is not stale:   # the first analysis made after the change
                self._draw_products(frame["products"], groups.pop(0))
            else:   # the newest one, maybe older than the change: shown (once) meanwhile
                for group in groups:
                    self._draw_products(frame["products"], group)
        self._frames += 1
        self._update_readout(frame, counters=self._frames % READOUT_EVERY == 0)
        if add_row:   # last, see show_statistics
            self.show_statistics(rows=1)

    def _clear_products(self, group):
        """Empty the plots of a group of :meth:`_draw_products` until the next analysis."""
        plots = ((self.kernel, ("rows", "cols"), "Kernel spectra"),) if group == 2 else (
            (self.temporal, ("measured", "exact"), "Temporal correlation C(τ)"),
            (self.spatial, ("C",), "Spatial correlation C(r)"))
        for plot, lines, title in plots:
            for line in lines:
                plot.clear(line)
            plot.set_title(f"{title}: waiting for the next frame")

    def _draw_products(self, products, group):
        """Group 1: the correlation functions; group 2: the kernel spectra (new analyses only)."""
        if products is self._drawn_products.get(group):
            return
        if not products:   # a new lattice not analysed yet: no curves of the old one
            if self._drawn_products.get(group):
                self._clear_products(group)
            self._drawn_products[group] = products
            return
        self._drawn_products[group] = products
        if group == 2:
            rows, cols = np.sort(products["row_average"]), np.sort(products["column_average"])
            self.kernel.set("rows", np.linspace(0, 1, len(rows)), rows)
            self.kernel.set("cols", np.linspace(0, 1, len(cols)), cols)
            self.kernel.set_title("Kernel spectra: sorted averages per neuron (μ_i) and per "
                                  "tick (ν_t)")
            return
        measured, exact = products["temporal_correlation"], products["exact_temporal_correlation"]
        self.temporal.set("measured", np.arange(len(measured)), measured)
        self.temporal.show("exact", exact is not None)
        if exact is None:
            self.temporal.clear("exact")
            self.temporal.set_title("Temporal correlation C(τ)")
        else:
            self.temporal.set("exact", np.arange(len(exact)), exact)
            self.temporal.set_title("Temporal correlation C(τ) with the exact independent-chain "
                                    "result")
        c_r = products["spatial_correlation"]
        if c_r is None:
            self.spatial.clear("C")
            self.spatial.set_title("C(r) needs ring or grid connectivity")
        else:
            self.spatial.set("C", np.arange(len(c_r)), c_r)
            self.spatial.set_title("Spatial correlation C(r)")

    def _draw_traces(self, sampler):
        """Stream the new points of the traces; every TRACE_RESEND-th draw resend them all."""
        traces = ((self.energy, "energy", "energy_per_site"), (self.magnetization, "m",
                                                                 "magnetization"))
        if sampler is not self._traced:   # a new engine (it may be at the same sweep count)
            if self._traced is not None:
                self._clear_traces(traces)
            self._traced, self._last_trace_sweep = sampler, 0
        history = sampler.history()
        sweeps = history["sweep"]
        new = sweeps > self._last_trace_sweep
        self._trace_draws += 1
        if new.any():
            resend = self._trace_draws % TRACE_RESEND == 0
            self._last_trace_sweep = int(sweeps[-1])
            for plot, line, key in traces:
                values = history[key][:, 0]
                means = running_mean(values, TRACE_MEAN_WINDOW)
                if resend:
                    plot.set(line, sweeps, values)
                    plot.set("mean", sweeps, means)
                else:
                    plot.extend(line, sweeps[new], values[new])
                    plot.extend("mean", sweeps[new], means[new])
            if resend:
                for plot in (self.temporal, self.spatial, self.kernel):
                    plot.resend()
        elif self._last_trace_sweep and (not sweeps.size or sweeps[-1] < self._last_trace_sweep):
            self._clear_traces(traces)   # the engine was reset (a new size: no history yet)
            self._last_trace_sweep = 0

    @staticmethod
    def _clear_traces(traces):
        for plot, line, _ in traces:
            plot.clear(line)
            plot.clear("mean")

    def _update_readout(self, frame, counters=True):
        """Redraw the readout if its state, θ/θc or model changed, or if ``counters`` is True.

        The counters (sweeps, rates, |m|) alone are redrawn only every READOUT_EVERY-th frame.
        """
        sampler = self.store.sampler
        progress = sampler.progress()
        model = sampler.model
        fps = max(len(self._frame_times) - 1, 0) / 2.0
        theta_c, description = self._facts(model)
        where = (f"θ/θ<sub>c</sub> = {model.temperature / theta_c:.3f}" if theta_c
                 else "θ<sub>c</sub>: no exact result for these couplings")
        state = ("paused" if progress["paused"] else
                 "running" if progress["running"] else "ready: press ▶ Play")
        key = (state, where, description, progress["rule"])
        if not counters and key == self._readout_key:
            return
        if key != self._readout_key:
            # the statistics plots of the old state would stay for a turn (1.4 s or more):
            # redraw the traces now, the correlations and spectra with the first analysis
            # made after the change (see _on_frame)
            self._refresh = (frame["products"], [0, 1, 2])
        self._readout_key = key
        self._show_transport_state(state)
        abs_m = (frame["products"] or {}).get("abs_magnetization")
        abs_m = "–" if abs_m is None else f"{abs_m:.3f}"
        sweeps_per_second, flips_per_ns, acceptance = self._recent_rates(progress)
        speed = ("– sweeps/s · – flips/ns" if sweeps_per_second is None else
                 f"{sweeps_per_second:.1f} sweeps/s · {flips_per_ns:.2f} flips/ns")
        frames = f"{fps:.0f} frames/s · " if state == "running" else ""
        # Wolff clusters are always flipped: no acceptance to show
        accepted = "" if progress["path"] == "cluster" else f"acceptance {acceptance:.2f} · "
        why = f" {progress['rule_reason']}" if progress["rule_reason"] else ""
        self.readout.object = (
            f"<b>{state}</b> · path: {progress['path']}, {progress['rule']} · sweeps "
            f"{progress['sweeps']:,} · {speed} · {frames}{accepted}|m| {abs_m}"
            f" · {where}<br><span class='nl-muted'>{description}{why}</span>")

    def _show_transport_state(self, state):
        """While running only Pause is enabled; otherwise Play and Step are (not Pause)."""
        if self._transport is None:
            return
        play, pause, step = self._transport
        running = state == "running"
        play.disabled, pause.disabled, step.disabled = running, not running, running

    def _recent_rates(self, progress):
        """(sweeps/s, flips/ns, acceptance) over the sweeps run since the previous readout.

        The run's averages would lag a change of temperature for as long as the run had
        lasted; with nothing run since (paused), the last values stay. A new engine has run only
        its first sweep, whose time includes loading the kernels: its speed shows as None
        (acceptance: that sweep's) until it runs more.
        """
        sampler = self.store.sampler
        mark, self._rate_mark = self._rate_mark, (sampler, progress)
        old = None if mark is None or mark[0] is not sampler else mark[1]
        if old is None or progress["sweeps"] < old["sweeps"]:   # new, or reset to a new size
            self._recent = (None, None, progress["acceptance"])
            return self._recent
        busy = progress["busy_seconds"] - old["busy_seconds"]
        attempted = progress["flips_attempted"] - old["flips_attempted"]
        if busy > 0 and attempted > 0:
            accepted = progress["flips_done"] - old["flips_done"]
            self._recent = ((progress["sweeps"] - old["sweeps"]) / busy,
                            attempted / busy / 1e9, accepted / attempted)
        return self._recent

    def _on_message(self, event):
        store = self.store
        self.alert.alert_type = {"error": "danger", "warning": "warning"}.get(
            store.message_level, "info")
        self.alert.object = store.message
        self.alert.visible = bool(store.message)

    def _on_preset(self, *events):
        # the current value, not event.new: a refused "Fit of the loaded recording" is undone
        # inside the same change, whose event then arrives last
        self.preset_note.object = self._preset_note()

    def _preset_note(self):
        return preset_note(self.store.preset, self.store.controls.param.values())

    def start_frames(self):
        """Start pulling frames (called once the page is loaded)."""
        if self._callback is None:
            self._callback = start_periodic(self._on_frame, FRAME_PERIOD_MS)
        return self._callback

    def stop_frames(self):
        """Stop the periodic callback."""
        if self._callback is not None:
            self._callback.stop()
            self._callback = None

    # ------------------------------------------------------------------ layout
    def controls(self):
        """The control column: preset, transport buttons, model widgets."""
        store = self.store
        play = pn.widgets.Button(label="▶ Play", color="primary", width=66)
        pause = pn.widgets.Button(label="Pause", width=66)
        step = pn.widgets.Button(label="Step", width=60)
        reset = pn.widgets.Button(label="Reset", color="warning", width=62)
        play.on_click(lambda _: store.play())
        pause.on_click(lambda _: store.pause())
        step.on_click(lambda _: store.step())
        reset.on_click(lambda _: store.reset())
        self._transport = (play, pause, step)
        self._show_transport_state(self._readout_key[0] if self._readout_key else "")
        engine = pn.Param(store, parameters=["preset", "algorithm", "sweeps_per_frame"],
                          show_name=False, widgets={"sweeps_per_frame": {
                              "type": pn.widgets.IntSlider, "throttled": True}})
        model = pn.Column(self._model_widgets(), sizing_mode="stretch_width")

        def rebuild(*events):
            model[:] = [self._model_widgets()]

        store.controls.param.watch(rebuild, ["connectivity", "K_per_neuron", "h_per_neuron"])
        colours = pn.Row(pn.pane.HTML("Lattice colours", margin=(12, 5, 5, 10)), self.colouring)
        return pn.Column(engine, self.preset_note, pn.Row(play, pause, step, reset), colours,
                         pn.pane.Markdown("#### Model"), model, width=330)

    def _model_widgets(self):
        controls = self.store.controls
        return pn.Param(controls, parameters=visible_controls(controls),
                        widgets=_WIDGETS, show_name=False, sizing_mode="stretch_width")

    def exports(self):
        """Download buttons for the data behind the plots (PNG: each plot's save tool)."""
        store = self.store

        def query():
            location = pn.state.location
            return location.search if location is not None else ""
        self._engine_downloads = [
            download("Parameters (JSON)", "neurolattice-parameters.json",
                     lambda: export.parameters_json(store, query())),
            download("Snapshot (NPZ)", "neurolattice-snapshot.npz",
                     lambda: export.snapshot_npz(store)),
            download("Traces (CSV)", "neurolattice-traces.csv", lambda: export.traces_csv(store)),
            download("Correlations (CSV)", "neurolattice-correlations.csv",
                     lambda: export.correlations_csv(store))]
        self._enable_downloads(store.engine_ready)
        return pn.Row(
            *self._engine_downloads,
            pn.pane.HTML("<span class='nl-muted'>PNG: the save tool of each plot's "
                         "toolbar</span>", margin=(12, 5)),
            sizing_mode="stretch_width")

    def plots(self):
        """The live plots, each a Bokeh figure whose data sources are updated in place."""
        return pn.Column(self.alert, self.readout, self.exports(), self.raster.pane,
                         self._sheet_holder, self._statistics, sizing_mode="stretch_width")

    def _draw_sheet(self, model, snapshot):
        """For grid connectivity, the chosen tick of ``snapshot`` (N, T) as the r x c sheet."""
        if model.connectivity != "grid":
            if self._sheet_holder.objects:
                self._sheet_holder.clear()
            return
        rows, cols = model.grid_shape()   # the rows x cols boxes may be left empty
        width = int(min(900, max(400, 60 + 290 * cols / rows)))   # square cells, 290 px high
        if self._sheet is None:   # built with the first grid model (start-up)
            self._sheet = LiveRaster("", "neurolattice-time-slice", height=330,
                                     x_label="grid column", y_label="grid row",
                                     hover_names=("column", "row"), width=width)
            self._sheet_tick = pn.widgets.IntSlider(label="Time slice t (tick)", start=0, end=1,
                                                    width=300)
            self._sheet_tick.param.watch(lambda event: self._redraw_sheet(), "value")
        if self._sheet.figure.width != width:
            self._sheet.figure.width = width
        ticks = snapshot.shape[1]
        if self._sheet_tick.end != ticks - 1:
            self._sheet_tick.param.update(end=max(ticks - 1, 1),
                                          value=min(self._sheet_tick.value, ticks - 1))
        tick = self._sheet_tick.value
        self._sheet.update(grid_time_slice(snapshot, rows, cols, tick))
        self._sheet.set_colouring(self.colouring.value)
        self._sheet.set_title(f"Tick t = {tick} on the {rows} x {cols} grid")
        if not self._sheet_holder.objects:   # after drawing (see show_statistics)
            self._sheet_holder[:] = [pn.Row(self._sheet.pane, self._sheet_tick)]

    def _snapshot_title(self, replicas):
        """The lattice's title: its colours, and which replica it shows when there are several."""
        which = f" (replica 1 of {replicas}; the exports hold all)" if replicas > 1 else ""
        self.raster.set_title(f"Field snapshot{which}: {COLOURINGS[self.colouring.value][1]}")

    def _apply_colouring(self):
        """The lattice and the grid's sheet in the chosen colouring, their titles saying so."""
        colouring = self.colouring.value
        self.raster.set_colouring(colouring)
        self._snapshot_title(self.store.controls.replicas)
        if self._sheet is not None:
            self._sheet.set_colouring(colouring)
            self._redraw_sheet()

    def _redraw_sheet(self):
        """Redraw the sheet at the slider's tick (also while paused)."""
        if self.store.engine_ready:
            self._draw_sheet(self.store.sampler.model, self.store.sampler.snapshot())

    def _group_shown(self, group):
        """True once statistics group 0 (traces), 1 (correlations) or 2 (kernel) is shown."""
        figure = (self.energy.pane, self.temporal.pane, self.kernel.pane)[group]
        return not any(figure is row or figure in getattr(row, "objects", ())
                       for row in self._statistics_pending)

    def show_statistics(self, rows=None):
        """Put the next ``rows`` rows (all if None) of statistics figures in the page.

        The rows: the energy and magnetisation traces, C(τ) and C(r), the kernel spectra. A
        session's page goes out without them and its frames add one row every
        STATISTICS_ROW_FRAMES frames from the STATISTICS_AFTER_FRAMES-th (a notebook's page has
        them from the start): drawing the five figures at once kept the browser busy for about
        0.5 s after the lattice and the readout came. They are drawn into from the start, so
        they arrive with their data. A row is added after the frame's drawing: a figure drawn
        into in the callback that adds it could reach the browser after its new data ("reference
        isn't known" in the page); frames also run through :func:`..outbox.start_periodic`, which
        sends the figure's data and Panel's queued layout changes in the order they were made.
        """
        if not self._statistics_pending:
            return
        take = len(self._statistics_pending) if rows is None else rows
        shown = [row for row in self._statistics if row is not self._statistics_placeholder]
        self._statistics[:] = shown + self._statistics_pending[:take]
        del self._statistics_pending[:take]

    def __panel__(self):
        return pn.Row(self.controls(), self.plots(), sizing_mode="stretch_width")
