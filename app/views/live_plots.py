"""Live line plots as plain Bokeh figures whose data sources are updated in place.

A HoloViews DynamicMap redraw rebuilds glyphs and legends, which makes Bokeh walk every model of
the session's document (hundreds of milliseconds with all tabs on the page); assigning or
streaming a data source sends only the numbers. The Simulate and presentation views draw their
live traces, correlation functions and spectra with :class:`LiveLines`.
"""

import numpy as np
import panel as pn
from bokeh.models import ColumnDataSource, NumeralTickFormatter, Range1d, SaveTool
from bokeh.plotting import figure

PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e"]


def style_figure(fig, font_scale=1.0):
    """Font sizes of a live figure's title and axes (scaled up in presentation mode); no logo."""
    fig.toolbar.logo = None
    fig.title.text_font_size = f"{round(13 * font_scale)}px"
    for axis in (fig.xaxis, fig.yaxis):
        axis.axis_label_text_font_size = f"{round(13 * font_scale)}px"
        axis.major_label_text_font_size = f"{round(11 * font_scale)}px"


class LiveLines:
    """A figure with named lines, each fed by its own data source.

    Parameters
    ----------
    title, x_label, y_label : str
        Title and axis labels (with units).
    lines : list of (name, legend label or None, colour, dash)
        One entry per line; ``dash`` is a Bokeh dash pattern ("solid", "dashed").
    filename : str
        Name (without .png) of the file the save tool downloads.
    y_range : (float, float), optional
        Fixed y range; automatic when omitted.
    height : int
        Plot height in pixels.
    font_scale : float
        Multiplies the default font sizes.
    legend : str
        Legend location ("top_right", ...).
    x_format : str, optional
        Numeral.js format of the x tick labels, e.g. "0,0" for sweep counts (207,000 rather
        than 2.070e+5).
    x_integer : bool
        Ticks on whole numbers only (sweep counts: no 0.5 shown as a second "1").
    """

    def __init__(self, title, x_label, y_label, lines, filename, y_range=None, height=250,
                 font_scale=1.0, legend="top_right", x_format=None, x_integer=False):
        save = SaveTool(filename=filename)
        options = {"y_range": Range1d(*y_range)} if y_range is not None else {}
        fig = figure(height=height, sizing_mode="stretch_width", title=title,
                     toolbar_location="above", tools=["pan", "wheel_zoom", "reset", save],
                     x_axis_label=x_label, y_axis_label=y_label, **options)
        self.sources, self._renderers = {}, {}
        for name, label, colour, dash in lines:
            source = ColumnDataSource({"x": np.zeros(0), "y": np.zeros(0)})
            extra = {"legend_label": label} if label else {}
            self._renderers[name] = fig.line("x", "y", source=source, color=colour,
                                             line_dash=dash, line_width=2 * font_scale, **extra)
            self.sources[name] = source
        if any(label for _, label, _, _ in lines):
            fig.legend.location = legend
            fig.legend.label_text_font_size = f"{round(11 * font_scale)}px"
            fig.legend.background_fill_alpha = 0.7
        if x_format is not None:
            fig.xaxis.formatter = NumeralTickFormatter(format=x_format)
        if x_integer:
            fig.xaxis[0].ticker.min_interval = 1
        style_figure(fig, font_scale)
        self.figure = fig
        self.pane = pn.pane.Bokeh(fig, sizing_mode="stretch_width")

    def set(self, name, x, y):
        """Replace the data of line ``name`` (x, y: 1-D arrays of equal length)."""
        self.sources[name].data = {"x": np.asarray(x, float), "y": np.asarray(y, float)}

    def extend(self, name, x, y, keep=2000):
        """Append points to line ``name``, keeping the last ``keep``."""
        self.sources[name].stream({"x": np.asarray(x, float), "y": np.asarray(y, float)},
                                  rollover=keep)

    def clear(self, name):
        """Remove every point of line ``name``."""
        self.set(name, np.zeros(0), np.zeros(0))

    def show(self, name, visible):
        """Show or hide line ``name`` and its legend entry (only when it changes)."""
        renderer = self._renderers[name]
        if renderer.visible != visible:
            renderer.visible = visible
            for legend in self.figure.legend:
                for item in legend.items:
                    if renderer in item.renderers:
                        item.visible = visible

    def set_title(self, text):
        """Change the title (only when it differs: every change is sent to the browser)."""
        if self.figure.title.text != text:
            self.figure.title.text = text

    def resend(self):
        """Send the title and the lines' visibility again, unchanged.

        Heals a change lost on the way to the browser (as can happen through a notebook's comm
        in the first second after Play); the data are resent by :meth:`set`.
        """
        title = self.figure.title
        title.trigger("text", title.text, title.text)
        for renderer in self._renderers.values():
            renderer.trigger("visible", renderer.visible, renderer.visible)
        for legend in self.figure.legend:
            for item in legend.items:
                item.trigger("visible", item.visible, item.visible)
