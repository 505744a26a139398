"""The exported files hold what the plots show."""

import csv
import io
import json

import numpy as np
import pytest

from app import export
from app.store import SessionStore


@pytest.fixture
def store():
    store = SessionStore()
    store.sampler.step(5)
    yield store
    store.shutdown()


def rows(text):
    return list(csv.reader(io.StringIO(text)))


def test_parameters_json_describes_the_running_model(store):
    store.controls.temperature = 1.9
    data = json.loads(export.parameters_json(store, "?preset=x"))
    model = store.sampler.model
    assert data["preset"] == "Critical 2-D Ising" and data["url_query"] == "?preset=x"
    assert data["model"]["temperature"] == 1.9 and data["model"]["neurons"] == model.neurons
    assert data["sweeps_done"] == store.sampler.sweeps_done
    assert data["critical_temperature"] == pytest.approx(model.critical_temperature())


def test_snapshot_npz_holds_the_configuration(store):
    with np.load(io.BytesIO(export.snapshot_npz(store))) as npz:
        spins, spikes = npz["spins"], npz["spikes"]
        assert spins.dtype == np.int8 and spins.shape == (1, 128, 512)
        np.testing.assert_array_equal(spins, store.sampler.configurations())
        np.testing.assert_array_equal(spikes, spins == 1)
        assert int(npz["sweep"]) == store.sampler.sweeps_done
        assert json.loads(str(npz["parameters"]))["model"]["ticks"] == 512


def test_traces_csv_has_one_row_per_measured_sweep(store):
    table = rows(export.traces_csv(store))
    history = store.sampler.history()
    assert table[0] == ["sweep", "energy_per_site_r0", "magnetization_r0"]
    assert len(table) - 1 == len(history["sweep"])
    last = [float(v) for v in table[-1]]
    assert last[0] == history["sweep"][-1]
    assert last[2] == pytest.approx(history["magnetization"][-1, 0], rel=1e-9)


def test_correlations_csv_matches_the_latest_frame(store):
    table = rows(export.correlations_csv(store))
    products = store.sampler.latest_frame()["products"]
    assert table[0] == ["k", "C_tau_at_lag_k_ticks", "C_tau_exact_at_lag_k_ticks",
                        "C_r_at_distance_k_neurons", "mu_of_neuron_k", "nu_of_tick_k"]
    values = np.array([[float(v) for v in row] for row in table[1:]])
    assert len(values) == 512  # nu_t, the longest column
    np.testing.assert_allclose(values[: len(products["temporal_correlation"]), 1],
                               products["temporal_correlation"], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(values[:128, 4], products["row_average"], rtol=1e-9, atol=1e-12)
    assert np.isnan(values[200, 4])  # padding after the 128 neurons


def test_recording_exports_wait_for_a_recording_then_hold_it(store):
    state = store.recording
    assert export.recording_npz(state) is None and export.recording_units_csv(state) is None
    state.load_sample(wait=True)
    with np.load(io.BytesIO(export.recording_npz(state))) as npz:
        np.testing.assert_array_equal(npz["spikes"], state.binned.binary)
        assert float(npz["bin_s"]) == state.binned.bin_s
        assert str(npz["source"]) == state.source_label
    table = rows(export.recording_units_csv(state))
    assert table[0] == ["unit", "rate_hz", "stationarity"]
    assert len(table) - 1 == len(state.kept_units())
    assert float(table[1][1]) == pytest.approx(state.described["rates_hz"][0], rel=1e-9)
