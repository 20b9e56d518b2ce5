package com.erlport.erlang.term;

import erlport.terms.ErlangTerm;

/** An Erlang port identifier with erlport 1.2.x's fields; encoded like {@link erlport.terms.Port}. */
public class Port implements ErlangTerm {
    /** The node the port lives on. */
    public Atom node;
    /** The port number. */
    public Long id;
    /** The node incarnation. */
    public Long creation;

    /** A port with the given parts. */
    public Port(Atom node, Long id, Long creation) {
        this.node = node;
        this.id = id;
        this.creation = creation;
    }

    @Override
    public Object asTerm() {
        return new erlport.terms.Port(node, id, creation);
    }

    @Override
    public String toString() {
        return asTerm().toString();
    }
}
