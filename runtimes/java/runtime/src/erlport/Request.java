package erlport;

import erlport.terms.Atom;
import erlport.terms.Binary;
import erlport.terms.Etf;
import erlport.terms.Tuple;
import java.util.List;

/**
 * One decoded frame from the broker. A call is {@code {'C', Id, Module, Function, Args}}; anything
 * else is a {@link RequestType#MESSAGE}, which the runtime ignores.
 */
public class Request {
    /** The whole decoded term. */
    public final Object rawTerm;
    /** The call id to echo in the reply ({@code Integer} or {@code BigInteger}); null unless a call. */
    public final Object requestId;
    /** The class to call; null unless a call. */
    public final Atom classname;
    /** The method to call; null unless a call. */
    public final Atom methodName;
    /** The call arguments; null unless a call. */
    public final Object[] args;
    final RequestType type;

    /** Decodes an external term (starting with byte 131). */
    public Request(byte[] data) throws Exception {
        this(Etf.decode(data));
    }

    Request(Object term) {
        this.rawTerm = term;
        Tuple call = asCall(term);
        if (call == null) {
            type = RequestType.MESSAGE;
            requestId = null;
            classname = null;
            methodName = null;
            args = null;
            return;
        }
        type = RequestType.CALL;
        requestId = call.elements[1];
        classname = name(call.elements[2]);
        methodName = name(call.elements[3]);
        args = arguments(call.elements[4]);
    }

    private static Tuple asCall(Object term) {
        if (!(term instanceof Tuple)) {
            return null;
        }
        Tuple tuple = (Tuple) term;
        if (tuple.elements.length != 5 || !(tuple.elements[0] instanceof Atom)
                || !"C".equals(((Atom) tuple.elements[0]).value)) {
            return null;
        }
        return tuple;
    }

    /** Module and function names may come as atoms, strings or binaries. */
    private static Atom name(Object term) {
        if (term instanceof Atom) {
            return (Atom) term;
        }
        if (term instanceof String) {
            return new Atom((String) term);
        }
        if (term instanceof Binary) {
            return new Atom(((Binary) term).asString());
        }
        if (term instanceof List) {
            StringBuilder text = new StringBuilder();
            for (Object c : (List<?>) term) {
                text.appendCodePoint(((Number) c).intValue());
            }
            return new Atom(text.toString());
        }
        throw new IllegalArgumentException("call target is not a name: " + Etf.toText(term));
    }

    /** The argument list; a list of small integers arrives as STRING_EXT and is split back up. */
    private static Object[] arguments(Object term) {
        if (term instanceof List) {
            return ((List<?>) term).toArray();
        }
        if (term instanceof String) {
            String text = (String) term;
            Object[] out = new Object[text.length()];
            for (int i = 0; i < out.length; i++) {
                out[i] = (int) text.charAt(i);
            }
            return out;
        }
        throw new IllegalArgumentException("call arguments are not a list: " + Etf.toText(term));
    }

    @Override
    public String toString() {
        return "Request(" + Etf.toText(rawTerm) + ")";
    }
}
