"""Decimation in time and in neurons (MODEL.md section 6, issue 6)."""

import numpy as np
import pytest

from neurolattice_core import renormalization as rg
from neurolattice_core.errors import ParameterError
from neurolattice_core.model import LatticeModel
from neurolattice_core.sampler import Sampler


def test_decimate_time_rules():
    x = np.array([[[0, 1, 0, 0, 0, 0, 1, 1, 1]]], dtype=np.uint8)
    assert rg.decimate_time(x, 2, "any").tolist() == [[[1, 0, 0, 1]]]
    assert rg.decimate_time(x, 2, "keep").tolist() == [[[0, 0, 0, 1]]]
    assert rg.decimate_time(x, 3, "any").tolist() == [[[1, 0, 1]]]
    spins = (2 * x - 1).astype(np.int8)[0]
    assert rg.decimate_time(spins, 3, "any").tolist() == [[1, -1, 1]]
    assert rg.decimate_time(x, 1, "any").tolist() == x.tolist()
    for bad in ({"factor": 0}, {"factor": 10}, {"factor": 2, "rule": "mean"}):
        with pytest.raises(ParameterError):
            rg.decimate_time(x, **{"rule": "any", **bad})


def test_chain_decimated_coupling_composes():
    K = 0.7
    assert rg.chain_decimated_coupling(K, 1) == pytest.approx(K)
    twice = rg.chain_decimated_coupling(rg.chain_decimated_coupling(K, 2), 2)
    assert twice == pytest.approx(rg.chain_decimated_coupling(K, 4), rel=1e-12)
    assert np.tanh(rg.chain_decimated_coupling(K, 3, theta=2.0) / 2.0) == pytest.approx(
        np.tanh(K / 2.0) ** 3)


@pytest.fixture(scope="module")
def chains():
    """J = 0, h = 0 chains (independent along time), open ends, K = 0.8, theta = 1."""
    model = LatticeModel.create(neurons=32, ticks=256, replicas=4, connectivity="ring", J=0.0,
                                K=0.8, h=0.0, temperature=1.0, time_boundary="open")
    sampler = Sampler(model, algorithm="heatbath", seed=11, measure_every=1000)
    sampler.step(100)  # correlation time of a K = 0.8 chain: a few ticks
    snaps = []
    for _ in range(8):
        sampler.step(10)
        snaps.append(sampler.configurations())
    return np.stack(snaps)  # (snapshots, R, N, T)


@pytest.mark.parametrize("b", [1, 2, 4])
def test_chain_decimation_identity(chains, b):
    kept = rg.decimate_time(chains.reshape(-1, *chains.shape[2:]), b, "keep")
    kept = kept.reshape(chains.shape[:3] + (-1,)).astype(np.float64)
    lag1 = (kept[..., :-1] * kept[..., 1:]).mean(axis=(0, 3))  # per chain (R, N)
    estimate = lag1.mean()
    err = lag1.std(ddof=1) / np.sqrt(lag1.size)  # chains are independent
    exact = np.tanh(rg.chain_decimated_coupling(0.8, b))
    assert abs(estimate - exact) < 4.5 * err, (estimate, exact, err)


def test_flow_in_time_refits_decimated_chains(chains):
    raster = ((chains[:, :, :8].reshape(-1, 8, chains.shape[-1]) + 1) // 2).astype(np.uint8)
    flow = rg.flow_in_time(raster, [1, 2, 4], model="lft", rule="keep")
    assert [f["factor"] for f in flow] == [1, 2, 4]
    for f in flow:
        assert len(f["K"]) == 8 and np.isfinite(f["mean_K_err"]) and f["mean_K_err"] > 0
        exact = rg.chain_decimated_coupling(0.8, f["factor"])
        assert abs(f["mean_K"] - exact) < 5 * f["mean_K_err"], (f["factor"], f["mean_K"], exact)
        assert abs(f["mean_J"]) < 5 * f["mean_J_err"]
        assert abs(f["K_chain"] - exact) < 5 * flow[0]["mean_K_err"] * f["factor"]
    coarse = rg.flow_in_time(raster, [2], model="maxent", rule="any")[0]
    assert coarse["n_ticks"] == raster.shape[-1] // 2 and np.isnan(coarse["mean_K"])


def test_mean_field_map_round_trip():
    for correction in rg.CORRECTIONS:
        eff = rg.mean_field_decimation(0.8, 0.2, N=100, n=30, correction=correction)
        back = rg.mean_field_microscopic(eff["J_eff"], eff["h_eff"], 30, 100,
                                         correction=correction)
        assert back["J"] == pytest.approx(0.8, rel=1e-9)
        assert back["h"] == pytest.approx(0.2, abs=1e-9)
        assert back["m_star"] == pytest.approx(eff["m_star"], rel=1e-9)
    plain = rg.mean_field_decimation(0.8, 0.2, N=100, n=30)
    assert plain["J_eff"] == pytest.approx(0.3 * 0.8)
    assert plain["h_eff"] == pytest.approx(0.2 + 0.8 * 0.7 * plain["m_star"])
    spread = rg.mean_field_microscopic(0.24, 0.3, 30, 100, N_err=20.0, samples=2000)
    assert spread["J_err"] > 0.1 * spread["J"]  # N's uncertainty dominates (J = (N/n) J_eff)


def test_mean_field_map_recovers_true_coupling():
    """All-to-all N = 40, J = 0.5, h = 0.1 (theta = 1, K = 0): fit maxent on n = 20 units.

    Errors of the effective parameters come from 4 independent groups of replicas.
    """
    N, n, J, h, groups = 40, 20, 0.5, 0.1, 4
    model = LatticeModel.create(neurons=N, ticks=500, replicas=8, connectivity="all-to-all",
                                J=J, K=0.0, h=h, temperature=1.0, time_boundary="open")
    sampler = Sampler(model, algorithm="heatbath", seed=3, measure_every=1000)
    sampler.step(200)
    snaps = []
    for _ in range(16):
        sampler.step(5)
        snaps.append(sampler.configurations())
    raster = ((np.concatenate(snaps) + 1) // 2).astype(np.uint8)
    estimates = []
    for g in range(groups):
        summary = rg.flow_in_neurons(raster[g::groups], [n], draws=1, model="maxent",
                                     seed=g)[0]
        estimates.append((summary["J_eff"], summary["mean_h"]))
    estimates = np.array(estimates)
    j_eff, h_eff = estimates.mean(axis=0)
    j_err, h_err = estimates.std(axis=0, ddof=1) / np.sqrt(groups)
    out = rg.mean_field_microscopic(j_eff, h_eff, n, N, correction="gaussian", J_eff_err=j_err,
                                    h_eff_err=h_err)
    assert abs(out["J"] - J) < 4.5 * out["J_err"], out
    assert abs(out["h"] - h) < 4.5 * out["h_err"], out
    assert out["J_err"] < 0.05 * J
    # the leading-order map misses the hidden units' fluctuations: biased upwards here
    plain = rg.mean_field_microscopic(j_eff, h_eff, n, N, J_eff_err=j_err, h_eff_err=h_err)
    assert plain["J"] - J > 4.5 * plain["J_err"]


def test_the_whole_set_is_fitted_once_and_shows_no_subset_spread():
    """Every subset of all N units is the whole set: its 'error' over draws would be a false 0."""
    raster = (np.random.default_rng(2).random((20, 5, 40)) < 0.3).astype(np.uint8)
    small, whole = rg.flow_in_neurons(raster, [3, 5], draws=3, model="maxent", seed=1)
    assert len(small["draws"]) == 3 and np.isfinite(small["J_eff_err"])
    assert len(whole["draws"]) == 1
    assert all(np.isnan(whole[key]) for key in ("mean_J_err", "mean_h_err", "J_eff_err"))
