"""Availability controls (issue 13, docs/hooks.md "Availability controls") with real processes:
the circuit breaker of a Python port driver whose hook fails on demand (opens after N failures,
calls are then not made — the hook's own call log stops growing — and failed_action = deny
refuses publishes and logins at once; after the cool-down a probe closes it), shown by the
management API, `hookmq ctl`, /metrics and the log; the breaker of a gRPC exhook server whose
calls time out, closed by `hookmq ctl hooks reset-breaker`; and `mandatory` end to end for a
Python port driver whose worker is killed (and cannot start again for a while) and for an exhook
server that is killed: new clients get 0x88 (3.1.1: return code 3), connected clients are still
served, and once the worker or server is back new clients get in."""

import re
import time

from harness import Client
from test_exhook_support import (  # noqa: F401
    exhook_stubs, hook_servers, loaded, rc_value, toml_value,
)
from test_port_support import (
    api, ctl, driver, driver_toml, kill9, metric, metrics_text, start, wait_driver,
)

HOOKS = r'''
import os

from hookmq_port import hook, specs


def record(line):
    with open("calls.log", "a") as f:
        f.write(line + "\n")


@hook("client_authenticate")
def on_auth(clientinfo, result, state):
    record("auth")
    if os.path.exists("fail"):
        raise RuntimeError("failing on demand")
    return (0, True)


@hook("client_check_acl")
def on_acl(clientinfo, pubsub, topic, result, state):
    record("acl")
    if os.path.exists("fail"):
        raise RuntimeError("failing on demand")
    return (0, True)


def init():
    if os.path.exists("noinit"):
        raise RuntimeError("init refused on demand")
    return specs(__name__)
'''

DEADLINE = 30.0


def calls(workdir, kind):
    path = workdir / "calls.log"
    if not path.exists():
        return 0
    return sum(1 for line in path.read_text().splitlines() if line == kind)


def breaker(b, name="python3"):
    return driver(b, name)["breaker"]


def connect_rc(b, protocol=5, **kw):
    """The CONNACK code of a fresh client. A refused client does not retry: paho's network
    thread would otherwise keep reconnecting (with growing waits) while the test stops it."""
    c = Client(b, protocol=protocol, **kw)
    c.c._reconnect_on_failure = False
    rc = rc_value(c.connect()[1])
    if rc == 0:
        c.disconnect()
    else:
        c.c.loop_stop()
    return rc


def test_a_failing_python_hook_opens_the_breaker_and_a_probe_closes_it(broker_factory, tmp_path):
    cfg = driver_toml("python3", path="ext", init_module="breakhooks", call_timeout="5s",
                      init_timeout="30s", failed_action="deny", breaker_failures=3,
                      breaker_window="60s", breaker_cooldown="8s")
    b = start(broker_factory, tmp_path, files={"ext/breakhooks.py": HOOKS}, config=cfg)
    wait_driver(b)
    assert breaker(b)["state"] == "closed"
    pub = Client(b, client_id="pub", protocol=5)
    assert rc_value(pub.connect()[1]) == 0

    # Three failed calls (the hook raises) open the breaker; deny refuses each publish.
    (tmp_path / "fail").touch()
    mark = b.mark()
    for i in range(3):
        assert rc_value(pub.publish(f"t/{i}", b"x", qos=1)) == 0x87
    assert calls(tmp_path, "acl") == 3
    b.wait_log(r"hook circuit breaker opened", start=mark)
    br = breaker(b)
    assert (br["state"], br["opens"], br["failures"]) == ("open", 1, 3)

    # Open: the hook is not called (its log stops growing), deny applies at once, to logins too.
    (tmp_path / "fail").unlink()
    for i in range(2):
        assert rc_value(pub.publish(f"open/{i}", b"x", qos=1)) == 0x87
    assert connect_rc(b, client_id="while-open") == 0x87
    assert calls(tmp_path, "acl") == 3
    assert calls(tmp_path, "auth") == 1
    assert metric(b, "python3", "client.authorize")["skipped"] == 2
    assert metric(b, "python3", "client.authenticate")["skipped"] == 1

    # Seen by the API's handler list, hookmq ctl and Prometheus.
    status, hooks = api(b, "GET", "/api/v1/hooks")
    assert status == 200
    (h,) = [h for h in hooks["data"] if h["name"] == "python3"]
    assert h["breaker"]["state"] == "open"
    listing = ctl(b, "exhook", "drivers", "list")
    assert listing.returncode == 0 and "open(opened 1x)" in listing.stdout, listing
    table = ctl(b, "hooks")
    assert table.returncode == 0 and "BREAKER" in table.stdout and "open" in table.stdout
    text = metrics_text(b)
    assert 'hookmq_hook_breaker_state{handler="python3",driver="python3"} 1' in text
    assert 'hookmq_hook_breaker_opens_total{handler="python3",driver="python3"} 1' in text
    assert re.search(r'hookmq_hook_skipped_total\{handler="python3",driver="python3",'
                     r'hook="client.authorize"\} 2', text)

    # After the cool-down one probe goes through; it succeeds and closes the breaker.
    deadline = time.monotonic() + DEADLINE
    n = 0
    while True:
        rc = rc_value(pub.publish(f"probe/{n}", b"x", qos=1))
        if rc in (0, 0x10):  # accepted (0x10: no matching subscribers)
            break
        assert rc == 0x87 and time.monotonic() < deadline, "the breaker never closed"
        n += 1
        time.sleep(0.2)
    assert calls(tmp_path, "acl") == 4
    br = breaker(b)
    assert (br["state"], br["opens"]) == ("closed", 1)
    b.wait_log(r"hook circuit breaker closed", start=mark)
    assert b.log_count(r"hook circuit breaker opened") == 1
    assert connect_rc(b, client_id="after") == 0
    pub.disconnect()


def exhook_config(**server):
    lines = ["[[exhook.servers]]"]
    lines += [f"{k} = {toml_value(v)}" for k, v in server.items()]
    return "\n".join(lines) + "\n"


def test_an_exhook_server_that_times_out_opens_the_breaker_and_ctl_resets_it(
        broker_factory, hook_servers, tmp_path):
    srv = hook_servers("v3", hooks=[["client.authenticate", []]], auth_sleep=3)
    b = start(broker_factory, tmp_path, config=exhook_config(
        name="slow", url=srv.url, request_timeout="1s", failed_action="deny", pool_size=1,
        breaker_failures=2, breaker_window="60s", breaker_cooldown="1h"))
    loaded(b, "slow")
    for _ in range(2):
        assert connect_rc(b, protocol=4) in (5, 0x87)
    srv.wait_count("OnClientAuthenticate", lambda r: True, 2)
    status, body = api(b, "GET", "/api/v1/exhook/servers/slow")
    assert status == 200 and body["breaker"]["state"] == "open", body
    assert "open" in ctl(b, "exhook", "servers", "list").stdout
    # Open: refused at once, the server is not asked.
    assert connect_rc(b, protocol=5) == 0x87
    assert len(srv.calls("OnClientAuthenticate")) == 2

    reset = ctl(b, "hooks", "reset-breaker", "exhook:slow")
    assert reset.returncode == 0 and "closed" in reset.stdout, reset
    mark = srv.mark()
    assert connect_rc(b, protocol=5) == 0x87
    srv.wait("OnClientAuthenticate", since=mark)
    unknown = ctl(b, "hooks", "reset-breaker", "nobody")
    assert unknown.returncode != 0


def test_a_mandatory_python_driver_whose_worker_is_down_refuses_new_clients(
        broker_factory, tmp_path):
    cfg = driver_toml("python3", path="ext", init_module="breakhooks", call_timeout="5s",
                      init_timeout="30s", mandatory=True)
    b = start(broker_factory, tmp_path, files={"ext/breakhooks.py": HOOKS}, config=cfg)
    d = wait_driver(b)
    sub = Client(b, client_id="sub", protocol=5)
    assert rc_value(sub.connect()[1]) == 0
    sub.subscribe("live/#", 1)
    pub = Client(b, client_id="pub", protocol=4)
    assert rc_value(pub.connect()[1]) == 0

    # The worker dies and cannot start again (init refuses) for a while.
    (tmp_path / "noinit").touch()
    mark = b.mark()
    kill9(d["workers"][0]["pid"])
    b.wait_log(r"worker restart failed", start=mark)
    assert connect_rc(b, protocol=5) == 0x88
    # paho reports the 3.1.1 return code 3 as its MQTT 5 equivalent.
    assert connect_rc(b, protocol=4) in (3, 0x88)
    # Connected clients are still served.
    pub.publish("live/1", b"still here", qos=1)
    assert sub.expect().payload == b"still here"

    (tmp_path / "noinit").unlink()
    wait_driver(b, restarts=1)
    assert connect_rc(b, protocol=5) == 0
    assert connect_rc(b, protocol=4) == 0
    pub.disconnect()
    sub.disconnect()


def test_a_mandatory_exhook_server_that_is_down_refuses_new_clients(
        broker_factory, hook_servers, tmp_path):
    srv = hook_servers("v3", hooks=[["client.authenticate", []]])
    b = start(broker_factory, tmp_path, config=exhook_config(
        name="auth", url=srv.url, request_timeout="2s", failed_action="ignore", mandatory=True,
        auto_reconnect="1s", pool_size=1))
    loaded(b, "auth")
    assert connect_rc(b) == 0
    sub = Client(b, client_id="sub", protocol=5)
    assert rc_value(sub.connect()[1]) == 0
    sub.subscribe("live/#", 1)
    pub = Client(b, client_id="pub", protocol=5)
    assert rc_value(pub.connect()[1]) == 0

    srv.kill()
    # failed_action is ignore and allow_anonymous is on: only `mandatory` refuses.
    deadline = time.monotonic() + DEADLINE
    while (rc := connect_rc(b, protocol=5)) != 0x88:
        # The first calls after the kill may still find the old connection (a failed call,
        # ignored) before the pool sees it down.
        assert rc == 0 and time.monotonic() < deadline, rc
        time.sleep(0.1)
    assert connect_rc(b, protocol=4) in (3, 0x88)
    pub.publish("live/1", b"still here", qos=1)
    assert sub.expect().payload == b"still here"

    mark = b.mark()
    srv.start()
    loaded(b, "auth", since=mark, timeout=DEADLINE)
    assert connect_rc(b, protocol=5) == 0
    assert connect_rc(b, protocol=4) == 0
    pub.disconnect()
    sub.disconnect()
