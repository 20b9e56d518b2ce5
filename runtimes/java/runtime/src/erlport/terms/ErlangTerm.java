package erlport.terms;

/**
 * A value of erlport 1.2.x's term package ({@code com.erlport.erlang.term}) whose fields differ
 * from this package's class of the same name: the encoder writes {@link #asTerm()} in its place.
 */
public interface ErlangTerm {
    /** The same Erlang term as a value of this package (or any other value the encoder takes). */
    Object asTerm();
}
