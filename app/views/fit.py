"""The Fit view: fit the loaded recording, then compare the fit with the data it must reproduce."""

import io
import json
import time

import numpy as np
import panel as pn
import param

from ..outbox import start_periodic
from .holoviews_backend import MEAN_SPIN, hv
from .raster import SPIKE_COLOURS, pooled_image

_OPTS = dict(responsive=True, height=280, show_grid=True, toolbar="above", framewise=True,
             default_tools=["save", "pan", "wheel_zoom", "reset"])
_METRICS = (("rate_corr", "firing rates: correlation"),
            ("corr_corr", "equal-time c_ij: correlation"),
            ("lag1_corr", "lag-1 D_ij: correlation"),
            ("pk_w1", "P(k): W1 distance (lower is better)"),
            ("heldout_pll", "held-out pseudo-log-likelihood per sample"))


def _page_words(warning):
    """A fit warning with the page's controls for the library's argument names."""
    return warning.replace("(drop_units)", "(the Recording tab's 'Units left out' box)")


#: The summary when there is no fit of the recording shown (none yet, or the recording
#: changed since: new file, binning or units left out).
NO_FIT = ("<i>Fit the loaded recording to compare the model with the data (a fit is cleared "
          "when the recording, its binning or its units change).</i>")


def _scatter(arrays, key, label):
    """Predicted vs observed with the identity line, for the model and the independent model."""
    observed = np.ravel(arrays[key]["data"])
    finite = np.isfinite(observed)
    lo = float(np.nanmin(observed)) if finite.any() else 0.0
    hi = float(np.nanmax(observed)) if finite.any() else 1.0
    axes = (("observed", f"observed {label}"), ("predicted", f"predicted {label}"))
    return (hv.Curve([(lo, lo), (hi, hi)], *axes, label="identity").opts(
                color="#888", line_dash="dashed")
            * hv.Scatter((observed, np.ravel(arrays[key]["independent"])), *axes,
                         label="independent").opts(color="#bbbbbb", size=4)
            * hv.Scatter((observed, np.ravel(arrays[key]["model"])), *axes,
                         label="fit").opts(color="#1f77b4", size=5)).opts(
        title=f"{label[:1].upper()}{label[1:]}: fit vs held-out data", legend_position="right",
        padding=0.05, **_OPTS)


class FitView(pn.viewable.Viewer):
    """Model and method choice, a progress bar with cancel, and the fitted-vs-recorded plots."""

    store = param.Parameter(doc="The session's SessionStore.")

    def __init__(self, **params):
        super().__init__(**params)
        fit_state = self.store.fit
        self.progress = pn.indicators.Progress(active=False, value=-1, visible=False,
                                               sizing_mode="stretch_width", bar_color="primary")
        self.elapsed = pn.pane.Markdown("")
        self.message = pn.pane.Alert("", alert_type="danger", visible=False,
                                     sizing_mode="stretch_width")
        self.summary = pn.pane.HTML(NO_FIT, sizing_mode="stretch_width")
        self._ticker = None
        fit_state.param.watch(self._on_status, ["status", "version"])
        self._on_status()

    def _on_status(self, *events):
        state = self.store.fit
        running = state.status == "running"
        self._run_ticker(running)
        self.progress.visible = self.progress.active = running
        self.message.visible = state.status == "error"
        self.message.object = f"**The fit could not be done.** {state.error}"
        if state.status == "cancelled":
            self.elapsed.object = "Fit cancelled: its result will be discarded."
        if state.status == "done" and state.result is not None:
            self.summary.object = self._summary_html(state.result)
            self.elapsed.object = f"Done in {state.result.seconds:.2f} s."
        if state.status == "idle" and state.result is None:   # none yet, or forgotten
            self.summary.object = NO_FIT
            self.elapsed.object = ""

    def _tick(self):
        state = self.store.fit
        if state.status == "running":
            self.elapsed.object = f"Fitting… {time.perf_counter() - state.started_at:.1f} s"

    def _run_ticker(self, running):
        """Update the elapsed-time readout twice a second while a fit runs."""
        if running and self._ticker is None and pn.state.curdoc is not None:
            self._ticker = start_periodic(self._tick, 500)
        elif not running and self._ticker is not None:
            self._ticker.stop()
            self._ticker = None

    def _summary_html(self, result):
        v = result.validation or {}
        flags = [("converged", result.converged),
                 ("validated on held-out data", bool(result.diagnostics.get("validated"))),
                 ("its samples reproduce the held-out data", bool(v.get("reproduces")))]
        head = (f"<b>{result.model}</b> fitted by <b>{result.method}</b> on {result.n_units} "
                f"units, {result.n_samples:,} samples ({result.n_heldout:,} held out), "
                f"{result.seconds:.2f} s. " + " · ".join(
                    f"{name}: {'yes' if ok else '<b style=color:#b00>no</b>'}"
                    for name, ok in flags))
        columns = [c for c in ("model", "maxent", "independent") if c in v]
        rows = "".join(
            f"<tr><th>{label}</th>" + "".join(
                f"<td>{v[c].get(key, float('nan')):.4g}</td>" for c in columns) + "</tr>"
            for key, label in _METRICS)
        table = ("<table class='nl-table'><tr><th>held-out statistic</th>"
                 + "".join(f"<th>{'fit' if c == 'model' else c}</th>" for c in columns)
                 + f"</tr>{rows}</table>") if columns else ""
        warnings = "".join(f"<li>{_page_words(w)}</li>" for w in result.warnings)
        return head + table + (f"<h4>Warnings</h4><ul>{warnings}</ul>" if warnings else "")

    @param.depends("store.fit.version")
    def comparison(self):
        """Scatter plots, P(k), patterns, spectra and the parameter maps of the latest fit."""
        result = self.store.fit.result
        if result is None or not result.validation:
            return pn.pane.Markdown("")
        arrays = result.validation["arrays"]
        pk = arrays["pk"]
        k = np.arange(len(pk["data"]))
        observed = np.asarray(pk["data"])
        floor = observed[observed > 0].min() / 20 if (observed > 0).any() else 1e-6
        pk_plot = hv.Overlay([hv.Curve((k, np.where(pk[name] > 0, pk[name], np.nan)),
                                       ("k", "units spiking in a bin, k"), ("P", "P(k)"),
                                       label=label).opts(color=colour)
                              for name, label, colour in (("data", "held-out data", "#111"),
                                                          ("model", "fit", "#1f77b4"),
                                                          ("independent", "independent",
                                                           "#bbbbbb"))]).opts(
            logy=True, ylim=(floor, 1.5), title="Population count P(k)",
            legend_position="top_right", **_OPTS)
        patterns = arrays["patterns"]
        floor = 1e-6
        pat = (hv.Curve([(floor, floor), (1, 1)], ("observed", "observed frequency"),
                        ("predicted", "predicted frequency")).opts(color="#888", line_dash="dashed")
               * hv.Scatter((np.maximum(patterns["data"], floor),
                             np.maximum(patterns["model"], floor)),
                            ("observed", "observed frequency"),
                            ("predicted", "predicted frequency")).opts(size=6)).opts(
            logx=True, logy=True, title="Most common patterns: frequency", **_OPTS)
        spectra = hv.Overlay([hv.Curve((np.linspace(0, 1, len(arrays[key][name])),
                                        np.sort(arrays[key][name])), ("q", "quantile"),
                                       MEAN_SPIN, label=f"{label} ({who})").opts(
            color=colour, line_dash=dash)   # colour: which average; dash: data or fit
            for key, label, colour in (("mu_spectrum", "μ_i", "#1f77b4"),
                                       ("nu_spectrum", "ν_t", "#d62728"))
            for name, who, dash in (("data", "data", "solid"), ("model", "fit", "dashed"))]).opts(
            title="Kernel spectra: data vs fit", legend_position="top_left", **_OPTS)
        J = np.array(result.J, dtype=float)
        off = J[~np.eye(len(J), dtype=bool)]
        limit = float(np.nanmax(np.abs(off))) if off.size else 1.0
        heat = hv.Image(J[::-1], bounds=(0, 0, len(J), len(J)),
                        kdims=["kept unit j (numbered among the kept)", "kept unit i"],
                        vdims=[hv.Dimension("J", range=(-limit, limit))]).opts(
            cmap="RdBu_r", colorbar=True, responsive=True, height=300,
            title="Fitted couplings J_ij", default_tools=["save", "pan", "wheel_zoom", "reset"])
        hists = [hv.Histogram(np.histogram(values, bins=30), kdims=[name], vdims=["count"])
                 .opts(title=f"Fitted {name}", **_OPTS)
                 for name, values in (("h_i", result.h), ("J_ij", off),
                                      ("K_i", result.K if result.K is not None else []))
                 if len(values)]
        plots = [_scatter(arrays, "rates", "spike probability"),
                 _scatter(arrays, "corr", "c_ij"), _scatter(arrays, "lag1", "lag-1 D_ij"),
                 pk_plot, pat, spectra, heat, *hists]
        panes = [pn.pane.HoloViews(p, sizing_mode="stretch_width", linked_axes=False)
                 for p in plots]
        return pn.GridBox(*panes, ncols=2, sizing_mode="stretch_width")

    def controls(self):
        """Model and method, Fit / Cancel, Simulate this fit."""
        store = self.store
        run = pn.widgets.Button(label="Fit", color="primary", width=90)
        cancel = pn.widgets.Button(label="Cancel", width=90)
        simulate = pn.widgets.Button(label="Simulate this fit", color="success", width=150)
        run.on_click(lambda _: store.fit.start(store.recording))
        cancel.on_click(lambda _: store.fit.cancel())
        simulate.on_click(lambda _: store.simulate_fit())
        settings = pn.Param(store.fit, parameters=["model", "method", "holdout", "drive"],
                            show_name=False)

        def fit_json():
            from neurolattice_core.fitting.io import fit_to_json
            return io.StringIO(json.dumps(fit_to_json(store.fit.result)))   # enabled with a fit
        download = pn.widgets.FileDownload(callback=fit_json, filename="neurolattice-fit.json",
                                           label="Download the fit (JSON)", width=220)

        def enable_with_a_fit(*_):
            simulate.disabled = download.disabled = store.fit.result is None

        store.fit.param.watch(enable_with_a_fit, "version")
        enable_with_a_fit()
        return pn.Column(pn.pane.Markdown("#### Fit the loaded recording"), settings,
                         pn.Row(run, cancel), self.progress, self.elapsed, simulate, download,
                         pn.pane.Markdown("Simulating loads the fitted action into the engine "
                                          "(Simulate tab); the raster below then shows a "
                                          "simulated trial beside a recorded one."), width=330)

    @param.depends("store.fit.version", "store.recording.version")
    def rasters(self):
        """A recorded trial beside a simulated one (when the engine runs the fit)."""
        binned = self.store.recording.binned
        if binned is None:
            return pn.pane.Markdown("")
        units = self.store.recording.kept_units()
        recorded = binned.binary[0][units] > 0

        def image(spikes, title):   # a tick of the fitted model is a bin of the recording
            pooled, (_, per_column) = pooled_image(spikes)
            data = pooled.astype(np.float32) * 2 - 1
            n, columns = data.shape
            seconds = columns * per_column * binned.bin_s
            if per_column > 1:
                title += f" ({per_column} bins per pixel)"
            return hv.Image(data[::-1], bounds=(0, 0, seconds, n), kdims=["time", "unit"],
                            vdims=[hv.Dimension("s", range=(-1, 1))]).opts(
                cmap=SPIKE_COLOURS, responsive=True, height=260, title=title,
                xlabel=f"time in trial (s; ticks of {binned.bin_s * 1000:g} ms)",
                ylabel="kept unit (numbered among the kept)",
                colorbar=False,
                default_tools=["save", "pan", "wheel_zoom", "reset"])
        plots = [image(recorded, "Recorded trial 1 (kept units)")]
        sampler = self.store.sampler
        if getattr(self.store, "simulating_fit", False) and \
                sampler.model.neurons == recorded.shape[0]:
            plots.append(image(sampler.snapshot() > 0,
                               f"Simulated by the fit (sweep {sampler.sweeps_done})"))
        return pn.Row(*[pn.pane.HoloViews(p, sizing_mode="stretch_width", linked_axes=False)
                        for p in plots],
                      sizing_mode="stretch_width")

    def __panel__(self):
        return pn.Row(self.controls(),
                      pn.Column(self.message, self.summary, self.rasters, self.comparison,
                                sizing_mode="stretch_width"), sizing_mode="stretch_width")
