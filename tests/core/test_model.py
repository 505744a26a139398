import subprocess
import sys

import numpy as np
import param
import pytest

from neurolattice_core import connectivity as conn
from neurolattice_core.errors import MemoryBudgetError, ParameterError
from neurolattice_core.model import LatticeModel


def test_core_does_not_import_the_ui_stack():
    code = ("import sys, neurolattice_core.sampler, neurolattice_core.simulation, "
            "neurolattice_core.cli, neurolattice_core.engine\n"
            "bad = [m for m in ('panel', 'holoviews', 'bokeh') if m in sys.modules]\n"
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_every_public_parameter_has_a_doc():
    for name, parameter in LatticeModel.param.objects().items():
        if name == "name":
            continue
        assert parameter.doc, f"LatticeModel.{name} has no doc"
        if isinstance(parameter, param.Number) and not isinstance(parameter, param.Integer):
            assert parameter.softbounds is not None or parameter.bounds is not None, name


@pytest.mark.parametrize("bad, words", [
    (dict(temperature=0.0), "temperature"),
    (dict(temperature=-1.0), "temperature"),
    (dict(neurons=0), "neurons"),
    (dict(ticks=-3), "ticks"),
    (dict(temperature=float("nan")), "temperature"),
    (dict(connectivity="grid", neurons=10, grid_rows=3), "grid shape"),
    (dict(connectivity="grid", neurons=12, grid_rows=3, grid_cols=5), "grid shape"),
    (dict(connectivity="custom"), "custom_J"),
    (dict(connectivity="custom", neurons=3, custom_J=np.ones((3, 3))), "diagonal"),
    (dict(connectivity="custom", neurons=3, custom_J=np.triu(np.ones((3, 3)), 1)),
     r"custom J must be symmetric: J\[0,1\] = 1.0 but J\[1,0\] = 0.0"),
    (dict(neurons=3, K_per_neuron=np.ones(4)), "K_per_neuron"),
    (dict(neurons=2, h_per_neuron=np.array([0.0, np.nan])), "h_per_neuron"),
    (dict(connectivity="bogus"), "connectivity"),
])
def test_invalid_parameters_raise_a_clear_error(bad, words):
    with pytest.raises(ParameterError, match=words):
        LatticeModel.create(**bad)      # when created, not when first sampled


NAN, INF = float("nan"), float("inf")


@pytest.mark.parametrize("bad, words", [
    (dict(J=NAN), "J must be a finite number"),
    (dict(K=INF), "K must be a finite number"),
    (dict(h=-INF), "h must be a finite number"),
    (dict(sk_J0=NAN, connectivity="sk", neurons=4), "sk_J0 must be a finite number"),
    (dict(sk_spread=INF, connectivity="sk", neurons=4), "sk_spread must be a finite number"),
    (dict(drive_amplitude=NAN), "drive_amplitude must be a finite number"),
    (dict(temperature=INF), "temperature must be a finite number"),
    (dict(temperature=1e-300), "temperature must be at least"),
    (dict(temperature=1e-300, J=0.0, K=0.0), "temperature must be at least"),
    (dict(connectivity="custom", neurons=2, custom_J=np.array([[0.0, NAN], [NAN, 0.0]])),
     r"custom_J has a non-finite entry at \(0, 1\)"),
    (dict(connectivity="custom", neurons=2, custom_J=np.array([["0", "a"], ["a", "0"]])),
     "custom_J must hold real numbers"),
    (dict(connectivity="custom", neurons=2, custom_J=np.array([[0, "x"], ["x", 0]], object)),
     "custom_J must hold real numbers"),
    (dict(neurons=2, h_per_neuron=np.array(["a", "b"])), "h_per_neuron must hold real numbers"),
    (dict(J=2e4, temperature=2.0), r"J / temperature .* must be below 10000"),
    (dict(J=0.0, K=-1.0, temperature=1e-4), r"K / temperature .* must be below 10000"),
    (dict(J=0.0, K=0.0, h=5.0, temperature=1e-4), r"h / temperature .* must be below 10000"),
    (dict(connectivity="custom", neurons=2, temperature=1e-3,
          custom_J=np.array([[0.0, -20.0], [-20.0, 0.0]])),
     r"largest \|custom_J\| / temperature .* must be below 10000"),
    (dict(neurons=2, K_per_neuron=np.array([0.0, 1e5])), r"largest \|K_per_neuron\|"),
])
def test_non_finite_or_float32_breaking_values_are_refused(bad, words):
    with pytest.raises(ParameterError, match=words):
        LatticeModel.create(**bad)


def test_strong_but_representable_couplings_are_accepted():
    """The bound is on |coupling| / temperature; just below it the model is valid."""
    LatticeModel.create(J=9.99e3, K=-9.99e3, h=9.99e3, temperature=1.0)
    LatticeModel.create(J=1e-6, K=1e-6, temperature=1e-9)
    LatticeModel.create(J=0.0, K=0.0, temperature=1e-30)
    # parameters the model does not use are not checked (sk_spread = 1 on a ring)
    LatticeModel.create(J=1.0, K_per_neuron=np.ones(4), K=1e9, neurons=4, temperature=1e-3)


def test_the_presets_and_the_slider_ranges_stay_inside_the_strength_bound():
    from neurolattice_core.model import MAX_COUPLING_OVER_TEMPERATURE
    params = LatticeModel.param
    lowest_theta = params.temperature.softbounds[0]
    for name in ("J", "K", "h", "sk_J0", "sk_spread", "drive_amplitude"):
        strongest = max(abs(b) for b in params[name].softbounds)
        assert strongest / lowest_theta < MAX_COUPLING_OVER_TEMPERATURE / 100, name


def test_unknown_parameter_names_are_refused_with_the_nearest_valid_one():
    with pytest.raises(ParameterError, match=r"unknown model parameter 'neuronz': did you mean "
                                             r"'neurons'\? valid names are .*temperature"):
        LatticeModel.create(neuronz=5)
    model = LatticeModel.create(neurons=4, ticks=4)
    with pytest.raises(ParameterError, match=r"unknown model parameter 'bogus': valid names are "
                                             r"J, K, .*ticks"):
        model.update(temperature=1.0, bogus=1)
    assert model.temperature == pytest.approx(2.269185)


def test_memory_estimate_refuses_huge_requests_with_the_estimate():
    with pytest.raises(MemoryBudgetError, match="GiB"):
        LatticeModel.create(neurons=100_000, ticks=100_000)


def test_update_is_atomic_on_error():
    model = LatticeModel.create(neurons=16, connectivity="grid")
    with pytest.raises(ParameterError):
        model.update(temperature=1.0, grid_rows=5)
    assert model.temperature == pytest.approx(2.269185) and model.grid_rows is None


def _fresh_couplings(model):
    """The couplings of a new model with the same parameters (no memo)."""
    values = {k: v for k, v in model.param.values().items() if k != "name"}
    return LatticeModel.create(**values).couplings().dense()


def test_kept_couplings_follow_every_parameter_they_depend_on():
    model = LatticeModel.create(neurons=12, connectivity="ring", J=0.5)
    first = model.couplings()
    model.update(temperature=3.0, K=0.2, h=0.1)
    assert model.couplings() is first                  # nothing they depend on changed
    changes = [dict(J=0.7), dict(neuron_boundary="open"), dict(neurons=16),
               dict(connectivity="grid"), dict(grid_rows=2), dict(grid_rows=None, grid_cols=2),
               dict(connectivity="sk", grid_cols=None), dict(sk_J0=0.3), dict(sk_spread=2.0),
               dict(seed=4), dict(connectivity="hopfield"), dict(hopfield_patterns=5),
               dict(J=-1.0), dict(connectivity="all-to-all"), dict(neurons=9),
               dict(connectivity="custom", custom_J=conn.ring(9, 0.4).dense()),
               dict(custom_J=conn.ring(9, 0.9).dense())]
    for change in changes:
        before = model.couplings().dense()
        model.update(**change)
        after = model.couplings().dense()
        assert np.array_equal(after, _fresh_couplings(model)), change
        assert not np.array_equal(after, before), change
    model.custom_J[0, 1] = model.custom_J[1, 0] = 2.5  # changed in place: seen too
    assert model.couplings().dense()[0, 1] == 2.5


def test_presets_are_symmetric_with_the_documented_couplings():
    ring = conn.ring(6, 0.7).dense()
    assert ring[0, 1] == ring[0, 5] == 0.7 and ring[0, 2] == 0
    open_ring = conn.ring(6, 0.7, periodic=False).dense()
    assert open_ring[0, 5] == 0
    grid = conn.grid(3, 4, 1.0).dense()
    assert grid.sum(axis=1).tolist() == [4.0] * 12
    a2a = conn.all_to_all(5, 2.0).dense()
    assert np.allclose(a2a[~np.eye(5, dtype=bool)], 0.4)
    for matrix in (ring, grid, a2a, conn.sherrington_kirkpatrick(7, 0.5, 1.0, 3).dense(),
                   conn.hopfield(7, 1.0, 2, 3).dense()):
        assert np.allclose(matrix, matrix.T) and np.all(np.diag(matrix) == 0)


def test_disorder_is_reproducible_from_the_seed():
    a = LatticeModel.create(neurons=20, connectivity="sk", seed=5).couplings().dense()
    b = LatticeModel.create(neurons=20, connectivity="sk", seed=5).couplings().dense()
    c = LatticeModel.create(neurons=20, connectivity="sk", seed=6).couplings().dense()
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    patterns = LatticeModel.create(neurons=20, connectivity="hopfield", seed=5).patterns()
    hop = LatticeModel.create(neurons=20, connectivity="hopfield", seed=5).couplings().dense()
    expected = patterns.T.astype(float) @ patterns / 20
    np.fill_diagonal(expected, 0)
    assert np.allclose(hop, expected)


def test_sk_coupling_statistics_match_the_definition():
    n = 400
    matrix = conn.sherrington_kirkpatrick(n, 2.0, 1.5, 11).dense()
    upper = matrix[np.triu_indices(n, 1)]
    count = upper.size
    # mean J0/N with standard error g/sqrt(N)/sqrt(count); variance g^2/N
    assert abs(upper.mean() - 2.0 / n) < 5 * 1.5 / np.sqrt(n) / np.sqrt(count)
    assert abs(upper.var() * n / 1.5**2 - 1) < 5 * np.sqrt(2 / count)


def test_drive_presets():
    model = LatticeModel.create(neurons=2, ticks=10, h=0.5, h_per_neuron=np.array([0.0, 1.0]),
                                drive="pulse", drive_amplitude=2.0, drive_onset=3,
                                drive_duration=2)
    fields = model.fields()
    assert fields.shape == (2, 10)
    assert fields[0].tolist() == [0.5] * 3 + [2.5, 2.5] + [0.5] * 5
    assert np.allclose(fields[1] - fields[0], 1.0)
    model.drive = "step"
    assert model.drive_series().tolist() == [0.0] * 3 + [2.0] * 7
    model.update(drive="ramp", drive_duration=4)
    assert np.allclose(model.drive_series()[3:8], [0.5, 1.0, 1.5, 2.0, 2.0])
    model.drive = "constant"
    assert np.allclose(model.drive_series(), 2.0)


def _naive_energy(model, spins):
    J = model.couplings().dense()
    K = model.temporal_couplings()
    h = model.fields()
    n, t = spins.shape
    energy = 0.0
    for tick in range(t):
        for i in range(n):
            for j in range(i + 1, n):
                energy -= J[i, j] * spins[i, tick] * spins[j, tick]
            nxt = tick + 1
            if nxt < t:
                energy -= K[i] * spins[i, tick] * spins[i, nxt]
            elif model.time_periodic and t > 1:
                energy -= K[i] * spins[i, tick] * spins[i, 0]
            energy -= h[i, tick] * spins[i, tick]
    return energy


@pytest.mark.parametrize("params", [
    dict(connectivity="ring", neurons=5, ticks=4),
    dict(connectivity="ring", neurons=5, ticks=4, time_boundary="open", neuron_boundary="open"),
    dict(connectivity="grid", neurons=6, ticks=3, grid_rows=2),
    dict(connectivity="all-to-all", neurons=5, ticks=3, h=0.3),
    dict(connectivity="sk", neurons=5, ticks=3, seed=2, K_per_neuron=np.linspace(-1, 1, 5)),
    dict(connectivity="hopfield", neurons=6, ticks=3, drive="ramp", drive_amplitude=1.0),
])
def test_energy_matches_a_naive_sum(params):
    model = LatticeModel.create(**params)
    rng = np.random.default_rng(1)
    spins = np.where(rng.random((3, model.neurons, model.ticks)) < 0.5, -1, 1).astype(np.int8)
    expected = [_naive_energy(model, s) for s in spins]
    assert np.allclose(model.energy(spins), expected)


def test_known_critical_temperatures():
    ring = LatticeModel.create(connectivity="ring", J=1.0, K=1.0)
    assert ring.critical_temperature() == pytest.approx(2 / np.log(1 + np.sqrt(2)), rel=1e-9)
    anisotropic = LatticeModel.create(connectivity="ring", J=0.5, K=1.5)
    theta = anisotropic.critical_temperature()
    assert np.sinh(2 * 0.5 / theta) * np.sinh(2 * 1.5 / theta) == pytest.approx(1.0)
    curie_weiss = LatticeModel.create(connectivity="all-to-all", J=1.3, K=0.0)
    assert curie_weiss.critical_temperature() == pytest.approx(1.3)
    long_time = LatticeModel.create(connectivity="all-to-all", J=1.0, K=0.5, ticks=4096)
    theta = long_time.critical_temperature()
    assert (1.0 / theta) * np.exp(2 * 0.5 / theta) == pytest.approx(1.0, rel=1e-6)
    assert LatticeModel.create(connectivity="sk").critical_temperature() is None
    for n, words in ((1, "a 1-D Ising chain"), (2, "a ladder of two coupled chains")):
        tiny = LatticeModel.create(connectivity="ring", neurons=n)   # no 2-D lattice: no theta_c
        assert tiny.critical_temperature() is None and words in tiny.describe()
