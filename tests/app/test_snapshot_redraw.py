"""The snapshot on the page follows the engine, also when a new engine restarts the sweep count."""

import numpy as np
import pytest

from app.experiments import ExperimentState
from app.store import SessionStore
from app.views.present import PresentView
from app.views.simulate import SimulateView
from tests.conftest import wait_until


@pytest.fixture
def store():
    store = SessionStore()
    store.try_build_engine()
    yield store
    store.shutdown()


def drawn(view):
    """The spike mask (N, T) of uint8 that the view's raster last sent."""
    return view.raster.source.data["image"][0]


@pytest.mark.parametrize("make_view", [
    lambda store: SimulateView(store=store),
    lambda store: PresentView(store=store, experiments=ExperimentState(store)),
], ids=["simulate", "present"])
def test_a_preset_chosen_before_play_is_drawn_at_the_next_frame(store, make_view):
    """Critical (hot start) -> Ordered phase (cold start): both engines are at sweep 1."""
    view = make_view(store)
    view._on_frame()
    hot = drawn(view).copy()
    store.preset = "Ordered phase"
    assert store.sampler.latest_frame()["sweep"] == 1   # the case: same sweep, new engine
    view._on_frame()
    cold = (store.sampler.snapshot() > 0).view(np.uint8)
    assert np.array_equal(drawn(view), cold)
    assert not np.array_equal(hot, cold)


def test_the_first_frame_does_not_resend_the_snapshot_shown_with_the_engine(store):
    view = SimulateView(store=store)
    view.show_engine()
    sent = view.raster.source.data
    view._on_frame()
    assert view.raster.source.data is sent


def test_the_traces_of_a_new_engine_replace_those_of_the_old_one(store):
    """Both engines have a point at sweep 1: the old engine's point must not stay."""
    view = SimulateView(store=store)
    view._draw_traces(store.sampler)
    store.preset = "Ordered phase"
    view._draw_traces(store.sampler)
    history = store.sampler.history()
    for plot, line, key in ((view.energy, "energy", "energy_per_site"),
                            (view.magnetization, "m", "magnetization")):
        assert list(plot.sources[line].data["y"]) == list(history[key][:, 0])
    present = PresentView(store=store, experiments=ExperimentState(store))
    present._draw_trace(store.sampler)
    store.preset = "Critical 2-D Ising"
    present._draw_trace(store.sampler)
    assert list(present.magnetization.sources["m"].data["y"]) == list(
        store.sampler.history()["magnetization"][:, 0])


def test_a_new_lattice_shape_clears_the_correlations_of_the_old_one(store):
    """Ticks changed while paused: the engine has no analysis yet, so C(τ) must not stay."""
    view = SimulateView(store=store)
    view._draw_products(store.sampler.latest_frame()["products"], 1)
    assert len(view.temporal.sources["measured"].data["x"]) == 512 // 2 + 1
    store.controls.ticks = 256
    assert store.sampler.snapshot().shape[-1] == 256
    view._draw_products(store.sampler.latest_frame()["products"], 1)
    assert len(view.temporal.sources["measured"].data["x"]) == 0
    assert "waiting" in view.temporal.figure.title.text


def _statistics_shown(view):
    """Which statistics figures are in the view's layout: (traces, correlations, kernel)."""
    shown = [pane for row in view._statistics for pane in getattr(row, "objects", [row])]
    return (view.energy.pane in shown and view.magnetization.pane in shown,
            view.temporal.pane in shown and view.spatial.pane in shown, view.kernel.pane in shown)


def test_the_statistics_plots_join_the_page_a_row_at_a_time_after_the_engines_first_frames(
        store):
    """The lattice, readout and controls are drawn first; the five statistics figures follow."""
    from app.views.simulate import STATISTICS_AFTER_FRAMES, STATISTICS_ROW_FRAMES

    view = SimulateView(store=store)
    view.show_engine()
    seen = []
    for _ in range(STATISTICS_AFTER_FRAMES + 3 * STATISTICS_ROW_FRAMES):
        seen.append(_statistics_shown(view))
        view._on_frame()
    seen.append(_statistics_shown(view))
    assert seen[STATISTICS_AFTER_FRAMES] == (False, False, False)
    assert seen[STATISTICS_AFTER_FRAMES + 1] == (True, False, False)
    assert seen[STATISTICS_AFTER_FRAMES + 1 + STATISTICS_ROW_FRAMES] == (True, True, False)
    assert seen[-1] == (True, True, True)
    assert view._statistics_placeholder not in view._statistics
    assert len(view.temporal.sources["measured"].data["y"]) > 1   # with their data


def test_the_readout_counters_are_redrawn_every_few_frames_and_a_new_temperature_at_once(store):
    from app.views.simulate import READOUT_EVERY

    view = SimulateView(store=store)
    view.show_engine()
    redraws = []
    view.readout.param.watch(lambda event: redraws.append(event.new), "object")
    for _ in range(2 * READOUT_EVERY):
        store.sampler.step(1)             # the counters change at every frame
        view._on_frame()
    assert len(redraws) == 2
    store.controls.temperature = 3.0
    view._on_frame()
    assert len(redraws) == 3 and "θ/θ<sub>c</sub> = 1.322" in redraws[-1]


def test_a_notebook_page_has_the_statistics_plots_from_the_start():
    from app.main import create_app

    page = create_app()
    try:
        assert _statistics_shown(page.page.simulate) == (True, True, True)
    finally:
        page.store.shutdown()


def test_the_traces_carry_their_running_means(store):
    from app.views.simulate import TRACE_MEAN_WINDOW
    from neurolattice_core.observables import running_mean

    view = SimulateView(store=store)
    store.sampler.step(150)
    view._draw_traces(store.sampler)
    history = store.sampler.history()
    for plot, key in ((view.energy, "energy_per_site"), (view.magnetization, "magnetization")):
        expected = running_mean(history[key][:, 0], TRACE_MEAN_WINDOW)
        np.testing.assert_allclose(plot.sources["mean"].data["y"], expected)
        assert list(plot.sources["mean"].data["x"]) == list(history["sweep"])
    store.sampler.step(5)                 # streamed: the new points' means continue the line
    view._draw_traces(store.sampler)
    history = store.sampler.history()
    expected = running_mean(history["energy_per_site"][:, 0], TRACE_MEAN_WINDOW)
    np.testing.assert_allclose(view.energy.sources["mean"].data["y"], expected)


def test_a_temperature_change_redraws_the_correlations_and_spectra_with_the_next_analysis(store):
    """Not after the 1.4 s or so of their turn: the old state's curves would stay beside the
    new lattice."""
    view = SimulateView(store=store)
    view.show_engine()
    view.show_statistics()                   # the page's figures are all in
    view._frames = 1                         # between two turns of the statistics groups
    store.controls.temperature = 6.0         # far above θc: the kernel spectra fall to about 0
    store.sampler.step(50)                   # a new analysis (stepping by hand analyses)
    view._on_frame()                         # the readout shows the change ...
    view._on_frame()                         # ... the next frames redraw with the new analysis
    view._on_frame()
    products = store.sampler.latest_frame()["products"]
    np.testing.assert_allclose(view.kernel.sources["rows"].data["y"],
                               np.sort(products["row_average"]))
    np.testing.assert_allclose(view.temporal.sources["measured"].data["y"],
                               products["temporal_correlation"])


def test_a_grid_model_shows_the_chosen_time_slice_as_a_sheet(store):
    from neurolattice_core.observables import grid_time_slice

    view = SimulateView(store=store)
    view._on_frame()
    assert view._sheet_holder.objects == []          # ring: no sheet
    store.controls.param.update(connectivity="grid", neurons=48, grid_rows=6, grid_cols=8,
                                ticks=64)
    store.sampler.step(2)
    view._on_frame()
    assert view._sheet_holder.objects != []
    snapshot = store.sampler.snapshot()
    sent = view._sheet.source.data["image"][0]
    assert sent.shape == (6, 8)
    assert np.array_equal(sent, (grid_time_slice(snapshot, 6, 8, 0) > 0).view(np.uint8))
    view._sheet_tick.value = 63                       # the slider redraws at once
    assert np.array_equal(view._sheet.source.data["image"][0],
                          (grid_time_slice(snapshot, 6, 8, 63) > 0).view(np.uint8))
    assert "t = 63 on the 6 x 8 grid" in view._sheet.figure.title.text
    assert view._sheet_tick.end == 63
    store.controls.connectivity = "ring"
    view._on_frame()
    assert view._sheet_holder.objects == []


def test_a_grid_with_its_shape_left_empty_shows_the_sheet_it_runs_on(store):
    view = SimulateView(store=store)
    store.controls.param.update(connectivity="grid", neurons=48, grid_rows=None, grid_cols=None,
                                ticks=64)
    store.sampler.step(2)
    view._on_frame()
    assert store.sampler.model.grid_shape() == (6, 8)
    assert view._sheet.source.data["image"][0].shape == (6, 8)
    assert "on the 6 x 8 grid" in view._sheet.figure.title.text


def test_the_lattice_can_be_coloured_as_spikes_or_as_spins(store):
    from app.views.raster import SPIKE_COLOURS, SPIN_COLOURS

    view = SimulateView(store=store)
    mapper = view.raster.figure.renderers[0].glyph.color_mapper
    assert list(mapper.palette) == SPIKE_COLOURS and "dark = spike" in view.raster.figure.title.text
    view.colouring.value = "spins"
    assert list(mapper.palette) == SPIN_COLOURS
    assert view.raster.figure.title.text == ("Field snapshot: red = up (s = +1), "
                                             "blue = down (s = -1)")
    store.controls.param.update(connectivity="grid", neurons=16, grid_rows=4, grid_cols=4)
    store.sampler.step(1)
    view._on_frame()                                  # the sheet follows the choice
    assert list(view._sheet.figure.renderers[0].glyph.color_mapper.palette) == SPIN_COLOURS
    view.colouring.value = "spikes"
    assert list(view._sheet.figure.renderers[0].glyph.color_mapper.palette) == SPIKE_COLOURS


def test_pausing_redraws_the_traces_at_once(store):
    view = SimulateView(store=store)
    view.show_engine()
    view.show_statistics()
    view._frames = 1                         # between two turns of the statistics groups
    store.sampler.step(40)                   # sweeps the traces have not shown yet
    store.sampler.start(sweeps_per_chunk=1)
    store.sampler.pause()
    assert wait_until(lambda: store.sampler.paused and store.sampler.idle)   # its chunk done
    view._on_frame()                         # the readout shows "paused" ...
    view._on_frame()                         # ... and the next frame redraws the traces
    shown = view.energy.sources["energy"].data["x"]
    assert shown[-1] == store.sampler.history()["sweep"][-1] >= 41


def test_the_readout_shows_the_rates_of_the_latest_sweeps_not_the_run_average(store):
    import re

    view = SimulateView(store=store)
    store.controls.temperature = 1.2                 # ordered: few flips are accepted
    store.sampler.step(300)
    view._update_readout(store.sampler.latest_frame())
    before = store.sampler.progress()
    store.controls.temperature = 6.0                 # hot: most are
    assert store.sampler.model.temperature == 6.0
    store.sampler.step(60)
    view._update_readout(store.sampler.latest_frame())
    after = store.sampler.progress()
    latest = ((after["flips_done"] - before["flips_done"])
              / (after["flips_attempted"] - before["flips_attempted"]))
    shown = float(re.search(r"acceptance ([0-9.]+)", view.readout.object)[1])
    assert abs(shown - latest) <= 0.005 and latest - after["acceptance"] > 0.1
    assert "frames/s" not in view.readout.object     # not playing: no frame rate


def test_the_readout_shows_no_speed_until_the_engine_runs_more_than_its_first_sweep(store):
    import re

    view = SimulateView(store=store)                 # its engine has run the start-up sweep
    view._update_readout(store.sampler.latest_frame())
    assert "– sweeps/s · – flips/ns" in view.readout.object
    store.sampler.step(50)
    view._update_readout(store.sampler.latest_frame())
    assert float(re.search(r"([0-9.]+) flips/ns", view.readout.object)[1]) > 0


def test_the_snapshot_title_says_which_replica_it_shows(store):
    view = SimulateView(store=store)
    store.controls.replicas = 3
    store.sampler.step(1)
    view._on_frame()
    assert "Field snapshot (replica 1 of 3; the exports hold all)" in view.raster.figure.title.text
    store.controls.replicas = 1
    store.sampler.step(1)
    view._on_frame()
    assert view.raster.figure.title.text.startswith("Field snapshot: ")


def test_the_readout_names_the_update_rule_and_why_auto_chose_it(store):
    view = SimulateView(store=store)
    view.show_engine()
    view._on_frame()
    assert "path: fast, Metropolis" in view.readout.object
    store.controls.temperature = 100.0      # J = K = 1: |dE| <= 8 < θ/10
    view._on_frame()
    assert "path: fast, heat bath" in view.readout.object
    assert "Heat bath: some neurons feel almost no coupling" in view.readout.object
    store.algorithm = "cluster"
    store.sampler.step(2)
    view._on_frame()
    text = view.readout.object
    assert "path: cluster, Wolff clusters" in text and "|m|" in text
    assert "acceptance" not in text      # clusters are always flipped (it read 1.5-1.9)


def test_a_change_made_while_paused_is_shown_at_once(store):
    view = SimulateView(store=store)
    view.show_engine()
    store.play()
    assert wait_until(lambda: store.sampler.sweeps_done > 3)
    store.pause()
    store.controls.temperature = 3.0
    assert store.sampler.model.temperature == 3.0   # not at the next chunk, which never comes
    view._on_frame()
    assert "θ/θ<sub>c</sub> = 1.322" in view.readout.object


def test_the_transport_buttons_show_whether_the_engine_runs(store):
    view = SimulateView(store=store)
    view.show_engine()
    view.controls()
    play, pause, step = view._transport
    view._on_frame()
    assert (play.disabled, pause.disabled, step.disabled) == (False, True, False)
    store.play()
    assert wait_until(lambda: store.sampler.sweeps_done > 3)
    view._on_frame()
    assert (play.disabled, pause.disabled, step.disabled) == (True, False, True)
    store.pause()
    view._on_frame()
    assert (play.disabled, pause.disabled, step.disabled) == (False, True, False)


def test_a_new_lattice_size_clears_the_traces_and_the_speed(store):
    """Paused at 4096 neurons, then 2: the old sweeps stayed drawn, at the old speed."""
    view = SimulateView(store=store)
    view.show_engine()
    view.show_statistics()
    store.sampler.step(60)
    view._draw_traces(store.sampler)
    view._update_readout(store.sampler.latest_frame())
    store.sampler.step(20)
    view._update_readout(store.sampler.latest_frame())
    assert "– sweeps/s" not in view.readout.object
    assert len(view.energy.sources["energy"].data["x"]) > 0
    store.controls.neurons = 64                         # applied at once: the engine is idle
    assert store.sampler.model.neurons == 64 and store.sampler.sweeps_done == 0
    view._draw_traces(store.sampler)
    assert len(view.energy.sources["energy"].data["x"]) == 0
    view._update_readout(store.sampler.latest_frame())
    assert "– sweeps/s · – flips/ns" in view.readout.object
