"""Protocol faults found from outside, each driven from a raw socket so the timing and the bytes
are the test's: a clean DISCONNECT racing a takeover must never publish the will, keep alive is
the client's own for MQTT 3.x, and an acknowledgement of the wrong type closes the connection."""

import pytest

from harness import Client, barrier
from rawmqtt import Raw, connect_v4, connect_v5, packet, properties, s, v4_publish, v5_publish

WILL_FLAGS = 0x04 | 0x08  # will, will QoS 1; clean session 0


def will_fields(topic, payload, v5):
    return (b"\x00" if v5 else b"") + s(topic) + s(payload)


@pytest.mark.parametrize("protocol", [4, 5])
def test_disconnect_then_immediate_reconnect_never_publishes_the_will(broker, protocol):
    """[MQTT-3.14.4-3] / [MQTT-3.1.2-10]: after DISCONNECT (0x00) the will is discarded, even
    when the same client id reconnects at once and takes the session over before the old
    connection's task has looked at its socket. A message sent just before the DISCONNECT is
    routed, not lost with the old connection."""
    v5 = protocol == 5
    watcher = Client(broker)
    watcher.connect()
    watcher.subscribe(f"wr{protocol}/#", 1)
    watcher.subscribe("barrier/x", 1)
    cid = f"will-race-{protocol}"
    will = will_fields(f"wr{protocol}/will", b"must not be sent", v5)
    if v5:
        # Session Expiry Interval 300: a persistent session, as in the report.
        connect = connect_v5(cid, properties(b"\x11\x00\x00\x01\x2c"), flags=WILL_FLAGS, will=will)
    else:
        connect = connect_v4(cid, flags=WILL_FLAGS, will=will)
    disconnect = packet(0xE0, b"\x00\x00") if v5 else packet(0xE0, b"")
    publish = v5_publish if v5 else v4_publish
    conn = Raw(broker.port)
    conn.send(connect)
    conn.expect(0x20)
    tries = 40
    for i in range(tries):
        conn.send(publish(f"wr{protocol}/data", str(i).encode()) + disconnect)
        conn.close()
        conn = Raw(broker.port)
        conn.send(connect)
        ack = conn.expect(0x20)
        assert ack[1] == 0, ack
    conn.send(disconnect)
    conn.close()
    pub = Client(broker)
    pub.connect()
    got = barrier(pub, watcher)
    wills = [m.payload for m in got if m.topic.endswith("/will")]
    assert wills == [], f"{len(wills)} of {tries} wills published after a clean DISCONNECT"
    data = sorted(int(m.payload) for m in got if m.topic.endswith("/data"))
    assert data == list(range(tries))


WRONG_ACKS = {
    # case: (QoS of the message sent to the client, first byte of the wrong acknowledgement)
    "PUBREC for a QoS 1 message": (1, 0x50),
    "PUBCOMP for a QoS 1 message": (1, 0x70),
    "PUBACK for a QoS 2 message": (2, 0x40),
    "PUBCOMP for a QoS 2 message before PUBREL": (2, 0x70),
}


@pytest.mark.parametrize("protocol", [4, 5])
@pytest.mark.parametrize("case", sorted(WRONG_ACKS))
def test_acknowledgement_of_the_wrong_type_closes_the_connection(broker, protocol, case):
    """[MQTT-4.8.0-1] (3.1.1) / §4.13 (5.0): an acknowledgement that does not belong to the
    message in flight under its packet identifier is a protocol violation: MQTT 5 gets
    DISCONNECT 0x82, 3.1.1 a plain close."""
    qos, ack = WRONG_ACKS[case]
    v5 = protocol == 5
    sub = Raw(broker.port)
    sub.send(connect_v5("wrong-ack") if v5 else connect_v4("wrong-ack"))
    sub.expect(0x20)
    sub.send(packet(0x82, b"\x00\x01" + (b"\x00" if v5 else b"") + s("wa/t") + b"\x02"))
    sub.expect(0x90)
    pub = Client(broker)
    pub.connect()
    pub.publish("wa/t", b"x", qos=qos)
    first = None
    while first is None or first & 0xF0 != 0x30:
        first, body = sub.read_packet()
    packet_id = body[2 + len("wa/t") : 4 + len("wa/t")]
    sub.send(packet(ack, packet_id))
    seen = sub.expect_closed()
    reasons = [b[0] for f, b in seen if f == 0xE0]
    assert reasons == ([0x82] if v5 else []), seen
