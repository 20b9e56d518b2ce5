"""Java hooks on hookmq's batched port protocol, with real `java` and paho clients: a handler
written the way EMQX's Java SDK v4.2.0 and later talks to erlport 1.2.x (the
`com.erlport.erlang.term` classes) runs unchanged, and an observe-only hook (`@Observe` of hookmq's
SDK) sees every message of each client in order under load with overflow = "block" and counts what
it drops with "drop". Handlers are compiled with javac in the test."""

import pytest

from harness import Client
from test_port_support import (driver_toml, javac, metric, observer_sees_each_client_in_order,
                               recorded, start, wait_driver, wait_for)

# EMQX 4.2's SDK style: raw Object parameters read with com.erlport.erlang.term casts, results
# built with its Tuple.two/three/four, a Serializable state, init() answering
# {0, {Specs, State}} with a topics option made of its Atom and Binary.
V42_STYLE = r'''
import com.erlport.erlang.term.Atom;
import com.erlport.erlang.term.Binary;
import com.erlport.erlang.term.Tuple;
import java.io.Serializable;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

public class V42Style {
    public static class State implements Serializable {
        private static final long serialVersionUID = 42L;
        public final String owner = "v42";
    }

    private static String atom(Object o) {
        return ((Atom) o).value;
    }

    private static String text(Object o) {
        return new String(((Binary) o).raw, StandardCharsets.UTF_8);
    }

    private static String field(Object proplist, String key) {
        for (Object item : (List<?>) proplist) {
            Tuple pair = (Tuple) item;
            if (atom(pair.get(0)).equals(key)) {
                Object v = pair.get(1);
                return v instanceof Atom ? atom(v) : v instanceof Binary ? text(v) : String.valueOf(v);
            }
        }
        return null;
    }

    public Object init() {
        String module = getClass().getCanonicalName();
        List<Object> specs = new ArrayList<>();
        specs.add(Tuple.three("client_authenticate", module, "onClientAuthenticateRaw"));
        specs.add(Tuple.three("client_check_acl", module, "onClientCheckAclRaw"));
        List<Object> filters = new ArrayList<>();
        filters.add(new Binary("v42/#"));
        List<Object> options = new ArrayList<>();
        options.add(Tuple.two(new Atom("topics"), filters));
        specs.add(Tuple.four("message_publish", module, "onMessagePublishRaw", options));
        return Tuple.two(0, Tuple.two(specs, new State()));
    }

    public void deinit() {
    }

    public Object onClientAuthenticateRaw(Object clientInfo, Object authResult, Object state) {
        boolean ok = state instanceof State && "v42".equals(field(clientInfo, "username"))
                && "pw".equals(field(clientInfo, "password")) && "mqtt".equals(field(clientInfo, "protocol"))
                && !(Boolean) authResult;
        return Tuple.two(0, ok);
    }

    public Object onClientCheckAclRaw(Object clientInfo, Object pubsub, Object topic, Object result, Object state) {
        return Tuple.two(0, atom(pubsub).equals("subscribe") || text(topic).startsWith("v42/"));
    }

    public Object onMessagePublishRaw(Object message, Object state) {
        List<Object> out = new ArrayList<>();
        for (Object item : (List<?>) message) {
            Tuple pair = (Tuple) item;
            Object value = pair.get(1);
            switch (atom(pair.get(0))) {
                case "topic":
                    value = new Binary("v42/out/" + text(value).substring(4));
                    break;
                case "payload":
                    value = new Binary(text(value).toUpperCase().getBytes(StandardCharsets.UTF_8));
                    break;
                case "timestamp":
                    value = ((BigInteger) value).add(BigInteger.ONE);
                    break;
                default:
                    break;
            }
            out.add(Tuple.two(new Atom(atom(pair.get(0))), value));
        }
        return Tuple.two(0, out);
    }
}
'''

OBSERVER = r'''
import io.hookmq.sdk.*;
import java.io.FileOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;

public class Observer extends HookHandler {
    @Override
    @Observe
    public Message onMessagePublish(Message message) throws Exception {
        Thread.sleep(Long.getLong("observer.sleep.ms", 0));
        try (FileOutputStream out = new FileOutputStream("published.log", true)) {
            out.write((message.from() + " " + message.payloadString() + "\n").getBytes(StandardCharsets.UTF_8));
        }
        return message;   // a value: counted, never used
    }
}
'''


@pytest.fixture(scope="module")
def classes(tmp_path_factory):
    src = tmp_path_factory.mktemp("java-batch-src")
    for name, text in [("V42Style", V42_STYLE), ("Observer", OBSERVER)]:
        (src / f"{name}.java").write_text(text)
    return javac(sorted(src.glob("*.java")), tmp_path_factory.mktemp("java-batch-classes"))


def rc(r):
    return getattr(r, "value", r)


def test_an_emqx_sdk_4_2_style_handler_runs_unchanged(broker_factory, tmp_path, classes):
    cfg = driver_toml("java", path=str(classes), init_module="V42Style", init_timeout="60s")
    b = start(broker_factory, tmp_path, config="[mqtt]\nallow_anonymous = false\n" + cfg)
    d = wait_driver(b, "java")
    assert d["workers"][0]["protocol"] == "batched"
    assert {h["name"]: h["topics"] for h in d["hooks"]}["message_publish"] == ["v42/#"]
    assert rc(Client(b, client_id="v-bad", username="v42", password="no").connect()[1]) in (5, 0x87)
    sub = Client(b, client_id="v-sub", username="v42", password="pw", protocol=5)
    assert rc(sub.connect()[1]) == 0
    assert [rc(r) for r in sub.subscribe("#", 1)] == [1]
    assert rc(sub.publish("other/x", b"no", qos=1)) == 0x87
    sub.publish("v42/a", b"payload", qos=1)
    m = sub.expect()
    assert (m.topic, m.payload) == ("v42/out/a", b"PAYLOAD")
    sub.disconnect()




def observer_broker(broker_factory, tmp_path, classes, sleep_ms, **settings):
    cfg = driver_toml("java", path=str(classes), init_module="Observer", init_timeout="60s", **settings)
    env = {"JAVA_TOOL_OPTIONS": f"-Dobserver.sleep.ms={sleep_ms}"}
    b = start(broker_factory, tmp_path, config=cfg, env=env)
    d = wait_driver(b, "java")
    assert d["hooks"] == [{"name": "message_publish", "topics": [], "observe": True}]
    return b


def test_a_java_observer_sees_every_message_in_order_with_block(broker_factory, tmp_path, classes):
    b = observer_broker(broker_factory, tmp_path, classes, 0, overflow="block", queue_capacity=8)
    per = 600
    observer_sees_each_client_in_order(b, tmp_path / "published.log", "jblk", per)
    m = metric(b, "java", "message.publish")
    assert m["dropped"] == 0 and m["failed"] == 0, m
    wait_for(lambda: metric(b, "java", "message.publish")["values_ignored"] == 3 * (per + 1))


def test_a_slow_java_observer_drops_and_counts(broker_factory, tmp_path, classes):
    b = observer_broker(broker_factory, tmp_path, classes, 5, queue_capacity=4)
    pub = Client(b, client_id="jdrp")
    pub.connect()
    total = 300
    for n in range(total):
        pub.publish("load/x", str(n).encode(), qos=0, wait=False)
    pub.publish("load/end", b"end", qos=1)
    total += 1
    wait_for(lambda: sum(metric(b, "java", "message.publish")[k] for k in ("calls", "dropped")) == total)
    m = metric(b, "java", "message.publish")
    assert m["dropped"] > 0, m
    lines = recorded(tmp_path / "published.log")
    assert len(lines) == m["calls"]
    got = [int(p) for _, p in lines if p != "end"]
    assert got == sorted(got)
