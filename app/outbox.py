"""Results from worker threads reach the page through the session's own event loop.

Workers never touch parameters that views watch (a watcher would then update Bokeh models from
the wrong thread). They post values to an :class:`Outbox`; a periodic callback of the session
(:meth:`Outbox.deliver`, milliseconds of work) applies them.
"""

import threading

import panel as pn
import param


def start_periodic(callback, period_ms):
    """Run ``callback()`` every ``period_ms`` ms in the session, its changes sent in order.

    Callbacks draw into plain Bokeh models (the live plots), whose changes Bokeh sends when the
    callback ends, and change layouts (a statistics row added, a pane swapped) through Panel,
    which queues its messages while the socket is busy. A busy server could then send a
    figure's new data before the queued change that puts the figure in the page ("reference
    ... isn't known" in the browser). Inside ``pn.io.unlocked`` both go through Panel's one
    queue. Returns Panel's PeriodicCallback.
    """
    def in_order():
        with pn.io.unlocked():
            callback()

    return pn.state.add_periodic_callback(in_order, period_ms)


class Outbox:
    """Parameter values posted by a worker, applied later to ``target`` on the UI thread."""

    def __init__(self, target):
        self._target = target
        self._lock = threading.Lock()
        self._values = {}

    def post(self, **values):
        """Queue values (from any thread); later posts of the same name win."""
        with self._lock:
            self._values.update(values)

    def deliver(self):
        """Apply the queued values (UI thread); True when something was applied."""
        with self._lock:
            values, self._values = self._values, {}
        if values:
            with param.edit_constant(self._target):
                self._target.param.update(**values)
        return bool(values)
