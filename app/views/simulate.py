"""The Simulate view: widgets from the model's parameters and live plots of the lattice."""

import io
import time

import holoviews as hv
import numpy as np
import panel as pn
import param

from .. import export
from ..presets import PRESETS
from ..store import visible_controls
from .raster import LiveRaster

FRAME_PERIOD_MS = 50  # 20 frames per second at most
#: Every STATS_EVERY-th frame one group of statistics plots (traces, correlations, spectra) is
#: redrawn, in turn: a HoloViews redraw costs tens of ms, the snapshot (plain Bokeh) a few.
STATS_EVERY = 4

_WIDGETS = {
    # Editable sliders: drag for exploration, or type an exact value (e.g. 2.269).
    "temperature": {"type": pn.widgets.EditableFloatSlider, "step": 0.01},
    "J": {"type": pn.widgets.EditableFloatSlider, "step": 0.01},
    "K": {"type": pn.widgets.EditableFloatSlider, "step": 0.01},
    "h": {"type": pn.widgets.EditableFloatSlider, "step": 0.01},
    "drive_amplitude": {"type": pn.widgets.FloatSlider, "throttled": True, "step": 0.01},
    "sk_spread": {"type": pn.widgets.FloatSlider, "throttled": True, "step": 0.01},
    # A huge client-side maximum (the default would be the soft bound, silently clamping):
    # the store explains why a size is refused.
    "neurons": {"type": pn.widgets.IntInput, "start": 1, "end": 10**9},
    "ticks": {"type": pn.widgets.IntInput, "start": 1, "end": 10**9},
    "replicas": {"type": pn.widgets.IntInput, "start": 1, "end": 10**6},
    "seed": {"type": pn.widgets.IntInput, "start": 0, "end": 2**31 - 1},
    "grid_rows": {"type": pn.widgets.IntInput, "start": 1, "end": 4096},
    "grid_cols": {"type": pn.widgets.IntInput, "start": 1, "end": 4096},
}




def save_as(filename):
    """A HoloViews hook naming the PNG that a plot's save tool downloads (``filename.png``)."""
    def hook(plot, element):
        from bokeh.models import SaveTool
        for tool in plot.state.select({"type": SaveTool}):
            tool.filename = filename
    return hook


def download(label, filename, content):
    """A download button whose file is made by ``content()`` (str or bytes) when clicked."""
    def callback():
        data = content()
        return io.BytesIO(data) if isinstance(data, bytes) else io.StringIO(data)
    return pn.widgets.FileDownload(callback=callback, filename=filename, label=label,
                                   button_type="light", width=190, height=34)


class SimulateView(pn.viewable.Viewer):
    """Controls, the live lattice, traces, correlation functions, kernel averages and readouts."""

    store = param.Parameter(doc="The session's SessionStore.")

    def __init__(self, **params):
        super().__init__(**params)
        store = self.store
        self.raster = LiveRaster("Field snapshot: dark = spike (s = +1)", "neurolattice-snapshot")
        self.raster.update(store.sampler.snapshot())
        self._trace_buffer = hv.streams.Buffer(
            {"sweep": np.zeros(0), "energy": np.zeros(0), "magnetization": np.zeros(0)},
            length=2000, index=False)
        self._correlation_pipe = hv.streams.Pipe(data=None)
        self._kernel_pipe = hv.streams.Pipe(data=None)
        self._last_sweep_drawn = -1
        self._drawn_products = {}
        self._frames = 0
        self._last_trace_sweep = 0
        self._frame_times = []
        self.readout = pn.pane.HTML("", sizing_mode="stretch_width", css_classes=["nl-readout"])
        self.alert = pn.pane.Alert("", visible=False, sizing_mode="stretch_width")
        store.param.watch(self._on_message, ["message"])
        self.preset_note = pn.pane.Markdown(PRESETS[store.preset][0], css_classes=["nl-note"])
        store.param.watch(self._on_preset, "preset")
        self._callback = None

    # ------------------------------------------------------------------ plots
    _PLOT_OPTS = dict(responsive=True, height=250, show_grid=True, toolbar="above", framewise=True,
                      default_tools=["save", "pan", "wheel_zoom", "reset"])

    def _energy_trace(self, data):
        return hv.Curve(data, "sweep", ("energy", "energy per site")).opts(
            color="#1f77b4", title="Energy per site (replica 1)", xlabel="sweep",
            hooks=[save_as("neurolattice-energy")], **self._PLOT_OPTS)

    def _magnetization_trace(self, data):
        return hv.Curve(data, "sweep", ("magnetization", "magnetisation m")).opts(
            color="#d62728", ylim=(-1.05, 1.05), title="Magnetisation m (replica 1)",
            xlabel="sweep", hooks=[save_as("neurolattice-magnetisation")], **self._PLOT_OPTS)

    def _temporal_correlation(self, data):
        # Always the same two layers: a DynamicMap's overlays must keep their structure.
        axes = (("lag", "lag τ (ticks)"), ("C", "connected C(τ)"))
        measured = exact = np.zeros(0)
        title = "Temporal correlation C(τ): waiting for the first frame"
        if data is not None:
            measured = data["temporal_correlation"]
            title = "Temporal correlation C(τ)"
            if data["exact_temporal_correlation"] is not None:
                exact = data["exact_temporal_correlation"]
                title += " with the exact independent-chain result"
        return (hv.Curve((np.arange(len(measured)), measured), *axes, label="measured").opts(
                    color="#1f77b4")
                * hv.Curve((np.arange(len(exact)), exact), *axes, label="exact").opts(
                    color="#ff7f0e", line_dash="dashed")).opts(
            title=title, legend_position="top_right",
            hooks=[save_as("neurolattice-temporal-correlation")], **self._PLOT_OPTS)

    def _spatial_correlation(self, data):
        axes = (("r", "distance r (neurons)"), ("C", "connected C(r)"))
        if data is None or data["spatial_correlation"] is None:
            title = ("C(r): waiting for the first frame" if data is None
                     else "C(r) needs ring or grid connectivity")
            return hv.Curve([], *axes).opts(title=title, **self._PLOT_OPTS)
        c_r = data["spatial_correlation"]
        return hv.Curve((np.arange(len(c_r)), c_r), *axes).opts(
            color="#2ca02c", title="Spatial correlation C(r)",
            hooks=[save_as("neurolattice-spatial-correlation")], **self._PLOT_OPTS)

    def _kernel(self, data):
        axes = (("q", "quantile"), ("m", "magnetisation"))
        rows = cols = np.zeros(0)
        title = "Kernel spectra: waiting for the first frame"
        if data is not None:
            rows, cols = np.sort(data["row_average"]), np.sort(data["column_average"])
            title = "Kernel spectra: sorted averages per neuron (μ_i) and per tick (ν_t)"
        return (hv.Curve((np.linspace(0, 1, len(rows)), rows), *axes, label="neurons μ_i")
                * hv.Curve((np.linspace(0, 1, len(cols)), cols), *axes, label="ticks ν_t")).opts(
            title=title, ylim=(-1.05, 1.05), legend_position="bottom_right",
            hooks=[save_as("neurolattice-kernel-spectra")], **self._PLOT_OPTS)

    # ------------------------------------------------------------------ frames
    def _on_frame(self):
        """Draw the latest snapshot; the statistics plots every STATS_EVERY-th frame."""
        sampler = self.store.sampler
        frame = sampler.latest_frame()
        if frame["sweep"] != self._last_sweep_drawn:
            self._last_sweep_drawn = frame["sweep"]
            self.raster.update(sampler.snapshot())
            now = time.perf_counter()
            self._frame_times = [t for t in self._frame_times if now - t < 2.0] + [now]
        if self._frames % STATS_EVERY == 0:
            group = (self._frames // STATS_EVERY) % 3
            if group == 0:
                self._draw_traces(sampler)
            else:
                self._draw_products(frame["products"], group)
        self._frames += 1
        self._update_readout(frame)

    def _draw_products(self, products, group):
        """Group 1: the correlation functions; group 2: the kernel spectra (new analyses only)."""
        if not products or products is self._drawn_products.get(group):
            return
        self._drawn_products[group] = products
        (self._correlation_pipe if group == 1 else self._kernel_pipe).send(products)

    def _draw_traces(self, sampler):
        history = sampler.history()
        new = history["sweep"] > self._last_trace_sweep
        if new.any():
            self._last_trace_sweep = int(history["sweep"][new][-1])
            self._trace_buffer.send({"sweep": history["sweep"][new].astype(float),
                                     "energy": history["energy_per_site"][new, 0],
                                     "magnetization": history["magnetization"][new, 0]})
        elif history["sweep"].size and history["sweep"][-1] < self._last_trace_sweep:
            self._trace_buffer.clear()  # the engine was reset
            self._last_trace_sweep = 0

    def _update_readout(self, frame):
        sampler = self.store.sampler
        progress = sampler.progress()
        model = sampler.model
        fps = max(len(self._frame_times) - 1, 0) / 2.0
        theta_c = model.critical_temperature()
        where = (f"θ/θ<sub>c</sub> = {model.temperature / theta_c:.3f}" if theta_c
                 else "θ<sub>c</sub>: no exact result for these couplings")
        state = ("paused" if progress["paused"] else
                 "running" if progress["running"] else "stopped")
        abs_m = frame["products"].get("abs_magnetization", float("nan"))
        self.readout.object = (
            f"<b>{state}</b> · path: {progress['path']} · sweeps {progress['sweeps']:,} · "
            f"{progress['sweeps_per_second']:.1f} sweeps/s · "
            f"{progress['flips_per_ns']:.2f} flips/ns · {fps:.0f} frames/s · "
            f"acceptance {progress['acceptance']:.2f} · |m| {abs_m:.3f}"
            f" · {where}<br><span class='nl-muted'>{model.describe()}</span>")

    def _on_message(self, event):
        store = self.store
        self.alert.alert_type = {"error": "danger", "warning": "warning"}.get(
            store.message_level, "info")
        self.alert.object = store.message
        self.alert.visible = bool(store.message)

    def _on_preset(self, event):
        self.preset_note.object = PRESETS[event.new][0]

    def start_frames(self):
        """Start pulling frames (called once the page is loaded)."""
        if self._callback is None:
            self._callback = pn.state.add_periodic_callback(self._on_frame, FRAME_PERIOD_MS)
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
        play = pn.widgets.Button(name="▶ Play", button_type="primary", width=72)
        pause = pn.widgets.Button(name="Pause", width=72)
        step = pn.widgets.Button(name="Step", width=66)
        reset = pn.widgets.Button(name="Reset", button_type="warning", width=66)
        play.on_click(lambda _: store.play())
        pause.on_click(lambda _: store.pause())
        step.on_click(lambda _: store.step())
        reset.on_click(lambda _: store.reset())
        engine = pn.Param(store, parameters=["preset", "algorithm", "sweeps_per_frame"],
                          show_name=False, widgets={"sweeps_per_frame": {
                              "type": pn.widgets.IntSlider, "throttled": True}})
        model = pn.Column(self._model_widgets(), sizing_mode="stretch_width")

        def rebuild(event):
            model[:] = [self._model_widgets()]

        store.controls.param.watch(rebuild, "connectivity")
        return pn.Column(engine, self.preset_note, pn.Row(play, pause, step, reset),
                         pn.pane.Markdown("#### Model"), model, width=330)

    def _model_widgets(self):
        controls = self.store.controls
        return pn.Param(controls, parameters=visible_controls(controls.connectivity),
                        widgets=_WIDGETS, show_name=False, sizing_mode="stretch_width")

    def exports(self):
        """Download buttons for the data behind the plots (PNG: each plot's save tool)."""
        store = self.store

        def query():
            location = pn.state.location
            return location.search if location is not None else ""
        return pn.Row(
            download("Parameters (JSON)", "neurolattice-parameters.json",
                     lambda: export.parameters_json(store, query())),
            download("Snapshot (NPZ)", "neurolattice-snapshot.npz",
                     lambda: export.snapshot_npz(store)),
            download("Traces (CSV)", "neurolattice-traces.csv", lambda: export.traces_csv(store)),
            download("Correlations (CSV)", "neurolattice-correlations.csv",
                     lambda: export.correlations_csv(store)),
            pn.pane.HTML("<span class='nl-muted'>PNG: the save tool of each plot's "
                         "toolbar</span>", margin=(12, 5)),
            sizing_mode="stretch_width")

    def plots(self):
        """The live plots, each its own pane fed by a stream (never rebuilt per frame)."""
        def pane(callback, stream):
            return pn.pane.HoloViews(hv.DynamicMap(callback, streams=[stream]),
                                     sizing_mode="stretch_width", linked_axes=False)
        return pn.Column(
            self.alert, self.readout, self.exports(), self.raster.pane,
            pn.Row(pane(self._energy_trace, self._trace_buffer),
                   pane(self._magnetization_trace, self._trace_buffer),
                   sizing_mode="stretch_width"),
            pn.Row(pane(self._temporal_correlation, self._correlation_pipe),
                   pane(self._spatial_correlation, self._correlation_pipe),
                   sizing_mode="stretch_width"),
            pane(self._kernel, self._kernel_pipe),
            sizing_mode="stretch_width")

    def __panel__(self):
        return pn.Row(self.controls(), self.plots(), sizing_mode="stretch_width")
