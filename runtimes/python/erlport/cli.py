"""Command-line entry point: ``python3 -u -m erlport.cli --packet=4 --use_stdio ...``.

The hookmq broker starts this (as EMQX 4.1 did) with ``PYTHONPATH`` holding this package's
parent directory and the hook directory. Exit status: 0 when the broker closes the port,
2 for a bad command line or unusable file descriptors, 3 when the input is not a stream of
frames of terms (the message on stderr says what was wrong), 130 on SIGINT.
"""

import argparse
import os
import sys

from . import erlang
from .erlproto import Port, ProtocolError

EXIT_OK, EXIT_USAGE, EXIT_PROTOCOL, EXIT_INTERRUPTED = 0, 2, 3, 130


def _parser():
    parser = argparse.ArgumentParser(
        prog="python3 -m erlport.cli",
        description="Serve calls from an Erlang-port peer (the hookmq broker) into Python.")
    parser.add_argument("--packet", type=int, choices=(1, 2, 4), default=4,
                        help="bytes in each frame's big-endian length prefix (default 4)")
    stdio = parser.add_mutually_exclusive_group()
    stdio.add_argument("--use_stdio", dest="use_stdio", action="store_true", default=True,
                       help="talk over stdin/stdout (default)")
    stdio.add_argument("--no_stdio", "--nouse_stdio", dest="use_stdio", action="store_false",
                       help="talk over file descriptors 3 (input) and 4 (output)")
    parser.add_argument("--compressed", type=_level, default=0,
                        help="zlib level 0..9 for outgoing terms (default 0: never)")
    parser.add_argument("--buffer_size", type=_positive, default=65536,
                        help="bytes asked for in each read (default 65536)")
    return parser


def _level(text):
    value = int(text)
    if not 0 <= value <= 9:
        raise argparse.ArgumentTypeError("must be 0..9, not %d" % value)
    return value


def _positive(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1, not %d" % value)
    return value


def _claim_stdio():
    """Keep private copies of fds 0 and 1 for the protocol and point 0 at /dev/null and 1 at
    stderr, so that nothing else in the process (C extensions, ``sys.__stdout__``, child
    processes) can read from or write into the pipe. The copies are not inherited."""
    in_fd, out_fd = os.dup(0), os.dup(1)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    try:
        os.dup2(2, 1)
    except OSError:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 1)
        os.close(null)
    return in_fd, out_fd


def _check_fds(*fds):
    for fd in fds:
        try:
            os.fstat(fd)
        except OSError:
            return fd
    return None


def main(argv=None):
    """Run the runtime; returns the exit status."""
    options = _parser().parse_args(argv)
    if options.use_stdio:
        bad = _check_fds(0, 1)
        if bad is None:
            in_fd, out_fd = _claim_stdio()
    else:
        in_fd, out_fd = 3, 4
        bad = _check_fds(in_fd, out_fd)
    if bad is not None:
        sys.stderr.write("erlport: file descriptor %d is not open; the broker must provide "
                         "%s\n" % (bad, "stdin/stdout" if options.use_stdio else "fds 3 and 4"))
        return EXIT_USAGE
    port = Port(in_fd, out_fd, packet=options.packet, compressed=options.compressed,
                buffer_size=options.buffer_size)
    erlang.setup(port)
    try:
        erlang.serve()
        status = EXIT_OK
    except ProtocolError as exc:
        sys.stderr.write("erlport: protocol error, exiting: %s\n" % (exc,))
        status = EXIT_PROTOCOL
    except BrokenPipeError:
        return EXIT_OK  # the broker stopped reading: it is gone
    except KeyboardInterrupt:
        status = EXIT_INTERRUPTED
    try:  # replies and text still held back
        sys.stdout.flush()
        port.flush()
    except OSError:
        pass
    return status


if __name__ == "__main__":
    sys.exit(main())
