import pytest

from app.fit_state import FitState
from app.recording_state import RecordingState
from tests.conftest import wait_until


@pytest.fixture(scope="module")
def recording():
    state = RecordingState()
    state.load_sample(wait=True)
    state.outbox.deliver()
    assert state.binned is not None
    return state


def _fit(recording, **settings):
    state = FitState(**settings)
    state.start(recording).join(timeout=120)
    state.outbox.deliver()
    assert wait_until(lambda: state.status == "done"), state.error
    return state.result


def test_auto_drive_fits_u_t_on_the_stimulus_locked_sample(recording):
    result = _fit(recording, model="lft", method="pl", drive="auto")
    assert result.diagnostics["drive"] is True


def test_drive_off_reaches_the_core(recording):
    result = _fit(recording, model="lft", method="pl", drive="off")
    assert result.diagnostics["drive"] is False
