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
