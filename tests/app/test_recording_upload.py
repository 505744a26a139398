"""Uploads reach the loader as Panel's FileDropper hands them over, without a browser."""

import numpy as np

from app.recording_state import RecordingState


def _spike_csv():
    """A long-form ``unit,time`` CSV (seconds) of 4 units firing at about 5 Hz for 20 s."""
    rng = np.random.default_rng(3)
    rows = [f"{unit},{t:.4f}" for unit in range(4)
            for t in np.sort(rng.uniform(0, 20, 100))]
    return "unit,time\n" + "\n".join(rows) + "\n"


def test_a_csv_dropped_as_text_loads_like_its_bytes():
    """FileDropper decodes text/* files (a CSV) to str; both forms give the same recording."""
    loaded = []
    for data in (_spike_csv(), _spike_csv().encode()):
        state = RecordingState()
        state.load_upload("spikes.csv", data, wait=True)
        state.outbox.deliver()
        assert state.error == "" and state.binned is not None, state.error
        loaded.append(state.binned.counts)
    assert loaded[0].shape[1] == 4 and np.array_equal(loaded[0], loaded[1])
