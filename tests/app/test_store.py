import numpy as np
import pytest

from app.store import SessionStore
from app.views.simulate import STATS_EVERY, SimulateView
from tests.conftest import wait_until


@pytest.fixture
def store():
    store = SessionStore()
    yield store
    store.shutdown()


def test_default_preset_is_the_critical_ising_model(store):
    model = store.sampler.model
    assert (model.connectivity, model.neurons, model.ticks) == ("ring", 128, 512)
    assert store.sampler.path.name == "fast"


def test_widget_changes_reach_the_running_engine(store):
    store.play()
    store.controls.temperature = 1.2
    assert wait_until(lambda: store.sampler.model.temperature == 1.2)
    store.controls.neurons = 64
    assert wait_until(lambda: store.sampler.snapshot().shape == (64, 512))
    assert store.sampler.running and store.sampler.error is None


def test_invalid_change_is_reverted_with_a_message(store):
    store.controls.connectivity = "grid"
    store.controls.grid_rows = 5  # 128 neurons do not fill 5 rows
    assert store.sampler.model.grid_rows != 5
    assert store.message_level == "error" and "grid" in store.message


def test_oversized_lattice_is_refused_on_the_page(store):
    store.controls.ticks = 10_000_000
    assert store.controls.ticks == 512 and "more than this page handles" in store.message


def test_presets_switch_model_and_path(store):
    store.preset = "Spin glass (SK)"
    assert store.sampler.model.connectivity == "sk" and store.sampler.path.name == "local"
    store.preset = "Critical 2-D Ising"
    assert store.sampler.path.name == "fast"


def test_shutdown_stops_the_thread_quickly(store):
    store.play()
    assert wait_until(lambda: store.sampler.sweeps_done > 2)
    store.shutdown()
    assert not store.sampler.running


def test_step_after_play_and_pause_advances_one_frame(store):
    store.play()
    assert wait_until(lambda: store.sampler.sweeps_done > 2)
    store.pause()
    assert wait_until(lambda: store.sampler.idle)
    done = store.sampler.sweeps_done
    store.step()
    assert store.sampler.sweeps_done == done + store.sweeps_per_frame
    assert store.sampler.paused


def test_frames_flow_into_the_streams(store):
    view = SimulateView(store=store)
    store.step()
    for _ in range(3 * STATS_EVERY):  # the statistics plots are redrawn in turn
        view._on_frame()
    image = view.raster.source.data["image"][0]
    assert image.shape == (128, 512) and image.dtype == np.uint8
    np.testing.assert_array_equal(image, store.sampler.snapshot() > 0)
    c_tau = view.temporal.sources["measured"].data["y"]
    assert len(c_tau) == 257 and np.isfinite(c_tau).all() and c_tau[0] > 0.9
    assert len(view.spatial.sources["C"].data["y"]) > 1
    assert len(view.kernel.sources["rows"].data["y"]) == 128
    assert len(view.energy.sources["energy"].data["x"]) >= 1
    assert "flips/ns" in view.readout.object


class _TimedSampler:
    """Stands in for a Sampler whose calls cost ``overhead`` seconds plus ``per_sweep`` each."""

    def __init__(self, overhead, per_sweep, slow_first=0.0):
        self.overhead, self.per_sweep, self.busy, self.calls = overhead, per_sweep, 0.0, []
        self.slow_first = slow_first

    def progress(self):
        return {"busy_seconds": self.busy}

    def step(self, n_sweeps):
        self.busy += self.overhead + n_sweeps * self.per_sweep + (
            self.slow_first if not self.calls else 0.0)
        self.calls.append(n_sweeps)


def test_chunks_are_sized_from_batches_not_from_the_call_overhead():
    from app.store import CHUNK_SECONDS, chunk_sweeps

    # 0.2 ms per call, 50 µs per sweep: a single sweep looks 5x slower than it is
    sampler = _TimedSampler(overhead=2e-4, per_sweep=5e-5)
    chunk = chunk_sweeps(sampler)
    ideal = CHUNK_SECONDS / 5e-5                               # 400 sweeps
    assert 0.85 * ideal <= chunk <= ideal      # the overhead spread over a 2 ms batch: 10 %
    assert max(sampler.calls) > 1 and sum(sampler.calls) < ideal   # timing costs < a chunk
    # a fast lattice is capped at 1000 sweeps; one slow call (a busy machine) changes nothing
    assert chunk_sweeps(_TimedSampler(2e-4, 1.4e-5, slow_first=0.01)) == 1000
    # slow sweeps: at least the minimum (the sweeps per frame)
    assert chunk_sweeps(_TimedSampler(2e-4, 0.5), minimum=3) == 3


def test_the_fit_preset_without_a_fit_says_so_and_keeps_the_engine():
    from app.presets import FIT_PRESET
    from app.store import SessionStore

    store = SessionStore()
    try:
        store.try_build_engine()
        before = store.sampler
        store.preset = FIT_PRESET
        assert store.preset == "Critical 2-D Ising"          # reverted: nothing to run
        assert store.sampler is before and not store.simulating_fit
        assert store.message == "Fit a recording first: there is no fit to simulate."
    finally:
        store.shutdown()


def _model_slider_names(controls):
    """The model parameters that the Model section of the Simulate view's ``controls`` offers."""
    return set(controls.objects[-1].objects[0].parameters)


def test_the_fit_preset_runs_the_fit_and_a_named_preset_runs_again_after_it():
    from app.presets import FIT_PRESET
    from app.recording_state import RecordingState
    from app.store import SessionStore
    from app.views.simulate import SimulateView
    from tests.app.test_fit_state import _fit

    store = SessionStore()
    try:
        recording = RecordingState()
        recording.load_sample(wait=True)
        store.fit.result = _fit(recording, model="lft", method="pl", drive="off")
        controls = SimulateView(store=store).controls()   # follows the model from here on
        store.preset = FIT_PRESET
        assert store.simulating_fit and store.preset == FIT_PRESET
        assert store.sampler.model.connectivity == "custom"
        assert store.sampler.model.neurons == store.fit.result.n_units
        # the fitted J_ij, K_i and h_i replace these sliders, which would change nothing
        assert {"J", "K", "h"}.isdisjoint(_model_slider_names(controls))
        assert "temperature" in _model_slider_names(controls)
        store.preset = "Paramagnet"
        assert not store.simulating_fit and store.sampler.model.connectivity == "ring"
        assert {"J", "K", "h"} <= _model_slider_names(controls)
        assert store.simulate_fit()                          # the Fit tab's button
        assert store.preset == FIT_PRESET and store.simulating_fit
    finally:
        store.shutdown()


def test_a_refused_fit_preset_leaves_the_simulate_views_note_on_the_preset_shown():
    from app.presets import FIT_PRESET, PRESETS
    from app.store import SessionStore
    from app.views.simulate import SimulateView

    store = SessionStore()
    view = SimulateView(store=store)
    store.preset = FIT_PRESET                      # no fit: refused and undone
    assert store.preset == "Critical 2-D Ising"
    assert view.preset_note.object == PRESETS["Critical 2-D Ising"][0]
    store.shutdown()


def test_the_preset_note_says_which_of_its_parameters_were_changed():
    from app.presets import PRESETS
    from app.store import SessionStore
    from app.views.simulate import SimulateView

    store = SessionStore()
    view = SimulateView(store=store)
    assert view.preset_note.object == PRESETS["Critical 2-D Ising"][0]
    store.controls.param.update(connectivity="all-to-all", temperature=3.0)
    assert view.preset_note.object == (PRESETS["Critical 2-D Ising"][0]
                                       + " *Changed since: connectivity, temperature.*")
    store.preset = "Paramagnet"                   # a preset sets its parameters again
    assert view.preset_note.object == PRESETS["Paramagnet"][0]
    store.shutdown()


def test_a_preset_the_cluster_algorithm_cannot_run_runs_with_auto(store):
    store.algorithm = "cluster"
    assert store.sampler.path.name == "cluster"
    store.preset = "Spin glass (SK)"
    assert store.sampler.model.connectivity == "sk"           # the engine runs the preset
    assert store.algorithm == store.sampler.algorithm == "auto"
    assert store.message_level == "warning"
    assert store.message.startswith("The cluster algorithm needs ferromagnetic couplings")


def test_a_refused_algorithm_is_set_back_in_the_selector(store):
    store.preset = "Hopfield memory"
    store.algorithm = "cluster"                # J_ij < 0: refused
    assert store.algorithm == store.sampler.algorithm == "auto"
    assert store.message_level == "error" and "ferromagnetic" in store.message
    store.preset = "Critical 2-D Ising"        # the refusal does not outlive its preset
    assert store.message == ""


def test_the_sparse_preset_spikes_sparsely_in_a_steady_state():
    """It had frozen silent (|m| 0.999, acceptance 0): 2 % of the bins spike, from any start."""
    from app.presets import PRESETS
    from neurolattice_core.model import LatticeModel
    from neurolattice_core.sampler import Sampler

    _, params, _ = PRESETS["Sparse cortical-like raster"]
    model = LatticeModel.create(**params)
    for initial in ("random", "up"):
        spikes = Sampler(model, seed=1, initial=initial).step(1000).snapshot() > 0
        assert 0.01 < spikes.mean() < 0.04, (initial, spikes.mean())
