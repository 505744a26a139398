"""Tests of the general local-update path (kernels.local): exactness, determinism, validation.

Statistical tests run R independent replicas (independent chains: distinct keys) from random
starts; each replica's time average over the measured sweeps is one independent sample, so
the standard error of an observable is std(replica averages) / sqrt(R). Couplings are moderate
(beta |J| (N - 1), beta |K| below ~1) so that 100 burn-in sweeps are many autocorrelation
times: in a strongly ordered phase each replica would stay in the basin of its random start
and the replica average would be biased in a way error bars do not show. Every comparison with
exact enumeration must hold within Z_MAX = 5 standard errors (about 300 comparisons in this
file: a false alarm has probability ~1e-4 overall; seeds are fixed, so runs are reproducible).
"""

import zlib

import numba
import numpy as np
import pytest

from neurolattice_core.errors import ParameterError
from neurolattice_core.exact import exact_moments
from neurolattice_core.kernels import local
from neurolattice_core.kernels.local import (
    LocalState,
    colour_graph,
    local_sweeps,
    quantise_couplings,
)
from neurolattice_core.kernels.rng import stream_key

Z_MAX = 5.0


# ----------------------------------------------------------------------------- helpers
def ring_csr(n, w=1.0):
    rows = np.repeat(np.arange(n), 2)
    cols = np.stack([(np.arange(n) - 1) % n, (np.arange(n) + 1) % n], axis=1).reshape(-1)
    return dense_to_csr(_dense_from_edges(n, rows, cols, np.full(rows.size, w)))


def _dense_from_edges(n, rows, cols, w):
    J = np.zeros((n, n))
    J[rows, cols] = w
    return J


def dense_to_csr(J):
    n = J.shape[0]
    indptr = np.zeros(n + 1, dtype=np.int64)
    indices, weights = [], []
    for i in range(n):
        nz = np.flatnonzero(J[i])
        indices.extend(nz.tolist())
        weights.extend(J[i, nz].tolist())
        indptr[i + 1] = len(indices)
    return indptr, np.array(indices, dtype=np.int64), np.array(weights, dtype=np.float64)


def grid_2x2_dense(rng):
    """2 x 2 sheet, 4 nearest neighbours with open edges: bonds 0-1, 2-3, 0-2, 1-3."""
    J = np.zeros((4, 4))
    for (a, b) in [(0, 1), (2, 3), (0, 2), (1, 3)]:
        J[a, b] = J[b, a] = rng.uniform(0.2, 0.8)
    return J


def energy(x, J, K, h, periodic):
    """E of configurations x (M, N, T) in the MODEL.md convention (numpy, independent check)."""
    x = x.astype(np.float64)
    e = -0.5 * np.einsum("mit,ij,mjt->m", x, J, x) - np.einsum("it,mit->m", h, x)
    T = x.shape[2]
    if T >= 2:
        bonds = np.arange(T) if periodic else np.arange(T - 1)
        e -= np.einsum("i,mit->m", K, x[:, :, bonds] * x[:, :, (bonds + 1) % T])
    return e


def keys_for(seed, R):
    return np.array([stream_key(seed, r) for r in range(R)], dtype=np.uint64)


def random_spins(rng, shape):
    return rng.choice(np.array([-1, 1], dtype=np.int8), size=shape)


def kind_args(kind, J):
    """Keyword arguments describing the couplings J (dense (N, N)) for ``kind``."""
    if kind == "all-to-all":
        return dict(J_all=float(J[0, 1]))
    if kind == "sparse":
        indptr, indices, weights = dense_to_csr(J)
        return dict(indptr=indptr, indices=indices, weights=weights)
    return dict(J_dense=J)


def sample(kind, J, K, h, beta, periodic, method, pairs, R=1500, burn=100, n_meas=50, seed=1):
    """Time averages per replica of E, s_it and s_a s_b for ``pairs`` (a = i T + t).

    Measured every 3 sweeps: Metropolis with a systematic scan can be periodic (a spin with
    H = 0 flips at every sweep), so an even stride could alias.
    """
    rng = np.random.default_rng(seed)
    n, T = h.shape
    spins = random_spins(rng, (R, n, T))
    keys = keys_for(seed, R)
    common = dict(kind=kind, K=K, fields=h, betas=np.full(R, beta), time_periodic=periodic,
                  method=method, keys=keys, **kind_args(kind, J))
    local_sweeps(spins, n_sweeps=burn, sweep_offset=0, **common)
    e_sum = np.zeros(R)
    m_sum = np.zeros((R, n * T))
    a, b = np.array(pairs).T
    c_sum = np.zeros((R, a.size))
    for k in range(n_meas):
        local_sweeps(spins, n_sweeps=3, sweep_offset=burn + 3 * k, **common)
        x = spins.reshape(R, n * T).astype(np.float64)
        e_sum += energy(spins, J, K, h, periodic)
        m_sum += x
        c_sum += x[:, a] * x[:, b]
    return e_sum / n_meas, m_sum / n_meas, c_sum / n_meas


def assert_matches_exact(kind, J, K, h, beta, periodic, method, pairs):
    ex = exact_moments(J, K, h, beta, periodic)
    e, m, c = sample(kind, J, K, h, beta, periodic, method, pairs)
    R = e.size

    def check(samples, exact, what):
        mean = samples.mean(axis=0)
        se = samples.std(axis=0, ddof=1) / np.sqrt(R)
        z = np.abs(mean - exact) / np.maximum(se, 1e-12)
        assert np.all(z < Z_MAX), f"{what}: max z = {z.max():.2f} (mean {mean}, exact {exact})"

    check(e, ex["energy"], "<E>")
    check(m, ex["site_mean"].reshape(-1), "<s_it>")
    a, b = np.array(pairs).T
    check(c, ex["second_moment"][a, b], "<s_a s_b>")


CASES = {
    # name: (kind, N, T, J builder)
    "all-to-all": ("all-to-all", 3, 4, lambda rng, n: 0.45 * (1 - np.eye(n))),
    "sparse-ring": ("sparse", 4, 3, lambda rng, n: _dense_from_edges(
        n, np.repeat(np.arange(n), 2),
        np.stack([(np.arange(n) - 1) % n, (np.arange(n) + 1) % n], 1).reshape(-1), 0.6)),
    "sparse-grid": ("sparse", 4, 3, lambda rng, n: grid_2x2_dense(rng)),
    "dense": ("dense", 4, 3, None),
}


def _dense_random(rng, n):
    A = rng.normal(0.0, 0.7, size=(n, n))
    J = np.triu(A, 1)
    return J + J.T


@pytest.mark.parametrize("periodic", [True, False])
@pytest.mark.parametrize("method", ["heatbath", "metropolis"])
@pytest.mark.parametrize("case", list(CASES))
def test_moments_match_exact_enumeration(case, method, periodic):
    kind, n, T, build = CASES[case]
    rng = np.random.default_rng(zlib.crc32(f"{case}-{method}-{periodic}".encode()))
    J = _dense_random(rng, n) if build is None else build(rng, n)
    K = rng.uniform(0.1, 0.9, n)
    h = rng.normal(0.0, 0.4, (n, T))
    a = lambda i, t: i * T + t  # noqa: E731
    pairs = [(a(0, 0), a(1, 0)), (a(0, 0), a(0, 1)), (a(1, T - 1), a(1, 0)),
             (a(n - 1, 1), a(0, 2)), (a(2, 0), a(3 % n, 0))]
    assert_matches_exact(kind, J, K, h, 0.6, periodic, method, pairs)


@pytest.mark.parametrize("kind, n, T, periodic", [
    ("dense", 3, 5, True),       # odd periodic T with three time classes, 15 sites
    ("dense", 4, 2, True),       # T == 2 periodic: ticks coupled by 2 K_i
    ("all-to-all", 6, 1, True),  # T == 1: no temporal bond even if "periodic"
    ("sparse", 5, 3, False),     # ring with an odd number of neurons (3 colours)
])
def test_special_time_boundaries_match_exact(kind, n, T, periodic):
    rng = np.random.default_rng(7 + n + T)
    if kind == "sparse":
        J = _dense_from_edges(n, np.repeat(np.arange(n), 2),
                              np.stack([(np.arange(n) - 1) % n, (np.arange(n) + 1) % n],
                                       1).reshape(-1), -0.5)
    elif kind == "all-to-all":
        J = -0.3 * (1 - np.eye(n))
    else:
        J = _dense_random(rng, n)
    K = rng.uniform(-0.8, 0.8, n)
    h = rng.normal(0.0, 0.5, (n, T))
    pairs = [(0, T), (0, T - 1 if T > 1 else 1), (T - 1, 0), (1, 2 * T - 1)]
    for method in ("heatbath", "metropolis"):
        assert_matches_exact(kind, J, K, h, 0.6, periodic, method, pairs)


# ----------------------------------------------------------------------------- determinism
def _run_all_kinds(n_threads, R=4, n=13, T=17, offset_split=None):
    numba.set_num_threads(n_threads)
    rng = np.random.default_rng(3)
    J = _dense_random(rng, n) / np.sqrt(n)
    J[np.abs(J) < 0.15] = 0.0   # a sparse graph with mixed signs
    K = rng.uniform(0, 1, n)
    h = rng.normal(0, 0.3, (n, T))
    out = {}
    for kind in ("all-to-all", "sparse", "dense"):
        for method in ("heatbath", "metropolis"):
            spins = random_spins(np.random.default_rng(5), (R, n, T))
            common = dict(kind=kind, K=K, fields=h, betas=np.linspace(0.3, 1.5, R),
                          time_periodic=True, method=method, keys=keys_for(11, R),
                          **kind_args(kind, J if kind != "all-to-all" else 0.1 * (1 - np.eye(n))))
            if offset_split is None:
                flips = local_sweeps(spins, n_sweeps=7, sweep_offset=0, **common)
            else:
                flips = local_sweeps(spins, n_sweeps=offset_split, sweep_offset=0, **common)
                flips = flips + local_sweeps(spins, n_sweeps=7 - offset_split,
                                             sweep_offset=offset_split, **common)
            out[kind, method] = (spins.copy(), flips)
    return out


def test_bit_identical_for_one_and_two_threads():
    default = numba.get_num_threads()
    try:
        one = _run_all_kinds(1)
        two = _run_all_kinds(min(2, numba.config.NUMBA_NUM_THREADS))
    finally:
        numba.set_num_threads(default)
    for key in one:
        assert np.array_equal(one[key][0], two[key][0]), key
        assert np.array_equal(one[key][1], two[key][1]), key


def test_sweep_offset_continues_the_stream():
    whole = _run_all_kinds(numba.get_num_threads())
    split = _run_all_kinds(numba.get_num_threads(), offset_split=3)
    for key in whole:
        assert np.array_equal(whole[key][0], split[key][0]), key
        assert np.array_equal(whole[key][1], split[key][1]), key


def _state(kind, R=3, n=11, T=15, periodic=True, seed=8):
    rng = np.random.default_rng(seed)
    J = _dense_random(rng, n) / np.sqrt(n)
    J[np.abs(J) < 0.2] = 0.0
    spins = random_spins(rng, (R, n, T))
    args = dict(kind=kind, K=rng.uniform(-0.5, 1.0, n), fields=rng.normal(0, 0.3, (n, T)),
                time_periodic=periodic,
                **kind_args(kind, J if kind != "all-to-all" else 0.1 * (1 - np.eye(n))))
    return spins, args


@pytest.mark.parametrize("kind", ["all-to-all", "sparse", "dense"])
def test_resident_state_matches_fresh_calls_and_caches_stay_exact(kind):
    """LocalState over several calls == local_sweeps per call; caches equal a rebuild."""
    spins, args = _state(kind, seed=13)
    state = LocalState(spins, **args)
    run = dict(betas=np.array([0.5, 1.0, 1.5]), method="metropolis", keys=keys_for(6, 3))
    fresh = spins.copy()
    offset = 0
    for n_sweeps in (1, 3, 2):
        a = state.sweep(n_sweeps=n_sweeps, sweep_offset=offset, **run)
        b = local_sweeps(fresh, n_sweeps=n_sweeps, sweep_offset=offset, **args, **run)
        offset += n_sweeps
        assert np.array_equal(a, b)
        assert np.array_equal(state.spins(), fresh)
    rebuilt = LocalState(state.spins(), **args)
    assert np.array_equal(state._S, rebuilt._S) and np.array_equal(state._phi, rebuilt._phi)
    assert np.array_equal(state._W, rebuilt._W)



@pytest.mark.parametrize("method", ["heatbath", "metropolis"])
@pytest.mark.parametrize("kind", ["all-to-all", "sparse", "dense"])
def test_flip_count_equals_changed_sites_after_one_sweep(kind, method):
    rng = np.random.default_rng(2)
    R, n, T = 3, 9, 8
    J = _dense_random(rng, n) * (rng.random((n, n)) < 0.5)
    J = np.triu(J, 1) + np.triu(J, 1).T
    spins = random_spins(rng, (R, n, T))
    before = spins.copy()
    flips = local_sweeps(spins, kind=kind, K=np.full(n, 0.3), fields=rng.normal(0, 1, (n, T)),
                         betas=np.full(R, 0.7), time_periodic=False, method=method, n_sweeps=1,
                         keys=keys_for(4, R), sweep_offset=0,
                         **kind_args(kind, J if kind != "all-to-all" else 0.2 * (1 - np.eye(n))))
    assert flips.dtype == np.int64 and flips.shape == (R,)
    assert np.array_equal(flips, (spins != before).sum(axis=(1, 2)))
    assert set(np.unique(spins)) <= {-1, 1}



def _odd_distance_csr(n, distances, J):
    """CSR of the neurons at the given odd distances (both sides), weights J[i, j] (0 allowed)."""
    indptr, indices, weights = [0], [], []
    for i in range(n):
        neighbours = sorted({(i + sign * d) % n for d in distances for sign in (-1, 1)})
        indices += neighbours
        weights += [J[i, j] for j in neighbours]
        indptr.append(len(indices))
    return dict(indptr=np.array(indptr), indices=np.array(indices), weights=np.array(weights))


@pytest.mark.parametrize("method", ["heatbath", "metropolis"])
@pytest.mark.parametrize("distances", [(1,), (1, 3)], ids=["ring", "four neighbours"])
def test_one_pass_neurons_match_the_two_pass_update(distances, method):
    """Neurons with two or four neighbours take the one-pass update; the same couplings with
    zero ones at distances 5 and 7 added (more neighbours, the same colours and the same sums
    in CSR order) take the two passes: the same spins and flips, bit for bit."""
    rng = np.random.default_rng(13)
    R, n, T = 2, 24, 70
    spins = random_spins(rng, (R, n, T))
    J = np.zeros((n, n))
    for d in distances:
        J[np.arange(n), (np.arange(n) + d) % n] = rng.uniform(0.4, 1.2, n)
    J = J + J.T
    K = rng.uniform(0.2, 0.9, n)
    out = []
    for extra in ((), (5, 7)):
        couplings = _odd_distance_csr(n, distances + extra, J)
        assert np.all(np.diff(couplings["indptr"]) == 2 * len(distances + extra))
        state = spins.copy()
        flips = local_sweeps(state, kind="sparse", K=K, fields=np.full((n, T), 0.15),
                             betas=np.array([0.5, 1.1]), time_periodic=True, method=method,
                             n_sweeps=6, keys=keys_for(6, R), sweep_offset=0, **couplings)
        out.append((state, flips))
    assert np.array_equal(out[0][0], out[1][0]) and np.array_equal(out[0][1], out[1][1])
    assert 0 < out[0][1].min() and not np.array_equal(out[0][0], spins)


def test_zero_sweeps_change_nothing():
    spins = random_spins(np.random.default_rng(0), (2, 3, 4))
    before = spins.copy()
    flips = local_sweeps(spins, kind="all-to-all", K=np.zeros(3), fields=np.zeros((3, 4)),
                         betas=np.ones(2), time_periodic=True, method="heatbath", n_sweeps=0,
                         keys=keys_for(0, 2), sweep_offset=0, J_all=0.1)
    assert np.array_equal(spins, before) and np.array_equal(flips, [0, 0])


# ----------------------------------------------------------------------------- couplings
def test_quantised_couplings_are_close_and_bounded():
    rng = np.random.default_rng(4)
    J = _dense_random(rng, 50)
    Jq, scale = quantise_couplings(J)
    assert Jq.dtype == np.int32 and np.array_equal(Jq, Jq.T)
    assert np.max(np.abs(Jq * scale - J)) <= scale / 2
    assert np.max(np.sum(np.abs(Jq.astype(np.int64)), axis=1)) + 50 < 2**31
    assert np.max(np.sum(np.abs(Jq.astype(np.int64)), axis=1)) > 2**29   # resolution is used
    Jq0, _ = quantise_couplings(np.zeros((3, 3)))
    assert not np.any(Jq0)


# ----------------------------------------------------------------------------- colouring
def test_colour_graph_is_proper_and_deterministic():
    rng = np.random.default_rng(1)
    n = 60
    A = rng.random((n, n)) < 0.1
    A = np.triu(A, 1)
    indptr, indices, _ = dense_to_csr((A | A.T).astype(float))
    colours = colour_graph(indptr, indices)
    assert colours.dtype == np.int64 and colours.shape == (n,)
    rows = np.repeat(np.arange(n), np.diff(indptr))
    assert np.all(colours[rows] != colours[indices])
    assert set(np.unique(colours)) == set(range(colours.max() + 1))
    assert np.array_equal(colours, colour_graph(indptr, indices))
    assert colours.max() <= np.diff(indptr).max()
    ip, ix, _ = ring_csr(6)
    assert np.array_equal(colour_graph(ip, ix), [0, 1, 0, 1, 0, 1])


def test_colour_graph_rejects_asymmetric_graphs():
    with pytest.raises(ParameterError, match="symmetric"):
        colour_graph(np.array([0, 1, 1], dtype=np.int64), np.array([1], dtype=np.int64))


# ----------------------------------------------------------------------------- validation
def _good():
    R, n, T = 2, 3, 4
    ip, ix, w = ring_csr(n)
    return dict(spins=np.ones((R, n, T), dtype=np.int8), kind="sparse", K=np.zeros(n),
                fields=np.zeros((n, T)), betas=np.ones(R), time_periodic=True,
                method="heatbath", n_sweeps=1, keys=keys_for(0, R), sweep_offset=0,
                indptr=ip, indices=ix, weights=w)


def _call(**changes):
    args = _good()
    args.update(changes)
    spins = args.pop("spins")
    return local_sweeps(spins, **args)


@pytest.mark.parametrize("changes, words", [
    (dict(spins=np.ones((2, 3, 4), dtype=np.int16)), "spins"),
    (dict(spins=np.ones((3, 4), dtype=np.int8)), "spins"),
    (dict(spins=np.zeros((2, 3, 4), dtype=np.int8)), "-1 and \\+1"),
    (dict(spins=np.ones((2, 3, 8), dtype=np.int8)[:, :, ::2]), "C-contiguous"),
    (dict(kind="hexagonal"), "kind"),
    (dict(method="glauber"), "method"),
    (dict(K=np.zeros(4)), "K"),
    (dict(K=np.array([0.0, np.nan, 0.0])), "K"),
    (dict(fields=np.zeros((3, 5))), "fields"),
    (dict(fields=np.full((3, 4), np.inf)), "fields"),
    (dict(fields=np.zeros((3, 4), dtype=complex)), "fields"),
    (dict(betas=np.array([1.0, 0.0])), "betas"),
    (dict(betas=np.array([1.0, -2.0])), "betas"),
    (dict(betas=np.array([1.0, np.nan])), "betas"),
    (dict(betas=np.ones(3)), "betas"),
    (dict(keys=np.zeros(2, dtype=np.int64)), "keys"),
    (dict(keys=np.zeros(3, dtype=np.uint64)), "keys"),
    (dict(n_sweeps=-1), "n_sweeps"),
    (dict(n_sweeps=1.5), "n_sweeps"),
    (dict(sweep_offset=-2), "sweep_offset"),
    (dict(time_periodic="yes"), "time_periodic"),
    (dict(indptr=None), "CSR"),
    (dict(indices=np.array([1, 2, 0, 2, 0, 7], dtype=np.int64)), "indices"),
    (dict(indices=np.array([0, 2, 0, 2, 0, 1], dtype=np.int64)), "own neighbour"),
    (dict(weights=np.array([1.0, 1.0, 1.0, 2.0, 1.0, 1.0])), "symmetric"),
    (dict(weights=np.ones(5)), "weights"),
    (dict(indptr=np.array([0, 2, 4], dtype=np.int64)), "indptr"),
    (dict(kind="all-to-all", J_all=float("nan")), "J_all"),
    (dict(kind="dense", J_dense=None), "J_dense"),
    (dict(kind="dense", J_dense=np.eye(3)), "diagonal"),
    (dict(kind="dense", J_dense=np.triu(np.ones((3, 3)), 1)), "symmetric"),
    (dict(kind="dense", J_dense=np.zeros((2, 2))), "J_dense"),
])
def test_bad_input_raises_parameter_error(changes, words):
    with pytest.raises(ParameterError, match=words):
        _call(**changes)


def test_read_only_spins_are_refused():
    spins = np.ones((2, 3, 4), dtype=np.int8)
    spins.flags.writeable = False
    with pytest.raises(ParameterError, match="writeable"):
        _call(spins=spins)


def test_module_exports():
    assert set(local.KINDS) == {"all-to-all", "sparse", "dense"}
    assert local.METHODS == ("heatbath", "metropolis")
