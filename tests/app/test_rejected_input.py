"""Refused widget values: the message and the widgets set back, without a browser."""

import panel as pn
import param
import pytest

from app.rejected_input import install, plain_message, resync_widgets


class _Controls(param.Parameterized):
    temperature = param.Number(1.0, bounds=(0.0, None), inclusive_bounds=(False, True))


def test_a_bound_error_reads_as_plain_words():
    with pytest.raises(ValueError) as refused:
        _Controls().temperature = 0.0
    assert plain_message(refused.value) == "temperature must be greater than 0.0, not 0.0"


def test_the_handler_reports_and_sets_the_widget_back():
    controls = _Controls()
    pane = pn.Param(controls, parameters=["temperature"],
                    widgets={"temperature": {"type": pn.widgets.FloatInput, "start": None}})
    root = pn.Column(pn.Row(pane))
    widget = pane._widgets["temperature"]
    with pytest.raises(ValueError) as refused:
        widget.value = -2.0          # what the browser sends; Panel passes the error on
    assert controls.temperature == 1.0
    with param.discard_events(widget):   # as the browser leaves it: out of step with
        widget.value = 0.5               # its parameter (Panel keeps what was typed)
    said = []
    previous = pn.config.exception_handler
    try:
        handle = install(root, lambda text, level: said.append((level, text)))
        assert pn.config.exception_handler is handle
    finally:
        pn.config.exception_handler = previous   # outside a session the setting is global
    handle(refused.value)
    assert widget.value == 1.0
    assert said == [("error", "Not applied: Temperature must be greater than 0.0, not -2.0. "
                              "The control shows the value in use again.")]
    resync_widgets(root)             # nothing refused: values unchanged
    assert widget.value == 1.0
    handle(ValueError("a bug, not a refused value"))   # logged and said as an error
    assert said[-1] == ("error", "Something went wrong: a bug, not a refused value")
    assert widget.value == 1.0


def test_panels_log_of_a_refused_value_is_dropped_and_other_errors_kept():
    import logging
    import sys

    from app.rejected_input import RefusedValueFilter

    keep = RefusedValueFilter()

    def record(error):
        try:
            raise error
        except ValueError:
            return logging.LogRecord("panel.reactive", logging.ERROR, __file__, 1,
                                     "Callback failed", None, sys.exc_info())

    controls = _Controls()
    with pytest.raises(ValueError) as refused:
        controls.temperature = -2.0
    assert not keep.filter(record(refused.value))
    assert keep.filter(record(ValueError("a bug, not a refused value")))
    previous = pn.config.exception_handler
    try:
        install(pn.Column(), lambda text, level: None)
        install(pn.Column(), lambda text, level: None)      # once per process, not per session
    finally:
        pn.config.exception_handler = previous
    filters = logging.getLogger("panel.reactive").filters
    assert sum(isinstance(f, RefusedValueFilter) for f in filters) == 1


class _Binning(param.Parameterized):
    window_s = param.Number(None, allow_None=True)
    align = param.String(None, allow_None=True)


def test_resync_leaves_empty_boxes_empty():
    """An empty number box came back as 'NaN', and an empty text box raised (None for a str)."""
    binning = _Binning()
    pane = pn.Param(binning, widgets={"window_s": {"type": pn.widgets.FloatInput},
                                      "align": {"type": pn.widgets.TextInput}})
    sent = []
    for widget in pane._widgets.values():
        widget.param.watch(lambda event: sent.append(event.name), "value")
    before = {name: widget.value for name, widget in pane._widgets.items()}
    resync_widgets(pn.Column(pane))
    assert sent == [] and {n: w.value for n, w in pane._widgets.items()} == before

