"""The neurolattice dashboard (Panel + HoloViews + Bokeh). The only package importing the UI stack."""
