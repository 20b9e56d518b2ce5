#!/usr/bin/env python3
"""Measures the broker's memory (VmRSS / VmHWM from /proc) under two abuse patterns, for
docs/reliability.md:

1. 1,000 TCP connections that never send CONNECT (held until the broker closes them);
2. a subscriber that never reads while a publisher sends 1 KB QoS 0 messages at full rate.

Usage: scripts/measure-memory.py [path/to/hookmq]   (default: target/release/hookmq)
Bounded in time; 127.0.0.1 only. Prints one line per measurement.
"""

import os
import pathlib
import socket
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from harness import BrokerProcess, Client  # noqa: E402


def rss_kb(pid, field="VmRSS"):
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else str(ROOT / "target" / "release" / "hookmq")
    os.environ["HOOKMQ_BIN"] = binary
    import harness

    harness.BIN = binary
    with tempfile.TemporaryDirectory() as tmp:
        b = BrokerProcess(tmp, '[mqtt]\nconnect_timeout = "10s"\nmax_queue_len = 1000\n[sys]\nenable = false\n[log]\nlevel = "warn,hookmq=info"\n').start()
        pid = b.proc.pid
        base = rss_kb(pid)
        print(f"baseline RSS: {base} kB")

        socks = [socket.create_connection(("127.0.0.1", b.port), timeout=10) for _ in range(1000)]
        time.sleep(1.0)  # let the broker accept them all; this is a measurement, not a test
        held = rss_kb(pid)
        print(f"1000 connections without CONNECT: RSS {held} kB (+{(held - base) / 1000:.1f} kB per connection)")
        for s in socks:
            s.settimeout(20)
            try:
                s.recv(1)
            except OSError:
                pass
            s.close()
        after = rss_kb(pid)
        print(f"after the broker closed them (connect_timeout): RSS {after} kB")

        stuck = socket.create_connection(("127.0.0.1", b.port), timeout=10)
        stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        cid = b"never-reads"
        stuck.sendall(b"\x10" + bytes([12 + len(cid)]) + b"\x00\x04MQTT\x04\x02\x00\x3c" + len(cid).to_bytes(2, "big") + cid)
        stuck.recv(4)
        topic = b"flood/#"
        body = b"\x00\x01" + len(topic).to_bytes(2, "big") + topic + b"\x00"
        stuck.sendall(b"\x82" + bytes([len(body)]) + body)
        stuck.recv(5)
        pub = Client(b)
        pub.connect()
        payload = b"x" * 1024
        samples = []
        start = time.monotonic()
        sent = 0
        while time.monotonic() - start < 10:
            for _ in range(1000):
                pub.publish("flood/t", payload, qos=0, wait=False)
            sent += 1000
            samples.append(rss_kb(pid))
        pub.publish("flood/t", b"last", qos=1)
        peak = rss_kb(pid, "VmHWM")
        print(
            f"stuck subscriber, {sent} x 1 KB messages in 10 s: RSS first {samples[0]} kB, "
            f"last {samples[-1]} kB, max sampled {max(samples)} kB, peak (VmHWM) {peak} kB"
        )
        b.stop()


if __name__ == "__main__":
    main()
