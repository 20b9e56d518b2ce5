"""Overload without silent loss (issue 17): `mqtt.queue_drop = "backpressure"` holds a publisher
back while a subscriber's queue is full instead of dropping QoS 1/2 messages, and disconnects a
subscriber that stays stuck for `slow_consumer_timeout` with 0x97 (Quota exceeded) so it cannot
hold everyone up. The slow subscriber is a raw socket that acknowledges only when the test
says so: what is slow is decided by the test, not by timing."""

import struct
import urllib.request

from harness import Client
from rawmqtt import Raw, connect_v5, packet, parse_publish, s

CONFIG = """
[mqtt]
max_queue_len = 5
max_inflight = 1
queue_drop = "backpressure"
slow_consumer_timeout = "{timeout}"
[api]
bind = "127.0.0.1:0"
"""


def metric(b, family, label, value):
    """One counter of the broker's /metrics, 0 when absent."""
    host, port = b.listeners["api"]
    text = urllib.request.urlopen(f"http://{host}:{port}/metrics", timeout=10).read().decode()
    for line in text.splitlines():
        if line.startswith(f'{family}{{{label}="{value}"}}'):
            return float(line.split()[-1])
    return 0.0


def limit_hits(b, name):
    return metric(b, "hookmq_limit_hits_total", "limit", name)


def dropped(b, reason):
    return metric(b, "hookmq_messages_dropped_total", "reason", reason)


def raw_subscriber(b, client_id, topic):
    sub = Raw(b.port, timeout=30)
    sub.send(connect_v5(client_id=client_id))
    assert sub.read_packet()[0] == 0x20
    sub.send(packet(0x82, b"\x00\x01\x00" + s(topic) + b"\x01"))
    assert sub.read_packet()[0] == 0x90
    return sub


def test_a_slow_qos1_subscriber_loses_nothing_and_the_publisher_resumes(broker_factory):
    b = broker_factory(CONFIG.format(timeout="60s"))
    sub = raw_subscriber(b, "slow", "bp/t")
    pub = Client(b)
    pub.connect()
    n = 200
    # Pipelined: far more than the queue (5) and the window (1) hold.
    infos = [pub.publish("bp/t", str(i).encode(), qos=1, wait=False) for i in range(n)]
    got = []
    while len(got) < n:
        first, body = sub.read_packet()
        assert first & 0xF0 == 0x30, f"expected PUBLISH, got 0x{first:02X}"
        _, packet_id, _, payload = parse_publish(first, body)
        got.append(int(payload))
        # Acknowledged one at a time, after reading: the subscriber sets the pace.
        sub.send(packet(0x40, struct.pack(">H", packet_id)))
    assert got == list(range(n)), "every message, in order"
    for info in infos:
        info.wait_for_publish(30)
        assert info.is_published()
    assert limit_hits(b, "backpressure") > 0, "the publisher was held back"
    assert dropped(b, "queue_full") == 0
    assert limit_hits(b, "slow_consumer") == 0
    # The publisher still publishes normally afterwards.
    assert pub.publish("bp/t", b"after", qos=1) is not None
    first, body = sub.read_packet()
    assert parse_publish(first, body)[3] == b"after"


def test_a_stuck_subscriber_is_disconnected_with_quota_exceeded(broker_factory):
    b = broker_factory(CONFIG.format(timeout="1s"))
    # Reads its socket but never acknowledges: its window and queue stay full.
    stuck = raw_subscriber(b, "stuck", "bp/s")
    healthy = Client(b, protocol=5)
    healthy.connect()
    healthy.subscribe("bp/s", 1)
    pub = Client(b)
    pub.connect()
    n = 50
    infos = [pub.publish("bp/s", str(i).encode(), qos=1, wait=False) for i in range(n)]
    seen = stuck.expect_closed()
    kinds = [first for first, _ in seen]
    assert kinds[-1] == 0xE0, f"the stuck subscriber gets DISCONNECT last, got {[hex(k) for k in kinds]}"
    assert seen[-1][1][:1] == b"\x97", "reason 0x97 Quota exceeded"
    # The publisher went on: every message acknowledged, and the healthy subscriber has them all.
    for info in infos:
        info.wait_for_publish(30)
        assert info.is_published()
    payloads = [int(healthy.expect(timeout=30).payload) for _ in range(n)]
    assert payloads == list(range(n))
    assert limit_hits(b, "slow_consumer") == 1


def test_qos0_overflow_under_backpressure_drops_only_qos0(broker_factory):
    b = broker_factory(CONFIG.format(timeout="60s"))
    sub = raw_subscriber(b, "mixed", "bp/m")
    pub = Client(b)
    pub.connect()
    # The window (1) and the queue (5) fill with QoS 1 messages; QoS 0 ones that do not fit
    # are dropped, never a queued QoS 1 one.
    for i in range(6):
        pub.publish("bp/m", f"q1-{i}".encode(), qos=1, wait=False)
    for i in range(20):
        pub.publish("bp/m", f"q0-{i}".encode(), qos=0, wait=False)
    pub.publish("bp/m", b"q1-last", qos=1, wait=False)
    got = []
    while not got or got[-1] != b"q1-last":
        first, body = sub.read_packet()
        _, packet_id, _, payload = parse_publish(first, body)
        got.append(payload)
        if packet_id is not None:
            sub.send(packet(0x40, struct.pack(">H", packet_id)))
    q1 = [p for p in got if p.startswith(b"q1-")]
    assert q1 == [f"q1-{i}".encode() for i in range(6)] + [b"q1-last"]
    assert dropped(b, "queue_full") > 0
