import erlport.terms.Atom;
import erlport.terms.Binary;
import erlport.terms.Tuple;
import java.io.Serializable;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.List;

/**
 * A handler written the way code for EMQX 4.1's Java SDK (emqx-extension-java-sdk) talks to
 * erlport 1.1.1: raw {@code Object} parameters, proplists read with {@code (Tuple)},
 * {@code (Atom)}, {@code (Binary)}, {@code (Boolean)}, {@code (Integer)} and {@code (BigInteger)}
 * casts, results built with {@code Tuple.two/three/four}, and a {@link Serializable} state that
 * travels as an opaque term. It only compiles against hookmq's erlport.jar if that jar has the
 * same term API, and the tests run it through the hookmq runtime.
 */
public class LegacyStyleHandler {
    /** State kept by the broker between calls as {@code {'$erlport.opaque', java, Bytes}}. */
    public static class State implements Serializable {
        private static final long serialVersionUID = 7L;
        public final String owner;
        public final int generation;

        public State(String owner, int generation) {
            this.owner = owner;
            this.generation = generation;
        }
    }

    private int authCalls;

    public Object init() {
        String module = getClass().getName();
        List<Object> specs = new ArrayList<>();
        specs.add(Tuple.three("client_connect", module, "onClientConnect"));
        specs.add(Tuple.three("client_authenticate", module, "onClientAuthenticate"));
        specs.add(Tuple.three("client_check_acl", module, "onClientCheckAcl"));
        List<Object> topics = new ArrayList<>();
        topics.add(new Binary("legacy/#"));
        List<Object> options = new ArrayList<>();
        options.add(Tuple.two(new Atom("topics"), topics));
        specs.add(Tuple.four("message_publish", module, "onMessagePublish", options));
        return Tuple.two(0, Tuple.two(specs, new State("legacy", 1)));
    }

    public void deinit() {
    }

    public void onClientConnect(Object connInfo, Object props, Object state) {
        String clientId = null;
        int protoVer = -1;
        for (Object item : (List<?>) connInfo) {
            Tuple pair = (Tuple) item;
            String key = ((Atom) pair.get(0)).value;
            if (key.equals("clientid")) {
                clientId = new String(((Binary) pair.get(1)).raw);
            } else if (key.equals("proto_ver")) {
                protoVer = (Integer) pair.get(1);
            }
        }
        System.err.println("[legacy] connect " + clientId + " v" + protoVer);
    }

    /** Accepts user "legacy" when the state came back intact; counts calls on this one instance. */
    public Object onClientAuthenticate(Object clientInfo, Object authResult, Object state) {
        authCalls++;
        if (!(state instanceof State) || ((State) state).generation != 1) {
            return Tuple.two(1, false);
        }
        String username = null;
        boolean superuser = true;
        for (Object item : (List<?>) clientInfo) {
            Tuple pair = (Tuple) item;
            switch (((Atom) pair.get(0)).value) {
                case "username":
                    username = new String(((Binary) pair.get(1)).raw);
                    break;
                case "is_superuser":
                    superuser = (Boolean) pair.get(1);
                    break;
                case "sockport":
                    if ((Integer) pair.get(1) <= 0) {
                        return Tuple.two(1, false);
                    }
                    break;
                default:
                    break;
            }
        }
        boolean previous = (Boolean) authResult;
        return Tuple.two(0, "legacy".equals(username) && !superuser && !previous && authCalls > 0);
    }

    /** Allows subscribing anywhere, publishing only under the user's own prefix. */
    public Object onClientCheckAcl(Object clientInfo, Object pubsub, Object topic, Object result, Object state) {
        String kind = ((Atom) pubsub).value;
        String name = new String(((Binary) topic).raw);
        if (kind.equals("subscribe")) {
            return Tuple.two(0, true);
        }
        return Tuple.two(0, name.startsWith("legacy/"));
    }

    /** Moves the message under legacy/out/ and stamps the payload; keeps the timestamp. */
    public Object onMessagePublish(Object message, Object state) {
        List<Object> out = new ArrayList<>();
        for (Object item : (List<?>) message) {
            Tuple pair = (Tuple) item;
            String key = ((Atom) pair.get(0)).value;
            Object value = pair.get(1);
            if (key.equals("topic")) {
                value = new Binary("legacy/out/" + new String(((Binary) value).raw));
            } else if (key.equals("payload")) {
                value = new Binary("[stamped] " + new String(((Binary) value).raw));
            } else if (key.equals("timestamp")) {
                value = ((BigInteger) value).add(BigInteger.ZERO);
            }
            out.add(Tuple.two(pair.get(0), value));
        }
        return Tuple.two(0, out);
    }
}
