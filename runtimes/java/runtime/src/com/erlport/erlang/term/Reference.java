package com.erlport.erlang.term;

import erlport.terms.ErlangTerm;

/**
 * An Erlang reference with erlport 1.2.x's public member (its first id word); encoded like
 * {@link erlport.terms.Reference}.
 */
public class Reference implements ErlangTerm {
    /** The first id word. */
    public Long id;
    private final Atom node;
    private final Long creation;

    /** A reference with a single id word. */
    public Reference(Atom node, Long id, Long creation) {
        this.node = node;
        this.id = id;
        this.creation = creation;
    }

    @Override
    public Object asTerm() {
        return new erlport.terms.Reference(node, id, creation);
    }

    @Override
    public String toString() {
        return asTerm().toString();
    }
}
