"""Faults of gRPC exhook servers never stop the broker: a server down at start is loaded when it
comes up, a server killed under load and restarted is loaded again (with its new hook list)
without a broker restart, and servers that hang are cut off by request_timeout."""

import socket
import threading
import time

from harness import Client
from test_exhook_support import (  # noqa: F401
    exhook_stubs, exhook_toml, free_port, hook_servers, loaded, rc_value,
)

FAST = {"request_timeout": "1s", "auto_reconnect": "1s", "pool_size": 2}


def login(broker, user, password, protocol=4):
    c = Client(broker, protocol=protocol, username=user, password=password)
    rc = rc_value(c.connect()[1])
    if rc == 0:
        c.disconnect()
    return rc


def test_down_at_start_then_loaded_killed_denies_restarted_reloaded(broker_factory, hook_servers):
    port = free_port()
    srv = hook_servers("v3", port=port, start=False, hooks=[["client.authenticate", []]], users={"alice": "pw"})
    b = broker_factory(exhook_toml({"name": "auth", "url": f"http://127.0.0.1:{port}", **FAST}))
    b.wait_log(r"exhook server load failed.*server=auth")
    # Never loaded: nothing is registered, so the broker decides alone (documented).
    assert login(b, "anyone", "x") == 0

    mark = b.mark()
    srv.start()
    loaded(b, "auth", since=mark)
    assert login(b, "alice", "pw") == 0
    assert login(b, "alice", "bad") in (5, 0x87)

    # Killed: its hooks stay registered, the calls fail and failed_action = deny refuses logins.
    srv.kill()
    assert login(b, "alice", "pw") in (5, 0x87)
    # Back with one more hook: loaded again without restarting the broker.
    mark = b.mark()
    srv.start({"hooks": [["client.authenticate", []], ["client.authorize", []]],
               "users": {"alice": "pw"}, "acl": [["no/", "STOP_AND_RETURN", False]]})
    line = loaded(b, "auth", since=mark, timeout=20)
    assert "client.authorize" in line
    assert login(b, "alice", "pw") == 0
    c = Client(b, protocol=5, username="alice", password="pw")
    c.connect()
    assert [rc_value(r) for r in c.subscribe("no/1", 1)] == [0x87]
    assert b.proc.poll() is None


def test_killed_under_load_and_restarted_keeps_messages_flowing(broker_factory, hook_servers):
    behaviour = {"hooks": [["message.publish", ["load/#"]]], "publish": [["load/", {"suffix": "+hooked"}]]}
    srv = hook_servers("v3", config=behaviour)
    b = broker_factory(exhook_toml({"name": "rw", "url": srv.url, "failed_action": "ignore", **FAST}))
    sub = Client(b)
    sub.connect()
    sub.subscribe("load/#", 1)
    pub = Client(b)
    pub.connect()
    stop = threading.Event()
    sent = []

    def publish_loop():
        deadline = time.monotonic() + 60
        while not stop.is_set() and time.monotonic() < deadline:
            n = len(sent)
            pub.publish("load/x", str(n).encode(), qos=1, timeout=10)
            sent.append(n)

    t = threading.Thread(target=publish_loop, daemon=True)
    t.start()
    try:
        def next_payload(hooked, timeout=30):
            """Waits for a message that was (or was not) rewritten; returns it."""
            deadline = time.monotonic() + timeout
            while True:
                m = sub.expect(timeout=max(0.1, deadline - time.monotonic()))
                if m.payload.endswith(b"+hooked") == hooked:
                    return m.payload
                assert time.monotonic() < deadline, "no such message"

        next_payload(True)
        srv.kill()
        # failed_action = ignore: messages keep flowing, unchanged, while the server is down.
        next_payload(False)
        mark = b.mark()
        srv.start()
        loaded(b, "rw", since=mark, timeout=20)
        next_payload(True)
    finally:
        stop.set()
        t.join(15)
    assert b.proc.poll() is None
    assert len(sent) > 3


def test_hanging_servers_are_cut_off_by_request_timeout(broker_factory, hook_servers):
    # A TCP listener that accepts and never answers, and a grpcio server that never answers
    # OnProviderLoaded: the broker starts anyway (each load times out) and serves.
    mute = socket.socket()
    mute.bind(("127.0.0.1", 0))
    mute.listen(16)
    hung = hook_servers("v3", hooks=[["client.authenticate", []]], hang_loaded=True)
    slow = hook_servers("v3", hooks=[["client.authenticate", []]], users={"alice": "pw"}, auth_sleep=3)
    try:
        b = broker_factory(exhook_toml(
            {"name": "mute", "url": f"http://127.0.0.1:{mute.getsockname()[1]}", **FAST},
            {"name": "hung", "url": hung.url, **FAST},
            {"name": "slow", "url": slow.url, "failed_action": "ignore", **FAST},
        ))
        b.wait_log(r"exhook server load failed.*server=mute")
        b.wait_log(r"exhook server load failed.*server=hung")

        # The slow server answers after 3 s; request_timeout (1 s) ends the call, and
        # failed_action = ignore lets the client in. Meanwhile other clients are served.
        watcher = Client(b, username="alice", password="pw")
        watcher.connect()
        watcher.subscribe("live/x", 1)
        result = {}
        slow_login = threading.Thread(target=lambda: result.update(rc=login(b, "bob", "x")))
        started = time.monotonic()
        slow_login.start()
        slow.wait("OnClientAuthenticate", lambda r: r["clientinfo"]["username"] == "bob")
        watcher.publish("live/x", b"still serving", qos=1)
        assert watcher.expect().payload == b"still serving"
        slow_login.join(15)
        assert result["rc"] == 0
        assert time.monotonic() - started < 3
        b.wait_log(r"hook call failed.*exhook:slow.*timed out|exhook:slow.*hook call failed.*timed out")

        # The server that hung in the middle of its load is killed and comes back answering:
        # the retry loads it, without a broker restart.
        mark = b.mark()
        hung.restart({"hooks": [["client.authenticate", []]], "users": {"carol": "pw"}})
        loaded(b, "hung", since=mark, timeout=20)
        assert login(b, "carol", "pw") == 0
        assert login(b, "carol", "no") in (5, 0x87)
        assert b.proc.poll() is None
    finally:
        mute.close()
