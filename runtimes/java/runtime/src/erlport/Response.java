package erlport;

import erlport.terms.Atom;
import erlport.terms.Etf;
import erlport.terms.Tuple;

/** A term for the broker: a call result, a call error, or an error without a call. */
class Response {
    private static final Atom RESULT = new Atom("r");
    private static final Atom ERROR = new Atom("e");

    private final Tuple term;

    private Response(Tuple term) {
        this.term = term;
    }

    /** {@code {'r', Id, Result}}; a {@code null} result is the atom {@code ok}. */
    public static Response success(Integer id, Object result) {
        return success((Object) id, result);
    }

    static Response success(Object id, Object result) {
        return new Response(Tuple.three(RESULT, id, result == null ? Utils.OK : result));
    }

    /** {@code {'e', Id, Error}}. */
    public static Response failure(Integer id, Object error) {
        return failure((Object) id, error);
    }

    static Response failure(Object id, Object error) {
        return new Response(Tuple.three(ERROR, id, error));
    }

    /** {@code {'e', Error}}: an error tied to no call, after which erlport stops the driver. */
    public static Response stop(Object error) {
        return new Response(Tuple.two(ERROR, error));
    }

    /** The external term (starting with 131). */
    public byte[] pack() throws Exception {
        return Etf.encode(term);
    }

    byte[] pack(int compressed) {
        return Etf.encode(term, compressed);
    }

    @Override
    public String toString() {
        return term.toString();
    }
}
