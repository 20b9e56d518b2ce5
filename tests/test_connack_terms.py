"""CONNACK terms from `client.authenticate` (issue 13, docs/hooks.md "CONNACK terms and assigned
client ids") observed by paho clients, through the Python port runtime: an MQTT 5 client reads
the Reason String, User Properties, Session Expiry Interval, Server Keep Alive, Maximum QoS,
Receive Maximum and Assigned Client Identifier in its CONNACK, and the session really lives
under the assigned id (a second connection with that id takes it over); an MQTT 3.1.1 client is
assigned its id silently; a refusal carries its code and texts; an answer the broker cannot use
(receive maximum 0, a keep alive above 65535, an id another identity holds) is a bad reply and
the failure policy ("ignore" here: allow_anonymous) applies. The same terms through a Java
handler on hookmq's SDK (`Login`)."""

import pytest
from paho.mqtt.packettypes import PacketTypes

from harness import Client, props
from test_port_support import driver_toml, javac, start, wait_driver

PORT_HOOKS = r'''
from hookmq_port import hook, login_allow, login_refuse, specs


@hook("client_authenticate")
def login(clientinfo, result, state):
    info = dict(clientinfo)
    user = info.get(b"username")
    clientid = info[b"clientid"].decode()
    if user == b"terms":
        return login_allow(reason="welcome", user_properties=[("tier", "gold")],
                           session_expiry_interval=300, server_keep_alive=20, maximum_qos=1,
                           receive_maximum=5, assigned_client_id="tenant/" + clientid)
    if user == b"assign":
        return login_allow(assigned_client_id="tenant/" + clientid)
    if user == b"refuse":
        return login_refuse(0x8A, reason="banned until tomorrow",
                            user_properties={"until": "tomorrow"})
    if user == b"bad-receive-max":
        return login_allow(receive_maximum=0)
    if user == b"bad-keep-alive":
        return login_allow(server_keep_alive=70000)
    if user == b"thief":
        return login_allow(assigned_client_id="victim-session")
    return None


def init():
    return specs(__name__)
'''


JAVA_HANDLER = r'''
import io.hookmq.sdk.*;

public class TermsHandler extends HookHandler {
    @Override
    public Login onClientLogin(ClientInfo client, boolean result) {
        switch (client.username()) {
            case "terms":
                return Login.allow().reasonString("welcome").userProperty("tier", "gold")
                        .sessionExpiryInterval(300).serverKeepAlive(20).maximumQos(1)
                        .receiveMaximum(5).assignedClientId("tenant/" + client.clientid());
            case "assign":
                return Login.allow().assignedClientId("tenant/" + client.clientid());
            case "refuse":
                return Login.refuse(0x8A).reasonString("banned until tomorrow")
                        .userProperty("until", "tomorrow");
            case "bad-receive-max":
                return Login.allow().receiveMaximum(0);
            case "bad-keep-alive":
                return Login.allow().serverKeepAlive(70000);
            case "thief":
                return Login.allow().assignedClientId("victim-session");
            default:
                return null;
        }
    }
}
'''


@pytest.fixture(params=["python3", "java"])
def driver(request):
    return request.param


@pytest.fixture
def broker_with_hooks(driver, broker_factory, tmp_path):
    if driver == "python3":
        b = start(broker_factory, tmp_path, files={"ext/terms_hooks.py": PORT_HOOKS},
                  config=driver_toml("python3", path="ext", init_module="terms_hooks"))
    else:
        src = tmp_path / "java-src"
        src.mkdir()
        (src / "TermsHandler.java").write_text(JAVA_HANDLER)
        classes = javac([src / "TermsHandler.java"], tmp_path / "java-classes")
        b = start(broker_factory, tmp_path, config=driver_toml(
            "java", path=str(classes), init_module="TermsHandler", init_timeout="60s"))
    wait_driver(b, driver)
    return b


def rc(r):
    return getattr(r, "value", r)


def test_an_mqtt5_client_reads_its_terms_and_its_session_uses_the_assigned_id(broker_with_hooks):
    b = broker_with_hooks
    first = Client(b, client_id="dev1", protocol=5, username="terms", password="x")
    present, code, p = first.connect()
    assert rc(code) == 0
    assert p.ReasonString == "welcome"
    assert p.UserProperty == [("tier", "gold")]
    assert p.SessionExpiryInterval == 300
    assert p.ServerKeepAlive == 20
    assert p.MaximumQoS == 1
    assert p.ReceiveMaximum == 5
    assert p.AssignedClientIdentifier == "tenant/dev1"
    # Maximum QoS 1: a QoS 2 subscription is granted QoS 1.
    assert [rc(r) for r in first.subscribe("t/#", 2)] == [1]
    # The session is the assigned id's: connecting with that id takes it over (0x8E to the
    # first connection) and finds it (Session Present, its subscription still there).
    second = Client(b, client_id="tenant/dev1", protocol=5, username="terms-not")
    present, code, _ = second.connect(clean_start=False)
    assert rc(code) == 0 and present
    assert rc(first.expect_disconnect()) == 0x8E
    pub = Client(b, protocol=5)
    pub.connect()
    pub.publish("t/1", b"x", qos=1)
    assert second.expect().topic == "t/1"
    for c in (second, pub):
        c.disconnect()


def test_an_mqtt3_client_is_assigned_its_id_silently(broker_with_hooks):
    b = broker_with_hooks
    old = Client(b, client_id="d3", protocol=4, clean=False, username="assign", password="x")
    present, code, _ = old.connect()
    assert rc(code) == 0
    old.subscribe("t3/#", 1)
    old.disconnect(wait=False)
    new = Client(b, client_id="tenant/d3", protocol=5, username="assign-not")
    present, code, _ = new.connect(clean_start=False)
    assert rc(code) == 0 and present
    new.disconnect()


def test_a_refusal_carries_its_code_and_texts(broker_with_hooks):
    b = broker_with_hooks
    c = Client(b, protocol=5, username="refuse", password="x")
    _, code, p = c.connect()
    assert rc(code) == 0x8A
    assert p.ReasonString == "banned until tomorrow"
    assert p.UserProperty == [("until", "tomorrow")]
    c.c.loop_stop()
    c = Client(b, protocol=4, username="refuse", password="x")
    # paho reports the 3.1.1 return code 5 as its MQTT 5 equivalent.
    assert rc(c.connect()[1]) in (5, 0x87)
    c.c.loop_stop()


def test_answers_the_broker_cannot_use_are_bad_replies(broker_with_hooks):
    b = broker_with_hooks
    victim = Client(b, client_id="victim-session", protocol=5, username="victim")
    victim.connect(properties=props(PacketTypes.CONNECT, SessionExpiryInterval=600))
    for user in ("bad-receive-max", "bad-keep-alive", "thief"):
        c = Client(b, client_id=user, protocol=5, username=user, password="x")
        _, code, p = c.connect()
        # Failure policy "ignore": allow_anonymous lets the client in on its own id, no terms.
        assert rc(code) == 0, user
        assert not hasattr(p, "AssignedClientIdentifier"), user
        assert not hasattr(p, "ReceiveMaximum") or p.ReceiveMaximum != 0, user
        c.disconnect()
    # The victim's session was not handed over.
    victim.publish("v/1", b"x", qos=1)
    victim.disconnect()
