"""Parallel tempering (neurolattice_core.tempering) against exact enumeration.

Each copy is an independent ladder, so per-copy time averages are independent samples: the
standard error of a mean is the spread over copies / sqrt(n_copies) (over independent pairs of
copies for overlaps). Tolerance: 4.5 standard errors.
"""

import numba
import numpy as np
import pytest

from neurolattice_core import connectivity as conn
from neurolattice_core.errors import ParameterError
from neurolattice_core.exact import energy_of, exact_distribution, exact_moments
from neurolattice_core.tempering import ParallelTempering, geometric_ladder, ladder_energies

N_SIGMA = 4.5


# a small SK instance: N * T = 15 sites, enumerable
N, T = 5, 3
SK = conn.sherrington_kirkpatrick(N, 0.0, 1.0, seed=3)
K_SK = np.full(N, 0.3)
H_SK = np.zeros((N, T))
THETAS = geometric_ladder(0.25, 1.6, 6)


def _walsh_hadamard(x):
    """Unnormalised Walsh-Hadamard transform of a vector of length 2**n."""
    x = np.array(x, dtype=np.float64)
    h = 1
    while h < x.size:
        x = x.reshape(-1, 2, h)
        x = np.stack([x[:, 0] + x[:, 1], x[:, 0] - x[:, 1]], axis=1).reshape(-1)
        h *= 2
    return x


def _exact_q_moments(p, n_sites):
    """<|q|> and <q^2> between two independent copies.

    q_ab = 1 - 2 d / n_sites with d the number of differing sites = popcount(a XOR b) in the
    enumeration order, so P(a XOR b = c) = sum_a p_a p_(a XOR c), an XOR-autocorrelation
    computed with the Walsh-Hadamard transform.
    """
    xor_prob = _walsh_hadamard(_walsh_hadamard(p) ** 2) / p.size
    c = np.arange(p.size)
    differing = sum((c >> bit) & 1 for bit in range(n_sites))
    q = 1.0 - 2.0 * differing / n_sites
    return float(xor_prob @ np.abs(q)), float(xor_prob @ q**2)


def _exact_acceptance(energies, p_cold, p_hot, beta_cold, beta_hot):
    """Expected swap acceptance between independent exact draws from two rungs.

    sum_(a, b) p_cold(a) p_hot(b) min(1, exp(d (E_a - E_b))), d = beta_cold - beta_hot > 0:
    1 when E_b <= E_a, else exp(d (E_a - E0)) exp(-d (E_b - E0)); summed with sorted energies.
    """
    d = beta_cold - beta_hot
    order = np.argsort(energies)
    e, ph = energies[order], p_hot[order]
    below = np.concatenate([[0.0], np.cumsum(ph)])  # mass of E_b <= e[k]: below[k + 1]
    tail = np.concatenate([np.cumsum((ph * np.exp(-d * (e - e[0])))[::-1])[::-1], [0.0]])
    upto = np.searchsorted(e, e, side="right")  # number of levels <= E_a
    per_state = below[upto] + np.exp(d * (e - e[0])) * tail[upto]
    return float(p_cold[order] @ per_state)


@pytest.fixture(scope="module")
def sk_run():
    n_copies = 64
    pt = ParallelTempering((N, T), THETAS, SK, K_SK, H_SK, time_periodic=True,
                           n_copies=n_copies, seed=21)
    pt.run(80, sweeps_per_round=2)
    pt.reset_statistics()
    n_rounds = 500
    trace = np.empty((n_rounds, THETAS.size, n_copies))
    q_abs = np.zeros((THETAS.size, n_copies // 2))
    q_sq = np.zeros_like(q_abs)
    pairs = np.triu_indices(n_copies, 1)
    independent = [np.flatnonzero((pairs[0] == 2 * c) & (pairs[1] == 2 * c + 1))[0]
                   for c in range(n_copies // 2)]
    for step in range(n_rounds):  # overlaps of independent pairs of copies (2c, 2c+1)
        trace[step] = pt.run(1, sweeps_per_round=2)[0]
        q = pt.overlaps()[:, independent]
        q_abs += np.abs(q)
        q_sq += q * q
    return pt, trace, q_abs / n_rounds, q_sq / n_rounds


def _within(samples, exact, what):
    mean = samples.mean()
    error = samples.std(ddof=1) / np.sqrt(samples.size)
    assert abs(mean - exact) < N_SIGMA * error, (what, mean, exact, error)


def test_energy_and_overlaps_match_exact_enumeration(sk_run):
    pt, trace, q_abs, q_sq = sk_run
    for k, theta in enumerate(THETAS):
        exact = exact_moments(SK.dense(), K_SK, H_SK, 1.0 / theta, True)
        _within(trace[:, k, :].mean(axis=0), exact["energy"], f"E at theta={theta:.3f}")
        _, p = exact_distribution(SK.dense(), K_SK, H_SK, 1.0 / theta, True)
        exact_abs, exact_sq = _exact_q_moments(p, N * T)
        _within(q_abs[k], exact_abs, f"<|q|> at theta={theta:.3f}")
        _within(q_sq[k], exact_sq, f"<q^2> at theta={theta:.3f}")


def test_swap_acceptance_matches_the_exact_rate(sk_run):
    """Detailed balance check: acceptance of rung pair (k, k+1) equals the average of
    min(1, exp((beta_k - beta_k+1)(E - E'))) over independent exact draws from both rungs."""
    pt, *_ = sk_run
    acceptance = pt.acceptance
    assert np.all((acceptance > 0.0) & (acceptance < 1.0))
    states, _ = exact_distribution(SK.dense(), K_SK, H_SK, 1.0, True)
    energies = energy_of(states, SK.dense(), K_SK, H_SK, True)
    betas = pt.betas
    rates = pt.swap_accepts / pt.swap_attempts  # (n_copies, n - 1): independent per copy
    for k in range(THETAS.size - 1):
        _, p_cold = exact_distribution(SK.dense(), K_SK, H_SK, betas[k], True)
        _, p_hot = exact_distribution(SK.dense(), K_SK, H_SK, betas[k + 1], True)
        exact = _exact_acceptance(energies, p_cold, p_hot, betas[k], betas[k + 1])
        _within(rates[:, k], exact, f"acceptance of rungs ({k}, {k + 1})")
    assert pt.round_trips > 0


def test_energies_and_configurations_are_consistent(sk_run):
    pt, *_ = sk_run
    config = pt.configurations
    assert config.shape == (THETAS.size, 64, N, T) and config.dtype == np.int8
    np.testing.assert_allclose(pt.energies, energy_of(config, SK.dense(), K_SK, H_SK, True))
    # every rung of every copy is held by exactly one replica
    rungs = pt.rung_of_replica.reshape(64, THETAS.size)
    assert np.all(np.sort(rungs, axis=1) == np.arange(THETAS.size))


def _small_pt(seed):
    return ParallelTempering((N, T), THETAS, SK, K_SK, H_SK, n_copies=3, seed=seed)


def test_deterministic_for_a_seed_and_thread_count():
    previous = numba.get_num_threads()
    results = []
    try:
        for seed, threads in ((5, 1), (5, min(2, numba.config.NUMBA_NUM_THREADS)), (6, 1)):
            numba.set_num_threads(threads)
            pt = _small_pt(seed)
            trace = pt.run(60, sweeps_per_round=2)
            results.append((pt.configurations, trace, pt.swap_accepts))
    finally:
        numba.set_num_threads(previous)
    for a, b in zip(results[0], results[1], strict=True):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(results[0][0], results[2][0])


@pytest.mark.parametrize("couplings", [conn.hopfield(5, 1.0, 2, seed=1), conn.all_to_all(5, 0.8),
                                       conn.ring(5, 0.7), SK])
@pytest.mark.parametrize("periodic", [True, False])
@pytest.mark.parametrize("t_len", [1, 2, 4])
def test_ladder_energies_match_energy_of(couplings, periodic, t_len):
    n = couplings.n_neurons
    rng = np.random.default_rng(2)
    spins = np.where(rng.random((7, n, t_len)) < 0.5, -1, 1).astype(np.int8)
    K, h = rng.normal(size=n), rng.normal(size=(n, t_len))
    np.testing.assert_allclose(ladder_energies(spins, couplings, K, h, periodic),
                               energy_of(spins, couplings.dense(), K, h, periodic), atol=1e-12)


def test_geometric_ladder_and_validation():
    np.testing.assert_allclose(geometric_ladder(0.5, 2.0, 3), [0.5, 1.0, 2.0])
    with pytest.raises(ParameterError):
        geometric_ladder(2.0, 1.0, 4)
    with pytest.raises(ParameterError, match="thetas"):
        ParallelTempering((N, T), [1.0, 0.5], SK, K_SK, H_SK)
    with pytest.raises(ParameterError, match="fields"):
        ParallelTempering((N, T), THETAS, SK, K_SK, np.zeros((N, T + 1)))
    pt = _small_pt(0)
    with pytest.raises(ParameterError, match="sweeps_per_round"):
        pt.run(1, sweeps_per_round=0)
