package hookmq.javatest;

import java.util.HexFormat;
import java.util.Objects;

/** Assertions for the tests; each failure throws {@link AssertionError} with both values. */
public final class Check {
    private Check() {
    }

    /** Fails unless {@code expected} equals {@code actual}. */
    public static void equal(Object expected, Object actual) {
        if (!Objects.deepEquals(expected, actual)) {
            throw new AssertionError("expected " + show(expected) + "\n     got " + show(actual));
        }
    }

    /** Fails unless {@code condition} holds. */
    public static void that(boolean condition, String what) {
        if (!condition) {
            throw new AssertionError(what);
        }
    }

    /** Fails unless the bytes are equal; shows both in hex. */
    public static void bytes(byte[] expected, byte[] actual) {
        if (!java.util.Arrays.equals(expected, actual)) {
            throw new AssertionError("expected " + hex(expected) + "\n     got " + hex(actual));
        }
    }

    /** Bytes from hex digits; spaces are ignored. */
    public static byte[] unhex(String digits) {
        return HexFormat.of().parseHex(digits.replace(" ", ""));
    }

    /** Bytes as hex digits. */
    public static String hex(byte[] bytes) {
        return HexFormat.of().formatHex(bytes);
    }

    /** Fails unless {@code body} throws an exception of type {@code type}; returns it. */
    public static <T extends Throwable> T raises(Class<T> type, ThrowingRunnable body) {
        try {
            body.run();
        } catch (Throwable e) {
            if (type.isInstance(e)) {
                return type.cast(e);
            }
            throw new AssertionError("expected " + type.getName() + ", got " + e, e);
        }
        throw new AssertionError("expected " + type.getName() + ", nothing was thrown");
    }

    /** Code that may throw anything. */
    public interface ThrowingRunnable {
        /** Runs the code. */
        void run() throws Throwable;
    }

    private static String show(Object value) {
        if (value instanceof byte[]) {
            return hex((byte[]) value);
        }
        return erlport.terms.Etf.toText(value) + (value == null ? "" : " (" + value.getClass().getSimpleName() + ")");
    }
}
