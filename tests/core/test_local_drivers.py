"""The general path's drivers and block layouts (kernels.local): only a partition of the work.

Every driver (serial, blocks of ticks on threads, colours' neurons on threads, parts of the
neuron order pipelined over the time classes, replicas on threads), every block size and every
worker count gives bit-identical spins and flip counts;
the automatic driver is chosen by timing, which changes speed only.
"""

import numba
import numpy as np
import pytest

from neurolattice_core.errors import ParameterError
from neurolattice_core.kernels import local, local_choice
from neurolattice_core.kernels.local import LocalState
from tests.core.test_local import _state, keys_for, kind_args


@pytest.mark.parametrize("T", [15, 16, 257])
@pytest.mark.parametrize("periodic", [True, False])
@pytest.mark.parametrize("kind", ["all-to-all", "sparse", "dense"])
def test_any_block_size_and_driver_give_identical_results(kind, periodic, T):
    """Blocks and drivers are only a work partition: every block size, every driver.

    (Periodic odd T has three time classes and runs by ticks on one region per class; the
    other cases on one region per call, :func:`local_sweep._sweeps_pinned`.)
    """
    default = numba.get_num_threads()
    results = []
    try:
        for threads, block, driver in ((1, None, False), (1, 1, False), (1, 3, False),
                                       (2, 2, "ticks"), (2, 5, "ticks"), (2, 64, "ticks"),
                                       (2, None, "replicas"), (2, 4, "replicas"),
                                       (2, None, "neurons"), (2, 3, "neurons")):
            numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
            spins, args = _state(kind, periodic=periodic, T=T)
            state = LocalState(spins, **args)
            for method in ("heatbath", "metropolis"):
                flips = state.sweep(betas=np.array([0.4, 0.9, 1.3]), method=method,
                                    n_sweeps=4, keys=keys_for(2, 3), sweep_offset=0,
                                    block=block, parallel=driver)
                results.append((state.spins(), flips))
    finally:
        numba.set_num_threads(default)
    for k, (spins, flips) in enumerate(results[2:]):
        reference_spins, reference_flips = results[k % 2]   # same method, first setting
        assert np.array_equal(spins, reference_spins) and np.array_equal(flips, reference_flips)


def _driver_arguments(state, block):
    """The arguments of a local_sweep driver for 5 Metropolis sweeps of ``state`` (R = 2)."""
    return state._driver_arguments(np.array([0.4, 1.1]), True, 5, keys_for(4, 2), 7) + (block,)


@pytest.mark.parametrize("T", [2, 3, 16, 40, 258, 259])
@pytest.mark.parametrize("kind", ["all-to-all", "sparse", "dense"])
def test_the_one_region_driver_matches_the_serial_one_for_any_worker_count(kind, T):
    """Static ownership (workers all running) or dynamic claiming (fewer threads than
    workers): the same spins and flips as the serial driver, ghosts included."""
    from neurolattice_core.kernels import local_sweep
    default = numba.get_num_threads()
    results = []
    try:
        for threads, workers, block in ((1, 1, 4), (1, 3, 2), (2, 2, 3), (2, 2, 8), (2, 5, 1),
                                        (2, 2, 64)):
            numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
            for periodic in (True, False):
                spins, args = _state(kind, R=2, n=9, T=T, periodic=periodic)
                pinned, serial = LocalState(spins, **args), LocalState(spins, **args)
                if pinned._cls.shape[0] != 2:
                    continue
                pinned._use_block(block)
                serial._use_block(block)
                flips = local_sweep._sweeps_pinned(*_driver_arguments(pinned, block), pinned._X,
                                                   workers)
                expected = local_sweep._sweeps_serial(*_driver_arguments(serial, block))
                results.append((np.array_equal(pinned._W, serial._W),
                                np.array_equal(flips, expected)))
    finally:
        numba.set_num_threads(default)
    assert results and all(same_spins and same_flips for same_spins, same_flips in results)


@pytest.mark.parametrize("T", [2, 3, 15, 16, 257])
def test_the_neuron_driver_matches_the_serial_one_for_any_worker_count(T):
    """Colours' neurons shared by workers (static, or one worker running every share when
    there are fewer threads than workers): the serial driver's spins, flips and ghosts."""
    from neurolattice_core.kernels import local_sweep
    default = numba.get_num_threads()
    results = []
    try:
        for threads, workers, n in ((1, 3, 9), (2, 2, 9), (2, 2, 40), (2, 5, 40)):
            numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
            for periodic in (True, False):
                spins, args = _state("sparse", R=2, n=n, T=T, periodic=periodic)
                shared, serial = LocalState(spins, **args), LocalState(spins, **args)
                block = shared._serial_block()
                flips = local_sweep._sweeps_neurons(*_driver_arguments(shared, block), workers)
                expected = local_sweep._sweeps_serial(*_driver_arguments(serial, block))
                results.append((np.diff(shared._colour_starts).size,
                                np.array_equal(shared._W, serial._W),
                                np.array_equal(flips, expected)))
    finally:
        numba.set_num_threads(default)
    assert all(same_spins and same_flips for _, same_spins, same_flips in results)
    assert max(colours for colours, _, _ in results) >= 3     # several colours were shared


@pytest.mark.parametrize("T", [2, 3, 15, 16, 257])
@pytest.mark.parametrize("kind", ["all-to-all", "dense"])
def test_the_pipeline_matches_the_serial_one_for_any_worker_count(kind, T):
    """Parts of the neuron order pipelined over the time classes (static, or one worker
    running every part when there are fewer threads than workers; more workers than fit the
    pipeline, and parts with no neuron): the serial driver's spins, flips and ghosts."""
    from neurolattice_core.kernels import local_sweep
    default = numba.get_num_threads()
    results = []
    try:
        for threads, workers, n in ((1, 3, 9), (2, 2, 9), (2, 2, 40), (2, 3, 40), (2, 5, 4)):
            numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
            for periodic in (True, False):
                spins, args = _state(kind, R=2, n=n, T=T, periodic=periodic)
                parts, serial = LocalState(spins, **args), LocalState(spins, **args)
                block = parts._serial_block()
                flips = local_sweep._sweeps_pipeline(*_driver_arguments(parts, block), workers)
                expected = local_sweep._sweeps_serial(*_driver_arguments(serial, block))
                results.append((np.array_equal(parts._W, serial._W),
                                np.array_equal(flips, expected)))
    finally:
        numba.set_num_threads(default)
    assert all(same_spins and same_flips for same_spins, same_flips in results)


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="needs 2 numba threads")
def test_the_neuron_driver_is_the_parallel_one_of_sparse_and_all_to_all_couplings():
    """Sparse couplings run in parallel by neurons when every colour has a neuron per thread,
    all-to-all couplings by neurons (the pipeline) on at most n_classes + 1 threads, dense
    couplings by ticks (the pipeline moved their cached fields between the cores: no
    faster)."""
    n = 40
    ring, star = np.zeros((n, n)), np.zeros((n, n))
    ring[np.arange(n), (np.arange(n) + 1) % n] = 1.0       # 2 colours of 20 neurons
    star[0, 1:] = 1.0                                        # colour 0 is the centre alone
    states = {}
    for name, J in (("ring", ring + ring.T), ("star", star + star.T),
                    ("all-to-all", 0.1 * (1 - np.eye(n))), ("dense", 0.1 * (1 - np.eye(n)))):
        kind = name if name in ("all-to-all", "dense") else "sparse"
        args = dict(kind=kind, K=np.ones(n), fields=np.zeros((n, 16)), time_periodic=True,
                    **kind_args(kind, J))
        states[name] = LocalState(np.ones((1, n, 16), dtype=np.int8), **args)
    default = numba.get_num_threads()
    try:
        numba.set_num_threads(2)
        drivers = {name: state._parallel_driver() for name, state in states.items()}
    finally:
        numba.set_num_threads(default)
    assert drivers == {"ring": "neurons", "star": "ticks", "all-to-all": "neurons",
                       "dense": "ticks"}


def test_timed_driver_choice_does_not_change_results():
    """One replica above PARALLEL_MIN_SITES: the driver is picked by timing, same results."""
    default = numba.get_num_threads()
    try:
        out = []
        for threads, parallel in ((min(2, numba.config.NUMBA_NUM_THREADS), None), (1, False)):
            numba.set_num_threads(threads)
            spins, args = _state("sparse", R=1, n=32, T=2 * local.PARALLEL_MIN_SITES // 32)
            state = LocalState(spins, **args)
            calls = 2 * local_choice._EXPLORE_EVERY + 2
            sweeps = local.SHORT_CALL_SWEEPS    # the long calls' timings
            flips = [state.sweep(betas=np.array([0.6]), method="heatbath", n_sweeps=sweeps,
                                 keys=keys_for(3, 1), sweep_offset=sweeps * w, parallel=parallel)
                     for w in range(calls)]
            out.append((state.spins(), np.array(flips)))
            if parallel is None and threads > 1:
                assert all(v is not None
                           for v in state._drivers[False].seconds_per_site.values())
    finally:
        numba.set_num_threads(default)
    assert np.array_equal(out[0][0], out[1][0]) and np.array_equal(out[0][1], out[1][1])


def test_bad_driver_and_block_are_refused():
    spins, args = _state("all-to-all")
    state = LocalState(spins, **args)
    run = dict(betas=np.ones(3), method="heatbath", n_sweeps=1, keys=keys_for(0, 3),
               sweep_offset=0)
    with pytest.raises(ParameterError, match="parallel"):
        state.sweep(parallel="threads", **run)
    with pytest.raises(ParameterError, match="block"):
        state.sweep(block=0, **run)
    with pytest.raises(ParameterError, match="shape"):
        state.set_spins(np.ones((3, 11, 14), dtype=np.int8))


def test_the_slower_driver_is_timed_less_often_while_the_choice_holds():
    """Timings of the slower driver: every 16th call, doubling to 256 while the choice holds."""
    driver = local_choice.DriverChoice()

    def explorations(rates, calls):
        driver.seconds_per_site.update(rates)
        return [c for c in range(calls) if driver.choose() != (rates[True] < rates[False])]

    parallel_faster = {True: 1.0, False: 2.0}
    seen = explorations(parallel_faster, 16 + 16 + 32 + 64 + 128 + 256 + 256)
    gaps = np.diff([-1] + seen).tolist()
    assert gaps == [16, 16, 32, 64, 128, 256, 256]
    # the serial driver turns out faster: timed again after 16 calls, then backing off again
    seen = explorations({True: 2.0, False: 1.0}, 256 + 16 + 32)
    assert np.diff([-1] + seen).tolist()[-2:] == [16, 32]


def test_short_and_long_calls_choose_their_drivers_apart():
    """A sampler measuring after every sweep makes 1-sweep calls: timed apart from long ones."""
    default = numba.get_num_threads()
    try:
        numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
        spins, args = _state("sparse", R=1, n=32, T=2 * local.PARALLEL_MIN_SITES // 32)
        state = LocalState(spins, **args)
        for w in range(6):
            state.sweep(betas=np.array([0.6]), method="heatbath", n_sweeps=1,
                        keys=keys_for(3, 1), sweep_offset=w)
        short, long = state._drivers[True], state._drivers[False]
        if numba.get_num_threads() > 1:
            assert all(v is not None for v in short.seconds_per_site.values())
        assert all(v is None for v in long.seconds_per_site.values())
    finally:
        numba.set_num_threads(default)


def test_the_slower_driver_is_timed_on_a_quarter_of_a_long_enough_call():
    """A quarter of the sweeps (rounded up) if they take EXPLORE_MIN_SECONDS, else all."""
    driver = local_choice.DriverChoice()
    driver.seconds_per_site.update({True: 1e-9, False: 2e-9})
    sites = 100_000   # 0.1 ms per sweep in parallel, 0.2 ms serial; timings of >= 2 ms
    assert local_choice.EXPLORE_MIN_SECONDS == 2e-3
    assert driver.explored_sweeps(True, 84, sites) == 21
    assert driver.explored_sweeps(True, 81, sites) == 21
    assert driver.explored_sweeps(True, 76, sites) == 76
    assert driver.explored_sweeps(False, 44, sites) == 11
    assert driver.explored_sweeps(False, 36, sites) == 36


def _logging_runs(run, log):
    """LocalState._run that appends (driver, sweeps) of each run to ``log``."""
    def logged(parallel, betas, metropolis, keys, block, n_sweeps, offset, timed):
        log.append((parallel, n_sweeps))
        return run(parallel, betas, metropolis, keys, block, n_sweeps, offset, timed)
    return logged


def test_partial_timings_of_the_slower_driver_change_no_result(monkeypatch):
    """Exploring on part of a call (here every call's quarter, however short): same bits."""
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("needs two threads")
    monkeypatch.setattr(local_choice, "EXPLORE_MIN_SECONDS", 0.0)
    default = numba.get_num_threads()
    try:
        out, runs = [], []
        for threads, parallel in ((2, None), (1, False)):
            numba.set_num_threads(threads)
            spins, args = _state("sparse", R=1, n=32, T=2 * local.PARALLEL_MIN_SITES // 32)
            state = LocalState(spins, **args)
            monkeypatch.setattr(state, "_run", _logging_runs(state._run, runs))
            calls, sweeps = 3 * local_choice._EXPLORE_EVERY + 4, 8
            flips = [state.sweep(betas=np.array([0.6]), method="metropolis", n_sweeps=sweeps,
                                 keys=keys_for(5, 1), sweep_offset=sweeps * w, parallel=parallel)
                     for w in range(calls)]
            out.append((state.spins(), np.array(flips)))
    finally:
        numba.set_num_threads(default)
    split = [k for k in range(len(runs) - 1) if runs[k][1] == 2 and runs[k + 1][1] == 6]
    assert len(split) >= 2 and all(bool(runs[k][0]) != bool(runs[k + 1][0]) for k in split)
    assert np.array_equal(out[0][0], out[1][0]) and np.array_equal(out[0][1], out[1][1])
