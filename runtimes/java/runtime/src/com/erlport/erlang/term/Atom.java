package com.erlport.erlang.term;

/** An Erlang atom, as erlport 1.2.x names it; the same value as {@link erlport.terms.Atom}. */
public class Atom extends erlport.terms.Atom {
    private static final long serialVersionUID = 1L;

    /** The charset the name arrived in ({@code UTF-8} or {@code ISO-8859-1}); erlport 1.2.x's field, not used to encode. */
    public String coder = "UTF-8";

    /** The atom named {@code value}. */
    public Atom(String value) {
        super(value);
    }

    /** The atom named {@code value}, which arrived in the charset {@code coder}. */
    public Atom(String value, String coder) {
        super(value);
        this.coder = coder;
    }
}
