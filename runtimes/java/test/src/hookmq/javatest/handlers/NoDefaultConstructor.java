package hookmq.javatest.handlers;

/** Cannot be instantiated by the runtime: it has no no-argument constructor. */
public class NoDefaultConstructor {
    private final String name;

    /** Needs a name. */
    public NoDefaultConstructor(String name) {
        this.name = name;
    }

    /** Unreachable through the runtime. */
    public Object hello() {
        return name;
    }
}
