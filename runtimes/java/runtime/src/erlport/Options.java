package erlport;

/**
 * The command-line options erlport's Erlang side passes when it starts the JVM, e.g.
 * {@code --packet=4 --use_stdio --compressed=0 --buffer_size=65536}.
 */
class Options {
    /** Bytes in the big-endian length prefix of each frame: 1, 2 or 4. */
    public int packet = 4;
    /** zlib level for outgoing terms; 0 means never compress. */
    int compressed = 0;
    /** Size of the stdin and stdout buffers. */
    int bufferSize = 65536;

    /** Parses {@code args}; unknown or malformed options throw {@link IllegalArgumentException}. */
    public Options(String[] args) {
        for (String arg : args) {
            if (arg.equals("--use_stdio")) {
                continue;
            }
            if (arg.equals("--nouse_stdio")) {
                throw new IllegalArgumentException(
                        "--nouse_stdio is not supported: the Java runtime only speaks on stdin/stdout");
            }
            int eq = arg.indexOf('=');
            String name = eq < 0 ? arg : arg.substring(0, eq);
            String value = eq < 0 ? "" : arg.substring(eq + 1);
            switch (name) {
                case "--packet":
                    packet = number(name, value);
                    if (packet != 1 && packet != 2 && packet != 4) {
                        throw new IllegalArgumentException("--packet must be 1, 2 or 4, not " + value);
                    }
                    break;
                case "--compressed":
                    compressed = number(name, value);
                    if (compressed < 0 || compressed > 9) {
                        throw new IllegalArgumentException("--compressed must be 0..9, not " + value);
                    }
                    break;
                case "--buffer_size":
                    bufferSize = number(name, value);
                    if (bufferSize <= 0) {
                        throw new IllegalArgumentException("--buffer_size must be positive, not " + value);
                    }
                    break;
                default:
                    throw new IllegalArgumentException("unknown option " + arg);
            }
        }
    }

    private static int number(String name, String value) {
        try {
            return Integer.parseInt(value);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(name + " needs a number, not '" + value + "'", e);
        }
    }

    @Override
    public String toString() {
        return "Options(packet=" + packet + ", compressed=" + compressed + ", buffer_size="
                + bufferSize + ")";
    }
}
