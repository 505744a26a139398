"""Tests of the general path's working layout: field rows, slice sums, and energy and
magnetisation read from the layout, alone and in measured sweeps (kernels.local_moments).

Split from test_local.py, whose helpers they use.
"""

import numba
import numpy as np
import pytest

from neurolattice_core.kernels.byte_moments import byte_moments
from neurolattice_core.kernels.local import LocalState
from neurolattice_core.kernels.local_layout import (
    SLICE_GAP,
    _slice_column,
    field_rows,
    permute_ticks,
    slice_sums_width,
)
from tests.core.test_local import (
    _dense_random,
    _state,
    dense_to_csr,
    keys_for,
    kind_args,
    random_spins,
    ring_csr,
)


def test_field_rows_keep_one_row_per_distinct_neuron_field():
    T = 6
    uniform = np.full((5, T), 0.25, dtype=np.float32)
    rows, row_of = field_rows(uniform)
    assert rows.shape == (1, T) and np.array_equal(row_of, np.zeros(5, np.int64))
    drive = np.linspace(-1, 1, T, dtype=np.float32)
    fields = np.stack([drive, drive + 1, drive, drive + 1, drive - 2]).astype(np.float32)
    rows, row_of = field_rows(fields)
    assert rows.shape == (3, T) and row_of.dtype == np.int64
    assert np.array_equal(rows[row_of], fields)
    assert row_of[0] == row_of[2] and row_of[1] == row_of[3] and len(set(row_of)) == 3



@pytest.mark.parametrize("T, block", [(1, 1), (7, 2), (16, 3), (300, 64), (1024, 256)])
def test_slice_sums_hold_each_block_apart(T, block):
    """All-to-all slice sums: the sum over neurons of each tick, in permuted tick order, the
    sums of one block contiguous and SLICE_GAP empty cells after each block."""
    rng = np.random.default_rng(T)
    spins = random_spins(rng, (2, 5, T))
    state = LocalState(spins, kind="all-to-all", K=np.zeros(5), fields=np.zeros((5, T)),
                       time_periodic=True, J_all=0.1)
    state._use_block(block)
    ticks = np.concatenate([np.arange(0, T, 2), np.arange(1, T, 2)])    # permuted order
    columns = np.array([_slice_column(f, T, block) for f in range(T)])
    assert state._S.shape == (2, slice_sums_width(T, block)) and columns.max() < state._S.shape[1]
    assert np.array_equal(state._S[:, columns], spins[:, :, ticks].sum(axis=1))
    steps = np.diff(columns)
    assert set(steps) <= {1, 1 + SLICE_GAP}
    ne = (T + 1) // 2
    block_starts = [f for f in range(1, T) if f == ne or (f < ne and f % block == 0)
                    or (f > ne and (f - ne) % block == 0)]
    assert [f + 1 for f in np.flatnonzero(steps != 1)] == block_starts
    assert np.count_nonzero(state._S) <= T * 2    # the gaps stay empty

@pytest.mark.parametrize("kind", ["all-to-all", "sparse", "dense"])
def test_shared_field_rows_sweep_as_per_site_fields(kind):
    """Neurons sharing a field row read it from one row: same spins as one row per neuron."""
    spins, args = _state(kind, seed=21)
    n, T = spins.shape[1:]
    drive = np.random.default_rng(4).normal(0, 0.4, T)
    args["fields"] = np.tile(drive, (n, 1))
    args["fields"][3] += 0.5                         # one neuron with its own field
    shared = LocalState(spins, **args)
    per_site = LocalState(spins, **args)
    per_site._hp = permute_ticks(args["fields"]).astype(np.float32)
    per_site._hrow = np.arange(n, dtype=np.int64)
    assert shared._hp.shape == (2, T)
    run = dict(betas=np.array([0.5, 1.0, 1.5]), method="heatbath", keys=keys_for(8, 3),
               n_sweeps=4, sweep_offset=0)
    assert np.array_equal(shared.sweep(**run), per_site.sweep(**run))
    assert np.array_equal(shared.spins(), per_site.spins())

@pytest.mark.parametrize("kind", ["all-to-all", "sparse", "dense"])
@pytest.mark.parametrize("T, periodic", [(1, True), (2, True), (2, False), (5, True), (5, False),
                                         (130, True), (257, False)])
def test_layout_moments_equal_the_moments_of_the_spins(kind, T, periodic):
    """Energy and magnetisation read from the working layout (small and cache-line blocks,
    ghosts at every time boundary) == byte_moments of the spins read out."""
    rng = np.random.default_rng(T + 100 * periodic)
    n, R = 6, 2
    J = _dense_random(rng, n) * (rng.random((n, n)) < 0.6)
    J = np.triu(J, 1) + np.triu(J, 1).T
    K, h = rng.normal(0, 1, n), rng.normal(0, 1, (n, T))
    state = LocalState(random_spins(rng, (R, n, T)), kind=kind, K=K, fields=h,
                       time_periodic=periodic,
                       **kind_args(kind, J if kind != "all-to-all" else 0.3 * (1 - np.eye(n))))
    indptr, indices, weights = dense_to_csr(J if kind != "all-to-all" else np.zeros((n, n)))
    for block in (None, 1, 2):
        state.sweep(betas=np.array([0.5, 1.0]), method="metropolis", n_sweeps=2,
                    keys=keys_for(3, R), sweep_offset=0, block=block)
        energy, magnetization = state.moments()
        expected = byte_moments(state.spins(), kind == "all-to-all", 0.3, indptr, indices,
                                weights, K, h, periodic)
        np.testing.assert_allclose(energy, expected[0], rtol=1e-12, atol=1e-9)
        assert np.array_equal(magnetization, expected[1])


@pytest.mark.parametrize("R", [1, 2])
@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("kind", ["all-to-all", "sparse", "dense"])
def test_sweep_measured_equals_sweeps_then_moments(kind, threads, R):
    """One measured call == sweeps in stretches and moments at each multiple of
    measure_every, bit for bit (energies to rounding): the fused serial kernel, and (2 threads)
    stretch by stretch,
    with the replicas driver (R = 2) or the tick driver and the serial one, which the driver
    choice both tries in the first calls (R = 1)."""
    default = numba.get_num_threads()
    numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    try:
        rng = np.random.default_rng(17)
        n, T = 16, 1024     # N T / 2 >= PARALLEL_MIN_SITES: both drivers may run
        J = _dense_random(rng, n) * (rng.random((n, n)) < 0.3) / 4
        J = np.triu(J, 1) + np.triu(J, 1).T
        args = dict(kind=kind, K=rng.uniform(0, 1, n), fields=rng.normal(0, 0.3, (n, T)),
                    time_periodic=True,
                    **kind_args(kind, J if kind != "all-to-all" else 0.05 * (1 - np.eye(n))))
        spins = random_spins(rng, (R, n, T))
        measured, reference = LocalState(spins, **args), LocalState(spins, **args)
        run = dict(betas=np.array([0.6, 1.2][:R]), method="heatbath", keys=keys_for(5, R))
        offset = 0
        for n_sweeps in (4, 5, 2, 3, 4):
            flips, at, energy, magnetization = measured.sweep_measured(
                n_sweeps=n_sweeps, sweep_offset=offset, measure_every=3, **run)
            expected_flips, expected_at, expected_e, expected_m = 0, [], [], []
            for sweep in range(offset, offset + n_sweeps):
                expected_flips = expected_flips + reference.sweep(n_sweeps=1, sweep_offset=sweep,
                                                                  parallel=False, **run)
                if (sweep + 1) % 3 == 0:
                    expected_at.append(sweep + 1)
                    e, m = reference.moments()
                    expected_e.append(e)
                    expected_m.append(m)
            offset += n_sweeps
            assert np.array_equal(flips, expected_flips) and list(at) == expected_at
            # the energies sum floats block by block: a parallel stretch's layout (blocks of
            # 64 ticks) adds them in another order than the serial one, so they agree to
            # rounding; everything integer agrees to the bit
            np.testing.assert_allclose(energy, np.reshape(expected_e, (-1, R)), rtol=1e-13,
                                       atol=0)
            assert np.array_equal(magnetization, np.reshape(expected_m, (-1, R)))
            assert np.array_equal(measured.spins(), reference.spins())
        timings = measured._drivers[True].seconds_per_site   # one replica's short calls
        assert (timings[True] is not None and timings[False] is not None) == (
            threads == 2 and R == 1)
    finally:
        numba.set_num_threads(default)


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="needs two threads")
def test_measured_stretches_on_the_parallel_driver_are_timed_with_their_measurements(
        monkeypatch):
    """Short measured calls choose between the fused serial kernel (its time includes the
    measurements) and parallel stretches: those must be timed with their measurements too,
    or the choice leans to them (a 128 x 512 ring then ran 4 200 sweeps/s instead of 16 000)."""
    import time

    default = numba.get_num_threads()
    numba.set_num_threads(2)
    try:
        rng = np.random.default_rng(5)
        n, T = 16, 1024
        indptr, indices, weights = ring_csr(n)
        state = LocalState(random_spins(rng, (1, n, T)), kind="sparse", K=np.ones(n),
                           fields=np.zeros((n, T)), time_periodic=True, indptr=indptr,
                           indices=indices, weights=weights)
        measure = state.moments
        pause = 0.002                    # a slow measurement, taken by the parallel way only
        monkeypatch.setattr(state, "moments", lambda: (time.sleep(pause), measure())[1])
        for k in range(4):
            state.sweep_measured(betas=np.array([0.5]), method="metropolis", n_sweeps=2,
                                 keys=keys_for(1, 1), sweep_offset=2 * k, measure_every=1)
        parallel = state._drivers[True].seconds_per_site[True]
        assert parallel is not None and parallel >= pause / (n * T)
    finally:
        numba.set_num_threads(default)
