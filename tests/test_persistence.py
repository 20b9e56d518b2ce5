"""Durability with `[persistence] enable = true`: persistent sessions (subscriptions, queued and
in-flight QoS 1/2 messages) and retained messages survive a restart and a `kill -9`; every QoS 1
message the broker acknowledged before the crash is delivered after it."""

import signal
import threading

import pytest

from harness import BrokerProcess, Client, barrier

CONFIG = """
[persistence]
enable = true
dir = "store"
"""


def start(workdir):
    return BrokerProcess(workdir, CONFIG).start()


def publish_until_killed(broker, topic_prefix, n, kill_after):
    """Publishes n QoS 1 messages with many in flight; kills the broker (SIGKILL) once
    `kill_after` were acknowledged. Returns the payloads the broker acknowledged."""
    pub = Client(broker, client_id="dur-pub")
    pub.c.max_inflight_messages_set(64)
    count = [0]
    lock = threading.Lock()
    killed = threading.Event()

    def on_publish(c, u, mid, rc, props):
        with lock:
            count[0] += 1
            if count[0] >= kill_after and not killed.is_set():
                killed.set()
                broker.proc.send_signal(signal.SIGKILL)

    pub.c.on_publish = on_publish
    pub.connect()
    sent = []
    for i in range(n):
        if killed.is_set():
            break
        payload = f"m{i}"
        sent.append((payload, pub.c.publish(f"{topic_prefix}/{i % 7}", payload, qos=1)))
    assert killed.wait(30), f"only {count[0]} acknowledged"
    broker.proc.wait(10)
    pub.c.loop_stop()
    # A message is acknowledged once paho received its PUBACK.
    return {payload for payload, info in sent if info.is_published()}


def drain(client, expected, timeout=20):
    got = set()
    while not expected <= got:
        got.add(client.expect(timeout).payload.decode())
    return got


def test_offline_session_keeps_every_acknowledged_message_across_kill_9(tmp_path):
    b = start(tmp_path)
    sub = Client(b, client_id="dur-sub", clean=False)
    sub.connect()
    sub.subscribe("dur/#", 1)
    sub.disconnect()
    acked = publish_until_killed(b, "dur", 3000, kill_after=400)
    assert len(acked) >= 400
    b2 = start(tmp_path)
    back = Client(b2, client_id="dur-sub", clean=False)
    present, _, _ = back.connect()
    assert present is True
    got = drain(back, acked)
    print(f"kill -9 with the subscriber offline: {len(acked)} acknowledged, {len(got)} delivered, {len(acked - got)} lost")
    assert acked <= got, f"lost {len(acked - got)} acknowledged messages"
    b2.stop()


def test_online_subscriber_gets_the_rest_after_kill_9(tmp_path):
    b = start(tmp_path)
    sub = Client(b, client_id="dur-live", clean=False)
    sub.connect()
    sub.subscribe("live/#", 1)
    acked = publish_until_killed(b, "live", 3000, kill_after=400)
    before = set()
    while True:
        try:
            before.add(sub.messages.get_nowait().payload.decode())
        except Exception:
            break
    sub.c.loop_stop()
    b2 = start(tmp_path)
    back = Client(b2, client_id="dur-live", clean=False)
    present, _, _ = back.connect()
    assert present is True
    missing = acked - before
    after = drain(back, missing) if missing else set()
    print(f"kill -9 with the subscriber online: {len(acked)} acknowledged, {len(before)} before + {len(after)} after, {len(acked - (before | after))} lost")
    assert acked <= before | after
    b2.stop()


def test_subscriptions_and_retained_messages_survive_a_clean_restart(tmp_path):
    b = start(tmp_path)
    sub = Client(b, client_id="keep-sub", protocol=5)
    from harness import PacketTypes, props

    sub.connect(properties=props(PacketTypes.CONNECT, SessionExpiryInterval=3600))
    sub.subscribe("keep/#", 2)
    pub = Client(b)
    pub.connect()
    pub.publish("ret/a", b"retained-a", qos=1, retain=True)
    pub.publish("ret/b", b"retained-b", qos=1, retain=True)
    pub.publish("ret/b", b"", qos=1, retain=True)  # cleared
    sub.disconnect()
    b.stop()
    b2 = start(tmp_path)
    back = Client(b2, client_id="keep-sub", protocol=5)
    present, _, _ = back.connect(clean_start=False, properties=props(PacketTypes.CONNECT, SessionExpiryInterval=3600))
    assert present is True
    pub2 = Client(b2)
    pub2.connect()
    pub2.publish("keep/x", b"after restart", qos=2)
    m = back.expect()
    assert (m.topic, m.payload, m.qos) == ("keep/x", b"after restart", 2)
    fresh = Client(b2)
    fresh.connect()
    fresh.subscribe("ret/#", 1)
    fresh.subscribe("barrier/x", 1)
    assert [(m.topic, m.payload) for m in barrier(pub2, fresh)] == [("ret/a", b"retained-a")]
    b2.stop()


def test_clean_sessions_are_not_stored(tmp_path):
    b = start(tmp_path)
    c = Client(b, client_id="clean-one", clean=True)
    c.connect()
    c.subscribe("c/#", 1)
    b.stop(sig=signal.SIGKILL)
    b2 = start(tmp_path)
    back = Client(b2, client_id="clean-one", clean=False)
    present, _, _ = back.connect()
    assert present is False
    b2.stop()


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


KILLS = 20


def test_qos2_is_delivered_exactly_once_across_20_kills(tmp_path):
    """kill -9 of the broker, 20 times, while QoS 2 messages flow to a persistent subscriber
    that keeps its session and its QoS 2 state (one paho client that reconnects by itself):
    no message reaches the application twice (CVE-2026-8741 class), and every message whose
    publisher got PUBCOMP is delivered. paho hands a QoS 2 message over at PUBREL, so the
    broker must have stored "released" before PUBREL leaves (docs/reliability.md)."""
    import collections
    import time

    import paho.mqtt.client as mqtt

    port = free_port()
    # A queue long enough that no overflow policy drops what the test counts.
    cfg = (f'[listeners.tcp.default]\nbind = "127.0.0.1:{port}"\n[mqtt]\nmax_queue_len = 100000\n'
           + CONFIG)

    def run_broker():
        return BrokerProcess(tmp_path, cfg).start()

    b = run_broker()
    got = collections.Counter()
    lock = threading.Lock()
    arrived = threading.Condition(lock)
    subscribed = threading.Event()

    def on_message(c, u, m):
        with arrived:
            got[m.payload.decode()] += 1
            arrived.notify_all()

    sub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="eo-sub", clean_session=False,
                      protocol=mqtt.MQTTv311)
    sub.reconnect_delay_set(min_delay=0.1, max_delay=0.5)
    sub.on_message = on_message
    sub.on_subscribe = lambda c, u, mid, rcs, props: subscribed.set()
    sub.connect("127.0.0.1", port, keepalive=30)
    sub.loop_start()
    sub.subscribe("eo/#", qos=2)
    assert subscribed.wait(10)

    def received():
        with lock:
            return sum(got.values())

    published = set()  # payloads whose PUBCOMP the publisher received
    seq = 0
    try:
        for kill in range(KILLS + 1):
            pub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"eo-pub-{kill}",
                              protocol=mqtt.MQTTv311)
            pub.max_inflight_messages_set(20)
            pub.connect("127.0.0.1", port)
            pub.loop_start()
            infos = []
            start = received()
            deadline = time.monotonic() + 20
            # Keep QoS 2 flows in flight to the subscriber, then kill inside them.
            while received() < start + 40 and time.monotonic() < deadline:
                for _ in range(10):
                    infos.append((f"m{seq}", pub.publish(f"eo/{seq % 5}", f"m{seq}", qos=2)))
                    seq += 1
                infos[-1][1].wait_for_publish(5)
                # The publisher stays at most 30 messages ahead of the subscriber.
                with arrived:
                    arrived.wait_for(lambda: sum(got.values()) >= start + len(infos) - 30, 5)
            assert received() >= start + 40, f"round {kill}: the subscriber got nothing"
            if kill == KILLS:
                for payload, info in infos:
                    info.wait_for_publish(10)
            else:
                b.proc.send_signal(signal.SIGKILL)
                b.proc.wait(10)
            pub.loop_stop()
            published |= {p for p, info in infos if info.is_published()}
            if kill < KILLS:
                b = run_broker()
        # Everything the publishers completed reaches the subscriber (it reconnects by itself).
        deadline = time.monotonic() + 30
        with arrived:
            while not published <= set(got) and time.monotonic() < deadline:
                arrived.wait(0.5)
        with lock:
            dups = {p: n for p, n in got.items() if n > 1}
            lost = published - set(got)
            total = len(got)
    finally:
        sub.loop_stop()
        b.stop()
    print(f"{KILLS} kills: {seq} published, {len(published)} completed, {total} delivered, "
          f"{len(dups)} delivered twice, {len(lost)} completed but lost")
    assert not dups, f"delivered more than once: {sorted(dups)[:10]}"
    assert not lost, f"completed but never delivered: {sorted(lost)[:10]}"
