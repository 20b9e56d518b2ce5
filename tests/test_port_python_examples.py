"""examples/python: the four example hook modules (sqlite login check, online status and
history, per-topic ACL, message store) run as the example's hookmq.toml configures them, against
real clients; and the no-op hooks of bench/hooks/python load with pool_size 1 and 2."""

import sqlite3
import subprocess
import sys
import time

import pytest

from harness import ROOT, Client, barrier
from test_port_support import driver_toml, start, wait_driver

EXAMPLES = ROOT / "examples" / "python"


def manage(db, *args):
    out = subprocess.run([sys.executable, str(EXAMPLES / "manage.py"), *args], capture_output=True, text=True,
                         timeout=30, env={"HOOKMQ_EXAMPLE_DB": str(db), "PATH": ""})
    assert out.returncode == 0, out.stderr
    return out.stdout


def rows(db, sql, want, timeout=15.0):
    """Waits until `sql` returns `want` (the hooks write asynchronously)."""
    deadline = time.monotonic() + timeout
    while True:
        with sqlite3.connect(db, timeout=5) as c:
            got = c.execute(sql).fetchall()
        if got == want or time.monotonic() > deadline:
            return got
        time.sleep(0.05)


def rc(r):
    return getattr(r, "value", r)


def test_the_four_python_examples(broker_factory, tmp_path):
    db = tmp_path / "example.db"
    manage(db, "add-user", "alice", "secret")
    manage(db, "allow", "alice", "all", "sensors/#")
    manage(db, "deny", "*", "all", "#")
    config = (EXAMPLES / "hookmq.toml").read_text().replace('path = "examples/python"', f'path = "{EXAMPLES}"')
    b = start(broker_factory, tmp_path, config=config, env={"HOOKMQ_EXAMPLE_DB": str(db), "HOOKMQ_STORE_TOPICS": "sensors/#"})
    for name in ("login", "status", "acl", "store"):
        wait_driver(b, name)

    # 1. login against the users table
    assert rc(Client(b, client_id="ex-bad", username="alice", password="wrong").connect()[1]) in (5, 0x87)
    assert rc(Client(b, client_id="ex-nobody", username="nobody", password="x").connect()[1]) in (5, 0x87)
    b.wait_log(r"\[login\] ex-bad as 'alice': refused")
    sub = Client(b, client_id="ex-sub", username="alice", password="secret", protocol=5)
    assert rc(sub.connect()[1]) == 0

    # 3. per-topic ACL
    assert [rc(r) for r in sub.subscribe("sensors/#", 1)] == [1]
    assert [rc(r) for r in sub.subscribe("admin/#", 1)] == [0x87]
    pub = Client(b, client_id="ex-pub", username="alice", password="secret", protocol=5)
    assert rc(pub.connect()[1]) == 0
    assert rc(pub.publish("admin/x", b"no", qos=1)) == 0x87
    b.wait_log(r"\[acl\] 'alice' publish admin/x: deny")

    # 4. messages stored (binary payloads byte for byte), only under the configured topics
    pub.publish("sensors/t1", b"21.5", qos=1)
    pub.publish("sensors/raw", bytes([0, 255, 1]), qos=1)
    got = barrier(pub, sub, "sensors/zz")
    assert [m.payload for m in got] == [b"21.5", bytes([0, 255, 1])]
    stored = rows(db, "SELECT topic, payload, qos, sender FROM messages ORDER BY rowid",
                  [("sensors/t1", b"21.5", 1, "ex-pub"), ("sensors/raw", bytes([0, 255, 1]), 1, "ex-pub"),
                   ("sensors/zz", b"barrier", 1, "ex-pub")])
    assert stored == [("sensors/t1", b"21.5", 1, "ex-pub"), ("sensors/raw", bytes([0, 255, 1]), 1, "ex-pub"),
                      ("sensors/zz", b"barrier", 1, "ex-pub")]

    # 2. online status and history
    assert rows(db, "SELECT clientid, username, peerhost, online FROM clients WHERE clientid = 'ex-pub'",
                [("ex-pub", "alice", "127.0.0.1", 1)]) == [("ex-pub", "alice", "127.0.0.1", 1)]
    pub.disconnect()
    assert rows(db, "SELECT online FROM clients WHERE clientid = 'ex-pub'", [(0,)]) == [(0,)]
    assert rows(db, "SELECT event, reason FROM history WHERE clientid = 'ex-pub' ORDER BY id",
                [("connected", None), ("disconnected", "normal")]) == [("connected", None), ("disconnected", "normal")]
    assert "ex-sub" in manage(db, "show")
    sub.disconnect()


@pytest.mark.parametrize("module,pool_size", [("noop_publish", 1), ("noop_publish", 2), ("noop_auth", 1), ("noop_auth", 2)])
def test_bench_noop_python_hooks_load(broker_factory, tmp_path, module, pool_size):
    cfg = driver_toml("python3", path=str(ROOT / "bench" / "hooks" / "python"), init_module=module, pool_size=pool_size)
    b = start(broker_factory, tmp_path, config=cfg)
    d = wait_driver(b)
    hook = {"noop_publish": "message_publish", "noop_auth": "client_authenticate"}[module]
    assert [h["name"] for h in d["hooks"]] == [hook]
    assert len(d["workers"]) == pool_size
    c = Client(b, client_id="bench-noop")
    assert c.connect()[1] == 0
    c.subscribe("b/#", 1)
    c.publish("b/1", b"x", qos=1)
    assert c.expect().payload == b"x"
    c.disconnect()
