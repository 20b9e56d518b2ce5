"""Sessions with real clients: persistence and offline queueing, QoS 2 exactly once across a
reconnect, takeover, clean start, session expiry, wills (abnormal close, clean disconnect, delay),
graceful shutdown."""

import socket
import struct
import time

import pytest

from harness import Client, PacketTypes, barrier, mqtt, props


def test_persistent_session_queues_offline_messages_and_resumes(broker):
    sub = Client(broker, client_id="persist-1", clean=False)
    present, rc, _ = sub.connect()
    assert (present, rc) == (False, 0)
    sub.subscribe("off/#", 1)
    # Until the broker has read the DISCONNECT, the session is online and a QoS 0 message is
    # queued for it like any other (then handed over if the client reconnects first).
    sub.disconnect(wait=True)
    pub = Client(broker)
    pub.connect()
    for i in range(5):
        pub.publish(f"off/{i}", str(i).encode(), qos=1)
    pub.publish("off/q0", b"qos0", qos=0)
    # A QoS 0 publish has no acknowledgement; the PUBACK of the next one from the same client
    # says it has been routed (to the offline session, which does not queue it).
    pub.publish("sync/x", b"", qos=1)
    again = Client(broker, client_id="persist-1", clean=False)
    present, rc, _ = again.connect()
    assert (present, rc) == (True, 0)
    got = [again.expect().payload for _ in range(5)]
    assert got == [b"0", b"1", b"2", b"3", b"4"]
    # QoS 0 is not queued for offline sessions by default.
    again.subscribe("barrier/x", 1)
    assert [(m.topic, m.payload, m.dup) for m in barrier(pub, again)] == []


def test_clean_session_discards_the_old_session(broker):
    a = Client(broker, client_id="clean-1", clean=False)
    a.connect()
    a.subscribe("cs/#", 1)
    a.disconnect()
    b = Client(broker, client_id="clean-1", clean=True)
    present, _, _ = b.connect()
    assert present is False
    b.subscribe("barrier/x", 1)
    pub = Client(broker)
    pub.connect()
    pub.publish("cs/x", b"lost", qos=1)
    assert barrier(pub, b) == []


class RawQos2Subscriber:
    """A 3.1.1 subscriber speaking raw MQTT, to stop after PUBREC and reconnect."""

    def __init__(self, port, client_id):
        self.port, self.client_id = port, client_id

    def connect(self, clean):
        self.s = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        cid = self.client_id.encode()
        var = b"\x00\x04MQTT\x04" + bytes([0 if not clean else 2]) + b"\x00\x3c"
        payload = struct.pack(">H", len(cid)) + cid
        self._send(0x10, var + payload)
        t, body = self.read()
        assert t == 0x20, hex(t)
        return body[0] & 1

    def subscribe(self, topic, qos):
        tb = topic.encode()
        self._send(0x82, b"\x00\x01" + struct.pack(">H", len(tb)) + tb + bytes([qos]))
        t, body = self.read()
        assert t == 0x90 and body[-1] == qos

    def _send(self, first, body):
        n, rl = len(body), b""
        while True:
            b, n = n % 128, n // 128
            rl += bytes([b | (0x80 if n else 0)])
            if not n:
                break
        self.s.sendall(bytes([first]) + rl + body)

    def _exact(self, n):
        out = b""
        while len(out) < n:
            chunk = self.s.recv(n - len(out))
            if not chunk:
                raise ConnectionError("closed")
            out += chunk
        return out

    def read(self):
        first = self._exact(1)[0]
        mult, n = 1, 0
        while True:
            b = self._exact(1)[0]
            n += (b & 127) * mult
            mult *= 128
            if not b & 128:
                break
        return first, self._exact(n)

    def send(self, first, body):
        self._send(first, body)

    def close(self):
        self.s.close()


def test_qos2_exactly_once_across_a_reconnect(broker):
    """The subscriber gets a QoS 2 message, sends PUBREC, drops the connection before PUBREL
    completes; on reconnect the broker resends PUBREL (not the message), so it is delivered
    exactly once."""
    raw = RawQos2Subscriber(broker.port, "qos2-raw")
    raw.connect(clean=False)
    raw.subscribe("eo/t", 2)
    pub = Client(broker)
    pub.connect()
    pub.publish("eo/t", b"once", qos=2)
    first, body = raw.read()
    assert first & 0xF0 == 0x30 and (first >> 1) & 3 == 2
    topic_len = struct.unpack(">H", body[:2])[0]
    pid = body[2 + topic_len : 4 + topic_len]
    assert body[4 + topic_len :] == b"once"
    raw.send(0x50, pid)  # PUBREC
    t, rel = raw.read()
    assert t == 0x62 and rel == pid  # PUBREL
    raw.close()  # no PUBCOMP
    assert raw.connect(clean=False) == 1  # session present
    t, rel = raw.read()
    assert t == 0x62 and rel == pid, "PUBREL resent, not the PUBLISH"
    raw.send(0x70, pid)  # PUBCOMP
    # Nothing else is redelivered: the next thing is a fresh message.
    pub.publish("eo/t", b"next", qos=2)
    first, body = raw.read()
    assert first & 0xF0 == 0x30 and body.endswith(b"next")
    raw.close()


def test_unacknowledged_qos1_is_redelivered_with_dup_on_reconnect(broker):
    raw = RawQos2Subscriber(broker.port, "dup-raw")
    raw.connect(clean=False)
    raw.subscribe("dup/t", 1)
    pub = Client(broker)
    pub.connect()
    pub.publish("dup/t", b"again", qos=1)
    first, body = raw.read()
    assert first & 0xFE == 0x32  # PUBLISH QoS 1, DUP 0
    raw.close()  # no PUBACK
    assert raw.connect(clean=False) == 1
    first, body2 = raw.read()
    assert first & 0xFE == 0x3A, "resent with DUP"
    assert body2 == body
    raw.close()


def test_takeover_kicks_the_old_connection_with_0x8e(broker):
    old = Client(broker, client_id="same-id", protocol=5)
    old.connect()
    new = Client(broker, client_id="same-id", protocol=5)
    new.connect()
    assert old.expect_disconnect() == 0x8E
    new.subscribe("to/x", 1)
    new.publish("to/x", b"still works", qos=1)
    assert new.expect().payload == b"still works"


def test_takeover_resumes_the_session_of_a_persistent_client(broker):
    old = Client(broker, client_id="resume-id", protocol=5)
    old.connect(properties=props(PacketTypes.CONNECT, SessionExpiryInterval=60))
    old.subscribe("tr/#", 1)
    new = Client(broker, client_id="resume-id", protocol=5)
    present, _, _ = new.connect(clean_start=False, properties=props(PacketTypes.CONNECT, SessionExpiryInterval=60))
    assert present is True
    old.expect_disconnect()
    pub = Client(broker)
    pub.connect()
    pub.publish("tr/a", b"to the new connection", qos=1)
    assert new.expect().payload == b"to the new connection"


def test_will_is_published_on_abnormal_close_but_not_on_disconnect(broker):
    watcher = Client(broker)
    watcher.connect()
    watcher.subscribe("will/#", 1)
    dying = Client(broker, client_id="dying").will("will/dying", b"gone", qos=1)
    dying.connect()
    dying.drop()
    m = watcher.expect()
    assert (m.topic, m.payload) == ("will/dying", b"gone")
    polite = Client(broker, client_id="polite").will("will/polite", b"never", qos=1)
    polite.connect()
    polite.disconnect()
    watcher.subscribe("barrier/x", 1)
    pub = Client(broker)
    pub.connect()
    assert barrier(pub, watcher) == []


def test_v5_disconnect_with_will_publishes_it(broker):
    watcher = Client(broker)
    watcher.connect()
    watcher.subscribe("will5/#", 1)
    c = Client(broker, protocol=5).will("will5/x", b"asked for", qos=1)
    c.connect()
    c.disconnect(reasoncode=mqtt.ReasonCode(PacketTypes.DISCONNECT, "Disconnect with will message"))
    assert watcher.expect().payload == b"asked for"


def test_will_delay_is_cancelled_by_a_reconnect(broker):
    watcher = Client(broker)
    watcher.connect()
    watcher.subscribe("wd/#", 1)
    watcher.subscribe("barrier/x", 1)
    wp = props(PacketTypes.WILLMESSAGE, WillDelayInterval=30)
    c = Client(broker, client_id="wd-client", protocol=5).will("wd/x", b"late", 1, False, wp)
    c.connect(properties=props(PacketTypes.CONNECT, SessionExpiryInterval=120))
    c.drop()
    back = Client(broker, client_id="wd-client", protocol=5)
    present, _, _ = back.connect(clean_start=False, properties=props(PacketTypes.CONNECT, SessionExpiryInterval=120))
    assert present
    pub = Client(broker)
    pub.connect()
    assert barrier(pub, watcher) == []


def test_will_delay_publishes_after_the_delay(broker):
    watcher = Client(broker)
    watcher.connect()
    watcher.subscribe("wd2/#", 1)
    wp = props(PacketTypes.WILLMESSAGE, WillDelayInterval=1)
    c = Client(broker, client_id="wd2-client", protocol=5).will("wd2/x", b"after delay", 1, False, wp)
    c.connect(properties=props(PacketTypes.CONNECT, SessionExpiryInterval=120))
    t0 = time.monotonic()
    c.drop()
    m = watcher.expect(timeout=10)
    assert m.payload == b"after delay"
    assert time.monotonic() - t0 >= 0.9


def test_session_expiry_ends_the_session(broker):
    c = Client(broker, client_id="expiring", protocol=5)
    c.connect(properties=props(PacketTypes.CONNECT, SessionExpiryInterval=1))
    c.subscribe("se/#", 1)
    c.disconnect()
    # The session is gone once a reconnect no longer finds it; wait on the broker's log.
    broker.wait_log(r"session expired", timeout=10)
    back = Client(broker, client_id="expiring", protocol=5)
    present, _, _ = back.connect(clean_start=False, properties=props(PacketTypes.CONNECT, SessionExpiryInterval=60))
    assert present is False


def test_v5_clients_get_server_shutting_down_on_sigterm(broker_factory):
    b = broker_factory()
    c = Client(b, protocol=5)
    c.connect()
    b.stop()
    assert c.expect_disconnect() == 0x8B
    assert b.proc.returncode == 0
