package erlport.terms;

import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * An Erlang binary ({@code BINARY_EXT}): the broker sends client ids, topics, payloads and
 * reasons this way.
 *
 * <p>Binaries compare by content and are {@link Serializable} (both unlike erlport 1.1.1).
 */
public class Binary implements Serializable {
    private static final long serialVersionUID = 1L;

    /** The bytes. Public and mutable, as in erlport 1.1.1. */
    public byte[] raw;

    /** Wraps {@code raw} without copying it. */
    public Binary(byte[] raw) {
        this.raw = raw;
    }

    /** The UTF-8 bytes of {@code text}. */
    public Binary(String text) {
        this.raw = text.getBytes(StandardCharsets.UTF_8);
    }

    /** The bytes read as UTF-8; malformed sequences become U+FFFD. */
    public String asString() {
        return new String(raw, StandardCharsets.UTF_8);
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof Binary && Arrays.equals(((Binary) other).raw, raw);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(raw);
    }

    /** Erlang notation: {@code <<"text">>} when the bytes are printable UTF-8, else {@code <<1,2>>}. */
    @Override
    public String toString() {
        String text = asString();
        boolean printable = !text.contains("\uFFFD")
                && text.codePoints().allMatch(c -> c >= 0x20 && c != 0x7f);
        if (printable) {
            return "<<\"" + text.replace("\\", "\\\\").replace("\"", "\\\"") + "\">>";
        }
        StringBuilder out = new StringBuilder("<<");
        for (int i = 0; i < raw.length; i++) {
            if (i > 0) {
                out.append(',');
            }
            out.append(raw[i] & 0xff);
        }
        return out.append(">>").toString();
    }
}
