"""The Port: length-prefixed ETF frames over a pair of file descriptors.

``cli`` creates one ``Port`` for the process; ``erlang`` reads requests from it and writes
replies to it, and ``stdio`` writes ``print()`` output to it. Reads take large chunks
(``buffer_size`` bytes) and split every complete frame out of them, so a burst of pipelined
requests costs one system call; each write is one ``os.write`` of a whole frame (or several).
"""

import os
import threading
from collections import deque
from time import monotonic
from struct import Struct

from .erlterms import compress, decode, encode_into

__all__ = ["Port", "ProtocolError"]

_HEADERS = {1: Struct(">B"), 2: Struct(">H"), 4: Struct(">I")}
_MAX_READ = 1 << 24  # never ask the kernel for more than this in one read
_MAX_HOLD = 0.002  # seconds queued output may wait for company (see Port.queue)


class ProtocolError(Exception):
    """The byte stream from the broker cannot be read as frames of terms."""


class Port(object):
    """One end of an Erlang port: frames of ``packet`` length bytes plus an ETF term.

    ``read_frame``/``read`` raise ``EOFError`` once the peer has closed the input, and keep
    raising it; a broken stream raises ``ProtocolError`` (also for every later read).
    """

    def __init__(self, in_fd=0, out_fd=1, packet=4, compressed=0, buffer_size=65536):
        if packet not in _HEADERS:
            raise ValueError("packet must be 1, 2 or 4, not %r" % (packet,))
        if not 0 <= compressed <= 9:
            raise ValueError("compressed must be a zlib level 0..9, not %r" % (compressed,))
        if buffer_size < 1:
            raise ValueError("buffer_size must be positive, not %r" % (buffer_size,))
        self.in_fd = in_fd
        self.out_fd = out_fd
        self.packet = packet
        self.compressed = compressed
        self.buffer_size = buffer_size
        self._header = _HEADERS[packet]
        self._max_frame = (1 << (8 * packet)) - 1
        self._blank = bytes(packet) + b"\x83"  # room for the length, then the version byte
        self._frames = deque()  # complete frames read but not yet handed out
        self._rest = b""  # bytes of an incomplete frame
        self._want = 0  # bytes still missing to complete the frame in _rest
        self._failure = None  # EOFError or ProtocolError once the input is finished
        self._queued = bytearray()  # framed output held back by queue()
        self._queued_since = 0.0
        self._lock = threading.Lock()  # hook code may print from other threads

    # ------------------------------------------------------------------------------ input

    def read_frame(self):
        """Return the payload (ETF bytes) of the next frame, reading more input if needed."""
        frames = self._frames
        if not frames:
            self._fill()
        return frames.popleft()

    def read(self):
        """Return the next frame's term."""
        frame = self.read_frame()
        try:
            return decode(frame)
        except ValueError as exc:
            raise ProtocolError("undecodable frame (%s): %s" % (exc, _preview(frame))) from None

    def _fill(self):
        if self._failure is not None:
            raise self._failure
        if self._queued:
            self.flush()  # about to wait for the peer: it must have everything first
        frames = self._frames
        unpack = self._header.unpack_from
        hlen = self.packet
        while not frames:
            size = self.buffer_size
            if self._want > size:
                size = min(self._want, _MAX_READ)
            chunk = os.read(self.in_fd, size)
            if not chunk:
                if self._rest:
                    self._failure = ProtocolError(
                        "input ended inside a frame (%d bytes of it received)" % len(self._rest))
                else:
                    self._failure = EOFError("the broker closed the port")
                raise self._failure
            data = self._rest + chunk if self._rest else chunk
            total = len(data)
            pos = 0
            while total - pos >= hlen:
                end = pos + hlen + unpack(data, pos)[0]
                if end > total:
                    break
                frames.append(data[pos + hlen:end])
                pos = end
            self._rest = data[pos:] if pos else data
            self._want = (unpack(data, pos)[0] + hlen - (total - pos)) if total - pos >= hlen else 0

    # ----------------------------------------------------------------------------- output

    def frame(self, term):
        """Return the bytes of a whole frame (length prefix included) carrying ``term``."""
        out = bytearray(self._blank)
        encode_into(term, out)
        hlen = self.packet
        if self.compressed:
            out[hlen:] = compress(out[hlen:], self.compressed)
        size = len(out) - hlen
        if size > self._max_frame:
            raise ValueError("a %d-byte term does not fit a %d-byte length prefix"
                             % (size, hlen))
        self._header.pack_into(out, 0, size)
        return out

    def queue(self, data, started):
        """Send framed bytes produced by work that began at ``started`` (``time.monotonic``),
        or hold them back so that the replies to requests that arrived together leave in
        one write. Output may be written from any thread.

        Held output leaves when the port is about to wait for input, when ``buffer_size``
        bytes are held, or at the first ``queue`` call at least ``_MAX_HOLD`` seconds after
        the oldest held work began. So a call that ran that long is answered at once, and a
        held reply waits at most ``_MAX_HOLD`` plus the run time of the call after it.
        """
        with self._lock:
            queued = self._queued
            if not queued:
                self._queued_since = started
            queued += data
            if monotonic() - self._queued_since >= _MAX_HOLD or len(queued) >= self.buffer_size:
                self._write_queued(b"")

    def flush(self):
        """Write everything ``queue`` held back."""
        with self._lock:
            if self._queued:
                self._write_queued(b"")

    def send(self, data):
        """Write already framed bytes (after anything queued), all of them."""
        with self._lock:
            if self._queued:
                self._write_queued(data)
            else:
                self._write(data)

    def _write_queued(self, data):
        self._queued += data
        data = bytes(self._queued)
        del self._queued[:]
        self._write(data)

    def _write(self, data):
        written = os.write(self.out_fd, data)
        if written != len(data):
            view = memoryview(data)
            while written < len(view):
                written += os.write(self.out_fd, view[written:])

    def write(self, term):
        """Send ``term`` as one frame."""
        self.send(self.frame(term))

    def close(self):
        """Close both file descriptors."""
        for fd in {self.in_fd, self.out_fd}:
            try:
                os.close(fd)
            except OSError:
                pass


def _preview(frame, limit=48):
    head = bytes(frame[:limit]).hex()
    return "%d bytes: %s%s" % (len(frame), head, "..." if len(frame) > limit else "")
