"""Wolff cluster kernel (neurolattice_core.kernels.cluster) against exact results.

Statistical tests use independent replicas: each replica's time average is one sample, and the
standard error is the spread of those averages over sqrt(R). Tolerance: 4.5 standard errors.
"""

import threading

import numba
import numpy as np
import pytest
from numba import njit

from neurolattice_core import connectivity as conn
from neurolattice_core.errors import ParameterError
from neurolattice_core.exact import energy_of, exact_moments
from neurolattice_core.kernels.cluster import (
    check_ferromagnetic,
    cluster_sweeps,
    sweep_equivalent_updates,
)
from neurolattice_core.kernels.rng import random_uniform, stream_key

THETA_C = 2.269185
STALL_SECONDS = 300   # a sweep loop still running after this has stalled
N_SIGMA = 4.5


def _keys(seed, n_rep):
    return np.array([stream_key(seed, r) for r in range(n_rep)], dtype=np.uint64)


def _hot_start(seed, shape):
    rng = np.random.default_rng(seed)
    return np.where(rng.random(shape) < 0.5, -1, 1).astype(np.int8)


def _run(couplings, K, fields, theta, periodic, *, n_rep, n_burn, n_meas, updates, seed):
    """Sample with Wolff updates; return per-replica time averages of E, m, |m|, m^2."""
    n, t_len = fields.shape
    spins = _hot_start(seed, (n_rep, n, t_len))
    kw = dict(indptr=couplings.indptr, indices=couplings.indices, weights=couplings.weights,
              K=K, fields=fields, betas=np.full(n_rep, 1.0 / theta), time_periodic=periodic,
              keys=_keys(seed, n_rep))
    cluster_sweeps(spins, n_updates=n_burn, sweep_offset=0, **kw)
    J = couplings.dense()
    sums = np.zeros((4, n_rep))
    for call in range(1, n_meas + 1):
        cluster_sweeps(spins, n_updates=updates, sweep_offset=call, **kw)
        m = spins.mean(axis=(1, 2), dtype=np.float64)
        sums += [energy_of(spins, J, K, fields, periodic), m, np.abs(m), m * m]
    return sums / n_meas


def _ring_torus(n, t_len, J=1.0, K=1.0):
    return conn.ring(n, J), np.full(n, K)


CASES = {
    # name: (couplings, K, fields, theta, periodic)
    "ring 4x4 torus": (*_ring_torus(4, 4), np.zeros((4, 4)), 2.5, True),
    "ring 4x4 open time": (conn.ring(4, 1.0), np.full(4, 0.7), np.zeros((4, 4)), 2.0, False),
    "all-to-all 3x4": (conn.all_to_all(3, 1.5), np.full(3, 0.6), np.zeros((3, 4)), 1.5, True),
    "per-site fields": (conn.ring(4, 0.8), np.array([0.3, 0.9, 0.0, 0.5]),
                        np.random.default_rng(7).normal(0.0, 0.6, (4, 3)), 1.2, False),
    "uniform field 4x4": (*_ring_torus(4, 4), np.full((4, 4), 0.15), 2.3, True),
    "T=2 periodic (double bond)": (conn.ring(4, 0.7), np.full(4, 0.5), np.full((4, 2), -0.2),
                                   1.3, True),
    "T=1 all-to-all slice": (conn.all_to_all(8, 1.2), np.zeros(8), np.zeros((8, 1)), 1.0, True),
}


@pytest.mark.parametrize("name", list(CASES))
def test_matches_exact_enumeration(name):
    couplings, K, fields, theta, periodic = CASES[name]
    exact = exact_moments(couplings.dense(), K, fields, 1.0 / theta, periodic)
    samples = _run(couplings, K, fields, theta, periodic, n_rep=256, n_burn=20, n_meas=150,
                   updates=2, seed=11)
    for row, key in enumerate(("energy", "magnetization", "abs_magnetization", "m2")):
        mean = samples[row].mean()
        error = samples[row].std(ddof=1) / np.sqrt(samples.shape[1])
        assert abs(mean - exact[key]) < N_SIGMA * error + 1e-12, (name, key, mean, exact[key],
                                                                   error)


def _kaufman(theta):
    from neurolattice_core.exact_ising import kaufman_energy_per_site
    return kaufman_energy_per_site(16, 16, 1.0, 1.0, theta)


@pytest.mark.parametrize("theta", [2.0, THETA_C, 2.6])
def test_torus_16x16_energy_matches_kaufman(theta):
    n = t_len = 16
    couplings, K = _ring_torus(n, t_len)
    fields = np.zeros((n, t_len))
    n_rep = 64
    spins = np.ones((n_rep, n, t_len), dtype=np.int8)
    kw = dict(indptr=couplings.indptr, indices=couplings.indices, weights=couplings.weights,
              K=K, fields=fields, betas=np.full(n_rep, 1.0 / theta), time_periodic=True,
              keys=_keys(3, n_rep))
    flipped = cluster_sweeps(spins, n_updates=100, sweep_offset=0, **kw)
    per_sweep = sweep_equivalent_updates(flipped, 100, n * t_len)
    J = couplings.dense()
    total = np.zeros(n_rep)
    n_meas = 300
    for call in range(1, n_meas + 1):
        cluster_sweeps(spins, n_updates=per_sweep, sweep_offset=call, **kw)
        total += energy_of(spins, J, K, fields, True) / (n * t_len)
    averages = total / n_meas
    error = averages.std(ddof=1) / np.sqrt(n_rep)
    assert error < 4e-3  # the infinite-lattice value differs by 0.04 at theta_c
    assert abs(averages.mean() - _kaufman(theta)) < N_SIGMA * error


# ----------------------------------------------------------------- autocorrelation vs local
@njit  # no cache: the cache index would tie the kernel to this test module's import name
def _heat_bath_torus(spins, beta, n_sweeps, key, offset, trace):
    """Sequential heat bath on (R, L, L) tori (J = K = 1, h = 0); |m| after every sweep."""
    n_rep, n, t_len = spins.shape
    for r in range(n_rep):
        for sweep in range(n_sweeps):
            base = ((offset + sweep) * n_rep + r) * n * t_len
            total = 0
            for i in range(n):
                for t in range(t_len):
                    local = (spins[r, (i + 1) % n, t] + spins[r, (i - 1) % n, t]
                             + spins[r, i, (t + 1) % t_len] + spins[r, i, (t - 1) % t_len])
                    u = random_uniform(key, np.uint64(base + i * t_len + t))
                    spins[r, i, t] = 1 if u < 1.0 / (1.0 + np.exp(-2.0 * beta * local)) else -1
            for i in range(n):
                for t in range(t_len):
                    total += spins[r, i, t]
            trace[r, sweep] = abs(total) / (n * t_len)


def _tau_int(series, c=6.0):
    """Integrated autocorrelation time of (R, n) series, Sokal's automatic window."""
    x = series - series.mean()
    n = x.shape[1]
    f = np.fft.rfft(x, 2 * n, axis=1)
    acf = np.fft.irfft(f * np.conj(f), axis=1)[:, :n].mean(axis=0)
    acf /= np.arange(n, 0, -1)
    rho = acf / acf[0]
    tau = 0.5
    for w in range(1, n):
        tau += rho[w]
        if w >= c * tau:
            break
    return tau


def test_cluster_decorrelates_much_faster_than_local_at_theta_c():
    n = t_len = 16
    sites = n * t_len
    beta = 1.0 / THETA_C
    n_rep = 64
    # local heat bath: |m| per sweep
    local_spins = np.ones((n_rep, n, t_len), dtype=np.int8)
    burn = np.empty((n_rep, 300))
    _heat_bath_torus(local_spins, beta, 300, stream_key(5, 1), 0, burn)
    local_trace = np.empty((n_rep, 2000))
    _heat_bath_torus(local_spins, beta, 2000, stream_key(5, 1), 300, local_trace)
    tau_local = _tau_int(local_trace)
    # Wolff: |m| after every cluster update, then converted to sweeps
    couplings, K = _ring_torus(n, t_len)
    spins = np.ones((n_rep, n, t_len), dtype=np.int8)
    kw = dict(indptr=couplings.indptr, indices=couplings.indices, weights=couplings.weights,
              K=K, fields=np.zeros((n, t_len)), betas=np.full(n_rep, beta), time_periodic=True,
              keys=_keys(9, n_rep))
    cluster_sweeps(spins, n_updates=200, sweep_offset=0, **kw)
    n_steps = 800
    trace = np.empty((n_rep, n_steps))
    flipped = np.zeros(n_rep)
    for step in range(n_steps):
        flipped += cluster_sweeps(spins, n_updates=1, sweep_offset=step + 1, **kw)
        trace[:, step] = np.abs(spins.mean(axis=(1, 2)))
    mean_cluster = flipped.sum() / (n_rep * n_steps)
    tau_cluster = _tau_int(trace) * mean_cluster / sites
    assert tau_local > 8.0 * tau_cluster, (tau_local, tau_cluster)


# ----------------------------------------------------------------- determinism, validation
def _ring_call(n_rep=6, n=10, t_len=7, seed=4):
    couplings = conn.ring(n, 0.9)
    rng = np.random.default_rng(seed)
    kw = dict(indptr=couplings.indptr, indices=couplings.indices, weights=couplings.weights,
              K=rng.uniform(0.2, 1.0, n), fields=rng.normal(0, 0.3, (n, t_len)),
              betas=np.linspace(0.3, 1.2, n_rep), time_periodic=False, keys=_keys(seed, n_rep))
    return _hot_start(seed, (n_rep, n, t_len)), kw


def test_bit_identical_for_one_and_two_threads():
    spins, kw = _ring_call()
    results = []
    previous = numba.get_num_threads()
    try:
        for threads in (1, min(2, numba.config.NUMBA_NUM_THREADS)):
            numba.set_num_threads(threads)
            s = spins.copy()
            flips = [cluster_sweeps(s, n_updates=np.arange(6) + 20, sweep_offset=k, **kw)
                     for k in range(3)]
            results.append((s, np.array(flips)))
    finally:
        numba.set_num_threads(previous)
    np.testing.assert_array_equal(results[0][0], results[1][0])
    np.testing.assert_array_equal(results[0][1], results[1][1])


def test_same_offset_repeats_and_different_offsets_differ():
    spins, kw = _ring_call()
    a, b, c = spins.copy(), spins.copy(), spins.copy()
    fa = cluster_sweeps(a, n_updates=30, sweep_offset=5, **kw)
    fb = cluster_sweeps(b, n_updates=30, sweep_offset=5, **kw)
    cluster_sweeps(c, n_updates=30, sweep_offset=6, **kw)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(fa, fb)
    assert not np.array_equal(a, c)
    assert np.all(fa > 0)


def test_flip_count_is_the_number_of_changed_spins_for_one_update():
    spins, kw = _ring_call()
    before = spins.copy()
    flips = cluster_sweeps(spins, n_updates=1, sweep_offset=0, **kw)
    np.testing.assert_array_equal(flips, (spins != before).sum(axis=(1, 2)))


def test_zero_updates_leave_spins_unchanged():
    spins, kw = _ring_call()
    before = spins.copy()
    flips = cluster_sweeps(spins, n_updates=0, sweep_offset=0, **kw)
    np.testing.assert_array_equal(spins, before)
    assert np.all(flips == 0)


def test_negative_coupling_names_the_pair():
    J = np.zeros((4, 4))
    J[0, 1] = J[1, 0] = 0.5
    J[2, 3] = J[3, 2] = -0.25
    couplings = conn.from_matrix(J)
    spins, kw = _ring_call(n=4)
    kw.update(indptr=couplings.indptr, indices=couplings.indices, weights=couplings.weights)
    with pytest.raises(ParameterError, match=r"J\[2, 3\]"):
        cluster_sweeps(spins, n_updates=1, sweep_offset=0, **kw)
    with pytest.raises(ParameterError, match=r"K\[1\]"):
        check_ferromagnetic(np.array([0, 0]), np.array([], dtype=np.int64), np.array([]),
                            np.array([0.1, -0.3, -1.0]))


def test_input_validation():
    spins, kw = _ring_call()
    with pytest.raises(TypeError, match="spins"):
        cluster_sweeps(spins.astype(np.int16), n_updates=1, sweep_offset=0, **kw)
    with pytest.raises(ValueError, match="betas"):
        cluster_sweeps(spins, n_updates=1, sweep_offset=0, **{**kw, "betas": -kw["betas"]})
    with pytest.raises(ValueError, match="fields"):
        cluster_sweeps(spins, n_updates=1, sweep_offset=0, **{**kw, "fields": kw["fields"][:, :3]})
    with pytest.raises(ValueError, match="n_updates"):
        cluster_sweeps(spins, n_updates=-1, sweep_offset=0, **kw)
    with pytest.raises(ValueError, match="-1 and"):
        cluster_sweeps(np.zeros_like(spins), n_updates=1, sweep_offset=0, **kw)


def test_sweep_equivalent_updates():
    counts = sweep_equivalent_updates(np.array([100, 4000, 0]), 10, 400, n_sweeps=2.0)
    np.testing.assert_array_equal(counts, [80, 2, 800])


@pytest.mark.parametrize("theta", [1.5, 2.269185, 4.0])
def test_a_cluster_sweep_flips_about_as_many_spins_as_sites(theta):
    """Calibrated from a hot start: the count fixed from the hot start's first clusters made a
    sweep at theta_c flip about 2000 N*T spins once the lattice had ordered."""
    from neurolattice_core.engine import ClusterPath, build_path
    from neurolattice_core.model import LatticeModel

    model = LatticeModel.create(neurons=128, ticks=512, connectivity="ring", temperature=theta)
    for seed in range(3):
        path, _ = build_path(model, "cluster", seed=seed)
        calibration = path.sweep(ClusterPath.CALIBRATION_SWEEPS).sum() / path.sites
        assert calibration < 10 * ClusterPath.CALIBRATION_SWEEPS
        per_sweep = path.sweep(40).sum() / path.sites / 40
        assert 0.5 < per_sweep < 2.0   # the old count made it about 2000 at theta_c


def test_a_field_that_refuses_the_clusters_does_not_stall_the_calibration():
    """h = 20 theta: the ghost link refuses almost every cluster; calibration sweeps then stop
    after N*T updates (the cost of one-spin clusters) instead of waiting for N*T flips."""
    from neurolattice_core.engine import ClusterPath, build_path
    from neurolattice_core.model import LatticeModel

    model = LatticeModel.create(neurons=32, ticks=64, connectivity="ring", temperature=1.0,
                                h=20.0)
    path, _ = build_path(model, "cluster", seed=1)
    result = []
    worker = threading.Thread(target=lambda: result.append(
        path.sweep(ClusterPath.CALIBRATION_SWEEPS + 8)), daemon=True)
    worker.start()
    worker.join(STALL_SECONDS)   # a hang guard, not a speed test: 40 sweeps take < 1 s
    assert result, f"40 cluster sweeps at h = 20 theta did not end in {STALL_SECONDS} s"
    flipped = result[0]
    assert path.sweeps_done == ClusterPath.CALIBRATION_SWEEPS + 8
    assert flipped.sum() < 0.1 * path.sites * path.sweeps_done
