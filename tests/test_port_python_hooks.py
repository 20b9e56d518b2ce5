"""Every one of the 19 hooks reaches a hooks.py written with the real `emqx-extension-sdk` (one
`on_*` method each), with the values a hook author expects: client id, user name, password
(authenticate only), peerhost, topic, payload, QoS, reasons, subscription options, MQTT 5
properties. Then message rewrite and drop from Python, asserted at a subscriber."""

import time

from harness import Client, PacketTypes, barrier, props
from test_port_support import Events, cid, driver_toml, start, wait_driver

RECORDER = '''
import json
from emqx_extension.hooks import EmqxHookSdk, hooks_handler
from emqx_extension.types import EMQXBase


def plain(value):
    if isinstance(value, EMQXBase):
        return {k: plain(v) for k, v in vars(value).items()}
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def record(hook, *args):
    with open("events.jsonl", "a") as f:
        f.write(json.dumps({"hook": hook, "args": [plain(a) for a in args]}) + "\\n")


class Recorder(EmqxHookSdk):
'''
HOOK_NAMES = [
    ("client_connect", "conninfo, props"),
    ("client_connack", "conninfo, rc, props"),
    ("client_connected", "clientinfo"),
    ("client_disconnected", "clientinfo, reason"),
    ("client_authenticate", "clientinfo, authresult"),
    ("client_check_acl", "clientinfo, pubsub, topic, result"),
    ("client_subscribe", "clientinfo, props, topics"),
    ("client_unsubscribe", "clientinfo, props, topics"),
    ("session_created", "clientinfo"),
    ("session_subscribed", "clientinfo, topic, opts"),
    ("session_unsubscribed", "clientinfo, topic"),
    ("session_resumed", "clientinfo"),
    ("session_discarded", "clientinfo"),
    ("session_takeovered", "clientinfo"),
    ("session_terminated", "clientinfo, reason"),
    ("message_publish", "message"),
    ("message_delivered", "clientinfo, message"),
    ("message_acked", "clientinfo, message"),
    ("message_dropped", "message, reason"),
]
for _name, _params in HOOK_NAMES:
    RECORDER += (f"    @hooks_handler()\n    def on_{_name}(self, {_params}, state):\n"
                 f"        record('{_name}', {_params})\n\n")
RECORDER += '''
emqx_hook = Recorder(hook_module=f"{__name__}.emqx_hook")


def init():
    return emqx_hook.start()


def deinit():
    return
'''


def test_all_19_hooks_reach_the_sdk_with_the_right_values(broker_factory, tmp_path):
    b = start(broker_factory, tmp_path, files={"ext/recorder.py": RECORDER},
              config=driver_toml("python3", path="ext", init_module="recorder"))
    d = wait_driver(b)
    assert len(d["hooks"]) == 19
    ev = Events(tmp_path / "events.jsonl")

    c1 = Client(b, client_id="rec-1", protocol=5, username="alice", password="pw")
    c1.connect(properties=props(PacketTypes.CONNECT, SessionExpiryInterval=30))
    conninfo, cprops = ev.wait("client_connect", cid("rec-1"))
    assert conninfo == {"node": "hookmq@127.0.0.1", "clientid": "rec-1", "username": "alice",
                        "peerhost": "127.0.0.1", "sockport": b.port, "proto_name": "MQTT",
                        "proto_ver": 5, "keepalive": 60}
    assert cprops == {"Session-Expiry-Interval": 30}
    clientinfo, authresult = ev.wait("client_authenticate", cid("rec-1"))
    assert clientinfo == {"node": "hookmq@127.0.0.1", "clientid": "rec-1", "username": "alice",
                          "password": "pw", "peerhost": "127.0.0.1", "sockport": b.port,
                          "protocol": "mqtt", "mountpoint": "", "is_superuser": False,
                          "anonymous": True}
    assert authresult is True
    ev.wait("session_created", cid("rec-1"))
    conninfo, rc, _ = ev.wait("client_connack", cid("rec-1"))
    assert rc == "success"
    (clientinfo,) = ev.wait("client_connected", cid("rec-1"))
    assert clientinfo["password"] == "" and clientinfo["username"] == "alice"

    c1.subscribe("rec/#", 1)
    _, _, topics = ev.wait("client_subscribe", cid("rec-1"))
    assert topics == {"rec/#": 1}
    assert ev.wait("client_check_acl", lambda a: a[1] == "subscribe")[2:] == ["rec/#", True]
    _, topic, opts = ev.wait("session_subscribed", cid("rec-1"))
    assert topic == "rec/#"
    assert opts == {"is_new": True, "nl": 0, "qos": 1, "rap": 0, "rh": 0}

    c2 = Client(b, client_id="rec-2", username="bob")
    c2.connect()
    c2.publish("rec/1", b"hello", qos=1)
    assert c1.expect().payload == b"hello"
    assert ev.wait("client_check_acl", lambda a: a[1] == "publish")[0]["clientid"] == "rec-2"
    (message,) = ev.wait("message_publish")
    assert {k: message[k] for k in ("node", "qos", "from_clientid", "topic", "payload")} == {
        "node": "hookmq@127.0.0.1", "qos": 1, "from_clientid": "rec-2", "topic": "rec/1", "payload": "hello"}
    assert len(message["id"]) == 32 and message["id"] == message["id"].upper()
    assert abs(message["timestamp"] - time.time() * 1000) < 60_000
    clientinfo, delivered = ev.wait("message_delivered")
    assert clientinfo["clientid"] == "rec-1" and delivered["id"] == message["id"]
    clientinfo, acked = ev.wait("message_acked")
    assert clientinfo["clientid"] == "rec-1" and acked["payload"] == "hello"

    c2.publish("nobody/here", b"lost", qos=0)
    dropped, reason = ev.wait("message_dropped")
    assert (dropped["topic"], dropped["payload"], reason) == ("nobody/here", "lost", "no_subscribers")

    c1.unsubscribe("rec/#")
    assert ev.wait("client_unsubscribe", cid("rec-1"))[2] == {"rec/#": 0}
    assert ev.wait("session_unsubscribed", cid("rec-1"))[1] == "rec/#"

    c2.disconnect()
    assert ev.wait("client_disconnected", cid("rec-2"))[1] == "normal"
    assert ev.wait("session_terminated", cid("rec-2"))[1] != ""

    c3 = Client(b, client_id="rec-3", clean=False)
    c3.connect()
    c3.disconnect()
    c3 = Client(b, client_id="rec-3", clean=False)
    assert c3.connect()[0] is True
    ev.wait("session_resumed", cid("rec-3"))
    c3.disconnect()
    c3 = Client(b, client_id="rec-3", clean=True)
    c3.connect()
    ev.wait("session_discarded", cid("rec-3"))

    expiry = props(PacketTypes.CONNECT, SessionExpiryInterval=60)
    c4 = Client(b, client_id="rec-4", protocol=5)
    c4.c.reconnect_delay_set(60, 60)  # the taken-over client must not take the session back
    c4.connect(properties=expiry)
    c4b = Client(b, client_id="rec-4", protocol=5)
    c4b.connect(clean_start=False, properties=expiry)
    ev.wait("session_takeovered", cid("rec-4"))
    assert ev.wait("client_disconnected", cid("rec-4"))[1] == "takenover"
    seen = {e["hook"] for e in ev.all()}
    assert seen == {name for name, _ in HOOK_NAMES}
    c4.c.loop_stop()
    for c in (c1, c3, c4b):
        c.disconnect()


REWRITER = '''
from emqx_extension.hooks import EmqxHookSdk, hooks_handler
from erlport.erlterms import Atom


class Rewriter(EmqxHookSdk):
    @hooks_handler()
    def on_message_publish(self, message, state):
        if message.topic.startswith("rw/"):
            return (0, [(Atom(b"topic"), ("out/" + message.topic[3:]).encode()),
                        (Atom(b"payload"), message.payload.upper().encode()),
                        (Atom(b"qos"), 0)])
        if message.topic.startswith("drop/"):
            return False  # the SDK sends (0, False): hookmq drops the message
        if message.topic.startswith("bad/"):
            return (0, [(Atom(b"topic"), b"bad/#")])  # not a topic name: a failed call
        return None


emqx_hook = Rewriter(hook_module=f"{__name__}.emqx_hook")


def init():
    return emqx_hook.start()
'''


def test_python_rewrites_and_drops_messages(broker_factory, tmp_path):
    b = start(broker_factory, tmp_path, files={"ext/rewriter.py": REWRITER},
              config=driver_toml("python3", path="ext", init_module="rewriter"))
    wait_driver(b)
    sub = Client(b, client_id="rw-sub", protocol=5)
    sub.connect()
    sub.subscribe("#", 2)
    pub = Client(b, client_id="rw-pub")
    pub.connect()
    pub.publish("rw/a", b"hello", qos=1)
    pub.publish("drop/a", b"gone", qos=1)
    pub.publish("bad/a", b"as is", qos=1)
    pub.publish("plain/a", b"untouched", qos=2)
    got = barrier(pub, sub, "sync/barrier", qos=2)
    assert [(m.topic, m.payload, m.qos) for m in got] == [
        ("out/a", b"HELLO", 0), ("bad/a", b"as is", 1), ("plain/a", b"untouched", 2)]
    b.wait_log(r"hook failed.*not a valid topic name")
    sub.disconnect()
    pub.disconnect()
