"""The dashboard factory: one :func:`create_app` call per browser session."""

import importlib
import logging
import os
import sys
import time

import panel as pn
from tornado.ioloop import IOLoop

from .lazy_tabs import LazyTabs
from .outbox import start_periodic
from .page import CSS as PAGE_CSS
from .page import Page
from .rejected_input import install as report_rejected_input
from .store import SessionStore
from .views.simulate import SimulateView
from .warmup import EngineWarmup

log = logging.getLogger(__name__)

CSS = """
.nl-readout { font-family: ui-monospace, monospace; font-size: 13px; color: #222; }
.nl-muted { color: #666; }
.nl-note { color: #444; font-style: italic; }
.nl-table th { text-align: left; padding-right: 14px; color: #444; font-weight: 600; }
.nl-header { background: #1a365d; color: white; font-size: 22px; padding: 12px 18px;
             font-family: system-ui, sans-serif; }
"""


def _in_jupyter_kernel():
    """True when imported by a running Jupyter (IPython) kernel."""
    shell = getattr(sys.modules.get("IPython"), "get_ipython", lambda: None)()
    return shell is not None and "IPKernelApp" in shell.config


# Configuration of the libraries (not session state): loaded once, before any session.
# In a notebook the JavaScript and CSS are embedded in the output (no CDN: works offline); the
# server serves them itself (see serve). HoloViews loads with the first tab that uses it.
_INLINE = _in_jupyter_kernel()
if _INLINE:
    import holoviews as hv
    hv.extension("bokeh", logo=False, inline=True)
# FileDropper named here: its JavaScript must be in the page before the lazily built Recording tab.
pn.extension("filedropper", notifications=True, raw_css=[CSS, PAGE_CSS], inline=_INLINE)


def _view(module, name, **params):
    """Build view ``name`` of ``app.views.<module>``, importing the module now.

    The tabs other than Simulate (and HoloViews, which they draw with) stay out of the start-up.
    """
    return getattr(importlib.import_module(f".views.{module}", __package__), name)(**params)


def create_app(recording_source=None, warmup=None):
    """Build the page of one session.

    Parameters
    ----------
    recording_source : str, optional
        A server-side file path or ``sample:NAME`` preloaded in the Recording view.
    warmup : EngineWarmup, optional
        The server's kernel loading. While it runs, the page goes out without its engine, which
        is built once the page is sent and drawn with the next frame; without it (notebooks,
        tests) or once it is done, the page goes out with the engine's first frame drawn.
    """
    store = SessionStore()
    simulate = SimulateView(store=store)
    lazy = LazyTabs([("Simulate", lambda: simulate),
                     ("Recording", lambda: _view("recording", "RecordingView",
                                                 state=store.recording)),
                     ("Fit", lambda: _view("fit", "FitView", store=store)),
                     ("Renormalise & phases", lambda: _view("phases", "PhasesView", store=store)),
                     ("About", lambda: _view("about", "AboutView"))])

    def show_message(event):
        if event.new and pn.state.notifications is not None:
            getattr(pn.state.notifications, event.obj.message_level)(event.new, duration=6000)

    store.param.watch(show_message, "message")
    context = pn.state.curdoc.session_context if pn.state.curdoc else None
    session_id = context.id if context is not None else ""
    header = pn.pane.HTML(
        f"<div class='nl-header' data-session='{session_id}'><b>neurolattice</b> · lattice "
        "field theory of neural populations</div>", sizing_mode="stretch_width")
    page = Page(store, lazy.tabs, header, simulate)   # applies the link's values
    template = page.root
    if context is not None and warmup is not None and not warmup.loaded:
        # after this request: the kernels load while the browser loads and draws the page
        pn.state.curdoc.add_next_tick_callback(lambda: warmup.build_engine_when_loaded(store))
    elif store.try_build_engine():   # tens of ms once the kernels are loaded
        simulate.show_engine()
    else:
        simulate.show_no_engine()

    def on_load():
        """Start the frames (which add the statistics plots), then load the recording.

        The recording's worker thread would otherwise share the interpreter (and the machine)
        with the sending and drawing of the page.
        """
        start_periodic(store.deliver, 150)
        page.start_frames()   # idle while there is no engine (Play tries to build it again)
        if recording_source:
            store.recording.load_path(recording_source)
        else:
            store.recording.load_sample()

    def on_destroyed(session_context):
        started = time.perf_counter()
        page.stop_frames()
        stopped = store.shutdown()
        log.info("session %s closed: engine thread %s in %.2f s", session_context.id,
                 "stopped" if stopped else "STILL RUNNING", time.perf_counter() - started)

    pn.state.onload(on_load)
    if context is None:   # a notebook draws the page in one go
        simulate.show_statistics()
    else:   # in a notebook the kernel owns the engine: app.store.shutdown()
        report_rejected_input(template, store.notify)   # this session's exception handler
        pn.state.on_session_destroyed(on_destroyed)
    template.store = store  # for tests and notebooks
    template.page = page
    template.views = lazy.views  # the views built so far, by tab index
    return template


def serve(recording_source=None, *, port=5006, address="localhost", allow_websocket_origin=None,
          show=False):
    """Start the Panel server (blocks). Closed tabs free their engine within about 2 s.

    The engine's kernels load in the background (:class:`EngineWarmup`), from the first page's
    request or, if none comes sooner, a second after the server listens.
    """
    origins = allow_websocket_origin or [f"localhost:{port}", f"127.0.0.1:{port}"]
    # JS and CSS come from this server, never from a CDN: the app works offline.
    os.environ["BOKEH_RESOURCES"] = "server"
    warmup = EngineWarmup()
    loop = IOLoop.current()
    loop.call_later(1.0, warmup.start)
    pn.serve({"neurolattice": lambda: create_app(recording_source, warmup)}, port=port,
             address=address, loop=loop,
             allow_websocket_origin=origins, show=show, title="neurolattice",
             check_unused_sessions_milliseconds=500, unused_session_lifetime_milliseconds=1000)
