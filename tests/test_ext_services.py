"""Broker services from extensions over the stream protocol (docs/services.md), with both SDKs'
`services` example (sdk/python/examples/services.py, sdk/rust/examples/services.rs) and real paho
clients: publish reaches a subscriber, kick closes a client with the reason, subscribe on behalf
(from the client's own `client.connected`) delivers, cache invalidation makes the next publish
re-authorize, retained set/get/delete seen by new subscribers, session/client values, a kick from
inside the client's own hook, the hop limit, and bad input answered with typed errors. Every wait
is bounded."""

import pytest

from ext_support import ExtProcess, example_cmd, ext_loaded, ext_toml
from harness import Client


@pytest.fixture(params=["python", "rust"])
def services(request, broker_factory):
    """A broker with the `services` example of one SDK loaded, and a client `ctl` that sends
    commands and reads their results."""
    ext = ExtProcess(example_cmd(request.param, "services", "--listen", "127.0.0.1:0")).start()
    try:
        b = broker_factory('[mqtt]\nmax_packet_size = "4KB"\n'
                           + ext_toml({"name": "services", "url": ext.url}))
        ext_loaded(b, "services")
        ctl = Client(b, client_id="ctl", protocol=5)
        ctl.connect()
        ctl.subscribe("result/#", 1)
        yield b, ctl
    finally:
        ext.stop()


def command(ctl, service, *args):
    ctl.publish(f"cmd/{service}", " ".join(str(a) for a in args).encode(), qos=1)
    _, m = ctl.until(f"result/{service}")
    return m.payload.decode()


def test_every_service(services):
    b, ctl = services
    auto = Client(b, client_id="auto-1", protocol=5)
    auto.connect()
    _, m = ctl.until("result/auto")
    assert m.payload == b"ok:1"
    assert command(ctl, "publish", "inbox/auto-1", "hello") == "ok:1"
    got = auto.expect()
    assert (got.topic, got.payload, got.qos) == ("inbox/auto-1", b"hello", 1)
    assert command(ctl, "session", "auto-1") == "ok:inbox/auto-1@1;0;true"
    assert command(ctl, "client", "auto-1") == "ok:5;true"
    assert command(ctl, "clients", "auto-") == "ok:1;auto-1"
    assert command(ctl, "metrics") == "ok:2"
    assert command(ctl, "unsubscribe", "auto-1", "inbox/auto-1") == "ok:true"
    assert command(ctl, "unsubscribe", "auto-1", "inbox/auto-1") == "ok:false"
    assert command(ctl, "publish", "inbox/auto-1", "gone") == "ok:0"

    assert command(ctl, "retained_set", "state/lamp", "on") == "ok:"
    assert command(ctl, "retained_get", "state/lamp") == "ok:on"
    reader = Client(b, client_id="reader", protocol=5)
    reader.connect()
    reader.subscribe("state/#", 1)
    m = reader.expect()
    assert (m.topic, m.payload, m.retain) == ("state/lamp", b"on", True)
    assert command(ctl, "retained_delete", "state/lamp") == "ok:true"
    assert command(ctl, "retained_get", "state/lamp") == "ok:-none-"

    victim = Client(b, client_id="victim", protocol=5)
    victim.connect()
    assert command(ctl, "kick", "victim", 0x9C) == "ok:"
    assert victim.expect_disconnect().value == 0x9C
    auto.disconnect()
    reader.disconnect()


def test_authz_cache_invalidation_makes_the_next_publish_reauthorize(services):
    b, ctl = services
    pub = Client(b, client_id="az", protocol=5)
    pub.connect()
    for _ in range(3):
        pub.publish("t/1", b"x", qos=1)
    assert command(ctl, "acl_count", "az") == "ok:1"  # cached after the first check
    assert command(ctl, "authz", "az") == "ok:1"
    pub.publish("t/1", b"x", qos=1)
    assert command(ctl, "acl_count", "az") == "ok:2"
    pub.disconnect()


def test_kick_from_the_clients_own_hook_and_the_hop_limit(services):
    b, ctl = services
    selfish = Client(b, client_id="selfish", protocol=5)
    selfish.connect()
    selfish.publish("self/kick", b"x", qos=1, wait=False)
    assert selfish.expect_disconnect(timeout=10).value == 0x89

    sub = Client(b, client_id="loop-sub", protocol=5)
    sub.connect()
    sub.subscribe("loop/#", 0)
    ctl.publish("loop/x", b"x", qos=1)
    for _ in range(9):  # the client's message and 8 republishes
        assert sub.expect().topic == "loop/x"
    _, m = ctl.until("result/loop")
    assert m.payload == b"err:loop_limit"
    sub.disconnect()


def test_bad_input_gets_typed_errors(services):
    b, ctl = services
    assert command(ctl, "publish", "a/+", "x") == "err:invalid_topic"
    assert command(ctl, "publish", "$SYS/x", "x") == "err:not_allowed"
    assert command(ctl, "publish", "big", "@5000") == "err:payload_too_large"
    assert command(ctl, "subscribe", "ctl", "a/#/b") == "err:invalid_filter"
    assert command(ctl, "kick", "nobody", 0x98) == "err:unknown_client"
    assert command(ctl, "kick", "ctl", 4) == "err:not_allowed"
    assert command(ctl, "session", "nobody") == "err:unknown_client"
    assert command(ctl, "authz", "nobody") == "err:unknown_client"
    # The broker keeps serving.
    assert command(ctl, "metrics") == "ok:1"
