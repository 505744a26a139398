"""The session's engine: loaded by ``serve`` (not by importing the app), built with the page."""

import subprocess
import sys

from app.store import SessionStore
from tests.conftest import wait_until


def test_importing_the_dashboard_does_not_load_numba(repo_root):
    probe = "import sys, app.main; print(sorted(m for m in sys.modules if m.startswith('numba')))"
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True, cwd=repo_root)
    assert run.stdout.strip() == "[]"


def test_the_engine_is_built_on_first_use_once():
    store = SessionStore()
    assert store.shutdown()                           # nothing built, nothing to stop
    assert not store.engine_ready
    try:
        first = store.sampler                         # first use builds it
        assert store.engine_ready and first.sweeps_done == 1
        assert store.sampler is first                 # built once
        assert first.snapshot().shape == (128, 512)   # the preset's lattice
    finally:
        store.shutdown()


def test_warming_the_engine_loads_numba_and_the_kernels(repo_root):
    probe = ("import sys, app.warmup; app.warmup.warm_engine(); "
             "print(sorted(m for m in sys.modules if m.startswith('neurolattice_core.kernels')))")
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True, cwd=repo_root)
    assert "'neurolattice_core.kernels.multispin'" in run.stdout


def test_an_engine_that_cannot_be_built_is_reported_on_the_page(monkeypatch):
    store = SessionStore()

    def broken():
        raise RuntimeError("no kernels")
    monkeypatch.setattr(store, "_new_sampler", broken)
    assert not store.try_build_engine()
    assert wait_until(lambda: store.deliver() or store.message, timeout=30)
    assert store.message == "The engine could not start: no kernels"
    assert store.message_level == "error" and not store.engine_ready


def test_without_an_engine_the_controls_report_and_play_tries_again(monkeypatch):
    store = SessionStore()
    attempts = []

    def broken():
        attempts.append(1)
        raise RuntimeError("no kernels")
    monkeypatch.setattr(store, "_new_sampler", broken)
    store.controls.temperature = 3.0      # kept for the engine to come, nothing raised
    store.algorithm = "metropolis"
    store.pause()
    store.step()
    store.reset()
    store.play()
    assert len(attempts) == 3 and not store.engine_ready   # step, reset, play tried
    assert wait_until(lambda: store.deliver() or store.message, timeout=30)
    assert store.message == "The engine could not start: no kernels"
    monkeypatch.undo()                    # the cause is gone: the next Play builds and runs
    try:
        store.play()
        assert store.engine_ready and store.sampler.running
        assert store.sampler.model.temperature == 3.0
        assert store.sampler.algorithm == "metropolis"
        store.deliver()
        assert store.message == "The engine started."
        assert store.message_level == "info"
    finally:
        store.shutdown()


def test_a_notebook_page_without_an_engine_says_so_instead_of_raising(monkeypatch):
    from app.main import create_app

    def broken(self):
        raise RuntimeError("no kernels")
    monkeypatch.setattr(SessionStore, "_new_sampler", broken)
    page = create_app()                   # no server session: the notebook path
    store = page.store
    assert not store.engine_ready
    assert "no engine" in page.page.simulate.readout.object
    assert wait_until(lambda: store.deliver() or store.message, timeout=30)
    assert store.message == "The engine could not start: no kernels"
    store.shutdown()


def test_without_an_engine_exports_are_off_and_a_fit_is_not_simulated(monkeypatch):
    """The Simulate downloads need the engine's data; "Simulate this fit" reports instead."""
    from app.main import create_app
    from tests.app.test_fit_state import _fit

    def broken(self):
        raise RuntimeError("no kernels")
    monkeypatch.setattr(SessionStore, "_new_sampler", broken)
    page = create_app()
    store, view = page.store, page.page.simulate
    buttons = view._engine_downloads
    assert len(buttons) == 4 and all(button.disabled for button in buttons)
    # the page's own recording first: a fit is cleared when the recording changes
    assert wait_until(lambda: (store.deliver() or True) and store.recording.status == "ready",
                      timeout=60)
    store.fit.result = _fit(store.recording, model="lft", method="pl", drive="off")
    store.deliver()
    assert not store.simulate_fit() and not store.engine_ready
    store.deliver()
    assert store.message == "The engine could not start: no kernels"
    monkeypatch.undo()
    try:
        assert store.simulate_fit() and store.engine_ready
        view._on_frame()
        assert not any(button.disabled for button in buttons)
    finally:
        store.shutdown()


def test_the_page_is_built_with_its_first_frame_drawn():
    """Snapshot, traces, correlations, kernel and readout go out with the page (no redraw)."""
    from app.main import create_app

    page = create_app()
    view = page.page.simulate
    try:
        assert "flips/ns" in view.readout.object
        assert view.raster.source.data["image"][0].shape == (128, 512)
        assert len(view.energy.sources["energy"].data["y"]) >= 1
        for plot, line in ((view.temporal, "measured"), (view.spatial, "C"),
                           (view.kernel, "rows"), (view.kernel, "cols")):
            assert len(plot.sources[line].data["y"]) > 1, (plot, line)
        assert "waiting" not in view.temporal.figure.title.text
    finally:
        page.store.shutdown()
