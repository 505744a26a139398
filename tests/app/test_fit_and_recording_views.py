"""Controls of the Recording and Fit views, without a browser."""

import panel as pn

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
