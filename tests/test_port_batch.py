"""hookmq's batched port protocol with real paho clients and the real Python runtime: an
observe-only hook (hookmq_port's @observe) sees every message of each client in order under load
with overflow = "block", and counts what it drops with "drop"; a runtime that does not speak the
batched protocol (as EMQX's erlport does not) and `batch = false` keep one call per frame, with
the same decisions."""

import re
import shutil

from harness import Client, barrier
from test_port_support import (RUNTIMES, driver_toml, metric, observer_sees_each_client_in_order,
                               recorded, start, wait_driver, wait_for)

RECORDER = '''
import time
from hookmq_port import hook, observe, specs

DELAY = {delay}


@observe
@hook("message_publish")
def record(message, state):
    m = dict(message)
    time.sleep(DELAY)
    with open("published.log", "ab") as f:
        f.write(m[b"from"] + b" " + m[b"payload"] + b"\\n")


def init():
    return specs(__name__)
'''




def test_block_delivers_every_message_in_order_under_load(broker_factory, tmp_path):
    config = driver_toml("python3", path="ext", init_module="recorder", overflow="block",
                         queue_capacity=8)
    b = start(broker_factory, tmp_path, files={"ext/recorder.py": RECORDER.format(delay=0.0003)},
              config=config)
    d = wait_driver(b)
    assert d["workers"][0]["protocol"] == "batched"
    assert d["hooks"] == [{"name": "message_publish", "topics": [], "observe": True}]
    observer_sees_each_client_in_order(b, tmp_path / "published.log", "blk")
    m = metric(b, "python3", "message.publish")
    assert m["dropped"] == 0 and m["failed"] == 0, m


def test_drop_counts_what_a_slow_observer_misses(broker_factory, tmp_path):
    config = driver_toml("python3", path="ext", init_module="recorder", queue_capacity=4)
    b = start(broker_factory, tmp_path, files={"ext/recorder.py": RECORDER.format(delay=0.005)},
              config=config)
    wait_driver(b)
    pub = Client(b, client_id="drp")
    pub.connect()
    total = 400
    for n in range(total):
        pub.publish("load/x", str(n).encode(), qos=0, wait=False)
    pub.publish("load/end", b"end", qos=1)
    total += 1

    def settled():
        m = metric(b, "python3", "message.publish")
        return m["calls"] + m["dropped"] == total

    wait_for(settled)
    m = metric(b, "python3", "message.publish")
    assert m["dropped"] > 0, m
    lines = recorded(tmp_path / "published.log")
    assert len(lines) == m["calls"], (len(lines), m)
    got = [int(payload) for _, payload in lines if payload != "end"]
    assert got == sorted(got), "what the observer got is in order"


WATCH = '''
def init():
    return (0, ([("message_publish", "watch", "on_publish"),
                 ("client_check_acl", "watch", "on_acl")], ()))


def on_publish(message, state):
    return (0, False) if dict(message)[b"topic"].startswith(b"drop/") else None


def on_acl(clientinfo, pubsub, topic, result, state):
    return (0, not topic.startswith(b"secret/"))
'''


def foreign_runtimes(tmp_path):
    """A copy of hookmq's Python runtime that does not know hookmq's own calls, as EMQX's
    erlport does not: it answers '$hookmq':batch with an error (no module named '$hookmq')."""
    dst = tmp_path / "foreign"
    shutil.copytree(RUNTIMES / "python", dst / "python",
                    ignore=shutil.ignore_patterns("__pycache__", "tests", "bench_calls.py"))
    erlang = dst / "python" / "erlport" / "erlang.py"
    text, n = re.subn(r'^_functions\[\(Atom\(b"\$hookmq"\).*$', "", erlang.read_text(), flags=re.M)
    assert n == 2, "the runtime's registration of its batch calls moved"
    erlang.write_text(text)
    return dst


def decisions_hold(b, prefix):
    sub = Client(b, client_id=f"{prefix}-sub")
    sub.connect()
    assert sub.subscribe("#", 1) == [1]
    assert sub.subscribe("secret/x", 1) == [0x80]
    pub = Client(b, client_id=f"{prefix}-pub")
    pub.connect()
    pub.publish("keep/1", b"k", qos=1)
    pub.publish("drop/1", b"d", qos=1)
    assert [(m.topic, m.payload) for m in barrier(pub, sub, "keep/barrier")] == [("keep/1", b"k")]
    sub.disconnect()
    pub.disconnect()


def test_a_runtime_that_does_not_batch_gets_one_call_per_frame(broker_factory, tmp_path):
    config = (f'[exhook.drivers]\nruntimes_dir = "{foreign_runtimes(tmp_path)}"\n'
              + driver_toml("python3", path="ext", init_module="watch"))
    b = start(broker_factory, tmp_path, files={"ext/watch.py": WATCH}, config=config)
    d = wait_driver(b)
    assert d["workers"][0]["protocol"] == "single"
    b.wait_log(r"the runtime does not batch; one call per frame")
    decisions_hold(b, "foreign")
    assert metric(b, "python3", "message.publish")["stopped"] == 1


def test_batch_false_keeps_one_call_per_frame(broker_factory, tmp_path):
    config = driver_toml("python3", path="ext", init_module="watch", batch=False)
    b = start(broker_factory, tmp_path, files={"ext/watch.py": WATCH}, config=config)
    d = wait_driver(b)
    assert d["workers"][0]["protocol"] == "single" and d["batch"] is False
    decisions_hold(b, "single")
    # And the same decisions through batches.
    b2 = start(broker_factory, tmp_path / "batched", files={"ext/watch.py": WATCH},
               config=driver_toml("python3", path="ext", init_module="watch"))
    assert wait_driver(b2)["workers"][0]["protocol"] == "batched"
    decisions_hold(b2, "batched")
