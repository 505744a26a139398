"""HoloViews with its Bokeh backend, loaded by the first view that draws with it.

The Recording, Fit and phases views import ``hv`` from here, so HoloViews (about 0.25 s) is
loaded when one of their tabs is first opened, not at the dashboard's start-up.
"""

import holoviews as hv

if "bokeh" not in hv.Store.renderers:
    hv.extension("bokeh", logo=False)

__all__ = ["hv"]
