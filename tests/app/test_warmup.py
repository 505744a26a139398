"""The server's background loading of the kernels, and sessions whose engine comes with it."""

import threading

from app import warmup as warmup_module
from app.store import SessionStore
from app.views.simulate import LOADING_READOUT, SimulateView
from app.warmup import EngineWarmup
from tests.conftest import wait_until


def _gated_load(monkeypatch):
    """Replace the kernel load by one that waits for the returned event; count the loads."""
    gate, loads = threading.Event(), []

    def load():
        loads.append(1)
        gate.wait(30)
    monkeypatch.setattr(warmup_module, "warm_engine", load)
    monkeypatch.setattr(warmup_module, "warm_other_kernels", lambda: [])
    return gate, loads


def test_the_kernels_of_the_other_presets_load_after_the_first():
    """The general path (SK) and Wolff clusters: a preset change then compiles nothing."""
    assert warmup_module.warm_other_kernels() == ["local", "cluster"]


def test_the_kernels_load_once_in_the_background(monkeypatch):
    gate, loads = _gated_load(monkeypatch)
    warmup = EngineWarmup()
    warmup.start()
    warmup.start()                          # the first page and the timer both start it
    assert wait_until(lambda: loads, timeout=10) and not warmup.loaded
    gate.set()
    assert wait_until(lambda: warmup.loaded, timeout=10)
    assert loads == [1]


def test_a_session_gets_its_engine_once_the_kernels_are_loaded(monkeypatch):
    gate, _ = _gated_load(monkeypatch)
    warmup, store = EngineWarmup(), SessionStore()
    view = SimulateView(store=store)
    try:
        warmup.build_engine_when_loaded(store)
        view._on_frame()                    # frames before the engine: the page says it loads
        assert view.readout.object == LOADING_READOUT and not store.engine_ready
        gate.set()
        assert wait_until(lambda: store.engine_ready, timeout=60)
        view._on_frame()                    # the next frame draws it
        assert "flips/ns" in view.readout.object
        assert view.raster.source.data["image"][0].shape == (128, 512)
    finally:
        store.shutdown()


def test_a_closed_session_gets_no_engine(monkeypatch):
    gate, _ = _gated_load(monkeypatch)
    warmup, store = EngineWarmup(), SessionStore()
    build = warmup.build_engine_when_loaded(store)
    store.shutdown()                        # the tab closed while the kernels loaded
    gate.set()
    build.join(60)
    assert not build.is_alive() and not store.engine_ready


def test_an_engine_that_fails_to_build_in_the_background_is_reported(monkeypatch):
    gate, _ = _gated_load(monkeypatch)

    def broken():
        raise RuntimeError("no kernels")
    warmup, store = EngineWarmup(), SessionStore()
    monkeypatch.setattr(store, "_new_sampler", broken)
    view = SimulateView(store=store)
    warmup.build_engine_when_loaded(store)
    gate.set()
    assert wait_until(lambda: store.engine_failed, timeout=10)
    view._on_frame()
    assert "no engine" in view.readout.object
    assert wait_until(lambda: store.deliver() or store.message, timeout=10)
    assert store.message == "The engine could not start: no kernels"
