"""Dask preload of the worker processes of a LocalCluster started by :mod:`.sweeps`.

Ctrl-C in a terminal interrupts every process of the foreground group. The caller handles it
and closes the cluster; workers that took it too printed their own KeyboardInterrupt
tracebacks, so they ignore it.
"""

import signal
import threading


def dask_setup(worker):
    """Called by distributed in each worker process once it has started; ignores SIGINT."""
    del worker
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)
