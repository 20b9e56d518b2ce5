package com.erlport.erlang.term;

import erlport.terms.ErlangTerm;

/** An Erlang process identifier with erlport 1.2.x's fields; encoded like {@link erlport.terms.Pid}. */
public class Pid implements ErlangTerm {
    /** The node the process lives on. */
    public Atom node;
    /** The process number. */
    public Long id;
    /** The serial number. */
    public Long serial;
    /** The node incarnation. */
    public Long creation;

    /** A pid with the given parts. */
    public Pid(Atom node, Long id, Long serial, Long creation) {
        this.node = node;
        this.id = id;
        this.serial = serial;
        this.creation = creation;
    }

    @Override
    public Object asTerm() {
        return new erlport.terms.Pid(node, id, serial, creation);
    }

    @Override
    public String toString() {
        return asTerm().toString();
    }
}
