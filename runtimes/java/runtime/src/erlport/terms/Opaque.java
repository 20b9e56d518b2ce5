package erlport.terms;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.io.ObjectStreamClass;
import java.io.Serializable;

/**
 * Java objects that have no Erlang counterpart travel as
 * {@code {'$erlport.opaque', java, <<Java-serialized bytes>>}}: the broker keeps the bytes and
 * sends them back unchanged, and the decoder turns them back into the object.
 */
final class Opaque {
    static final String TAG = "$erlport.opaque";
    static final String LANG = "java";

    private Opaque() {
    }

    /** True when the three tuple elements are an opaque Java object. */
    static boolean isOpaqueJava(Object[] elements) {
        return elements[0] instanceof Atom && TAG.equals(((Atom) elements[0]).value)
                && elements[1] instanceof Atom && LANG.equals(((Atom) elements[1]).value)
                && elements[2] instanceof Binary;
    }

    /** The three elements of the opaque tuple for {@code value}. */
    static Object[] encode(Object value) {
        if (!(value instanceof Serializable)) {
            throw new IllegalArgumentException("cannot encode " + value.getClass().getName()
                    + ": it has no Erlang counterpart and is not java.io.Serializable");
        }
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(256);
        try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
            out.writeObject(value);
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot serialize " + value.getClass().getName(), e);
        }
        return new Object[] {new Atom(TAG), new Atom(LANG), new Binary(bytes.toByteArray())};
    }

    /**
     * The object serialized in an opaque tuple. If it cannot be read back (its class is missing or
     * changed since it was written), the tuple itself is returned and a warning goes to stderr, so
     * that a call carrying a stale state still reaches the handler.
     */
    static Object decode(Object[] elements) {
        byte[] raw = ((Binary) elements[2]).raw;
        try (ObjectInputStream in = new ContextObjectInputStream(new ByteArrayInputStream(raw))) {
            return in.readObject();
        } catch (IOException | ClassNotFoundException | RuntimeException e) {
            System.err.println("erlport: cannot deserialize an opaque Java term (" + e
                    + "); passing it on as a tuple");
            return com.erlport.erlang.term.Tuple.wrap(elements);
        }
    }

    /** Resolves classes with the thread's context class loader, where handler classes live. */
    private static final class ContextObjectInputStream extends ObjectInputStream {
        ContextObjectInputStream(InputStream in) throws IOException {
            super(in);
        }

        @Override
        protected Class<?> resolveClass(ObjectStreamClass desc) throws IOException, ClassNotFoundException {
            ClassLoader loader = Thread.currentThread().getContextClassLoader();
            if (loader != null) {
                try {
                    return Class.forName(desc.getName(), false, loader);
                } catch (ClassNotFoundException e) {
                    // fall back to the default resolution below (primitives, bootstrap classes)
                }
            }
            return super.resolveClass(desc);
        }
    }
}
