"""Test harness: start the real hookmq binary on a free port and drive it with real MQTT clients.

`BrokerProcess` runs `hookmq start` with a generated config and waits for its "hookmq ready" log
line; `Client` wraps a paho-mqtt client with queues so tests wait for events with bounded timeouts
instead of sleeping.
"""

import os
import pathlib
import queue
import re
import signal
import subprocess
import threading
import time
import uuid

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

ROOT = pathlib.Path(__file__).resolve().parents[1]
BIN = os.environ.get("HOOKMQ_BIN", str(ROOT / "target" / "debug" / "hookmq"))
READY = re.compile(r"hookmq ready.*listener=(\S+).*addr=(\S+)")
TIMEOUT = 10.0

PROTOCOLS = {3: mqtt.MQTTv31, 4: mqtt.MQTTv311, 5: mqtt.MQTTv5}


class BrokerProcess:
    """A hookmq process with its log captured line by line."""

    def __init__(self, workdir, config="", env=None, args=(), default_listener=True):
        self.workdir = pathlib.Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.config_path = self.workdir / "hookmq.toml"
        if default_listener and "[listeners" not in config:
            config = '[listeners.tcp.default]\nbind = "127.0.0.1:0"\n' + config
        if "[api]" not in config:
            config += '\n[api]\nbind = "127.0.0.1:0"\n'
        if "[log]" not in config:
            config += '\n[log]\nlevel = "info,hookmq_broker=debug,hookmq_hooks=debug,hookmq_port=debug,hookmq_exhook=debug,hookmq_ext_client=debug"\n'
        self.config_path.write_text(config)
        self.env = dict(os.environ)
        self.env.pop("RUST_LOG", None)
        self.env.update(env or {})
        self.args = list(args)
        self.lines = []
        self.cond = threading.Condition()
        self.listeners = {}
        self.proc = None

    def start(self, timeout=30.0):
        cmd = [BIN, "start", "--config", str(self.config_path), *self.args]
        self.proc = subprocess.Popen(
            cmd,
            cwd=self.workdir,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            errors="replace",
        )
        threading.Thread(target=self._pump, daemon=True).start()
        self.wait_log(r"hookmq started", timeout=timeout)
        for line in list(self.lines):
            m = READY.search(line)
            if m:
                host, _, port = m.group(2).rpartition(":")
                self.listeners[m.group(1)] = (host, int(port))
        return self

    def _pump(self):
        for line in self.proc.stderr:
            with self.cond:
                self.lines.append(line.rstrip("\n"))
                self.cond.notify_all()
        with self.cond:
            self.cond.notify_all()

    @property
    def port(self):
        return self.listeners["tcp:default"][1]

    @property
    def host(self):
        return "127.0.0.1"

    def wait_log(self, pattern, timeout=TIMEOUT, start=0):
        """Waits for a log line matching `pattern` (a regex or string); returns it."""
        rx = re.compile(pattern) if isinstance(pattern, str) else pattern
        deadline = time.monotonic() + timeout
        with self.cond:
            i = start
            while True:
                while i < len(self.lines):
                    if rx.search(self.lines[i]):
                        return self.lines[i]
                    i += 1
                left = deadline - time.monotonic()
                if left <= 0 or (self.proc.poll() is not None and i >= len(self.lines)):
                    tail = "\n".join(self.lines[-40:])
                    raise AssertionError(f"no log line matching {rx.pattern!r}; exit={self.proc.poll()}\n{tail}")
                self.cond.wait(min(left, 0.2))

    def log_count(self, pattern):
        rx = re.compile(pattern)
        with self.cond:
            return sum(1 for line in self.lines if rx.search(line))

    def mark(self):
        """The current log position, to wait for lines after it."""
        with self.cond:
            return len(self.lines)

    def stop(self, sig=signal.SIGTERM, timeout=15.0):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        return self.proc.returncode if self.proc else None


class Client:
    """A paho-mqtt client whose callbacks feed queues."""

    def __init__(self, broker, client_id=None, protocol=4, clean=True, username=None, password=None, keepalive=60, port=None):
        self.broker = broker
        self.port = port or broker.port
        self.protocol = protocol
        self.client_id = client_id if client_id is not None else f"c-{uuid.uuid4().hex[:10]}"
        kwargs = {"client_id": self.client_id, "protocol": PROTOCOLS[protocol]}
        if protocol != 5:
            kwargs["clean_session"] = clean
        self.clean = clean
        self.keepalive = keepalive
        self.c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, **kwargs)
        if username is not None:
            self.c.username_pw_set(username, password)
        self.messages = queue.Queue()
        self.connacks = queue.Queue()
        self.disconnects = queue.Queue()
        self.subacks = queue.Queue()
        self.unsubacks = queue.Queue()
        self.published = queue.Queue()
        self.c.on_message = lambda c, u, m: self.messages.put(m)
        self.c.on_connect = lambda c, u, flags, rc, props: self.connacks.put((flags, rc, props))
        self.c.on_disconnect = lambda c, u, flags, rc, props: self.disconnects.put(rc)
        self.c.on_subscribe = lambda c, u, mid, rcs, props: self.subacks.put((mid, rcs))
        self.c.on_unsubscribe = lambda c, u, mid, rcs, props: self.unsubacks.put((mid, rcs))
        self.c.on_publish = lambda c, u, mid, rc, props: self.published.put((mid, rc))

    def will(self, topic, payload, qos=0, retain=False, properties=None):
        self.c.will_set(topic, payload, qos, retain, properties)
        return self

    def connect(self, properties=None, clean_start=None, timeout=TIMEOUT):
        """Connects and returns (session_present, reason_code, properties)."""
        kwargs = {}
        if self.protocol == 5:
            kwargs["clean_start"] = self.clean if clean_start is None else clean_start
            kwargs["properties"] = properties
        self.c.connect("127.0.0.1", self.port, self.keepalive, **kwargs)
        self.c.loop_start()
        flags, rc, props = self.connacks.get(timeout=timeout)
        return flags.session_present, rc, props

    def subscribe(self, topic, qos=0, options=None, properties=None, timeout=TIMEOUT):
        """Subscribes and returns the reason codes of the SUBACK."""
        if options is not None:
            result, mid = self.c.subscribe(topic, options=options, properties=properties)
        else:
            result, mid = self.c.subscribe(topic, qos, properties=properties)
        assert result == mqtt.MQTT_ERR_SUCCESS
        got_mid, rcs = self.subacks.get(timeout=timeout)
        assert got_mid == mid
        return rcs

    def unsubscribe(self, topic, timeout=TIMEOUT):
        result, mid = self.c.unsubscribe(topic)
        assert result == mqtt.MQTT_ERR_SUCCESS
        got_mid, rcs = self.unsubacks.get(timeout=timeout)
        assert got_mid == mid
        return rcs

    def publish(self, topic, payload=b"", qos=0, retain=False, properties=None, wait=True, timeout=TIMEOUT):
        """Publishes; for QoS > 0 waits for the acknowledgement and returns its reason code."""
        info = self.c.publish(topic, payload, qos, retain, properties)
        if not wait:
            return info
        info.wait_for_publish(timeout)
        assert info.is_published(), f"publish {topic!r} not acknowledged"
        while True:
            mid, rc = self.published.get(timeout=timeout)
            if mid == info.mid:
                return rc

    def expect(self, timeout=TIMEOUT):
        """The next message received."""
        try:
            return self.messages.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"{self.client_id}: no message within {timeout}s") from None

    def expect_disconnect(self, timeout=TIMEOUT):
        try:
            return self.disconnects.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"{self.client_id}: not disconnected within {timeout}s") from None

    def until(self, topic, timeout=TIMEOUT):
        """Messages received before the first one on `topic` (a barrier), and that one."""
        before = []
        while True:
            m = self.expect(timeout)
            if m.topic == topic:
                return before, m
            before.append(m)

    def disconnect(self, properties=None, reasoncode=None, wait=False):
        """Sends DISCONNECT. paho returns before the broker has read it; with `wait`, returns once
        the broker logged the connection's close (the session is then offline, or about to be)."""
        mark = self.broker.mark() if wait else 0
        self.c.disconnect(reasoncode=reasoncode, properties=properties)
        self.c.loop_stop()
        if wait:
            self.broker.wait_log(rf'clientid="{re.escape(self.client_id)}".*connection closed', start=mark)

    def drop(self):
        """Closes the socket without DISCONNECT (an abnormal close: the will is published)."""
        self.c.loop_stop()
        sock = self.c.socket()
        if sock is not None:
            sock.close()


def props(packet_type, **values):
    """MQTT 5 properties, e.g. props(PacketTypes.CONNECT, SessionExpiryInterval=60)."""
    p = Properties(packet_type)
    for k, v in values.items():
        setattr(p, k, v)
    return p


def barrier(publisher, subscriber, topic="barrier/x", qos=1):
    """Publishes a barrier message and returns the messages the subscriber got before it.

    The subscriber must be subscribed to `topic`. Since the broker keeps each publisher's order
    towards each subscriber, anything published earlier has arrived once the barrier does. paho
    hands a QoS 2 message to the application only at PUBREL, so after QoS 2 messages the
    barrier must be QoS 2 too, or a QoS 1 barrier may overtake them inside the client.
    """
    publisher.publish(topic, b"barrier", qos=qos)
    before, _ = subscriber.until(topic)
    return before


__all__ = ["BrokerProcess", "Client", "PacketTypes", "props", "barrier", "mqtt", "ROOT", "BIN", "TIMEOUT"]
