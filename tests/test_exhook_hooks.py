"""gRPC exhook against real grpcio HookProvider servers (generated from the project's protos for
v3, v2 and v1) and real paho clients: authentication, authorization, message rewrite and drop,
topic-filtered message hooks."""

import base64

import pytest

from harness import Client, barrier
from test_exhook_support import AUTHZ, AUTHZ_RPC, exhook_stubs, exhook_toml, hook_servers, loaded, rc_value  # noqa: F401

VERSIONS = ["v3", "v2", "v1"]


def start_broker(broker_factory, *servers, extra=""):
    return broker_factory(exhook_toml(*servers) + extra)


@pytest.mark.parametrize("version", VERSIONS)
def test_authenticate_allow_and_deny(broker_factory, hook_servers, version):
    srv = hook_servers(version, hooks=[["client.authenticate", []]], users={"alice": "pw"})
    # proto = "auto" (the default): v3 is tried first; v2 / v1 servers answer UNIMPLEMENTED.
    b = start_broker(broker_factory, {"name": "auth", "url": srv.url})
    assert f"proto={version}" in loaded(b, "auth")
    assert len(srv.calls("OnProviderLoaded")) == 1
    ok = Client(b, username="alice", password="pw")
    assert rc_value(ok.connect()[1]) == 0
    req = srv.wait("OnClientAuthenticate", lambda r: r["clientinfo"]["clientid"] == ok.client_id)
    ci = req["clientinfo"]
    assert (ci["username"], ci["password"], ci["peerhost"], ci["protocol"]) == ("alice", "pw", "127.0.0.1", "mqtt")
    assert req["result"] is True  # no other handler: the broker's own default lets clients in
    assert req["meta"]["node"] == "hookmq@127.0.0.1"
    for user, password in [("alice", "wrong"), ("mallory", "pw")]:
        c = Client(b, username=user, password=password)
        assert rc_value(c.connect()[1]) in (5, 0x87), user
    v5 = Client(b, protocol=5, username="alice", password="nope")
    assert rc_value(v5.connect()[1]) == 0x87
    # The server saw only the hooks it asked for.
    assert srv.calls("OnClientConnect") == [] and srv.calls("OnClientConnected") == []


@pytest.mark.parametrize("version", VERSIONS)
def test_authorize_publish_and_subscribe_per_topic(broker_factory, hook_servers, version):
    srv = hook_servers(
        version,
        hooks=[[AUTHZ[version], []]],
        acl=[["ok/", "STOP_AND_RETURN", True], ["no/", "STOP_AND_RETURN", False]],
    )
    b = start_broker(broker_factory, {"name": "acl", "url": srv.url, "proto": version})
    sub = Client(b, protocol=5)
    sub.connect()
    assert [rc_value(r) for r in sub.subscribe("ok/#", 1)] == [1]
    assert [rc_value(r) for r in sub.subscribe("no/#", 1)] == [0x87]
    sub.subscribe("barrier/x", 1)  # not decided by the server (IGNORE): the broker's default allows
    kinds = {r["topic"]: r["type"] for r in srv.calls(AUTHZ_RPC[version])}
    assert kinds["ok/#"] == "SUBSCRIBE" and kinds["no/#"] == "SUBSCRIBE"

    pub = Client(b, protocol=5)
    pub.connect()
    assert rc_value(pub.publish("ok/1", b"yes", qos=1)) == 0
    assert rc_value(pub.publish("no/1", b"no", qos=1)) == 0x87
    before = barrier(pub, sub)
    assert [(m.topic, m.payload) for m in before] == [("ok/1", b"yes")]
    req = srv.wait(AUTHZ_RPC[version], lambda r: r["topic"] == "no/1")
    assert req["type"] == "PUBLISH" and req["clientinfo"]["clientid"] == pub.client_id


@pytest.mark.parametrize("version", VERSIONS)
def test_message_rewrite_drop_and_topic_filters(broker_factory, hook_servers, version):
    srv = hook_servers(
        version,
        hooks=[["message.publish", ["r/#", "drop/#", "move/+"]]],
        publish=[
            ["r/", {"type": "STOP_AND_RETURN", "suffix": "-rewritten", "qos": 0}],
            ["drop/", {"drop": True}],
            ["move/", {"topic": "moved/here"}],
        ],
    )
    b = start_broker(broker_factory, {"name": "pub", "url": srv.url, "proto": version})
    sub = Client(b)
    sub.connect()
    for t in ("r/#", "drop/#", "moved/#", "move/#", "other/#", "barrier/x"):
        sub.subscribe(t, 1)
    pub = Client(b, username="alice", password="x")
    pub.connect()
    pub.publish("r/1", b"hello", qos=1)
    pub.publish("drop/1", b"gone", qos=1)
    pub.publish("move/1", b"m", qos=1)
    pub.publish("other/1", b"untouched", qos=1)
    got = [(m.topic, m.payload, m.qos) for m in barrier(pub, sub)]
    assert got == [("r/1", b"hello-rewritten", 0), ("moved/here", b"m", 1), ("other/1", b"untouched", 1)]
    # Topic filters: the server was asked about its three topics only (not other/1, not the barrier).
    # The server process records a request as it answers it: wait for the last one to be recorded.
    srv.wait("OnMessagePublish", lambda r: r["message"]["topic"] == "move/1")
    asked = [r["message"]["topic"] for r in srv.calls("OnMessagePublish")]
    assert asked == ["r/1", "drop/1", "move/1"]
    m = srv.calls("OnMessagePublish")[0]["message"]
    assert base64.b64decode(m["payload"]) == b"hello" and m["qos"] == 1 and m["from"] == pub.client_id
    assert len(m["id"]) == 32 and int(m["timestamp"]) > 1_600_000_000_000
    assert m["headers"] == {"username": "alice", "protocol": "mqtt", "peerhost": "127.0.0.1"}
