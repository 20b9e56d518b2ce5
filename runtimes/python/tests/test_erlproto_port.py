"""Port framing over a real pipe: every packet size, frames split across reads, EOF."""

import os

import pytest

from erlport.erlproto import Port, ProtocolError
from erlport.erlterms import Atom, encode


@pytest.fixture
def pipe():
    read_fd, write_fd = os.pipe()
    yield read_fd, write_fd
    for fd in (read_fd, write_fd):
        try:
            os.close(fd)
        except OSError:
            pass


@pytest.mark.parametrize("packet", [1, 2, 4])
def test_frames_round_trip_through_a_pipe_in_one_byte_reads(pipe, packet):
    read_fd, write_fd = pipe
    writer = Port(in_fd=-1, out_fd=write_fd, packet=packet)
    reader = Port(in_fd=read_fd, out_fd=-1, packet=packet, buffer_size=1)
    terms = [(Atom(b"r"), i, b"x" * i) for i in range(20)]
    frame = writer.frame(terms[0])
    assert frame[:packet] == (len(frame) - packet).to_bytes(packet, "big")
    assert bytes(frame[packet:]) == encode(terms[0])
    for term in terms:
        writer.write(term)
    os.close(write_fd)
    assert [reader.read() for _ in terms] == terms
    for _ in range(2):  # EOF is sticky
        with pytest.raises(EOFError):
            reader.read()


def test_term_too_big_for_the_length_prefix(pipe):
    port = Port(in_fd=pipe[0], out_fd=pipe[1], packet=1)
    with pytest.raises(ValueError, match="does not fit"):
        port.frame(b"y" * 300)


def test_undecodable_frame_and_truncated_stream(pipe):
    read_fd, write_fd = pipe
    port = Port(in_fd=read_fd, out_fd=-1)
    os.write(write_fd, b"\x00\x00\x00\x02\x83\xee" + b"\x00\x00\x00\x09\x83")
    os.close(write_fd)
    with pytest.raises(ProtocolError, match="unsupported term tag 238"):
        port.read()
    for _ in range(2):
        with pytest.raises(ProtocolError, match="inside a frame"):
            port.read()


@pytest.mark.parametrize("kwargs", [{"packet": 3}, {"compressed": 10}, {"buffer_size": 0}])
def test_bad_options(kwargs):
    with pytest.raises(ValueError):
        Port(**kwargs)
