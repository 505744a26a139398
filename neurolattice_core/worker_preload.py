"""Dask preload of the worker processes of a LocalCluster started by :mod:`.sweeps`.

Ctrl-C in a terminal interrupts every process of the foreground group. The caller handles it
and closes the cluster; workers that took it too printed their own KeyboardInterrupt
tracebacks, so they ignore it. Workers forked by the fork server that :mod:`.sweeps` starts
from the main thread ignore it from their start; this preload covers the others (a cluster
started from another thread, as the dashboard's sweeps are).
"""

import signal
import threading


def dask_setup(worker):
    """Called by distributed in each worker process once it has started; ignores SIGINT."""
    del worker
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)
