"""Modify rights (issue 13, docs/hooks.md "Modify rights") observed on the wire by paho MQTT 5
clients, through the Python port runtime and the Python extension SDK (stream protocol): a
`message.publish` hook changes the MQTT 5 properties and the retain flag, consumes a message
(acknowledged with success, routed nowhere), and a bad answer (a property no message may carry)
leaves the message as sent; a `client.subscribe` hook rewrites a filter and its QoS and refuses
another with a SUBACK code of its choosing, and a refusal code SUBACK cannot carry is a bad
answer (the SUBSCRIBE goes through as sent)."""

import sys

import pytest
from paho.mqtt.packettypes import PacketTypes

from ext_support import ExtProcess, ext_loaded, ext_toml
from harness import Client, props
from test_port_support import driver_toml, start, wait_driver

PORT_HOOKS = r'''
from erlport.erlterms import Atom
from hookmq_port import hook, specs


@hook("message_publish", topics=["props/#", "consume/#", "bad/#"])
def on_publish(message, state):
    m = dict(message)
    topic = m[Atom(b"topic")].decode()
    if topic.startswith("props/"):
        return (0, [(Atom(b"retain"), True),
                    (Atom(b"properties"), [
                        (Atom(b"content_type"), b"text/plain"),
                        (Atom(b"response_topic"), b"reply/1"),
                        (Atom(b"correlation_data"), b"corr"),
                        (Atom(b"message_expiry_interval"), 600),
                        (Atom(b"payload_format_indicator"), 1),
                        (Atom(b"user_property"), [(b"k", b"v")]),
                    ])])
    if topic.startswith("consume/"):
        return (0, Atom(b"consume"))
    if topic.startswith("bad/"):
        return (0, [(Atom(b"properties"), [(Atom(b"topic_alias"), 3)])])
    return None


@hook("client_subscribe")
def on_subscribe(clientinfo, props, topics, state):
    out = []
    for t in topics:
        name = t[0].decode() if isinstance(t[0], bytes) else t[0]
        if name == "old/#":
            out.append((b"new/#", 2))
        elif name.startswith("quota/"):
            out.append((t[0], 0x97))
        elif name.startswith("secret/"):
            out.append((t[0], 0x88))
        else:
            out.append((t[0], t[1]))
    return (0, out)


def init():
    return specs(__name__)
'''

EXT = r'''
import sys

from hookmq_ext import Auth, Extension, Filter, Publish, hook, run


class Rights(Extension):
    name = "rights"

    @hook("client.authenticate")
    def on_client_authenticate(self, event):
        user = event.clientinfo.username
        if user == "banned":
            return Auth(False, reason_code=0x8A)
        if user == "bad":
            return Auth(False, reason_code=0x8F)  # not a CONNACK code: a bad reply
        return None

    @hook("message.publish", topics=["props/#", "consume/#", "bad/#"])
    def on_message_publish(self, event):
        topic = event.message.topic
        if topic.startswith("props/"):
            return Publish(retain=True, properties={
                "content_type": "text/plain", "response_topic": "reply/1",
                "correlation_data": b"corr", "message_expiry_interval": 600,
                "payload_format_indicator": 1, "user_properties": [("k", "v")]})
        if topic.startswith("consume/"):
            return Publish.CONSUME
        if topic.startswith("bad/"):
            return Publish(properties={"maximum_qos": 1})
        return None

    @hook("client.subscribe")
    def on_client_subscribe(self, event):
        out = []
        for f in event.filters:
            if f.filter == "old/#":
                out.append(Filter(filter="new/#", qos=2))
            elif f.filter.startswith("quota/"):
                out.append(Filter(refuse=0x97))
            elif f.filter.startswith("secret/"):
                out.append(Filter(refuse=0x88))
            else:
                out.append(Filter.KEEP)
        return out


run(Rights(), sys.argv[1])
'''


@pytest.fixture(params=["port", "stream"])
def driver(request):
    return request.param


@pytest.fixture
def broker(driver, broker_factory, tmp_path):
    """A broker whose modify-rights hooks are the Python port runtime's or a Python SDK
    extension's."""
    if driver == "port":
        b = start(broker_factory, tmp_path, files={"ext/rights_hooks.py": PORT_HOOKS},
                  config=driver_toml("python3", path="ext", init_module="rights_hooks"))
        wait_driver(b)
        yield b
        return
    script = tmp_path / "rights_ext.py"
    script.write_text(EXT)
    ext = ExtProcess([sys.executable, str(script), "127.0.0.1:0"]).start()
    try:
        b = broker_factory(ext_toml({"name": "rights", "url": ext.url, "failed_action": "ignore"}))
        ext_loaded(b, "rights")
        yield b
    finally:
        ext.stop()


def rc(r):
    return getattr(r, "value", r)


def test_publish_properties_retain_and_consume_reach_the_wire(broker):
    sub = Client(broker, protocol=5)
    sub.connect()
    sub.subscribe("#", 1)
    pub = Client(broker, protocol=5)
    pub.connect()
    given = props(PacketTypes.PUBLISH, UserProperty=[("from", "client")])
    assert rc(pub.publish("props/1", b"x", qos=1, properties=given)) == 0
    m = sub.expect()
    assert m.topic == "props/1"
    p = m.properties
    assert p.ContentType == "text/plain"
    assert p.ResponseTopic == "reply/1"
    assert p.CorrelationData == b"corr"
    assert p.PayloadFormatIndicator == 1
    assert 0 < p.MessageExpiryInterval <= 600
    assert p.UserProperty == [("k", "v")]
    # The hook made it retained: a later subscriber receives it with the retain flag.
    late = Client(broker, protocol=5)
    late.connect()
    late.subscribe("props/#", 1)
    r = late.expect()
    assert r.retain and r.payload == b"x"

    # Consumed: a success PUBACK, and nothing routed (the barrier arrives first).
    assert rc(pub.publish("consume/1", b"gone", qos=1)) == 0
    # A bad answer leaves the message as sent (failure policy "ignore").
    assert rc(pub.publish("bad/1", b"kept", qos=1)) == 0
    m = sub.expect()
    assert (m.topic, m.payload) == ("bad/1", b"kept")
    for c in (sub, pub, late):
        c.disconnect()


@pytest.mark.parametrize("protocol", [5, 4])
def test_subscribe_rewrites_and_refusals_reach_the_suback(broker, protocol):
    c = Client(broker, protocol=protocol)
    c.connect()
    result, mid = c.c.subscribe([("old/#", 1), ("quota/a", 1), ("keep/a", 0)])
    got_mid, rcs = c.subacks.get(timeout=10)
    assert got_mid == mid
    quota = 0x97 if protocol == 5 else 0x80
    assert [rc(r) for r in rcs] == [2, quota, 0]
    pub = Client(broker, protocol=5)
    pub.connect()
    pub.publish("new/1", b"n", qos=1)
    assert c.expect().topic == "new/1"
    # A refusal code SUBACK cannot carry: the whole answer is bad, the filters go through as
    # the client sent them.
    assert [rc(r) for r in c.subscribe("secret/a", 1)] == [1]
    c.disconnect()
    pub.disconnect()


def test_authentication_refuses_with_a_connack_code_of_the_extensions_choice(broker, driver):
    if driver == "port":
        pytest.skip("port answers refuse with (0, False), 0x87, only")
    c = Client(broker, protocol=5, username="banned", password="x")
    assert rc(c.connect()[1]) == 0x8A
    c.c.loop_stop()
    c = Client(broker, protocol=4, username="banned", password="x")
    # paho reports the 3.1.1 return code 5 as its MQTT 5 equivalent.
    assert rc(c.connect()[1]) in (5, 0x87)
    c.c.loop_stop()
    ok = Client(broker, protocol=5, username="bad", password="x")
    assert rc(ok.connect()[1]) == 0
    ok.disconnect()


def test_a_mandatory_extension_that_is_down_refuses_new_clients_with_0x88(broker_factory, tmp_path):
    script = tmp_path / "rights_ext.py"
    script.write_text(EXT)
    ext = ExtProcess([sys.executable, str(script), "127.0.0.1:0"]).start()
    try:
        # failed_action "ignore" and allow_anonymous: only `mandatory` refuses while it is down.
        b = broker_factory(ext_toml({"name": "auth", "url": ext.url, "mandatory": True,
                                     "failed_action": "ignore", "pool_size": 1,
                                     "auto_reconnect": "1s", "request_timeout": "2s"}))
        ext_loaded(b, "auth")
        c = Client(b, protocol=5)
        assert rc(c.connect()[1]) == 0
        c.disconnect()
        mark = b.mark()
        ext.kill()
        b.wait_log(r"extension stream lost", start=mark)
        c = Client(b, protocol=5)
        assert rc(c.connect()[1]) == 0x88
        c.c.loop_stop()
        c = Client(b, protocol=4)
        # paho reports the 3.1.1 return code 3 as its MQTT 5 equivalent.
        assert rc(c.connect()[1]) in (3, 0x88)
        c.c.loop_stop()
        # Back on the same port: the stream reopens and clients get in again.
        ext.cmd[-1] = f"127.0.0.1:{ext.port}"
        ext.start()
        b.wait_log(r"extension stream reopened", start=mark, timeout=20)
        c = Client(b, protocol=5)
        assert rc(c.connect()[1]) == 0
        c.disconnect()
    finally:
        ext.stop()
