"""A value typed in a widget that its parameter refuses: said on the page, the widget set back.

Panel applies a widget's new value to the parameter it edits (``pn.Param``); a value outside
the parameter's bounds (a temperature of 0, a negative bin width) raises there, in Panel's
event handling, and the browser would go on showing the refused value. Each session therefore
installs :func:`install`'s handler as its Panel exception handler.
"""

import logging
import re

import panel as pn

log = logging.getLogger(__name__)

_PARAM_MESSAGE = re.compile(r"parameter '(?:\w+\.)*(\w+)' (.+)$", re.DOTALL)


def plain_message(error, labels=None):
    """A parameter's bound error in plain words: ``temperature must be greater than 0.0, ...``.

    ``labels`` maps parameter names to the labels their controls show ("Bin width (ms)").
    """
    text = str(error).strip()
    match = _PARAM_MESSAGE.search(text)
    if match is None:
        return text
    name, rest = match.groups()
    return f"{(labels or {}).get(name, name)} {rest.rstrip('.')}"


def control_labels(root):
    """Parameter name -> the label of its control, for every ``pn.Param`` under ``root``."""
    return {name: widget.name for pane in root.select(pn.Param)
            for name, widget in pane._widgets.items() if name != "name"}


def resync_widgets(root):
    """Set every ``pn.Param`` widget under ``root`` back to its parameter's value (re-sent).

    Reads ``pn.Param._widgets`` (name -> widget), which Panel has no public accessor for.
    """
    for pane in root.select(pn.Param):
        for name, widget in pane._widgets.items():
            if name == "name" or not hasattr(widget, "value") or not hasattr(pane.object, name):
                continue
            current = getattr(pane.object, name)
            if current is None:     # an empty box (a text box shows None as ""): nothing refused
                continue
            if widget.value != current:
                widget.value = current
            else:
                widget.param.trigger("value")


def _is_refused_value(error):
    return isinstance(error, ValueError) and _PARAM_MESSAGE.search(str(error)) is not None


class RefusedValueFilter(logging.Filter):
    """Drops Panel's error log of a value a parameter refused: the page says so, not a bug."""

    def filter(self, record):
        """False (drop) for a record whose exception is a refused parameter value."""
        return not (record.exc_info and _is_refused_value(record.exc_info[1]))


_PANEL_LOG = logging.getLogger("panel.reactive")   # logs each failed widget callback


def install(root, notify):
    """Handle this session's exceptions in Panel's event processing.

    A value a parameter refused (param's ValueError naming the parameter) is reported with
    ``notify(text, level)`` and the widgets are set back, and Panel's traceback of it is kept
    out of the server log; anything else is logged and reported as an error. Call inside the
    session.
    """
    if not any(isinstance(f, RefusedValueFilter) for f in _PANEL_LOG.filters):
        _PANEL_LOG.addFilter(RefusedValueFilter())

    def handle(exception):
        if _is_refused_value(exception):
            notify(f"Not applied: {plain_message(exception, control_labels(root))}. The "
                   "control shows the value in use again.", "error")
            resync_widgets(root)
            return
        log.error("error in a page event", exc_info=exception)
        notify(f"Something went wrong: {exception}", "error")

    pn.config.exception_handler = handle
    return handle
