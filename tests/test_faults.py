"""Hostile and broken peers (issue 9): every packet type truncated and malformed from a raw
socket, a flood of connections that never send CONNECT, QoS 2 floods without PUBREL, and a
subscriber that never reads while a publisher sends at full rate. The broker must answer each
as the spec says and keep serving."""

import socket
import struct
import subprocess
import sys
import time

import pytest

from harness import Client
from test_malformed import Raw, assert_still_serving, connect_v4, connect_v5, encode_len, packet, s

# One valid packet of each type a client may send (after CONNECT), MQTT 5.
VALID_V5 = {
    "PUBLISH qos0": packet(0x30, s("t") + b"\x00" + b"payload"),
    "PUBLISH qos1": packet(0x32, s("t") + b"\x00\x01\x00" + b"p"),
    "PUBLISH qos2": packet(0x34, s("t") + b"\x00\x02\x00" + b"p"),
    "PUBACK": packet(0x40, b"\x00\x01"),
    "PUBREC": packet(0x50, b"\x00\x01"),
    "PUBREL": packet(0x62, b"\x00\x01"),
    "PUBCOMP": packet(0x70, b"\x00\x01"),
    "SUBSCRIBE": packet(0x82, b"\x00\x01\x00" + s("t/#") + b"\x01"),
    "UNSUBSCRIBE": packet(0xA2, b"\x00\x01\x00" + s("t/#")),
    "PINGREQ": packet(0xC0, b""),
    "DISCONNECT": packet(0xE0, b"\x00\x00"),
    "AUTH": packet(0xF0, b"\x00\x00"),
    "CONNACK (server only)": packet(0x20, b"\x00\x00\x00"),
    "SUBACK (server only)": packet(0x90, b"\x00\x01\x00\x00"),
    "UNSUBACK (server only)": packet(0xB0, b"\x00\x01\x00\x00"),
    "PINGRESP (server only)": packet(0xD0, b""),
}


@pytest.mark.parametrize("name", sorted(VALID_V5))
def test_truncated_packets_of_every_type_leave_nothing_behind(broker, name):
    """Each packet cut at every length, then the socket closed: no reply, no leak, still serving."""
    data = VALID_V5[name]
    for cut in range(1, len(data)):
        r = Raw(broker.port)
        r.send(connect_v5(client_id=f"trunc-{cut}"))
        first, _ = r.read_packet()
        assert first == 0x20
        r.send(data[:cut])
        r.sock.shutdown(socket.SHUT_WR)
        seen = r.expect_closed()
        assert all(f == 0xE0 or f == 0xD0 or f & 0xF0 in (0x40, 0x50, 0x70, 0x90, 0xB0) for f, _ in seen), seen
    assert_still_serving(broker)


MALFORMED_V5 = {
    # A body one byte short of what the remaining length says is caught as truncation by the
    # socket close above; these lie inside the body.
    "PUBLISH topic length past the end": (packet(0x30, b"\x00\x09t\x00"), 0x81),
    "PUBACK with a reason code not allowed": (packet(0x40, b"\x00\x01\x77\x00"), 0x81),
    "PUBREC with property length past the end": (packet(0x50, b"\x00\x01\x00\x05"), 0x81),
    "PUBREL reason not allowed": (packet(0x62, b"\x00\x01\x10\x00"), 0x81),
    "PUBCOMP trailing garbage": (packet(0x70, b"\x00\x01\x00\x00\xff"), 0x81),
    "SUBSCRIBE options reserved bits": (packet(0x82, b"\x00\x01\x00" + s("t") + b"\xc1"), 0x81),
    "UNSUBSCRIBE empty": (packet(0xA2, b"\x00\x01\x00"), 0x82),
    "PINGREQ with a body": (packet(0xC0, b"\x00"), 0x81),
    "DISCONNECT reason not allowed": (packet(0xE0, b"\x03\x00"), 0x81),
    "AUTH reason not allowed": (packet(0xF0, b"\x05\x00"), 0x81),
    "PUBLISH user property without value": (packet(0x30, s("t") + b"\x04\x26\x00\x01k"), 0x81),
    "PUBLISH payload format 7": (packet(0x30, s("t") + b"\x02\x01\x07"), 0x82),
}


@pytest.mark.parametrize("name", sorted(MALFORMED_V5))
def test_malformed_bodies_of_every_type_get_a_reason_code(broker, name):
    data, reason = MALFORMED_V5[name]
    r = Raw(broker.port)
    r.send(connect_v5(client_id="malformed"))
    first, _ = r.read_packet()
    assert first == 0x20
    r.send(data)
    seen = r.expect_closed()
    codes = [body[0] for f, body in seen if f == 0xE0]
    assert codes and codes[0] in (reason, 0x81, 0x82), f"{name}: {seen}"
    assert_still_serving(broker)


# The crowd lives in a child process: its sockets would push this process's descriptors past
# 1024, where paho-mqtt's select() loop cannot follow them.
CROWD = """
import resource, socket, sys
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
port, n = int(sys.argv[1]), int(sys.argv[2])
socks = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(n)]
print("open", flush=True)
sys.stdin.readline()
closed = 0
for sock in socks:
    sock.settimeout(15)
    try:
        if sock.recv(1) == b"":
            closed += 1
    except OSError:
        closed += 1
    sock.close()
print(closed, flush=True)
"""


def test_a_crowd_of_connections_that_never_send_connect_is_shed(broker_factory):
    b = broker_factory('[mqtt]\nconnect_timeout = "1s"\n')
    n = 2000
    crowd = subprocess.Popen(
        [sys.executable, "-c", CROWD, str(b.port), str(n)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert crowd.stdout.readline().strip() == "open"
        # While they hang around, the broker serves others.
        assert_still_serving(b)
        crowd.stdin.write("go\n")
        crowd.stdin.flush()
        closed = int(crowd.stdout.readline())
        assert closed == n, f"{n - closed} of {n} silent connections were never closed"
    finally:
        crowd.kill()
        crowd.wait(timeout=10)
    assert_still_serving(b)


def test_qos2_flood_without_pubrel_is_stopped_at_receive_maximum(broker_factory):
    b = broker_factory("[mqtt]\nreceive_maximum = 10\n")
    r = Raw(b.port)
    r.send(connect_v5(client_id="flood"))
    first, body = r.read_packet()
    assert first == 0x20
    for i in range(1, 30):
        try:
            r.send(packet(0x34, s("f/t") + struct.pack(">H", i) + b"\x00" + b"x"))
        except OSError:
            break
    seen = r.expect_closed()
    pubrecs = [f for f, _ in seen if f == 0x50]
    disconnects = [body[0] for f, body in seen if f == 0xE0]
    assert len(pubrecs) == 10, f"one PUBREC per accepted message, {len(pubrecs)}"
    assert disconnects == [0x93], "Receive Maximum exceeded"
    assert_still_serving(b)


def test_v311_qos2_flood_without_pubrel_is_cut_off(broker_factory):
    b = broker_factory("[mqtt]\nmax_awaiting_rel = 5\nreceive_maximum = 5\n")
    r = Raw(b.port)
    r.send(connect_v4(client_id="flood3"))
    r.read_packet()
    for i in range(1, 50):
        try:
            r.send(packet(0x34, s("f/t") + struct.pack(">H", i) + b"x"))
        except OSError:
            break
    seen = r.expect_closed()
    assert 1 <= len([f for f, _ in seen if f == 0x50]) <= 5
    assert_still_serving(b)


def test_a_subscriber_that_never_reads_does_not_stall_the_broker(broker_factory):
    b = broker_factory('[mqtt]\nmax_queue_len = 100\n[api]\nbind = "127.0.0.1:0"\n')
    # A raw subscriber that subscribes and then never reads its socket.
    stuck = Raw(b.port)
    stuck.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stuck.send(connect_v4(client_id="never-reads"))
    stuck.read_packet()
    stuck.send(packet(0x82, b"\x00\x01" + s("flood/#") + b"\x01"))
    assert stuck.read_packet()[0] == 0x90
    live = Client(b)
    live.connect()
    live.subscribe("flood/#", 0)
    pub = Client(b)
    pub.connect()
    payload = b"x" * 1024
    n = 5000
    for i in range(n):
        pub.publish("flood/t", payload, qos=0, wait=False)
    pub.publish("flood/t", b"last", qos=1)
    # The live subscriber gets the last message: the stuck one blocked nobody.
    while live.expect(timeout=30).payload != b"last":
        pass
    import urllib.request

    host, port = b.listeners["api"]
    text = urllib.request.urlopen(f"http://{host}:{port}/metrics", timeout=10).read().decode()
    dropped = [line for line in text.splitlines() if line.startswith('hookmq_messages_dropped_total{reason="queue_full"}')]
    assert dropped and float(dropped[0].split()[-1]) > 0, "the stuck subscriber's overflow is dropped and counted"
