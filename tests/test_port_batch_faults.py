"""Faults of the batched port protocol, with a deliberately bad worker: hookmq's real Python
runtime whose hook module rewrites the runtime's answer to a batch when a message asks for it
(an unknown batch id, a malformed answer, more results than the batch may hold, an answer sent
twice). Each time the calls fail with a logged reason, `failed_action` applies, and the broker
keeps serving. Then `kill -9` of a worker with batches in flight: every call resolves through the
failure policy within its deadline and the counters say how many."""

import time

from harness import Client, barrier
from test_port_support import driver_toml, kill9, metric, start, wait_driver

BAD = '''
import os
import time
from erlport import _batch, erlang
from erlport.erlterms import List

answer = _batch.answer


def bad_answer(request, encoder, error_term):
    reply = answer(request, encoder, error_term)
    tag, batch_id, results, errors, observed = reply
    # Batched messages travel as tuples of values: the topic is the fifth.
    topics = [args[0][4] for _, args in request[2] if isinstance(args[0], tuple) and len(args[0]) == 7]
    if b"bad/unknown-id" in topics:
        return (tag, batch_id + 1000000, results, errors, observed)
    if b"bad/malformed" in topics:
        return (tag, batch_id, b"not a list", errors, observed)
    if b"bad/too-many" in topics:
        return (tag, batch_id, List(results + [None] * 300), errors, observed)
    if b"bad/twice" in topics:
        erlang._port.send(erlang._port.frame(reply))
    return reply


_batch.answer = bad_answer


def init():
    print(f"BAD init pid={os.getpid()}")
    return (0, ([("message_publish", "bad", "on_publish")], ()))


def on_publish(message, state):
    if dict(message)[b"topic"].startswith(b"slow/"):
        time.sleep(0.05)
    return None
'''


def bad_broker(broker_factory, tmp_path, **settings):
    cfg = driver_toml("python3", path="ext", init_module="bad", call_timeout="1s", **settings)
    b = start(broker_factory, tmp_path, files={"ext/bad.py": BAD}, config=cfg)
    assert wait_driver(b)["workers"][0]["protocol"] == "batched"
    return b


def clients(b, prefix):
    sub = Client(b, client_id=f"{prefix}-sub")
    sub.connect()
    sub.subscribe("#", 1)
    pub = Client(b, client_id=f"{prefix}-pub")
    pub.connect()
    return sub, pub


def test_bad_answers_fail_their_calls_and_the_broker_keeps_serving(broker_factory, tmp_path):
    b = bad_broker(broker_factory, tmp_path, failed_action="deny")
    sub, pub = clients(b, "bad")
    # Deny: a call that failed drops its message.
    for topic, reason in [("bad/malformed", r"a malformed answer to batch \d+: the results are not a list"),
                          ("bad/too-many", r"a malformed answer to batch \d+: 301 results, more than the 256 calls")]:
        mark = b.mark()
        pub.publish(topic, b"x", qos=1)
        b.wait_log(reason, start=mark)
        assert [m.topic for m in barrier(pub, sub, "ok/barrier")] == []
    # Answered twice: the first answer counts, the second is reported.
    mark = b.mark()
    pub.publish("bad/twice", b"x", qos=1)
    b.wait_log(r"an answer to batch \d+, which awaits none \(answered twice, or never sent\)", start=mark)
    assert [m.topic for m in barrier(pub, sub, "ok/barrier")] == ["bad/twice"]
    failed = metric(b, "python3", "message.publish")["failed"]
    assert failed == 2, metric(b, "python3", "message.publish")
    # An unknown id: the real batch is never answered; its call times out (deny drops the
    # message), and the worker, hung on it, is killed and started again.
    mark = b.mark()
    pub.publish("bad/unknown-id", b"x", qos=1, timeout=15)
    b.wait_log(r"an answer to batch \d+, which awaits none", start=mark)
    assert metric(b, "python3", "message.publish")["timed_out"] == 1
    b.wait_log(r"worker hung: no answer for 3s", start=mark, timeout=20)
    wait_driver(b, restarts=1)
    assert [m.topic for m in barrier(pub, sub, "ok/after")] == []
    pub.publish("ok/fine", b"y", qos=1)
    assert [m.topic for m in barrier(pub, sub, "ok/last")] == ["ok/fine"]
    sub.disconnect()
    pub.disconnect()


def test_kill_9_with_batches_in_flight_resolves_every_call(broker_factory, tmp_path):
    b = bad_broker(broker_factory, tmp_path)
    pid = wait_driver(b)["workers"][0]["pid"]
    sub, pub = clients(b, "k9")
    total = 200
    infos = [pub.publish(f"slow/{n}", str(n).encode(), qos=1, wait=False) for n in range(total)]
    # Each call takes 50 ms: once a few are answered, the rest are queued or in batches.
    deadline = time.monotonic() + 15
    while metric(b, "python3", "message.publish")["calls"] < 5 and time.monotonic() < deadline:
        time.sleep(0.01)
    started = time.monotonic()
    kill9(pid)
    for info in infos:
        info.wait_for_publish(10)
        assert info.is_published()
    # Every call resolved within its 1 s deadline (plus the restart's first attempt).
    assert time.monotonic() - started < 5
    got = set()
    while len(got) < total:
        got.add(int(sub.expect(timeout=15).payload))
    assert got == set(range(total))
    m = metric(b, "python3", "message.publish")
    assert m["failed"] > 0, m
    assert m["calls"] == m["ignored"] + m["failed"] + m["timed_out"], m
    # The exit or the closed pipe, whichever the supervisor sees first.
    b.wait_log(r"worker (exited|closed its output; killed) \(signal: 9")
    sub.disconnect()
    pub.disconnect()
