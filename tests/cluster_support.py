"""Cluster test support: real `nats-server` processes (one, or three clustered with JetStream) on
free loopback ports, hookmq nodes joined to them, and a loopback TCP proxy that can cut one
node's link to NATS (a partition) and restore it.

Every process is bounded in time and stopped by the fixture that started it.
"""

import os
import pathlib
import re
import selectors
import shutil
import socket
import subprocess
import threading
import time

from harness import BrokerProcess, Client

NATS_BIN = shutil.which("nats-server") or "/usr/sbin/nats-server"
READY = re.compile(r"Server is ready")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class NatsServer:
    """One nats-server with JetStream, optionally a member of a NATS cluster."""

    def __init__(self, workdir, name="n1", cluster_port=None, routes=()):
        self.workdir = pathlib.Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.name = name
        self.port = free_port()
        self.cluster_port = cluster_port
        self.routes = list(routes)
        self.proc = None
        self.lines = []
        self.cond = threading.Condition()

    @property
    def url(self):
        return f"nats://127.0.0.1:{self.port}"

    def start(self, timeout=20.0):
        conf = [
            f'server_name: "{self.name}"',
            "listen: 127.0.0.1:%d" % self.port,
            "jetstream {",
            f'  store_dir: "{self.workdir / "js"}"',
            "  max_memory_store: 64MB",
            "  max_file_store: 256MB",
            "}",
        ]
        if self.cluster_port:
            conf += [
                "cluster {",
                '  name: "hq"',
                f"  listen: 127.0.0.1:{self.cluster_port}",
                "  routes: [" + ", ".join(f"nats-route://127.0.0.1:{p}" for p in self.routes) + "]",
                "}",
            ]
        path = self.workdir / "nats.conf"
        path.write_text("\n".join(conf) + "\n")
        self.proc = subprocess.Popen(
            [NATS_BIN, "-c", str(path)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            errors="replace",
        )
        threading.Thread(target=self._pump, daemon=True).start()
        self.wait_log(READY, timeout)
        return self

    def _pump(self):
        for line in self.proc.stderr:
            with self.cond:
                self.lines.append(line.rstrip("\n"))
                self.cond.notify_all()
        with self.cond:
            self.cond.notify_all()

    def wait_log(self, rx, timeout=20.0):
        rx = re.compile(rx) if isinstance(rx, str) else rx
        deadline = time.monotonic() + timeout
        with self.cond:
            i = 0
            while True:
                while i < len(self.lines):
                    if rx.search(self.lines[i]):
                        return self.lines[i]
                    i += 1
                left = deadline - time.monotonic()
                if left <= 0 or self.proc.poll() is not None and i >= len(self.lines):
                    raise AssertionError(f"nats-server {self.name}: no {rx.pattern!r}\n" + "\n".join(self.lines[-20:]))
                self.cond.wait(min(left, 0.2))

    def stop(self, sig=15):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def nats_cluster(workdir, n=3):
    """`n` clustered nats-servers (JetStream), started; returns them once a JetStream
    meta leader is elected."""
    workdir = pathlib.Path(workdir)
    cports = [free_port() for _ in range(n)]
    servers = [
        NatsServer(workdir / f"nats{i}", name=f"s{i}", cluster_port=cports[i], routes=[p for j, p in enumerate(cports) if j != i])
        for i in range(n)
    ]
    for s in servers:
        s.start()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if any(any("JetStream cluster new metadata leader" in l or "Self is new JetStream cluster metadata leader" in l for l in s.lines) for s in servers):
            return servers
        time.sleep(0.2)
    raise AssertionError("no JetStream meta leader")


class Proxy:
    """A loopback TCP proxy to one upstream port. `cut()` closes every connection through it and
    refuses new ones (a partition as the node sees it); `heal()` lets connections through again."""

    def __init__(self, upstream_port):
        self.upstream = upstream_port
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.open = True
        self.pairs = []
        self.lock = threading.Lock()
        self.stopped = False
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self):
        return f"nats://127.0.0.1:{self.port}"

    def _accept(self):
        self.sock.settimeout(0.2)
        while not self.stopped:
            try:
                c, _ = self.sock.accept()
            except (socket.timeout, OSError):
                continue
            if not self.open:
                c.close()
                continue
            try:
                u = socket.create_connection(("127.0.0.1", self.upstream), timeout=2)
            except OSError:
                c.close()
                continue
            with self.lock:
                self.pairs.append((c, u))
            threading.Thread(target=self._pipe, args=(c, u), daemon=True).start()

    def _pipe(self, a, b):
        sel = selectors.DefaultSelector()
        sel.register(a, selectors.EVENT_READ, b)
        sel.register(b, selectors.EVENT_READ, a)
        try:
            while self.open and not self.stopped:
                for key, _ in sel.select(0.2):
                    data = key.fileobj.recv(65536)
                    if not data:
                        raise OSError("closed")
                    key.data.sendall(data)
        except OSError:
            pass
        finally:
            sel.close()
            for s in (a, b):
                try:
                    s.close()
                except OSError:
                    pass

    def cut(self):
        self.open = False
        with self.lock:
            pairs, self.pairs = self.pairs, []
        for a, b in pairs:
            for s in (a, b):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def heal(self):
        self.open = True

    def stop(self):
        self.stopped = True
        self.cut()
        self.sock.close()


def node_config(name, nats_urls, lease="3s", extra=""):
    """hookmq.toml of a cluster node."""
    urls = ", ".join(f'"{u}"' for u in nats_urls)
    return (
        f'[node]\nname = "{name}@127.0.0.1"\n'
        f'[cluster]\nenable = true\nname = "t{os.getpid()}"\nnats = [{urls}]\n'
        f'lease = "{lease}"\nrequest_timeout = "1s"\nconnect_timeout = "20s"\ndiscover = false\n'
        + extra
    )


def start_nodes(broker_factory, nats_urls, n, lease="3s", extra="", log=None):
    """`n` hookmq nodes joined to the same cluster; waits until each sees all the others."""
    nodes = []
    for i in range(n):
        cfg = node_config(f"n{i}", nats_urls if isinstance(nats_urls[0], str) else nats_urls[i], lease, extra)
        if log:
            cfg += f'\n[log]\nlevel = "{log}"\n'
        nodes.append(broker_factory(cfg))
    for node in nodes:
        deadline = time.monotonic() + 20
        while node.log_count(r"cluster member is up") < n - 1:
            assert time.monotonic() < deadline, "members did not see each other"
            time.sleep(0.1)
    return nodes


def await_route(publisher, subscriber, probe_topic, qos=0, timeout=15.0):
    """Publishes probes on `probe_topic` from `publisher` until `subscriber` receives one: the
    subscriber's filter is then routed from the publisher's node. Returns the number sent;
    later probe copies are for the caller to ignore."""
    deadline = time.monotonic() + timeout
    sent = 0
    while time.monotonic() < deadline:
        publisher.publish(probe_topic, b"probe", qos=qos, wait=qos > 0)
        sent += 1
        try:
            while True:
                m = subscriber.messages.get(timeout=0.2)
                if m.topic == probe_topic:
                    return sent
        except Exception:  # queue.Empty
            continue
    raise AssertionError(f"{probe_topic} never routed to {subscriber.client_id}")


def drain(client, ignore, wait=0.3):
    """Messages `client` receives within `wait` seconds, without those on topics in `ignore`."""
    out = []
    deadline = time.monotonic() + wait
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return out
        try:
            m = client.messages.get(timeout=left)
        except Exception:
            return out
        if m.topic not in ignore:
            out.append(m)


__all__ = ["NatsServer", "nats_cluster", "Proxy", "node_config", "start_nodes", "await_route", "drain", "Client", "BrokerProcess", "free_port"]


def fence(publisher, subscriber, topic, qos=1, timeout=15.0):
    """Like harness.barrier, but the barrier is told apart by a unique payload, so earlier
    messages on the same topic (route probes) do not end the wait. Returns the messages received
    before it."""
    token = f"fence-{time.monotonic_ns()}".encode()
    publisher.publish(topic, token, qos=qos)
    before = []
    while True:
        m = subscriber.expect(timeout)
        if m.payload == token:
            return before
        before.append(m)


def _remaining_length(n):
    out = bytearray()
    while True:
        b, n = n % 128, n // 128
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _text(s):
    b = s.encode()
    return len(b).to_bytes(2, "big") + b


class RawClient:
    """A bare MQTT 3.1.1 client on a blocking socket, for the tests where a client must stop
    reading: after `connect` and `subscribe` nothing is read unless asked, so whatever the broker
    sends (the close of a takeover, a backlog of messages) stays unread in its socket. `rcvbuf`
    shrinks the socket's receive buffer so a backlog fills it quickly."""

    def __init__(self, node, client_id, clean=False, rcvbuf=None, timeout=10.0):
        self.sock = socket.socket()
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(timeout)
        self.sock.connect(("127.0.0.1", node.port))
        self.client_id = client_id
        self.clean = clean

    def _read_packet(self):
        first = self._read_exact(1)[0]
        n, shift = 0, 0
        while True:
            b = self._read_exact(1)[0]
            n |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                break
        return first, self._read_exact(n)

    def _read_exact(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise ConnectionError("closed by the broker")
            buf += chunk
        return buf

    def connect(self):
        """Sends CONNECT; returns (session_present, return_code) from the CONNACK."""
        body = _text("MQTT") + bytes([4, 0x02 if self.clean else 0x00, 0, 60]) + _text(self.client_id)
        self.sock.sendall(b"\x10" + _remaining_length(len(body)) + body)
        first, rest = self._read_packet()
        assert first == 0x20, hex(first)
        return bool(rest[0] & 1), rest[1]

    def subscribe(self, topic, qos=1, pid=1):
        body = pid.to_bytes(2, "big") + _text(topic) + bytes([qos])
        self.sock.sendall(b"\x82" + _remaining_length(len(body)) + body)
        first, rest = self._read_packet()
        assert first == 0x90 and rest[2] == qos, (hex(first), rest)

    def publish(self, topic, payload):
        """A QoS 0 PUBLISH (nothing to wait for)."""
        body = _text(topic) + payload
        self.sock.sendall(b"\x30" + _remaining_length(len(body)) + body)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass
