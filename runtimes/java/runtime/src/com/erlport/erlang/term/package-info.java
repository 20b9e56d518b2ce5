/**
 * erlport 1.2.x's term classes (the {@code erlport-v1.2.2.jar} of EMQX 4.2), with the same names
 * and public members, so that handlers built on EMQX's {@code emqx-extension-java-sdk} v4.2.0
 * and later compile against hookmq's {@code erlport.jar} and run unchanged.
 *
 * <p>{@link com.erlport.erlang.term.Atom}, {@link com.erlport.erlang.term.Binary} and
 * {@link com.erlport.erlang.term.Tuple} extend the erlport 1.1.1 classes of
 * {@code erlport.terms}, and the decoder builds these subclasses: a value a handler receives
 * casts to either package's class, so code written for either erlport keeps working, and either
 * package's values can be returned. {@link com.erlport.erlang.term.Pid},
 * {@link com.erlport.erlang.term.Port}, {@link com.erlport.erlang.term.Reference} and
 * {@link com.erlport.erlang.term.OpaqueObject} have fields of other types than their 1.1.1
 * namesakes, so they stand alone; they encode like them (hooks never receive them).
 */
package com.erlport.erlang.term;
