"""Loading Numba and the engine's kernels once per server, while the first page is drawn.

Loading them takes about 0.5 s from Numba's on-disk cache (30-40 s to compile on the first start
after an install). A server that did it before listening would hold its first page back by that
long; one that does it in a thread started with its first session does it while the browser loads
and draws that page (another process, another core), and the page's engine appears a moment
later. Sessions opened after the kernels are loaded build their engine with the page.
"""

import logging
import threading
import time

log = logging.getLogger(__name__)


def warm_engine():
    """Import the engine and load its compiled kernels (blocks; any thread).

    A failure is logged; each session then reports it on its page.
    """
    from .store import SessionStore

    store = SessionStore()
    store.try_build_engine()
    store.shutdown()


#: Presets (and the Wolff algorithm) whose kernels the default preset does not load: loaded
#: after it, while the first page is used. Compiling them takes 10-15 s on the first start after
#: an install (about 0.1 s from the cache), which a session would otherwise spend inside the
#: callback of its preset change, with its page frozen and nothing saying why.
OTHER_KERNELS = (("Spin glass (SK)", "auto"), ("Critical 2-D Ising", "cluster"))


def warm_other_kernels():
    """Load the kernels of :data:`OTHER_KERNELS` by running one frame of each (blocks).

    Returns the engine paths that ran (list of str).
    """
    from .store import SessionStore

    store, paths = SessionStore(), []
    try:
        store.try_build_engine()
        for preset, algorithm in OTHER_KERNELS:
            store.preset = preset
            store.algorithm = algorithm
            store.step()
            paths.append(store.sampler.path.name)
    finally:
        store.shutdown()
    return paths


class EngineWarmup:
    """:func:`warm_engine` in a background thread, started once, by the first caller.

    One instance per server (held by its session factory, never at module level).
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._thread = None
        self._loaded = threading.Event()

    @property
    def loaded(self):
        """True once the kernels are loaded (or their loading failed: sessions report it)."""
        return self._loaded.is_set()

    def start(self):
        """Start loading in a daemon thread, unless it has started already."""
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._load, daemon=True,
                                                name="neurolattice-warmup")
                self._thread.start()

    def _load(self):
        started = time.perf_counter()
        try:
            warm_engine()
        finally:
            self._loaded.set()
            log.info("engine kernels loaded in %.2f s", time.perf_counter() - started)
        started = time.perf_counter()
        try:
            warm_other_kernels()
        except Exception:      # a session using them will report it
            log.exception("loading the kernels of the other presets failed")
        log.info("other presets' kernels loaded in %.2f s", time.perf_counter() - started)

    def build_engine_when_loaded(self, store):
        """Start loading if needed; build ``store``'s engine in a thread once loaded.

        The session's views pick the engine up with their next frame; a failure reaches the
        page as the store's error message. Nothing is built for a session closed meanwhile.
        Returns the building thread.
        """
        self.start()

        def build():
            self._loaded.wait()
            if not store.closed:
                store.try_build_engine()

        thread = threading.Thread(target=build, daemon=True, name="neurolattice-engine-build")
        thread.start()
        return thread
