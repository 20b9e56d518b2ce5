"""Standard streams for hook code running inside the port.

``erlang.setup`` calls ``redirect``: ``sys.stdout`` becomes an ``Output`` that sends text to the
broker as ``{'P', Chars}`` frames (the broker logs it), so ``print()`` in a hook can never corrupt
the pipe; ``sys.stdin`` becomes an ``EmptyInput`` that is always at end of file. ``sys.stderr``
is left alone: the broker captures the process's stderr.

Output is line buffered: each completed line is sent at once (so a hook that hangs after a
``print`` still shows it), and a trailing partial line is sent just before the reply of the call
that wrote it, in the same system call.
"""

import io
import sys
import threading

from .erlterms import Atom

__all__ = ["Output", "EmptyInput", "redirect"]

_P = Atom(b"P")


class Output(io.TextIOBase):
    """A text stream whose writes go to the broker as ``{'P', Chars}`` frames."""

    encoding = "utf-8"
    errors = "strict"

    def __init__(self, port):
        super(Output, self).__init__()
        self._port = port
        self._parts = []  # text written since the last frame
        self._lock = threading.Lock()  # hook code may print from other threads

    def writable(self):
        return True

    def isatty(self):
        return False

    def fileno(self):
        raise io.UnsupportedOperation("the port's output has no file descriptor")

    def write(self, text):
        if not isinstance(text, str):
            raise TypeError("write() argument must be str, not %s" % type(text).__name__)
        if text:
            with self._lock:
                self._parts.append(text)
                if "\n" in text:
                    pending = "".join(self._parts)
                    cut = pending.rindex("\n") + 1
                    self._parts = [pending[cut:]] if cut < len(pending) else []
                    self._port.send(self._port.frame((_P, pending[:cut])))
        return len(text)

    def flush(self):
        """Send all pending text now."""
        with self._lock:
            if self._parts:
                self._port.send(self._take())

    def take(self):
        """Return the frame for all pending text (``b''`` if none) and forget the text."""
        with self._lock:
            return self._take() if self._parts else b""

    def _take(self):
        text = "".join(self._parts)
        self._parts = []
        return self._port.frame((_P, text))


class EmptyInput(io.TextIOBase):
    """A readable text stream that is always at end of file (``input()`` raises EOFError)."""

    encoding = "utf-8"
    errors = "strict"

    def readable(self):
        return True

    def isatty(self):
        return False

    def fileno(self):
        raise io.UnsupportedOperation("the port's input is reserved for the protocol")

    def read(self, size=-1):
        return ""

    def readline(self, size=-1):
        return ""


def redirect(port):
    """Install ``Output(port)`` as ``sys.stdout`` and ``EmptyInput()`` as ``sys.stdin``."""
    sys.stdout = Output(port)
    sys.stdin = EmptyInput()
    return sys.stdout
