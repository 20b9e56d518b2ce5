package erlport.terms;

import java.io.Serializable;
import java.util.Arrays;

/**
 * An Erlang tuple. The factory methods and accessors have the names and signatures of erlport
 * 1.1.1's class of the same name, so handler code written against it compiles unchanged.
 *
 * <p>Tuples compare element by element and are {@link Serializable} (both unlike erlport 1.1.1).
 */
public class Tuple implements Serializable {
    private static final long serialVersionUID = 1L;

    /** The elements, in order. Public and mutable, as in erlport 1.1.1. */
    public Object[] elements;

    /** A tuple of {@code size} elements, all {@code null} until {@link #set} fills them. */
    public Tuple(Integer size) {
        this.elements = new Object[size];
    }

    /** A tuple that uses {@code elements} directly (no copy). */
    public static Tuple forElements(Object[] elements) {
        Tuple tuple = new Tuple(0);
        tuple.elements = elements;
        return tuple;
    }

    /** {@code {a, b}}. */
    public static Tuple two(Object a, Object b) {
        return forElements(new Object[] {a, b});
    }

    /** {@code {a, b, c}}. */
    public static Tuple three(Object a, Object b, Object c) {
        return forElements(new Object[] {a, b, c});
    }

    /** {@code {a, b, c, d}}. */
    public static Tuple four(Object a, Object b, Object c, Object d) {
        return forElements(new Object[] {a, b, c, d});
    }

    /** Replaces the element at zero-based {@code index}. */
    public void set(Integer index, Object value) {
        elements[index] = value;
    }

    /** The element at zero-based {@code index}. */
    public Object get(Integer index) {
        return elements[index];
    }

    /** The number of elements. */
    public Integer length() {
        return elements.length;
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof Tuple && Arrays.deepEquals(((Tuple) other).elements, elements);
    }

    @Override
    public int hashCode() {
        return Arrays.deepHashCode(elements);
    }

    /** Erlang notation, e.g. {@code {r, 1, ok}}. */
    @Override
    public String toString() {
        StringBuilder out = new StringBuilder("{");
        for (int i = 0; i < elements.length; i++) {
            if (i > 0) {
                out.append(", ");
            }
            out.append(TermText.of(elements[i]));
        }
        return out.append('}').toString();
    }
}
