"""Tabs whose views are built the first time they are opened.

The first page of a session then carries only the open tab's Bokeh models (the Simulate view's,
about 300 of the 500 of all tabs), so it is served and drawn sooner. Panel's own
``Tabs(dynamic=True)`` is not used: it leaves hidden plots blank in this layout.
"""

import panel as pn

_PLACEHOLDER = "<div class='nl-muted' style='padding:24px'>Preparing this view…</div>"


class LazyTabs:
    """A :class:`panel.Tabs` whose entries are made by factories on first activation.

    Parameters
    ----------
    entries : list of (str, callable)
        Tab titles and zero-argument factories returning the view shown in that tab.

    Attributes
    ----------
    tabs : panel.Tabs
        The widget to lay out.
    views : dict of int to viewable
        The views built so far, by tab index.
    """

    def __init__(self, entries):
        self._factories = [factory for _, factory in entries]
        self._holders = [pn.Column(pn.pane.HTML(_PLACEHOLDER), sizing_mode="stretch_width")
                         for _ in entries]
        self.tabs = pn.Tabs(*[(title, holder) for (title, _), holder
                              in zip(entries, self._holders, strict=True)],
                            dynamic=False, sizing_mode="stretch_width")
        self.views = {}
        self.tabs.param.watch(lambda event: self.build(event.new), "active")
        self.build(self.tabs.active)

    def build(self, index):
        """The view of tab ``index``, built and put in place if it was not yet."""
        if index not in self.views:
            self.views[index] = view = self._factories[index]()
            self._holders[index][:] = [view]
        return self.views[index]
