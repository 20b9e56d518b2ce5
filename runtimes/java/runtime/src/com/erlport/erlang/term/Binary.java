package com.erlport.erlang.term;

/** An Erlang binary, as erlport 1.2.x names it; the same value as {@link erlport.terms.Binary}. */
public class Binary extends erlport.terms.Binary {
    private static final long serialVersionUID = 1L;

    /** Wraps {@code raw} without copying it. */
    public Binary(byte[] raw) {
        super(raw);
    }

    /** The UTF-8 bytes of {@code text}. */
    public Binary(String text) {
        super(text);
    }
}
