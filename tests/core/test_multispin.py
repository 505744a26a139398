"""Tests of the multi-spin coded fast path (neurolattice_core.kernels.multispin).

Three layers:
- layout: pack/unpack, neighbour tables (against the connectivity presets), packed moments
  (against plain numpy on the unpacked spins);
- exactness of the implementation: trajectories bit-identical to an independent, deliberately
  plain per-site sampler written here that follows the documented random-number contract
  (same counters, same "U < floor(p 2**64)" rule), for ring/grid, open/periodic, both methods,
  J != K, h != 0, and for 1 and 2 threads;
- physics: averages against exact results (Kaufman's finite torus, open chains, periodic chains
  in a field), tolerances from standard errors of independent replicas.
"""

import math

import numba
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numba import njit

from neurolattice_core import connectivity
from neurolattice_core.errors import ParameterError
from neurolattice_core.exact_ising import kaufman_energy_per_site
from neurolattice_core.kernels import multispin as ms
from neurolattice_core.kernels.ars import step_words
from neurolattice_core.kernels.rng import stream_key

TC = 2.0 / math.log(1.0 + math.sqrt(2.0))


def random_spins(rng, shape):
    return rng.choice(np.array([-1, 1], dtype=np.int8), size=shape)


def keys_for(seed, n_rep):
    return np.array([stream_key(seed, r) for r in range(n_rep)], dtype=np.uint64)


def lattice(conn, n, shape, periodic):
    return ms.neighbour_table(conn, n, shape, periodic)


def sweeps_by_schedule(start, table, schedules, *sweep_args):
    """(words, flips) of a WorkingLattice swept from ``start`` once per (threads, workers).

    ``sweep_args`` are those of ``WorkingLattice.sweep`` before ``workers``.
    """
    results = []
    before = numba.get_num_threads()
    try:
        for threads, workers in schedules:
            numba.set_num_threads(threads)
            state = ms.WorkingLattice(start, table)
            flips = state.sweep(*sweep_args, workers=workers)
            results.append((state.words(), flips))
    finally:
        numba.set_num_threads(before)
    return results


# ----------------------------------------------------------------------------- layout
@settings(max_examples=25, deadline=None)
@given(st.integers(1, 3), st.integers(1, 7), st.integers(1, 3), st.integers(0, 2**32 - 1))
def test_pack_unpack_round_trip(n_rep, n, half_words, seed):
    spins = random_spins(np.random.default_rng(seed), (n_rep, n, 128 * half_words))
    words = ms.pack(spins)
    assert words.dtype == np.uint64 and words.shape == (n_rep, n, 2 * half_words)
    assert np.array_equal(ms.unpack(words, spins.shape[2]), spins)


def test_pack_layout_is_strided_in_time():
    T = 256
    L = T // 64
    spins = -np.ones((1, 2, T), dtype=np.int8)
    for t in (0, 1, L - 1, L, 5 * L + 3, T - 1):
        spins[0, 1, t] = 1
    words = ms.pack(spins)
    assert not words[0, 0].any()
    for t in (0, 1, L - 1, L, 5 * L + 3, T - 1):
        assert (int(words[0, 1, t % L]) >> (t // L)) & 1 == 1
    assert sum(bin(int(v)).count("1") for v in words[0, 1]) == 6


@pytest.mark.parametrize("bad", [np.ones((1, 2, 100), np.int8), np.ones((1, 2, 128), np.int16),
                                 np.zeros((1, 2, 128), np.int8), np.ones((2, 128), np.int8)])
def test_pack_rejects_bad_input(bad):
    with pytest.raises(ParameterError):
        ms.pack(bad)


@pytest.mark.parametrize("n,periodic", [(1, True), (2, True), (3, False), (6, True), (7, False)])
def test_ring_table_matches_preset(n, periodic):
    table = ms.neighbour_table("ring", n, None, periodic)
    assert table.dtype == np.int64 and table.shape == (n, 2)
    assert np.array_equal(adjacency(table), connectivity.ring(n, 1.0, periodic).dense() != 0)


@pytest.mark.parametrize("rows,cols,periodic", [(1, 4, True), (2, 2, True), (2, 6, True),
                                                (4, 4, True), (3, 5, False), (4, 6, False)])
def test_grid_table_matches_preset(rows, cols, periodic):
    table = ms.neighbour_table("grid", rows * cols, (rows, cols), periodic)
    assert table.shape == (rows * cols, 4)
    dense = connectivity.grid(rows, cols, 1.0, periodic).dense()
    assert np.array_equal(adjacency(table), dense != 0)


def adjacency(table):
    n = table.shape[0]
    adj = np.zeros((n, n), dtype=bool)
    for i in range(n):
        for j in table[i]:
            if j >= 0:
                assert not adj[i, j], "a neighbour listed twice"
                adj[i, j] = True
    return adj


@pytest.mark.parametrize("args,ok", [
    (("ring", 64, 256, None, True, True), True),
    (("ring", 63, 256, None, True, False), False),      # odd periodic ring: not bipartite
    (("ring", 63, 256, None, False, True), True),       # open ring: any N
    (("ring", 64, 200, None, True, True), False),       # T not a multiple of 128
    (("grid", 24, 128, (4, 6), True, True), True),
    (("grid", 15, 128, (3, 5), True, True), False),
    (("grid", 15, 128, (3, 5), False, False), True),
    (("all-to-all", 64, 128, None, True, True), False),
])
def test_fast_path_supported(args, ok):
    supported, reason = ms.fast_path_supported(*args)
    assert supported is ok and isinstance(reason, str) and reason


@pytest.mark.parametrize("conn,n,shape,nper,tper", [
    ("ring", 6, None, True, True), ("ring", 5, None, False, False),
    ("grid", 12, (3, 4), False, True), ("grid", 16, (4, 4), True, False)])
def test_packed_moments_match_numpy(conn, n, shape, nper, tper):
    rng = np.random.default_rng(3)
    spins = random_spins(rng, (3, n, 256))
    table = lattice(conn, n, shape, nper)
    mag, jb, kb = ms.packed_moments(ms.pack(spins), table, tper)
    s = spins.astype(np.int64)
    want_j = sum((s[:, i] * s[:, j]).sum(axis=1) for i in range(n) for j in table[i] if j > i)
    prod = s[:, :, :-1] * s[:, :, 1:]
    want_k = prod.sum(axis=(1, 2)) + (s[:, :, -1] * s[:, :, 0]).sum(axis=1) * tper
    assert np.array_equal(mag, s.sum(axis=(1, 2)))
    assert np.array_equal(jb, want_j)
    assert np.array_equal(kb, want_k)


# ----------------------------------------------------------------------------- exactness
@njit(cache=False)
def _reference(spins, nbr, colour, J, K, h, beta, periodic, metropolis, n_sweeps, keys, first):
    """Plain per-site checkerboard sampler following the documented random-number contract.

    Site (i, t) sits in word w = t mod L, lane b = t // L; colour (colour_i + w) mod 2.  Its
    flip is accepted iff p == 1 or U < floor(p 2**64), with U the 64-bit integer whose bit
    63 - j is bit b of r_j = step_words(key_r, c, 64)[j] (ARS-5), with
    c = (((2 sweep + colour) N + i) L + w) 64.
    """
    n_rep, n, n_ticks = spins.shape
    n_words = n_ticks // 64
    flips = np.zeros(n_rep, np.int64)
    for r in range(n_rep):
        for sweep in range(first, first + n_sweeps):
            for col in range(2):
                new = spins[r].copy()
                for i in range(n):
                    for t in range(n_ticks):
                        w = t % n_words
                        if (colour[i] + w) % 2 != col:
                            continue
                        s = spins[r, i, t]
                        field = h
                        for d in range(nbr.shape[1]):
                            if nbr[i, d] >= 0:
                                field += J * spins[r, nbr[i, d], t]
                        sum_k = 0
                        if periodic or t < n_ticks - 1:
                            sum_k += spins[r, i, (t + 1) % n_ticks]
                        if periodic or t > 0:
                            sum_k += spins[r, i, (t - 1) % n_ticks]
                        d_e = 2.0 * s * (field + K * sum_k)
                        if metropolis:
                            p = 1.0 if d_e <= 0 else math.exp(-beta * d_e)
                        else:
                            p = 1.0 / (1.0 + math.exp(beta * d_e))
                        accept = p >= 1.0
                        if not accept:
                            big_p = np.uint64(math.ldexp(p, 64))
                            ctr = np.uint64((((2 * sweep + col) * n + i) * n_words + w) * 64)
                            words = step_words(keys[r], ctr, 64)
                            for j in range(64):
                                u_bit = (words[j] >> np.uint64(t // n_words)) & np.uint64(1)
                                p_bit = (big_p >> np.uint64(63 - j)) & np.uint64(1)
                                if u_bit != p_bit:
                                    accept = p_bit == 1
                                    break
                        if accept:
                            new[i, t] = -s
                            flips[r] += 1
                spins[r] = new
    return flips


CASES = [  # connectivity, N, grid shape, neuron periodic, time periodic, J, K, h, method
    ("ring", 24, None, True, True, 1.0, 1.0, 0.0, "metropolis"),
    ("ring", 24, None, True, True, 1.0, 1.0, 0.0, "heatbath"),
    ("ring", 24, None, True, False, 1.0, 0.7, 0.3, "heatbath"),
    ("ring", 7, None, False, False, 0.5, 1.0, -0.2, "metropolis"),
    ("grid", 24, (4, 6), True, True, 1.0, 1.0, 0.2, "heatbath"),
    ("grid", 15, (3, 5), False, False, 0.8, 0.4, 0.1, "metropolis"),
    ("grid", 8, (2, 4), True, False, -1.0, 0.4, 0.0, "heatbath"),
    ("grid", 16, (4, 4), True, True, 0.6, 1.1, 0.25, "heatbath"),
    ("grid", 16, (4, 4), True, True, 1.0, 1.0, 0.0, "metropolis"),     # 4-row class table
]


@pytest.mark.parametrize("case", CASES)
def test_trajectories_match_plain_reference(case):
    conn, n, shape, nper, tper, J, K, h, method = case
    rng = np.random.default_rng(11)
    spins = random_spins(rng, (2, n, 128))
    table = lattice(conn, n, shape, nper)
    colour = np.array([(i // shape[1] + i % shape[1]) % 2 if shape else i % 2
                       for i in range(n)], dtype=np.int64)
    keys = keys_for(5, 2)
    beta = 1.0 / 2.1
    words = ms.pack(spins)
    ref = spins.copy()
    f_fast = ms.multispin_sweeps(words, table, J, K, h, beta, tper, method, 4, keys, 7)
    f_ref = _reference(ref, table, colour, J, K, h, beta, tper, method == "metropolis", 4, keys, 7)
    assert np.array_equal(ms.unpack(words, 128), ref)
    assert np.array_equal(f_fast, f_ref)


def test_calls_continue_the_random_stream():
    rng = np.random.default_rng(2)
    table = lattice("ring", 8, None, True)
    a = ms.pack(random_spins(rng, (2, 8, 256)))
    b = a.copy()
    keys = keys_for(1, 2)
    f1 = ms.multispin_sweeps(a, table, 1.0, 0.5, 0.1, 0.4, True, "heatbath", 5, keys, 0)
    f2 = (ms.multispin_sweeps(b, table, 1.0, 0.5, 0.1, 0.4, True, "heatbath", 2, keys, 0)
          + ms.multispin_sweeps(b, table, 1.0, 0.5, 0.1, 0.4, True, "heatbath", 3, keys, 2))
    assert np.array_equal(a, b) and np.array_equal(f1, f2)


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="needs 2 numba threads")
@pytest.mark.parametrize("method", ["metropolis", "heatbath"])
def test_bit_identical_for_1_and_2_threads(method):
    rng = np.random.default_rng(4)
    table = lattice("grid", 64, (8, 8), True)
    start = ms.pack(random_spins(rng, (3, 64, 512)))
    keys = keys_for(9, 3)
    results = sweeps_by_schedule(start, table, [(1, 1), (2, 2)],   # one worker per thread
                                 1.0, 0.8, 0.05, 1 / TC, False, method, 6, keys, 3)
    assert np.array_equal(results[0][0], results[1][0])
    assert np.array_equal(results[0][1], results[1][1])


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="needs 2 numba threads")
def test_row_and_replica_schedules_agree():
    """R = 1 with 2 threads splits each row in parts; R = 2 runs replicas: same trajectories."""
    rng = np.random.default_rng(8)
    table = lattice("ring", 32, None, True)
    start = ms.pack(random_spins(rng, (2, 32, 256)))
    keys = keys_for(3, 2)
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(2)
        both = start.copy()
        f_both = ms.multispin_sweeps(both, table, 1.0, 1.0, 0.0, 1 / TC, True, "heatbath", 5,
                                     keys, 0)
        for r in range(2):
            one = start[r:r + 1].copy()
            f_one = ms.multispin_sweeps(one, table, 1.0, 1.0, 0.0, 1 / TC, True, "heatbath", 5,
                                        keys[r:r + 1], 0)
            assert np.array_equal(one[0], both[r]) and f_one[0] == f_both[r]
    finally:
        numba.set_num_threads(before)


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="needs 2 numba threads")
@pytest.mark.parametrize("n, T, periodic", [(32, 128, True), (256, 640, True), (90, 256, False),
                                             (16, 2048, True), (24, 2048, False)])
def test_one_replica_split_between_two_workers_matches_one_worker(n, T, periodic):
    """Two workers each own one part of every row (T = 128: rows w - 1 and w + 1 coincide),
    or, from WHOLE_ROWS_FROM rows each (T = 2048: 16 rows each), whole rows."""
    rng = np.random.default_rng(n + T)
    table = lattice("ring", n, None, True)
    start = ms.pack(random_spins(rng, (1, n, T)))
    keys = keys_for(7, 1)
    results = sweeps_by_schedule(start, table, [(1, 1), (2, 2)],
                                 1.0, 0.9, 0.05, 1 / TC, periodic, "metropolis", 30, keys, 2)
    assert np.array_equal(results[0][0], results[1][0])
    assert np.array_equal(results[0][1], results[1][1])


@pytest.mark.parametrize("n, shape, n_parts", [(32, None, 2), (1024, None, 2), (256, None, 3),
                                               (64, (8, 8), 2), (6, None, 4)])
def test_part_cuts_tile_each_colour_block(n, shape, n_parts):
    """Parts cover each block's segments exactly, in order, inner cuts PAD after its start."""
    from neurolattice_core.kernels.multispin_prep import PAD
    from neurolattice_core.kernels.multispin_tasks import part_cuts
    state = ms.WorkingLattice(ms.pack(np.ones((1, n, 128), np.int8)),
                              lattice("grid" if shape else "ring", n, shape, True))
    segs = state._segs
    cuts = part_cuts(segs, n_parts)
    for b in range(2):
        spans = [(sg[1], sg[1] + sg[2]) for sg in segs if sg[0] == b and sg[2] > 0]
        assert cuts[b, 0] == min(lo for lo, _ in spans)
        assert cuts[b, n_parts] == max(hi for _, hi in spans)
        assert np.all(np.diff(cuts[b]) >= 0)
        for cut in cuts[b, 1:n_parts]:
            assert cut == cuts[b, n_parts] or (cut - cuts[b, 0]) % PAD == 0


@pytest.mark.parametrize("n", [4, 32, 254, 1024, 4096])
def test_ring_blocks_and_rows_start_on_cache_lines_away_from_4_kib(n):
    """Both colour blocks and every row start on a 64-byte line; from 1 KiB on, the block and
    row distances lie 1-3 KiB from a multiple of 4 KiB (no 4K aliasing of loads and stores)."""
    state = ms.WorkingLattice(ms.pack(np.ones((2, n, 128), np.int8)),
                              lattice("ring", n, None, True))
    work = state._work
    block_starts = [sg[1] for sg in state._segs if sg[2] > 0]
    assert work.ctypes.data % 64 == 0 and work.strides[1] % 64 == 0
    assert state._pbase.ctypes.data % 64 == 0
    assert sorted(block_starts)[0] == 0 and all(start % 8 == 0 for start in block_starts)
    for distance in (max(block_starts) * 8, work.strides[1]):
        assert distance < 1024 or 1024 <= distance % 4096 <= 3072


@pytest.mark.parametrize("kwargs", [
    dict(words=np.zeros((1, 4, 3), np.uint64)),          # odd number of words
    dict(words=np.zeros((1, 4, 2), np.int64)),           # wrong dtype
    dict(words=np.zeros((4, 2), np.uint64)),             # wrong ndim
    dict(neighbours=lattice("ring", 5, None, True)[:4]),  # wrong shape
    dict(neighbours=np.zeros((4, 2), np.int32)),         # wrong dtype
    dict(neighbours=np.array([[-1, 1], [0, 2], [1, 0], [-1, 2]], np.int64)),  # asymmetric
    dict(beta=0.0), dict(beta=-1.0), dict(beta=math.inf), dict(beta=math.nan),
    dict(J=math.nan), dict(K=math.inf), dict(h="x"),
    dict(method="glauber"), dict(n_sweeps=-1), dict(n_sweeps=1.5), dict(sweep_offset=-2),
    dict(keys=np.zeros(2, np.uint64)), dict(keys=np.zeros(1, np.int64)),
])
def test_sweeps_reject_bad_input(kwargs):
    args = dict(words=np.zeros((1, 4, 2), np.uint64), neighbours=lattice("ring", 4, None, True),
                J=1.0, K=1.0, h=0.0, beta=0.5, time_periodic=True, method="metropolis",
                n_sweeps=1, keys=np.zeros(1, np.uint64), sweep_offset=0)
    args.update(kwargs)
    with pytest.raises(ParameterError):
        ms.multispin_sweeps(**args)


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="needs 2 numba threads")
@pytest.mark.parametrize("conn,n,shape,L", [("ring", 16, None, 2), ("grid", 24, (4, 6), 6)])
def test_any_number_of_workers_gives_the_same_trajectory(conn, n, shape, L):
    """Workers that claim tasks and wait for their rows: any count, on 1 or 2 threads."""
    rng = np.random.default_rng(12)
    table = lattice(conn, n, shape, True)
    start = ms.pack(random_spins(rng, (2, n, 64 * L)))
    keys = keys_for(6, 2)
    results = sweeps_by_schedule(start, table, [(1, 1), (1, 3), (2, 2), (2, 5)],
                                 1.0, 0.7, 0.1, 1 / TC, False, "metropolis", 9, keys, 4)
    for words, flips in results[1:]:
        assert np.array_equal(words, results[0][0]) and np.array_equal(flips, results[0][1])


def test_working_lattice_keeps_the_configuration_between_calls():
    rng = np.random.default_rng(13)
    table = lattice("grid", 12, (3, 4), False)
    start = ms.pack(random_spins(rng, (2, 12, 256)))
    keys = keys_for(2, 2)
    state = ms.WorkingLattice(start, table)
    assert np.array_equal(state.words(), start)
    f1 = state.sweep(0.9, 1.0, -0.2, 0.5, True, "heatbath", 3, keys, 0)
    f2 = state.sweep(0.9, 1.0, -0.2, 0.5, True, "heatbath", 4, keys, 3)
    words = start.copy()
    f = ms.multispin_sweeps(words, table, 0.9, 1.0, -0.2, 0.5, True, "heatbath", 7, keys, 0)
    assert np.array_equal(state.words(), words) and np.array_equal(f1 + f2, f)
    assert not np.array_equal(words, start)
    with pytest.raises(ParameterError):
        state.sweep(0.9, 1.0, -0.2, 0.5, True, "heatbath", 1, keys, 0, workers=0)


@pytest.mark.parametrize("every, offset, n_sweeps", [(1, 0, 5), (4, 3, 11), (3, 0, 2)])
def test_sweeps_measured_in_one_call_match_separate_calls(every, offset, n_sweeps):
    """Same spins, flips and moments as sweeps called between packed_moments measurements."""
    rng = np.random.default_rng(21)
    table = lattice("grid", 12, (3, 4), False)
    start = ms.pack(random_spins(rng, (2, 12, 256)))
    keys = keys_for(4, 2)
    args = (0.9, 1.1, -0.2, 0.5, False, "metropolis")
    fused = ms.WorkingLattice(start, table)
    flips, measured_at, sums = fused.sweep_measured(*args, n_sweeps, keys, offset, every)
    stepped = ms.WorkingLattice(start, table)
    expected_flips, expected_at, expected_sums = 0, [], []
    for sweep in range(offset, offset + n_sweeps):
        expected_flips = expected_flips + stepped.sweep(*args, 1, keys, sweep)
        if (sweep + 1) % every == 0:
            expected_at.append(sweep + 1)
            expected_sums.append(ms.packed_moments(stepped.words(), table, False))
    assert np.array_equal(fused.words(), stepped.words())
    assert np.array_equal(flips, expected_flips)
    assert measured_at.tolist() == expected_at
    assert np.array_equal(sums, np.array(expected_sums, dtype=np.int64).reshape(-1, 3, 2))
    for n_bad, every_bad in ((1, 0), (None, 1), (-1, 1)):
        with pytest.raises(ParameterError):
            fused.sweep_measured(*args, n_bad, keys, 0, every_bad)


def test_odd_periodic_ring_is_rejected():
    table = np.array([[(i - 1) % 5, (i + 1) % 5] for i in range(5)], dtype=np.int64)
    with pytest.raises(ParameterError, match="bipartite"):
        ms.multispin_sweeps(np.zeros((1, 5, 2), np.uint64), table, 1.0, 1.0, 0.0, 0.5, True,
                            "metropolis", 1, np.zeros(1, np.uint64), 0)


# ----------------------------------------------------------------------------- physics
def run_chain(conn, n, shape, nper, tper, T, J, K, h, theta, method, n_rep, burn, n_meas,
              seed=0):
    """Per-replica time averages of (m, j-bond, k-bond) sums after ``burn`` sweeps."""
    table = lattice(conn, n, shape, nper)
    words = ms.pack(random_spins(np.random.default_rng(seed), (n_rep, n, T)))
    keys = keys_for(seed, n_rep)
    ms.multispin_sweeps(words, table, J, K, h, 1.0 / theta, tper, method, burn, keys, 0)
    acc = np.zeros((3, n_rep))
    for s in range(n_meas):
        ms.multispin_sweeps(words, table, J, K, h, 1.0 / theta, tper, method, 1, keys, burn + s)
        acc += np.array(ms.packed_moments(words, table, tper), dtype=float)
    return acc / n_meas


def check(samples, exact, n_se=4.5):
    """Mean of independent replica averages within n_se standard errors of ``exact``."""
    mean = samples.mean()
    se = samples.std(ddof=1) / math.sqrt(samples.size)
    assert abs(mean - exact) < n_se * se + 1e-12, (mean, exact, se)
    return mean, se


@pytest.mark.parametrize("method", ["metropolis", "heatbath"])
@pytest.mark.parametrize("J,K,theta", [(1.0, 1.0, 2.5), (1.0, 1.0, TC), (1.0, 0.5, 1.8)])
def test_torus_energy_matches_kaufman(method, J, K, theta):
    n, T = 16, 128
    sums = run_chain("ring", n, None, True, True, T, J, K, 0.0, theta, method, 24, 200, 400)
    energy = -(J * sums[1] + K * sums[2]) / (n * T)
    check(energy, kaufman_energy_per_site(n, T, J, K, theta))


@pytest.mark.parametrize("method", ["metropolis", "heatbath"])
def test_grid_slices_match_kaufman(method):
    """K = 0: every tick is an independent 8 x 8 periodic grid (Kaufman torus)."""
    sums = run_chain("grid", 64, (8, 8), True, False, 128, 1.0, 0.0, 0.0, 2.6, method, 16, 100,
                     200)
    check(-sums[1] / (64 * 128), kaufman_energy_per_site(8, 8, 1.0, 1.0, 2.6))


@pytest.mark.parametrize("method", ["metropolis", "heatbath"])
def test_open_chains_in_time(method):
    """J = 0, open time: <s_t s_t+1> = tanh(K / theta) on every bond of an open chain."""
    n, T, K, theta = 8, 128, 1.0, 1.5
    sums = run_chain("ring", n, None, True, False, T, 0.0, K, 0.0, theta, method, 16, 100, 300)
    check(sums[2] / (n * (T - 1)), math.tanh(K / theta))


@pytest.mark.parametrize("method", ["metropolis", "heatbath"])
def test_open_chains_along_neurons(method):
    """K = 0, open ring (a chain of neurons): <s_i s_i+1> = tanh(J / theta)."""
    n, T, J, theta = 9, 128, 0.8, 1.2
    sums = run_chain("ring", n, None, False, True, T, J, 0.0, 0.0, theta, method, 16, 100, 300)
    check(sums[1] / ((n - 1) * T), math.tanh(J / theta))


def periodic_chain_m(K, h, theta, T):
    """<s> of a periodic chain of T ticks in a field, from the 2 x 2 transfer matrix."""
    b = 1.0 / theta
    V = np.array([[math.exp(b * (K + h)), math.exp(-b * K)],
                  [math.exp(-b * K), math.exp(b * (K - h))]])
    VT = np.linalg.matrix_power(V / np.abs(np.linalg.eigvalsh(V)).max(), T)
    return float(np.trace(np.diag([1.0, -1.0]) @ VT) / np.trace(VT))


@pytest.mark.parametrize("method", ["metropolis", "heatbath"])
@pytest.mark.parametrize("h", [0.3, -0.15])
def test_periodic_chains_in_a_field(method, h):
    """J = 0, periodic time, field h: magnetisation of the periodic chain (transfer matrix)."""
    n, T, K, theta = 8, 128, 0.7, 1.0
    sums = run_chain("ring", n, None, True, True, T, 0.0, K, h, theta, method, 16, 100, 300)
    check(sums[0] / (n * T), periodic_chain_m(K, h, theta, T))
