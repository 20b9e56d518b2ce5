"""Server redirection (MQTT 5 §4.11) with real clients: a node configured with a Server
Reference refuses CONNECT with 0x9C Use another server or 0x9D Server moved and the reference
(MQTT 3.x: return code 3), or sends it in the DISCONNECT of its shutdown; an authentication hook
(the Python port driver) redirects one client."""

import signal

from harness import Client
from rawmqtt import Raw, connect_v4, connect_v5, parse_properties, s
from test_port_support import driver_toml, start, wait_driver

SERVER_REFERENCE = 0x1C


def test_a_moved_node_refuses_with_server_moved_and_the_reference(broker_factory):
    b = broker_factory('[redirect]\nserver_reference = "new.example:1883 backup.example"\nmoved = true\n')
    c = Client(b, protocol=5)
    _, rc, p = c.connect()
    assert rc.value == 0x9D and p.ServerReference == "new.example:1883 backup.example"
    v3 = Raw(b.port)
    v3.send(connect_v4("rd-v3"))
    # 3.x clients cannot be told: return code 3, server unavailable.
    assert v3.expect_closed() == [(0x20, b"\x00\x03")]


def test_a_temporary_redirect_uses_another_server(broker_factory):
    b = broker_factory('[redirect]\nserver_reference = "other:1883"\n')
    _, rc, p = Client(b, protocol=5).connect()
    assert rc.value == 0x9C and p.ServerReference == "other:1883"


def test_shutdown_sends_connected_clients_to_the_reference(broker_factory):
    b = broker_factory('[redirect]\nserver_reference = "standby:1883"\nrefuse_connect = false\n')
    r = Raw(b.port)
    r.send(connect_v5("rd-live"))
    assert r.expect(0x20)[:2] == b"\x00\x00"
    b.proc.send_signal(signal.SIGTERM)
    body = r.expect(0xE0)
    assert body[0] == 0x9C
    props, _ = parse_properties(body[1:])
    assert props[SERVER_REFERENCE] == ["standby:1883"]
    assert b.proc.wait(15) == 0


def test_shutdown_without_a_redirect_says_shutting_down(broker_factory):
    b = broker_factory()
    r = Raw(b.port)
    r.send(connect_v5("rd-plain"))
    r.expect(0x20)
    b.proc.send_signal(signal.SIGTERM)
    body = r.expect(0xE0)
    # 0x8B Server shutting down, no properties (the property length may be left out).
    assert body[0] == 0x8B and body[1:] in (b"", b"\x00")


HOOKS = '''
from erlport.erlterms import Atom


def init():
    return (0, ([("client_authenticate", "redirect", "on_auth")], ()))


def on_auth(clientinfo, authresult, state):
    user = dict(clientinfo).get(b"username")
    if user == b"tenant-b":
        return (0, (Atom(b"redirect"), b"cluster-b.example:8883"))
    if user == b"retired":
        return (0, (Atom(b"moved"), b"new.example:1883"))
    return None
'''


def test_an_authentication_hook_redirects_a_client(broker_factory, tmp_path):
    config = driver_toml("python3", path="ext", init_module="redirect")
    b = start(broker_factory, tmp_path, files={"ext/redirect.py": HOOKS}, config=config)
    wait_driver(b)
    _, rc, p = Client(b, protocol=5, username="tenant-b").connect()
    assert rc.value == 0x9C and p.ServerReference == "cluster-b.example:8883"
    _, rc, p = Client(b, protocol=5, username="retired").connect()
    assert rc.value == 0x9D and p.ServerReference == "new.example:1883"
    v3 = Raw(b.port)
    # The user name field follows the client id (flags 0x80).
    v3.send(connect_v4("rd-v3", flags=0x82, will=s("tenant-b")))
    assert v3.expect_closed() == [(0x20, b"\x00\x03")]
    _, rc, p = Client(b, protocol=5, username="anyone").connect()
    assert rc.value == 0 and not hasattr(p, "ServerReference")
