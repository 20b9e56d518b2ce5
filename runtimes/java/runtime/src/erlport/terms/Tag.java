package erlport.terms;

/** The tag bytes of the Erlang External Term Format, and a fast byte-to-tag lookup. */
enum Tag {
    SMALL_INTEGER(97),
    INTEGER(98),
    FLOAT(99),
    PORT(102),
    NEW_PORT(89),
    V4_PORT(120),
    PID(103),
    NEW_PID(88),
    SMALL_TUPLE(104),
    LARGE_TUPLE(105),
    MAP(116),
    NIL(106),
    STRING(107),
    LIST(108),
    BINARY(109),
    SMALL_BIG(110),
    LARGE_BIG(111),
    REFERENCE(101),
    NEW_REFERENCE(114),
    NEWER_REFERENCE(90),
    FUN(117),
    NEW_FUN(112),
    EXPORT(113),
    BIT_BINARY(77),
    NEW_FLOAT(70),
    ATOM_UTF8(118),
    SMALL_ATOM_UTF8(119),
    ATOM(100),
    SMALL_ATOM(115),
    COMPRESSED(80),
    DIST_NORMAL(68),
    DIST_FRAGMENTED(69);

    /** The byte that introduces a term of this kind. */
    final int code;

    private static final Tag[] BY_CODE = new Tag[256];

    static {
        for (Tag tag : values()) {
            BY_CODE[tag.code] = tag;
        }
    }

    Tag(int code) {
        this.code = code;
    }

    /** The tag for {@code code}, or {@code null} when no term starts with that byte. */
    static Tag of(int code) {
        return BY_CODE[code & 0xff];
    }
}
