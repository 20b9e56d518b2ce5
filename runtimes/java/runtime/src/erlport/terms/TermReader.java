package erlport.terms;

import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Decodes one External Term Format term from a byte array into Java values. {@link Etf#decode}
 * is the entry point; the mapping is documented there. Atoms, binaries and tuples are built as
 * erlport 1.2.x's {@code com.erlport.erlang.term} subclasses of this package's classes, so that
 * handlers written for either erlport can cast them.
 */
final class TermReader {
    private static final String LATIN_1 = "ISO-8859-1";
    private static final String UTF_8 = "UTF-8";

    private final byte[] data;
    private int pos;
    private final int end;

    TermReader(byte[] data, int offset, int length) {
        this.data = data;
        this.pos = offset;
        this.end = offset + length;
    }

    /** The read position: the index of the first byte not yet consumed. */
    int position() {
        return pos;
    }

    private void need(int count) {
        if (count < 0 || end - pos < count) {
            throw new IllegalArgumentException("truncated term: need " + count + " bytes at offset "
                    + pos + ", have " + (end - pos));
        }
    }

    private int u8() {
        need(1);
        return data[pos++] & 0xff;
    }

    private int u16() {
        need(2);
        int value = ((data[pos] & 0xff) << 8) | (data[pos + 1] & 0xff);
        pos += 2;
        return value;
    }

    private int i32() {
        need(4);
        int value = ((data[pos] & 0xff) << 24) | ((data[pos + 1] & 0xff) << 16)
                | ((data[pos + 2] & 0xff) << 8) | (data[pos + 3] & 0xff);
        pos += 4;
        return value;
    }

    private long u32() {
        return i32() & 0xffffffffL;
    }

    /** A u32 length or count that must fit a Java array. */
    private int count() {
        long value = u32();
        if (value > Integer.MAX_VALUE - 16) {
            throw new IllegalArgumentException("length " + value + " too large at offset " + pos);
        }
        return (int) value;
    }

    private byte[] bytes(int length) {
        need(length);
        byte[] out = new byte[length];
        System.arraycopy(data, pos, out, 0, length);
        pos += length;
        return out;
    }

    /** Reads the next term. */
    Object term() {
        int code = u8();
        Tag tag = Tag.of(code);
        if (tag == null) {
            throw new IllegalArgumentException("unsupported term tag " + code + " at offset " + (pos - 1));
        }
        switch (tag) {
            case SMALL_INTEGER:
                return u8();
            case INTEGER:
                return i32();
            case NEW_FLOAT:
                need(8);
                long bits = ((long) i32() << 32) | u32();
                return Double.longBitsToDouble(bits);
            case FLOAT:
                return Double.parseDouble(new String(bytes(31), StandardCharsets.ISO_8859_1).trim());
            case ATOM:
                return atom(new String(bytes(u16()), StandardCharsets.ISO_8859_1), LATIN_1);
            case SMALL_ATOM:
                return atom(new String(bytes(u8()), StandardCharsets.ISO_8859_1), LATIN_1);
            case ATOM_UTF8:
                return atom(new String(bytes(u16()), StandardCharsets.UTF_8), UTF_8);
            case SMALL_ATOM_UTF8:
                return atom(new String(bytes(u8()), StandardCharsets.UTF_8), UTF_8);
            case SMALL_TUPLE:
                return tuple(u8());
            case LARGE_TUPLE:
                return tuple(count());
            case NIL:
                return new ArrayList<>(0);
            case STRING:
                return new String(bytes(u16()), StandardCharsets.ISO_8859_1);
            case LIST:
                return list(count());
            case BINARY:
                return new com.erlport.erlang.term.Binary(bytes(count()));
            case SMALL_BIG:
                return big(u8());
            case LARGE_BIG:
                return big(count());
            case MAP:
                return map(count());
            case PID:
                return new Pid(nodeAtom(), u32(), u32(), (long) u8());
            case NEW_PID:
                return new Pid(nodeAtom(), u32(), u32(), u32());
            case PORT:
                return new Port(nodeAtom(), u32(), (long) u8());
            case NEW_PORT:
                return new Port(nodeAtom(), u32(), u32());
            case V4_PORT: {
                Atom node = nodeAtom();
                long id = ((long) i32() << 32) | u32();
                return new Port(node, id, u32());
            }
            case REFERENCE:
                return new Reference(nodeAtom(), new long[] {u32()}, (long) u8());
            case NEW_REFERENCE:
            case NEWER_REFERENCE:
                return reference(tag);
            default:
                throw new IllegalArgumentException("unsupported term tag " + code + " (" + tag
                        + ") at offset " + (pos - 1));
        }
    }

    private static Object atom(String name, String coder) {
        if (name.equals("true")) {
            return Boolean.TRUE;
        }
        if (name.equals("false")) {
            return Boolean.FALSE;
        }
        return new com.erlport.erlang.term.Atom(name, coder);
    }

    private Atom nodeAtom() {
        Object node = term();
        if (node instanceof Atom) {
            return (Atom) node;
        }
        return new Atom(String.valueOf(node));
    }

    private Object tuple(int arity) {
        need(arity);
        Object[] elements = new Object[arity];
        for (int i = 0; i < arity; i++) {
            elements[i] = term();
        }
        if (arity == 3 && Opaque.isOpaqueJava(elements)) {
            return Opaque.decode(elements);
        }
        return com.erlport.erlang.term.Tuple.wrap(elements);
    }

    private Object list(int length) {
        need(length);
        List<Object> elements = new ArrayList<>(length);
        for (int i = 0; i < length; i++) {
            elements.add(term());
        }
        if (pos < end && data[pos] == (byte) Tag.NIL.code) {
            pos++;
            return elements;
        }
        return new ImproperList(elements, term());
    }

    private BigInteger big(int length) {
        int sign = u8();
        need(length);
        byte[] magnitude = new byte[length];
        for (int i = 0; i < length; i++) {
            magnitude[length - 1 - i] = data[pos + i];
        }
        pos += length;
        return new BigInteger(sign == 0 ? 1 : -1, magnitude);
    }

    private Map<Object, Object> map(int arity) {
        need(arity);
        Map<Object, Object> map = new LinkedHashMap<>(Math.max(4, arity * 2));
        for (int i = 0; i < arity; i++) {
            Object key = term();
            map.put(key, term());
        }
        return map;
    }

    private Reference reference(Tag tag) {
        int words = u16();
        Atom node = nodeAtom();
        long creation = tag == Tag.NEW_REFERENCE ? u8() : u32();
        need(words * 4);
        long[] ids = new long[words];
        for (int i = 0; i < words; i++) {
            ids[i] = u32();
        }
        return new Reference(node, ids, creation);
    }
}
