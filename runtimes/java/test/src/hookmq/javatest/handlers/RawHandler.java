package hookmq.javatest.handlers;

import erlport.terms.Atom;
import erlport.terms.Binary;
import java.io.Serializable;
import java.util.concurrent.CountDownLatch;

/** Plain-object methods for the runtime tests: no SDK, just the call protocol. */
public class RawHandler {
    /** A handler-defined class that travels as an opaque term. */
    public static class Box implements Serializable {
        private static final long serialVersionUID = 1L;
        final String label;

        Box(String label) {
            this.label = label;
        }
    }

    /** A nested class, called by its canonical name. */
    public static class Inner {
        /** Returns {@code inner}. */
        public Object hello() {
            return new Atom("inner");
        }
    }

    private int calls;

    /** Returns its argument, so the test sees the runtime's decode and encode of it. */
    public Object echo(Object term) {
        return term;
    }

    /** A static method: no instance needed. */
    public static Object add(Object a, Object b) {
        return ((Number) a).longValue() + ((Number) b).longValue();
    }

    /** Returns nothing: the reply is {@code ok}. */
    public void nothing() {
    }

    /** Throws, with the argument in the message. */
    public Object boom(Object why) {
        throw new IllegalStateException("boom: " + why);
    }

    /** Counts calls on the single cached instance. */
    public Object count() {
        return ++calls;
    }

    /** Prints {@code text} with {@code System.out.println}, then returns {@code done}. */
    public Object shout(Object text) {
        System.out.println(((Binary) text).asString());
        System.out.print("no newline \u00e9\u20ac");
        return new Atom("done");
    }

    /** Prints from another thread after the call has returned. */
    public Object printLater() {
        CountDownLatch returned = new CountDownLatch(1);
        Thread thread = new Thread(() -> {
            try {
                returned.await();
            } catch (InterruptedException e) {
                return;
            }
            System.out.println("from a thread");
        });
        thread.setDaemon(true);
        thread.start();
        returned.countDown();
        return null;
    }

    /** Returns an object the runtime cannot encode. */
    public Object unencodable() {
        return new Object();
    }

    /** Returns a handler-defined object, which travels as an opaque term. */
    public Object makeState(Object label) {
        return new Box(((Binary) label).asString());
    }

    /** Reads the label back out of a state made by {@link #makeState}. */
    public Object openState(Object state) {
        return new Binary("label=" + ((Box) state).label);
    }

    /** A large, very compressible binary. */
    public Object big() {
        return new Binary(new byte[8000]);
    }
}
