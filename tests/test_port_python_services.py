"""Broker services from Python port hooks (docs/services.md), with real paho clients and the real
Python runtime: every service through the `hookmq` module, erlport's own `erlang.call`, services
called from inside a hook for the very client it handles (no deadlock: every wait is bounded),
the hop limit of a hook that republishes what it sees, and bad input answered with typed errors.

The hooks.py below runs commands: a message on `cmd/<service>` with a JSON body
`{"args": [...], "kwargs": {...}, "tag": ...}` calls `hookmq.<service>(...)` from the
`message_publish` hook and publishes the result (or the error code) to `result/<tag>`. Each test
runs in hookmq's batched mode and in one-call-per-frame mode."""

import json
import queue
import time

import pytest

from harness import Client
from test_port_support import driver_toml, start, wait_driver, wait_for

HOOKS = r'''
import json
import hookmq
from erlport import erlang
from erlport.erlterms import Atom
from hookmq_port import hook, specs


def plain(value):
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def run(name, body):
    args = list(body.get("args", []))
    if "size" in body:
        args.append(b"x" * body["size"])
    try:
        if "raw" in body:  # erlport's own way: erlang.call(Module, Function, Args)
            value = erlang.call(Atom(b"hookmq"), Atom(body["raw"].encode()), args)
        else:
            value = getattr(hookmq, name)(*args, **body.get("kwargs", {}))
        return {"ok": plain(value)}
    except hookmq.ServiceError as e:
        return {"error": e.code, "message": e.message}
    except erlang.ErlangError as e:
        return {"error": plain(e.type), "message": plain(e.value), "raw": True}


def record(name, line):
    with open(name, "a") as f:
        f.write(line + "\n")


@hook("message_publish", topics=["cmd/#", "self/#", "loop/#"])
def on_publish(message, state):
    m = dict(message)
    topic = m[b"topic"].decode()
    sender = m[b"from"].decode()
    if topic.startswith("cmd/"):
        body = json.loads(m[b"payload"])
        result = run(topic[4:], body)
        hookmq.publish("result/" + body.get("tag", topic[4:]), json.dumps(result), qos=1)
    elif topic == "self/kick":
        # The publisher's own connection waits for this very hook.
        hookmq.kick(sender, 0x89)
    elif topic.startswith("loop/"):
        record("loop.log", "seen")
        try:
            hookmq.publish(topic, m[b"payload"], through_hooks=True)
        except hookmq.ServiceError as e:
            record("loop.log", e.code)
    return None


@hook("client_connected")
def on_connected(clientinfo, state):
    cid = dict(clientinfo)[b"clientid"].decode()
    if cid.startswith("auto-"):
        # Subscribes the client whose client.connected is running.
        granted = hookmq.subscribe(cid, "inbox/" + cid, qos=1)
        hookmq.publish("result/auto/" + cid, json.dumps({"ok": granted}), qos=1)


@hook("client_check_acl")
def on_acl(clientinfo, pubsub, topic, result, state):
    record("acl.log", dict(clientinfo)[b"clientid"].decode())
    return (0, True)


def init():
    return specs(__name__)
'''


@pytest.fixture(params=[True, False], ids=["batched", "single"])
def batch(request):
    """Every test runs with hookmq's batched mode and with one call per frame."""
    return request.param


def setup(broker_factory, tmp_path, batch):
    b = start(broker_factory, tmp_path, files={"ext/svc_hooks.py": HOOKS},
              config='[mqtt]\nmax_packet_size = "4KB"\n'
              + driver_toml("python3", path="ext", init_module="svc_hooks", batch=batch))
    assert wait_driver(b)["workers"][0]["protocol"] == ("batched" if batch else "single")
    ctl = Client(b, client_id="ctl", protocol=5)
    ctl.connect()
    ctl.subscribe("result/#", 1)
    return b, ctl


def command(ctl, service, *args, tag=None, **extra):
    tag = tag or f"{service}-{time.monotonic_ns()}"
    body = {"args": list(args), "tag": tag, **extra}
    ctl.publish(f"cmd/{service}", json.dumps(body).encode(), qos=1)
    _, m = ctl.until(f"result/{tag}")
    return json.loads(m.payload)


def ok(result):
    assert "ok" in result, result
    return result["ok"]


def acl_calls(tmp_path, clientid):
    path = tmp_path / "acl.log"
    return path.read_text().split().count(clientid) if path.exists() else 0


def test_every_service_from_the_hookmq_module(broker_factory, tmp_path, batch):
    b, ctl = setup(broker_factory, tmp_path, batch)

    # subscribe on behalf, from inside the client's own client.connected
    auto = Client(b, client_id="auto-1", protocol=5)
    auto.connect()
    _, m = ctl.until("result/auto/auto-1")
    assert json.loads(m.payload) == {"ok": 1}
    # publish (direct) reaches the subscriber the hook made
    receipt = ok(command(ctl, "publish", "inbox/auto-1", "hello", kwargs={"qos": 1}))
    assert receipt["receivers"] == 1 and len(receipt["id"]) == 32
    got = auto.expect()
    assert (got.topic, got.payload, got.qos) == ("inbox/auto-1", b"hello", 1)

    # session() and client() values
    s = ok(command(ctl, "session", "auto-1"))
    assert s["connected"] is True and s["queue_len"] == 0 and s["inflight"] == 0
    assert s["subscriptions"] == [{"filter": "inbox/auto-1", "qos": 1, "no_local": False,
                                   "retain_as_published": False, "retain_handling": 0}]
    c = ok(command(ctl, "client", "auto-1"))
    assert c["clientid"] == "auto-1" and c["connected"] is True and c["proto_ver"] == 5
    assert c["peer"].startswith("127.0.0.1:")
    page = ok(command(ctl, "clients", kwargs={"clientid_prefix": "auto-"}))
    assert page["total"] == 1 and [x["clientid"] for x in page["clients"]] == ["auto-1"]
    assert ok(command(ctl, "metrics"))["connections"] == 2

    # unsubscribe on behalf: nothing more arrives
    assert ok(command(ctl, "unsubscribe", "auto-1", "inbox/auto-1")) is True
    assert ok(command(ctl, "unsubscribe", "auto-1", "inbox/auto-1")) is False
    assert ok(command(ctl, "publish", "inbox/auto-1", "gone"))["receivers"] == 0

    # retained set / get / delete, seen by new subscribers
    assert ok(command(ctl, "retained_set", "state/lamp", "on", kwargs={"qos": 1})) is None
    r = ok(command(ctl, "retained_get", "state/lamp"))
    assert (r["topic"], r["payload"], r["qos"], r["retain"]) == ("state/lamp", "on", 1, True)
    reader = Client(b, client_id="reader", protocol=5)
    reader.connect()
    reader.subscribe("state/#", 1)
    m = reader.expect()
    assert (m.topic, m.payload, m.retain) == ("state/lamp", b"on", True)
    assert ok(command(ctl, "retained_delete", "state/lamp")) is True
    assert ok(command(ctl, "retained_get", "state/lamp")) is None
    late = Client(b, client_id="late", protocol=5)
    late.connect()
    late.subscribe("state/#", 1)
    with_barrier = Client(b, client_id="barrier", protocol=5)
    with_barrier.connect()
    late.subscribe("barrier/x", 1)
    with_barrier.publish("barrier/x", b"b", qos=1)
    before, _ = late.until("barrier/x")
    assert before == []

    # kick with a reason, seen by a paho v5 client
    victim = Client(b, client_id="victim", protocol=5)
    victim.connect()
    assert ok(command(ctl, "kick", "victim", 0x9C)) is None
    assert victim.expect_disconnect().value == 0x9C
    for cl in (auto, reader, late, with_barrier):
        cl.disconnect()


def test_authz_cache_invalidation_makes_the_next_publish_reauthorize(broker_factory, tmp_path, batch):
    b, ctl = setup(broker_factory, tmp_path, batch)
    pub = Client(b, client_id="az", protocol=5)
    pub.connect()
    for _ in range(3):
        pub.publish("t/1", b"x", qos=1)
    assert acl_calls(tmp_path, "az") == 1  # cached after the first check
    assert ok(command(ctl, "authz_cache_invalidate", "az")) == 1
    pub.publish("t/1", b"x", qos=1)
    assert acl_calls(tmp_path, "az") == 2
    assert ok(command(ctl, "authz_cache_invalidate")) >= 2  # every session
    pub.publish("t/1", b"x", qos=1)
    assert acl_calls(tmp_path, "az") == 3
    pub.disconnect()


def test_services_for_the_hooks_own_client_do_not_deadlock(broker_factory, tmp_path, batch):
    b, ctl = setup(broker_factory, tmp_path, batch)
    selfish = Client(b, client_id="selfish", protocol=5)
    selfish.connect()
    selfish.publish("self/kick", b"x", qos=1, wait=False)
    assert selfish.expect_disconnect(timeout=10).value == 0x89
    # The hook process and the broker go on serving.
    assert ok(command(ctl, "metrics"))["connections"] >= 1


def test_a_republishing_hook_stops_at_the_hop_limit(broker_factory, tmp_path, batch):
    b, ctl = setup(broker_factory, tmp_path, batch)
    sub = Client(b, client_id="loop-sub", protocol=5)
    sub.connect()
    sub.subscribe("loop/#", 0)
    ctl.publish("loop/x", b"x", qos=1)
    for _ in range(9):  # the client's message and 8 republishes
        assert sub.expect().topic == "loop/x"
    log = tmp_path / "loop.log"
    wait_for(lambda: log.exists() and "loop_limit" in log.read_text().split())
    assert log.read_text().split().count("seen") == 9
    try:
        extra = sub.messages.get(timeout=0.5)
    except queue.Empty:
        extra = None
    assert extra is None


def test_bad_input_gets_typed_errors_and_no_client_sees_it(broker_factory, tmp_path, batch):
    b, ctl = setup(broker_factory, tmp_path, batch)
    watcher = Client(b, client_id="watcher", protocol=5)
    watcher.connect()
    watcher.subscribe("#", 0)
    assert command(ctl, "publish", "a/+", "x")["error"] == "invalid_topic"
    assert command(ctl, "publish", "", "x")["error"] == "invalid_topic"
    assert command(ctl, "publish", "$SYS/x", "x")["error"] == "not_allowed"
    assert command(ctl, "publish", "big", size=5000)["error"] == "payload_too_large"
    assert command(ctl, "subscribe", "watcher", "a/#/b")["error"] == "invalid_filter"
    assert command(ctl, "kick", "nobody")["error"] == "unknown_client"
    assert command(ctl, "kick", "watcher", 0x04)["error"] == "not_allowed"
    assert command(ctl, "session", "nobody")["error"] == "unknown_client"
    assert command(ctl, "retained_set", "$SYS/x", "x")["error"] == "not_allowed"
    # erlport's own erlang.call, with a service that does not exist or wrong argument types
    r = command(ctl, "x", raw="launch_rockets")
    assert (r["error"], r["raw"]) == ("unknown_service", True)
    assert command(ctl, "x", 1, 2, raw="publish")["error"] == "bad_argument"
    assert command(ctl, "x", "t", "p", "not-options", raw="publish")["error"] == "bad_argument"
    assert command(ctl, "kick", "watcher", "loud")["error"] == "bad_argument"
    # Only the commands and their results were published; the broker keeps serving.
    seen = set()
    while True:
        try:
            seen.add(watcher.messages.get(timeout=0.3).topic.split("/")[0])
        except queue.Empty:
            break
    assert seen <= {"cmd", "result"}
    assert ok(command(ctl, "publish", "after/x", "fine"))["receivers"] == 1
    watcher.disconnect()
