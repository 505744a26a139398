import math

import numpy as np
import pytest

from neurolattice_core.engine import largest_energy_changes
from neurolattice_core.errors import ParameterError
from neurolattice_core.model import LatticeModel
from neurolattice_core.sampler import Sampler
from neurolattice_core.simulation import run_simulation


def independent_spin_moments(n):
    """Exact <|m|>, <m^2>, <m^4>, <m^6>, <m^8> of m = (1/n) sum of n independent fair +-1 spins."""
    ups = np.arange(n + 1)
    log_weights = [math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)
                   - n * math.log(2.0) for k in ups]
    weights = np.exp(log_weights)
    m = (2 * ups - n) / n
    return (weights @ np.abs(m),) + tuple(weights @ m**p for p in (2, 4, 6, 8))


def independent_spin_bounds(n, samples, z=5.0):
    """Exact |m| and Binder cumulant of n free spins, with z standard errors of their estimators.

    Heat bath redraws every free spin as a fair coin at every sweep, so the ``samples`` measured
    configurations are independent. The mean of |m| then has the standard error
    sqrt(<m^2> - <|m|>^2) / sqrt(samples). The Binder estimator U = 1 - b / (3 a^2) of the
    sample means a of m^2 and b of m^4 has, to first order (delta method), the variance
    g' S g / samples with g = (2 b / (3 a^3), -1 / (3 a^2)) and S the covariance of (m^2, m^4):
    [[m4 - m2^2, m6 - m2 m4], [m6 - m2 m4, m8 - m4^2]]. Its exact value is 2 / (3 n).
    """
    abs_m, m2, m4, m6, m8 = independent_spin_moments(n)
    abs_m_err = math.sqrt((m2 - abs_m**2) / samples)
    g = np.array([2 * m4 / (3 * m2**3), -1 / (3 * m2**2)])
    cov = np.array([[m4 - m2**2, m6 - m2 * m4], [m6 - m2 * m4, m8 - m4**2]])
    binder_err = math.sqrt(g @ cov @ g / samples)
    binder = 1 - m4 / (3 * m2**2)
    assert binder == pytest.approx(2 / (3 * n))
    return (abs_m, z * abs_m_err), (binder, z * binder_err)


@pytest.mark.parametrize("ticks, path", [(8, "local"), (128, "fast")])
def test_auto_samples_free_spins_with_heat_bath(ticks, path):
    """J = K = h = 0: Metropolis flips every spin every sweep (|m| frozen, Binder NaN)."""
    model = LatticeModel.create(neurons=8, ticks=ticks, J=0.0, K=0.0, temperature=1.0)
    sampler = Sampler(model)
    assert (sampler.path.name, sampler.path.method) == (path, "heatbath")
    assert "heat bath" in sampler.path_reason.lower()
    samples = 2000
    result = run_simulation(model, sweeps=samples, burn_in=10, seed=11)
    (abs_m, abs_m_bound), (binder, binder_bound) = independent_spin_bounds(8 * ticks, samples)
    assert abs(result["abs_magnetization"] - abs_m) < abs_m_bound
    assert abs(result["binder"] - binder) < binder_bound


@pytest.mark.parametrize("params", [
    dict(connectivity="custom", custom_J=np.zeros((4, 4)), K=0.0),
    dict(connectivity="sk", sk_J0=0.0, sk_spread=0.0, K=0.0),
    dict(connectivity="hopfield", J=0.0, K=0.0),
    dict(connectivity="all-to-all", J=0.0, K_per_neuron=np.array([1.0, 1.0, 0.0, 1.0])),
    dict(connectivity="ring", J=1.0, neuron_boundary="open", neurons=1, K=0.0),
])
def test_auto_takes_heat_bath_when_a_neuron_feels_nothing(params):
    model = LatticeModel.create(**({"neurons": 4, "ticks": 4} | params))
    assert Sampler(model).path.method == "heatbath"


@pytest.mark.parametrize("params", [
    dict(J=0.0, K=0.0, h=0.5),
    dict(J=0.0, K=0.0, drive="pulse", drive_amplitude=0.5, drive_onset=0, drive_duration=4),
    dict(J=0.0, K=0.3),
    dict(J=0.5, K=0.0),
    dict(connectivity="sk", sk_J0=0.0, sk_spread=1.0, K=0.0),
])
def test_auto_keeps_metropolis_when_every_spin_feels_something(params):
    model = LatticeModel.create(**({"neurons": 4, "ticks": 4} | params))
    assert Sampler(model).path.method == "metropolis"
    assert Sampler(model, algorithm="heatbath").path.method == "heatbath"


@pytest.mark.parametrize("params, free", [
    # largest |dE| = 2 h = 0.2 against 0.1 theta = 0.2269: Metropolis would accept every move
    # with probability above 0.91
    (dict(J=0.0, K=0.0, h=0.1), True),
    (dict(J=0.0, K=0.0, h=0.12), False),       # 2 h = 0.24 is above 0.2269
    # ring: |dE| <= 2 (2 J + 2 K) = 8 against 0.1 theta
    (dict(connectivity="ring", J=1.0, K=1.0, temperature=81.0), True),
    (dict(connectivity="ring", J=1.0, K=1.0, temperature=79.0), False),
    (dict(connectivity="ring", J=1.0, K=1.0, temperature=1e300), True),
])
def test_auto_takes_heat_bath_when_a_neuron_feels_almost_nothing(params, free):
    model = LatticeModel.create(**({"neurons": 4, "ticks": 4} | params))
    assert Sampler(model).path.method == ("heatbath" if free else "metropolis")


@pytest.mark.parametrize("params", [
    dict(neurons=4, ticks=1, connectivity="ring", J=0.0, K=1.0),                  # no time bond
    dict(neurons=4, ticks=1, connectivity="ring", J=0.3, K=1.0, time_boundary="open"),
    dict(neurons=3, ticks=2, connectivity="ring", J=0.5, K=0.7, time_boundary="open"),
    dict(neurons=3, ticks=2, connectivity="ring", J=0.5, K=0.7),                 # bonded twice
    dict(neurons=3, ticks=3, connectivity="all-to-all", J=0.4, time_boundary="open", h=0.1,
         K_per_neuron=np.array([0.2, -0.5, 0.0])),
    dict(neurons=4, ticks=3, connectivity="grid", grid_rows=2, grid_cols=2, J=0.6, K=0.3),
    dict(neurons=4, ticks=3, connectivity="sk", K=0.2, seed=3),
    dict(neurons=4, ticks=3, connectivity="hopfield", K=-0.4, seed=1),
    dict(neurons=3, ticks=4, connectivity="custom",
         custom_J=np.array([[0.0, 0.5, -1.0], [0.5, 0.0, 0.2], [-1.0, 0.2, 0.0]]),
         drive="pulse", drive_amplitude=-0.8, drive_onset=1, drive_duration=2, h=0.3),
])
def test_largest_energy_changes_is_the_largest_single_flip(params):
    """The bound "auto" uses equals the largest |dE| of one flip, by enumeration."""
    model = LatticeModel.create(**params)
    sites = model.neurons * model.ticks
    codes = np.arange(2 ** sites)
    bits = (codes[:, None] >> np.arange(sites)) & 1
    spins = (2 * bits - 1).astype(np.int8).reshape(-1, model.neurons, model.ticks)
    energies = model.energy(spins)
    flips = np.abs(energies[codes[:, None] ^ (1 << np.arange(sites))] - energies[:, None])
    largest = flips.max(axis=0).reshape(model.neurons, model.ticks).max(axis=1)
    assert np.allclose(largest_energy_changes(model), largest, rtol=1e-12, atol=1e-12)


def test_auto_samples_almost_free_spins_at_an_enormous_temperature():
    """theta = 1e300: J / theta = 1e-300, so the spins are independent fair coins.

    Metropolis accepted every move (dE / theta ~ 1e-300 rounds exp to 1): every spin flipped
    at every sweep and the energy's error bar read 0.
    """
    model = LatticeModel.create(neurons=8, ticks=8, connectivity="ring", J=1.0, K=1.0,
                                temperature=1e300)
    samples = 2000
    result = run_simulation(model, sweeps=samples, burn_in=10, seed=5)
    (abs_m, abs_m_bound), (binder, binder_bound) = independent_spin_bounds(64, samples)
    assert abs(result["abs_magnetization"] - abs_m) < abs_m_bound
    assert abs(result["binder"] - binder) < binder_bound
    assert result["energy_per_site_err"] > 0


def test_a_sampler_switches_to_heat_bath_when_heated_far_above_its_couplings():
    sampler = Sampler(LatticeModel.create(neurons=4, ticks=4, connectivity="ring"))
    assert sampler.path.method == "metropolis"
    sampler.set_parameters(temperature=100.0)
    assert sampler.path.method == "heatbath"
    sampler.set_parameters(temperature=2.0)
    assert sampler.path.method == "metropolis"


def test_a_sampler_switches_rule_when_the_couplings_are_switched_off():
    sampler = Sampler(LatticeModel.create(neurons=4, ticks=4, J=1.0, K=1.0))
    assert sampler.path.method == "metropolis"
    sampler.set_parameters(J=0.0, K=0.0)
    assert sampler.path.method == "heatbath"
    sampler.set_parameters(K=0.5)
    assert sampler.path.method == "metropolis"


@pytest.mark.parametrize("kwargs, words", [
    (dict(seed=-3), "seed must be an integer between 0 and"),
    (dict(sweeps=10.5), "sweeps must be an integer >= 4, got 10.5"),
    (dict(sweeps=2), "sweeps must be an integer >= 4, got 2"),
    (dict(sweeps="100"), "sweeps must be an integer"),
    (dict(burn_in=-1), "burn_in must be an integer >= 0"),
    (dict(burn_in=0.5), "burn_in must be an integer"),
    (dict(correlation_samples=0), "correlation_samples must be an integer >= 1"),
])
def test_run_simulation_refuses_invalid_settings_naming_them(kwargs, words):
    model = LatticeModel.create(neurons=4, ticks=8)
    with pytest.raises(ParameterError, match=words):
        run_simulation(model, **({"sweeps": 8, "burn_in": 0} | kwargs))
