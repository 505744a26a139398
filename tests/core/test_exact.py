"""Exact results (MODEL.md section 3): enumeration, Kaufman/Onsager, chains, Curie-Weiss, E7."""

import itertools

import numpy as np
import pytest

from neurolattice_core.errors import MemoryBudgetError, ParameterError
from neurolattice_core.exact import (
    energy_of,
    enumerate_states,
    exact_distribution,
    exact_moments,
    lattice_gas_energy,
    lattice_gas_parameters,
    site_coupling_matrix,
    spin_parameters,
)
from neurolattice_core.exact_ising import (
    anisotropic_critical_temperature,
    chain_magnetization_in_field,
    chi_T,
    critical_coupling_all_to_all_temporal,
    curie_weiss_limit_n_m2,
    curie_weiss_mean_field_magnetization,
    curie_weiss_moments,
    kaufman_energy_per_site,
    kaufman_log_partition,
    kaufman_specific_heat_per_site,
    onsager_critical_temperature,
    onsager_energy_per_site,
    open_chain_correlation,
    periodic_chain_correlation,
    periodic_chain_magnetization,
    spontaneous_magnetization,
)

SQRT2 = np.sqrt(2.0)


def random_model(rng, n, T, dyadic=False):
    def draw(*shape):
        x = rng.normal(size=shape)
        return np.round(x * 8) / 8 if dyadic else x

    J = np.triu(draw(n, n), 1)
    J = J + J.T
    return J, draw(n), draw(n, T)


def ring(n, J):
    """Ring couplings: i bonded to i +- 1 mod n (n == 2 gives the doubled bond 2J)."""
    A = np.zeros((n, n))
    for i in range(n):
        A[i, (i + 1) % n] += J
        A[(i + 1) % n, i] += J
    return A


def naive_energy(s, J, K, h, periodic):
    n, T = s.shape
    e = 0.0
    for t in range(T):
        for i in range(n):
            e -= h[i, t] * s[i, t]
            for j in range(i + 1, n):
                e -= J[i, j] * s[i, t] * s[j, t]
    bonds = [(t, (t + 1) % T) for t in range(T)] if (periodic and T > 1) else [
        (t, t + 1) for t in range(T - 1)]
    for t, u in bonds:
        for i in range(n):
            e -= K[i] * s[i, t] * s[i, u]
    return e


# --------------------------------------------------------------------------- enumeration (E6)
@pytest.mark.parametrize("n,T", [(3, 1), (3, 2), (4, 3), (2, 5)])
@pytest.mark.parametrize("periodic", [True, False])
def test_energy_of_matches_naive_loop(n, T, periodic):
    rng = np.random.default_rng(10 * n + T)
    J, K, h = random_model(rng, n, T)
    spins = rng.choice(np.array([-1, 1], dtype=np.int8), size=(7, n, T))
    expected = [naive_energy(s, J, K, h, periodic) for s in spins]
    np.testing.assert_allclose(energy_of(spins, J, K, h, periodic), expected, rtol=1e-13,
                               atol=1e-13)
    # the flattened coupling matrix gives the same energy
    A = site_coupling_matrix(J, K, T, periodic)
    x = spins.reshape(7, -1).astype(float)
    e_flat = -0.5 * np.einsum("ka,ab,kb->k", x, A, x) - x @ h.reshape(-1)
    np.testing.assert_allclose(e_flat, expected, rtol=1e-13, atol=1e-13)


def test_two_tick_periodic_is_a_doubled_bond():
    J, K, h = np.zeros((1, 1)), np.array([0.7]), np.zeros((1, 2))
    s = np.array([[[1, -1]]], dtype=np.int8)
    assert energy_of(s, J, K, h, True)[0] == pytest.approx(2 * 0.7)
    assert energy_of(s, J, K, h, False)[0] == pytest.approx(0.7)


@pytest.mark.parametrize("periodic", [True, False])
def test_exact_moments_against_naive_enumeration(periodic):
    rng = np.random.default_rng(3)
    n, T, beta = 2, 4, 0.8
    J, K, h = random_model(rng, n, T)
    states = np.array(list(itertools.product([-1, 1], repeat=n * T))).reshape(-1, n, T)
    E = np.array([naive_energy(s, J, K, h, periodic) for s in states])
    w = np.exp(-beta * E)
    p = w / w.sum()
    m = states.mean(axis=(1, 2))
    flat = states.reshape(len(states), -1)
    r = exact_moments(J, K, h, beta, periodic)
    assert r["log_partition"] == pytest.approx(np.log(w.sum()), rel=1e-13)
    assert r["energy"] == pytest.approx(p @ E, rel=1e-12)
    assert r["energy_sq"] == pytest.approx(p @ E**2, rel=1e-12)
    assert r["specific_heat"] == pytest.approx(beta**2 * (p @ E**2 - (p @ E) ** 2) / (n * T),
                                               rel=1e-10)
    for key, val in [("magnetization", p @ m), ("abs_magnetization", p @ abs(m)),
                     ("m2", p @ m**2), ("m4", p @ m**4)]:
        assert r[key] == pytest.approx(val, rel=1e-12, abs=1e-14), key
    np.testing.assert_allclose(r["site_mean"], np.einsum("k,kit->it", p, states), atol=1e-14)
    np.testing.assert_allclose(r["second_moment"], flat.T @ (flat * p[:, None]), atol=1e-14)


def test_distribution_order_and_consistency():
    rng = np.random.default_rng(4)
    J, K, h = random_model(rng, 3, 3)
    states, p = exact_distribution(J, K, h, 0.6, False)
    assert states.dtype == np.int8 and states.shape == (2**9, 3, 3)
    np.testing.assert_array_equal(states, enumerate_states(3, 3))
    # state k has s_a = +1 where bit a (a = i*T + t) is set
    assert states[0b000000101][0, 0] == 1 and states[0b000000101][0, 2] == 1
    assert states[0b000000101][0, 1] == -1 and states[0b000000101][2, 2] == -1
    assert p.sum() == pytest.approx(1.0, abs=1e-14)
    E = energy_of(states, J, K, h, False)
    log_z = exact_moments(J, K, h, 0.6, False)["log_partition"]
    np.testing.assert_allclose(p, np.exp(-0.6 * E - log_z), rtol=1e-12)


def test_enumeration_twenty_sites():
    rng = np.random.default_rng(5)
    J, K, h = random_model(rng, 5, 4)
    r = exact_moments(J, K, h, 0.5, True)  # 2**20 states, about 0.7 s
    assert r["second_moment"].shape == (20, 20)
    np.testing.assert_allclose(np.diag(r["second_moment"]), 1.0)


def test_input_validation():
    J, K, h = np.zeros((2, 2)), np.zeros(2), np.zeros((2, 3))
    with pytest.raises(ParameterError, match="symmetric"):
        exact_moments(np.array([[0.0, 1.0], [0.0, 0.0]]), K, h, 1.0, True)
    with pytest.raises(ParameterError, match="diagonal"):
        exact_moments(np.eye(2), K, h, 1.0, True)
    with pytest.raises(ParameterError, match="K must have shape"):
        exact_moments(J, np.zeros(3), h, 1.0, True)
    with pytest.raises(ParameterError, match="beta"):
        exact_moments(J, K, h, -1.0, True)
    with pytest.raises(TypeError, match="time_periodic"):
        exact_moments(J, K, h, 1.0, "yes")
    with pytest.raises(MemoryBudgetError, match="N\\*T <= 20"):
        exact_moments(np.zeros((3, 3)), np.zeros(3), np.zeros((3, 7)), 1.0, True)
    with pytest.raises(ParameterError, match="spins values"):
        energy_of(np.zeros((2, 3), dtype=np.int8), J, K, h, True)


# --------------------------------------------------------------------------- lattice gas (E7)
@pytest.mark.parametrize("T", [1, 2, 3, 5])
@pytest.mark.parametrize("periodic", [True, False])
def test_lattice_gas_energy_is_exact(T, periodic):
    rng = np.random.default_rng(20 + T)
    n = 4
    J, K, h = random_model(rng, n, T, dyadic=True)  # dyadic numbers: float arithmetic is exact
    W, Kpsi, b, const = lattice_gas_parameters(J, K, h, periodic)
    np.testing.assert_array_equal(W, 4 * J)
    np.testing.assert_array_equal(Kpsi, 4 * K)
    spins = rng.choice(np.array([-1, 1], dtype=np.int8), size=(50, n, T))
    psi = ((1 + spins) // 2).astype(np.int8)
    e_spin = energy_of(spins, J, K, h, periodic)
    np.testing.assert_array_equal(e_spin, lattice_gas_energy(psi, W, Kpsi, b, periodic) + const)
    # and with generic (non-dyadic) parameters, to rounding
    J, K, h = random_model(rng, n, T)
    W, Kpsi, b, const = lattice_gas_parameters(J, K, h, periodic)
    np.testing.assert_allclose(energy_of(spins, J, K, h, periodic),
                               lattice_gas_energy(psi, W, Kpsi, b, periodic) + const,
                               rtol=1e-12, atol=1e-12)
    J2, K2, h2, const2 = spin_parameters(W, Kpsi, b, periodic)
    np.testing.assert_allclose(J2, J, atol=1e-15)
    np.testing.assert_allclose(K2, K, atol=1e-15)
    np.testing.assert_allclose(h2, h, atol=1e-13)
    assert const2 == pytest.approx(const, abs=1e-12)


@pytest.mark.parametrize("periodic", [True, False])
def test_lattice_gas_probabilities_identical(periodic):
    rng = np.random.default_rng(7)
    J, K, h = random_model(rng, 3, 4)
    beta = 0.9
    states, p_spin = exact_distribution(J, K, h, beta, periodic)
    W, Kpsi, b, _ = lattice_gas_parameters(J, K, h, periodic)
    e_gas = lattice_gas_energy((1 + states) // 2, W, Kpsi, b, periodic)
    w = np.exp(-beta * (e_gas - e_gas.min()))
    np.testing.assert_allclose(w / w.sum(), p_spin, rtol=1e-12)
    # boundary matters: with open time the end ticks have one temporal neighbour
    deg = np.array([2, 2, 2, 2]) if periodic else np.array([1, 2, 2, 1])
    np.testing.assert_allclose(b, 2 * h - 2 * J.sum(1)[:, None] - 2 * K[:, None] * deg)


# --------------------------------------------------------------------------- Kaufman (E1, E2)
KAUFMAN_CASES = [
    (4, 4, 1.0, 1.0, 1.8),   # isotropic, ordered side
    (4, 4, 1.0, 1.0, 3.0),   # isotropic, disordered side
    (4, 5, 1.0, 1.0, 2.2),
    (4, 5, 1.0, 0.4, 1.3),   # anisotropic
    (5, 4, 0.3, 1.2, 1.0),
    (5, 4, 0.3, 1.2, 5.0),
    (3, 5, 0.7, 1.1, 0.6),   # odd x odd
    (2, 6, 0.8, 0.5, 1.0),   # doubled bonds between the two rows
    (5, 2, 0.7, 0.9, 1.2),   # two ticks, periodic: doubled temporal bond (2K)
    (4, 5, 0.0, 1.0, 1.0),   # independent rings along the columns
    (4, 5, 1.0, 0.0, 1.0),
    (4, 5, -1.0, 0.6, 1.5),  # antiferromagnetic along an even axis (gauge)
    (4, 4, 1.0, 1.0, 0.3),   # deep in the ordered phase
    (4, 5, 1.0, 0.4, 0.25),
    (3, 4, 0.2, 0.3, 40.0),  # high temperature
]


@pytest.mark.parametrize("n_rows,n_cols,J,K,theta", KAUFMAN_CASES)
def test_kaufman_against_enumeration(n_rows, n_cols, J, K, theta):
    r = exact_moments(ring(n_rows, J), np.full(n_rows, K), np.zeros((n_rows, n_cols)),
                      1.0 / theta, True)
    sites = n_rows * n_cols
    assert kaufman_log_partition(n_rows, n_cols, J / theta, K / theta) == pytest.approx(
        r["log_partition"], rel=1e-13, abs=1e-13)
    assert kaufman_energy_per_site(n_rows, n_cols, J, K, theta) == pytest.approx(
        r["energy"] / sites, abs=1e-11)
    assert kaufman_specific_heat_per_site(n_rows, n_cols, J, K, theta) == pytest.approx(
        r["specific_heat"], abs=1e-11)


def test_kaufman_extreme_temperatures_are_stable():
    for L in (2, 16, 512):
        u = kaufman_energy_per_site(L, L, 1.0, 0.5, 0.05)
        c = kaufman_specific_heat_per_site(L, L, 1.0, 0.5, 0.05)
        assert u == pytest.approx(-1.5, abs=1e-12)
        assert abs(c) < 1e-9  # exp(-2/0.05) suppressed excitations
    # high temperature: u = -(J tanh(J/theta) + K tanh(K/theta)) + O(theta^-3)
    theta = 1e3
    u = kaufman_energy_per_site(64, 64, 1.0, 0.5, theta)
    assert u == pytest.approx(-(np.tanh(1 / theta) + 0.5 * np.tanh(0.5 / theta)), rel=1e-5)


def test_kaufman_frustrated_antiferromagnet_rejected():
    with pytest.raises(ParameterError, match="even number"):
        kaufman_log_partition(5, 4, -0.3, 0.3)


@pytest.mark.parametrize("J,K,theta", [(1.0, 1.0, 2.269), (1.0, 0.5, 1.7), (0.5, 1.3, 1.9)])
def test_kaufman_derivatives_match_richardson(J, K, theta):
    """Analytic beta-derivatives against a Richardson-extrapolated central difference of log Z."""
    m, n = 64, 48

    def f(beta):
        return kaufman_log_partition(m, n, J * beta, K * beta) / (m * n)

    def d1(hh):
        return (f(1 / theta + hh) - f(1 / theta - hh)) / (2 * hh)

    def du(hh):  # d u / d beta from the analytic energy
        return (kaufman_energy_per_site(m, n, J, K, 1 / (1 / theta + hh))
                - kaufman_energy_per_site(m, n, J, K, 1 / (1 / theta - hh))) / (2 * hh)

    def richardson(d, hh):  # two levels: error O(hh^6)
        r1, r2, r3 = d(hh), d(hh / 2), d(hh / 4)
        a, b = (4 * r2 - r1) / 3, (4 * r3 - r2) / 3
        return (16 * b - a) / 15

    u_rich = -richardson(d1, 1e-3)
    c_rich = -richardson(du, 5e-4) / theta**2  # C = -beta^2 du/dbeta
    assert kaufman_energy_per_site(m, n, J, K, theta) == pytest.approx(u_rich, abs=1e-9)
    assert kaufman_specific_heat_per_site(m, n, J, K, theta) == pytest.approx(c_rich, abs=1e-9)


def test_kaufman_approaches_onsager():
    tc = onsager_critical_temperature()
    assert tc == pytest.approx(2.269185314213022, rel=1e-15)
    assert onsager_energy_per_site(tc) == pytest.approx(-SQRT2, rel=1e-15)
    # off criticality the torus converges exponentially fast to Onsager's infinite lattice
    for theta in (1.5, 3.0):
        assert kaufman_energy_per_site(64, 64, 1.0, 1.0, theta) == pytest.approx(
            onsager_energy_per_site(theta), abs=1e-12)
    # at theta_c: u_L = -sqrt 2 + a / L + o(1/L) (finite-size scaling on the torus)
    sizes = [32, 64, 128, 256, 512]
    dev = np.array([kaufman_energy_per_site(L, L, 1.0, 1.0, tc) + SQRT2 for L in sizes])
    assert np.all(dev < 0) and np.all(np.diff(np.abs(dev)) < 0)
    scaled = dev * np.array(sizes)
    assert np.all(np.abs(np.diff(scaled)) < np.abs(np.diff(scaled))[0] * 1.01)
    assert abs(scaled[-1] - scaled[-2]) < 1e-3
    # specific heat at theta_c grows like (8/pi) beta_c^2 ln L (Ferdinand & Fisher 1969)
    c = [kaufman_specific_heat_per_site(L, L, 1.0, 1.0, tc) for L in (256, 512, 1024)]
    slope = (8 / np.pi) * (1 / tc) ** 2 * np.log(2.0)
    assert abs(c[2] - c[1] - slope) < abs(c[1] - c[0] - slope) < 5e-4


def test_critical_line_and_spontaneous_magnetization():
    assert anisotropic_critical_temperature(1.0, 1.0) == pytest.approx(
        onsager_critical_temperature(), rel=1e-13)
    for J, K in [(1.0, 0.3), (0.2, 2.0)]:
        tc = anisotropic_critical_temperature(J, K)
        assert np.sinh(2 * J / tc) * np.sinh(2 * K / tc) == pytest.approx(1.0, rel=1e-12)
        # the Kaufman gamma_0 = 2K/theta - 2 (J/theta)* changes sign on this line: the specific
        # heat of a large torus peaks near it
        temps = tc * np.array([0.9, 1.0, 1.1])
        cs = [kaufman_specific_heat_per_site(128, 128, J, K, t) for t in temps]
        assert cs[1] > cs[0] and cs[1] > cs[2]
    tc = onsager_critical_temperature()
    assert spontaneous_magnetization(tc * 1.0001) == 0.0
    assert spontaneous_magnetization(1.0) == pytest.approx(
        (1 - np.sinh(2.0) ** -4) ** 0.125, rel=1e-15)
    assert 0 < spontaneous_magnetization(tc * 0.9999) < 0.5


# --------------------------------------------------------------------------- chains (E3)
def test_chain_correlations_against_enumeration():
    K, theta, T = 0.8, 1.3, 10
    r_open = exact_moments(np.zeros((1, 1)), np.array([K]), np.zeros((1, T)), 1 / theta, False)
    C = r_open["second_moment"]
    lags = np.arange(T - 3)
    np.testing.assert_allclose(C[2, 2 + lags], open_chain_correlation(K, theta, lags), atol=1e-13)
    for T in (2, 3, 8):
        r = exact_moments(np.zeros((1, 1)), np.array([K]), np.zeros((1, T)), 1 / theta, True)
        lags = np.arange(T)
        np.testing.assert_allclose(r["second_moment"][0, lags],
                                   periodic_chain_correlation(K, theta, T, lags), atol=1e-13)
        # E5's chi_T is the sum of these correlations: T <m^2> for one chain
        assert chi_T(K, theta, T) == pytest.approx(T * r["m2"], rel=1e-12)


@pytest.mark.parametrize("K", [0.6, -0.4])
def test_chain_magnetization_in_field(K):
    h, theta = 0.25, 0.9
    for T in (1, 2, 5, 12):
        r = exact_moments(np.zeros((1, 1)), np.array([K]), np.full((1, T), h), 1 / theta, True)
        assert periodic_chain_magnetization(K, h, theta, T) == pytest.approx(
            r["magnetization"], rel=1e-12)
    # the periodic chain converges to the infinite chain as rho^T
    assert periodic_chain_magnetization(K, h, theta, 400) == pytest.approx(
        chain_magnetization_in_field(K, h, theta), rel=1e-14)
    assert chain_magnetization_in_field(K, -h, theta) == -chain_magnetization_in_field(K, h, theta)
    assert chain_magnetization_in_field(0.0, h, theta) == pytest.approx(np.tanh(h / theta))


# --------------------------------------------------------------------------- Curie-Weiss (E4, E5)
@pytest.mark.parametrize("J,h,theta", [(1.0, 0.0, 0.7), (1.0, 0.0, 1.5), (-0.5, 0.3, 1.0),
                                       (2.0, -0.1, 1.2)])
def test_curie_weiss_against_enumeration(J, h, theta):
    n = 10
    Jm = np.full((n, n), J / n)
    np.fill_diagonal(Jm, 0.0)
    r = exact_moments(Jm, np.zeros(n), np.full((n, 1), h), 1 / theta, True)
    cw = curie_weiss_moments(n, J, h, theta)
    for key, val in cw.items():
        assert val == pytest.approx(r[key], rel=1e-11, abs=1e-13), key


def test_curie_weiss_large_n_limits():
    J, theta = 1.0, 2.0
    chi = curie_weiss_limit_n_m2(J, theta)
    assert chi == pytest.approx(2.0)
    # n <m^2> = chi + a/n + O(1/n^2)
    devs = [(n * curie_weiss_moments(n, J, 0.0, theta)["m2"] - chi) * n for n in (1000, 4000)]
    assert devs[1] == pytest.approx(devs[0], rel=0.01)
    # ordered phase: <|m|> -> m*, Binder -> 2/3
    r = curie_weiss_moments(20000, J, 0.0, 0.8)
    m_star = curie_weiss_mean_field_magnetization(J, 0.0, 0.8)
    assert m_star == pytest.approx(np.tanh(m_star / 0.8), abs=1e-15)
    assert r["abs_magnetization"] == pytest.approx(m_star, abs=1e-3)
    assert r["binder"] == pytest.approx(2 / 3, abs=1e-3)
    with pytest.raises(ParameterError):
        curie_weiss_limit_n_m2(1.0, 0.9)


def test_temporal_critical_line():
    K, theta = 0.4, 1.1
    tau = np.tanh(K / theta)
    for T in (1, 2, 7, 50):
        lags = np.arange(T)
        expected = 1.0 if T == 1 else periodic_chain_correlation(K, theta, T, lags).sum()
        assert chi_T(K, theta, T) == pytest.approx(expected, rel=1e-13)
        jc = critical_coupling_all_to_all_temporal(K, theta, T)
        assert (jc / theta) * chi_T(K, theta, T) == pytest.approx(1.0, rel=1e-14)
    assert chi_T(K, theta, 10**6) == pytest.approx(np.exp(2 * K / theta), rel=1e-14)
    assert chi_T(K, theta, 9) == pytest.approx(
        (1 + tau) * (1 - tau**9) / ((1 - tau) * (1 + tau**9)), rel=1e-14)
    assert critical_coupling_all_to_all_temporal(0.0, theta, 20) == pytest.approx(theta)
