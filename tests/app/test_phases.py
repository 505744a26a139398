"""The "Renormalise & phases" state and view without a browser (real LocalCluster, real fits)."""

import math

import numpy as np
import param
import pytest

import app.main  # noqa: F401  (loads the bokeh plotting extension)
from app.phases_state import FlowSettings, PhasesState, SweepSettings
from app.recording_state import RecordingState
from app.views.phases import phase_diagram, time_flow_plots
from neurolattice_core import phases
from tests.conftest import wait_until

pytest.importorskip("distributed")


def _deliver_until(state, predicate, timeout):
    return wait_until(lambda: (state.outbox.deliver(), predicate())[1], timeout=timeout,
                      interval=0.05)


@pytest.fixture
def state():
    state = PhasesState()
    state.sweep.param.update(neurons=6, ticks=6, J_points=2, K_points=2, sweeps=60, burn_in=10,
                             workers=1)
    yield state
    state.shutdown()


def test_sweep_runs_with_progress_and_fills_the_grid(state):
    seen = []
    state.param.watch(lambda e: seen.append(e.new), "sweep_done")
    thread = state.start_sweep()
    assert state.sweep_status == "running" and state.sweep_total == 4
    assert state.start_sweep() is None  # one sweep at a time
    thread.join(300)
    state.outbox.deliver()
    assert state.sweep_status == "done" and state.error == ""
    assert state.sweep_done == 4 and seen and seen[-1] == 4
    J, K, values, errors = state.grid()
    assert J.tolist() == [0.1, 1.0] and K.tolist() == [0.1, 1.0]
    assert np.all(np.isfinite(values)) and np.all((values >= 0) & (values <= 1))
    assert np.all(errors > 0)
    # strongly coupled corner more ordered than the weak one (8 error bars apart at least)
    assert values[1, 1] - values[0, 0] > 8 * math.hypot(errors[1, 1], errors[0, 0])
    state.observable = "binder"
    assert not np.allclose(state.grid()[2], values)


def test_cancel_keeps_finished_points(state):
    state.sweep.param.update(J_points=6, K_points=2, sweeps=3000)
    thread = state.start_sweep()
    assert _deliver_until(state, lambda: state.sweep_done >= 1, timeout=300)
    state.cancel_sweep()
    thread.join(120)
    state.outbox.deliver()
    assert state.sweep_status == "cancelled"
    statuses = [r["status"] for r in state.records]
    assert "cancelled" in statuses and "ok" in statuses and len(statuses) == 12
    J, K, values, _ = state.grid()
    assert np.isnan(values).any() and np.isfinite(values).any()


def test_bad_settings_and_missing_recording_are_reported(state):
    state.sweep.J_max = 0.05
    assert state.start_sweep() is None
    assert state.sweep_status == "error" and "J max" in state.error
    assert state.start_flow(RecordingState()) is None
    assert state.flow_status == "error" and "Load a recording" in state.error
    point, note = state.recording_point("ring")
    assert point is None and "lft" in note


def test_flows_and_the_recording_point():
    recording = RecordingState()
    recording.load_sample(wait=True)
    assert recording.status == "ready"
    state = PhasesState()
    state.flow.param.update(factors=[1, 2, 4], subset_sizes=2, draws=2)
    state.wait(state.start_flow(recording), timeout=300)
    assert state.flow_status == "done", state.error
    bins = [e["bin_ms"] for e in state.time_flow]
    assert bins == pytest.approx([20.0, 40.0, 80.0])
    n = len(recording.kept_units())
    assert [e["n"] for e in state.neuron_flow] == [round(n / 2), n]
    point, note = state.recording_point("all-to-all")
    assert note == "" and point["source"].startswith("flow's fit (20 ms")
    first = state.time_flow[0]
    assert point["J"] == pytest.approx(n * first["mean_J"])
    assert point["K_err"] == pytest.approx(first["mean_K_err"]) and point["K_err"] > 0
    assert len(state.trajectory("ring")) == 3
    # the plots draw what the state holds
    couplings, field = time_flow_plots(state.time_flow)     # the 'any' rule: no chain curve
    assert not [layer for layer in couplings if layer.label.startswith("chain")]
    keep = [{**entry, "rule": "keep"} for entry in state.time_flow]
    chain = [layer for layer in time_flow_plots(keep)[0] if layer.label.startswith("chain")]
    assert len(chain) == 1 and np.allclose(chain[0].dimension_values(1),
                                           [e["K_chain"] for e in state.time_flow])
    settings = {k: v for k, v in state.sweep.param.values().items() if k != "name"}
    empty = phase_diagram(None, settings, "abs_magnetization", point, state.trajectory("ring"))
    labels = [layer.label for layer in empty]
    assert any(label.startswith("critical line (E2)") for label in labels)
    assert any(label.startswith("recording") for label in labels)


def test_diagram_line_is_the_core_line():
    settings = dict(connectivity="all-to-all", neurons=8, ticks=12, J_min=0.1, J_max=1.0,
                    J_points=3, K_min=0.0, K_max=1.0, K_points=3)
    overlay = phase_diagram(None, settings, "binder", None, [])
    line = [layer for layer in overlay if layer.label.startswith("critical line")][0]
    J, K = line.dimension_values(0), line.dimension_values(1)
    assert len(J) > 50
    assert np.allclose(J, phases.all_to_all_critical_J(K, ticks=12))


@pytest.mark.parametrize("owner", [SweepSettings, FlowSettings, PhasesState])
def test_every_tunable_has_a_doc_and_bounds(owner):
    for name, parameter in owner.param.objects().items():
        if name == "name":
            continue
        assert parameter.doc, f"{owner.__name__}.{name} has no doc"
        if isinstance(parameter, param.Number) and not parameter.constant:
            assert parameter.bounds is not None and parameter.softbounds is not None, name


def test_the_placement_note_says_when_the_place_says_little():
    from app.views.phases import _placement_note
    settings = {"J_min": 0.1, "J_max": 1.0, "K_min": 0.1, "K_max": 1.0}
    point = {"convention": "J/θ = n·<J_ij>", "n_units": 49, "J": 0.5, "K": 0.2, "h": -0.1,
             "J_err": 0.05}
    assert _placement_note(point, settings).count(".") == 1     # inside, weak field: no caveat
    assert "standard errors from the fit" in _placement_note(point, settings)
    bm = _placement_note(point | {"J_err": float("nan")}, settings)   # bm and mf: no J_se
    assert "no standard errors" in bm and "spread of K_i over the units" in bm
    far = _placement_note(point | {"J": -1.35, "h": -4.51}, settings)
    assert "J/θ = -1.35 lies outside the swept J range [0.1, 1]" in far
    assert "J >= 0 and K >= 0 only" in far and "h/θ = -4.51" in far
    assert "widen the sweep" in _placement_note(point | {"K": 1.6}, settings)


def test_a_changed_recording_clears_its_fit_and_flows_so_the_diagram_never_mixes_them():
    from app.store import SessionStore
    from app.views.fit import NO_FIT, FitView
    from tests.app.test_fit_state import _fit
    from tests.conftest import wait_until

    store = SessionStore()
    try:
        recording = store.recording
        recording.load_sample(wait=True)
        store.fit.result = _fit(recording, model="lft", method="pl", drive="off")
        store.fit._publish(status="done", version=store.fit.version + 1)
        store.phases.time_flow = [{"bin_ms": 20.0}]       # as a finished flow leaves it
        view = FitView(store=store)
        version = recording.version
        recording.set_exclusions([0])                     # the units changed: a new recording
        assert wait_until(lambda: (recording.outbox.deliver() or True)
                          and recording.version > version)
        assert store.fit.result is None and store.fit.status == "idle"
        assert store.phases.time_flow is None and store.phases.flow_status == "idle"
        assert view.summary.object == NO_FIT
        assert store.phases.recording_point("ring")[0] is None
    finally:
        store.shutdown()


def test_a_flow_running_when_the_recording_changes_is_not_shown():
    recording = RecordingState()
    recording.load_sample(wait=True)
    state = PhasesState()
    state.flow.param.update(factors=[1], subset_sizes=2, draws=1)
    thread = state.start_flow(recording)
    assert state.flow_status == "running"
    assert state.start_flow(recording) is None          # one flow at a time
    state.forget_flows()                                 # the recording changed meanwhile
    state.wait(thread, timeout=300)
    assert state.time_flow is None and state.flow_status == "idle"


def test_a_sweep_with_no_point_done_yet_is_drawn_as_the_grid_to_be_swept():
    """An all-NaN heatmap made HoloViews warn "All-NaN slice encountered" in the server log."""
    import warnings

    import holoviews as hv

    settings = dict(connectivity="ring", neurons=8, ticks=8, J_min=0.1, J_max=1.0,
                    J_points=3, K_min=0.1, K_max=1.0, K_points=2)
    J, K = np.linspace(0.1, 1.0, 3), np.linspace(0.1, 1.0, 2)
    grid = (J, K, np.full((2, 3), np.nan))

    def hints(overlay):
        return [text.text for text in overlay.traverse(lambda x: x, [hv.Text])]

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        overlay = phase_diagram(grid, settings, "abs_magnetization", None, [], sweeping=True)
        hv.render(overlay, backend="bokeh")
    assert hints(overlay) == ["Sweeping: each point is coloured when it is done"]
    assert hints(phase_diagram(None, settings, "binder", None, [], sweeping=True)) == [
        "Sweeping: each point is coloured when it is done"]        # before the first record
    assert hints(phase_diagram(grid, settings, "binder", None, [])) == [
        "No point of this sweep finished: press ‘Run sweep’ to colour the grid"]
    half = grid[2].copy()
    half[0, 0] = 0.5                                   # one point done: the heatmap proper
    assert hints(phase_diagram((J, K, half), settings, "abs_magnetization", None, [])) == []
