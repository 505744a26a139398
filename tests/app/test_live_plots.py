"""Live line plots: what they send to the browser, without a browser."""

import numpy as np
from bokeh.document import Document

from app.views.live_plots import LiveLines


def _plot_in_document():
    plot = LiveLines("C(τ): waiting", "lag τ (ticks)", "C(τ)",
                     [("measured", "measured", "#1f77b4", "solid"),
                      ("exact", "exact", "#ff7f0e", "dashed")], "test")
    document = Document()
    document.add_root(plot.figure)
    events = []
    document.on_change(lambda event: events.append((event.model, event.attr, event.new)))
    return plot, events


def test_a_change_is_sent_once_and_an_unchanged_title_not_at_all():
    plot, events = _plot_in_document()
    plot.set_title("C(τ)")
    plot.set_title("C(τ)")
    plot.show("exact", True)          # already visible: nothing to send
    assert events == [(plot.figure.title, "text", "C(τ)")]


def test_resend_sends_the_title_and_every_visibility_again_unchanged():
    plot, events = _plot_in_document()
    plot.set_title("C(τ)")
    plot.show("exact", False)
    events.clear()
    plot.resend()
    sent = {(type(model).__name__, attr, new) for model, attr, new in events}
    assert sent == {("Title", "text", "C(τ)"),
                    ("GlyphRenderer", "visible", True), ("GlyphRenderer", "visible", False),
                    ("LegendItem", "visible", True), ("LegendItem", "visible", False)}
    assert len(events) == 5                       # title, two lines, two legend entries
    assert plot.figure.title.text == "C(τ)" and not plot._renderers["exact"].visible


def test_a_live_raster_wider_than_the_browser_allows_is_pooled():
    from app.views.raster import MAX_IMAGE_SIDE, LiveRaster

    raster = LiveRaster("snapshot", "file")
    spins = -np.ones((2, 3 * MAX_IMAGE_SIDE), dtype=np.int8)
    spins[0, -1] = 1
    raster.update(spins)
    image = raster.source.data["image"][0]
    assert image.shape == (2, MAX_IMAGE_SIDE) and image[0, -1] == 1 and image.sum() == 1
    assert raster.source.data["dw"] == [3 * MAX_IMAGE_SIDE] == [raster.x_range.end]
    raster.set_colouring("spins")                  # one up spin of three: the majority is down
    raster.update(spins)
    assert raster.source.data["image"][0].sum() == 0
