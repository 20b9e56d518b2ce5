"""Faults in Python hooks: an exception, a call past call_timeout, a worker that hangs (killed
after 3 x call_timeout and restarted), and `kill -9` of a worker under a steady QoS 1 publish
load — the broker keeps serving, the worker comes back with init() re-run, and with
failed_action = ignore no QoS 1 message is lost. Also: pool_size = 2 keeps each client's events
on one worker."""

import re

from harness import Client, barrier
from test_port_support import driver_toml, kill9_under_qos1_load, metric, start, wait_driver

FAULTY = '''
import os, time
from emqx_extension.hooks import EmqxHookSdk, hooks_handler


class Faulty(EmqxHookSdk):
    @hooks_handler()
    def on_client_authenticate(self, clientinfo, authresult, state):
        if clientinfo.username == "boom":
            raise ValueError("boom in authenticate")
        return None

    @hooks_handler()
    def on_client_check_acl(self, clientinfo, pubsub, topic, result, state):
        if topic.startswith("slow/"):
            time.sleep(1.6)
            return False
        return None

    @hooks_handler()
    def on_message_publish(self, message, state):
        if message.topic.startswith("hang/"):
            time.sleep(3600)
        return None


emqx_hook = Faulty(hook_module=f"{__name__}.emqx_hook")


def init():
    print(f"FAULTY init pid={os.getpid()}")
    return emqx_hook.start()
'''


def faulty_broker(broker_factory, tmp_path, **settings):
    cfg = driver_toml("python3", path="ext", init_module="faulty", call_timeout="1s", init_timeout="30s", **settings)
    b = start(broker_factory, tmp_path, files={"ext/faulty.py": FAULTY}, config=cfg)
    wait_driver(b)
    return b


def test_an_exception_is_no_decision_or_a_refusal(broker_factory, tmp_path):
    b = faulty_broker(broker_factory, tmp_path / "ignore")
    c = Client(b, client_id="exc-1", username="boom")
    assert c.connect()[1] == 0
    b.wait_log(r"hook failed: .*ValueError: boom in authenticate")
    assert metric(b, "python3", "client.authenticate")["failed"] == 1
    c.disconnect()

    b = faulty_broker(broker_factory, tmp_path / "deny", failed_action="deny")
    refused = Client(b, client_id="exc-2", username="boom").connect()[1]
    assert getattr(refused, "value", refused) in (5, 0x87)
    assert Client(b, client_id="exc-3", username="fine").connect()[1] == 0


def test_a_call_past_call_timeout_times_out_and_the_broker_goes_on(broker_factory, tmp_path):
    b = faulty_broker(broker_factory, tmp_path)
    sub = Client(b, client_id="slow-sub")
    sub.connect()
    sub.subscribe("#", 1)
    pub = Client(b, client_id="slow-pub", protocol=5)
    pub.connect()
    # The ACL call sleeps past the 1 s deadline: it times out, failed_action = ignore lets the
    # publish through (the hook's late False is dropped).
    rc = pub.publish("slow/1", b"late", qos=1, timeout=15)
    assert getattr(rc, "value", rc) == 0
    assert sub.expect(timeout=15).topic == "slow/1"
    assert metric(b, "python3", "client.authorize")["timed_out"] == 1
    assert [m.topic for m in barrier(pub, sub, "after/slow")] == []
    assert wait_driver(b)["restarts"] == 0
    sub.disconnect()
    pub.disconnect()


def test_a_hung_worker_is_killed_and_restarted_with_init(broker_factory, tmp_path):
    b = faulty_broker(broker_factory, tmp_path)
    first_pid = wait_driver(b)["workers"][0]["pid"]
    mark = b.mark()
    sub = Client(b, client_id="hang-sub")
    sub.connect()
    sub.subscribe("#", 1)
    pub = Client(b, client_id="hang-pub")
    pub.connect()
    pub.publish("hang/1", b"stuck", qos=1, timeout=15)
    assert sub.expect(timeout=15).topic == "hang/1"
    b.wait_log(r"worker hung: no answer for 3s .*killed", timeout=20, start=mark)
    b.wait_log(rf"FAULTY init pid=(?!{first_pid}\b)\d+", timeout=20, start=mark)
    d = wait_driver(b, restarts=1)
    assert d["workers"][0]["pid"] != first_pid
    pub.publish("after/hang", b"fine", qos=1)
    assert sub.expect().topic == "after/hang"
    sub.disconnect()
    pub.disconnect()


LOAD = '''
import os
from emqx_extension.hooks import EmqxHookSdk, hooks_handler


class Load(EmqxHookSdk):
    @hooks_handler()
    def on_client_check_acl(self, clientinfo, pubsub, topic, result, state):
        return True

    @hooks_handler()
    def on_message_publish(self, message, state):
        return None


emqx_hook = Load(hook_module=f"{__name__}.emqx_hook")


def init():
    print(f"LOAD init pid={os.getpid()}")
    return emqx_hook.start()
'''


def test_kill_9_under_qos1_load_loses_nothing(broker_factory, tmp_path):
    b = start(broker_factory, tmp_path, files={"ext/load.py": LOAD},
              config=driver_toml("python3", path="ext", init_module="load"))
    pid = wait_driver(b)["workers"][0]["pid"]
    mark = b.mark()
    total = 600
    kill9_under_qos1_load(b, pid, "load", total)
    b.wait_log(rf"LOAD init pid=(?!{pid}\b)\d+", start=mark)
    d = wait_driver(b, restarts=1)
    assert d["restarts"] == 1 and d["workers"][0]["pid"] != pid
    assert metric(b, "python3", "message.publish")["calls"] >= total


AFFINITY = '''
import os
from emqx_extension.hooks import EmqxHookSdk, hooks_handler


class Affinity(EmqxHookSdk):
    @hooks_handler()
    def on_client_connect(self, conninfo, props, state):
        print(f"AFF {conninfo.clientid} connect {os.getpid()}")

    @hooks_handler()
    def on_client_connected(self, clientinfo, state):
        print(f"AFF {clientinfo.clientid} connected {os.getpid()}")

    @hooks_handler()
    def on_message_publish(self, message, state):
        print(f"AFF {message.from_clientid} publish {os.getpid()}")

    @hooks_handler()
    def on_client_disconnected(self, clientinfo, reason, state):
        print(f"AFF {clientinfo.clientid} disconnected {os.getpid()}")


emqx_hook = Affinity(hook_module=f"{__name__}.emqx_hook")


def init():
    return emqx_hook.start()
'''


def test_pool_of_two_keeps_each_clients_events_on_one_worker(broker_factory, tmp_path):
    b = start(broker_factory, tmp_path, files={"ext/affinity.py": AFFINITY},
              config=driver_toml("python3", path="ext", init_module="affinity", pool_size=2))
    d = wait_driver(b)
    pids = {w["pid"] for w in d["workers"]}
    assert len(pids) == 2
    clients = [f"aff-{i}" for i in range(12)]
    for cid in clients:
        c = Client(b, client_id=cid)
        c.connect()
        c.publish("aff/t", b"x", qos=1)
        c.disconnect()
    seen = {}
    for cid in clients:
        b.wait_log(rf"AFF {cid} disconnected \d+")
        with b.cond:
            lines = [line for line in b.lines if re.search(rf"AFF {cid} ", line)]
        used = {int(re.search(r"AFF \S+ \w+ (\d+)", line).group(1)) for line in lines}
        assert len(lines) == 4 and len(used) == 1, lines
        seen[cid] = used.pop()
    assert set(seen.values()) == pids
