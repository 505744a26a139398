"""The page of one session around the tabs: header, presentation mode and the URL it carries.

:class:`Page` shows either the tabs ("explore") or the presentation layout ("present"), runs
the frame callbacks of the layout that is shown only (one stream of snapshots per session), and
reads and writes the URL through :class:`~app.url_state.LinkState`.
"""

import panel as pn

from .experiments import ExperimentState
from .outbox import start_periodic
from .url_state import LinkState, PageState, decode_args
from .views.present import PresentView

CSS = """
.nl-present { background: white; color: black; }
.nl-present-step { font-family: system-ui, sans-serif; font-size: 28px; line-height: 1.35;
                   color: black; padding: 6px 14px; border-left: 6px solid #1a365d; }
.nl-present-readout { font-family: ui-monospace, monospace; font-size: 26px; color: black; }
"""


class Page:
    """Header, tabs or presentation, the link message, and the URL of one session.

    Parameters
    ----------
    store : SessionStore
    tabs : panel.Tabs
        The explore view (its titles name the ``tab`` values of the URL).
    header : panel viewable
        The page's title bar.
    simulate : SimulateView
        The view whose frame callback runs while the tabs are shown.
    """

    def __init__(self, store, tabs, header, simulate):
        self.store, self.tabs, self.simulate = store, tabs, simulate
        self.experiments = ExperimentState(store)
        self.state = PageState()
        self._present = self._presentation = None   # built when first shown (start-up)
        location = pn.state.location if pn.state.curdoc is not None else None
        self.link = LinkState(store, self.experiments, self.state, list(tabs._names), location)
        self.link_message = pn.pane.Alert("", alert_type="warning", sizing_mode="stretch_width",
                                          css_classes=["nl-link"])
        dismiss = pn.widgets.Button(label="Dismiss", color="default", width=90,
                                    margin=(12, 10), description="Hide this message")
        self.link_banner = pn.Row(self.link_message, dismiss, visible=False,
                                  sizing_mode="stretch_width")
        dismiss.on_click(lambda _: setattr(self.link_banner, "visible", False))
        self._loaded = False
        present_button = pn.widgets.Button(label="Present", color="light", width=110,
                                           margin=(14, 18), description="Presentation mode: "
                                           "large plot and fonts, guided experiments")
        present_button.on_click(lambda _: setattr(self.state, "mode", "present"))
        self.explore = [pn.Row(header, present_button, sizing_mode="stretch_width",
                               styles={"background": "#1a365d"}), tabs]
        self.root = pn.Column(self.explore[0], self.link_banner, tabs,
                              sizing_mode="stretch_width")

        problems = self.link.apply(decode_args(pn.state.session_args))
        if problems:
            self.link_message.object = ("**Some values in the link were ignored** (the page uses "
                                        "the preset's values instead): "
                                        + "; ".join(problems) + ".")
            self.link_banner.visible = True
        self._show_tab()
        self._show_mode()
        tabs.param.watch(self._on_tab, "active")
        self.state.param.watch(self._show_mode, "mode")
        self.state.param.watch(self._show_tab, "tab")

    @property
    def present(self):
        """The PresentView (built on first use)."""
        if self._present is None:
            self._present = PresentView(store=self.store, experiments=self.experiments)
        return self._present

    @property
    def presentation(self):
        """The objects of the page in presentation mode (built on first use)."""
        if self._presentation is None:
            exit_button = pn.widgets.Button(label="Exit presentation", width=210, height=52,
                                            stylesheets=[":host .bk-btn { font-size: 20px; }"])
            exit_button.on_click(lambda _: setattr(self.state, "mode", "explore"))
            self._presentation = [self.present.layout(exit_button)]
        return self._presentation

    def _on_tab(self, event):
        self.state.tab = self.link.tabs[event.new]

    def _show_tab(self, *events):
        index = self.link.tabs.index(self.state.tab)
        if self.tabs.active != index:
            self.tabs.active = index

    def _show_mode(self, *events):
        """Show the tabs or the presentation by visibility (built once, then kept in the page).

        Swapping the root's children instead made the browser build the plots again, and their
        automatic ranges then kept the bounds they had when the page left them: after a
        presentation, traces sat squeezed at one edge of a stale sweep axis.
        """
        presenting = self.state.mode == "present"
        if presenting and self.presentation[0] not in self.root.objects:
            self.root.extend(self.presentation)
        for item in self.explore:
            item.visible = not presenting
        for item in self._presentation or ():
            item.visible = presenting
        if self._loaded:
            self.start_frames()

    def start_frames(self):
        """Run the frame callback of the shown layout only (called once the page is loaded).

        The first call also starts writing the state into the URL (twice a second, when it
        changed).
        """
        if not self._loaded:
            self._loaded = True
            start_periodic(self.link.write, 500)
        if self.state.mode == "present":
            self.simulate.stop_frames()
            self.present.start_frames()
        else:
            if self._present is not None:
                self._present.stop_frames()
            self.simulate.start_frames()

    def stop_frames(self):
        """Stop both frame callbacks (session closed)."""
        self.simulate.stop_frames()
        if self._present is not None:
            self._present.stop_frames()
