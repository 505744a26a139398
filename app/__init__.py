"""The neurolattice dashboard (Panel + HoloViews + Bokeh).

The only package that imports the UI stack.
"""
