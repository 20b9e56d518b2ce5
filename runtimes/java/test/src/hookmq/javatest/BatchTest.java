package hookmq.javatest;

import static hookmq.javatest.Check.equal;

import erlport.terms.Atom;
import erlport.terms.Binary;
import erlport.terms.Etf;
import erlport.terms.Tuple;
import hookmq.javatest.handlers.ObservingHandler;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** hookmq's batched mode, driven the way the broker drives it. */
public class BatchTest {
    private static final String H = ObservingHandler.class.getName();
    private static final List<Atom> CLIENT_KEYS = atoms("node", "clientid", "username", "password", "peerhost",
            "sockport", "protocol", "mountpoint", "is_superuser", "anonymous");
    private static final List<Atom> MESSAGE_KEYS = atoms("node", "id", "qos", "from", "topic", "payload", "timestamp");

    private static List<Atom> atoms(String... names) {
        List<Atom> out = new ArrayList<>();
        for (String n : names) {
            out.add(new Atom(n));
        }
        return out;
    }

    private static Tuple client(String user) {
        return Tuple.forElements(new Object[] {new Atom("hookmq@127.0.0.1"), new Binary("c1"), new Binary(user),
            new Binary("pw"), new Binary("127.0.0.1"), 1883, new Atom("mqtt"), new Binary(""), false, true});
    }

    private static Tuple message(String topic, String payload) {
        return Tuple.forElements(new Object[] {new Atom("hookmq@127.0.0.1"), new Binary("0123"), 1,
            new Binary("pub"), new Binary(topic), new Binary(payload), BigInteger.valueOf(1764000000000L)});
    }

    private static Tuple target(String method, Object shapes, boolean observe) {
        return Tuple.four(new Atom(H), new Atom(method), shapes, observe);
    }

    private static Tuple item(int target, Object... args) {
        return Tuple.two(target, new ArrayList<>(Arrays.asList(args)));
    }

    public void testNegotiateRegisterAndAnswerOneBatch() throws Exception {
        try (PortProcess port = PortProcess.start()) {
            equal(1, port.call(1, "$hookmq", "batch", 1));
            Tuple init = (Tuple) port.call(2, H, "init");
            String specs = Etf.toText(((Tuple) init.get(1)).get(0));
            Check.that(specs.contains("onMessageDeliveredRaw\", [{observe, true}]}"), specs);
            List<Object> targets = List.of(
                    target("onClientAuthenticateRaw", List.of(CLIENT_KEYS, List.of()), false),
                    target("onMessagePublishRaw", List.of(MESSAGE_KEYS), false),
                    target("onMessageDeliveredRaw", List.of(CLIENT_KEYS, MESSAGE_KEYS), true));
            equal(List.of(false, false, true), port.call(3, "$hookmq", "targets", targets, new Tuple(0)));
            port.send(Tuple.three(new Atom("B"), 9, List.of(
                    item(0, client("alice"), false),
                    item(2, client("sub"), message("t/1", "first")),
                    item(1, message("t/1", "m")),
                    item(0, client("boom"), false),
                    item(2, client("sub"), message("t/1", "second")))));
            Tuple answer = port.nextReply();
            equal(new Atom("R"), answer.get(0));
            equal(9, answer.get(1));
            List<?> results = (List<?>) answer.get(2);
            equal(3, results.size());
            equal(Tuple.two(0, true), results.get(0));
            String rewritten = Etf.toText(results.get(1));
            Check.that(rewritten.contains("{topic, <<\"out/t/1\">>}"), rewritten);
            equal(new Atom("ok"), results.get(2));
            List<?> errors = (List<?>) answer.get(3);
            equal(1, errors.size());
            equal(3, ((Tuple) errors.get(0)).get(0));
            String trace = ((Binary) ((Tuple) errors.get(0)).get(1)).asString();
            Check.that(trace.startsWith("java.lang.IllegalStateException: boom in authenticate"), trace);
            equal(List.of(), answer.get(4));
            equal(List.of("delivered c1 first\n", "delivered c1 second\n"), port.printed());
            // A batch naming no registered target ends the runtime (status 3).
            port.send(Tuple.three(new Atom("B"), 10, List.of(item(7, new Binary("x")))));
            equal(3, port.waitFor());
            Check.that(port.stderr().contains("names no registered target"), port.stderr());
        }
    }
}
