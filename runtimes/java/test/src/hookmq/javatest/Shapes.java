package hookmq.javatest;

import erlport.terms.Atom;
import erlport.terms.Binary;
import erlport.terms.Tuple;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.List;

/** The hook arguments exactly as the broker builds them (protocol reference §1.2). */
public final class Shapes {
    /** Node name used in every shape. */
    public static final String NODE = "hookmq@127.0.0.1";
    /** A 2020 timestamp in ms, above 2^31 so it travels as SMALL_BIG_EXT. */
    public static final long TIMESTAMP = 1594044131000L;

    private Shapes() {
    }

    /** {@code {Key, Value}} with an atom key. */
    public static Tuple kv(String key, Object value) {
        return Tuple.two(new Atom(key), value);
    }

    /** The 8-key conninfo proplist. */
    public static List<Object> connInfo(String clientId) {
        return new ArrayList<>(List.of(kv("node", new Atom(NODE)), kv("clientid", new Binary(clientId)),
                kv("username", new Binary("alice")), kv("peerhost", new Binary("127.0.0.1")),
                kv("sockport", 1883), kv("proto_name", new Binary("MQTT")), kv("proto_ver", 5),
                kv("keepalive", 60)));
    }

    /** The 10-key clientinfo proplist. */
    public static List<Object> clientInfo(String clientId, String username, String password) {
        return new ArrayList<>(List.of(kv("node", new Atom(NODE)), kv("clientid", new Binary(clientId)),
                kv("username", new Binary(username)), kv("password", new Binary(password)),
                kv("peerhost", new Binary("127.0.0.1")), kv("sockport", 1883), kv("protocol", new Atom("mqtt")),
                kv("mountpoint", new Binary("")), kv("is_superuser", false), kv("anonymous", true)));
    }

    /** The 7-key message proplist; the timestamp is a {@code BigInteger}, as decoded from the wire. */
    public static List<Object> message(String topic, String payload) {
        return new ArrayList<>(List.of(kv("node", new Atom(NODE)),
                kv("id", new Binary("0005A9C5B2E4F1A2F4400000F0E10002")), kv("qos", 1),
                kv("from", new Binary("pub-1")), kv("topic", new Binary(topic)), kv("payload", new Binary(payload)),
                kv("timestamp", BigInteger.valueOf(TIMESTAMP))));
    }

    /** The subscription options proplist, sorted by key. */
    public static List<Object> subOpts() {
        return new ArrayList<>(List.of(kv("is_new", true), kv("nl", 0), kv("qos", 1), kv("rap", 0), kv("rh", 0)));
    }

    /** The empty-tuple state hookmq SDK handlers return from init. */
    public static Tuple state() {
        return new Tuple(0);
    }
}
