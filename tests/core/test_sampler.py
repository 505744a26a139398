import threading
import time

import numpy as np
import pytest

from neurolattice_core.errors import AlgorithmError, MemoryBudgetError, ParameterError
from neurolattice_core.model import LatticeModel
from neurolattice_core.sampler import RingBuffer, Sampler
from neurolattice_core.simulation import run_simulation
from tests.conftest import wait_until


def small_model(**params):
    base = dict(neurons=16, ticks=128, connectivity="ring", temperature=2.0)
    return LatticeModel.create(**(base | params))


def test_ring_buffer_keeps_the_latest_rows_in_order():
    buffer = RingBuffer(3, 1)
    for value in range(5):
        buffer.append([value])
    assert buffer.values()[:, 0].tolist() == [2, 3, 4] and len(buffer) == 3


@pytest.mark.parametrize("lengths", [[2, 1], [5], [1, 4, 3, 7], [0, 2]])
def test_ring_buffer_extend_is_a_run_of_appends(lengths):
    appended, extended = RingBuffer(4, 2), RingBuffer(4, 2)
    value = 0
    for length in lengths:
        rows = np.arange(value, value + 2 * length, dtype=float).reshape(length, 2)
        value += 2 * length
        for row in rows:
            appended.append(row)
        extended.extend(rows)
        assert np.array_equal(extended.values(), appended.values())
        assert len(extended) == len(appended) and extended._count == appended._count


def test_step_records_history_and_snapshot():
    sampler = Sampler(small_model(replicas=2), seed=3)
    sampler.step(5)
    history = sampler.history()
    assert history["sweep"].tolist() == [1, 2, 3, 4, 5]
    assert history["energy_per_site"].shape == (5, 2)
    spins = sampler.configurations()
    assert spins.shape == (2, 16, 128) and set(np.unique(spins)) <= {-1, 1}
    energy = sampler.model.energy(spins) / (16 * 128)
    assert np.allclose(history["energy_per_site"][-1], energy)
    assert np.allclose(history["magnetization"][-1], spins.mean(axis=(1, 2)))


def test_the_fast_path_records_what_separate_sweeps_and_measurements_give():
    """Its sweeps and measurements run in one call; the time series is the same."""
    sampler = Sampler(small_model(replicas=2), seed=4, measure_every=3)
    assert sampler.path.name == "fast"
    sampler.step(4).step(7)
    twin = Sampler(small_model(replicas=2), seed=4).path
    sweeps, energies, magnetizations = [], [], []
    for sweep in range(1, 12):
        twin.sweep(1)
        if sweep % 3 == 0:
            energy, magnetization = twin.moments()
            sweeps.append(sweep)
            energies.append(energy)
            magnetizations.append(magnetization)
    history = sampler.history()
    assert history["sweep"].tolist() == sweeps == [3, 6, 9]
    assert np.array_equal(history["energy_per_site"], np.array(energies))
    assert np.array_equal(history["magnetization"], np.array(magnetizations))
    assert np.array_equal(sampler.configurations(), twin.spins())


@pytest.mark.parametrize("params", [dict(), dict(connectivity="all-to-all", ticks=20),
                                    dict(connectivity="sk", ticks=10)])
def test_same_seed_same_trajectory(params):
    a = Sampler(small_model(**params), seed=9).step(4).configurations()
    b = Sampler(small_model(**params), seed=9).step(4).configurations()
    c = Sampler(small_model(**params), seed=10).step(4).configurations()
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_history_memory_is_bounded():
    sampler = Sampler(small_model(), history=8)
    sampler.step(50)
    assert len(sampler.history()["sweep"]) == 8 and sampler.history()["sweep"][-1] == 50


def test_background_run_pause_change_and_stop():
    sampler = Sampler(small_model())
    sampler.start()
    assert wait_until(lambda: sampler.sweeps_done > 3)
    sampler.pause()
    paused_at = wait_until(lambda: sampler.sweeps_done, timeout=1)
    sampler.set_parameters(temperature=0.5, J=0.8)
    sampler.resume()
    assert wait_until(lambda: sampler.model.temperature == 0.5)
    assert wait_until(lambda: sampler.sweeps_done > paused_at + 3)
    assert sampler.model.J == 0.8
    assert sampler.stop(timeout=2.0)
    assert sampler.error is None and not sampler.running



def test_idle_after_pause_means_no_sweep_runs():
    """``paused`` answers the request at once; ``idle`` once the running chunk is done, after
    which the sweep count no longer moves."""
    sampler = Sampler(small_model())
    assert sampler.idle and not sampler.paused            # not started
    sampler.start(sweeps_per_chunk=50)
    assert wait_until(lambda: sampler.sweeps_done > 0 and not sampler.idle)
    sampler.pause()
    assert sampler.paused
    assert wait_until(lambda: sampler.idle)
    done = sampler.sweeps_done
    time.sleep(0.2)
    assert sampler.sweeps_done == done and sampler.idle
    sampler.resume()
    assert wait_until(lambda: sampler.sweeps_done > done and not sampler.idle)
    assert sampler.stop() and sampler.idle

def test_max_sweeps_and_wait():
    sampler = Sampler(small_model()).start(sweeps_per_chunk=2, max_sweeps=7)
    assert sampler.wait(timeout=30)
    assert sampler.sweeps_done == 7


def test_invalid_change_raises_now_and_changes_nothing():
    sampler = Sampler(small_model())
    with pytest.raises(ParameterError, match="temperature"):
        sampler.set_parameters(temperature=-1.0)
    assert sampler.model.temperature == 2.0


@pytest.mark.parametrize("change, error, words", [
    (dict(J=-1.0), AlgorithmError, "cluster algorithm needs ferromagnetic"),
    (dict(algorithm="bogus"), ParameterError, "unknown algorithm 'bogus'"),
    (dict(name="x"), ParameterError, "name is not a model parameter"),
])
def test_a_change_the_engine_cannot_run_is_refused_and_changes_nothing(change, error, words):
    """The model and the algorithm stay as they were, stopped or running."""
    for running in (False, True):
        sampler = Sampler(small_model(J=1.0, K=1.0), algorithm="cluster")
        if running:
            sampler.start()
        with pytest.raises(error, match=words):
            sampler.set_parameters(**change)
        assert (sampler.model.J, sampler.algorithm) == (1.0, "cluster")
        if running:
            assert wait_until(lambda s=sampler: s.sweeps_done > 2) and sampler.running
            assert sampler.stop()
        sampler.raise_if_failed()
        sampler.step(2)   # the engine samples the model the sampler reports
        measured = sampler.history()["energy_per_site"][-1, 0] * 16 * 128
        assert measured == pytest.approx(sampler.model.energy(sampler.snapshot()))


def test_a_refused_change_does_not_undo_the_changes_queued_before_it():
    sampler = Sampler(small_model()).start()
    sampler.pause()
    sampler.set_parameters(J=-0.5)                     # queued while paused
    with pytest.raises(ParameterError, match="cluster"):
        sampler.set_parameters(algorithm="cluster")    # J < 0 queued: refused
    sampler.step(1)
    assert sampler.model.J == -0.5 and sampler.algorithm == "auto"
    assert sampler.stop()


def test_resizing_restarts_and_keeps_running():
    sampler = Sampler(small_model())
    sampler.start()
    sampler.set_parameters(neurons=8, ticks=256)
    assert wait_until(lambda: sampler.snapshot().shape == (8, 256))
    assert sampler.stop()
    sampler.raise_if_failed()


def test_worker_errors_are_surfaced_not_swallowed():
    sampler = Sampler(small_model())
    seen = []
    sampler.on_error(seen.append)

    def broken(n_sweeps, *measure_every):
        raise RuntimeError("kernel exploded")

    sampler.path.sweep = sampler.path.sweep_measured = broken
    sampler.start()
    assert wait_until(lambda: sampler.error is not None and not sampler.running)
    with pytest.raises(RuntimeError, match="exploded"):
        sampler.raise_if_failed()
    assert len(seen) == 1 and isinstance(seen[0], RuntimeError)


def test_step_while_running_is_refused():
    sampler = Sampler(small_model()).start()
    try:
        with pytest.raises(RuntimeError, match="running"):
            sampler.step(1)
    finally:
        sampler.stop()


def test_step_while_paused_applies_queued_changes_and_resume_goes_on():
    sampler = Sampler(small_model()).start(sweeps_per_chunk=20)
    try:
        assert wait_until(lambda: sampler.sweeps_done > 0)
        sampler.pause()                       # the chunk in flight may still be running
        sampler.set_parameters(temperature=0.7)
        done = sampler.step(3).sweeps_done    # waits for that chunk, then steps
        assert sampler.model.temperature == 0.7
        assert sampler.idle and sampler.history()["sweep"][-1] == done
        time.sleep(0.1)
        assert sampler.sweeps_done == done    # still paused
        sampler.resume()
        assert wait_until(lambda: sampler.sweeps_done > done)
    finally:
        assert sampler.stop()
    sampler.raise_if_failed()


def test_threads_out_of_range():
    with pytest.raises(ParameterError, match="threads"):
        Sampler(small_model(), threads=999)


def test_sampler_thread_runs_beside_python_code():
    sampler = Sampler(small_model(neurons=64, ticks=256)).step(1)   # compiled before the thread
    sampler.start(sweeps_per_chunk=50)      # chunks long enough that the kernel's time counts
    assert wait_until(lambda: sampler.sweeps_done > 1)
    before, counter = sampler.sweeps_done, 0
    while counter < 10**6:
        counter += 1  # the GIL is released by the kernels, so both make progress
    during = sampler.sweeps_done - before
    sampler.stop()
    assert during >= 50                     # at least a whole chunk beside the loop
    assert threading.active_count() >= 1


def test_initial_states():
    cold = Sampler(small_model(), initial="up")
    assert (cold.configurations() == 1).all()
    hopfield = LatticeModel.create(neurons=50, ticks=8, connectivity="hopfield", temperature=0.5)
    cue = Sampler(hopfield, initial="pattern").configurations()[0]
    overlap = (cue * hopfield.patterns()[0][:, None]).mean()
    assert 0.7 < overlap < 0.9  # 10% of sites flipped: overlap 0.8 +- a few sd (sd ~ 0.02)
    ring = Sampler(small_model(), initial="pattern")  # no patterns on a ring: a hot start
    assert abs(ring.configurations().mean()) < 0.1


@pytest.mark.parametrize("params", [
    dict(connectivity="all-to-all", ticks=20, replicas=2),
    dict(connectivity="sk", ticks=10, time_boundary="open", h=0.3),
    dict(connectivity="grid", neurons=12, grid_rows=3, grid_cols=4, ticks=9,
         K_per_neuron=np.linspace(0.2, 1.4, 12), drive="ramp", drive_amplitude=0.5),
    dict(connectivity="hopfield", ticks=12, replicas=3)])
def test_the_byte_paths_measure_the_models_energy(params):
    sampler = Sampler(small_model(**params), seed=2, allow_fast=False)
    sampler.step(3)
    spins = sampler.configurations()
    history = sampler.history()
    sites = spins.shape[1] * spins.shape[2]
    energy = sampler.model.energy(spins) / sites
    assert np.allclose(history["energy_per_site"][-1], energy, rtol=1e-12, atol=1e-12)
    assert np.array_equal(history["magnetization"][-1], spins.mean(axis=(1, 2)))


def test_a_directly_built_model_is_validated_before_anything_is_allocated():
    """LatticeModel(...) skips create(); the sampler runs create()'s checks itself."""
    with pytest.raises(MemoryBudgetError, match=r"needs about .* GiB"):
        Sampler(LatticeModel(neurons=10**7, ticks=10**7))
    with pytest.raises(ParameterError, match="grid shape"):
        Sampler(LatticeModel(neurons=10, ticks=8, connectivity="grid", grid_rows=3))
    with pytest.raises(ParameterError, match="J must be a finite number"):
        Sampler(LatticeModel(neurons=4, ticks=8, J=float("nan")))
    model = LatticeModel.create(neurons=4, ticks=8)
    model.temperature = 1e-300   # attribute assignment also skips create()
    with pytest.raises(ParameterError, match="temperature"):
        Sampler(model)


def test_a_history_that_does_not_fit_is_refused_with_the_estimate():
    model = small_model()
    with pytest.raises(MemoryBudgetError,
                       match=r"history=1000000000000 .* GiB.* at most \d+ measurements"):
        Sampler(model, history=10**12)
    sampler = Sampler(model, history=2**20)   # 48 MiB: fits one replica, not 1000
    with pytest.raises(MemoryBudgetError, match="history"):
        sampler.set_parameters(replicas=1000)
    assert sampler.model.replicas == 1


@pytest.mark.parametrize("kwargs, words", [
    (dict(seed=-1), "seed must be an integer between 0 and"),
    (dict(seed=2**63), "seed must be an integer between 0 and"),
    (dict(seed=1.5), "seed must be an integer"),
    (dict(history=0), "history must be an integer >= 1"),
    (dict(history=10.5), "history must be an integer"),
    (dict(measure_every="2"), "measure_every must be an integer"),
])
def test_invalid_sampler_settings_are_refused(kwargs, words):
    with pytest.raises(ParameterError, match=words):
        Sampler(small_model(), **kwargs)


@pytest.mark.parametrize("kwargs, words", [
    (dict(sweeps_per_chunk=-5), "sweeps_per_chunk must be an integer >= 1"),
    (dict(sweeps_per_chunk=2.5), "sweeps_per_chunk must be an integer"),
    (dict(max_sweeps=-3), "max_sweeps must be an integer >= 0"),
    (dict(max_sweeps="x"), "max_sweeps must be an integer"),
])
def test_start_refuses_bad_settings_in_the_caller(kwargs, words):
    sampler = Sampler(small_model())
    with pytest.raises(ParameterError, match=words):
        sampler.start(**kwargs)
    assert not sampler.running


@pytest.mark.parametrize("threads", [1.5, float("nan"), 0, 10**6])
def test_threads_must_be_a_count_this_machine_has(threads):
    with pytest.raises(ParameterError, match="threads must be an integer between 1 and"):
        Sampler(small_model(), threads=threads)


@pytest.mark.parametrize("n_sweeps", ["3", 2.5, -1, True])
def test_step_refuses_anything_but_a_non_negative_integer(n_sweeps):
    sampler = Sampler(small_model())
    with pytest.raises(ParameterError, match="n_sweeps must be an integer >= 0"):
        sampler.step(n_sweeps)
    assert sampler.sweeps_done == 0
    sampler.step(np.int64(2))
    assert sampler.sweeps_done == 2


def test_a_long_step_is_measured_in_bounded_calls_with_the_same_history(monkeypatch):
    """A burn-in of 10**12 sweeps allocated all its measurements at once (MemoryError)."""
    from neurolattice_core import sampler as sampler_module

    model = LatticeModel.create(neurons=8, ticks=128, temperature=2.5)
    whole = Sampler(model, seed=3).step(50)
    monkeypatch.setattr(sampler_module, "MEASURED_PER_CALL", 7)
    cut = Sampler(model, seed=3).step(50)
    for key in ("sweep", "energy_per_site", "magnetization"):
        assert np.array_equal(cut.history()[key], whole.history()[key])
    assert np.array_equal(cut.snapshot(), whole.snapshot())


@pytest.mark.parametrize("call, words", [
    (lambda: Sampler("x"), "Sampler samples a LatticeModel"),
    (lambda: Sampler(small_model()).snapshot(5), "replica"),
    (lambda: run_simulation(None), "run_simulation samples a LatticeModel"),
])
def test_wrong_arguments_are_refused_by_name(call, words):
    with pytest.raises(ParameterError, match=words):
        call()
