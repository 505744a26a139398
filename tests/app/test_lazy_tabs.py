"""Tabs build their views when first opened: the first page carries the Simulate view only."""

from bokeh.document import Document

from app.lazy_tabs import LazyTabs
from app.views.fit import FitView
from app.views.recording import RecordingView
from tests.conftest import wait_until


def test_only_the_open_tab_is_built_and_others_are_built_when_opened(app):
    tabs = app.page.tabs
    assert set(app.views) == {0}
    first_models = len(list(app.get_root(Document()).references()))
    tabs.active = 2
    assert isinstance(app.views[2], FitView)
    assert "Preparing this view" not in repr(tabs[2].objects)  # the placeholder is replaced
    assert "Simulate this fit" in repr(tabs[2].objects)
    assert len(list(app.get_root(Document()).references())) > first_models
    built = app.views[2]
    tabs.active = 0
    tabs.active = 2
    assert app.views[2] is built  # built once


def test_a_view_built_after_the_recording_loaded_shows_it(app):
    recording = app.store.recording
    # outside a server nothing delivers the worker's messages: the test does
    assert wait_until(lambda: (app.store.deliver(), recording.status == "ready")[1], timeout=60)
    app.page.tabs.active = 1
    view = app.views[1]
    assert isinstance(view, RecordingView)
    assert recording.source_label in view.summary.object


def test_each_factory_runs_once_and_only_when_its_tab_opens():
    calls = []
    lazy = LazyTabs([(name, lambda name=name: calls.append(name) or name.upper())
                     for name in ("a", "b", "c")])
    assert calls == ["a"]
    lazy.tabs.active = 2
    lazy.tabs.active = 2
    lazy.tabs.active = 0
    assert calls == ["a", "c"]
    assert lazy.build(1) == "B" and calls == ["a", "c", "b"]
