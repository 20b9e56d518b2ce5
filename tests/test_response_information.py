"""Response Information (MQTT 5 request/response): a client that sets Request Response
Information gets a topic prefix for its replies in CONNACK, from `mqtt.response_information`
with its identity filled in; an identity that would widen or share the prefix gets none."""

from harness import Client, PacketTypes, props

CONFIG = '[mqtt]\nresponse_information = "reply/${clientid}/"\n'


def ask(value=1):
    return props(PacketTypes.CONNECT, RequestResponseInformation=value)


def test_a_client_that_asks_gets_its_reply_prefix_and_can_use_it(broker_factory):
    b = broker_factory(CONFIG)
    requester = Client(b, protocol=5, client_id="req-1")
    _, rc, p = requester.connect(properties=ask())
    assert rc == 0 and p.ResponseInformation == "reply/req-1/"
    requester.subscribe(p.ResponseInformation + "#", 1)
    responder = Client(b, protocol=5)
    responder.connect()
    responder.publish(p.ResponseInformation + "answer", b"42", qos=1)
    m = requester.expect()
    assert (m.topic, m.payload) == ("reply/req-1/answer", b"42")


def test_nothing_unless_asked_or_configured(broker_factory):
    b = broker_factory(CONFIG)
    for properties in (None, ask(0)):
        _, rc, p = Client(b, protocol=5).connect(properties=properties)
        assert rc == 0 and not hasattr(p, "ResponseInformation")
    plain = broker_factory()
    _, rc, p = Client(plain, protocol=5).connect(properties=ask())
    assert rc == 0 and not hasattr(p, "ResponseInformation")


def test_an_identity_that_would_widen_or_share_the_prefix_gets_none(broker_factory):
    """Client id `+` would be told `reply/+/`, a filter over every client's replies; `a/b` would
    share client `a`'s; a user-name template without a user name would give every anonymous
    client the same prefix. They are let in, without Response Information."""
    b = broker_factory(CONFIG)
    for cid in ("+", "#", "a/b"):
        _, rc, p = Client(b, protocol=5, client_id=cid).connect(properties=ask())
        assert rc == 0 and not hasattr(p, "ResponseInformation"), cid
    by_user = broker_factory('[mqtt]\nresponse_information = "reply/${username}/"\n')
    _, rc, p = Client(by_user, protocol=5).connect(properties=ask())
    assert rc == 0 and not hasattr(p, "ResponseInformation")
    _, rc, p = Client(by_user, protocol=5, username="alice").connect(properties=ask())
    assert p.ResponseInformation == "reply/alice/"
