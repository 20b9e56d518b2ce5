#!/usr/bin/env python3
"""Measures broker memory (VmRSS / VmHWM from /proc) from outside, for docs/performance.md and
docs/reliability.md.

`idle` (the default): N idle MQTT 3.1.1 clients, each connected with one subscription, side by
side for hookmq and Mosquitto: bytes per connection ((RSS with N clients - RSS before) / N), the
peak, and the RSS after every client disconnected (against the start: the memory the broker gives
back). Several rounds on one broker process show whether a second wave reuses the first's memory.
Connections come from several loopback source addresses (127.0.0.x) so 100k fit in the port
range; the script raises its own and the brokers' open-file limit (root may raise the hard one).

`abuse`: two abuse patterns against hookmq:
1. 1,000 TCP connections that never send CONNECT (held until the broker closes them);
2. a subscriber that never reads while a publisher sends 1 KB QoS 0 messages at full rate.

Usage:
  scripts/measure-memory.py [idle] [--connections 10000] [--rounds 2] [--brokers hookmq,mosquitto]
                            [--hookmq target/release/hookmq] [--mosquitto /usr/sbin/mosquitto]
                            [--settle 3]
  scripts/measure-memory.py abuse [path/to/hookmq]
Bounded in time; 127.0.0.1 only (127.0.0.x as source addresses). Prints one line per figure.
This is a measurement, not a test: it sleeps to let RSS settle and asserts nothing.
"""

import argparse
import os
import pathlib
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

# Source addresses are changed every this many connections (the ephemeral port range is ~28k).
PER_SOURCE = 20000
BATCH = 64


def rss_kb(pid, field="VmRSS"):
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def open_fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def raise_nofile(wanted):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < wanted:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, wanted))
            return wanted
        except (ValueError, OSError):
            wanted = hard
    resource.setrlimit(resource.RLIMIT_NOFILE, (wanted if hard == resource.RLIM_INFINITY else min(wanted, hard), hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Broker:
    """hookmq or mosquitto on a free loopback port, with the same limits as bench/run.sh."""

    def __init__(self, kind, binary, workdir, wrap=""):
        self.kind, self.port = kind, free_port()
        work = pathlib.Path(workdir)
        if kind == "hookmq":
            conf = work / "hookmq.toml"
            conf.write_text(
                f'[listeners.tcp.default]\nbind = "127.0.0.1:{self.port}"\n'
                '[mqtt]\nmax_inflight = 32\nmax_queue_len = 1000\n'
                '[sys]\nenable = false\n[api]\nenable = false\n[log]\nlevel = "warn"\n'
            )
            cmd = wrap.split() + [binary, "start", "--config", str(conf)]
        else:
            conf = work / "mosquitto.conf"
            conf.write_text(
                f"listener {self.port} 127.0.0.1\nallow_anonymous true\nmax_inflight_messages 32\n"
                "max_queued_messages 1000\npersistence false\nset_tcp_nodelay true\nsys_interval 0\n"
                "log_dest stderr\nlog_type error\nlog_type warning\n"
            )
            cmd = [binary, "-c", str(conf)]
        self.log = open(work / f"{kind}.log", "w")
        self.proc = subprocess.Popen(cmd, cwd=work, stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log)
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"{kind} did not start; see {work / (kind + '.log')}")
                time.sleep(0.05)
        # The probe connection above must be gone before the baseline is taken.
        self.settle_fds(None)
        self.fds = open_fds(self.proc.pid)

    @property
    def pid(self):
        return self.proc.pid

    def settle_fds(self, target, timeout=60.0):
        """Waits until the broker holds `target` descriptors (or, with None, until the count
        stops changing), bounded."""
        deadline = time.monotonic() + timeout
        last, stable = -1, 0
        while time.monotonic() < deadline:
            n = open_fds(self.pid)
            if target is not None and n <= target:
                return n
            stable = stable + 1 if n == last else 0
            if target is None and stable >= 5:
                return n
            last = n
            time.sleep(0.1)
        return open_fds(self.pid)

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        self.log.close()


def mqtt_str(b):
    return len(b).to_bytes(2, "big") + b


def connect_packets(i, tag):
    """CONNECT (3.1.1, clean session, keep alive 600 s) and one SUBSCRIBE at QoS 1, in one write."""
    cid = f"{tag}-{i}".encode()
    body = b"\x00\x04MQTT\x04\x02" + (600).to_bytes(2, "big") + mqtt_str(cid)
    connect = b"\x10" + bytes([len(body)]) + body
    topic = f"idle/{i}/state".encode()
    sub_body = b"\x00\x01" + mqtt_str(topic) + b"\x01"
    return connect + b"\x82" + bytes([len(sub_body)]) + sub_body


def recv_exact(s, n):
    got = b""
    while len(got) < n:
        chunk = s.recv(n - len(got))
        if not chunk:
            raise ConnectionError("closed by the broker")
        got += chunk
    return got


def open_clients(port, n, tag):
    socks = []
    for start in range(0, n, BATCH):
        batch = []
        for i in range(start, min(n, start + BATCH)):
            s = socket.socket()
            s.setsockopt(socket.IPPROTO_IP, 24, 1)  # IP_BIND_ADDRESS_NO_PORT: port picked at connect
            s.bind((f"127.0.0.{2 + i // PER_SOURCE}", 0))
            s.settimeout(30)
            s.connect(("127.0.0.1", port))
            s.sendall(connect_packets(i, tag))
            batch.append(s)
        for s in batch:
            # CONNACK (4 bytes) then SUBACK (5 bytes).
            ack = recv_exact(s, 9)
            if ack[0] != 0x20 or ack[3] != 0 or ack[4] != 0x90 or ack[8] != 1:
                raise SystemExit(f"unexpected answer {ack.hex()}")
        socks.extend(batch)
    return socks


def close_clients(socks):
    for s in socks:
        try:
            s.sendall(b"\xe0\x00")
        except OSError:
            pass
        s.close()


def idle(args):
    n = args.connections
    limit = raise_nofile(n + 2000)
    if limit < n + 100:
        raise SystemExit(f"open-file limit {limit} is too low for {n} connections (run as root or raise it)")
    binaries = {"hookmq": os.path.abspath(args.hookmq), "mosquitto": args.mosquitto}
    print(f"{n} idle MQTT 3.1.1 clients with one subscription each; {args.rounds} round(s); "
          f"load average {os.getloadavg()[0]:.2f}")
    for kind in args.brokers.split(","):
        with tempfile.TemporaryDirectory() as tmp:
            b = Broker(kind, binaries[kind], tmp, args.wrap)
            time.sleep(0.5)
            base = rss_kb(b.pid)
            line = [f"{kind}: start RSS {base} kB"]
            for r in range(args.rounds):
                t0 = time.monotonic()
                socks = open_clients(b.port, n, f"m{r}")
                took = time.monotonic() - t0
                time.sleep(1.0)  # let the broker finish its work; the RSS is then stable
                held = rss_kb(b.pid)
                close_clients(socks)
                b.settle_fds(b.fds)
                time.sleep(1.0)
                after = rss_kb(b.pid)
                # hookmq hands freed memory back on a timer (limits.memory_trim_interval, 1 s):
                # read again once it had the chance.
                time.sleep(args.settle)
                settled = rss_kb(b.pid)
                line.append(
                    f"round {r + 1}: {(held - base) * 1024 / n:.0f} B/conn (RSS {held} kB, connected in {took:.1f} s), "
                    f"after close RSS {after} kB ({(after - base) * 100 / base:+.0f} % of start), "
                    f"{args.settle:.0f} s later {settled} kB ({(settled - base) * 100 / base:+.0f} %)"
                )
            line.append(f"peak (VmHWM) {rss_kb(b.pid, 'VmHWM')} kB")
            b.stop()
            print("\n  ".join(line), flush=True)


def abuse(binary):
    os.environ["HOOKMQ_BIN"] = binary
    import harness

    harness.BIN = binary
    with tempfile.TemporaryDirectory() as tmp:
        from harness import BrokerProcess, Client

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


def main():
    argv = sys.argv[1:]
    if argv[:1] == ["abuse"]:
        abuse(argv[1] if len(argv) > 1 else str(ROOT / "target" / "release" / "hookmq"))
        return
    if argv[:1] == ["idle"]:
        argv = argv[1:]
    ap = argparse.ArgumentParser(prog="measure-memory.py idle")
    ap.add_argument("--connections", type=int, default=10000)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--settle", type=float, default=3.0, help="seconds before the second after-close reading")
    ap.add_argument("--brokers", default="hookmq,mosquitto")
    ap.add_argument("--hookmq", default=str(ROOT / "target" / "release" / "hookmq"))
    # e.g. "heaptrack -o /tmp/ht": a heap profile of hookmq under the same load (then RSS is the
    # profiler's, not the broker's).
    ap.add_argument("--wrap", default="", help="command prefix for hookmq (a heap profiler)")
    ap.add_argument("--mosquitto", default=shutil.which("mosquitto") or "/usr/sbin/mosquitto")
    idle(ap.parse_args(argv))


if __name__ == "__main__":
    main()
