"""Keep alive: the broker may shorten an MQTT 5 client's keep alive by telling it (Server Keep
Alive in CONNACK, from `server_keepalive` or `max_keepalive`), but an MQTT 3.x client cannot be
told, so its own keep alive stands or it is refused; never silently raised."""

import time

from harness import Client, PacketTypes, props
from rawmqtt import Raw, connect_v4, connect_v5, parse_properties, s

SERVER_KEEP_ALIVE = 0x13


def test_server_keepalive_is_announced_to_mqtt5_clients(broker_factory):
    b = broker_factory("[mqtt]\nserver_keepalive = 60\n")
    c = Client(b, protocol=5, keepalive=5)
    _, rc, p = c.connect()
    assert rc == 0 and p.ServerKeepAlive == 60


def test_server_keepalive_leaves_a_v311_clients_shorter_keepalive_alone(broker_factory):
    """A 3.1.1 client asking for 2 s is closed after 1.5 × 2 s of silence and its will sent,
    whatever `server_keepalive` says (it used to replace the client's 2 s by 60 s)."""
    b = broker_factory("[mqtt]\nserver_keepalive = 60\n")
    watcher = Client(b)
    watcher.connect()
    watcher.subscribe("ka/will", 1)
    silent = Raw(b.port)
    silent.send(connect_v4("ka-silent", flags=0x02 | 0x04 | 0x08, keepalive=2, will=s("ka/will") + s("gone")))
    silent.expect(0x20)
    t0 = time.monotonic()
    m = watcher.expect(timeout=20)
    assert (m.topic, m.payload) == ("ka/will", b"gone")
    assert time.monotonic() - t0 >= 2.9, "closed before 1.5 × the client's keep alive"
    assert silent.expect_closed() == []


def test_v311_keepalive_above_the_limit_is_refused(broker_factory):
    """A 3.x client cannot be given a shorter keep alive: above `server_keepalive` or
    `max_keepalive` (or 0, none at all) it is refused with return code 2, as Mosquitto does."""
    b = broker_factory("[mqtt]\nserver_keepalive = 60\nmax_keepalive = 100\n")
    for keepalive in (61, 0):
        r = Raw(b.port)
        r.send(connect_v4("ka-long", keepalive=keepalive))
        assert r.expect_closed() == [(0x20, b"\x00\x02")], keepalive
    ok = Raw(b.port)
    ok.send(connect_v4("ka-ok", keepalive=60))
    assert ok.expect(0x20) == b"\x00\x00"


def test_max_keepalive_sets_server_keep_alive_for_longer_or_no_keepalive(broker_factory):
    b = broker_factory("[mqtt]\nmax_keepalive = 100\n")
    long = Client(b, protocol=5, keepalive=300)
    _, rc, p = long.connect()
    assert rc == 0 and p.ServerKeepAlive == 100
    short = Client(b, protocol=5, keepalive=30)
    _, rc, p = short.connect()
    assert rc == 0 and not hasattr(p, "ServerKeepAlive")
    v3 = Client(b, protocol=4, keepalive=100)
    _, rc, _ = v3.connect()
    assert rc == 0


def test_max_keepalive_is_enforced_on_a_client_that_asked_for_none(broker_factory):
    """An MQTT 5 client asking for keep alive 0 is told 1 s and closed with 0x8D when silent."""
    b = broker_factory("[mqtt]\nmax_keepalive = 1\n")
    r = Raw(b.port)
    r.send(connect_v5("ka-none", keepalive=0))
    body = r.expect(0x20)
    assert body[1] == 0
    p, _ = parse_properties(body[2:])
    assert p[SERVER_KEEP_ALIVE] == [1]
    seen = r.expect_closed()
    assert [body[0] for f, body in seen if f == 0xE0] == [0x8D]

