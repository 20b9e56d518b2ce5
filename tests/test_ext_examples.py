"""The extension SDK examples (sdk/python/examples, sdk/rust/examples: the seed's four use cases
plus rewrite / drop) served as real gRPC servers and loaded by the broker from
`[[ext.servers]]`, enforcing their decisions on real paho clients. Each test runs once per SDK;
both SDKs' examples take the same command-line arguments."""

import json
import sqlite3
import time

import pytest

from ext_support import ExtProcess, example_cmd, ext_loaded, ext_toml
from harness import Client, barrier


@pytest.fixture(params=["python", "rust"])
def sdk(request):
    return request.param


@pytest.fixture
def extension(sdk):
    """Starts example processes of the current SDK; stops them after the test."""
    started = []

    def start(name, *args):
        p = ExtProcess(example_cmd(sdk, name, *args)).start()
        started.append(p)
        return p

    yield start
    for p in started:
        p.stop()


def rc(r):
    return getattr(r, "value", r)


def poll(read, want, timeout=15.0):
    """Reads until `read()` gives `want` (observe-only handlers write asynchronously)."""
    deadline = time.monotonic() + timeout
    while True:
        got = read()
        if got == want or time.monotonic() > deadline:
            return got
        time.sleep(0.05)


def test_login_checked_against_sqlite(broker_factory, extension, sdk, tmp_path):
    db = tmp_path / "users.db"
    import subprocess
    subprocess.run(example_cmd(sdk, "login_sqlite", "--db", str(db), "--add", "alice:secret",
                               "--add", "root:pw:super"), check=True, timeout=60)
    ext = extension("login_sqlite", "--db", str(db), "--listen", "127.0.0.1:0")
    b = broker_factory("[mqtt]\nallow_anonymous = false\n" + ext_toml({"name": "login", "url": ext.url}))
    ext_loaded(b, "login")

    def login(user, password, protocol=5):
        c = Client(b, protocol=protocol, username=user, password=password)
        code = rc(c.connect()[1])
        if code == 0:
            c.disconnect()
        return code

    assert login("alice", "secret") == 0
    assert login("root", "pw") == 0
    assert login("alice", "wrong") == 0x86
    # paho reports the 3.1.1 return code 4 as its MQTT 5 equivalent.
    assert login("alice", "wrong", protocol=4) in (4, 0x86)
    # Not in the database: the extension has no opinion and allow_anonymous = false refuses.
    assert login("mallory", "x") == 0x87


def test_acl_per_client_and_topic(broker_factory, extension):
    ext = extension("acl", "--listen", "127.0.0.1:0")
    b = broker_factory('[authorization]\nno_match = "deny"\n[authorization.cache]\nenable = false\n'
                       + ext_toml({"name": "acl", "url": ext.url}))
    ext_loaded(b, "acl")
    bob = Client(b, protocol=5, username="bob", password="x")
    bob.connect()
    assert [rc(r) for r in bob.subscribe("users/bob/#", 1)] == [1]
    assert [rc(r) for r in bob.subscribe("public/news", 1)] == [1]
    assert [rc(r) for r in bob.subscribe("secret/x", 1)] == [0x87]
    assert [rc(r) for r in bob.subscribe("users/alice/#", 1)] == [0x87]
    # A wildcard user name does not widen its own tree.
    plus = Client(b, protocol=5, username="+", password="x")
    plus.connect()
    assert [rc(r) for r in plus.subscribe("users/+/#", 1)] == [0x87]
    assert rc(bob.publish("users/bob/t", b"mine", qos=1)) == 0
    assert bob.expect().payload == b"mine"
    assert rc(bob.publish("public/news", b"no", qos=1)) == 0x87


def test_rewrite_and_drop_before_routing(broker_factory, extension):
    ext = extension("rewrite", "--listen", "127.0.0.1:0")
    b = broker_factory(ext_toml({"name": "rw", "url": ext.url}))
    ext_loaded(b, "rw")
    sub = Client(b)
    sub.connect()
    for t in ("v2/#", "legacy/#", "chat/#", "other/#", "barrier/x"):
        sub.subscribe(t, 1)
    pub = Client(b)
    pub.connect()
    pub.publish("legacy/room1", b"hello", qos=1)
    pub.publish("chat/a", b"buy spam now", qos=1)
    pub.publish("chat/a", b"fine", qos=1)
    pub.publish("other/x", b"spam but not filtered", qos=1)
    got = [(m.topic, m.payload) for m in barrier(pub, sub)]
    assert got == [("v2/room1", b"HELLO"), ("chat/a", b"fine"), ("other/x", b"spam but not filtered")]


def test_forward_observes_every_message_in_order(broker_factory, extension, tmp_path):
    out = tmp_path / "messages.jsonl"
    ext = extension("forward", "--out", str(out), "--topic", "sensors/#", "--listen", "127.0.0.1:0")
    b = broker_factory(ext_toml({"name": "fwd", "url": ext.url}))
    line = ext_loaded(b, "fwd")
    assert "message.publish(observe)" in line
    pubs = [Client(b) for _ in range(2)]
    for p in pubs:
        p.connect()
    n = 300
    for i in range(n):
        for k, p in enumerate(pubs):
            p.publish(f"sensors/{k}", f"{k}:{i}".encode(), qos=1, wait=(i == n - 1))
    pubs[0].publish("elsewhere/x", b"not forwarded", qos=1)

    def lines():
        return len(out.read_text().splitlines()) if out.exists() else 0

    assert poll(lines, 2 * n) == 2 * n
    records = [json.loads(x) for x in out.read_text().splitlines()]
    for k in range(2):
        seq = [int(r["text"].split(":")[1]) for r in records if r["topic"] == f"sensors/{k}"]
        assert seq == list(range(n)), f"publisher {k} out of order"
    assert all(r["topic"].startswith("sensors/") for r in records)


def test_online_status_recorded_in_sqlite(broker_factory, extension, tmp_path):
    db = tmp_path / "status.db"
    ext = extension("online_status", "--db", str(db), "--listen", "127.0.0.1:0")
    b = broker_factory(ext_toml({"name": "online", "url": ext.url}))
    ext_loaded(b, "online")
    a = Client(b, client_id="dev-1", username="u1", password="x")
    a.connect()
    c = Client(b, client_id="dev-2")
    c.connect()
    a.disconnect(wait=True)

    def online():
        if not db.exists():
            return None
        with sqlite3.connect(db, timeout=5) as conn:
            try:
                return conn.execute("SELECT clientid, online FROM online ORDER BY clientid").fetchall()
            except sqlite3.OperationalError:
                return None

    assert poll(online, [("dev-1", 0), ("dev-2", 1)]) == [("dev-1", 0), ("dev-2", 1)]
    with sqlite3.connect(db, timeout=5) as conn:
        history = conn.execute("SELECT event FROM history WHERE clientid = 'dev-1' ORDER BY rowid").fetchall()
    assert history == [("connected",), ("disconnected",)]
