package erlport;

import erlport.terms.Atom;
import erlport.terms.Binary;
import java.io.PrintWriter;
import java.io.StringWriter;

/** Small helpers shared by the runtime classes. */
class Utils {
    /** The atom {@code ok}: what a void or {@code null} result becomes. */
    static final Atom OK = new Atom("ok");

    private Utils() {
    }

    /** The stack trace of {@code error}, as Java prints it, as text. */
    static String stackTrace(Throwable error) {
        StringWriter text = new StringWriter(512);
        try (PrintWriter out = new PrintWriter(text)) {
            error.printStackTrace(out);
        }
        return text.toString();
    }

    /** The stack trace of {@code error} as a UTF-8 binary, the error term of a failed call. */
    static Binary stackTraceBinary(Throwable error) {
        return new Binary(stackTrace(error));
    }
}
