"""The "Renormalise & phases" view: RG flows of the recording and the (J/θ, K/θ) phase diagram.

The view only draws: the sweep, the flows, the critical lines and the recording's point come
from :class:`~app.phases_state.PhasesState` and the core.
"""

import numpy as np
import panel as pn
import param

from neurolattice_core import phases

from .holoviews_backend import hv

_TOOLS = ["save", "pan", "wheel_zoom", "reset"]
_OPTS = dict(responsive=True, height=290, show_grid=True, toolbar="above", framewise=True,
             default_tools=_TOOLS, legend_position="bottom", legend_cols=2)
OBSERVABLE_LABELS = {"abs_magnetization": "⟨|m|⟩ (mean |magnetisation|)",
                     "binder": "Binder cumulant U = 1 − ⟨m⁴⟩/(3⟨m²⟩²)",
                     "susceptibility": "susceptibility χ per site",
                     "q_ea": "q_EA = ⟨m_it²⟩ over the replicas (≈0 where they order oppositely)"}
X = hv.Dimension("J", label="J/θ (equal-time coupling)")
Y = hv.Dimension("K", label="K/θ (temporal coupling)")
LINE_COLOUR, POINT_COLOUR = "#e8362a", "#ff9f1c"


def _line_label(connectivity, ticks):
    if connectivity == "ring":
        return "critical line (E2): sinh(2J/θ)·sinh(2K/θ) = 1"
    return f"critical line (E5, T = {ticks}): (J/θ)·χ_T(K/θ) = 1"


def _bounds(values, extra):
    """(low, high) covering the grid cells and the extra points with their error bars."""
    step = (values[-1] - values[0]) / max(len(values) - 1, 1)
    low, high = values[0] - step / 2, values[-1] + step / 2
    for centre, err in extra:
        if np.isfinite(centre):
            e = err if np.isfinite(err) else 0.0
            low, high = min(low, centre - e - step / 2), max(high, centre + e + step / 2)
    return low, high


def phase_diagram(grid, settings, observable, point, trajectory, sweeping=False):
    """The heatmap of a sweep, the exact critical line, the recording and its flow (Overlay).

    ``grid`` is :func:`neurolattice_core.phases.sweep_grid` output or None (empty state: the
    axes of ``settings`` with the line and a hint, which says so while ``sweeping``). A grid
    with no finished point (all NaN) is drawn as the empty state too: HoloViews would find no
    colour range in it.
    """
    connectivity, ticks = settings["connectivity"], settings["ticks"]
    if grid is None:
        J = np.linspace(settings["J_min"], settings["J_max"], settings["J_points"])
        K = np.linspace(settings["K_min"], settings["K_max"], settings["K_points"])
    else:
        J, K = grid[0], grid[1]
    marks = trajectory + ([point] if point else [])
    x_range = _bounds(J, [(p["J"], p["J_err"]) for p in marks])
    y_range = _bounds(K, [(p["K"], p["K_err"]) for p in marks])
    vdim = hv.Dimension(observable, label=OBSERVABLE_LABELS[observable])
    if grid is None or not np.isfinite(grid[2]).any():  # the grid to be swept, in grey
        hint = ("Sweeping: each point is coloured when it is done" if sweeping else
                "No sweep yet: press ‘Run sweep’ to colour the grid" if grid is None else
                "No point of this sweep finished: press ‘Run sweep’ to colour the grid")
        base = hv.Image((J, K, np.zeros((len(K), len(J)))), kdims=[X, Y],
                        vdims=[vdim]).opts(cmap=["#eeeeee"], colorbar=False) * hv.Text(
            np.mean(x_range), np.mean(y_range), hint, fontsize=12, kdims=[X, Y])
    else:
        base = hv.Image((J, K, grid[2]), kdims=[X, Y], vdims=[vdim]).opts(
            cmap="viridis", colorbar=True, clabel=OBSERVABLE_LABELS[observable],
            tools=["hover"], clipping_colors={"NaN": "#dddddd"})
    k_line = np.linspace(max(y_range[0], 1e-3), y_range[1], 300)
    j_line = phases.critical_line(connectivity, k_line, 1.0,
                                  ticks if connectivity == "all-to-all" else None)
    inside = (j_line >= x_range[0]) & (j_line <= x_range[1])
    layers = [base, hv.Curve((j_line[inside], k_line[inside]), X, Y,
                             label=_line_label(connectivity, ticks)).opts(
        color=LINE_COLOUR, line_width=3, line_dash="dashed")]
    if len(trajectory) > 1:
        path = [(p["J"], p["K"]) for p in trajectory]
        layers += [hv.Curve(path, X, Y, label="recording's flow: Δ → bΔ").opts(
                       color="#333333", line_width=1.5),
                   hv.Scatter(path, X, Y).opts(color="#333333", size=5)]
    if point:
        label = (f"recording, {point['source']}: h/θ = {point['h']:.2f} "
                 "(diagram at h = 0)")
        layers += [hv.ErrorBars([(point["J"], point["K"], point["K_err"])], X, [Y, "K_err"])
                   .opts(color="black", line_width=2),
                   hv.ErrorBars([(point["J"], point["K"], point["J_err"])], X, [Y, "J_err"],
                                horizontal=True).opts(color="black", line_width=2),
                   hv.Scatter([(point["J"], point["K"])], X, Y, label=label).opts(
                       color=POINT_COLOUR, marker="diamond", size=16, line_color="black")]
    title = (f"Phase diagram: {connectivity} x time, N = {settings['neurons']}, "
             f"T = {settings['ticks']}, h = 0")
    return hv.Overlay(layers).opts(
        hv.opts.Overlay(title=title, xlim=x_range, ylim=y_range, responsive=True, height=520,
                        legend_position="bottom", toolbar="above"))


def _with_errors(x, y, err, xdim, ydim, label, colour, dash="solid"):
    return (hv.Curve((x, y), xdim, ydim, label=label).opts(color=colour, line_dash=dash)
            * hv.Scatter((x, y), xdim, ydim).opts(color=colour, size=6)
            * hv.ErrorBars((x, y, err), xdim, [ydim, "err"]).opts(color=colour))


def time_flow_plots(flow):
    """Fitted <J_ij>, <K_i> (with the exact chain curve) and <h_i> against the bin width."""
    x = hv.Dimension("bin_ms", label="bin width Δ (ms)")
    y = hv.Dimension("coupling", label="fitted coupling (θ = 1)")
    b = [e["bin_ms"] for e in flow]
    get = lambda key: np.array([np.nan if e[key] is None else e[key] for e in flow], float)  # noqa: E731
    couplings = (_with_errors(b, get("mean_J"), get("mean_J_err"), x, y, "⟨J_ij⟩", "#1f77b4")
                 * _with_errors(b, get("mean_K"), get("mean_K_err"), x, y, "⟨K_i⟩", "#2ca02c"))
    if "K_chain" in flow[0] and flow[0]["rule"] == "keep":   # exact for this rule only
        couplings = couplings * hv.Curve(
            (b, get("K_chain")), x, y,
            label="chain, J = h = 0 (keep rule): tanh(K'/θ) = tanh(K/θ)^b").opts(
            color="#d62728", line_dash="dashed", line_width=2)
    field = _with_errors(b, get("mean_h"), get("mean_h_err"), x,
                         hv.Dimension("field", label="fitted field ⟨h_i⟩ (θ = 1)"),
                         "⟨h_i⟩", "#9467bd")
    return (couplings.opts(title=f"Flow in time ({flow[0]['rule']!r} rule): couplings", **_OPTS),
            field.opts(title="Flow in time: field", **_OPTS))


def neuron_flow_plots(flow):
    """n<J_ij>, <K_i> and <h_i> against the subset size n (mean ± s.e. over random subsets)."""
    x = hv.Dimension("n", label="recorded units n (random subsets)")
    y = hv.Dimension("coupling", label="fitted coupling (θ = 1)")
    n = [e["n"] for e in flow]
    get = lambda key: np.array([e[key] for e in flow], float)  # noqa: E731
    couplings = (_with_errors(n, get("J_eff"), get("J_eff_err"), x, y,
                              "n⟨J_ij⟩ (summed coupling per neuron)", "#1f77b4")
                 * _with_errors(n, get("mean_K"), get("mean_K_err"), x, y, "⟨K_i⟩", "#2ca02c"))
    field = _with_errors(n, get("mean_h"), get("mean_h_err"), x,
                         hv.Dimension("field", label="fitted field ⟨h_i⟩ (θ = 1)"), "⟨h_i⟩",
                         "#9467bd")
    return (couplings.opts(title="Flow over neurons: couplings", **_OPTS),
            field.opts(title="Flow over neurons: field", **_OPTS))


class PhasesView(pn.viewable.Viewer):
    """Sweep and flow controls, live sweep progress, the phase diagram and the flows."""

    store = param.Parameter(doc="The session's SessionStore.")

    def __init__(self, **params):
        super().__init__(**params)
        state = self.store.phases
        self.progress = pn.indicators.Progress(value=0, max=1, visible=False, width=300,
                                               bar_color="primary")
        self.sweep_note = pn.pane.Markdown("", css_classes=["nl-muted"], width=320)
        self.flow_note = pn.pane.Markdown("", css_classes=["nl-muted"], width=320)
        self.point_note = pn.pane.Markdown("", css_classes=["nl-note"],
                                           sizing_mode="stretch_width")
        self.diagram = pn.pane.HoloViews(self._diagram(), sizing_mode="stretch_width",
                                         linked_axes=False)
        self.flows = pn.Column(self._flows_placeholder(), sizing_mode="stretch_width")
        self.flows_button = pn.widgets.Button(label="Compute flows", color="primary", width=140)
        state.param.watch(self._on_progress, ["sweep_status", "sweep_done", "sweep_total"])
        state.param.watch(self._redraw, ["sweep_version", "observable", "flow_version"])
        state.param.watch(self._on_flow, ["flow_status", "flow_version"])
        state.param.watch(self._on_error, ["error"])
        self.store.fit.param.watch(self._redraw, ["version"])
        self._on_progress()

    # ------------------------------------------------------------------ reactions
    def _on_error(self, event):
        if event.new:
            self.store.notify(event.new, "error")

    def _on_progress(self, *events):
        state = self.store.phases
        running = state.sweep_status == "running"
        self.progress.visible = running or state.sweep_total > 0
        self.progress.max = max(state.sweep_total, 1)
        self.progress.value = min(state.sweep_done, self.progress.max)
        where = state.scheduler_label()
        text = {"idle": f"No sweep yet. It will run on the {where}.",
                "running": f"Sweeping: {state.sweep_done}/{state.sweep_total} points done on "
                           f"the {where}.",
                "done": f"Sweep done: {state.sweep_total} points.",
                "cancelled": f"Sweep cancelled after {state.sweep_done}/{state.sweep_total} "
                             "points (the others stay grey).",
                "error": "The sweep stopped with an error (see the message)."}
        self.sweep_note.object = text[state.sweep_status]

    def _on_flow(self, *events):
        state = self.store.phases
        self.flow_note.object = {"idle": "", "running": "Refitting the recording… (about a "
                                 "minute on two cores)", "done": "Flows computed.",
                                 "error": "The flows could not be computed."}[state.flow_status]
        self.flows_button.disabled = state.flow_status == "running"
        if state.flow_status == "idle" and not state.time_flow:   # none yet, or forgotten
            self.flows[:] = [self._flows_placeholder()]
        if state.flow_status == "done" and state.time_flow:
            self.flows[:] = [pn.GridBox(*[pn.pane.HoloViews(p, sizing_mode="stretch_width",
                                                            linked_axes=False)
                                          for p in (*time_flow_plots(state.time_flow),
                                                    *neuron_flow_plots(state.neuron_flow))],
                                        ncols=2, sizing_mode="stretch_width")]

    def _diagram(self):
        state = self.store.phases
        settings = state.swept or {k: v for k, v in state.sweep.param.values().items()
                                   if k != "name"}
        point, note = state.recording_point(settings["connectivity"])
        self.point_note.object = note or _placement_note(point, settings)
        return phase_diagram(state.grid(), settings, state.observable, point,
                             state.trajectory(settings["connectivity"]),
                             sweeping=state.sweep_status == "running")

    def _redraw(self, *events):
        self.diagram.object = self._diagram()

    def _flows_placeholder(self):
        return pn.pane.Markdown("*Compute the flows to see the fitted J, K and h against the bin "
                                "width and against the number of recorded units.*")

    # ------------------------------------------------------------------ layout
    def controls(self):
        """Sweep settings, Run / Cancel, progress; flow settings and Compute flows."""
        state = self.store.phases
        run = pn.widgets.Button(label="Run sweep", color="primary", width=110)
        cancel = pn.widgets.Button(label="Cancel sweep", width=110)
        run.on_click(lambda _: state.start_sweep())
        cancel.on_click(lambda _: state.cancel_sweep())
        integer = {"type": pn.widgets.IntInput}
        sweep = pn.Param(state.sweep, show_name=False, widgets={
            "neurons": integer, "ticks": integer, "sweeps": integer, "burn_in": integer,
            "seed": integer, "J_min": {"type": pn.widgets.FloatInput, "step": 0.05},
            "J_max": {"type": pn.widgets.FloatInput, "step": 0.05},
            "K_min": {"type": pn.widgets.FloatInput, "step": 0.05},
            "K_max": {"type": pn.widgets.FloatInput, "step": 0.05}})
        flows = self.flows_button
        flows.on_click(lambda _: state.start_flow(self.store.recording))
        flow_settings = pn.Param(state.flow, show_name=False,
                                 widgets={"factors": pn.widgets.MultiChoice})
        return pn.Column(
            pn.pane.Markdown("#### Phase diagram sweep (h = 0)"), sweep,
            pn.Row(run, cancel), self.progress, self.sweep_note,
            pn.Param(state, parameters=["observable"], show_name=False),
            pn.pane.Markdown("#### Renormalisation flows of the recording"), flow_settings,
            flows, self.flow_note, width=340)

    def __panel__(self):
        return pn.Row(self.controls(),
                      pn.Column(self.diagram, self.point_note, self.flows,
                                sizing_mode="stretch_width"),
                      sizing_mode="stretch_width")


def _placement_note(point, settings):
    """How the recording is placed, and when its place on this diagram says little.

    ``point``: :func:`neurolattice_core.phases.recording_point` (theta = 1 units); ``settings``:
    the sweep's parameters (``J_min``, ``J_max``, ``K_min``, ``K_max``).
    """
    errors = ("error bars are standard errors from the fit" if np.isfinite(point["J_err"]) else
              "this fit method gives no standard errors: no J error bar, and K's is the spread "
              "of K_i over the units / √n")
    parts = [f"Recording placed with {point['convention']}; {errors} "
             f"({point['n_units']} units)."]
    outside = [f"{name}/θ = {point[name]:.2f} lies outside the swept {name} range "
               f"[{settings[name + '_min']:g}, {settings[name + '_max']:g}]"
               for name in ("J", "K")
               if not settings[name + "_min"] <= point[name] <= settings[name + "_max"]]
    if outside:
        advice = ("the diagrams sweep J >= 0 and K >= 0 only (its mean coupling is negative)"
                  if min(point["J"], point["K"]) < 0 else "widen the sweep to see the phases "
                  "around it")
        parts.append("Its " + " and ".join(outside) + f": {advice}.")
    if abs(point["h"]) > 0.5:
        parts.append(f"Its mean field h/θ = {point['h']:.2f} is far from this diagram's h = 0 "
                     "(most bins silent): the place compares couplings, not phases.")
    return " ".join(parts)
