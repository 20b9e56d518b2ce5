"""Java hooks over the port protocol with real `java`: a handler on hookmq's SDK
(`runtimes/java/sdk`) doing authentication, ACL and message rewrite/drop; a handler written the way
EMQX's Java SDK code talks to erlport (`runtimes/java/compat-test/LegacyStyleHandler.java`); all 19
hooks with their values; and faults (exception, timeout, hang, kill -9 of the JVM under QoS 1
load) after which the worker is back with init() re-run. Handlers are compiled with javac
against runtimes/java/build/*.jar in the test setup."""

import json
import time

import pytest

from harness import ROOT, Client, PacketTypes, barrier, props
from test_port_support import RUNTIMES, Events, cid, ctl, driver_toml, javac, kill9_under_qos1_load, metric, start, wait_driver

AUTH_ACL_REWRITE = r'''
import io.hookmq.sdk.*;

public class AuthAclRewrite extends HookHandler {
    @Override
    protected void onLoad() {
        System.out.println("JAVA init ran pid=" + ProcessHandle.current().pid());
    }

    @Override
    public Boolean onClientAuthenticate(ClientInfo client, boolean result) {
        if (client.username().equals("alice")) {
            return "secret".equals(client.passwordString());
        }
        return client.username().equals("guest") ? null : false;
    }

    @Override
    public Boolean onClientAuthorize(ClientInfo client, String pubsub, String topic, boolean result) {
        if (topic.startsWith("private/")) {
            return false;
        }
        return pubsub.equals("publish") && client.username().equals("guest") ? false : null;
    }

    @Override
    @Topics({"in/#"})
    public Message onMessagePublish(Message message) {
        if (message.payloadString().equals("drop")) {
            return Message.drop();
        }
        return message.withTopic("out/" + message.topic().substring(3))
                .withPayload(message.payloadString().toUpperCase()).withQos(0);
    }
}
'''

RECORDER = r'''
import io.hookmq.sdk.*;
import java.io.FileWriter;
import java.io.IOException;
import java.util.List;
import java.util.Map;

public class Recorder extends HookHandler {
    private static String q(Object v) {
        if (v == null) return "null";
        if (v instanceof Number || v instanceof Boolean) return v.toString();
        String s = v.toString().replace("\\", "\\\\").replace("\"", "\\\"");
        return "\"" + s + "\"";
    }

    private static String ci(ClientInfo c) {
        return "{\"clientid\":" + q(c.clientid()) + ",\"username\":" + q(c.username())
            + ",\"password\":" + q(c.passwordString()) + ",\"peerhost\":" + q(c.peerhost())
            + ",\"sockport\":" + c.sockport() + ",\"protocol\":" + q(c.protocol())
            + ",\"node\":" + q(c.node()) + ",\"anonymous\":" + c.anonymous() + "}";
    }

    private static String conn(ConnInfo c) {
        return "{\"clientid\":" + q(c.clientid()) + ",\"username\":" + q(c.username())
            + ",\"peerhost\":" + q(c.peerhost()) + ",\"protoVer\":" + c.protoVer()
            + ",\"keepalive\":" + c.keepalive() + "}";
    }

    private static String msg(Message m) {
        return "{\"topic\":" + q(m.topic()) + ",\"payload\":" + q(m.payloadString()) + ",\"qos\":"
            + m.qos() + ",\"from\":" + q(m.from()) + ",\"id\":" + q(m.id()) + ",\"timestamp\":"
            + m.timestamp() + "}";
    }

    private static String filters(List<TopicFilter> fs) {
        StringBuilder b = new StringBuilder("{");
        for (TopicFilter f : fs) {
            if (b.length() > 1) b.append(',');
            b.append(q(f.topic())).append(':').append(f.qos());
        }
        return b.append('}').toString();
    }

    private static synchronized void record(String hook, String... args) {
        try (FileWriter w = new FileWriter("events.jsonl", true)) {
            w.write("{\"hook\":" + q(hook) + ",\"args\":[" + String.join(",", args) + "]}\n");
        } catch (IOException e) {
            throw new RuntimeException(e);
        }
    }

    @Override public void onClientConnect(ConnInfo c, Map<String, Object> p) { record("client_connect", conn(c), q(p.get("Session-Expiry-Interval"))); }
    @Override public void onClientConnack(ConnInfo c, String rc, Map<String, Object> p) { record("client_connack", conn(c), q(rc)); }
    @Override public void onClientConnected(ClientInfo c) { record("client_connected", ci(c)); }
    @Override public void onClientDisconnected(ClientInfo c, String r) { record("client_disconnected", ci(c), q(r)); }
    @Override public Boolean onClientAuthenticate(ClientInfo c, boolean r) { record("client_authenticate", ci(c), q(r)); return null; }
    @Override public Boolean onClientAuthorize(ClientInfo c, String ps, String t, boolean r) { record("client_check_acl", ci(c), q(ps), q(t), q(r)); return null; }
    @Override public void onClientSubscribe(ClientInfo c, Map<String, Object> p, List<TopicFilter> f) { record("client_subscribe", ci(c), filters(f)); }
    @Override public void onClientUnsubscribe(ClientInfo c, Map<String, Object> p, List<TopicFilter> f) { record("client_unsubscribe", ci(c), filters(f)); }
    @Override public void onSessionCreated(ClientInfo c) { record("session_created", ci(c)); }
    @Override public void onSessionSubscribed(ClientInfo c, String t, SubscribeOptions o) { record("session_subscribed", ci(c), q(t), "{\"qos\":" + o.qos() + ",\"isNew\":" + o.isNew() + ",\"nl\":" + o.nl() + "}"); }
    @Override public void onSessionUnsubscribed(ClientInfo c, String t) { record("session_unsubscribed", ci(c), q(t)); }
    @Override public void onSessionResumed(ClientInfo c) { record("session_resumed", ci(c)); }
    @Override public void onSessionDiscarded(ClientInfo c) { record("session_discarded", ci(c)); }
    @Override public void onSessionTakeovered(ClientInfo c) { record("session_takeovered", ci(c)); }
    @Override public void onSessionTerminated(ClientInfo c, String r) { record("session_terminated", ci(c), q(r)); }
    @Override public Message onMessagePublish(Message m) { record("message_publish", msg(m)); return null; }
    @Override public void onMessageDelivered(ClientInfo c, Message m) { record("message_delivered", ci(c), msg(m)); }
    @Override public void onMessageAcked(ClientInfo c, Message m) { record("message_acked", ci(c), msg(m)); }
    @Override public void onMessageDropped(Message m, String r) { record("message_dropped", msg(m), q(r)); }
}
'''

FAULTY = r'''
import io.hookmq.sdk.*;

public class Faulty extends HookHandler {
    @Override
    protected void onLoad() {
        System.out.println("FAULTY java init pid=" + ProcessHandle.current().pid());
    }

    @Override
    public Boolean onClientAuthenticate(ClientInfo client, boolean result) {
        if (client.username().equals("boom")) {
            throw new IllegalStateException("boom in authenticate");
        }
        return null;
    }

    @Override
    public Boolean onClientAuthorize(ClientInfo client, String pubsub, String topic, boolean result)
            throws Exception {
        if (topic.startsWith("slow/")) {
            Thread.sleep(1600);
            return false;
        }
        return null;
    }

    @Override
    public Message onMessagePublish(Message message) throws Exception {
        if (message.topic().startsWith("hang/")) {
            Thread.sleep(3_600_000);
        }
        return null;
    }
}
'''


@pytest.fixture(scope="module")
def classes(tmp_path_factory):
    src = tmp_path_factory.mktemp("java-src")
    for name, text in [("AuthAclRewrite", AUTH_ACL_REWRITE), ("Recorder", RECORDER), ("Faulty", FAULTY)]:
        (src / f"{name}.java").write_text(text)
    sources = sorted(src.glob("*.java")) + [RUNTIMES / "java" / "compat-test" / "src" / "LegacyStyleHandler.java"]
    return javac(sources, tmp_path_factory.mktemp("java-classes"))


def java_broker(broker_factory, tmp_path, classes, init_module, config="", **settings):
    cfg = driver_toml("java", path=str(classes), init_module=init_module, init_timeout="60s", **settings)
    b = start(broker_factory, tmp_path, config=config + cfg)
    wait_driver(b, "java")
    return b


def rc(r):
    return getattr(r, "value", r)


def test_sdk_handler_authenticates_authorizes_and_rewrites(broker_factory, tmp_path, classes):
    b = java_broker(broker_factory, tmp_path, classes, "AuthAclRewrite")
    b.wait_log(r"JAVA init ran pid=\d+ .*driver=java")
    assert rc(Client(b, client_id="j-bad", username="alice", password="wrong").connect()[1]) in (5, 0x87)
    assert rc(Client(b, client_id="j-mallory", username="mallory", password="x").connect()[1]) in (5, 0x87)
    alice = Client(b, client_id="j-alice", username="alice", password="secret", protocol=5)
    assert rc(alice.connect()[1]) == 0
    assert [rc(r) for r in alice.subscribe("private/x", 1)] == [0x87]
    assert [rc(r) for r in alice.subscribe("#", 2)] == [2]
    guest = Client(b, client_id="j-guest", username="guest", protocol=5)
    assert rc(guest.connect()[1]) == 0  # no decision: allow_anonymous
    assert rc(guest.publish("in/x", b"nope", qos=1)) == 0x87
    pub = Client(b, client_id="j-pub", username="alice", password="secret")
    pub.connect()
    pub.publish("in/sensor", b"hello", qos=1)
    pub.publish("in/sensor", b"drop", qos=1)
    pub.publish("plain/t", b"kept", qos=1)
    got = barrier(pub, alice, "sync/java")
    assert [(m.topic, m.payload, m.qos) for m in got] == [("out/sensor", b"HELLO", 0), ("plain/t", b"kept", 1)]
    d = wait_driver(b, "java")
    assert {h["name"]: h["topics"] for h in d["hooks"]}["message_publish"] == ["in/#"]
    for c in (alice, guest, pub):
        c.disconnect()


def test_emqx_sdk_style_handler_runs(broker_factory, tmp_path, classes):
    # LegacyStyleHandler accepts user "legacy" only when the broker's own result was a refusal
    # (so allow_anonymous = false), checks its opaque State came back, lets it publish under
    # legacy/ only, and moves messages on legacy/# under legacy/out/ with a stamped payload.
    b = java_broker(broker_factory, tmp_path, classes, "LegacyStyleHandler",
                    config="[mqtt]\nallow_anonymous = false\n")
    assert rc(Client(b, client_id="l-other", username="other").connect()[1]) in (5, 0x87)
    sub = Client(b, client_id="l-sub", username="legacy", protocol=5)
    assert rc(sub.connect()[1]) == 0
    b.wait_log(r"\[legacy\] connect l-sub v5")
    sub.subscribe("legacy/#", 1)
    assert rc(sub.publish("other/x", b"no", qos=1)) == 0x87
    sub.publish("legacy/a", b"payload", qos=1)
    m = sub.expect()
    assert (m.topic, m.payload) == ("legacy/out/legacy/a", b"[stamped] payload")
    sub.disconnect()


def test_all_19_hooks_reach_a_java_handler(broker_factory, tmp_path, classes):
    b = java_broker(broker_factory, tmp_path, classes, "Recorder")
    assert len(wait_driver(b, "java")["hooks"]) == 19
    ev = Events(tmp_path / "events.jsonl")
    c1 = Client(b, client_id="jr-1", protocol=5, username="alice", password="pw")
    c1.connect(properties=props(PacketTypes.CONNECT, SessionExpiryInterval=30))
    conn, expiry = ev.wait("client_connect", cid("jr-1"))
    assert conn == {"clientid": "jr-1", "username": "alice", "peerhost": "127.0.0.1", "protoVer": 5, "keepalive": 60}
    assert expiry == 30
    ci, result = ev.wait("client_authenticate", cid("jr-1"))
    assert ci == {"clientid": "jr-1", "username": "alice", "password": "pw", "peerhost": "127.0.0.1",
                  "sockport": b.port, "protocol": "mqtt", "node": "hookmq@127.0.0.1", "anonymous": True}
    assert result is True
    assert ev.wait("client_connack", cid("jr-1"))[1] == "success"
    ev.wait("session_created", cid("jr-1"))
    assert ev.wait("client_connected", cid("jr-1"))[0]["password"] == ""
    c1.subscribe("jr/#", 1)
    assert ev.wait("client_subscribe", cid("jr-1"))[1] == {"jr/#": 1}
    assert ev.wait("client_check_acl", lambda a: a[1] == "subscribe")[2:] == ["jr/#", True]
    assert ev.wait("session_subscribed", cid("jr-1"))[1:] == ["jr/#", {"qos": 1, "isNew": True, "nl": 0}]
    c2 = Client(b, client_id="jr-2", username="bob")
    c2.connect()
    c2.publish("jr/1", b"hello", qos=1)
    assert c1.expect().payload == b"hello"
    (m,) = ev.wait("message_publish")
    assert (m["topic"], m["payload"], m["qos"], m["from"], len(m["id"])) == ("jr/1", "hello", 1, "jr-2", 32)
    assert abs(m["timestamp"] - time.time() * 1000) < 60_000
    assert ev.wait("message_delivered")[0]["clientid"] == "jr-1"
    assert ev.wait("message_acked")[1]["id"] == m["id"]
    c2.publish("nobody/j", b"lost")
    assert ev.wait("message_dropped")[1] == "no_subscribers"
    c1.unsubscribe("jr/#")
    assert ev.wait("client_unsubscribe", cid("jr-1"))[1] == {"jr/#": 0}
    assert ev.wait("session_unsubscribed", cid("jr-1"))[1] == "jr/#"
    c2.disconnect()
    assert ev.wait("client_disconnected", cid("jr-2"))[1] == "normal"
    ev.wait("session_terminated", cid("jr-2"))
    c3 = Client(b, client_id="jr-3", clean=False)
    c3.connect()
    c3.disconnect()
    c3 = Client(b, client_id="jr-3", clean=False)
    c3.connect()
    ev.wait("session_resumed", cid("jr-3"))
    c3.disconnect()
    c3 = Client(b, client_id="jr-3", clean=True)
    c3.connect()
    ev.wait("session_discarded", cid("jr-3"))
    expiry = props(PacketTypes.CONNECT, SessionExpiryInterval=60)
    c4 = Client(b, client_id="jr-4", protocol=5)
    c4.c.reconnect_delay_set(60, 60)
    c4.connect(properties=expiry)
    c4b = Client(b, client_id="jr-4", protocol=5)
    c4b.connect(clean_start=False, properties=expiry)
    ev.wait("session_takeovered", cid("jr-4"))
    c4.c.loop_stop()
    assert len({e["hook"] for e in ev.all()}) == 19
    for c in (c1, c3, c4b):
        c.disconnect()


def test_java_faults_exception_timeout_and_hang(broker_factory, tmp_path, classes):
    b = java_broker(broker_factory, tmp_path, classes, "Faulty", call_timeout="1s")
    pid = wait_driver(b, "java")["workers"][0]["pid"]
    assert rc(Client(b, client_id="jf-boom", username="boom").connect()[1]) == 0
    b.wait_log(r"hook failed: java.lang.IllegalStateException: boom in authenticate")
    sub = Client(b, client_id="jf-sub")
    sub.connect()
    sub.subscribe("#", 1)
    pub = Client(b, client_id="jf-pub")
    pub.connect()
    pub.publish("slow/1", b"late", qos=1, timeout=15)
    assert sub.expect(timeout=15).topic == "slow/1"
    assert metric(b, "java", "client.authorize")["timed_out"] == 1
    mark = b.mark()
    pub.publish("hang/1", b"stuck", qos=1, timeout=15)
    assert sub.expect(timeout=15).topic == "hang/1"
    b.wait_log(r"worker hung: no answer for 3s", timeout=20, start=mark)
    b.wait_log(rf"FAULTY java init pid=(?!{pid}\b)\d+", timeout=60, start=mark)
    wait_driver(b, "java", restarts=1)
    pub.publish("after/hang", b"fine", qos=1)
    assert sub.expect().topic == "after/hang"
    sub.disconnect()
    pub.disconnect()


def test_kill_9_of_the_jvm_under_qos1_load_loses_nothing(broker_factory, tmp_path, classes):
    b = java_broker(broker_factory, tmp_path, classes, "Faulty")
    pid = wait_driver(b, "java")["workers"][0]["pid"]
    mark = b.mark()
    kill9_under_qos1_load(b, pid, "jk")
    b.wait_log(rf"FAULTY java init pid=(?!{pid}\b)\d+", timeout=60, start=mark)
    d = wait_driver(b, "java", restarts=1)
    assert d["workers"][0]["pid"] != pid


def test_java_example_from_its_readme(broker_factory, tmp_path):
    example = ROOT / "examples" / "java"
    classes = javac([example / "DeviceHooks.java"], tmp_path / "classes")
    config = (example / "hookmq.toml").read_text().replace('path = "examples/java/classes"', f'path = "{classes}"')
    b = start(broker_factory, tmp_path / "broker", config=config,
              env={"HOOKMQ_DEVICES": str(example / "devices.properties")})
    wait_driver(b, "java")
    b.wait_log(r"\[devices\] loaded 2 devices")
    assert rc(Client(b, client_id="dev-1", username="dev-1", password="wrong").connect()[1]) in (5, 0x87)
    watcher = Client(b, client_id="watcher", protocol=5)
    watcher.connect()
    watcher.subscribe("#", 1)
    dev = Client(b, client_id="dev-1", username="dev-1", password="token-1", protocol=5)
    assert rc(dev.connect()[1]) == 0
    b.wait_log(r"\[devices\] dev-1 connected from 127.0.0.1")
    assert [rc(r) for r in dev.subscribe("devices/dev-2/commands/#", 1)] == [0x87]
    assert rc(dev.publish("devices/dev-2/telemetry", b"x", qos=1)) == 0x87
    dev.publish("devices/dev-1/telemetry", b" 21.5 ", qos=1)
    dev.publish("devices/dev-1/telemetry", b"  ", qos=1)
    dev.publish("devices/dev-1/status", b"ok", qos=1)
    got = barrier(dev, watcher, "devices/dev-1/sync")
    assert [m.topic for m in got] == ["telemetry/dev-1", "devices/dev-1/status"]
    envelope = json.loads(got[0].payload)
    assert envelope["device"] == "dev-1" and envelope["data"] == "21.5" and envelope["ts"] > 0
    dev.disconnect()
    b.wait_log(r"\[devices\] dev-1 disconnected: normal")
    watcher.disconnect()


@pytest.mark.parametrize("handler,hook", [("NoopPublish", "message_publish"), ("NoopAuth", "client_authenticate")])
def test_bench_noop_java_hooks_load(broker_factory, tmp_path, handler, hook):
    classes = javac(sorted((ROOT / "bench" / "hooks" / "java").glob("*.java")), tmp_path / "classes")
    b = start(broker_factory, tmp_path / "broker",
              config=driver_toml("java", path=str(classes), init_module=handler, init_timeout="60s", pool_size=2))
    d = wait_driver(b, "java")
    assert [h["name"] for h in d["hooks"]] == [hook] and len(d["workers"]) == 2
    c = Client(b, client_id="bench-java")
    assert c.connect()[1] == 0
    c.subscribe("b/#", 1)
    c.publish("b/1", b"x", qos=1)
    assert c.expect().payload == b"x"
    c.disconnect()


BROKEN_INIT = r'''
import io.hookmq.sdk.*;

public class BrokenInit extends HookHandler {
    @Override
    protected void onLoad() {
        throw new IllegalStateException("cannot open the device registry");
    }

    @Override
    public void onClientConnected(ClientInfo client) {
    }
}
'''


def test_java_load_failures_carry_the_stack_trace(broker_factory, tmp_path, classes):
    src = tmp_path / "src"
    src.mkdir()
    (src / "BrokenInit.java").write_text(BROKEN_INIT)
    broken = javac([src / "BrokenInit.java"], tmp_path / "broken")
    cases = [("BrokenInit", broken, ["java.lang.IllegalStateException: cannot open the device registry",
                                     "at BrokenInit.onLoad"]),
             ("NoSuchHandler", classes, ["ClassNotFoundException", "NoSuchHandler"])]
    for i, (init_module, path, expected) in enumerate(cases):
        b = start(broker_factory, tmp_path / f"b{i}",
                  config=driver_toml("java", path=str(path), init_module=init_module, init_timeout="60s"))
        out = ctl(b, "plugins", "load", "extension_hook")
        assert out.returncode == 1
        assert "driver java failed to load" in out.stderr and f"{init_module}.init() failed" in out.stderr
        for text in expected:
            assert text in out.stderr, out.stderr
        c = Client(b, client_id=f"still-{i}")
        assert c.connect()[1] == 0
        c.disconnect()
