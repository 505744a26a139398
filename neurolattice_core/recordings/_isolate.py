"""Run the native-code readers (NWB, MATLAB v7.3 and v5) in a worker process.

The HDF5 C library and scipy's compiled MAT v5 reader can crash the whole process (segmentation
fault) or loop on a corrupt file: fuzzing found variable-length string datasets whose corrupted
heap makes plain ``h5py`` reads segfault, a corrupted embedded NWB namespace whose read never
returns, and a mutated MAT v5 file that segfaulted ``scipy.io.matlab._mio5_utils``. Parsing
untrusted content of these formats in a separate process turns such a crash into a
:class:`~neurolattice_core.errors.RecordingCorruptError` and bounds the time spent.

The worker is ``python -m neurolattice_core.recordings._worker`` (a plain subprocess, so the
caller's ``__main__`` is never re-imported, unlike multiprocessing's spawn), started on first use
and reused; calls are serialised by a lock; it is replaced after a crash or a timeout. Requests
and replies are length-prefixed pickles over its stdin/stdout, exchanged only between this
package and its own worker. Set :data:`ISOLATE_READERS` to False to read in-process (trusted
files, no worker).
"""

import os
import pickle
import queue
import struct
import subprocess
import sys
import threading
from dataclasses import replace

from neurolattice_core.errors import RecordingCorruptError

__all__ = ["ISOLATE_READERS", "READER_TIMEOUT_S", "run_isolated", "shutdown_worker",
           "load_native"]

#: Read NWB and MATLAB files in a worker process (the app and CLI keep this on).
ISOLATE_READERS = True
#: Longest time (seconds) the worker may spend on one file before it is killed.
READER_TIMEOUT_S = 120.0

_HEADER = struct.Struct("<Q")
_lock = threading.Lock()
_state = {"proc": None}


def write_message(stream, obj):
    """Write one length-prefixed pickle to a binary stream."""
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_HEADER.pack(len(data)))
    stream.write(data)
    stream.flush()


def read_message(stream):
    """Read one length-prefixed pickle; raise EOFError if the stream ends first."""
    head = stream.read(_HEADER.size)
    if len(head) < _HEADER.size:
        raise EOFError("worker closed its output")
    (n,) = _HEADER.unpack(head)
    data = stream.read(n)
    if len(data) < n:
        raise EOFError("worker output cut short")
    return pickle.loads(data)  # noqa: S301 (our own worker's reply)


def _start():
    env = dict(os.environ)
    paths = [os.path.abspath(p or os.getcwd()) for p in sys.path]
    paths = [p for p in paths if os.path.isdir(p)]
    env["PYTHONPATH"] = os.pathsep.join(paths)
    return subprocess.Popen(
        [sys.executable, "-m", "neurolattice_core.recordings._worker"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env,
    )


def shutdown_worker():
    """Stop the worker process; the next call starts a new one."""
    proc, _state["proc"] = _state["proc"], None
    if proc is not None and proc.poll() is None:
        proc.kill()
        proc.wait()
    for stream in (getattr(proc, "stdin", None), getattr(proc, "stdout", None)):
        if stream is not None:
            stream.close()


def run_isolated(fn, args=(), kwargs=None, *, where):
    """Call ``fn(*args, **kwargs)`` in the worker process and return its result.

    ``fn`` must be a module-level function importable by the worker. Exceptions raised by
    ``fn`` are re-raised here; a crash of the worker or a timeout raises
    :class:`RecordingCorruptError` naming ``where``. A returned
    :class:`~neurolattice_core.recordings.recording.Recording` is rebuilt (validated, arrays
    read-only).
    """
    with _lock:
        if _state["proc"] is None or _state["proc"].poll() is not None:
            shutdown_worker()
            _state["proc"] = _start()
        proc = _state["proc"]
        replies = queue.Queue()

        def _reader():
            try:
                replies.put(("reply", read_message(proc.stdout)))
            except Exception as exc:  # EOF or a broken pipe: the worker died
                replies.put(("dead", exc))

        try:
            write_message(proc.stdin, (fn, tuple(args), dict(kwargs or {})))
        except OSError as exc:
            shutdown_worker()
            raise RecordingCorruptError(
                f"{where}: the reader process could not be started ({exc})"
            ) from exc
        threading.Thread(target=_reader, daemon=True).start()
        try:
            kind, payload = replies.get(timeout=READER_TIMEOUT_S)
        except queue.Empty:
            shutdown_worker()
            raise RecordingCorruptError(
                f"{where}: reading took longer than {READER_TIMEOUT_S:g} s and was stopped; the "
                "file is corrupt or far larger than its spike data should be"
            ) from None
        if kind == "dead":
            shutdown_worker()
            raise RecordingCorruptError(
                f"{where}: the reader (HDF5 or MATLAB library) crashed on this file, so it is "
                "corrupt; export or copy it again"
            )
    status, value = payload
    if status == "error":
        raise value
    from neurolattice_core.recordings.recording import Recording

    return replace(value) if isinstance(value, Recording) else value


def load_native(fmt, source, where, cap, time_unit, options):
    """Read an NWB (``'nwb'``), MATLAB v7.3 (``'mat73'``) or v5 (``'mat5'``) file.

    The worker's entry point. ``source`` is a path or bytes (a v5 path is read here, bounded by
    ``cap``).
    """
    if fmt == "nwb":
        from neurolattice_core.recordings.nwb import load_nwb

        return load_nwb(source, where=where, cap_bytes=cap, **options)
    from neurolattice_core.recordings import matlab

    if fmt == "mat73":
        return matlab.load_mat73(source, where=where, cap_bytes=cap, time_unit=time_unit,
                                 **options)
    if not isinstance(source, bytes):
        with open(source, "rb") as fh:
            source = fh.read(cap + 1)
    return matlab.load_mat5(source, where=where, cap_bytes=cap, time_unit=time_unit, **options)
