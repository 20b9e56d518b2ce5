package erlport.terms;

import java.util.List;
import java.util.Map;

/** Renders any decoded term in Erlang-like notation, for {@code toString} and error messages. */
final class TermText {
    private TermText() {
    }

    /** {@code term} written the way Erlang would print it, as far as Java types allow. */
    static String of(Object term) {
        if (term == null) {
            return "null";
        }
        if (term instanceof String) {
            return "\"" + ((String) term).replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
        }
        if (term instanceof List && !(term instanceof ImproperList)) {
            StringBuilder out = new StringBuilder("[");
            List<?> list = (List<?>) term;
            for (int i = 0; i < list.size(); i++) {
                out.append(i > 0 ? ", " : "").append(of(list.get(i)));
            }
            return out.append(']').toString();
        }
        if (term instanceof Map) {
            StringBuilder out = new StringBuilder("#{");
            boolean first = true;
            for (Map.Entry<?, ?> entry : ((Map<?, ?>) term).entrySet()) {
                out.append(first ? "" : ", ").append(of(entry.getKey())).append(" => ")
                        .append(of(entry.getValue()));
                first = false;
            }
            return out.append('}').toString();
        }
        if (term instanceof byte[]) {
            return new Binary((byte[]) term).toString();
        }
        return term.toString();
    }
}
