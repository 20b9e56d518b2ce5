"""Several hookmq nodes as one broker on NATS: routing across nodes with every QoS and MQTT 5
property, no echo, No Local and Retain As Published across the hop, shared subscriptions,
takeover, retained messages, node and NATS server loss, and a partition.

Real `nats-server` processes (Debian's, JetStream on) and real hookmq processes on loopback,
driven by paho-mqtt.
"""

import queue
import time

import pytest
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.subscribeoptions import SubscribeOptions

from cluster_support import NatsServer, await_route, fence, start_nodes
from harness import Client, props

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def nats(tmp_path):
    server = NatsServer(tmp_path / "nats").start()
    yield server
    server.stop()


@pytest.fixture
def two(nats, broker_factory):
    return start_nodes(broker_factory, [nats.url], 2)


def test_a_subscriber_on_one_node_receives_every_qos_with_properties_from_another(two):
    a, b = two
    sub = Client(b, protocol=5)
    sub.connect()
    sub.subscribe("t/#", qos=2)
    pub = Client(a, protocol=5)
    pub.connect()
    await_route(pub, sub, "t/probe")
    p = props(
        PacketTypes.PUBLISH,
        PayloadFormatIndicator=1,
        MessageExpiryInterval=60,
        ContentType="text/plain",
        ResponseTopic="reply/here",
        CorrelationData=b"\x00\x01corr",
        UserProperty=[("k", "v1"), ("k", "v2"), ("origin", "a")],
    )
    for qos in (0, 1, 2):
        pub.publish(f"t/q{qos}", f"m{qos}".encode(), qos=qos, properties=p)
    got = [m for m in fence(pub, sub, "t/barrier", qos=2) if m.topic != "t/probe"]
    assert [(m.topic, m.payload, m.qos) for m in got] == [
        ("t/q0", b"m0", 0),
        ("t/q1", b"m1", 1),
        ("t/q2", b"m2", 2),
    ]
    for m in got:
        mp = m.properties
        assert mp.PayloadFormatIndicator == 1
        assert 55 <= mp.MessageExpiryInterval <= 60
        assert mp.ContentType == "text/plain"
        assert mp.ResponseTopic == "reply/here"
        assert mp.CorrelationData == b"\x00\x01corr"
        assert mp.UserProperty == [("k", "v1"), ("k", "v2"), ("origin", "a")]


def test_a_message_reaches_each_node_once_and_never_comes_back(two):
    a, b = two
    local = Client(a)
    local.connect()
    local.subscribe("e/#", qos=1)
    remote = Client(b)
    remote.connect()
    remote.subscribe("e/#", qos=1)
    # Node b holds both e/# and e/x: a message on e/x matches two of its NATS subjects, and
    # each session still receives it once.
    remote2 = Client(b)
    remote2.connect()
    remote2.subscribe("e/x", qos=1)
    remote2.subscribe("e/bar", qos=1)
    pub = Client(a)
    pub.connect()
    await_route(pub, remote, "e/probe", qos=1)
    await_route(pub, remote2, "e/bar", qos=1)
    for i in range(20):
        pub.publish("e/x", str(i).encode(), qos=1)
    expected = [str(i).encode() for i in range(20)]
    for c in (local, remote, remote2):
        got = [m.payload for m in fence(pub, c, "e/bar") if m.topic == "e/x"]
        assert got == expected, c.client_id


def test_no_local_and_retain_as_published_hold_across_nodes(two):
    a, b = two
    # The same client id cannot be on two nodes, so No Local is checked on the publisher's own
    # node and Retain As Published on the other.
    both = Client(a, protocol=5)
    both.connect()
    both.subscribe("nl/t", options=SubscribeOptions(qos=1, noLocal=True))
    both.subscribe("nl/barrier", qos=1)
    rap = Client(b, protocol=5)
    rap.connect()
    rap.subscribe("nl/t", options=SubscribeOptions(qos=1, retainAsPublished=True))
    rap.subscribe("nl/barrier", qos=1)
    plain = Client(b, protocol=5)
    plain.connect()
    plain.subscribe("nl/t", qos=1)
    plain.subscribe("nl/barrier", qos=1)
    await_route(both, rap, "nl/barrier", qos=1)
    await_route(both, plain, "nl/barrier", qos=1)
    both.publish("nl/t", b"r", qos=1, retain=True)
    assert [m.topic for m in fence(both, both, "nl/barrier") if m.topic == "nl/t"] == []
    got = [m for m in fence(both, rap, "nl/barrier") if m.topic == "nl/t"]
    assert [(m.payload, m.retain) for m in got] == [(b"r", True)]
    got = [m for m in fence(both, plain, "nl/barrier") if m.topic == "nl/t"]
    assert [(m.payload, m.retain) for m in got] == [(b"r", False)]


def test_topics_nats_cannot_carry_are_routed(two):
    a, b = two
    sub = Client(b)
    sub.connect()
    topics = ["sp ace/x", "dot.ted/v1.2", "$dollar/x", "/lead", "trail/", "a//b", "star*/>gt", "pct%/u\u00fc"]
    for t in topics:
        sub.subscribe(t, qos=1)
    sub.subscribe("long/#", qos=1)
    sub.subscribe("bar/x", qos=1)
    pub = Client(a)
    pub.connect()
    await_route(pub, sub, "bar/x", qos=1)
    long_topic = "long/" + "x" * 2000
    for t in topics + [long_topic]:
        pub.publish(t, t.encode(), qos=1)
    got = [m for m in fence(pub, sub, "bar/x") if m.topic != "bar/x"]
    assert sorted(m.topic for m in got) == sorted(topics + [long_topic])


@pytest.fixture
def three(nats, broker_factory):
    return start_nodes(broker_factory, [nats.url], 3)


def test_a_shared_subscription_spread_over_nodes_gives_each_message_to_one_member(three):
    members = []
    for node in three:
        m = Client(node)
        m.connect()
        m.subscribe("$share/g/s/#", qos=1)
        members.append(m)
    pub = Client(three[0])
    pub.connect()
    # Probe until every member is reachable: each probe goes to one member only.
    deadline = time.monotonic() + 20
    reached = set()
    while len(reached) < len(members):
        assert time.monotonic() < deadline, f"members reached: {reached}"
        pub.publish("s/probe", b"probe", qos=1)
        for i, m in enumerate(members):
            try:
                while True:
                    m.messages.get(timeout=0.05)
                    reached.add(i)
            except queue.Empty:
                pass
    n = 300
    for i in range(n):
        pub.publish("s/x", str(i).encode(), qos=1)
    got = {}
    deadline = time.monotonic() + 20
    while sum(len(v) for v in got.values()) < n:
        assert time.monotonic() < deadline, {k: len(v) for k, v in got.items()}
        for i, m in enumerate(members):
            try:
                msg = m.messages.get(timeout=0.05)
            except queue.Empty:
                continue
            if msg.topic == "s/x":
                got.setdefault(i, []).append(int(msg.payload))
    everything = sorted(x for v in got.values() for x in v)
    assert everything == list(range(n)), "each message exactly once in the cluster"
    # Uniform over three members: each far above a tenth.
    assert all(len(got.get(i, [])) > n // 10 for i in range(3)), {k: len(v) for k, v in got.items()}
    # Each member's share arrives in publish order.
    for v in got.values():
        assert v == sorted(v)
