"""The Python SDK runs different clients' handlers side by side and each client's in order, on
one stream (pool_size = 1), with the real broker and paho clients: a login whose handler waits
does not hold up another client's login, and observe-only events handled by coroutines that
finish out of order still reach each client's handler in the order the client published."""

import json
import queue
import sys
import time

from ext_support import ExtProcess, ext_loaded, ext_toml
from harness import Client

EXTENSION = '''
import asyncio
import json
import random
import sys

from hookmq_ext import Auth, Extension, hook, serve


class Lanes(Extension):
    released = None

    @hook("client.authenticate")
    async def login(self, event):
        if self.released is None:
            self.released = asyncio.Event()
        cid = event.clientinfo.clientid
        if cid == "slow":
            print("slow is waiting", flush=True)
            try:
                # Released by the next login: if that one cannot run meanwhile, this one times
                # out and is refused.
                await asyncio.wait_for(self.released.wait(), 8)
            except asyncio.TimeoutError:
                print("slow was never released", flush=True)
                return Auth.DENY
        else:
            self.released.set()
        return Auth.ALLOW

    @hook("message.publish", topics=["order/#"], observe=True)
    async def record(self, event):
        # Coroutines of one client that would finish out of order if run side by side.
        await asyncio.sleep(random.random() * 0.004)
        m = event.message
        print("seen " + json.dumps([getattr(m, "from"), m.payload.decode()]), flush=True)


asyncio.run(serve(Lanes(), sys.argv[1]))
'''


def start(tmp_path, broker_factory):
    script = tmp_path / "lanes_ext.py"
    script.write_text(EXTENSION)
    ext = ExtProcess([sys.executable, str(script), "127.0.0.1:0"]).start()
    config = "[mqtt]\nallow_anonymous = false\n" + ext_toml(
        {"name": "lanes", "url": ext.url, "pool_size": 1, "request_timeout": "20s"})
    b = broker_factory(config)
    ext_loaded(b, "lanes")
    return ext, b


def wait_line(ext, prefix, timeout=15.0):
    """The extension's next output line that starts with `prefix`."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            line = ext.lines.get(timeout=max(0.05, deadline - time.monotonic()))
        except queue.Empty:
            raise AssertionError(f"no {prefix!r} line within {timeout}s: {ext.all[-10:]}") from None
        if line is None:
            raise AssertionError(f"the extension exited: {ext.all[-20:]}")
        if line.startswith(prefix):
            return line.rstrip("\n")


def test_a_waiting_login_does_not_hold_up_another(tmp_path, broker_factory):
    ext, b = start(tmp_path, broker_factory)
    try:
        slow = Client(b, client_id="slow", username="u", password="p")
        slow.c.connect("127.0.0.1", b.port, 60)
        slow.c.loop_start()
        wait_line(ext, "slow is waiting")
        # The same stream, while slow's handler waits: answered at once.
        fast = Client(b, client_id="fast", username="u", password="p")
        _, rc, _ = fast.connect(timeout=5)
        assert rc == 0
        # fast's handler released slow's, which now lets it in.
        _flags, rc, _ = slow.connacks.get(timeout=10)
        assert rc == 0
        assert not any("never released" in line for line in ext.all)
        fast.disconnect()
        slow.disconnect()
    finally:
        ext.stop()


def test_each_clients_events_stay_in_order(tmp_path, broker_factory):
    ext, b = start(tmp_path, broker_factory)
    try:
        clients = [Client(b, client_id=f"pub{i}", username="u", password="p") for i in range(4)]
        for c in clients:
            assert c.connect()[1] == 0
        n = 40
        for k in range(n):
            for c in clients:
                c.publish(f"order/{c.client_id}", str(k).encode(), qos=1, wait=False)
        seen = {c.client_id: [] for c in clients}
        for _ in range(n * len(clients)):
            cid, payload = json.loads(wait_line(ext, "seen ")[len("seen "):])
            seen[cid].append(int(payload))
        for cid, got in seen.items():
            assert got == list(range(n)), f"{cid}: {got}"
        for c in clients:
            c.disconnect()
    finally:
        ext.stop()
