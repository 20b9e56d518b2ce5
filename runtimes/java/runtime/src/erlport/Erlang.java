package erlport;

import erlport.terms.Atom;
import erlport.terms.Etf;
import erlport.terms.Tuple;
import java.io.IOException;
import java.io.PrintStream;
import java.util.List;

/**
 * Calls from hook code to the broker, erlport's {@code erlang.call}: sends
 * {@code {'C', Id, Module, Function, Args, 'N'}} and waits for {@code {'r', Id, Result}} or
 * {@code {'e', Id, Error}}, serving the broker's own calls and batches meanwhile (the broker
 * answers its services in a task of its own, so a hook may call while its batch is in flight).
 * Only the thread that runs the hooks may call. The SDK's {@code io.hookmq.sdk.Broker} is built on
 * it.
 */
public final class Erlang {
    /** The broker answered a call with an error term. */
    public static final class ErlangError extends RuntimeException {
        private static final long serialVersionUID = 1L;

        /** The error term, e.g. {@code {hookmq, Code, Message, []}} for a refused service. */
        public final transient Object error;

        ErlangError(Object error) {
            super("the broker answered an error: " + Etf.toText(error));
            this.error = error;
        }
    }

    private static final Atom CALL = new Atom("C");
    private static final Atom PLAIN = new Atom("N");

    private static Port port;
    private static PrintStream printed;
    private static Options options;
    private static Dispatcher dispatcher;
    private static Batch batch;
    private static Thread serving;
    private static long nextId = 1;

    private Erlang() {
    }

    /** Called by {@link CLI} before it serves. */
    static void setup(Port p, PrintStream out, Options o, Dispatcher d, Batch b) {
        port = p;
        printed = out;
        options = o;
        dispatcher = d;
        batch = b;
        serving = Thread.currentThread();
    }

    /** Calls {@code module:function(args...)} in the broker and returns its result. */
    public static Object call(String module, String function, List<Object> args) {
        if (port == null) {
            throw new IllegalStateException("erlport.Erlang.call works only inside the hookmq runtime");
        }
        if (Thread.currentThread() != serving) {
            throw new IllegalStateException("erlport.Erlang.call is only allowed from the thread that runs the hooks");
        }
        long id = nextId++;
        Tuple request = Tuple.forElements(new Object[] {CALL, id, new Atom(module), new Atom(function), args, PLAIN});
        try {
            printed.flush();
            port.__write__data(Etf.encode(request, options.compressed));
            port.flush();
            while (true) {
                byte[] frame = port.readFrame();
                if (frame == null) {
                    throw new ErlangError(new Atom("port_closed"));
                }
                Object term = Etf.decode(frame);
                if (term instanceof Tuple) {
                    Object[] e = ((Tuple) term).elements;
                    if (e.length == 3 && e[0] instanceof Atom && e[1] instanceof Number
                            && ((Number) e[1]).longValue() == id) {
                        String tag = ((Atom) e[0]).value;
                        if ("r".equals(tag)) {
                            return e[2];
                        }
                        if ("e".equals(tag)) {
                            throw new ErlangError(e[2]);
                        }
                    }
                }
                if (!CLI.handle(frame, dispatcher, batch, port, printed, options)) {
                    throw new IllegalStateException("the broker sent a batch that cannot be run");
                }
                if (!port.inputPending()) {
                    port.flush();
                }
            }
        } catch (IOException e) {
            throw new java.io.UncheckedIOException("lost the pipe to the broker", e);
        }
    }
}
