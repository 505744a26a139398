"""The live field snapshot as a plain Bokeh image, cheap enough to redraw 20 times a second.

A HoloViews DynamicMap rebuilds its element and recomputes ranges on every update (tens of
milliseconds for 128 x 512); here a frame is one ColumnDataSource assignment of a uint8 array
(64 kB for 128 x 512, a quarter of float32), which Bokeh sends as a binary buffer.
"""

import numpy as np
import panel as pn
from bokeh.models import ColumnDataSource, HoverTool, LinearColorMapper, Range1d, SaveTool
from bokeh.plotting import figure

from .live_plots import style_figure

SPIKE_COLOURS = ["#f7f7f7", "#111111"]  # silent (-1) light, spike (+1) dark: reads like a raster
SPIN_COLOURS = ["#2166ac", "#b2182b"]   # down (-1) blue, up (+1) red: the magnet's two phases
#: The colourings a raster offers: palette (s = -1, s = +1) and what to say in a title.
COLOURINGS = {"spikes": (SPIKE_COLOURS, "dark = spike (s = +1)"),
              "spins": (SPIN_COLOURS, "red = up (s = +1), blue = down (s = -1)")}


MAX_IMAGE_SIDE = 4096
"""Pixels an image is drawn with at most along each axis.

Browsers refuse WebGL textures wider than 8192-16384 pixels (a 40 000-tick recording left
every plot of its tab blank), and a screen shows fewer columns than that anyway."""


def pooled_image(up, max_side=MAX_IMAGE_SIDE, rule="any"):
    """``up`` (n, t) bool pooled to at most ``max_side`` pixels per axis.

    Returns (image bool (n', t'), (cells per pixel row, cells per pixel column)); the grid is
    padded with False to whole pixels. ``rule`` "any": a pixel is on when any of its cells is
    (a spike raster: no spike is lost); "majority": when more than half of its cells are (spins).
    """
    n, t = up.shape
    rows, cols = -(-n // max_side), -(-t // max_side)
    if rows == 1 and cols == 1:
        return up, (1, 1)
    padded = np.zeros((-(-n // rows) * rows, -(-t // cols) * cols), dtype=bool)
    padded[:n, :t] = up
    blocks = padded.reshape(padded.shape[0] // rows, rows, padded.shape[1] // cols, cols)
    if rule == "any":
        return blocks.any(axis=(1, 3)), (rows, cols)
    return 2 * blocks.sum(axis=(1, 3)) > rows * cols, (rows, cols)


class LiveRaster:
    """A neurons x ticks image of one configuration, updated in place.

    Parameters
    ----------
    title : str
        Plot title.
    filename : str
        Name (without .png) of the file the save tool downloads.
    height : int
        Plot height in pixels.
    font_scale : float
        Multiplies the default font sizes (presentation mode uses about 1.8).
    x_label, y_label : str
        Axis labels (with units).
    hover_names : (str, str)
        What the hover tool calls the x and y of a pixel.
    width : int, optional
        Fixed width in pixels (the default stretches to the page's width).
    """

    def __init__(self, title, filename, height=360, font_scale=1.0, x_label="time t (ticks)",
                 y_label="neuron i", hover_names=("tick", "neuron"), width=None):
        self.source = ColumnDataSource({"image": [np.zeros((1, 1), np.uint8)], "x": [0],
                                        "y": [0], "dw": [1], "dh": [1]},
                                       name="nl-live-raster")  # found by name in benchmarks
        self.x_range, self.y_range = Range1d(0, 1), Range1d(0, 1)
        save = SaveTool(filename=filename)
        hover = HoverTool(tooltips=[(hover_names[0], "$x{0}"), (hover_names[1], "$y{0}"),
                                    ("spike", "@image")])
        size = {"sizing_mode": "stretch_width"} if width is None else {"width": width}
        fig = figure(height=height, **size, title=title,
                     x_range=self.x_range, y_range=self.y_range, toolbar_location="above",
                     tools=["pan", "wheel_zoom", "reset", save, hover],
                     x_axis_label=x_label, y_axis_label=y_label)
        self._colours = LinearColorMapper(palette=SPIKE_COLOURS, low=0, high=1)
        fig.image(image="image", x="x", y="y", dw="dw", dh="dh", source=self.source,
                  color_mapper=self._colours)
        fig.grid.visible = False
        style_figure(fig, font_scale)
        self.figure = fig
        self.pane = pn.pane.Bokeh(fig, **size)

    def update(self, spins, tick_width=1):
        """Draw ``spins`` (N, T) of +-1 (int8); each column spans ``tick_width`` ticks.

        Lattices larger than MAX_IMAGE_SIDE along an axis are pooled (:func:`pooled_image`: a
        pixel shows a spike if any of its sites spikes, or in the spin colouring the majority).
        """
        rule = "majority" if list(self._colours.palette) == SPIN_COLOURS else "any"
        image, (rows, cols) = pooled_image(spins > 0, rule=rule)
        extent, height = image.shape[1] * cols * tick_width, image.shape[0] * rows
        if (self.x_range.end, self.y_range.end) != (extent, height):
            self.x_range.update(start=0, end=extent)
            self.y_range.update(start=0, end=height)
        self.source.data = {"image": [image.view(np.uint8)], "x": [0], "y": [0],
                            "dw": [extent], "dh": [height]}

    def set_colouring(self, colouring):
        """Colour the spins as "spikes" (dark +1 on light) or "spins" (red +1, blue -1)."""
        palette = COLOURINGS[colouring][0]
        if list(self._colours.palette) != palette:
            self._colours.palette = palette

    def set_title(self, text):
        """Change the title (only when it differs: every change is sent to the browser)."""
        if self.figure.title.text != text:
            self.figure.title.text = text
