"""The Recording view: load a sample or an upload, bin it, read its quality and observables."""

import numpy as np
import panel as pn
import param

from .. import export
from ..recording_state import MAX_UPLOAD_MB
from .holoviews_backend import MEAN_SPIN, hv
from .raster import SPIKE_COLOURS, pooled_image
from .simulate import download

LEFT_OUT_COLOUR = "#d8c99b"   # the raster rows of units left out (between silent and spike)
LAGS_SHOWN = 250              # lags of C(τ) in view at first (long trials: the decay is short)


def _filepond_css():
    """FilePond's stylesheet from Panel's bundle, applied inside the widget's shadow root.

    Panel adds it to the page head only, where it cannot style the widget (and the CDN copy is
    unreachable offline).
    """
    from pathlib import Path
    bundle = Path(pn.__file__).parent / "dist" / "bundled" / "filedropper"
    path = bundle / "filepond@^4" / "dist" / "filepond.css"
    return [path.read_text()] if path.exists() else []
_OPTS = dict(responsive=True, height=260, show_grid=True, toolbar="above", framewise=True,
             default_tools=["save", "pan", "wheel_zoom", "reset"])


def _per_unit_bars(units, values, vdim):
    """One bar per kept unit at its position; left-out units leave a gap.

    A numeric axis, whose ticks stay readable for any number of units (a categorical one labels
    every unit). ``units`` (n,): kept positions; ``values`` (n,).
    """
    units = np.asarray(units, dtype=np.int64)
    heights = np.full(int(units.max()) + 1 if units.size else 0, np.nan)
    heights[units] = values
    edges = np.arange(heights.size + 1) - 0.5
    return hv.Histogram((edges, heights), kdims=[("unit", "unit (position)")], vdims=[vdim]
                        ).opts(tools=["hover"], line_color="white", line_width=0.5)


def _per_unit_matrix(units, matrix):
    """A kept-units matrix (n, n) at the units' positions (M, M), M = last position + 1.

    Left-out units and the diagonal are NaN (blank), as the bars of :func:`_per_unit_bars`.
    """
    units = np.asarray(units, dtype=np.int64)
    size = int(units.max()) + 1 if units.size else 0
    full = np.full((size, size), np.nan)
    full[np.ix_(units, units)] = matrix
    np.fill_diagonal(full, np.nan)
    return full


class RecordingView(pn.viewable.Viewer):
    """Controls on the left; summary, quality report and recorded observables on the right."""

    state = param.Parameter(doc="The session's RecordingState.")
    trial = param.Integer(0, bounds=(0, None), doc="Trial shown in the raster.")

    def __init__(self, **params):
        super().__init__(**params)
        self.summary = pn.pane.HTML("<i>No recording loaded yet.</i>", sizing_mode="stretch_width",
                                    css_classes=["nl-summary"])
        self.message = pn.pane.Alert("", alert_type="danger", visible=False,
                                     sizing_mode="stretch_width")
        self.exclusions = pn.widgets.MultiChoice(label="Units left out (positions)", options=[],
                                                 sizing_mode="stretch_width")
        self.exclusions.param.watch(self._on_exclusions, "value")
        # numbered from 1, as in the raster's title ("trial 1 of 30"); ``trial`` is the index
        self.trial_slider = pn.widgets.IntSlider(label="Trial", start=1, end=2, value=1,
                                                 sizing_mode="stretch_width")
        self.trial_slider.param.watch(lambda event: setattr(self, "trial", event.new - 1),
                                      "value")
        self.uploader = self._new_uploader()
        self._uploader_slot = pn.Column(self.uploader, margin=0, sizing_mode="stretch_width")
        self._checking_upload = False
        self._updating = False
        self.state.param.watch(self._on_state, ["status", "version"])
        self._on_state()  # the view may be built after the recording loaded

    def _new_uploader(self):
        # No client-side type filter: browsers know no MIME type for .mat or .nwb; the server
        # detects the format from the content and explains what it expected.
        uploader = pn.widgets.FileDropper(multiple=False, stylesheets=_filepond_css(),
                                          max_file_size=f"{MAX_UPLOAD_MB}MB",
                                          chunk_size=4_000_000, height=110,
                                          sizing_mode="stretch_width")
        uploader.param.watch(self._on_upload, "value")
        return uploader

    # ------------------------------------------------------------------ events
    def _on_upload(self, event):
        if not event.new:
            return
        filename, data = next(iter(event.new.items()))
        self._checking_upload = True
        self.state.load_upload(filename, data)

    def _fresh_drop_area(self):
        """Put a fresh drop area in the page (after a refused upload, or a sample loaded).

        FilePond would go on showing the file as "Upload complete" (it only knows that the
        bytes arrived), next to another recording or none.
        """
        self.uploader = self._new_uploader()
        self._uploader_slot.objects = [self.uploader]

    def load_sample(self):
        """Load the chosen sample; the drop area forgets the last upload."""
        if self.uploader.value:
            self._fresh_drop_area()
        self.state.load_sample()

    def _on_exclusions(self, event):
        if not self._updating:
            self.state.set_exclusions(event.new)

    def _on_state(self, *events):
        state = self.state
        if state.status in ("error", "ready") and self._checking_upload:
            self._checking_upload = False
            if state.status == "error":
                self._fresh_drop_area()
        if state.status == "error":
            state.restore_binning()   # the boxes show the settings of the recording shown
            text = (f"Could not load or bin the recording: {state.error.rstrip('.')}. "
                    "The previous recording, if any, is kept, with its binning settings.")
            self.message.object = f"**{text}**"
            self.message.visible = True
            if pn.state.notifications is not None:   # the message may be below the fold
                pn.state.notifications.error(text, duration=8000)
            return
        self.message.visible = False
        if state.status != "ready" or state.binned is None:
            return
        binned, quality = state.binned, state.quality
        self._updating = True
        try:
            self.exclusions.options = list(range(binned.shape[1]))
            self.exclusions.value = list(state.excluded_units)
        finally:
            self._updating = False
        self.trial_slider.end = max(binned.shape[0], 2)
        self.trial_slider.disabled = binned.shape[0] < 2
        self.summary.object = self._summary_html(binned, quality)
        self.param.trigger("trial")

    def _summary_html(self, binned, quality):
        r, n, t = binned.shape
        left_out = len(self.state.excluded_units)
        units = f"{n} ({left_out} left out of the observables and fits)" if left_out else n
        rows = [("source", self.state.source_label), ("units", units), ("trials", r),
                ("bin width", f"{binned.bin_s * 1000:g} ms"
                              + (" (assumed: the file does not store it)"
                                 if self.state.bin_width_note else "")),
                ("ticks per trial", t),
                ("window", f"{binned.window_s[0]:g} to {binned.window_s[1]:g} s"),
                ("mean rate", f"{np.nanmean(quality.rates_hz):.2f} Hz"),
                ("multi-spike bins", f"{100 * binned.multi_spike_fraction:.1f} %"),
                ("mean pairwise correlation (all units)", f"{quality.mean_correlation:.3f}")]
        table = "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows)
        assumed = (self.state.bin_width_note,) if self.state.bin_width_note else ()
        warnings = "".join(f"<li>{w}</li>"
                           for w in (*assumed, *binned.warnings, *quality.warnings))
        proposals = "".join(f"<li>unit {i}: {why}</li>" for i, why in quality.proposed_exclusions)
        html = f"<table class='nl-table'>{table}</table>"
        if warnings:
            html += f"<h4>Warnings</h4><ul>{warnings}</ul>"
        if proposals:
            html += ("<h4>Proposed exclusions</h4><p>Apply them with the 'Units left out' box "
                     f"(you decide):</p><ul>{proposals}</ul>")
        return html

    # ------------------------------------------------------------------ plots
    @param.depends("trial", "state.version")
    def raster(self):
        """The binned raster of one trial (units x ticks)."""
        binned = self.state.binned
        if binned is None:
            return pn.pane.Markdown("Load a recording to see its trial rasters.")
        trial = min(self.trial, binned.shape[0] - 1)
        spikes, (_, per_column) = pooled_image(binned.binary[trial] > 0)
        data = spikes.astype(np.float32) * 2 - 1
        left_out = self.state.excluded_units
        data[left_out] = 0   # shaded: the units left out of the observables and fits
        n, columns = data.shape
        start = float(binned.window_s[0])   # the window, as the summary gives it
        seconds = columns * per_column * binned.bin_s
        pooling = f", {per_column} bins per pixel" if per_column > 1 else ""
        # unit i spans i - 0.5 .. i + 0.5, as in the per-unit bars and the correlation matrix
        image = hv.Image(data[::-1], bounds=(start, -0.5, start + seconds, n - 0.5),
                         kdims=["time", "unit"],
                         vdims=[hv.Dimension("spike", range=(-1, 1))])
        shaded = "; left-out units shaded" if left_out else ""
        return image.opts(cmap=[SPIKE_COLOURS[0], LEFT_OUT_COLOUR, SPIKE_COLOURS[1]],
                          colorbar=False, responsive=True, height=320,
                          xlabel="time in trial (s)", ylabel="unit (position)",
                          title=f"Recorded raster, trial {trial + 1} of {binned.shape[0]} "
                                f"({binned.bin_s * 1000:g} ms bins{pooling}; dark = spike"
                                f"{shaded})",
                          default_tools=["save", "pan", "wheel_zoom", "reset"])

    @param.depends("state.version")
    def observables(self):
        """Rates, P(k), C(tau), kernel spectra, correlation matrix and stationarity."""
        d = self.state.described
        if d is None:
            return pn.pane.Markdown("")
        units = d["units"]
        rates = _per_unit_bars(units, d["rates_hz"], ("rate", "rate (Hz)")).opts(
            title="Firing rate per unit", **_OPTS)
        pk = d["population_count_distribution"]
        k = np.arange(len(pk))
        pk_plot = hv.Curve((k, np.where(pk > 0, pk, np.nan)), ("k", "units spiking in a bin, k"),
                           ("P", "P(k)")).opts(logy=True, title="Population count P(k)",
                                               color="#6a3d9a", **_OPTS)
        c_tau = d["temporal_correlation"]
        lag_s = np.arange(len(c_tau)) * self.state.binned.bin_s
        shown = "" if len(c_tau) <= LAGS_SHOWN else f", first {LAGS_SHOWN} lags (pan for more)"
        ctau_plot = hv.Curve((lag_s, c_tau), ("lag", "lag (s)"), ("C", "connected C(τ)")).opts(
            title=f"C(τ) pooled over units{shown}",
            xlim=(0, lag_s[min(len(c_tau), LAGS_SHOWN) - 1]) if len(c_tau) else (None, None),
            **_OPTS)
        rows, cols = np.sort(d["row_average"]), np.sort(d["column_average"])
        spectra = (hv.Curve((np.linspace(0, 1, len(rows)), rows), ("q", "quantile"),
                            MEAN_SPIN, label="units μ_i")
                   * hv.Curve((np.linspace(0, 1, len(cols)), cols), ("q", "quantile"),
                              MEAN_SPIN, label="ticks ν_t")).opts(
            title="Kernel spectra (trial-averaged)", legend_position="top_left", **_OPTS)
        corr = _per_unit_matrix(units, d["correlation"])
        size = len(corr)
        heat = hv.Image(corr[::-1], bounds=(-0.5, -0.5, size - 0.5, size - 0.5),
                        kdims=[("j", "unit j (position)"), ("i", "unit i (position)")],
                        vdims=[hv.Dimension("r", range=(-1, 1))]).opts(
            cmap="RdBu_r", colorbar=True, clim=(-0.5, 0.5), responsive=True, height=320,
            clabel="Pearson r",
            title="Equal-time correlation c_ij (Pearson)",
            default_tools=["save", "pan", "wheel_zoom", "reset"])
        stationary = ("Stationarity S_i (≈1: stationary; >1: locked to trials)"
                      if np.isfinite(d["stationarity"]).any() else
                      "Stationarity S_i: needs 2 trials or more")
        stationarity = _per_unit_bars(units, d["stationarity"], ("S", "stationarity S_i")).opts(
            title=stationary,
            **_OPTS)
        pane = dict(sizing_mode="stretch_width", linked_axes=False)
        return pn.Column(pn.Row(pn.pane.HoloViews(rates, **pane),
                                pn.pane.HoloViews(pk_plot, **pane)),
                         pn.Row(pn.pane.HoloViews(ctau_plot, **pane),
                                pn.pane.HoloViews(spectra, **pane)),
                         pn.Row(pn.pane.HoloViews(heat, **pane),
                                pn.pane.HoloViews(stationarity, **pane)),
                         sizing_mode="stretch_width")

    @param.depends("state.status")
    def _status(self):
        state = self.state
        if state.status == "loading":
            return pn.indicators.LoadingSpinner(value=True, size=24, name="Loading…")
        return pn.pane.Markdown(f"**Loaded:** {state.source_label}" if state.source_label
                                else "")

    # ------------------------------------------------------------------ layout
    def controls(self):
        """Sample picker, uploader, binning and exclusions."""
        state = self.state
        load = pn.widgets.Button(label="Load sample", color="primary")
        load.on_click(lambda _: self.load_sample())
        # no bounds in the browser (it ignores a value outside them while showing it): a
        # refused width reaches the server, which says why and sets the box back
        # (app.rejected_input)
        binning = pn.Param(state.binning, parameters=["bin_ms", "window_start_s",
                                                      "window_stop_s", "align"],
                           show_name=False, widgets={
                               "bin_ms": {"type": pn.widgets.FloatInput, "start": None,
                                          "end": None, "step": 1.0},
                               "window_start_s": {"type": pn.widgets.FloatInput,
                                                  "placeholder": "whole trial"},
                               "window_stop_s": {"type": pn.widgets.FloatInput,
                                                 "placeholder": "whole trial"},
                               "align": {"type": pn.widgets.TextInput,
                                         "placeholder": "trial start"}})
        return pn.Column(
            pn.pane.Markdown("#### Recording"),
            pn.Param(state, parameters=["sample"], show_name=False), load,
            pn.pane.Markdown(f"…or drop a file here (NWB, Kilosort/Phy zip, MAT, NPZ, CSV; "
                             f"at most {MAX_UPLOAD_MB} MB):"),
            self._uploader_slot, self._status,
            pn.pane.Markdown("#### Binning"), binning,
            pn.pane.Markdown("#### Units"), self.exclusions,
            pn.pane.Markdown("#### Export"),
            download("Binned raster (NPZ)", "neurolattice-recording.npz",
                     lambda: export.recording_npz(state) or b""),
            download("Rates per unit (CSV)", "neurolattice-units.csv",
                     lambda: export.recording_units_csv(state) or ""), width=330)

    def __panel__(self):
        return pn.Row(
            self.controls(),
            pn.Column(self.message, self.summary, self.trial_slider, self.raster,
                      self.observables, sizing_mode="stretch_width"),
            sizing_mode="stretch_width")
