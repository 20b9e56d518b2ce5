"""Two grpcio HookProvider servers folding the valued hooks in configured order: CONTINUE
replaces the value and goes on, IGNORE keeps it, STOP_AND_RETURN ends the chain; each server sees
the value so far."""

import base64

from harness import Client, barrier
from test_exhook_support import exhook_stubs, exhook_toml, hook_servers, rc_value  # noqa: F401

HOOKS = [["client.authenticate", []], ["client.authorize", []], ["message.publish", []]]


def test_two_servers_fold_in_order(broker_factory, hook_servers):
    a = hook_servers(
        "v3",
        hooks=HOOKS,
        auth_rules=[["bob", "CONTINUE", False], ["eve", "CONTINUE", False]],
        acl=[
            ["s1/", "STOP_AND_RETURN", True],
            ["s2/", "CONTINUE", False],
            ["s3/", "CONTINUE", False],
        ],
        publish=[
            ["p/", {"type": "CONTINUE", "suffix": "-A"}],
            ["ps/", {"type": "STOP_AND_RETURN", "suffix": "-A"}],
        ],
    )
    b = hook_servers(
        "v3",
        hooks=HOOKS,
        auth_rules=[["bob", "CONTINUE", True]],
        acl=[
            ["s1/", "STOP_AND_RETURN", False],
            ["s3/", "CONTINUE", True],
            ["s4/", "STOP_AND_RETURN", False],
        ],
        publish=[
            ["p/", {"type": "CONTINUE", "suffix": "-B"}],
            ["ps/", {"type": "CONTINUE", "suffix": "-B"}],
            ["pi/", {"type": "STOP_AND_RETURN", "suffix": "-B"}],
        ],
    )
    broker = broker_factory(exhook_toml({"name": "a", "url": a.url}, {"name": "b", "url": b.url}))

    # client.authenticate: A says false and continues, B says true: the last value wins.
    bob = Client(broker, username="bob", password="x")
    assert rc_value(bob.connect()[1]) == 0
    req = b.wait("OnClientAuthenticate", lambda r: r["clientinfo"]["username"] == "bob")
    assert req["result"] is False  # B sees A's value
    # A continues with false, B ignores: refused.
    assert rc_value(Client(broker, username="eve", password="x").connect()[1]) in (5, 0x87)

    c = Client(broker, protocol=5, username="bob", password="x")
    c.connect()
    suback = lambda topic: [rc_value(r) for r in c.subscribe(topic, 1)]  # noqa: E731
    # A stops with true: B is not asked.
    assert suback("s1/x") == [1]
    assert [r for r in b.calls("OnClientAuthorize") if r["topic"] == "s1/x"] == []
    # A continues with false, B ignores: denied.
    assert suback("s2/x") == [0x87]
    assert b.wait("OnClientAuthorize", lambda r: r["topic"] == "s2/x")["result"] is False
    # A continues with false, B continues with true: allowed.
    assert suback("s3/x") == [1]
    # A ignores, B stops with false: denied; B saw the broker's default (allow).
    assert suback("s4/x") == [0x87]
    assert b.wait("OnClientAuthorize", lambda r: r["topic"] == "s4/x")["result"] is True

    # message.publish
    for t in ("p/#", "ps/#", "pi/#", "barrier/x"):
        c.subscribe(t, 1)
    pub = Client(broker, username="bob", password="x")
    pub.connect()
    pub.publish("p/1", b"x", qos=1)
    pub.publish("ps/1", b"x", qos=1)
    pub.publish("pi/1", b"x", qos=1)
    got = [(m.topic, m.payload) for m in barrier(pub, c)]
    assert got == [("p/1", b"x-A-B"), ("ps/1", b"x-A"), ("pi/1", b"x-B")]
    seen_by_b = {r["message"]["topic"]: base64.b64decode(r["message"]["payload"]) for r in b.calls("OnMessagePublish")}
    assert seen_by_b["p/1"] == b"x-A"  # B works on A's rewrite
    assert "ps/1" not in seen_by_b  # A stopped
    assert seen_by_b["pi/1"] == b"x"  # A ignored
