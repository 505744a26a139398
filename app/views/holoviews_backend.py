"""HoloViews with its Bokeh backend, loaded by the first view that draws with it.

The Recording, Fit and phases views import ``hv`` from here, so HoloViews (about 0.25 s) is
loaded when one of their tabs is first opened, not at the dashboard's start-up. Their plots
carry no Bokeh logo in the toolbar, like the Simulate view's.
"""

import holoviews as hv

if "bokeh" not in hv.Store.renderers:
    hv.extension("bokeh", logo=False)

_ELEMENTS = ("Bars", "Curve", "ErrorBars", "Histogram", "Image", "Overlay", "Scatter", "Text")
hv.opts.defaults(*[getattr(hv.opts, element)(backend_opts={"plot.toolbar.logo": None})
                   for element in _ELEMENTS])

#: y axis of the kernel averages mu_i, nu_t of recordings and fits (spin variables)
MEAN_SPIN = hv.Dimension("m", label="mean spin ⟨s⟩ = 2 p(spike) − 1")

__all__ = ["MEAN_SPIN", "hv"]
