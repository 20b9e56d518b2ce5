"""A minimal broker side of the port protocol, for tests and the benchmark: starts the runtime
exactly as hookmq does and exchanges frames with it, every read bounded by a deadline."""

import itertools
import os
import select
import struct
import subprocess
import sys
import tempfile
import time

RUNTIME_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if RUNTIME_DIR not in sys.path:
    sys.path.insert(0, RUNTIME_DIR)

from erlport.erlterms import Atom, List, decode, encode  # noqa: E402

ARGS = ["-u", "-m", "erlport.cli", "--packet=4", "--use_stdio", "--compressed=0",
        "--buffer_size=65536"]
C, P, R, E, M = Atom(b"C"), Atom(b"P"), Atom(b"r"), Atom(b"e"), Atom(b"M")


class Timeout(Exception):
    """The runtime did not answer in time."""


class Runtime(object):
    """One runtime process driven as the broker would drive it."""

    def __init__(self, python, cwd, hooks_path="data/extension/", extra_path=(), args=None,
                 packet=4):
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join([RUNTIME_DIR, hooks_path] + list(extra_path))
        self._stderr = tempfile.TemporaryFile()
        self.proc = subprocess.Popen([python] + (ARGS if args is None else args),
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self._stderr, cwd=cwd, env=env)
        self._fd = self.proc.stdout.fileno()
        self._buf = b""
        self._header = {1: struct.Struct(">B"), 2: struct.Struct(">H"),
                        4: struct.Struct(">I")}[packet]
        self._ids = itertools.count(1)
        self.printed = []  # text of every {'P', Chars} frame, in order

    # ----------------------------------------------------------------------------- frames

    def send_raw(self, payload):
        self.proc.stdin.write(self._header.pack(len(payload)) + payload)
        self.proc.stdin.flush()

    def send(self, term):
        self.send_raw(encode(term))

    def recv_raw(self, timeout=10.0):
        """The next frame's payload; raises Timeout, or EOFError if the runtime closed."""
        deadline = time.monotonic() + timeout
        hlen = self._header.size
        while True:
            if len(self._buf) >= hlen:
                end = hlen + self._header.unpack_from(self._buf)[0]
                if len(self._buf) >= end:
                    frame, self._buf = self._buf[hlen:end], self._buf[end:]
                    return frame
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._fd], [], [], left)[0]:
                raise Timeout("no frame from the runtime within %.1fs; stderr: %s"
                              % (timeout, self.stderr_text()))
            chunk = os.read(self._fd, 65536)
            if not chunk:
                raise EOFError("the runtime closed its output; stderr: %s" % self.stderr_text())
            self._buf += chunk

    def recv(self, timeout=10.0):
        return decode(self.recv_raw(timeout))

    def reply(self, request_id, timeout=10.0, on_call=None):
        """Read until the reply to ``request_id``; collects prints, answers calls back."""
        while True:
            term = self.recv(timeout)
            if term[0] == P:
                self.printed.append(List(term[1]).to_string())
            elif term[0] == C and len(term) == 6 and on_call is not None:
                on_call(self, term)
            elif term[0] in (R, E) and term[1] == request_id:
                return term
            else:
                raise AssertionError("unexpected frame while waiting: %r" % (term,))

    def call(self, module, function, args, timeout=10.0, on_call=None):
        """Send ``{'C', Id, Module, Function, Args}`` and return the ``r``/``e`` reply term."""
        request_id = next(self._ids)
        self.send((C, request_id, Atom(module), Atom(function), List(args)))
        return self.reply(request_id, timeout, on_call)

    # --------------------------------------------------------------------------- lifecycle

    def close(self, timeout=10.0):
        """Close the runtime's stdin (as the broker does after deinit); return its status."""
        if not self.proc.stdin.closed:
            self.proc.stdin.close()
        return self.wait(timeout)

    def wait(self, timeout=10.0):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise Timeout("the runtime did not exit within %.1fs" % timeout) from None

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                stream.close()
            except (OSError, ValueError):
                pass

    def stderr_text(self):
        self._stderr.seek(0)
        return self._stderr.read().decode("utf-8", "replace")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.kill()
        self._stderr.close()
