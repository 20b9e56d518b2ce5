"""The exact sequence and payload of hook events for scripted sessions of real paho clients
(MQTT 3.1.1 and 5.0), recorded by the native-hook example broker (`hook_recorder`), which prints
every event as a JSON line in the order the broker reached its hook point."""

import json
import os
import pathlib
import queue
import re
import signal
import subprocess
import threading

import pytest

from harness import ROOT, Client, PacketTypes, props

EXAMPLE = os.environ.get("HOOKMQ_RECORDER", str(pathlib.Path(os.environ.get("HOOKMQ_BIN", ROOT / "target/debug/hookmq")).parent / "examples" / "hook_recorder"))


class Recorder:
    def __init__(self):
        self.proc = subprocess.Popen([EXAMPLE, "127.0.0.1:0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.events = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        line = self.proc.stderr.readline()
        m = re.search(r"addr=\S+:(\d+)", line)
        assert m, line
        self.port = int(m.group(1))

    def _read(self):
        for line in self.proc.stdout:
            self.events.put(json.loads(line))

    def take(self, n, timeout=10):
        return [self.events.get(timeout=timeout) for _ in range(n)]

    def until(self, hook, clientid=None, timeout=10):
        """Events up to and including the first `hook` event (for `clientid`, if given)."""
        out = []
        while True:
            e = self.events.get(timeout=timeout)
            out.append(e)
            if e["hook"] == hook and (clientid is None or cid(e) == clientid):
                return out

    def stop(self):
        self.proc.send_signal(signal.SIGINT)
        self.proc.wait(10)


def cid(e):
    if "clientinfo" in e:
        return e["clientinfo"]["clientid"]
    if "clientid" in e:
        return e["clientid"]
    return e["message"]["from"]


@pytest.fixture
def recorder():
    r = Recorder()
    yield r
    r.stop()


class Port:
    def __init__(self, port):
        self.port = port


def names(events):
    return [e["hook"] for e in events]


@pytest.mark.parametrize("protocol", [4, 5])
def test_connect_subscribe_publish_deliver_ack_disconnect(recorder, protocol):
    c = Client(Port(recorder.port), client_id="seq", protocol=protocol, username="alice", password="pw")
    c.connect()
    c.subscribe("t/1", 1)
    c.publish("t/1", b"hello", qos=1)
    assert c.expect().payload == b"hello"
    c.disconnect()
    events = recorder.until("session.terminated", "seq")
    assert names(events) == [
        "client.connect",
        "client.authenticate",
        "session.created",
        "client.connack",
        "client.connected",
        "client.subscribe",
        "client.authorize",
        "session.subscribed",
        "client.authorize",
        "message.publish",
        "message.delivered",
        "message.acked",
        "client.disconnected",
        "session.terminated",
    ]
    by = {e["hook"]: e for e in events}
    auth = by["client.authenticate"]["clientinfo"]
    assert (auth["username"], auth["password"], auth["anonymous"]) == ("alice", "pw", True)
    assert by["client.connected"]["clientinfo"]["password"] is None
    assert by["client.connected"]["clientinfo"]["peerhost"] == "127.0.0.1"
    assert by["client.connack"]["result"] == "success"
    subs = [e for e in events if e["hook"] == "client.authorize"]
    assert [(e["action"], e["topic"]) for e in subs] == [("subscribe", "t/1"), ("publish", "t/1")]
    assert by["session.subscribed"]["filter"] == "t/1" and by["session.subscribed"]["is_new"] is True
    m = by["message.publish"]["message"]
    assert (m["topic"], m["payload"], m["qos"], m["from"]) == ("t/1", "hello", 1, "seq")
    assert len(m["id"]) == 32
    assert by["message.delivered"]["message"]["id"] == m["id"] == by["message.acked"]["message"]["id"]
    assert by["client.disconnected"]["reason"] == "normal"
    assert by["session.terminated"]["reason"] == "normal"


def test_takeover_and_resume(recorder):
    p = Port(recorder.port)
    old = Client(p, client_id="tk", protocol=5)
    old.connect(properties=props(PacketTypes.CONNECT, SessionExpiryInterval=60))
    recorder.until("client.connected", "tk")
    new = Client(p, client_id="tk", protocol=5)
    new.connect(clean_start=False, properties=props(PacketTypes.CONNECT, SessionExpiryInterval=60))
    events = recorder.until("client.connected", "tk")
    assert names(events) == [
        "client.connect",
        "client.authenticate",
        "client.disconnected",
        "session.takenover",
        "session.resumed",
        "client.connack",
        "client.connected",
    ]
    assert events[2]["reason"] == "takenover"


def test_will_retained_qos2_and_drops(recorder):
    p = Port(recorder.port)
    watcher = Client(p, client_id="watcher", protocol=5)
    watcher.connect()
    watcher.subscribe("will/#", 2)
    recorder.until("session.subscribed", "watcher")
    dying = Client(p, client_id="dying").will("will/x", b"bye", qos=2)
    dying.connect()
    recorder.until("client.connected", "dying")
    dying.drop()
    assert watcher.expect().payload == b"bye"
    events = recorder.until("message.acked", "watcher")
    seq = [(e["hook"], cid(e)) for e in events]
    assert ("client.disconnected", "dying") in seq
    i = seq.index(("client.disconnected", "dying"))
    assert seq[i:] == [
        ("client.disconnected", "dying"),
        ("session.terminated", "dying"),
        ("client.authorize", "dying"),
        ("message.publish", "dying"),
        ("message.delivered", "watcher"),
        ("message.acked", "watcher"),
    ]
    assert events[i]["reason"] == "closed"
    # Retained delivery on subscribe, and a drop for a topic nobody wants.
    pub = Client(p, client_id="pub")
    pub.connect()
    pub.publish("ret/a", b"kept", qos=1, retain=True)
    pub.publish("nobody/here", b"x", qos=1)
    dropped = recorder.until("message.dropped")
    assert dropped[-1]["reason"] in ("no_subscribers",) and dropped[-1]["message"]["topic"] in ("ret/a", "nobody/here")
    watcher.subscribe("ret/#", 1)
    events = recorder.until("message.delivered", "watcher")
    assert events[-1]["message"]["retain"] is True and events[-1]["message"]["payload"] == "kept"


def test_shared_subscription_authorizes_the_real_topic(recorder):
    c = Client(Port(recorder.port), client_id="sh", protocol=5)
    c.connect()
    c.subscribe("$share/grp/jobs/+", 1)
    events = recorder.until("session.subscribed", "sh")
    authz = [e for e in events if e["hook"] == "client.authorize"][0]
    assert authz["topic"] == "jobs/+"
    assert events[-1]["filter"] == "$share/grp/jobs/+"
