"""MQTT 5 enhanced authentication through `client_enhanced_authenticate` (docs/hooks.md): the
SCRAM-SHA-256 example (examples/python/scram_auth.py) on the real Python port runtime, and the
same exchange served over the extension protocol by the Python and Rust SDKs' examples
(sdk/python/examples/scram.py, sdk/rust/examples/scram.rs), against
MQTT.js (tests/mqttjs, a real MQTT 5 client that speaks AUTH; installed by scripts/test.sh with
`npm ci`): success with the server's signature verified by the client, a wrong password refused,
re-authentication (AUTH 0x19) that succeeds or ends in DISCONNECT; and with raw sockets the bad
inputs (no method, a switched method, a wrong reason code, other packets mid-exchange, AUTH
without an exchange, a client that never answers), each with the spec's reason code, while other
clients are served. The user store is made here; the passwords never reach the broker."""

import json
import shutil
import socket
import subprocess
import sys
import time

import pytest

from ext_support import ExtProcess, example_cmd, ext_loaded, ext_toml
from harness import ROOT, Client
from rawmqtt import Raw, connect_v5, packet, parse_properties, properties, s
from test_port_support import driver_toml, javac, start, wait_driver

EXAMPLE = ROOT / "examples" / "python"
MQTTJS = ROOT / "tests" / "mqttjs"
METHOD = "SCRAM-SHA-256"

sys.path.insert(0, str(EXAMPLE))
import scram_auth  # noqa: E402  (the example's own user_record, as its add-user command uses it)

needs_mqttjs = pytest.mark.skipif(
    shutil.which("node") is None or not (MQTTJS / "node_modules" / "mqtt").is_dir(),
    reason="MQTT.js not installed (scripts/test.sh runs npm ci in tests/mqttjs)",
)


def user_store(tmp_path):
    users = tmp_path / "users.json"
    users.write_text(json.dumps({
        "alice": scram_auth.user_record("correct horse"),
        "bob": scram_auth.user_record("battery staple", iterations=1000),
    }))
    return users


@pytest.fixture
def scram_broker(broker_factory, tmp_path):
    users = user_store(tmp_path)
    config = "[mqtt]\nconnect_timeout = \"2s\"\n" + driver_toml(
        "python3", path=str(EXAMPLE), init_module="scram_auth", failed_action="deny")
    b = start(broker_factory, tmp_path, config=config, env={"HOOKMQ_SCRAM_USERS": str(users)})
    wait_driver(b)
    return b


def mqttjs(b, **opts):
    """Runs the MQTT.js SCRAM client; returns its events."""
    args = {"port": b.port, **opts}
    r = subprocess.run(["node", str(MQTTJS / "scram_client.js"), json.dumps(args)],
                       capture_output=True, text=True, timeout=60)
    events = [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")]
    assert r.returncode == 0, (r.stdout, r.stderr)
    return events


def kinds(events, kind):
    return [e for e in events if e["event"] == kind]


@needs_mqttjs
def test_scram_succeeds_and_the_client_verifies_the_server(scram_broker):
    events = mqttjs(scram_broker, clientId="js-ok", user="alice", password="correct horse")
    # One challenge (server-first), then CONNACK with the method and the server's signature.
    assert [e["reasonCode"] for e in kinds(events, "auth")] == [0x18]
    assert kinds(events, "auth")[0]["method"] == METHOD
    [ack] = kinds(events, "connack")
    assert ack == {"event": "connack", "reasonCode": 0, "method": METHOD, "verified": True}
    scram_broker.wait_log(r"client connected")


@needs_mqttjs
def test_a_wrong_password_or_unknown_user_is_refused(scram_broker):
    for user, password in [("alice", "wrong"), ("mallory", "anything")]:
        events = mqttjs(scram_broker, clientId="js-bad", user=user, password=password)
        assert not kinds(events, "connack"), events
        [err] = kinds(events, "error")
        assert err["code"] == 0x86, events  # bad user name or password


@needs_mqttjs
def test_reauthentication_succeeds_and_fails_with_disconnect(scram_broker):
    sub = Client(scram_broker, client_id="watch", protocol=5)
    sub.connect()
    sub.subscribe("scram/#", 1)
    events = mqttjs(scram_broker, clientId="js-re", user="bob", password="battery staple",
                    reauthPassword="battery staple")
    assert kinds(events, "connack")[0]["verified"] is True
    assert kinds(events, "reauth") == [{"event": "reauth", "verified": True}]
    assert kinds(events, "published") == [{"event": "published", "error": None}]
    m = sub.expect()
    assert m.topic == "scram/after"
    # Re-authenticating with a wrong password: DISCONNECT 0x87 (0x86 is no DISCONNECT code).
    events = mqttjs(scram_broker, clientId="js-re2", user="bob", password="battery staple",
                    reauthPassword="nope")
    assert kinds(events, "connack")[0]["reasonCode"] == 0
    assert kinds(events, "disconnect") == [{"event": "disconnect", "code": 0x87}]
    assert not kinds(events, "reauth")


@needs_mqttjs
@pytest.mark.parametrize("sdk", ["python", "rust"])
def test_scram_over_the_extension_protocol(broker_factory, tmp_path, sdk):
    users = user_store(tmp_path)
    ext = ExtProcess(example_cmd(sdk, "scram", "--users", str(users), "--listen", "127.0.0.1:0")).start()
    try:
        b = broker_factory(ext_toml({"name": "scram", "url": ext.url, "failed_action": "deny"}))
        ext_loaded(b, "scram")
        events = mqttjs(b, clientId=f"{sdk}-ok", user="alice", password="correct horse")
        assert kinds(events, "connack") == [
            {"event": "connack", "reasonCode": 0, "method": METHOD, "verified": True}]
        events = mqttjs(b, clientId=f"{sdk}-bad", user="alice", password="nope")
        assert [e["code"] for e in kinds(events, "error")] == [0x86]
        events = mqttjs(b, clientId=f"{sdk}-re", user="bob", password="battery staple",
                        reauthPassword="battery staple")
        assert kinds(events, "reauth") == [{"event": "reauth", "verified": True}]
        # A method the extension does not handle: nobody answers, 0x8C.
        raw = Raw(b.port)
        raw.send(connect_v5("kerberos", props=properties(prop_method("KERBEROS"))))
        assert connack_code(raw) == 0x8C
        raw.close()
    finally:
        ext.stop()


# Raw sockets: the bad inputs.

def prop_method(m):
    return b"\x15" + s(m)


def prop_data(d):
    return b"\x16" + s(d)


def auth_packet(reason, *props):
    return packet(0xF0, bytes([reason]) + properties(*props))


def scram_connect(raw, client_id, user="alice"):
    """Sends CONNECT with a client-first message; returns the broker's server-first."""
    first = f"n,,n={user},r=rawnonce".encode()
    raw.send(connect_v5(client_id, props=properties(prop_method(METHOD), prop_data(first))))
    body = raw.expect(0xF0)
    assert body[0] == 0x18
    props, _ = parse_properties(body[1:])
    assert props[0x15] == [METHOD]
    return props[0x16][0]


def connack_code(raw):
    body = raw.expect(0x20)
    return body[1]


def test_bad_answers_mid_exchange_get_the_specs_reason_codes(scram_broker):
    cases = [
        # §3.15.2.2.2: an AUTH without its method is a protocol error.
        (auth_packet(0x18, prop_data(b"c=biws,r=x,p=AAAA")), 0x82),
        # [MQTT-4.12.0-5]: another method mid-exchange.
        (auth_packet(0x18, prop_method("SCRAM-SHA-1"), prop_data(b"x")), 0x8C),
        # [MQTT-4.12.0-3]: the answer must be 0x18.
        (auth_packet(0x19, prop_method(METHOD), prop_data(b"x")), 0x82),
        # [MQTT-3.1.2-30]: nothing but AUTH or DISCONNECT before CONNACK.
        (packet(0xC0, b""), 0x82),
        # A final message with a nonce the broker never sent.
        (auth_packet(0x18, prop_method(METHOD), prop_data(b"c=biws,r=other,p=AAAA")), 0x87),
    ]
    for i, (bad, code) in enumerate(cases):
        raw = Raw(scram_broker.port)
        scram_connect(raw, f"bad-{i}")
        raw.send(bad)
        assert connack_code(raw) == code, i
        assert raw.expect_closed() == [], i
        raw.close()


def test_methods_nobody_handles_and_auth_without_a_method(scram_broker):
    # The hook ignores other methods; nobody answering is 0x8C ([MQTT-4.12.0-1]).
    raw = Raw(scram_broker.port)
    raw.send(connect_v5("other-method", props=properties(prop_method("KERBEROS"))))
    assert connack_code(raw) == 0x8C
    raw.close()
    # [MQTT-4.12.0-7]: a client that connected without a method sends no AUTH.
    raw = Raw(scram_broker.port)
    raw.send(connect_v5("plain"))
    assert connack_code(raw) == 0
    raw.send(auth_packet(0x19, prop_method(METHOD)))
    assert raw.expect(0xE0)[0] == 0x82
    raw.close()
    # MQTT 3.1.1 is untouched: packet type 15 is reserved there.
    c = Client(scram_broker, client_id="v311", protocol=4)
    assert c.connect()[1] == 0
    c.disconnect()


def test_a_client_that_never_answers_is_closed_and_blocks_nobody(scram_broker):
    raw = Raw(scram_broker.port)
    scram_connect(raw, "silent")
    started = time.monotonic()
    # Meanwhile another client is served.
    other = Client(scram_broker, client_id="bystander", protocol=5)
    other.connect()
    other.subscribe("x/#", 0)
    other.publish("x/1", b"hi", qos=1)
    assert other.expect().payload == b"hi"
    other.disconnect()
    # connect_timeout (2 s): closed without a CONNACK.
    assert raw.expect_closed() == []
    assert time.monotonic() - started < 10
    raw.close()


def test_auth_0x18_without_an_exchange_in_progress_is_a_protocol_error(scram_broker):
    # A complete exchange over a raw socket (the client side of SCRAM from the test itself).
    import base64
    import hashlib
    import hmac

    raw = Raw(scram_broker.port)
    server_first = scram_connect(raw, "raw-ok").decode()
    attrs = dict(p.split("=", 1) for p in server_first.split(","))
    salted = hashlib.pbkdf2_hmac("sha256", b"correct horse", base64.b64decode(attrs["s"]),
                                 int(attrs["i"]))
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    without_proof = "c=biws,r=" + attrs["r"]
    auth_message = f"n=alice,r=rawnonce,{server_first},{without_proof}".encode()
    sig = hmac.new(hashlib.sha256(client_key).digest(), auth_message, hashlib.sha256).digest()
    proof = base64.b64encode(bytes(a ^ b for a, b in zip(client_key, sig))).decode()
    raw.send(auth_packet(0x18, prop_method(METHOD), prop_data(f"{without_proof},p={proof}".encode())))
    body = raw.expect(0x20)
    assert body[1] == 0
    props, _ = parse_properties(body[2:])
    assert props[0x15] == [METHOD]
    assert props[0x16][0].startswith(b"v=")
    # No exchange is in progress now: AUTH 0x18 is a protocol error.
    raw.send(auth_packet(0x18, prop_method(METHOD), prop_data(b"x")))
    assert raw.expect(0xE0)[0] == 0x82
    assert raw.expect_closed() == []
    raw.close()


# The Java SDK: a toy challenge-response method through HookHandler.onClientEnhancedAuthenticate.
TOY_JAVA = r'''
import io.hookmq.sdk.*;
import java.nio.charset.StandardCharsets;

public class ToyAuth extends HookHandler {
    @Override
    public EnhancedAuth onClientEnhancedAuthenticate(ClientInfo client, String method, byte[] data, String step,
            byte[] state) {
        if (!method.equals("toy")) {
            return null;
        }
        if (!step.equals("continue")) {
            // The client names itself; the name travels in the state.
            return EnhancedAuth.continueWith("nonce".getBytes(StandardCharsets.UTF_8), data);
        }
        String expected = new String(state, StandardCharsets.UTF_8) + ":nonce";
        if (data != null && expected.equals(new String(data, StandardCharsets.UTF_8))) {
            return EnhancedAuth.success("welcome".getBytes(StandardCharsets.UTF_8), false);
        }
        return EnhancedAuth.failure(0x86, "wrong answer");
    }
}
'''


def test_java_handlers_answer_each_step(broker_factory, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "ToyAuth.java").write_text(TOY_JAVA)
    classes = javac([src / "ToyAuth.java"], tmp_path / "classes")
    b = start(broker_factory, tmp_path, config=driver_toml(
        "java", path=str(classes), init_module="ToyAuth", init_timeout="60s"))
    wait_driver(b, "java")
    for answer, code in [(b"alice:nonce", 0), (b"alice:guess", 0x86)]:
        raw = Raw(b.port)
        raw.send(connect_v5("toy-" + str(code), props=properties(prop_method("toy"), prop_data(b"alice"))))
        body = raw.expect(0xF0)
        props, _ = parse_properties(body[1:])
        assert (body[0], props[0x15], props[0x16]) == (0x18, ["toy"], [b"nonce"])
        raw.send(auth_packet(0x18, prop_method("toy"), prop_data(answer)))
        body = raw.expect(0x20)
        assert body[1] == code
        props, _ = parse_properties(body[2:])
        if code == 0:
            assert (props[0x15], props[0x16]) == (["toy"], [b"welcome"])
        else:
            assert props[0x1F] == ["wrong answer"]  # Reason String
        raw.close()
