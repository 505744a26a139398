"""fit(): data checks, bad input, result contract, fit files and the LatticeModel export."""

import json
import re

import numpy as np
import pytest

from neurolattice_core.errors import FitError
from neurolattice_core.fitting import (
    FitData,
    fit,
    fit_to_json,
    lattice_fields,
    load_fit,
    save_fit,
    to_lattice_model,
)
from neurolattice_core.fitting.data import build_rows, temporal_neighbour_sum
from neurolattice_core.fitting.synthetic import exact_maxent_samples, maxent_model

CLI_KEYS = {"model", "method", "n_units", "n_samples", "seconds", "h", "J", "validation"}
VALIDATION_KEYS = {"rate_corr", "corr_corr", "lag1_corr", "pk_w1", "heldout_pll"}


def _raster(n=6, trials=20, ticks=100, p=0.15, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.random((trials, n, ticks)) < p).astype(np.uint8)


@pytest.fixture(scope="module")
def small_fit():
    h, J = maxent_model(6, seed=21)
    x = exact_maxent_samples(h, J, 20 * 100, seed=1)
    raster = np.ascontiguousarray((x > 0).reshape(20, 100, 6).transpose(0, 2, 1))
    return fit(raster, model="lft", method="pl", bin_ms=20, seed=1,
               provenance={"source": "synthetic"})


# ------------------------------------------------------------------ data
def test_split_by_trials_and_by_blocks():
    data = FitData.from_raster(_raster(trials=20))
    train, held = data.split(0.2)
    assert train.n_trials == 16 and held.n_trials == 4 and held.aligned
    one = FitData.from_raster(_raster(trials=1, ticks=1000)[0])
    train, held = one.split(0.2)
    assert train.n_ticks == held.n_ticks == 100
    assert (train.n_trials, held.n_trials) == (8, 2) and not held.aligned


def test_temporal_neighbours_never_cross_trials():
    s = np.ones((2, 1, 4), dtype=np.int8)
    s[1] = -1
    nb = temporal_neighbour_sum(s)
    assert nb[0, 0].tolist() == [1, 2, 2, 1] and nb[1, 0].tolist() == [-1, -2, -2, -1]


def test_merged_rows_keep_every_sample():
    data = FitData.from_raster(_raster(p=0.6))          # units firing > 50 % get flipped
    for model in ("maxent", "lft", "kinetic"):
        rows = build_rows(data, model)
        expected = data.n_samples - (data.n_trials if model == "kinetic" else 0)
        assert rows.n_samples == expected and rows.counts.sum() == expected
        assert np.all(rows.flip == -1)


# ------------------------------------------------------------------ bad input
def test_silent_unit_is_refused_or_dropped():
    r = _raster()
    r[:, 2] = 0
    with pytest.raises(FitError, match=r"units \[2\] never spike"):
        fit(r, model="maxent", validate_fit=False)
    res = fit(r, model="maxent", validate_fit=False, drop_inactive=True)
    assert res.n_units == 5 and 2 not in res.units.tolist()
    assert any("dropped units [2]" in w for w in res.warnings)


def test_always_on_unit_is_refused():
    r = _raster()
    r[:, 0] = 1
    with pytest.raises(FitError, match="spike in every bin"):
        fit(r, model="lft", validate_fit=False)


def test_near_duplicate_units_are_flagged():
    r = _raster(seed=3)
    r[:, 4] = r[:, 1]
    r[0, 4, :5] = 1 - r[0, 4, :5]                      # almost, not exactly, identical
    res = fit(r, model="maxent", validate_fit=False)
    assert any("units 1 and 4 are near duplicates" in w for w in res.warnings)
    assert np.all(np.isfinite(res.J))


def test_too_few_samples():
    tiny = np.eye(6, 5, dtype=np.uint8)                       # 5 ticks for 6 units
    tiny[5, :] = [1, 0, 1, 0, 1]
    with pytest.raises(FitError, match="training samples"):
        fit(tiny, model="maxent", validate_fit=False)
    res = fit(_raster(trials=2, ticks=20, p=0.4, seed=2), model="maxent", validate_fit=False)
    assert any("dominated by the regularisation" in w for w in res.warnings)


@pytest.mark.parametrize("kwargs, message", [
    ({"model": "ising"}, "model must be one of"),
    ({"method": "magic"}, "method must be one of"),
    ({"model": "lft", "method": "exact"}, "exact maximum likelihood is available for maxent"),
])
def test_bad_names(kwargs, message):
    with pytest.raises(FitError, match=message):
        fit(_raster(), validate_fit=False, **kwargs)


def test_unvalidated_fit_is_not_a_success():
    res = fit(_raster(), model="maxent", holdout=0)
    assert res.validation is None and res.converged and not res.success
    assert any("not validated" in w for w in res.warnings)


# ------------------------------------------------------------------ result and files
def test_result_contract(small_fit):
    res = small_fit
    assert res.model == "lft" and res.K.shape == (6,) and res.converged and res.success
    obj = fit_to_json(res)
    assert CLI_KEYS <= obj.keys() and "K" in obj
    assert VALIDATION_KEYS <= obj["validation"].keys()
    assert len(obj["J"]) == 6 and all(len(row) == 6 for row in obj["J"])
    text = json.dumps(obj, allow_nan=False)                   # strict JSON: no NaN/inf
    assert json.loads(text)["provenance"]["source"] == "synthetic"
    v = res.validation
    assert {"model", "independent", "maxent", "train_vs_heldout", "arrays"} <= v.keys()
    assert v["arrays"]["pk"]["data"].shape == (7,)


def test_fit_file_round_trip(small_fit, tmp_path):
    path = save_fit(small_fit, tmp_path / "fit.json")
    back = load_fit(path)
    for key in ("h", "J", "K"):
        assert np.array_equal(getattr(back, key), getattr(small_fit, key))
    assert back.bin_ms == 20 and back.model == "lft"
    assert back.validation["heldout_pll"] == pytest.approx(small_fit.validation["heldout_pll"])


def test_fit_file_errors(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "something-else"}')
    with pytest.raises(FitError, match="not a neurolattice-fit"):
        load_fit(bad)
    bad.write_text("{not json")
    with pytest.raises(FitError, match="cannot read"):
        load_fit(bad)


@pytest.mark.parametrize("change, words", [
    ({"K": None}, "fit file has no 'K'"),              # an lft fit simulated with K = 0
    ({"model": "ising"}, "'model' is 'ising'; expected one of maxent, lft, kinetic"),
    ({"n_units": None}, "'n_units' is None; expected an integer >= 1"),
    ({"n_ticks": "12"}, "'n_ticks' is '12'"),
    ({"n_samples": -3}, "'n_samples' is -3"),
    ({"u": []}, "'u' has shape (0,), expected (100,)"),      # one value per tick of a trial
    ({"u": [[0.1] * 100] * 2}, "'u' has shape (2, 100), expected (100,)"),
])
def test_fit_file_with_missing_or_wrong_fields_is_refused(small_fit, tmp_path, change, words):
    obj = {**fit_to_json(small_fit, arrays=False), **change}
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(obj))
    with pytest.raises(FitError, match=re.escape(words)):
        load_fit(bad)


def test_fit_file_with_asymmetric_couplings_is_refused(small_fit, tmp_path):
    obj = fit_to_json(small_fit, arrays=False)
    obj["J"][0][1] += 0.5                     # was symmetrised without a word when simulated
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(obj))
    with pytest.raises(FitError, match=r"'J' is not symmetric \(J\[0\]\[1\] = .* but J\[1\]\[0\]"):
        load_fit(bad)
    kinetic = fit(_raster(), model="kinetic", validate_fit=False)
    assert not np.allclose(kinetic.J, kinetic.J.T)
    path = save_fit(kinetic, tmp_path / "kinetic.json")
    assert np.array_equal(load_fit(path).J, kinetic.J)


def test_lattice_model_export_reproduces_the_fitted_energy(small_fit):
    model = to_lattice_model(small_fit, ticks=7)
    assert model.temperature == 1.0 and model.time_boundary == "open"
    rng = np.random.default_rng(0)
    s = np.where(rng.random((3, 6, 7)) < 0.3, 1, -1).astype(np.int8)
    h, J, K = small_fit.h, small_fit.J, small_fit.K
    x = s.astype(float)
    expected = -(0.5 * np.einsum("rit,ij,rjt->r", x, J, x)
                 + np.einsum("i,rit->r", K, x[:, :, :-1] * x[:, :, 1:])
                 + np.einsum("i,rit->r", h, x))
    assert np.allclose(model.energy(s), expected)
    assert np.allclose(lattice_fields(small_fit, 7), h[:, None])


def test_kinetic_fit_is_not_a_lattice_model():
    res = fit(_raster(), model="kinetic", validate_fit=False)
    with pytest.raises(FitError, match="asymmetric"):
        to_lattice_model(res)


def test_drive_is_fitted_on_time_locked_trials_only_and_exported(small_fit):
    assert small_fit.u is None and not small_fit.diagnostics["drive"]   # stationary trials
    assert small_fit.diagnostics["time_locking"] < 2
    rng = np.random.default_rng(3)
    p = np.where(np.arange(100) % 20 < 5, 0.4, 0.05)                  # stimulus-locked rates
    raster = (rng.random((20, 6, 100)) < p[None, None, :]).astype(np.uint8)
    res = fit(raster, model="lft", bin_ms=20, validate_fit=False)
    assert res.diagnostics["drive"] and res.u.shape == (100,)
    assert res.u[np.arange(100) % 20 < 5].mean() > res.u[np.arange(100) % 20 >= 5].mean() + 1
    model = to_lattice_model(res, ticks=150)                            # u repeats periodically
    assert model.drive == "custom"
    assert np.allclose(model.fields(), lattice_fields(res, 150))
    off = fit(raster, model="lft", bin_ms=20, validate_fit=False, drive=False)
    assert off.u is None and not off.diagnostics["drive"]
    with pytest.raises(FitError, match="drive"):
        fit(raster, model="lft", drive="sometimes", validate_fit=False)


def test_a_fit_that_loses_to_the_independent_model_says_in_what_and_by_how_much():
    """Independent spins: the fitted couplings are noise, so held-out data favour J = 0."""
    rng = np.random.default_rng(0)
    spikes = (rng.random((20, 8, 200)) < 0.2).astype(np.int8)
    result = fit(spikes, model="maxent", method="pl", bin_ms=20)
    said = [w for w in result.warnings if "worse than the independent model" in w]
    assert len(said) == 1
    assert re.search(r"pseudo-log-likelihood per sample, higher is better \(-0\.\d+ against "
                     r"-0\.\d+\)", said[0])
    assert "RMS error of the model's pairwise correlations" in said[0]


@pytest.mark.parametrize("method", ["bm", "exact"])
def test_the_kinetic_model_refuses_a_method_it_would_not_use(method):
    with pytest.raises(FitError, match=f"method='{method}' does not apply to the kinetic model"):
        fit(_raster(), model="kinetic", method=method, validate_fit=False)


def test_a_binned_recording_is_fitted_with_its_own_bin_width():
    from neurolattice_core.recordings import bin_recording, load_recording

    recording = load_recording("sample:onken-movie1-exp2")
    with pytest.raises(FitError, match="fit takes binned spikes: bin the recording first"):
        fit(recording, bin_ms=20)
    binned = bin_recording(recording, 0.04)
    with pytest.raises(FitError, match="bin_ms=20 but the binned recording has 40 ms bins"):
        fit(binned, bin_ms=20)
    result = fit(binned, model="maxent", validate_fit=False, drop_units=[22, 39])
    assert result.bin_ms == 40 and result.n_units == 47
    assert result.n_samples == binned.binary.shape[0] * binned.binary.shape[2]  # no holdout


@pytest.mark.parametrize("options, words", [
    (dict(drop_units=[10]), r"drop_units=\[10\]: give a list of the data's units \(0..3\)"),
    (dict(drop_units="1"), "drop_units='1'"),
    (dict(drop_units=[0.5]), "drop_units"),
    (dict(init={"J": np.zeros((4, 4))}), "init must be a dict with 'h' \\(4,\\) and 'J'"),
    (dict(init={"h": np.zeros(4), "J": np.zeros((3, 3))}), r"init\['J'\] must be \(4, 4\)"),
])
def test_bad_drop_units_or_init_are_refused(options, words):
    raster = (np.random.default_rng(2).random((6, 4, 50)) < 0.3).astype(np.int8)
    with pytest.raises(FitError, match=words):
        fit(raster, validate_fit=False, **options)
