"""Observe-only hooks through the port drivers: a hook the configuration marks observe-only is
told every event but cannot decide (what it answers is counted and ignored), while the driver's
other hooks still decide. Real paho clients, the real Python runtime."""

import re
import time

from harness import Client, barrier
from test_port_support import driver, driver_toml, metric, start, wait_driver

WATCH = '''
def init():
    return (0, ([("message_publish", "watch", "on_publish"),
                 ("client_check_acl", "watch", "on_acl")], ()))


def on_publish(message, state):
    m = dict(message)
    print("observed", m[b"topic"].decode(), m[b"payload"].decode())
    return (0, False)  # a drop, if this hook could decide


def on_acl(clientinfo, pubsub, topic, result, state):
    return (0, not topic.startswith(b"secret/"))
'''


def wait_metric(b, hook, pred, name="python3", timeout=15.0):
    """The driver's counters at `hook` once `pred` holds (the last answer may still be on its
    way when the log shows the hook ran)."""
    deadline = time.monotonic() + timeout
    while True:
        m = metric(b, name, hook)
        if pred(m) or time.monotonic() > deadline:
            return m
        time.sleep(0.05)


def test_a_configured_observer_sees_every_message_and_cannot_drop_it(broker_factory, tmp_path):
    config = driver_toml("python3", path="ext", init_module="watch", observe=["message_publish"])
    b = start(broker_factory, tmp_path, files={"ext/watch.py": WATCH}, config=config)
    d = wait_driver(b)
    assert {h["name"]: h["observe"] for h in d["hooks"]} == {
        "message_publish": True, "client_check_acl": False}
    sub = Client(b, client_id="obs-sub")
    sub.connect()
    assert sub.subscribe("obs/#", 1) == [1]
    # The valued hook still decides.
    assert sub.subscribe("secret/x", 1) == [0x80]
    pub = Client(b, client_id="obs-pub")
    pub.connect()
    for i in range(5):
        pub.publish(f"obs/{i}", f"m{i}".encode(), qos=1)
    got = [sub.expect() for _ in range(5)]
    assert [(m.topic, m.payload) for m in got] == [(f"obs/{i}", f"m{i}".encode()) for i in range(5)]
    assert barrier(pub, sub, "obs/barrier") == []
    line = b.wait_log(r"observed obs/barrier barrier")
    observed = [ln for ln in b.lines if "observed obs/" in ln]
    assert [re.search(r"observed (\S+)", ln).group(1) for ln in observed] == [
        *(f"obs/{i}" for i in range(5)), "obs/barrier"], line
    m = wait_metric(b, "message.publish", lambda m: m["values_ignored"] >= 6)
    assert m["values_ignored"] == 6 and m["stopped"] == 0, m
    assert driver(b)["overflow"] == "drop"
    sub.disconnect()
    pub.disconnect()
