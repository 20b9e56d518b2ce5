"""Every notification hook reaches a grpcio HookProvider server with its payload, in the
client's order (v3, v2 and v1 spellings)."""

import pytest

from harness import Client, PacketTypes, props
from test_exhook_support import NOTIFICATIONS_V1, NOTIFICATIONS_V3, exhook_stubs, exhook_toml, hook_servers  # noqa: F401

TAKEOVER_RPC = {"v1": "OnSessionTakeovered", "v2": "OnSessionTakenover", "v3": "OnSessionTakenover"}


def clientid(req):
    for key in ("clientinfo", "conninfo"):
        if key in req and req[key]:
            return req[key]["clientid"]
    return req.get("message", {}).get("from")


@pytest.mark.parametrize("version", ["v3", "v2", "v1"])
def test_every_notification_arrives_in_order_with_its_payload(broker_factory, hook_servers, version):
    names = NOTIFICATIONS_V1 if version == "v1" else NOTIFICATIONS_V3
    srv = hook_servers(version, hooks=[[n, []] for n in names])
    b = broker_factory(exhook_toml({"name": "n", "url": srv.url, "proto": version}))
    cid = f"notify-{version}"
    keep = props(PacketTypes.CONNECT, SessionExpiryInterval=60, UserProperty=[("k", "v")])

    c = Client(b, client_id=cid, protocol=5, username="alice", password="pw")
    c.connect(properties=keep)
    c.subscribe("$share/g/t/+", 1)
    c.subscribe("d/1", 1)
    c.publish("d/1", b"hi", qos=1)
    assert c.expect().payload == b"hi"
    # paho sends the PUBACK after handing the message over: wait for it to reach the broker so
    # the next publish cannot overtake it.
    srv.wait("OnMessageAcked", lambda r: r["clientinfo"]["clientid"] == cid)
    c.publish("nobody/here", b"x", qos=1)
    c.unsubscribe("d/1")
    again = Client(b, client_id=cid, protocol=5, username="alice", password="pw")
    again.connect(clean_start=False, properties=keep)
    # The second connection's client.connected is the last event of the scripted part.
    srv.wait_count("OnClientConnected", lambda r: r["clientinfo"]["clientid"] == cid, 2)

    takeover = TAKEOVER_RPC[version]
    expected = [
        "OnClientConnect", "OnSessionCreated", "OnClientConnack", "OnClientConnected",
        "OnClientSubscribe", "OnSessionSubscribed",
        "OnClientSubscribe", "OnSessionSubscribed",
        "OnMessageDelivered", "OnMessageAcked",
        "OnMessageDropped",
        "OnClientUnsubscribe", "OnSessionUnsubscribed",
        "OnClientConnect", "OnClientDisconnected", takeover, "OnSessionResumed", "OnClientConnack", "OnClientConnected",
    ]
    with srv.cond:
        seq = [(name, r) for name, r in srv.requests if clientid(r) == cid]
    assert [name for name, _ in seq][: len(expected)] == expected
    by = {}
    for name, r in seq:
        by.setdefault(name, []).append(r)

    conn = by["OnClientConnect"][0]
    ci = conn["conninfo"]
    assert (ci["username"], ci["peerhost"], ci["proto_name"], ci["proto_ver"]) == ("alice", "127.0.0.1", "MQTT", "5")
    assert ci["sockport"] == b.port
    prop = {p["name"]: p["value"] for p in conn["props"]}
    assert prop["Session-Expiry-Interval"] == "60"
    if version == "v3":
        assert ci["peerport"] > 0
        assert conn["user_props"] == [{"name": "k", "value": "v"}]
        assert "User-Property" not in prop
    else:
        assert prop["User-Property"] == '[{<<"k">>,<<"v">>}]'
        assert "user_props" not in conn
        assert ("peerport" in ci) == (version == "v2")
    assert by["OnClientConnack"][0]["result_code"] == "success"
    assert by["OnClientConnected"][0]["clientinfo"]["password"] == ""

    sub = by["OnClientSubscribe"][0]["topic_filters"][0]
    assert sub["name"] == "$share/g/t/+"
    ssub = by["OnSessionSubscribed"][0]
    assert ssub["topic"] == "$share/g/t/+" and ssub["subopts"]["qos"] == 1
    if version == "v3":
        assert sub["subopts"]["qos"] == 1
    else:
        assert sub["qos"] == 1 and ssub["subopts"]["share"] == "g"
        if version == "v2":
            assert sub["subopts"]["share"] == "g"

    for rpc in ("OnMessageDelivered", "OnMessageAcked"):
        m = by[rpc][0]["message"]
        assert (m["topic"], m["qos"], m["from"]) == ("d/1", 1, cid), rpc
        assert by[rpc][0]["clientinfo"]["clientid"] == cid
    assert by["OnMessageDelivered"][0]["message"]["id"] == by["OnMessageAcked"][0]["message"]["id"]
    dropped = by["OnMessageDropped"][0]
    assert (dropped["reason"], dropped["message"]["topic"]) == ("no_subscribers", "nobody/here")
    assert by["OnClientUnsubscribe"][0]["topic_filters"][0]["name"] == "d/1"
    assert by["OnSessionUnsubscribed"][0]["topic"] == "d/1"
    assert by["OnClientDisconnected"][0]["reason"] == "takenover"

    # A clean start discards the session; the end terminates the new one.
    mark = srv.mark()
    fresh = Client(b, client_id=cid, protocol=5)
    fresh.connect(clean_start=True)
    srv.wait("OnSessionDiscarded", lambda r: r["clientinfo"]["clientid"] == cid, since=mark)
    fresh.disconnect()
    srv.wait("OnClientDisconnected", lambda r: r["clientinfo"]["clientid"] == cid and r["reason"] == "normal", since=mark)
    term = srv.wait("OnSessionTerminated", lambda r: r["clientinfo"]["clientid"] == cid, since=mark)
    assert term["reason"]
