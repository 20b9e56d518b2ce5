package erlport.terms;

import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Collection;
import java.util.Map;

/**
 * Encodes Java values as External Term Format into a growable buffer. {@link Etf#encode} is the
 * entry point; the mapping is documented there.
 */
final class TermWriter {

    private byte[] buf;
    private int len;

    TermWriter(int capacity) {
        this.buf = new byte[Math.max(16, capacity)];
    }

    /** A copy of the bytes written so far. */
    byte[] toByteArray() {
        return Arrays.copyOf(buf, len);
    }

    /** The number of bytes written so far. */
    int size() {
        return len;
    }

    /** The internal buffer; only the first {@link #size()} bytes are meaningful. */
    byte[] buffer() {
        return buf;
    }

    /** Forgets everything written, keeping the buffer for reuse. */
    void reset() {
        len = 0;
    }

    private void room(int extra) {
        if (buf.length - len < extra) {
            long wanted = Math.max((long) buf.length * 2, (long) len + extra);
            if (wanted > Integer.MAX_VALUE - 16) {
                throw new IllegalArgumentException("term too large to encode");
            }
            buf = Arrays.copyOf(buf, (int) wanted);
        }
    }

    void u8(int value) {
        room(1);
        buf[len++] = (byte) value;
    }

    private void u16(int value) {
        room(2);
        buf[len++] = (byte) (value >>> 8);
        buf[len++] = (byte) value;
    }

    void u32(long value) {
        room(4);
        buf[len++] = (byte) (value >>> 24);
        buf[len++] = (byte) (value >>> 16);
        buf[len++] = (byte) (value >>> 8);
        buf[len++] = (byte) value;
    }

    void raw(byte[] bytes, int offset, int count) {
        room(count);
        System.arraycopy(bytes, offset, buf, len, count);
        len += count;
    }

    /** Writes {@code term}; throws {@link IllegalArgumentException} for values with no encoding. */
    void term(Object term) {
        if (term == null) {
            atom("undefined");
        } else if (term instanceof Atom) {
            atom(((Atom) term).value);
        } else if (term instanceof Boolean) {
            atom(((Boolean) term) ? "true" : "false");
        } else if (term instanceof Integer || term instanceof Long || term instanceof Short
                || term instanceof Byte) {
            integer(((Number) term).longValue());
        } else if (term instanceof BigInteger) {
            big((BigInteger) term);
        } else if (term instanceof Double || term instanceof Float) {
            double value = ((Number) term).doubleValue();
            if (Double.isNaN(value) || Double.isInfinite(value)) {
                throw new IllegalArgumentException("Erlang has no float for " + value);
            }
            u8(Tag.NEW_FLOAT.code);
            long bits = Double.doubleToLongBits(value);
            u32(bits >>> 32);
            u32(bits);
        } else if (term instanceof Binary) {
            binary(((Binary) term).raw);
        } else if (term instanceof byte[]) {
            binary((byte[]) term);
        } else if (term instanceof String) {
            string((String) term);
        } else if (term instanceof Character) {
            integer((Character) term);
        } else if (term instanceof Tuple) {
            tuple(((Tuple) term).elements);
        } else if (term instanceof ImproperList) {
            ImproperList list = (ImproperList) term;
            list(list, list.tail);
        } else if (term instanceof Collection) {
            list((Collection<?>) term, null);
        } else if (term instanceof Object[]) {
            list(Arrays.asList((Object[]) term), null);
        } else if (term instanceof Map) {
            map((Map<?, ?>) term);
        } else if (term instanceof Pid) {
            Pid pid = (Pid) term;
            u8(Tag.NEW_PID.code);
            atom(pid.node.value);
            u32(pid.id);
            u32(pid.serial);
            u32(pid.creation);
        } else if (term instanceof Port) {
            port((Port) term);
        } else if (term instanceof ErlangTerm) {
            term(((ErlangTerm) term).asTerm());
        } else if (term instanceof Reference) {
            Reference ref = (Reference) term;
            u8(Tag.NEWER_REFERENCE.code);
            u16(ref.words.length);
            atom(ref.node.value);
            u32(ref.creation);
            for (long word : ref.words) {
                u32(word);
            }
        } else {
            tuple(Opaque.encode(term));
        }
    }

    /** ATOM_EXT (100) for Latin-1 names, ATOM_UTF8_EXT (118) for the rest. */
    void atom(String name) {
        boolean latin1 = name.length() <= 255;
        for (int i = 0; latin1 && i < name.length(); i++) {
            latin1 = name.charAt(i) < 256;
        }
        if (latin1) {
            u8(Tag.ATOM.code);
            u16(name.length());
            room(name.length());
            for (int i = 0; i < name.length(); i++) {
                buf[len++] = (byte) name.charAt(i);
            }
        } else {
            byte[] utf8 = name.getBytes(StandardCharsets.UTF_8);
            if (utf8.length > 65535 || name.codePointCount(0, name.length()) > 255) {
                throw new IllegalArgumentException("atom name longer than 255 characters");
            }
            u8(Tag.ATOM_UTF8.code);
            u16(utf8.length);
            raw(utf8, 0, utf8.length);
        }
    }

    private void integer(long value) {
        if (value >= 0 && value <= 255) {
            u8(Tag.SMALL_INTEGER.code);
            u8((int) value);
        } else if (value >= Integer.MIN_VALUE && value <= Integer.MAX_VALUE) {
            u8(Tag.INTEGER.code);
            u32(value);
        } else {
            big(BigInteger.valueOf(value));
        }
    }

    /** SMALL_BIG_EXT (110), or LARGE_BIG_EXT (111) past 255 magnitude bytes, whatever the value. */
    private void big(BigInteger value) {
        byte[] magnitude = value.abs().toByteArray();
        int skip = magnitude.length > 1 && magnitude[0] == 0 ? 1 : 0;
        int n = magnitude.length - skip;
        if (value.signum() == 0) {
            n = 0;
        }
        if (n <= 255) {
            u8(Tag.SMALL_BIG.code);
            u8(n);
        } else {
            u8(Tag.LARGE_BIG.code);
            u32(n);
        }
        u8(value.signum() < 0 ? 1 : 0);
        room(n);
        for (int i = 0; i < n; i++) {
            buf[len++] = magnitude[magnitude.length - 1 - i];
        }
    }

    private void binary(byte[] bytes) {
        u8(Tag.BINARY.code);
        u32(bytes.length);
        raw(bytes, 0, bytes.length);
    }

    /**
     * A string is an Erlang list of code points: STRING_EXT (107) when every char is Latin-1 and
     * there are at most 65535, otherwise a LIST_EXT of integers; {@code ""} is {@code []}.
     */
    private void string(String text) {
        int n = text.length();
        boolean latin1 = n <= 65535;
        for (int i = 0; latin1 && i < n; i++) {
            latin1 = text.charAt(i) < 256;
        }
        if (n == 0) {
            u8(Tag.NIL.code);
        } else if (latin1) {
            u8(Tag.STRING.code);
            u16(n);
            room(n);
            for (int i = 0; i < n; i++) {
                buf[len++] = (byte) text.charAt(i);
            }
        } else {
            int[] points = text.codePoints().toArray();
            u8(Tag.LIST.code);
            u32(points.length);
            for (int point : points) {
                integer(point);
            }
            u8(Tag.NIL.code);
        }
    }

    private void tuple(Object[] elements) {
        if (elements.length <= 255) {
            u8(Tag.SMALL_TUPLE.code);
            u8(elements.length);
        } else {
            u8(Tag.LARGE_TUPLE.code);
            u32(elements.length);
        }
        for (Object element : elements) {
            term(element);
        }
    }

    /** LIST_EXT with a {@code []} tail, or NIL_EXT alone for an empty proper list. */
    private void list(Collection<?> elements, Object improperTail) {
        if (elements.isEmpty() && improperTail == null) {
            u8(Tag.NIL.code);
            return;
        }
        u8(Tag.LIST.code);
        u32(elements.size());
        for (Object element : elements) {
            term(element);
        }
        if (improperTail == null) {
            u8(Tag.NIL.code);
        } else {
            term(improperTail);
        }
    }

    private void map(Map<?, ?> map) {
        u8(Tag.MAP.code);
        u32(map.size());
        for (Map.Entry<?, ?> entry : map.entrySet()) {
            term(entry.getKey());
            term(entry.getValue());
        }
    }

    private void port(Port port) {
        if (port.id > 0xffffffffL) {
            u8(Tag.V4_PORT.code);
            atom(port.node.value);
            u32(port.id >>> 32);
            u32(port.id);
        } else {
            u8(Tag.NEW_PORT.code);
            atom(port.node.value);
            u32(port.id);
        }
        u32(port.creation);
    }
}
