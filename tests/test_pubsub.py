"""Publish/subscribe with real paho-mqtt clients at MQTT 3.1, 3.1.1 and 5.0: QoS, wildcards,
$SYS isolation, retained messages and their options, shared subscriptions, no-local, subscription
identifiers, topic aliases, expiry, property pass-through and the maximum packet size."""

import collections

import pytest

from harness import Client, PacketTypes, barrier, mqtt, props


@pytest.mark.parametrize("protocol", [3, 4, 5])
@pytest.mark.parametrize("qos", [0, 1, 2])
def test_message_reaches_subscriber_at_each_level_and_qos(broker, protocol, qos):
    sub = Client(broker, protocol=protocol)
    sub.connect()
    assert sub.subscribe("t/level", qos) in ([qos], [mqtt.ReasonCode(PacketTypes.SUBACK, identifier=qos)])
    pub = Client(broker, protocol=protocol)
    pub.connect()
    pub.publish("t/level", b"payload-%d" % qos, qos=qos)
    m = sub.expect()
    assert (m.topic, m.payload, m.qos) == ("t/level", b"payload-%d" % qos, qos)


def test_qos_is_downgraded_to_the_granted_qos(broker):
    sub = Client(broker)
    sub.connect()
    sub.subscribe("down/#", 1)
    pub = Client(broker)
    pub.connect()
    pub.publish("down/a", b"x", qos=2)
    assert sub.expect().qos == 1


def test_wildcards_match_per_the_spec(broker):
    sub = Client(broker)
    sub.connect()
    for f in ["w/+/c", "w/#", "w/b/c"]:
        sub.subscribe(f, 1)
    sub.subscribe("barrier/x", 1)
    pub = Client(broker)
    pub.connect()
    pub.publish("w/b/c", b"1", qos=1)
    pub.publish("w", b"2", qos=1)
    pub.publish("w/x/y/z", b"3", qos=1)
    pub.publish("other/b/c", b"4", qos=1)
    got = [m.payload for m in barrier(pub, sub)]
    # Overlapping subscriptions deliver one copy per message.
    assert got == [b"1", b"2", b"3"]


def test_root_wildcards_do_not_match_sys_topics(broker):
    sub = Client(broker)
    sub.connect()
    sub.subscribe("#", 0)
    sub.subscribe("+/brokers/#", 0)
    sys_sub = Client(broker)
    sys_sub.connect()
    sys_sub.subscribe("$SYS/brokers/+/uptime", 0)
    # $SYS is published every second in this broker fixture; wait for one.
    m = sys_sub.expect(timeout=15)
    assert m.topic.startswith("$SYS/brokers/") and int(m.payload) >= 0
    pub = Client(broker)
    pub.connect()
    pub.publish("plain/x", b"p", qos=1)
    before, last = sub.until("plain/x")
    assert all(not x.topic.startswith("$SYS") for x in before + [last])


def test_clients_cannot_publish_into_sys(broker):
    sub = Client(broker)
    sub.connect()
    sub.subscribe("$SYS/fake", 1)
    sub.subscribe("barrier/x", 1)
    pub = Client(broker, protocol=5)
    pub.connect()
    rc = pub.publish("$SYS/fake", b"spoof", qos=1)
    assert rc == 0x87
    assert barrier(pub, sub) == []


def test_retained_set_replace_clear_and_delivery_on_subscribe(broker):
    pub = Client(broker)
    pub.connect()
    pub.publish("r/a", b"first", qos=1, retain=True)
    pub.publish("r/a", b"second", qos=1, retain=True)
    pub.publish("r/b", b"other", qos=1, retain=True)
    s1 = Client(broker)
    s1.connect()
    s1.subscribe("r/+", 1)
    got = sorted((m.topic, m.payload, m.retain) for m in (s1.expect(), s1.expect()))
    assert got == [("r/a", b"second", True), ("r/b", b"other", True)]
    # Routed live, the retain flag is cleared for a 3.1.1 subscriber.
    pub.publish("r/a", b"live", qos=1, retain=True)
    m = s1.expect()
    assert (m.payload, m.retain) == (b"live", False)
    # Empty payload clears.
    pub.publish("r/a", b"", qos=1, retain=True)
    assert s1.expect().payload == b""
    s2 = Client(broker)
    s2.connect()
    s2.subscribe("r/#", 1)
    s2.subscribe("barrier/x", 1)
    m = s2.expect()
    assert (m.topic, m.payload) == ("r/b", b"other")
    assert barrier(pub, s2) == []


@pytest.mark.parametrize("handling,resubscribe_gets", [(0, True), (1, False), (2, False)])
def test_retain_handling_options(broker, handling, resubscribe_gets):
    pub = Client(broker)
    pub.connect()
    pub.publish("rh/t", b"kept", qos=1, retain=True)
    sub = Client(broker, protocol=5)
    sub.connect()
    sub.subscribe("barrier/x", 1)
    opts = mqtt.SubscribeOptions(qos=1, retainHandling=handling)
    sub.subscribe("rh/t", options=opts)
    first = barrier(pub, sub)
    assert [m.payload for m in first] == ([] if handling == 2 else [b"kept"])
    sub.subscribe("rh/t", options=opts)
    again = barrier(pub, sub)
    assert [m.payload for m in again] == ([b"kept"] if resubscribe_gets else [])


def test_retain_as_published(broker):
    sub = Client(broker, protocol=5)
    sub.connect()
    sub.subscribe("rap/keep", options=mqtt.SubscribeOptions(qos=1, retainAsPublished=True))
    sub.subscribe("rap/clear", options=mqtt.SubscribeOptions(qos=1, retainAsPublished=False))
    pub = Client(broker, protocol=5)
    pub.connect()
    pub.publish("rap/keep", b"a", qos=1, retain=True)
    assert sub.expect().retain is True
    pub.publish("rap/clear", b"b", qos=1, retain=True)
    assert sub.expect().retain is False


def test_no_local(broker):
    c = Client(broker, protocol=5)
    c.connect()
    c.subscribe("nl/t", options=mqtt.SubscribeOptions(qos=1, noLocal=True))
    c.subscribe("barrier/x", 1)
    c.publish("nl/t", b"own", qos=1)
    # The client's own barrier arrives after anything it published before it.
    assert barrier(c, c) == []
    other = Client(broker, protocol=5)
    other.connect()
    other.publish("nl/t", b"theirs", qos=1)
    assert c.expect().payload == b"theirs"


def test_shared_subscription_distributes_each_message_to_one_member(broker):
    members = []
    for _ in range(3):
        c = Client(broker, protocol=5)
        c.connect()
        c.subscribe("$share/g1/jobs/#", 1)
        members.append(c)
    plain = Client(broker)
    plain.connect()
    plain.subscribe("jobs/#", 1)
    pub = Client(broker)
    pub.connect()
    n = 30
    for i in range(n):
        pub.publish(f"jobs/{i}", str(i).encode(), qos=1)
    assert sorted(int(plain.expect().payload) for _ in range(n)) == list(range(n))
    got = collections.Counter()
    seen = []
    while len(seen) < n:
        for i, c in enumerate(members):
            try:
                m = c.messages.get(timeout=0.05)
            except Exception:
                continue
            got[i] += 1
            seen.append(int(m.payload))
    assert sorted(seen) == list(range(n)), "each message exactly once across the group"
    assert len(got) == 3 and min(got.values()) >= 5, f"round robin spread: {got}"


def test_subscription_identifiers_are_returned(broker):
    sub = Client(broker, protocol=5)
    sub.connect()
    sub.subscribe("sid/+", 1, properties=props(PacketTypes.SUBSCRIBE, SubscriptionIdentifier=7))
    sub.subscribe("sid/#", 1, properties=props(PacketTypes.SUBSCRIBE, SubscriptionIdentifier=9))
    pub = Client(broker)
    pub.connect()
    pub.publish("sid/a", b"x", qos=1)
    m = sub.expect()
    assert sorted(m.properties.SubscriptionIdentifier) == [7, 9]


def test_properties_pass_through(broker):
    sub = Client(broker, protocol=5)
    sub.connect()
    sub.subscribe("pp/t", 1)
    pub = Client(broker, protocol=5)
    pub.connect()
    p = props(
        PacketTypes.PUBLISH,
        UserProperty=[("k1", "v1"), ("k2", "v2")],
        ResponseTopic="reply/here",
        CorrelationData=b"\x01\x02",
        ContentType="application/json",
        PayloadFormatIndicator=1,
    )
    pub.publish("pp/t", b"{}", qos=1, properties=p)
    m = sub.expect()
    assert m.properties.UserProperty == [("k1", "v1"), ("k2", "v2")]
    assert m.properties.ResponseTopic == "reply/here"
    assert m.properties.CorrelationData == b"\x01\x02"
    assert m.properties.ContentType == "application/json"
    assert m.properties.PayloadFormatIndicator == 1


def test_inbound_topic_alias(broker):
    sub = Client(broker)
    sub.connect()
    sub.subscribe("alias/long/topic/name", 1)
    pub = Client(broker, protocol=5)
    pub.connect()
    pub.publish("alias/long/topic/name", b"1", qos=1, properties=props(PacketTypes.PUBLISH, TopicAlias=3))
    pub.publish("", b"2", qos=1, properties=props(PacketTypes.PUBLISH, TopicAlias=3))
    assert [(m.topic, m.payload) for m in (sub.expect(), sub.expect())] == [
        ("alias/long/topic/name", b"1"),
        ("alias/long/topic/name", b"2"),
    ]


def test_outbound_topic_aliases_are_reused_least_recently_used_first(broker):
    """With more topics than the client's Topic Alias Maximum (2), the broker gives the alias
    of the least recently used topic to a new one, sending the topic with it (which rebinds the
    alias at the client). paho hands an aliased PUBLISH over with an empty topic and its alias:
    resolving as a client must, every message still names its own topic."""
    sub = Client(broker, protocol=5)
    sub.connect(properties=props(PacketTypes.CONNECT, TopicAliasMaximum=2))
    sub.subscribe("oa/#", 1)
    pub = Client(broker)
    pub.connect()
    sent = ["oa/a", "oa/b", "oa/a", "oa/c", "oa/a", "oa/b", "oa/c", "oa/c", "oa/a"]
    for i, t in enumerate(sent):
        pub.publish(t, f"{t} {i}".encode(), qos=1)
    got = [sub.expect() for _ in sent]
    wire = [(m.topic, getattr(m.properties, "TopicAlias", None)) for m in got]
    assert wire == [
        ("oa/a", 1), ("oa/b", 2), ("", 1),
        ("oa/c", 2),  # b was least recently used
        ("", 1),
        ("oa/b", 2),  # c was least recently used
        ("oa/c", 1),  # a was
        ("", 1),
        ("oa/a", 2),  # b was
    ]
    bound = {}
    for m in got:
        alias = m.properties.TopicAlias
        if m.topic:
            bound[alias] = m.topic
        assert m.payload.decode().split()[0] == bound[alias]


def test_expired_messages_are_not_delivered_and_expiry_counts_down(broker):
    sub = Client(broker, protocol=5, client_id="exp-sub", clean=False)
    sub.connect(properties=props(PacketTypes.CONNECT, SessionExpiryInterval=300))
    sub.subscribe("exp/#", 1)
    # Offline before the publishes: MQTT-3.3.2-5 deletes an expired copy only if its delivery
    # has not started, so one already written to the closing connection would be resent.
    sub.disconnect(wait=True)
    pub = Client(broker, protocol=5)
    pub.connect()
    pub.publish("exp/short", b"gone", qos=1, properties=props(PacketTypes.PUBLISH, MessageExpiryInterval=1))
    pub.publish("exp/long", b"kept", qos=1, properties=props(PacketTypes.PUBLISH, MessageExpiryInterval=100))
    # Let the short one expire while the subscriber is offline: wait on the broker's clock via $SYS
    # uptime advancing by at least 2 seconds.
    watcher = Client(broker)
    watcher.connect()
    watcher.subscribe("$SYS/brokers/+/uptime", 0)
    start = int(watcher.expect(15).payload)
    while int(watcher.expect(15).payload) < start + 2:
        pass
    sub2 = Client(broker, protocol=5, client_id="exp-sub", clean=False)
    sub2.connect(clean_start=False, properties=props(PacketTypes.CONNECT, SessionExpiryInterval=300))
    m = sub2.expect()
    assert m.payload == b"kept"
    assert 90 <= m.properties.MessageExpiryInterval < 100


def test_packets_above_the_maximum_size_are_rejected(broker_factory):
    b = broker_factory("[mqtt]\nmax_packet_size = \"1KB\"\n")
    c = Client(b, protocol=5)
    _, rc, p = c.connect()
    assert p.MaximumPacketSize == 1024
    c.publish("big", b"x" * 2000, qos=0, wait=False)
    rc = c.expect_disconnect()
    assert rc == 0x95
    # The broker keeps serving others.
    other = Client(b)
    other.connect()
    other.subscribe("ok", 1)
    other.publish("ok", b"fine", qos=1)
    assert other.expect().payload == b"fine"


def test_messages_above_the_clients_maximum_packet_size_are_not_sent(broker):
    sub = Client(broker, protocol=5)
    sub.connect(properties=props(PacketTypes.CONNECT, MaximumPacketSize=200))
    sub.subscribe("mps/#", 1)
    pub = Client(broker)
    pub.connect()
    pub.publish("mps/big", b"x" * 500, qos=1)
    pub.publish("mps/small", b"ok", qos=1)
    m = sub.expect()
    assert (m.topic, m.payload) == ("mps/small", b"ok")
