package hookmq.javatest;

import static hookmq.javatest.Check.equal;
import static hookmq.javatest.Check.unhex;

import erlport.terms.Atom;
import erlport.terms.Binary;
import erlport.terms.Etf;
import erlport.terms.ImproperList;
import erlport.terms.Tuple;
import hookmq.javatest.handlers.RawHandler;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The runtime as a process, driven the way the broker drives it. */
public class RuntimeTest {
    private static final String RAW = RawHandler.class.getName();

    private static Tuple error(Tuple reply, int id) {
        equal(new Atom("e"), reply.get(0));
        equal(id, reply.get(1));
        Check.that(reply.get(2) instanceof Binary, "error term is a binary: " + reply);
        return reply;
    }

    private static String text(Tuple errorReply) {
        return ((Binary) errorReply.get(2)).asString();
    }

    public void testTheReferenceInitCallGetsAByteExactReply() throws Exception {
        try (PortProcess port = PortProcess.start()) {
            port.sendBytes(unhex("83 68 05 64 0001 43 61 01 64 0005 686f6f6b73 64 0004 696e6974 6a"));
            Check.bytes(unhex("83 68 03 64 0001 72 61 01 68 02 61 00 64 0004 74727565"), port.nextReplyBytes());
            equal(0, port.closeAndWait());
        }
    }

    public void testCallsResultsErrorsAndOutputInOneSession() throws Exception {
        try (PortProcess port = PortProcess.start()) {
            Map<Object, Object> map = new LinkedHashMap<>();
            map.put(new Binary("k"), List.of(1.5, BigInteger.TWO.pow(70)));
            Object term = Tuple.four(new Atom("a"), new Binary(new byte[] {0, (byte) 255}), map,
                    new ImproperList(List.of(1, "str"), new Atom("tail")));
            equal(term, port.call(1, RAW, "echo", term));
            equal(7L, ((Number) port.call(2, RAW, "add", 3, 4)).longValue());
            equal(new Atom("ok"), port.call(3, RAW, "nothing"));
            equal(1, port.call(4, RAW, "count"));
            equal(2, port.call(5, RAW, "count"));
            equal(new Atom("inner"), port.call(6, RAW + ".Inner", "hello"));

            port.sendCall(7, RAW, "boom", new Binary("why"));
            Tuple boom = error(port.nextReply(), 7);
            Check.that(text(boom).startsWith("java.lang.IllegalStateException: boom: <<\"why\">>"), text(boom));
            Check.that(text(boom).contains("at " + RAW + ".boom("), text(boom));

            port.sendCall(8, "no.such.Handler", "init");
            Check.that(text(error(port.nextReply(), 8)).contains("ClassNotFoundException: no.such.Handler"), "cnf");
            port.sendCall(9, RAW, "count", 1);
            Check.that(text(error(port.nextReply(), 9)).contains("count/1"), "arity");
            port.sendCall(10, "hookmq.javatest.handlers.NoDefaultConstructor", "hello");
            Check.that(text(error(port.nextReply(), 10)).contains("no-argument constructor"), "ctor");
            port.sendCall(11, RAW, "unencodable");
            Check.that(text(error(port.nextReply(), 11)).contains("not java.io.Serializable"), "encode");

            // still serving, same instance
            equal(3, port.call(12, RAW, "count"));

            // System.out goes to {'P', Chars} frames, before the reply, never onto the pipe raw
            equal(new Atom("done"), port.call(13, RAW, "shout", new Binary("hello")));
            equal(List.of("hello\n", "no newline \u00e9\u20ac"), port.printed());

            // output from another thread while the runtime waits for input still arrives
            // (the thread may win the race with the reply, so either order is right)
            equal(new Atom("ok"), port.call(14, RAW, "printLater"));
            if (!port.printed().contains("from a thread\n")) {
                equal(Tuple.two(new Atom("P"), "from a thread\n"), Etf.decode(port.nextFrame()));
            }

            // other terms ({'M', ...}) get no reply; an undecodable frame gets {'e', Why}
            port.send(Tuple.two(new Atom("M"), new Atom("ignored")));
            port.sendBytes(unhex("83 6d 00000009 00"));
            Tuple bad = port.nextReply();
            equal(2, bad.length());
            equal(new Atom("e"), bad.get(0));
            Check.that(((Binary) bad.get(1)).asString().startsWith("bad frame"), bad.toString());
            equal(4, port.call(15, RAW, "count"));

            equal(0, port.closeAndWait());
            String stderr = port.stderr();
            Check.that(stderr.contains("IllegalStateException: boom"), "errors are also on stderr: " + stderr);
        }
    }

    public void testPipelinedCallsAreAnsweredInOrder() throws Exception {
        try (PortProcess port = PortProcess.start()) {
            int n = 200;
            for (int id = 1; id <= n; id++) {
                port.sendCall(id, RAW, id % 10 == 0 ? "boom" : "echo", id);
            }
            for (int id = 1; id <= n; id++) {
                Tuple reply = port.nextReply();
                equal(Tuple.three(new Atom(id % 10 == 0 ? "e" : "r"), id, reply.get(2)), reply);
                if (id % 10 != 0) {
                    equal(id, reply.get(2));
                }
            }
            equal(0, port.closeAndWait());
        }
    }

    public void testOpaqueStateIsSplicedBackByteExact() throws Exception {
        try (PortProcess port = PortProcess.start()) {
            port.sendCall(1, RAW, "makeState", new Binary("mine"));
            byte[] reply = port.nextReplyBytes();
            // {'r', 1, State}: State starts after 83 68 03 64 0001 72 61 01
            byte[] state = Arrays.copyOfRange(reply, 9, reply.length);
            Check.bytes(unhex("68 03 64 000f 2465726c706f72742e6f7061717565 64 0004 6a617661 6d"),
                    Arrays.copyOf(state, 28));
            // {'C', 2, RawHandler, openState, [State]} with the State bytes as received
            byte[] head = Etf.encode(Tuple.forElements(new Object[] {new Atom("C"), 2, new Atom(RAW),
                new Atom("openState"), List.of(0)}));
            // replace the list [0] (6c 00000001 61 00 6a) with [State]
            int listAt = head.length - 8;
            byte[] call = new byte[listAt + 5 + state.length + 1];
            System.arraycopy(head, 0, call, 0, listAt);
            System.arraycopy(unhex("6c 00000001"), 0, call, listAt, 5);
            System.arraycopy(state, 0, call, listAt + 5, state.length);
            call[call.length - 1] = 0x6a;
            port.sendBytes(call);
            equal(Tuple.three(new Atom("r"), 2, new Binary("label=mine")), port.nextReply());
            equal(0, port.closeAndWait());
        }
    }

    public void testCompressedFramesBothWays() throws Exception {
        try (PortProcess port = PortProcess.start("--compressed=6", "--buffer_size=1024")) {
            port.sendBytes(Etf.encode(Tuple.forElements(new Object[] {new Atom("C"), 1, new Atom(RAW),
                new Atom("echo"), new ArrayList<>(List.of(new Binary(new byte[5000])))}), 9));
            byte[] reply = port.nextReplyBytes();
            equal(0x50, reply[1] & 0xff);
            equal(Tuple.three(new Atom("r"), 1, new Binary(new byte[5000])), Etf.decode(reply));
            equal(0, port.closeAndWait());
        }
    }

    public void testEndOfInputMidFrameAndBadOptionsExitNonZero() throws Exception {
        try (PortProcess port = PortProcess.start()) {
            port.sendCall(1, RAW, "count");
            equal(1, port.nextReply().get(2));
            port.sendBytes(new byte[0]);
            equal(new Atom("e"), port.nextReply().get(0));
            port.writeRaw(unhex("0000000a 83 61"));
            equal(74, port.closeAndWait());
            Check.that(port.stderr().contains("inside a frame"), port.stderr());
        }
        try (PortProcess port = PortProcess.start("--packet=3")) {
            equal(64, port.waitFor());
            Check.that(port.stderr().contains("--packet must be 1, 2 or 4"), port.stderr());
        }
    }
}
