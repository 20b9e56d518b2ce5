"""The global memory cap (`limits.memory_high_watermark`) with real clients: retained payloads
push the broker's resident memory over the watermark; new connections are then refused (MQTT 5
CONNACK 0x89 Server busy, MQTT 3.1.1 return code 3) and a publisher's next PUBLISH is not read;
deleting the payloads brings memory back and both resume. The episode is logged once each way
and counted in /metrics and $SYS.

The broker runs with glibc's mmap threshold pinned (GLIBC_TUNABLES), so the freed payloads go
back to the operating system at once instead of staying in the allocator's free lists; that is
the test's way to lower memory on demand, not something the cap needs."""

import time
import urllib.request

from harness import Client
from rawmqtt import Raw, connect_v4
from test_port_support import API, url

PAYLOAD = 512 * 1024
HIGH = "memory above limits.memory_high_watermark: refusing"
ENV = {"GLIBC_TUNABLES": "glibc.malloc.mmap_threshold=131072"}


def resident(b):
    with open(f"/proc/{b.proc.pid}/statm") as f:
        return int(f.read().split()[1]) * 4096


def test_above_the_watermark_new_clients_wait_and_publishers_pause(broker_factory, tmp_path):
    # The watermark sits 24 MB above what an idle broker with one client holds.
    idle = broker_factory(env=ENV, workdir=tmp_path / "idle")
    probe = Client(idle)
    probe.connect()
    watermark = resident(idle) + (24 << 20)
    idle.stop()

    b = broker_factory(
        API + f'[limits]\nmemory_high_watermark = {watermark}\nmemory_check_interval = "20ms"\n'
        '[sys]\ninterval = "1s"\n',
        env=ENV, workdir=tmp_path / "capped")
    pub = Client(b, protocol=5)
    pub.connect()
    payload = b"x" * PAYLOAD
    topics = []
    above = None
    for i in range(200):  # at most 100 MB
        topic = f"big/{i}"
        info = pub.publish(topic, payload, qos=1, retain=True, wait=False)
        topics.append(topic)
        deadline = time.monotonic() + 10
        while not info.is_published():
            if b.log_count(HIGH):
                break
            assert time.monotonic() < deadline, "publish neither acknowledged nor paused"
            time.sleep(0.01)
        if b.log_count(HIGH):
            above = i
            break
    assert above is not None, f"resident memory never passed {watermark}"

    # New connections are refused while memory is high.
    busy = Client(b, protocol=5)
    _, rc, _ = busy.connect()
    assert rc == 0x89
    r = Raw(b.port)
    r.send(connect_v4("raw-busy"))
    assert r.expect_closed() == [(0x20, b"\x00\x03")]

    # The publisher's next PUBLISH stays unread (its reading may have paused already, before
    # the last big one).
    pending = pub.publish("after/high", b"waits", qos=1, wait=False)
    b.wait_log("reading paused before a PUBLISH")
    assert not pending.is_published()
    assert b.log_count("reading paused before a PUBLISH") == 1

    # Freeing the payloads brings memory back under 95 % of the watermark: everything resumes.
    for topic in topics:
        req = urllib.request.Request(f"{url(b)}/api/v1/retained/{topic}", method="DELETE")
        with urllib.request.urlopen(req, timeout=10) as resp:
            assert resp.status == 204
    b.wait_log("memory back under limits.memory_high_watermark", timeout=20)
    pending.wait_for_publish(10)
    assert pending.is_published()
    again = Client(b, protocol=5)
    _, rc, _ = again.connect()
    assert rc == 0
    assert b.log_count(HIGH) == 1, "logged once per episode"

    with urllib.request.urlopen(url(b) + "/metrics", timeout=10) as resp:
        metrics = resp.read().decode()
    hits = [l for l in metrics.splitlines() if 'limit="memory_high_watermark"' in l]
    assert hits and float(hits[0].split()[-1]) >= 3, hits
    sys_sub = Client(b)
    sys_sub.connect()
    sys_sub.subscribe("$SYS/brokers/hookmq@127.0.0.1/memory/high_watermark_episodes", 0)
    # The retained value may predate the episode; the next interval's is current.
    seen = [sys_sub.expect(timeout=15).payload for _ in range(2)]
    assert b"1" in seen, seen

