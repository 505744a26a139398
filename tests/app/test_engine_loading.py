"""The session's engine is built after the page: Numba stays out of the server's start."""

import subprocess
import sys
import threading

from app.store import SessionStore
from tests.conftest import wait_until


def test_importing_the_dashboard_does_not_load_numba(repo_root):
    probe = "import sys, app.main; print(sorted(m for m in sys.modules if m.startswith('numba')))"
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True, cwd=repo_root)
    assert run.stdout.strip() == "[]"


def test_the_engine_is_built_on_first_use_or_by_load_engine():
    store = SessionStore()
    try:
        assert not store.engine_ready
        done = threading.Event()
        store.load_engine(then=done.set)
        assert done.wait(60) and store.engine_ready
        first = store.sampler
        assert store.sampler is first                 # built once
        assert store.sampler.snapshot().shape == (128, 512)   # the preset's lattice
    finally:
        store.shutdown()
    lazy = SessionStore()
    assert lazy.shutdown()                            # nothing built, nothing to stop
    assert not lazy.engine_ready
    assert lazy.sampler.sweeps_done == 1 and lazy.engine_ready   # first use builds it
    lazy.shutdown()


def test_an_engine_that_cannot_be_built_is_reported_on_the_page(monkeypatch):
    store = SessionStore()

    def broken():
        raise RuntimeError("no kernels")
    monkeypatch.setattr(store, "_new_sampler", broken)
    called = threading.Event()
    store.load_engine(then=called.set)
    assert wait_until(lambda: store.deliver() or store.message, timeout=30)
    assert store.message == "The engine could not start: no kernels"
    assert store.message_level == "error" and not store.engine_ready
    assert called.wait(30)                      # the page goes on without an engine
