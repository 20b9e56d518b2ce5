package com.erlport.erlang.term;

/**
 * An Erlang tuple, as erlport 1.2.x names it; the same value as {@link erlport.terms.Tuple},
 * whose {@code elements}, {@code get}, {@code set} and {@code length} it inherits.
 */
public class Tuple extends erlport.terms.Tuple {
    private static final long serialVersionUID = 1L;

    /** A tuple of {@code size} elements, all {@code null} until {@link #set} fills them. */
    public Tuple(Integer size) {
        super(size);
    }

    /** A tuple that uses {@code elements} directly (no copy). */
    public static Tuple wrap(Object[] elements) {
        Tuple tuple = new Tuple(0);
        tuple.elements = elements;
        return tuple;
    }

    /** {@code {a, b}}. */
    public static Tuple two(Object a, Object b) {
        return wrap(new Object[] {a, b});
    }

    /** {@code {a, b, c}}. */
    public static Tuple three(Object a, Object b, Object c) {
        return wrap(new Object[] {a, b, c});
    }

    /** {@code {a, b, c, d}}. */
    public static Tuple four(Object a, Object b, Object c, Object d) {
        return wrap(new Object[] {a, b, c, d});
    }
}
