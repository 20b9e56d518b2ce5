package hookmq.javatest;

import static hookmq.javatest.Check.equal;
import static hookmq.javatest.Shapes.clientInfo;
import static hookmq.javatest.Shapes.connInfo;
import static hookmq.javatest.Shapes.message;

import erlport.terms.Atom;
import erlport.terms.Binary;
import erlport.terms.Etf;
import erlport.terms.Tuple;
import java.math.BigInteger;
import java.util.Arrays;
import java.util.List;

/**
 * The EMQX-Java-SDK-style handler in compat-test/ (compiled against erlport.jar only) runs on the
 * hookmq runtime: init with an opaque state, decisions, a message rewrite.
 */
public class CompatTest {
    private static final String LEGACY = "LegacyStyleHandler";

    public void testLegacyStyleHandlerRunsUnchanged() throws Exception {
        try (PortProcess port = PortProcess.start()) {
            port.sendCall(1, LEGACY, "init");
            byte[] initReply = port.nextReplyBytes();
            Tuple init = (Tuple) ((Tuple) Etf.decode(initReply)).get(2);
            equal(0, init.get(0));
            List<?> specs = (List<?>) ((Tuple) init.get(1)).get(0);
            equal(Tuple.three("client_connect", LEGACY, "onClientConnect"), specs.get(0));
            equal(Tuple.four("message_publish", LEGACY, "onMessagePublish",
                    List.of(Tuple.two(new Atom("topics"), List.of(new Binary("legacy/#"))))), specs.get(3));

            // the broker keeps the state's bytes and appends them to each call unchanged
            byte[] state = stateBytes(initReply);
            Check.bytes(Check.unhex("68 03 64 000f 2465726c706f72742e6f7061717565 64 0004 6a617661 6d"),
                    Arrays.copyOf(state, 28));

            equal(new Atom("ok"), reply(port, 2, "onClientConnect", state, connInfo("c1"), List.of()));
            equal(Tuple.two(0, true), reply(port, 3, "onClientAuthenticate", state,
                    clientInfo("c1", "legacy", "pw"), false));
            equal(Tuple.two(0, false), reply(port, 4, "onClientAuthenticate", state,
                    clientInfo("c1", "other", "pw"), false));
            equal(Tuple.two(0, true), reply(port, 5, "onClientCheckAcl", state, clientInfo("c1", "legacy", ""),
                    new Atom("publish"), new Binary("legacy/a"), false));
            equal(Tuple.two(0, false), reply(port, 6, "onClientCheckAcl", state, clientInfo("c1", "legacy", ""),
                    new Atom("publish"), new Binary("other/a"), true));
            List<Object> expected = message("legacy/out/legacy/t", "[stamped] hi");
            equal(Tuple.two(0, expected), reply(port, 7, "onMessagePublish", state, message("legacy/t", "hi")));
            equal(BigInteger.valueOf(Shapes.TIMESTAMP), ((Tuple) expected.get(6)).get(1));
            equal(new Atom("ok"), reply(port, 8, "deinit", null));
            equal(0, port.closeAndWait());
            Check.that(port.stderr().contains("[legacy] connect c1 v5"), port.stderr());
        }
    }

    /** The State term of {@code {'r', 1, {0, {Specs, State}}}}: the bytes after the specs list. */
    private static byte[] stateBytes(byte[] reply) {
        Tuple whole = (Tuple) Etf.decode(reply);
        Object specs = ((Tuple) ((Tuple) whole.get(2)).get(1)).get(0);
        // {r, 1, {0, {Specs, State}}} = 83 68 03 64 0001 72 61 01 68 02 61 00 68 02 <Specs> <State>
        int specsAt = 15;
        int stateAt = specsAt + Etf.encode(specs).length - 1;
        return Arrays.copyOfRange(reply, stateAt, reply.length);
    }

    /** Calls {@code LegacyStyleHandler:function(args..., State)} with the state bytes spliced in. */
    private static Object reply(PortProcess port, int id, String function, byte[] state, Object... args)
            throws Exception {
        byte[] call = Etf.encode(Tuple.forElements(new Object[] {new Atom("C"), id, new Atom(LEGACY),
            new Atom(function), List.of(args)}));
        if (state != null) {
            // rebuild the argument list: LIST_EXT header with one more element, args, State, NIL
            byte[] argsOnly = Etf.encode(List.of(args));
            int listAt = call.length - (argsOnly.length - 1);
            byte[] out = new byte[listAt + 5 + (argsOnly.length - 1 - 6) + state.length + 1];
            System.arraycopy(call, 0, out, 0, listAt);
            int n = args.length + 1;
            byte[] header = {0x6c, (byte) (n >>> 24), (byte) (n >>> 16), (byte) (n >>> 8), (byte) n};
            System.arraycopy(header, 0, out, listAt, 5);
            System.arraycopy(argsOnly, 1 + 5, out, listAt + 5, argsOnly.length - 1 - 6);
            System.arraycopy(state, 0, out, out.length - 1 - state.length, state.length);
            out[out.length - 1] = 0x6a;
            call = out;
        }
        port.sendBytes(call);
        Tuple reply = port.nextReply();
        equal(Tuple.three(new Atom("r"), id, reply.get(2)), reply);
        return reply.get(2);
    }
}
