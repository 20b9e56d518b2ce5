import erlport.terms.Tuple;

/**
 * Answers the exact init call of the protocol reference, {@code {'C', 1, hooks, init, []}}
 * (a class named {@code hooks} in the default package, like a Python {@code init_module}).
 */
public class hooks {
    /** Always {@code {0, true}}. */
    public Object init() {
        return Tuple.two(0, true);
    }
}
