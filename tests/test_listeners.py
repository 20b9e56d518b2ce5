"""Listener kinds with real clients: TLS (with and without a client certificate, CN/DN as user
name), WebSocket and WebSocket over TLS, publish/subscribe across listener kinds, and
per-listener connection limits. The test CA is made in the test with trustme."""

import socket
import ssl

import pytest
import trustme

from harness import Client, mqtt
from test_exhook_support import exhook_stubs, hook_servers  # noqa: F401


@pytest.fixture(scope="module")
def ca():
    return trustme.CA()


def pem_files(tmp_path, ca):
    server = ca.issue_cert("localhost", "127.0.0.1")
    server.private_key_and_cert_chain_pem.write_to_path(str(tmp_path / "server.pem"))
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    return tmp_path / "server.pem", tmp_path / "ca.pem"


def tls_config(tmp_path, ca, verify="none", extra=""):
    server, ca_pem = pem_files(tmp_path, ca)
    return f"""
[listeners.tcp.default]
bind = "127.0.0.1:0"
[listeners.tls.default]
bind = "127.0.0.1:0"
certfile = "{server}"
keyfile = "{server}"
cacertfile = "{ca_pem}"
verify = "{verify}"
{extra}
[listeners.ws.default]
bind = "127.0.0.1:0"
[listeners.wss.default]
bind = "127.0.0.1:0"
certfile = "{server}"
keyfile = "{server}"
"""


class TlsClient(Client):
    def __init__(self, broker, listener, ca, client_cert=None, transport="tcp", **kw):
        host, port = broker.listeners[listener]
        super().__init__(broker, port=port, **kw)
        if transport == "websockets":
            self.c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=self.client_id, protocol=self.c._protocol, transport="websockets")
            self.c.ws_set_options(path="/mqtt")
            self._rewire()
        if ca is not None:
            ctx = ssl.create_default_context()
            ca.configure_trust(ctx)
            if client_cert is not None:
                client_cert.configure_cert(ctx)
            self.c.tls_set_context(ctx)

    def _rewire(self):
        self.c.on_message = lambda c, u, m: self.messages.put(m)
        self.c.on_connect = lambda c, u, flags, rc, props: self.connacks.put((flags, rc, props))
        self.c.on_disconnect = lambda c, u, flags, rc, props: self.disconnects.put(rc)
        self.c.on_subscribe = lambda c, u, mid, rcs, props: self.subacks.put((mid, rcs))
        self.c.on_publish = lambda c, u, mid, rc, props: self.published.put((mid, rc))

    def connect(self, **kw):
        # The broker's certificate is for "localhost".
        self.c.connect("localhost", self.port, self.keepalive)
        self.c.loop_start()
        flags, rc, props = self.connacks.get(timeout=10)
        return flags.session_present, rc, props


def test_pubsub_across_tcp_tls_ws_and_wss(broker_factory, tmp_path, ca):
    b = broker_factory(tls_config(tmp_path, ca))
    clients = {
        "tcp": Client(b),
        "tls": TlsClient(b, "tls:default", ca),
        "ws": TlsClient(b, "ws:default", None, transport="websockets"),
        "wss": TlsClient(b, "wss:default", ca, transport="websockets"),
    }
    for kind, c in clients.items():
        _, rc, _ = c.connect()
        assert rc == 0, kind
        c.subscribe("across/#", 1)
    for kind, c in clients.items():
        c.publish(f"across/{kind}", kind.encode() * 1000, qos=1)
    for kind, c in clients.items():
        got = sorted(c.expect().topic for _ in clients)
        assert got == sorted(f"across/{k}" for k in clients), kind


def test_required_client_certificate(broker_factory, tmp_path, ca):
    b = broker_factory(tls_config(tmp_path, ca, verify="required", extra='peer_cert_as_username = "cn"\n'))
    cert = ca.issue_cert("device-42")
    c = TlsClient(b, "tls:default", ca, client_cert=cert, client_id="dev")
    _, rc, _ = c.connect()
    assert rc == 0
    c.subscribe("cert/t", 1)
    c.publish("cert/t", b"signed", qos=1)
    assert c.expect().payload == b"signed"
    # Without a client certificate the server ends the TLS session before any MQTT.
    ctx = ssl.create_default_context()
    ca.configure_trust(ctx)
    raw = socket.create_connection(("127.0.0.1", b.listeners["tls:default"][1]), timeout=10)
    with pytest.raises((ssl.SSLError, ConnectionError)):
        tls = ctx.wrap_socket(raw, server_hostname="localhost")
        tls.sendall(b"\x10\x0d\x00\x04MQTT\x04\x02\x00\x3c\x00\x01x")
        if tls.recv(4) == b"":
            raise ConnectionError("closed without CONNACK")


def test_per_listener_connection_limit(broker_factory):
    b = broker_factory('[listeners.tcp.default]\nbind = "127.0.0.1:0"\nmax_connections = 2\n')
    a, c = Client(b), Client(b)
    a.connect()
    c.connect()
    s = socket.create_connection(("127.0.0.1", b.port), timeout=10)
    assert s.recv(1) == b"", "third connection is closed at once"
    a.disconnect()
    # A slot freed: a new client gets in (wait for the broker to notice the close).
    b.wait_log(r"connection closed")
    d = Client(b)
    _, rc, _ = d.connect()
    assert rc == 0


def test_client_certificate_cn_and_dn_reach_hooks(broker_factory, tmp_path, ca, hook_servers):
    """A gRPC exhook server sees the certificate's CN and DN in ClientInfo, and the CN as the
    user name with peer_cert_as_username = "cn"."""
    from test_exhook_support import exhook_toml

    srv = hook_servers("v3", hooks=[["client.connected", []], ["client.authenticate", []]], users=None)
    config = tls_config(tmp_path, ca, verify="required", extra='peer_cert_as_username = "cn"\n')
    config = config.replace("[listeners.tcp.default]", exhook_toml({"name": "rec", "url": srv.url}).replace("[api]\nenable = false", "") + "\n[listeners.tcp.default]", 1)
    b = broker_factory(config)
    cert = ca.issue_cert("device-42.example", common_name="device-42")
    c = TlsClient(b, "tls:default", ca, client_cert=cert, client_id="dev-cert")
    _, rc, _ = c.connect()
    assert rc == 0
    req = srv.wait("OnClientConnected", lambda r: r["clientinfo"]["clientid"] == "dev-cert")
    ci = req["clientinfo"]
    assert ci["cn"] == "device-42", ci
    assert "CN=device-42" in ci["dn"]
    assert ci["username"] == "device-42"
