package erlport.terms;

import java.util.zip.DataFormatException;
import java.util.zip.Deflater;
import java.util.zip.Inflater;

/**
 * The Erlang External Term Format codec of the hookmq Java runtime (an hookmq addition; erlport
 * 1.1.1 keeps its codec private). The runtime uses it for every frame; tests and tools may use it
 * to build or inspect frames.
 *
 * <p><b>Decoding</b> (tag → Java). Atoms, binaries and tuples come as the erlport 1.2.x
 * subclasses {@code com.erlport.erlang.term.Atom}, {@code Binary} and {@code Tuple}, so a value
 * casts to either erlport's class:
 * <ul>
 * <li>97 SMALL_INTEGER, 98 INTEGER → {@link Integer}; 110 SMALL_BIG, 111 LARGE_BIG →
 *     {@link java.math.BigInteger} (always, even for small values: code written for erlport casts
 *     timestamps to {@code BigInteger}); 70 NEW_FLOAT, 99 FLOAT → {@link Double}</li>
 * <li>100 ATOM, 115 SMALL_ATOM, 118 ATOM_UTF8, 119 SMALL_ATOM_UTF8 → {@link Atom}, except
 *     {@code true}/{@code false} → {@link Boolean} whatever the tag (erlport 1.1.1 did that for
 *     100 and 118 only)</li>
 * <li>104/105 tuples → {@link Tuple}; {@code {'$erlport.opaque', java, Bin}} → the deserialized
 *     Java object</li>
 * <li>106 NIL → empty {@link java.util.ArrayList}; 108 LIST → {@code ArrayList}, or
 *     {@link ImproperList} when the tail is not {@code []}; 107 STRING → {@link String}
 *     (one char per byte)</li>
 * <li>109 BINARY → {@link Binary}; 116 MAP → {@link java.util.LinkedHashMap} in wire order</li>
 * <li>pids, ports, references → {@link Pid}, {@link Port}, {@link Reference}</li>
 * <li>a term compressed with tag 80 is inflated first</li>
 * </ul>
 *
 * <p><b>Encoding</b> (Java → tag):
 * <ul>
 * <li>{@link Atom} → 100 ATOM (118 ATOM_UTF8 if the name is not Latin-1); {@link Boolean} →
 *     atom {@code true}/{@code false}; {@code null} → atom {@code undefined}</li>
 * <li>{@link Integer}, {@link Long}, {@link Short}, {@link Byte}, {@link Character} → 97, 98, or
 *     110 past 32 bits; {@link java.math.BigInteger} → 110 (111 past 255 bytes) whatever its
 *     value; {@link Double}, {@link Float} → 70</li>
 * <li>{@link String} → 107 STRING (Latin-1, at most 65535 chars), else a 108 LIST of code
 *     points; {@code ""} → 106 NIL</li>
 * <li>{@link Binary}, {@code byte[]} → 109</li>
 * <li>{@link Tuple} → 104/105; {@link java.util.Collection}, {@code Object[]} → 108 … 106, or
 *     just 106 when empty; {@link ImproperList} keeps its tail; {@link java.util.Map} → 116</li>
 * <li>erlport 1.2.x's {@code Pid}, {@code Port}, {@code Reference}, {@code OpaqueObject} (an
 *     {@link ErlangTerm}) → as their {@link ErlangTerm#asTerm()}</li>
 * <li>any other {@link java.io.Serializable} → {@code {'$erlport.opaque', java, <<bytes>>}};
 *     anything else, NaN and infinities → {@link IllegalArgumentException}</li>
 * </ul>
 */
public final class Etf {
    /** The version byte every external term starts with. */
    public static final int VERSION = 131;

    private Etf() {
    }

    /** {@code term} as an external term: byte 131 followed by the encoding. */
    public static byte[] encode(Object term) {
        TermWriter writer = new TermWriter(128);
        writer.u8(VERSION);
        writer.term(term);
        return writer.toByteArray();
    }

    /**
     * {@code term} as an external term, zlib-compressed at {@code level} (1–9) under tag 80 when
     * that makes it shorter; {@code level} 0 never compresses.
     */
    public static byte[] encode(Object term, int level) {
        byte[] plain = encode(term);
        if (level <= 0 || plain.length < 16) {
            return plain;
        }
        Deflater deflater = new Deflater(Math.min(level, 9));
        try {
            deflater.setInput(plain, 1, plain.length - 1);
            deflater.finish();
            byte[] chunk = new byte[plain.length];
            int packed = deflater.deflate(chunk);
            if (!deflater.finished() || packed + 6 >= plain.length) {
                return plain;
            }
            TermWriter writer = new TermWriter(packed + 6);
            writer.u8(VERSION);
            writer.u8(Tag.COMPRESSED.code);
            writer.u32(plain.length - 1);
            writer.raw(chunk, 0, packed);
            return writer.toByteArray();
        } finally {
            deflater.end();
        }
    }

    /** Decodes a whole external term (starting with 131). */
    public static Object decode(byte[] data) {
        return decode(data, 0, data.length);
    }

    /**
     * Decodes the external term in {@code data[offset, offset+length)}; every byte must belong to
     * the term.
     */
    public static Object decode(byte[] data, int offset, int length) {
        if (length < 2 || (data[offset] & 0xff) != VERSION) {
            throw new IllegalArgumentException("not an external term: missing version byte 131");
        }
        if ((data[offset + 1] & 0xff) == Tag.COMPRESSED.code) {
            byte[] plain = inflate(data, offset + 2, length - 2);
            return whole(plain, 0, plain.length);
        }
        return whole(data, offset + 1, length - 1);
    }

    private static Object whole(byte[] data, int offset, int length) {
        TermReader reader = new TermReader(data, offset, length);
        Object term = reader.term();
        int rest = offset + length - reader.position();
        if (rest != 0) {
            throw new IllegalArgumentException(rest + " unexpected bytes after the term");
        }
        return term;
    }

    private static byte[] inflate(byte[] data, int offset, int length) {
        if (length < 4) {
            throw new IllegalArgumentException("truncated compressed term");
        }
        long size = ((data[offset] & 0xffL) << 24) | ((data[offset + 1] & 0xff) << 16)
                | ((data[offset + 2] & 0xff) << 8) | (data[offset + 3] & 0xff);
        if (size > Integer.MAX_VALUE - 16) {
            throw new IllegalArgumentException("compressed term too large: " + size);
        }
        Inflater inflater = new Inflater();
        try {
            inflater.setInput(data, offset + 4, length - 4);
            byte[] out = new byte[(int) size];
            int got = 0;
            while (got < out.length && !inflater.finished()) {
                int n = inflater.inflate(out, got, out.length - got);
                if (n == 0 && (inflater.needsInput() || inflater.needsDictionary())) {
                    break;
                }
                got += n;
            }
            if (got != out.length) {
                throw new IllegalArgumentException("compressed term inflates to " + got
                        + " bytes, header says " + size);
            }
            return out;
        } catch (DataFormatException e) {
            throw new IllegalArgumentException("bad zlib data in compressed term", e);
        } finally {
            inflater.end();
        }
    }

    /** {@code term} in Erlang-like notation, for logs and error messages. */
    public static String toText(Object term) {
        return TermText.of(term);
    }
}
