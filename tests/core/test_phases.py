"""Critical lines (MODEL.md E1, E2, E4, E5) and a fitted recording's place on the diagram."""

import math
import subprocess
import sys

import numpy as np
import pytest

from neurolattice_core import phases
from neurolattice_core.errors import ParameterError
from neurolattice_core.fitting.api import fit
from neurolattice_core.model import LatticeModel
from neurolattice_core.sampler import Sampler

THETA_C = 2.0 / math.log(1.0 + math.sqrt(2.0))


def test_ring_line_is_the_anisotropic_onsager_line():
    K = np.linspace(0.1, 2.0, 20)
    for theta in (1.0, 2.5):
        J = phases.ring_critical_J(K, theta)
        assert np.sinh(2 * J / theta) * np.sinh(2 * K / theta) == pytest.approx(1.0, rel=1e-12)
    # E1: the isotropic point J = K = 1 is critical at theta_c = 2.269185
    assert phases.ring_critical_J(1.0 / THETA_C) == pytest.approx(1.0 / THETA_C, rel=1e-12)
    assert phases.ring_critical_J(-0.5) == phases.ring_critical_J(0.5)
    assert phases.ring_critical_J(0.0) == math.inf


def test_all_to_all_line_e4_e5():
    assert phases.all_to_all_critical_J(0.0, theta=1.7) == pytest.approx(1.7)  # E4
    assert phases.all_to_all_critical_J(0.0, ticks=16) == pytest.approx(1.0)
    K = np.array([0.1, 0.4, 0.9])
    assert phases.all_to_all_critical_J(K) * np.exp(2 * K) == pytest.approx(1.0)
    # E5 at finite T: J chi_T = 1, chi_T the sum of the periodic chain's correlations
    tau, T = np.tanh(0.4), 8
    chi = sum((tau ** r + tau ** (T - r)) / (1 + tau ** T) for r in range(T))
    assert phases.all_to_all_critical_J(0.4, ticks=T) == pytest.approx(1.0 / chi, rel=1e-12)
    assert phases.all_to_all_critical_J(0.4, ticks=4000) == pytest.approx(
        phases.all_to_all_critical_J(0.4), rel=1e-12)


@pytest.mark.parametrize("connectivity, J, K, ticks", [
    ("ring", 0.3, 0.5, 64), ("ring", 0.8, 0.2, 64), ("all-to-all", 0.6, 0.3, 12),
    ("all-to-all", 0.9, 0.0, 32)])
def test_lines_agree_with_the_models_critical_temperature(connectivity, J, K, ticks):
    model = LatticeModel.create(neurons=16, ticks=ticks, connectivity=connectivity, J=J, K=K)
    theta_c = model.critical_temperature()
    assert phases.critical_line(connectivity, K, theta_c, ticks) == pytest.approx(J, rel=1e-8)
    assert phases.is_ordered(connectivity, J, K, 0.99 * theta_c, ticks)
    assert not phases.is_ordered(connectivity, J, K, 1.01 * theta_c, ticks)


def test_no_line_for_other_presets():
    with pytest.raises(ParameterError, match="grid"):
        phases.critical_line("grid", 0.5)


def test_sweep_grid_arranges_records():
    records = [{"J": j, "K": k, "h": 0.0, "status": "ok", "binder": j + 10 * k,
                "binder_err": 0.1} for j in (0.2, 0.4, 0.6) for k in (0.1, 0.3)]
    records[1]["status"] = "cancelled"
    J, K, values, errors = phases.sweep_grid(records, "binder")
    assert J.tolist() == [0.2, 0.4, 0.6] and K.tolist() == [0.1, 0.3]
    assert values[0, 2] == pytest.approx(0.6 + 1.0) and values[1, 1] == pytest.approx(3.4)
    assert math.isnan(values[1, 0]) and errors[0, 0] == 0.1
    with pytest.raises(ParameterError):
        phases.sweep_grid(records, "energy")


@pytest.fixture(scope="module")
def all_to_all_fit():
    """lft fit of a simulated all-to-all model: N = 20, J = 0.5 (J_ij = J/N), K = 0.3, h = 0.1."""
    model = LatticeModel.create(neurons=20, ticks=200, replicas=8, connectivity="all-to-all",
                                J=0.5, K=0.3, h=0.1, temperature=1.0, time_boundary="open")
    sampler = Sampler(model, algorithm="heatbath", seed=21, measure_every=1000)
    sampler.step(200)
    snaps = []
    for _ in range(12):
        sampler.step(10)
        snaps.append(sampler.configurations())
    raster = ((np.concatenate(snaps) + 1) // 2).astype(np.uint8)
    return fit(raster, model="lft", holdout=0.0, validate_fit=False)


def test_recording_point_recovers_the_true_couplings(all_to_all_fit):
    point = phases.recording_point(all_to_all_fit, "all-to-all")
    assert point["n_units"] == 20 and point["J_err"] > 0 and point["K_err"] > 0
    assert abs(point["J"] - 0.5) < 4 * point["J_err"], point
    assert abs(point["K"] - 0.3) < 4 * point["K_err"], point
    assert abs(point["h"] - 0.1) < 4 * point["h_err"], point
    assert point["J_err"] < 0.1 and point["K_err"] < 0.03  # error bars that mean something
    ring = phases.recording_point(all_to_all_fit, "ring")
    assert ring["J"] == pytest.approx(point["J"] * 19 / 40)
    assert "n·<J_ij>" in point["convention"]


def test_recording_point_needs_an_lft_fit(all_to_all_fit):
    from dataclasses import replace
    with pytest.raises(ParameterError, match="lft"):
        phases.recording_point(replace(all_to_all_fit, model="maxent", K=None), "all-to-all")
    with pytest.raises(ParameterError):
        phases.recording_point(all_to_all_fit, "grid")


def test_the_phase_and_sweep_modules_do_not_import_the_ui_stack():
    code = ("import sys, neurolattice_core.phases, neurolattice_core.sweeps, "
            "neurolattice_core.cli_sweeps, neurolattice_core.renormalization\n"
            "bad = [m for m in ('panel', 'holoviews', 'bokeh') if m in sys.modules]\n"
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)
