package erlport.terms;

import java.io.Serializable;

/**
 * An Erlang atom, such as {@code publish} or {@code 'emqx@127.0.0.1'}.
 *
 * <p>The atoms {@code true} and {@code false} never reach Java code as {@code Atom}: the decoder
 * turns them into {@link Boolean}. Unlike erlport 1.1.1, atoms compare by name
 * ({@link #equals(Object)}), so they work as map keys, and they are {@link Serializable}.
 */
public class Atom implements Serializable {
    private static final long serialVersionUID = 1L;

    /** The atom's name, as Unicode text. Public and mutable, as in erlport 1.1.1. */
    public String value;

    /** Makes the atom named {@code value}. */
    public Atom(String value) {
        this.value = value;
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof Atom && java.util.Objects.equals(((Atom) other).value, value);
    }

    @Override
    public int hashCode() {
        return value == null ? 0 : value.hashCode();
    }

    /** The name, quoted the way Erlang prints it when it needs quotes. */
    @Override
    public String toString() {
        if (value != null && value.matches("[a-z][A-Za-z0-9_@]*")) {
            return value;
        }
        return "'" + String.valueOf(value).replace("\\", "\\\\").replace("'", "\\'") + "'";
    }
}
