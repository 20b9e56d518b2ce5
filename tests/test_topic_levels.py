"""The topic-level limit (`mqtt.max_topic_levels`): its default lets deep hierarchies through,
and a refusal answers with the specification's codes (MQTT 5: 0x90 for a topic name, 0x8F for a
filter; 3.1.1: SUBACK 0x80, and a close for a PUBLISH) with a log line naming the limit. Topics
far deeper than the limit (an attacker's 30,000 levels) are refused the same way, wherever they
come from, so no topic tree walk can exhaust the broker's stack."""

import pytest

from harness import Client
from rawmqtt import Raw, connect_v4, connect_v5, s, v4_publish, v5_publish

SHALLOW = "[mqtt]\nmax_topic_levels = 4\n"


def deep(n, level="l"):
    return "/".join([level] * n)


@pytest.mark.parametrize("protocol", [4, 5])
def test_the_default_accepts_512_levels(broker, protocol):
    sub = Client(broker, protocol=protocol)
    sub.connect()
    assert [int(getattr(rc, "value", rc)) for rc in sub.subscribe(deep(512, "+"), 1)] == [1]
    pub = Client(broker, protocol=protocol)
    pub.connect()
    pub.publish(deep(512), b"deep", qos=1)
    m = sub.expect()
    assert (m.topic, m.payload) == (deep(512), b"deep")


def test_v5_publish_beyond_the_limit_is_refused_with_0x90_and_the_connection_stays(broker_factory):
    b = broker_factory(SHALLOW)
    c = Client(b, protocol=5)
    c.connect()
    c.subscribe("a/#", 2)
    mark = b.mark()
    rc = c.publish("a/b/c/d/e", b"too deep", qos=1)
    assert rc == 0x90
    b.wait_log(r"deeper than mqtt.max_topic_levels; refused levels=5 max_topic_levels=4", start=mark)
    c.publish("a/b/c/d", b"fits", qos=1)
    assert c.expect().payload == b"fits"
    # QoS 2 on a raw socket: paho sends PUBREL even after a refusing PUBREC.
    r = Raw(b.port)
    r.send(connect_v5("deep-q2"))
    r.expect(0x20)
    r.send(v5_publish("a/b/c/d/e", b"x", qos=2, packet_id=7))
    assert r.expect(0x50) == b"\x00\x07\x90"
    r.send(v5_publish("a/b/c/d", b"x", qos=2, packet_id=8))
    assert r.expect(0x50)[:2] == b"\x00\x08"


def test_v5_qos0_publish_beyond_the_limit_gets_disconnect_0x90(broker_factory):
    b = broker_factory(SHALLOW)
    r = Raw(b.port)
    r.send(connect_v5("deep-q0"))
    r.expect(0x20)
    r.send(v5_publish("a/b/c/d/e", b"x"))
    seen = r.expect_closed()
    assert [body[0] for f, body in seen if f == 0xE0] == [0x90]


def test_v311_publish_beyond_the_limit_closes_with_a_log_line(broker_factory):
    b = broker_factory(SHALLOW)
    r = Raw(b.port)
    r.send(connect_v4("deep-v4"))
    r.expect(0x20)
    mark = b.mark()
    r.send(v4_publish("a/b/c/d/e", b"x", qos=1))
    assert r.expect_closed() == []
    b.wait_log(r"PUBLISH topic deeper than mqtt.max_topic_levels; refused levels=5 max_topic_levels=4", start=mark)


@pytest.mark.parametrize("protocol,code", [(5, 0x8F), (4, 0x80)])
def test_filter_beyond_the_limit_gets_a_failing_suback(broker_factory, protocol, code):
    b = broker_factory(SHALLOW)
    c = Client(b, protocol=protocol)
    c.connect()
    rcs = c.subscribe("a/b/c/d/#", 1)
    assert [int(getattr(rc, "value", rc)) for rc in rcs] == [code]
    rcs = c.subscribe("a/b/c/#", 1)
    assert [int(getattr(rc, "value", rc)) for rc in rcs] == [1]


@pytest.mark.parametrize("protocol,answer", [(5, b"\x00\x90\x00"), (4, b"\x00\x03")])
def test_will_topic_beyond_the_limit_refuses_the_connect(broker_factory, protocol, answer):
    b = broker_factory(SHALLOW)
    r = Raw(b.port)
    flags = 0x02 | 0x04
    if protocol == 5:
        r.send(connect_v5("deep-will", flags=flags, will=b"\x00" + s("a/b/c/d/e") + s("w")))
    else:
        r.send(connect_v4("deep-will", flags=flags, will=s("a/b/c/d/e") + s("w")))
    assert r.expect_closed() == [(0x20, answer)]


def test_topics_of_tens_of_thousands_of_levels_are_refused_and_the_broker_keeps_serving(broker):
    """An attacker's topic of 30,000 levels (60 KB of slashes) in every place a topic enters:
    a will, a filter, a PUBLISH. Each is refused before any topic tree walks it."""
    hostile = "/" * 30_000
    r = Raw(broker.port)
    r.send(connect_v5("hostile-will", flags=0x02 | 0x04, will=b"\x00" + s(hostile) + s("w")))
    assert r.expect_closed() == [(0x20, b"\x00\x90\x00")]
    c = Client(broker, protocol=5)
    c.connect()
    assert [int(rc.value) for rc in c.subscribe(hostile + "#", 1)] == [0x8F]
    assert c.publish(hostile, b"x", qos=1) == 0x90
    c.subscribe("alive", 1)
    c.publish("alive", b"yes", qos=1)
    assert c.expect().payload == b"yes"
