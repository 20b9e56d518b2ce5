"""Held acknowledgements (issue 13, docs/hooks.md "Modify rights") through the Python port
runtime, observed by paho clients: a `message_publish` hook answers `(0, "hold")`, the message is
routed at once, and the publisher's PUBACK arrives only after the hook calls
`hookmq.confirm(id, ok)` — which the test asks it to do by publishing to `confirm/...`, since
erlport's rule is that service calls come from the hook thread. A hook that never confirms gets
its `failed_action` at the driver's `hold_timeout`: `deny` is PUBACK 0x80 for MQTT 5 and a closed
connection for MQTT 3.1.1 (no negative PUBACK there), `ignore` a success PUBACK. The same round
trip through a stream extension written with the Python SDK (`Publish.HOLD`,
`broker.confirm`)."""

import queue
import sys

import pytest

from ext_support import ExtProcess, ext_loaded, ext_toml
from harness import Client
from test_port_support import driver_toml, start, wait_driver

HOOKS = r'''
import hookmq
from erlport.erlterms import Atom
from hookmq_port import hook, specs


@hook("message_publish", topics=["hold/#", "confirm/#"])
def on_publish(message, state):
    m = dict(message)
    topic = m[Atom(b"topic")].decode()
    if topic.startswith("hold/"):
        # Tell the test which id to confirm.
        hookmq.publish("held/" + topic[5:], m[Atom(b"id")])
        return (0, "hold")
    # confirm/<anything> with payload b"<id>:ok" or b"<id>:fail".
    msg_id, verdict = m[Atom(b"payload")].decode().split(":")
    try:
        hookmq.confirm(msg_id, ok=(verdict == "ok"))
        result = b"confirmed"
    except hookmq.ServiceError as e:
        result = e.code.encode()
    hookmq.publish("confirmed/" + msg_id, result)
    return (0, "consume")


def init():
    return specs(__name__)
'''

# The same hook as a stream extension with the Python SDK: Publish.HOLD, broker.confirm.
EXT = r'''
import sys

from hookmq_ext import Extension, Publish, ServiceError, hook, run


class Holder(Extension):
    name = "holder"

    @hook("message.publish", topics=["hold/#", "confirm/#"])
    async def on_message_publish(self, event):
        m = event.message
        if m.topic.startswith("hold/"):
            await self.broker.publish("held/" + m.topic[5:], m.id.hex().upper().encode())
            return Publish.HOLD
        msg_id, verdict = m.payload.decode().split(":")
        try:
            await self.broker.confirm(bytes.fromhex(msg_id), ok=(verdict == "ok"))
            result = b"confirmed"
        except ServiceError as e:
            result = e.reason.encode()
        await self.broker.publish("confirmed/" + msg_id, result)
        return Publish.CONSUME


run(Holder(), sys.argv[1])
'''

# A PUBACK that comes at all comes within this long after its release; the holds below last
# longer than the test waits for "no PUBACK yet".
QUIET = 1.0


@pytest.fixture
def extension(tmp_path):
    script = tmp_path / "holder_ext.py"
    script.write_text(EXT)
    ext = ExtProcess([sys.executable, str(script), "127.0.0.1:0"]).start()
    yield ext
    ext.stop()


def holding_broker(broker_factory, tmp_path, failed_action, hold_timeout="60s"):
    b = start(broker_factory, tmp_path, files={"ext/hold_hooks.py": HOOKS},
              config=driver_toml("python3", path="ext", init_module="hold_hooks",
                                 failed_action=failed_action, hold_timeout=hold_timeout))
    wait_driver(b)
    return b


def rc(r):
    return getattr(r, "value", r)


def no_puback(client, wait=QUIET):
    try:
        got = client.published.get(timeout=wait)
    except queue.Empty:
        return
    raise AssertionError(f"acknowledged while held: {got}")


def puback(client, mid, timeout=10):
    got_mid, code = client.published.get(timeout=timeout)
    assert got_mid == mid
    return rc(code)


def confirm_once(control, watcher, msg_id, ok=True):
    control.publish("confirm/x", f"{msg_id}:{'ok' if ok else 'fail'}".encode(), qos=1)
    m = watcher.until(f"confirmed/{msg_id}")[1]
    return m.payload


def confirm(control, watcher, msg_id, ok=True, attempts=50):
    """Asks the hook to confirm. The hold exists once the hook's answer reached the broker and
    the message was routed, which can be after the hook told us the id: a confirmation that
    comes too early is `not_held`, so it is asked again (bounded) until the PUBACK is owed."""
    for _ in range(attempts):
        got = confirm_once(control, watcher, msg_id, ok)
        if got != b"not_held":
            return got
    return got


def test_the_puback_arrives_only_after_the_hook_confirms(broker_factory, tmp_path):
    b = holding_broker(broker_factory, tmp_path, "deny")
    watcher = Client(b, protocol=5)
    watcher.connect()
    watcher.subscribe("held/#", 1)
    watcher.subscribe("confirmed/#", 1)
    control = Client(b, protocol=5)
    control.connect()
    pub = Client(b, protocol=5)
    pub.connect()

    info = pub.publish("hold/1", b"x", qos=1, wait=False)
    msg_id = watcher.until("held/1")[1].payload.decode()
    assert len(msg_id) == 32
    no_puback(pub)
    assert confirm(control, watcher, msg_id) == b"confirmed"
    # Nobody subscribes to hold/#: the success code is 0x10 No matching subscribers.
    assert puback(pub, info.mid) in (0x00, 0x10)
    # One release per hold.
    assert confirm_once(control, watcher, msg_id) == b"not_held"

    # A failure confirmation: PUBACK 0x80.
    info = pub.publish("hold/2", b"x", qos=1, wait=False)
    msg_id = watcher.until("held/2")[1].payload.decode()
    assert confirm(control, watcher, msg_id, ok=False) == b"confirmed"
    assert puback(pub, info.mid) == 0x80
    assert confirm_once(control, watcher, "0" * 32) == b"not_held"

    # MQTT 3.1.1: a confirmed hold is a plain PUBACK.
    pub3 = Client(b, protocol=4)
    pub3.connect()
    info = pub3.publish("hold/3", b"x", qos=1, wait=False)
    msg_id = watcher.until("held/3")[1].payload.decode()
    no_puback(pub3)
    assert confirm(control, watcher, msg_id) == b"confirmed"
    puback(pub3, info.mid)
    for c in (watcher, control, pub, pub3):
        c.disconnect()


@pytest.mark.parametrize("failed_action,code", [("deny", 0x80), ("ignore", 0x10)])
def test_a_hook_that_never_confirms_gets_its_policy_at_the_deadline(broker_factory, tmp_path,
                                                                     failed_action, code):
    b = holding_broker(broker_factory, tmp_path, failed_action, hold_timeout="2s")
    watcher = Client(b, protocol=5)
    watcher.connect()
    watcher.subscribe("held/#", 1)
    pub = Client(b, protocol=5)
    pub.connect()
    info = pub.publish("hold/1", b"x", qos=1, wait=False)
    watcher.until("held/1")
    assert puback(pub, info.mid, timeout=10) == code
    pub.disconnect()
    watcher.disconnect()


def test_mqtt3_has_no_negative_puback_so_the_connection_closes(broker_factory, tmp_path):
    b = holding_broker(broker_factory, tmp_path, "deny", hold_timeout="2s")
    watcher = Client(b, protocol=5)
    watcher.connect()
    watcher.subscribe("held/#", 1)
    pub = Client(b, protocol=4)
    pub.connect()
    # Never confirmed under deny: closed without a PUBACK (the client sends it again later).
    pub.publish("hold/1", b"x", qos=1, wait=False)
    watcher.until("held/1")
    pub.expect_disconnect(timeout=10)
    assert pub.published.empty()
    pub.c.loop_stop()
    watcher.disconnect()


def test_a_stream_extension_holds_and_confirms(broker_factory, extension):
    b = broker_factory(ext_toml({"name": "holder", "url": extension.url, "failed_action": "deny",
                                 "hold_timeout": "60s"}))
    ext_loaded(b, "holder")
    watcher = Client(b, protocol=5)
    watcher.connect()
    watcher.subscribe("held/#", 1)
    watcher.subscribe("confirmed/#", 1)
    control = Client(b, protocol=5)
    control.connect()
    pub = Client(b, protocol=5)
    pub.connect()
    info = pub.publish("hold/1", b"x", qos=1, wait=False)
    msg_id = watcher.until("held/1")[1].payload.decode()
    no_puback(pub)
    assert confirm(control, watcher, msg_id) == b"confirmed"
    assert puback(pub, info.mid) in (0x00, 0x10)
    assert confirm_once(control, watcher, msg_id) == b"not_held"
    info = pub.publish("hold/2", b"x", qos=1, wait=False)
    msg_id = watcher.until("held/2")[1].payload.decode()
    assert confirm(control, watcher, msg_id, ok=False) == b"confirmed"
    assert puback(pub, info.mid) == 0x80
    for c in (watcher, control, pub):
        c.disconnect()
