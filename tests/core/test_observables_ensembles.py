"""Replica/trial observables: overlaps, P(q), q_EA, phase labels, stationarity, ergodicity."""

import numpy as np
import pytest

from neurolattice_core.errors import MemoryBudgetError, ParameterError
from neurolattice_core.observables import (
    edwards_anderson,
    ergodicity,
    kernel,
    overlap_distribution,
    overlaps,
    phase_label,
    phase_summary,
    phase_thresholds,
    population_stationarity_statistic,
    stationarity_statistic,
    stationarity_summary,
)
from neurolattice_core.observables import replicas as replicas_module


def random_spins(rng, shape, p=0.5):
    """Independent spins with P(s = +1) = p (p broadcast against shape)."""
    return np.where(rng.random(shape) < p, 1, -1).astype(np.int8)


@pytest.fixture(scope="module")
def known_p():
    """Independent stationary spins, R = 50, N = 200, T = 100, per-neuron p_i."""
    rng = np.random.default_rng(31)
    r, n, t = 50, 200, 100
    p = rng.permutation(np.linspace(0.15, 0.85, n))
    return random_spins(rng, (r, n, t), p[None, :, None]), p


# ---------------------------------------------------------------- overlaps


def test_overlaps_by_definition():
    rng = np.random.default_rng(32)
    s = random_spins(rng, (5, 7, 9), 0.3)
    q = overlaps(s)
    assert q.shape == (10, 9)
    for k, (a, b) in enumerate(zip(*np.triu_indices(5, 1), strict=True)):
        np.testing.assert_allclose(q[k], np.mean(s[a] * s[b], axis=0), atol=1e-12)
    # the mean pair overlap is the unbiased q_EA, exactly
    assert q.mean() == pytest.approx(edwards_anderson(s, unbiased=True), abs=1e-12)
    r = s.shape[0]
    assert edwards_anderson(s) == pytest.approx(np.mean(kernel(s) ** 2))
    assert edwards_anderson(s, unbiased=True) == pytest.approx(
        (r * edwards_anderson(s) - 1) / (r - 1)
    )
    with pytest.raises(ParameterError):
        overlaps(s[:1])


def test_overlaps_stream_in_chunks(monkeypatch):
    s = random_spins(np.random.default_rng(33), (4, 6, 25))
    full = overlaps(s)
    monkeypatch.setattr(replicas_module, "_CHUNK_ELEMENTS", 30)  # several tick chunks
    np.testing.assert_array_equal(overlaps(s), full)
    monkeypatch.setattr(replicas_module, "_MAX_OVERLAP_BYTES", 100)
    with pytest.raises(MemoryBudgetError):
        overlaps(s)


def test_overlaps_of_independent_spins(known_p):
    s, p = known_p
    r, n, t = s.shape
    q = overlaps(s)
    # ticks are independent: per-tick means of q give an honest standard error
    q_t = q.mean(axis=0)
    se = q_t.std(ddof=1) / np.sqrt(t)
    assert abs(q.mean() - np.mean((2 * p - 1) ** 2)) < 5 * se
    # q_EA (MODEL.md definition) sits on its finite-R floor 1/R for p = 1/2
    s_half = random_spins(np.random.default_rng(34), (r, n, t))
    q_ea = edwards_anderson(s_half)
    assert abs(q_ea - 1 / r) < 5 * np.sqrt(2 * (r - 1) / (r**3 * n * t))
    qh = overlaps(s_half)
    assert abs(qh.mean()) < 5 * qh.mean(axis=0).std(ddof=1) / np.sqrt(t)
    # var(q_ab) = 1/N for unbiased independent spins; spread over pairs and ticks
    v = np.mean(qh**2)
    se_v = np.mean(qh**2, axis=0).std(ddof=1) / np.sqrt(t)
    assert abs(v - 1 / n) < 5 * se_v


def test_overlap_distribution_bins_and_normalisation():
    rng = np.random.default_rng(35)
    s = random_spins(rng, (12, 16, 40))
    centers, density = overlap_distribution(s)
    n = 16
    np.testing.assert_allclose(centers, -1 + 2 * np.arange(n + 1) / n, atol=1e-12)
    widths = np.full(n + 1, 2 / n)
    assert np.sum(density * widths) == pytest.approx(1.0)
    q = overlaps(s)
    counts = np.array([np.sum(np.isclose(q, c)) for c in centers])
    np.testing.assert_allclose(density, counts / (q.size * widths))
    # odd N: only odd multiples of 1/N occur
    c2, d2 = overlap_distribution(random_spins(rng, (4, 5, 10)), bins=10)
    assert c2.shape == (10,) and np.sum(d2 * 0.2) == pytest.approx(1.0)
    with pytest.raises(ParameterError):
        overlap_distribution(s, bins=[0.0, 0.0])


# ---------------------------------------------------------------- phase labels


def test_phase_labels_of_reference_states():
    rng = np.random.default_rng(36)
    r, n, t = 20, 32, 32
    para = random_spins(rng, (r, n, t))
    assert phase_summary(para)["label"] == "paramagnetic"
    # ordered: every replica magnetised, half of them up and half down
    signs = np.repeat([1, -1], r // 2)[:, None, None]
    ordered = (signs * random_spins(rng, (r, n, t), 0.95)).astype(np.int8)
    out = phase_summary(ordered)
    assert out["label"] == "ordered" and out["q_ea"] < out["thresholds"]["q_threshold"]
    # glassy: all replicas frozen near one random pattern with zero magnetisation
    pattern = random_spins(rng, (1, n, t))
    flips = random_spins(rng, (r, n, t), 0.9)
    glass = (pattern * flips).astype(np.int8)
    out = phase_summary(glass)
    assert abs(np.mean(pattern)) < out["thresholds"]["m_threshold"]
    assert out["label"] == "glassy"
    assert out["q_ea_unbiased"] == pytest.approx(0.8**2, abs=0.02)


def test_phase_thresholds_scale_with_noise():
    th = phase_thresholds(100, 100, 10, z=5.0, m_floor=0.0, q_floor=0.0)
    assert th["m_threshold"] == pytest.approx(5 / 100)
    assert th["q_threshold"] == pytest.approx(0.1 + 5 * np.sqrt(2 * 9 / (1000 * 1e4)))
    assert phase_label(0.2, 0.0, 100, 100, 10) == "ordered"
    assert phase_label(0.0, 0.5, 100, 100, 10) == "glassy"
    assert phase_label(0.0, 0.11, 100, 100, 10) == "paramagnetic"
    assert phase_label(0.0, 1.0, 100, 100, 1) == "paramagnetic"  # R = 1 cannot be glassy
    with pytest.raises(ParameterError):
        phase_thresholds(0, 10, 10)


# ---------------------------------------------------------------- stationarity and ergodicity


def test_stationarity_of_independent_spins(known_p):
    s, _ = known_p
    t = s.shape[2]
    out = stationarity_summary(s)
    assert out["S"].shape == (s.shape[1],)
    assert abs(out["mean_S"] - out["expected"]) < 5 * out["mean_S_err"]
    # per-neuron spread agrees with the Gaussian null sqrt(2/T) within its own error, plus 0.1
    # for the binomial excess kurtosis and O(1/T) terms that the Gaussian null ignores
    spread = np.std(out["S"], ddof=1)
    assert abs(spread / out["null_std"] - 1) < 5 / np.sqrt(2 * (s.shape[1] - 1)) + 0.1
    assert out["expected"] == (t - 1) / t
    assert abs(out["S_population"] - 1) < 5 * np.sqrt(2 / t)


def test_stationarity_detects_time_locked_rates():
    rng = np.random.default_rng(37)
    r, n, t = 30, 20, 80
    p = 0.5 + 0.3 * np.sin(2 * np.pi * np.arange(t) / 40)
    s = random_spins(rng, (r, n, t), p[None, None, :])
    values = stationarity_statistic(s)
    # m_true = 0.6 sin(.) over two full periods: var_t = 0.18, mu = 0, per-tick trial noise
    # (1 - m_true^2) / R with time mean 0.82 / R: E S = R 0.18 + 0.82 (T - 1) / T
    expected = r * 0.18 + 0.82 * (t - 1) / t
    assert np.all(values > 3)
    assert abs(values.mean() - expected) < 5 * values.std(ddof=1) / np.sqrt(n) + 0.05
    assert population_stationarity_statistic(s) > 3


def test_stationarity_handles_saturated_neurons():
    rng = np.random.default_rng(38)
    s = random_spins(rng, (5, 4, 30))
    s[:, 0] = -1
    s[:, 1] = 1
    values = stationarity_statistic(s)
    assert np.isnan(values[:2]).all() and np.isfinite(values[2:]).all()
    np.testing.assert_allclose(stationarity_statistic(s[:1])[2:], 1.0)  # R = 1: trivially 1
    out = stationarity_summary(s)
    assert np.isfinite(out["mean_S"])
    assert np.isnan(population_stationarity_statistic(np.ones((3, 4, 5), dtype=np.int8)))


def test_ergodic_and_non_ergodic_trials():
    rng = np.random.default_rng(39)
    r, n, t = 25, 100, 400
    p = rng.uniform(0.2, 0.8, n)
    s = random_spins(rng, (r, n, t), p[None, :, None])
    out = ergodicity(s)
    assert out["time_averages"].shape == (r, n) and out["ensemble_averages"].shape == (n, t)
    ratio = out["w1_per_neuron"] / out["w1_reference"]
    # finite samples add a small positive bias to W1 (measured about +2 %): allow 5 %
    assert abs(ratio.mean() - 1) < 5 * ratio.std(ddof=1) / np.sqrt(n) + 0.05
    # trials frozen in different states: time averages far from the ensemble averages
    bias = rng.choice([-0.8, 0.8], r)
    frozen = random_spins(rng, (r, n, t), ((1 + bias) / 2)[:, None, None])
    out2 = ergodicity(frozen)
    assert out2["w1_population"] > 5 * out2["w1_population_reference"]
    assert out2["w1_pooled"] > 10 * out["w1_pooled"]
    # neuron permutation leaves the population and pooled statistics unchanged
    perm = rng.permutation(n)
    out3 = ergodicity(s[:, perm])
    np.testing.assert_allclose(out3["w1_per_neuron"], out["w1_per_neuron"][perm])
    assert out3["w1_population"] == pytest.approx(out["w1_population"])
    assert out3["w1_pooled"] == pytest.approx(out["w1_pooled"])
    np.testing.assert_allclose(stationarity_statistic(s[:, perm]), stationarity_statistic(s)[perm])
    assert edwards_anderson(s[:, perm]) == pytest.approx(edwards_anderson(s))
