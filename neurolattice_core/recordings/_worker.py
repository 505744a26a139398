"""Worker process of :mod:`._isolate`: ``python -m neurolattice_core.recordings._worker``.

Reads requests ``(function, args, kwargs)`` from stdin and writes ``("ok", result)`` or
``("error", exception)`` to stdout, as length-prefixed pickles, until stdin closes. Anything
the libraries print goes to stderr so that stdout carries only replies.
"""

import os
import sys


def main():
    """Serve requests until stdin closes."""
    from neurolattice_core.recordings._isolate import read_message, write_message

    out = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    inp = sys.stdin.buffer
    while True:
        try:
            fn, args, kwargs = read_message(inp)
        except EOFError:
            return
        try:
            reply = ("ok", fn(*args, **kwargs))
        except Exception as exc:  # every error goes back to the caller
            exc.__traceback__ = None
            exc.__cause__ = None
            exc.__context__ = None
            reply = ("error", exc)
        try:
            write_message(out, reply)
        except Exception as exc:  # an unpicklable error: send its text
            write_message(out, ("error", RuntimeError(f"{type(exc).__name__}: {exc}")))


if __name__ == "__main__":
    main()
