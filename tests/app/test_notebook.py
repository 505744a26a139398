"""The dashboard outside a server, as in a Jupyter notebook (no browser, no kernel).

What this cannot check: that a live Jupyter kernel's event loop runs the periodic frame
callbacks and that the browser draws the comm updates (IPython and Jupyter are not installed).
"""

import panel as pn

from tests.conftest import wait_until


def test_create_app_builds_outside_a_server_and_its_store_works(app):
    assert pn.state.curdoc is None
    store = app.store
    store.step()
    assert store.sampler.sweeps_done >= 2
    store.play()
    assert wait_until(lambda: store.sampler.sweeps_done > 5, timeout=30)
    store.controls.temperature = 3.0
    assert wait_until(lambda: store.sampler.model.temperature == 3.0)
    assert app.page.link.location is None  # no URL to read or write


def test_the_notebook_display_renders_both_modes(app, monkeypatch):
    # a notebook calls _repr_mimebundle_; without IPython the display handle is skipped
    monkeypatch.setattr(pn.config, "console_output", "disable")
    bundle, meta = app._repr_mimebundle_()
    assert "application/vnd.holoviews_exec.v0+json" in bundle
    assert "lattice field theory of neural populations" in bundle["text/html"]
    app.page.state.mode = "present"
    shown = [item for item in app.page.root.objects if item.visible]
    assert shown == [item for item in app.page.presentation if item.visible]
    assert all(item in app.page.root.objects for item in app.page.presentation)
    bundle, _ = app._repr_mimebundle_()
    assert "Exit presentation" in bundle["text/html"]


def test_no_session_callbacks_leak_into_later_servers(app):
    # outside a server the engine belongs to the kernel: nothing is registered globally
    assert not pn.state._on_session_destroyed
