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
