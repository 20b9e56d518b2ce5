"""Malformed and hostile input from a raw socket: each case gets the reason code the spec
prescribes (MQTT 5 DISCONNECT or CONNACK) or a plain close (3.1.1), and the broker keeps
serving other clients."""

import pytest

from harness import Client
from rawmqtt import Raw, connect_v4, connect_v5, encode_len, packet, s


def assert_still_serving(broker):
    c = Client(broker)
    c.connect()
    c.subscribe("alive", 1)
    c.publish("alive", b"yes", qos=1)
    assert c.expect().payload == b"yes"
    c.disconnect()


def v5_session(broker):
    r = Raw(broker.port)
    r.send(connect_v5())
    first, body = r.read_packet()
    assert first == 0x20 and body[1] == 0, body
    return r


V5_CASES = {
    # name: (bytes after CONNECT, expected DISCONNECT reason)
    "reserved PUBLISH QoS 3": (packet(0x36, s("t") + b"\x00\x01\x00"), 0x81),
    "SUBSCRIBE with wrong fixed-header flags": (packet(0x80, b"\x00\x01\x00" + s("t") + b"\x01"), 0x81),
    "PUBREL with wrong flags": (packet(0x60, b"\x00\x01"), 0x81),
    "remaining length over 4 bytes": (b"\x30\xff\xff\xff\xff\x01", 0x81),
    "topic with a wildcard": (packet(0x30, s("a/+") + b"\x00"), 0x90),
    "topic with U+0000": (packet(0x30, s("a\x00b") + b"\x00"), 0x81),
    "invalid UTF-8 topic": (packet(0x30, s(b"\xff\xfe") + b"\x00"), 0x81),
    "duplicate property": (packet(0x30, s("t") + b"\x04\x01\x01\x01\x01"), 0x82),
    "topic alias 0": (packet(0x30, s("t") + b"\x03\x23\x00\x00"), 0x94),
    "subscription identifier 0": (packet(0x82, b"\x00\x01\x02\x0b\x00" + s("t") + b"\x01"), 0x82),
    "property not allowed in PUBLISH": (packet(0x30, s("t") + b"\x05\x11\x00\x00\x00\x01"), 0x82),
    "empty SUBSCRIBE": (packet(0x82, b"\x00\x01\x00"), 0x82),
    "misplaced # in filter": (packet(0x82, b"\x00\x01\x00" + s("a/#/b") + b"\x01"), 0x8F),
    "second CONNECT": (connect_v5(), 0x82),
    "packet id 0 on QoS 1": (packet(0x32, s("t") + b"\x00\x00\x00"), 0x82),
    "unknown alias": (packet(0x30, s("") + b"\x03\x23\x00\x05"), 0x82),
    "alias above the maximum": (packet(0x30, s("t") + b"\x03\x23\xff\xff"), 0x94),
    "QoS 0 with DUP": (packet(0x38, s("t") + b"\x00"), 0x82),
}


@pytest.mark.parametrize("case", sorted(V5_CASES))
def test_v5_malformed_packets_get_the_spec_reason_code(broker, case):
    data, reason = V5_CASES[case]
    r = v5_session(broker)
    r.send(data)
    seen = r.expect_closed()
    disconnects = [body for first, body in seen if first == 0xE0]
    assert disconnects, f"{case}: no DISCONNECT before close; saw {seen}"
    assert disconnects[0][0] == reason, f"{case}: reason 0x{disconnects[0][0]:02X}, want 0x{reason:02X}"
    assert_still_serving(broker)


V4_CASES = {
    "reserved PUBLISH QoS 3": packet(0x36, s("t") + b"\x00\x01"),
    "SUBSCRIBE with wrong flags": packet(0x80, b"\x00\x01" + s("t") + b"\x01"),
    "topic with a wildcard": packet(0x30, s("a/#")),
    "truncated then garbage length": b"\x30\xff\xff\xff\xff\xff",
    "unknown packet type 0": packet(0x00, b""),
    "AUTH in 3.1.1": packet(0xF0, b"\x00"),
    "subscribe option reserved bits": packet(0x82, b"\x00\x01" + s("t") + b"\x04"),
}


@pytest.mark.parametrize("case", sorted(V4_CASES))
def test_v311_malformed_packets_close_the_connection(broker, case):
    r = Raw(broker.port)
    r.send(connect_v4())
    first, body = r.read_packet()
    assert first == 0x20 and body == b"\x00\x00"
    r.send(V4_CASES[case])
    seen = r.expect_closed()
    assert all(first != 0xE0 for first, _ in seen), "3.1.1 has no server DISCONNECT"
    assert_still_serving(broker)


def test_first_packet_must_be_connect(broker):
    r = Raw(broker.port)
    r.send(packet(0xC0, b""))  # PINGREQ
    assert r.expect_closed() == []
    assert_still_serving(broker)


@pytest.mark.parametrize(
    "name,level,answer",
    [
        # [MQTT-3.1.2-2] (5.0): a level this broker does not know, in an MQTT 5 style CONNECT
        # ("MQTT" and a level above 5), gets CONNACK 0x84 in the MQTT 5 format, which such a
        # client reads ...
        ("MQTT", 6, b"\x00\x84\x00"),
        ("MQTT", 7, b"\x00\x84\x00"),
        # ... while anything older keeps the 3.x return code 1 (unacceptable protocol version).
        ("MQTT", 3, b"\x00\x01"),
        ("MQIsdp", 4, b"\x00\x01"),
        ("MQTT", 2, b"\x00\x01"),
    ],
)
def test_unsupported_protocol_version_gets_connack_in_the_clients_format(broker, name, level, answer):
    r = Raw(broker.port)
    r.send(packet(0x10, s(name) + bytes([level]) + b"\x02\x00\x3c" + s("x")))
    seen = r.expect_closed()
    assert seen == [(0x20, answer)]


def test_connect_reserved_flag_is_malformed(broker):
    r = Raw(broker.port)
    r.send(connect_v4(flags=0x03))
    assert r.expect_closed() == []
    assert_still_serving(broker)


def test_empty_client_id_without_clean_session_is_refused_with_0x02(broker):
    r = Raw(broker.port)
    r.send(connect_v4(client_id="", flags=0x00))
    assert r.expect_closed() == [(0x20, b"\x00\x02")]


def test_v5_empty_client_id_gets_an_assigned_identifier(broker):
    c = Client(broker, client_id="", protocol=5)
    _, rc, p = c.connect()
    assert rc == 0 and p.AssignedClientIdentifier.startswith("hookmq-")


def test_too_large_packet_is_refused_from_its_header(broker_factory):
    b = broker_factory("[mqtt]\nmax_packet_size = \"1KB\"\n")
    r = Raw(b.port)
    r.send(connect_v5())
    r.read_packet()
    # Announce a 100 MB PUBLISH and send only its header: the broker must refuse at once,
    # without waiting for (or buffering) the body.
    r.send(b"\x30" + encode_len(100 * 1024 * 1024))
    seen = r.expect_closed()
    assert [body[0] for first, body in seen if first == 0xE0] == [0x95]


def test_idle_connection_without_connect_is_closed(broker_factory):
    b = broker_factory("[mqtt]\nconnect_timeout = \"1s\"\n")
    r = Raw(b.port)
    assert r.expect_closed() == []


def test_keepalive_expiry_closes_with_0x8d(broker):
    r = Raw(broker.port)
    r.send(packet(0x10, s("MQTT") + b"\x05\x02\x00\x01\x00" + s("ka")))  # keep alive 1 s
    first, _ = r.read_packet()
    assert first == 0x20
    seen = r.expect_closed()
    assert [body[0] for f, body in seen if f == 0xE0] == [0x8D]
