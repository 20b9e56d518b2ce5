package com.erlport.erlang.term;

import erlport.terms.ErlangTerm;

/**
 * A value of another language kept as its bytes, with erlport 1.2.x's fields: encoded as
 * {@code {'$erlport.opaque', Lang, Value}}.
 */
public class OpaqueObject implements ErlangTerm {
    /** The language the bytes belong to, e.g. {@code python}. */
    public Atom lang;
    /** The bytes. */
    public Binary value;

    /** An opaque value of {@code lang}. */
    public OpaqueObject(Atom lang, Binary value) {
        this.lang = lang;
        this.value = value;
    }

    @Override
    public Object asTerm() {
        return Tuple.three(new Atom("$erlport.opaque"), lang, value);
    }

    @Override
    public String toString() {
        return asTerm().toString();
    }
}
