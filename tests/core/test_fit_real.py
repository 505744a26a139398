"""Fits of the shared real recordings beat the independent model on held-out data."""

import numpy as np
import pytest

from neurolattice_core.fitting import fit, fit_to_json
from tests.conftest import SHARED_DATA
from tests.core.fit_models import example50_raster, onken_raster

pytestmark = pytest.mark.skipif(not SHARED_DATA.exists(), reason="shared datasets not present")


def _beats(v, keys):
    model, ind = v["model"], v["independent"]
    lower = {k: model[k] < ind[k] for k in keys if not k.endswith("_corr") and k != "heldout_pll"}
    higher = {k: model[k] > ind[k] for k in keys if k.endswith("_corr") or k == "heldout_pll"}
    return {**lower, **higher}


@pytest.fixture(scope="module")
def onken():
    return onken_raster("Movie1Exp2", bin_ms=20)


def test_onken_maxent_pl_beats_independent(onken):
    res = fit(onken, model="maxent", method="pl", bin_ms=20, seed=1)
    v = res.validation
    assert res.success and v["equilibrated"]
    beats = _beats(v, ("heldout_pll", "corr_rmse", "corr_corr", "triplet_rmse", "pk_w1",
                       "pattern_log10_error"))
    assert all(beats.values()), beats
    assert v["corr_corr"] > 0.9
    # near-duplicate units of this recording are reported
    assert any("near duplicates" in w for w in res.warnings)


def test_onken_lft_pl_uses_the_drive_and_beats_independent_and_maxent(onken):
    res = fit(onken, model="lft", method="pl", bin_ms=20, seed=1)
    v = res.validation
    assert res.converged
    # 30 repeats of one movie: the population is time-locked, so the drive u_t is fitted
    assert res.diagnostics["drive"] and res.u.shape == (onken.shape[2],)
    assert res.diagnostics["time_locking"] > 10
    assert v["heldout_pll"] > v["independent"]["heldout_pll"]
    assert v["heldout_pll"] > v["maxent"]["heldout_pll"]
    # the temporal couplings predict lagged correlations that maxent cannot, and the drive
    # the stimulus-locked kernel
    assert v["model"]["lag1_rmse"] < v["maxent"]["lag1_rmse"]
    assert v["lag1_corr"] > 0.3
    assert v["model"]["kernel_w1_ticks"] < v["maxent"]["kernel_w1_ticks"] / 2
    assert np.all(np.asarray(fit_to_json(res)["K"]) > -1)
    # pl matches conditionals, not the joint law: its K and drive come out smaller than the
    # moment-matching ones (mean K 0.22 vs 0.33 by bm, sd of u_t 0.66 vs 0.80), and sampled
    # it misses rates and correlations by 4-5x the split noise: flagged, bm recommended
    assert not v["reproduces"] and not res.success
    assert any("method='bm'" in w for w in res.warnings)


@pytest.mark.slow
def test_onken_lft_bm_with_drive_reproduces_the_held_out_data(onken):
    res = fit(onken, model="lft", method="bm", bin_ms=20, seed=1)
    v = res.validation
    assert res.diagnostics["drive"] and res.converged, res.warnings
    assert v["reproduces"] and res.success, v["noise_ratio"]
    for key in ("lag1_rmse", "pk_w1", "kernel_w1_ticks"):
        assert v["model"][key] < v["maxent"][key], key
        assert v["model"][key] < v["independent"][key], key
    assert v["corr_corr"] > 0.9


def test_example50_maxent_pl_is_flagged_as_a_poor_generative_model():
    # pl conditionals predict held-out spins better than the independent model, but these
    # real data are not exactly pairwise and the pl couplings come out too positive (mean
    # lattice-gas coupling 0.17 vs 0.14 by bm): sampled, the fitted model runs away to rates
    # near 0.7. A pl fit of pairwise data of the same size and sparsity reproduces them
    # (test_fit_generative.py); validation must say so rather than report a success.
    res = fit(example50_raster(), model="maxent", method="pl", seed=2)
    v = res.validation
    assert v["heldout_pll"] > v["independent"]["heldout_pll"]
    assert v["noise_ratio"]["rate"] > 10 and not v["reproduces"] and not res.success
    assert any("method='bm'" in w for w in res.warnings)


@pytest.mark.slow
def test_example50_maxent_bm_reproduces_the_held_out_data():
    res = fit(example50_raster(), model="maxent", method="bm", seed=2)
    v = res.validation
    assert res.converged, res.warnings
    assert v["reproduces"] and res.success, v["noise_ratio"]
    beats = _beats(v, ("heldout_pll", "corr_rmse", "corr_corr", "pk_w1",
                       "pattern_log10_error"))
    assert all(beats.values()), beats
