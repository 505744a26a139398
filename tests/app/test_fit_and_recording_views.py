"""Controls of the Recording and Fit views, without a browser."""

from contextlib import contextmanager

import numpy as np
import panel as pn
import pytest

from app.store import SessionStore
from app.views.fit import FitView
from app.views.recording import RecordingView


def _buttons(layout, *labels):
    found = {w.label: w for w in layout.select(pn.widgets.Button)}
    found |= {w.label: w for w in layout.select(pn.widgets.FileDownload)}
    return [found[label] for label in labels]


def test_the_fit_buttons_are_off_until_there_is_a_fit_and_trials_count_from_one():
    store = SessionStore()
    try:
        store.recording.load_sample(wait=True)
        store.recording.outbox.deliver()
        recording = RecordingView(state=store.recording)
        slider = recording.trial_slider
        assert (slider.start, slider.end, slider.value) == (1, 30, 1) and recording.trial == 0
        slider.value = 30
        assert recording.trial == 29   # the last trial, shown as "trial 30 of 30"

        view = FitView(store=store)
        simulate, download = _buttons(view.controls(), "Simulate this fit",
                                      "Download the fit (JSON)")
        assert simulate.disabled and download.disabled
        store.fit.start(store.recording).join(timeout=120)
        store.fit.outbox.deliver()
        assert store.fit.result is not None
        assert not simulate.disabled and not download.disabled
    finally:
        store.shutdown()


def test_per_unit_bars_sit_at_the_unit_positions_on_a_numeric_axis():
    """49 units labelled one by one were unreadable: the axis is numeric, gaps are left out."""
    import numpy as np

    from app.views.recording import _per_unit_bars

    bars = _per_unit_bars(np.array([0, 1, 3]), np.array([2.0, 5.0, 7.0]), ("rate", "rate (Hz)"))
    edges, heights = bars.data["unit"], bars.data["rate"]
    assert list(edges) == [-0.5, 0.5, 1.5, 2.5, 3.5]
    assert heights[0] == 2.0 and heights[1] == 5.0 and np.isnan(heights[2]) and heights[3] == 7.0
    assert bars.kdims[0].label == "unit (position)"


def test_the_correlation_matrix_sits_at_the_unit_positions_like_the_bars():
    import numpy as np

    from app.views.recording import _per_unit_matrix

    kept = np.array([[1.0, 0.3, 0.1], [0.3, 1.0, 0.2], [0.1, 0.2, 1.0]])
    full = _per_unit_matrix(np.array([0, 2, 3]), kept)
    assert full.shape == (4, 4)
    assert full[0, 2] == 0.3 and full[2, 3] == 0.2 and full[3, 0] == 0.1
    assert np.isnan(full[1]).all() and np.isnan(full[:, 1]).all()   # unit 1 left out
    assert np.isnan(np.diag(full)).all()


def test_the_raster_centres_unit_i_at_i_like_the_bars_and_the_matrix():
    store = SessionStore()
    try:
        store.recording.load_sample(wait=True)
        store.recording.outbox.deliver()
        raster = RecordingView(state=store.recording).raster()
        n_units = store.recording.binned.binary.shape[1]
        left, bottom, _, top = raster.bounds.lbrt()
        assert (left, bottom, top) == (0, -0.5, n_units - 0.5)
        # the top row of the image is the last unit, at its own position
        assert raster.closest((0.001, n_units - 1))[1] == n_units - 1
    finally:
        store.shutdown()


def test_pooled_image_keeps_every_spike_or_the_majority_and_its_scale():
    from app.views.raster import pooled_image

    up = np.zeros((3, 10), dtype=bool)
    up[1, 7] = True
    up[2, :4] = True
    same, scale = pooled_image(up, max_side=10)
    assert scale == (1, 1) and same is up
    pooled, scale = pooled_image(up, max_side=4)          # 3 ticks per pixel (10 -> 12 padded)
    assert scale == (1, 3) and pooled.shape == (3, 4)
    assert pooled[1].tolist() == [False, False, True, False]
    assert pooled[2].tolist() == [True, True, False, False]
    majority, _ = pooled_image(up, max_side=4, rule="majority")
    assert majority[1].tolist() == [False] * 4            # one spin up of three
    assert majority[2].tolist() == [True, False, False, False]


def test_a_long_trial_is_drawn_pooled_at_most_4096_pixels_wide():
    """A 40 000-bin trial made a WebGL texture too wide: the browser drew none of the plots."""
    import io

    from app.views.raster import MAX_IMAGE_SIDE

    raster = np.zeros((1, 3, 40_000), dtype=np.int64)
    raster[0, 1, 39_999] = 1                      # the last bin's spike is still drawn
    buf = io.BytesIO()
    np.savez(buf, raster=raster, bin_width_s=np.array(0.02))
    store = SessionStore()
    try:
        store.recording.load_upload("long.npz", buf.getvalue(), wait=True)
        store.recording.outbox.deliver()
        image = RecordingView(state=store.recording).raster()
        data = image.data["spike"] if isinstance(image.data, dict) else image.dimension_values(
            "spike", flat=False)
        assert data.shape[1] <= MAX_IMAGE_SIDE
        assert (data > 0).sum() == 1
        assert image.bounds.lbrt()[2] >= 40_000 * 0.02
        assert "10 bins per pixel" in image.opts.get().kwargs["title"]
        plots = RecordingView(state=store.recording).observables()
        c_tau, stationarity = plots[1][0].object, plots[2][1].object
        assert "first 250 lags" in c_tau.opts.get().kwargs["title"]
        assert c_tau.opts.get().kwargs["xlim"] == (0, 249 * 0.02)
        assert stationarity.opts.get().kwargs["title"].endswith("needs 2 trials or more")
    finally:
        store.shutdown()


def test_a_raster_without_its_bin_width_says_it_is_assumed_and_the_bin_box_sets_it():
    import io

    raster = np.zeros((2, 3, 500), dtype=np.int64)
    raster[:, :, ::7] = 1
    buf = io.BytesIO()
    np.savez(buf, raster=raster)                   # no bin_width_s in the file
    store = SessionStore()
    try:
        state = store.recording
        state.load_upload("nowidth.npz", buf.getvalue(), wait=True)
        view = RecordingView(state=state)
        view._on_state()
        assert "assumed: the file does not store it" in view.summary.object
        assert "bin width is not stored in the file" in view.summary.object
        assert state.binned.bin_s == 0.02 and state.binned.shape == (2, 3, 500)
        version = state.version
        state.binning.bin_ms = 10.0                 # each stored bin is now taken as 10 ms
        assert _delivered(state, lambda: state.version > version)
        assert state.binned.bin_s == 0.01 and state.binned.shape == (2, 3, 500)
        np.testing.assert_array_equal(state.binned.binary, raster > 0)
    finally:
        store.shutdown()


@contextmanager
def _sample_shown():
    """(recording state, its RecordingView) of a session with the shipped sample loaded."""
    store = SessionStore()
    try:
        store.recording.load_sample(wait=True)
        yield store.recording, RecordingView(state=store.recording)
    finally:
        store.shutdown()


def _delivered(state, condition):
    """Deliver the recording's results until ``condition()`` holds (False after the timeout)."""
    from tests.conftest import wait_until

    return wait_until(lambda: (state.outbox.deliver() or True) and condition())


def test_refused_binning_settings_are_set_back_to_those_of_the_recording_shown():
    with _sample_shown() as (state, view):
        version = state.version
        state.binning.window_start_s = 10.0        # binned again: 10 s to the end
        assert _delivered(state, lambda: state.version > version)
        shown = state.binned
        state.binning.window_stop_s = 5.0          # before the start: refused
        assert _delivered(state, lambda: state.status == "error")
        assert view.message.visible and "kept, with its binning settings" in view.message.object
        assert state.binning.window_stop_s is None and state.binning.window_start_s == 10.0
        assert state.binned is shown


def test_number_boxes_have_no_bounds_in_the_browser():
    """A browser ignores a value outside a box's bounds while showing it (150 ms bins, 0
    neurons): the server must see every value, to apply it or say why it refuses it."""
    from app.views.simulate import SimulateView

    store = SessionStore()
    try:
        boxes = [w for w in RecordingView(state=store.recording).controls().select(
            pn.widgets.FloatInput)]
        boxes += [w for w in SimulateView(store=store).controls().select(pn.widgets.IntInput)]
        names = {box.name for box in boxes}
        assert {"Bin width (ms)", "Neurons", "Ticks", "Replicas"} <= names
        assert [(box.name, box.start, box.end) for box in boxes
                if box.start is not None or box.end is not None] == []
    finally:
        store.shutdown()


def test_the_raster_time_axis_starts_at_the_window_start():
    """Window 5 s to the end: the axis began at 0 while the summary said 5 to 18 s."""
    with _sample_shown() as (state, view):
        version = state.version
        state.binning.window_start_s = 5.0
        assert _delivered(state, lambda: state.version > version)
        left, _, right, _ = view.raster().bounds.lbrt()
        assert left == 5.0 and right == pytest.approx(state.binned.window_s[1])


def test_units_left_out_are_shaded_in_the_raster_and_counted_in_the_summary():
    with _sample_shown() as (state, view):
        version = state.version
        state.set_exclusions([1, 3])
        assert _delivered(state, lambda: state.version > version)
        view._on_state()
        raster = view.raster()
        n = state.binned.shape[1]
        values = raster.dimension_values("spike", flat=False)
        shaded = [i for i in range(n) if (raster[:, i].dimension_values("spike") == 0).all()]
        assert shaded == [1, 3] and set(np.unique(values)) == {-1.0, 0.0, 1.0}
        assert "left-out units shaded" in raster.opts.get().kwargs["title"]
        assert f"{n} (2 left out of the observables and fits)" in view.summary.object


def test_fit_warnings_name_the_pages_control_not_the_librarys_argument():
    from app.views.fit import _page_words

    said = _page_words("units 10 and 12 are near duplicates: consider dropping one (drop_units)")
    assert said.endswith("consider dropping one (the Recording tab's 'Units left out' box)")


def test_loading_a_sample_clears_the_drop_area_of_the_last_upload():
    """The drop area kept saying 'Movie1Exp1.mat · Upload complete' next to the sample."""
    import param

    with _sample_shown() as (state, view):
        dropped = view.uploader
        with param.discard_events(dropped):      # as after an upload that loaded
            dropped.value = {"earlier.csv": b"unit,time\n1,0.1\n2,0.2\n"}
        version = state.version
        view.load_sample()
        assert view.uploader is not dropped and not view.uploader.value
        assert view._uploader_slot.objects == [view.uploader]
        assert _delivered(state, lambda: state.version > version)
