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
            self._parts.append(text)
            if "\n" in text:
                self._send_lines()
        return len(text)

    def flush(self):
        """Send all pending text now."""
        if self._parts:
            self._port.send(self.take())

    def pending(self):
        """True when some text waits to be sent."""
        return bool(self._parts)

    def take(self):
        """Return the frame for all pending text (``b''`` if none) and forget the text."""
        if not self._parts:
            return b""
        text = "".join(self._parts)
        del self._parts[:]
        return self._port.frame((_P, text))

    def _send_lines(self):
        text = "".join(self._parts)
        cut = text.rindex("\n") + 1
        del self._parts[:]
        if cut < len(text):
            self._parts.append(text[cut:])
        self._port.send(self._port.frame((_P, text[:cut])))


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
