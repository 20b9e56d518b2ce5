"""Faults of extension servers never stop the broker: replies to unknown ids, the same id twice,
batches over the limit, values that do not fit, FAIL answers, silence, and frames that are not
frames each fail the call with a logged reason and the failure policy applies; kill -9 under
load resolves every call in flight at once, the counters say how many, and the stream comes
back when the server does. Also: load, unload, reload through the API and `hookmq ctl ext`."""

import json
import sys
import threading
import time

from ext_support import ExtProcess, ext_loaded, example_cmd
from harness import ROOT, Client, barrier
from test_api import ctl, http
from test_exhook_support import free_port

BAD = [sys.executable, str(ROOT / "tests" / "ext_bad_server.py")]


def rc(r):
    return getattr(r, "value", r)


def login(b, user, protocol=5):
    c = Client(b, protocol=protocol, username=user, password="x")
    code = rc(c.connect()[1])
    if code == 0:
        c.disconnect()
    return code


def stats(b, name):
    return http(b, "GET", f"/api/v1/ext/servers/{name}")[1]


def test_bad_replies_fail_their_calls_and_the_broker_keeps_serving(broker_factory):
    srv = ExtProcess(BAD).start()
    try:
        b = broker_factory(
            '[api]\nbind = "127.0.0.1:0"\n'
            f'[[ext.servers]]\nname = "bad"\nurl = "{srv.url}"\npool_size = 1\nmax_batch = 8\n'
            'request_timeout = "1s"\nfailed_action = "deny"\nauto_reconnect = "1s"\n')
        ext_loaded(b, "bad")
        assert login(b, "good") == 0
        for user, reason in [
            ("unknown", r"never sent"),
            ("twice", r"answered twice in one batch"),
            ("oversize", r"exceeds max_batch 8"),
            ("wrong", r"STOP with message does not fit client.authenticate"),
            ("fail", r"database down"),
            ("hang", r"timed out"),
        ]:
            mark = b.mark()
            started = time.monotonic()
            # failed_action = deny: the login is refused, within the deadline.
            assert login(b, user) == 0x87, user
            assert time.monotonic() - started < 5, user
            b.wait_log(reason, start=mark)
            assert login(b, "good") == 0, f"not serving after {user}"
        s = stats(b, "bad")["stats"]
        # unknown, twice, oversize (the whole batch: 9 replies), wrong.
        assert s["refused"] >= 1 + 1 + 9 + 1, s
        assert s["losses"] == 0, s

        # A frame that is not a frame: the stream is dropped (its calls fail now, not at their
        # deadline) and opened again.
        mark = b.mark()
        assert login(b, "malformed") == 0x87
        b.wait_log(r"extension stream lost; reconnecting", start=mark)
        b.wait_log(r"extension stream reopened", start=mark, timeout=15)
        assert login(b, "good") == 0
        s = stats(b, "bad")["stats"]
        assert (s["losses"], s["reconnects"]) == (1, 1), s
        assert b.proc.poll() is None
    finally:
        srv.stop()


def test_kill9_under_load_resolves_calls_in_flight(broker_factory):
    port = free_port()
    srv = ExtProcess(example_cmd("python", "rewrite", "--listen", f"127.0.0.1:{port}")).start()
    try:
        b = broker_factory(
            '[api]\nbind = "127.0.0.1:0"\n'
            f'[[ext.servers]]\nname = "rw"\nurl = "{srv.url}"\npool_size = 2\n'
            'request_timeout = "2s"\nfailed_action = "ignore"\nauto_reconnect = "1s"\n')
        ext_loaded(b, "rw")
        sub = Client(b)
        sub.connect()
        sub.subscribe("v2/#", 1)
        sub.subscribe("legacy/#", 1)
        sub.subscribe("bar/x", 1)
        stop = threading.Event()
        sent, slow = [0], []

        def load(k):
            pub = Client(b)
            pub.connect()
            while not stop.is_set():
                started = time.monotonic()
                pub.publish(f"legacy/{k}", b"x", qos=1, timeout=10)
                # Every publish is acknowledged: a call whose stream died resolves at once
                # (failure policy ignore), one sent into nothing by its 2 s deadline.
                if time.monotonic() - started > 3:
                    slow.append(time.monotonic() - started)
                sent[0] += 1

        threads = [threading.Thread(target=load, args=(k,), daemon=True) for k in range(4)]
        for t in threads:
            t.start()
        try:
            deadline = time.monotonic() + 30
            while sent[0] < 200 and time.monotonic() < deadline:
                time.sleep(0.05)
            mark = b.mark()
            srv.kill()
            b.wait_log(r"extension stream lost", start=mark)
            before = sent[0]
            # Messages keep flowing, unchanged, while the server is down.
            while sent[0] < before + 100 and time.monotonic() < deadline:
                time.sleep(0.05)
            assert sent[0] >= before + 100
            srv.start()
            b.wait_log(r"extension stream reopened", start=mark, timeout=20)
        finally:
            stop.set()
            for t in threads:
                t.join(15)
        assert not slow, slow
        s = stats(b, "rw")
        assert s["stats"]["losses"] >= 1, s
        failed = s["hooks"][0]["metrics"]["failed"]
        # Calls failed: those in flight at the kill (counted apart) and those made while down.
        assert failed >= s["stats"]["failed_on_loss"] >= 0, s
        assert failed > 0, s
        # Rewriting again once reconnected.
        pub = Client(b)
        pub.connect()
        pub.publish("legacy/after", b"back", qos=1)
        got = barrier(pub, sub, topic="bar/x")
        assert ("v2/after", b"BACK") in [(m.topic, m.payload) for m in got]
        assert b.proc.poll() is None
    finally:
        srv.stop()


def test_load_unload_reload_through_the_api_and_ctl(broker_factory, tmp_path):
    srv = ExtProcess(example_cmd("python", "acl", "--listen", "127.0.0.1:0")).start()
    try:
        b = broker_factory('[api]\nbind = "127.0.0.1:0"\n[authorization.cache]\nenable = false\n')
        c = Client(b, protocol=5, username="bob", password="x")
        c.connect()
        assert [rc(r) for r in c.subscribe("secret/x", 1)] == [1]

        out = ctl(b, "ext", "add", "--name", "acl", "--url", srv.url, "--pool-size", "1")
        assert out.returncode == 0, out.stderr
        assert "connected" in out.stdout and "client.authorize" in out.stdout
        assert [rc(r) for r in c.subscribe("secret/y", 1)] == [0x87]
        listed = json.loads(ctl(b, "--json", "ext", "list").stdout)["data"]
        assert [(s["name"], s["status"], s["streams_up"]) for s in listed] == [("acl", "connected", 1)]
        assert [h["name"] for h in http(b, "GET", "/api/v1/hooks")[1]["data"]] == ["ext:acl"]

        assert ctl(b, "ext", "disable", "acl").returncode == 0
        assert [rc(r) for r in c.subscribe("secret/z", 1)] == [1]
        assert ctl(b, "ext", "enable", "acl").returncode == 0
        assert [rc(r) for r in c.subscribe("secret/w", 1)] == [0x87]

        mark = b.mark()
        out = ctl(b, "ext", "reload", "acl")
        assert out.returncode == 0, out.stderr
        ext_loaded(b, "acl", since=mark)
        assert [rc(r) for r in c.subscribe("secret/v", 1)] == [0x87]

        assert ctl(b, "ext", "remove", "acl").returncode == 0
        assert ctl(b, "ext", "show", "acl").returncode != 0
        assert [rc(r) for r in c.subscribe("secret/u", 1)] == [1]
        # A bad configuration is refused with the key named.
        status, body = http(b, "POST", "/api/v1/ext/servers", {"name": "x", "url": "ftp://h:1"})
        assert status in (400, 422) and "url" in json.dumps(body)
    finally:
        srv.stop()
