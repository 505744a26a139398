"""Guided experiments and the URL state, without a browser."""

import panel as pn
import pytest

from app.experiments import EXPERIMENTS, ExperimentState
from app.presets import PRESETS
from app.store import SessionStore
from app.url_state import LinkState, PageState, decode_args, slug
from app.views.present import PresentView
from tests.conftest import wait_until

TABS = ["Simulate", "Recording", "Fit", "About"]


@pytest.fixture
def store():
    store = SessionStore()
    yield store
    store.shutdown()


def link_for(store):
    experiments = ExperimentState(store)
    return LinkState(store, experiments, PageState(), TABS), experiments


def test_an_experiment_waits_for_next_then_each_step_drives_the_engine(store):
    experiments = ExperimentState(store)
    experiments.experiment = "Quench below θc"
    assert experiments.step == -1 and not store.sampler.running
    experiments.next()
    assert store.preset == "Paramagnet" and store.sampler.running
    assert store.sampler.model.temperature == PRESETS["Paramagnet"][1]["temperature"]
    experiments.next()
    assert wait_until(lambda: store.sampler.model.temperature == 1.5)
    experiments.next()
    experiments.next()  # stays on the last step
    assert experiments.step == 2
    assert wait_until(lambda: store.sampler.model.temperature == 1.0)
    assert store.sampler.error is None


def test_jumping_to_a_step_gives_the_state_it_describes(store):
    experiments = ExperimentState(store, experiment="Switch on temporal coupling")
    experiments.go(3)
    assert store.preset == "Critical 2-D Ising"
    assert wait_until(lambda: store.sampler.model.K == 2.0)
    assert store.sampler.model.critical_temperature() > store.sampler.model.temperature
    experiments.previous()
    assert wait_until(lambda: store.sampler.model.K == 1.0)


def test_decimation_steps_set_the_factor_and_every_step_is_valid(store):
    for name, steps in EXPERIMENTS.items():
        experiments = ExperimentState(store, experiment=name)
        for index, step in enumerate(steps):
            experiments.go(index)
            assert experiments.decimation == step.decimation
            assert store.message_level != "error" or not store.message, (name, index)
    assert ExperimentState(store, experiment="Decimate in time").steps[2].decimation == 8


def test_the_link_of_a_state_reopens_that_state(store):
    link, experiments = link_for(store)
    store.preset = "Ordered phase"
    store.controls.param.update(temperature=2.05, seed=11, K=0.7)
    store.algorithm = "heatbath"
    link.page.tab = "fit"
    query = link.query()
    assert query["temperature"] == "2.05" and query["seed"] == "11" and query["tab"] == "fit"
    assert "neurons" not in query  # the preset's own values are not repeated

    other = SessionStore()
    try:
        other_link, _ = link_for(other)
        assert other_link.apply(query) == []
        assert other.preset == "Ordered phase" and other.algorithm == "heatbath"
        assert (other.sampler.model.temperature, other.sampler.model.K) == (2.05, 0.7)
        assert other.sampler.seed == 11 and other_link.page.tab == "fit"
        assert other_link.query() == query
    finally:
        other.shutdown()


def test_presentation_state_is_in_the_link(store):
    link, experiments = link_for(store)
    link.page.mode = "present"
    experiments.experiment = "Heat through θc"
    experiments.go(2)
    query = link.query()
    assert (query["present"], query["experiment"], query["step"]) == ("1", slug(
        "Heat through θc"), "3")
    other = SessionStore()
    try:
        other_link, other_experiments = link_for(other)
        assert other_link.apply(query) == []
        assert other_link.page.mode == "present" and other_experiments.step == 2
        assert other.sampler.running
    finally:
        other.shutdown()


def test_malformed_values_are_ignored_one_by_one_with_reasons(store):
    link, experiments = link_for(store)
    problems = link.apply({"preset": "Nope", "temperature": "hot", "neurons": "-5",
                           "K": "nan", "connectivity": "torus", "ticks": "256", "tab": "x",
                           "step": "9", "bogus": "1"})
    text = " | ".join(problems)
    for fragment in ("preset='Nope'", "temperature='hot': must be a number",
                     "neurons='-5'", "K='nan'", "connectivity='torus'", "tab='x'",
                     "step='9'", "bogus='1' is not a setting"):
        assert fragment in text
    assert len(problems) == 8
    # the one valid value is used, the rest keeps the defaults
    assert store.preset == "Critical 2-D Ising" and store.sampler.model.ticks == 256
    assert store.sampler.model.temperature == PRESETS["Critical 2-D Ising"][1]["temperature"]


def test_values_valid_alone_but_not_together_are_refused(store):
    link, _ = link_for(store)
    problems = link.apply({"connectivity": "grid", "grid_rows": "5"})  # 128 neurons, 5 rows
    assert len(problems) == 1 and "refused" in problems[0]
    assert store.sampler.model.connectivity == "ring"
    assert store.message == ""   # not said a second time beside the link's problems


def test_request_arguments_are_decoded():
    assert decode_args({"a": [b"1", b"2"], "b": [b"\xff"], "c": []}) == {"a": "2", "b": "\ufffd"}
    assert decode_args(None) == {}


def test_slider_noise_is_not_written_and_a_simulated_fit_keeps_the_last_link(store):
    from types import SimpleNamespace
    link, _ = link_for(store)
    store.controls.temperature = 3.999999999999999   # as a dragged slider leaves it
    assert link.query()["temperature"] == "4.0"
    link.location = SimpleNamespace(search="")
    link.write()
    written = link.location.search
    assert "temperature=4.0" in written
    store.simulating_fit = True          # the engine runs a fit: custom couplings, no link
    store.controls.temperature = 1.0
    link.write()
    assert link.location.search == written


def test_back_and_next_are_off_at_the_ends_of_an_experiment(store):
    experiments = ExperimentState(store)
    view = PresentView(store=store, experiments=experiments)
    buttons = {b.label: b for b in view.header(pn.widgets.Button(label="Exit"))
               .select(pn.widgets.Button)}
    back, forward = buttons["◀ Back"], buttons["Next ▶"]
    assert back.disabled and not forward.disabled          # not started
    experiments.go(0)
    assert back.disabled and not forward.disabled
    experiments.go(len(experiments.steps) - 1)
    assert not back.disabled and forward.disabled
    experiments.experiment = "Heat through θc"                # a new experiment starts over
    assert back.disabled and not forward.disabled


def test_the_k_slider_is_hidden_while_a_fits_k_i_replace_k(store):
    """It read 'temporal coupling K: 0.000' over a fit whose K_i average 0.23."""
    import numpy as np

    view = PresentView(store=store, experiments=ExperimentState(store))
    sliders = {s.name: s for s in view.sliders().select(pn.widgets.FloatSlider)}
    temporal = sliders["temporal coupling K"]
    assert temporal.visible
    n = store.controls.neurons
    store.controls.K_per_neuron = np.full(n, 0.23)
    assert not temporal.visible and sliders["temperature θ"].visible
    store.controls.K_per_neuron = None
    assert temporal.visible
