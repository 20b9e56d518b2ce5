package io.hookmq.sdk;

import erlport.terms.Atom;
import erlport.terms.Binary;
import erlport.terms.Tuple;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Tolerant reading of the terms the broker sends: a string may come as a binary, an atom or a
 * charlist; an integer as any integer type; a proplist as a list of pairs or as a map, with keys
 * in any order and extra keys kept or ignored.
 */
final class Terms {
    private static final BigInteger LONG_MIN = BigInteger.valueOf(Long.MIN_VALUE);
    private static final BigInteger LONG_MAX = BigInteger.valueOf(Long.MAX_VALUE);

    private Terms() {
    }

    /** The pairs of a proplist (or map) by key name, in order; elements that are not pairs are skipped. */
    static Map<String, Object> proplist(Object term, String what) {
        Map<String, Object> out = new LinkedHashMap<>();
        if (term instanceof Map) {
            for (Map.Entry<?, ?> entry : ((Map<?, ?>) term).entrySet()) {
                out.put(text(entry.getKey()), entry.getValue());
            }
            return out;
        }
        if (!(term instanceof List)) {
            throw new IllegalArgumentException(what + " is not a proplist: " + erlport.terms.Etf.toText(term));
        }
        for (Object element : (List<?>) term) {
            if (element instanceof Tuple && ((Tuple) element).elements.length == 2) {
                Object[] pair = ((Tuple) element).elements;
                out.putIfAbsent(text(pair[0]), pair[1]);
            }
        }
        return out;
    }

    /** Text from a binary (UTF-8), atom, string, charlist, boolean or number; {@code null} → "". */
    static String text(Object term) {
        if (term == null) {
            return "";
        }
        if (term instanceof Binary) {
            return ((Binary) term).asString();
        }
        if (term instanceof Atom) {
            return ((Atom) term).value;
        }
        if (term instanceof String) {
            return (String) term;
        }
        if (term instanceof List) {
            StringBuilder out = new StringBuilder();
            for (Object c : (List<?>) term) {
                if (!(c instanceof Number)) {
                    throw new IllegalArgumentException("not text: " + erlport.terms.Etf.toText(term));
                }
                out.appendCodePoint(((Number) c).intValue());
            }
            return out.toString();
        }
        if (term instanceof Boolean || term instanceof Number) {
            return term.toString();
        }
        throw new IllegalArgumentException("not text: " + erlport.terms.Etf.toText(term));
    }

    /** Bytes from a binary, a string or charlist (one byte per char), or other text (UTF-8). */
    static byte[] bytes(Object term) {
        if (term instanceof Binary) {
            return ((Binary) term).raw;
        }
        if (term instanceof String) {
            String text = (String) term;
            boolean latin1 = text.chars().allMatch(c -> c < 256);
            return text.getBytes(latin1 ? StandardCharsets.ISO_8859_1 : StandardCharsets.UTF_8);
        }
        if (term instanceof List) {
            List<?> list = (List<?>) term;
            byte[] out = new byte[list.size()];
            for (int i = 0; i < out.length; i++) {
                Object c = list.get(i);
                if (!(c instanceof Number) || ((Number) c).intValue() < 0 || ((Number) c).intValue() > 255) {
                    return text(term).getBytes(StandardCharsets.UTF_8);
                }
                out[i] = (byte) ((Number) c).intValue();
            }
            return out;
        }
        return text(term).getBytes(StandardCharsets.UTF_8);
    }

    /** A whole number from any integer type or decimal text. */
    static long integer(Object term, String what) {
        if (term instanceof Number) {
            return ((Number) term).longValue();
        }
        try {
            return Long.parseLong(text(term).trim());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(what + " is not an integer: " + erlport.terms.Etf.toText(term), e);
        }
    }

    /** A boolean from a boolean, the atoms/strings "true"/"false", or a number (non-zero = true). */
    static boolean bool(Object term, String what) {
        if (term instanceof Boolean) {
            return (Boolean) term;
        }
        if (term instanceof Number) {
            return ((Number) term).longValue() != 0;
        }
        String text = text(term);
        if (text.equals("true") || text.equals("false")) {
            return text.equals("true");
        }
        throw new IllegalArgumentException(what + " is not a boolean: " + erlport.terms.Etf.toText(term));
    }

    static String str(Map<String, Object> map, String key) {
        return text(map.get(key));
    }

    static int int32(Map<String, Object> map, String key, int missing) {
        Object value = map.get(key);
        return value == null ? missing : (int) integer(value, key);
    }

    static long int64(Map<String, Object> map, String key, long missing) {
        Object value = map.get(key);
        return value == null ? missing : integer(value, key);
    }

    static boolean flag(Map<String, Object> map, String key, boolean missing) {
        Object value = map.get(key);
        return value == null ? missing : bool(value, key);
    }

    /**
     * MQTT properties (a proplist or a map) as a map from property name to plain value; see
     * {@link #plain(Object)}.
     */
    static Map<String, Object> properties(Object term) {
        Map<String, Object> out = new LinkedHashMap<>();
        if (term == null || term instanceof Atom) {
            return out;
        }
        for (Map.Entry<String, Object> entry : proplist(term, "properties").entrySet()) {
            out.put(entry.getKey(), plain(entry.getValue()));
        }
        return out;
    }

    /**
     * A term as plain Java: binaries and atoms become {@code String}, whole numbers {@code Long}
     * (or {@code BigInteger} beyond 64 bits), tuples and lists {@code List<Object>}, maps
     * {@code Map<String, Object>}; booleans and floats stay as they are.
     */
    static Object plain(Object term) {
        if (term instanceof Binary || term instanceof Atom) {
            return text(term);
        }
        if (term instanceof Integer || term instanceof Long || term instanceof Short || term instanceof Byte) {
            return ((Number) term).longValue();
        }
        if (term instanceof BigInteger) {
            BigInteger big = (BigInteger) term;
            return big.compareTo(LONG_MIN) >= 0 && big.compareTo(LONG_MAX) <= 0 ? (Object) big.longValue() : big;
        }
        if (term instanceof Tuple) {
            return plainList(java.util.Arrays.asList(((Tuple) term).elements));
        }
        if (term instanceof List) {
            return plainList((List<?>) term);
        }
        if (term instanceof Map) {
            Map<String, Object> out = new LinkedHashMap<>();
            for (Map.Entry<?, ?> entry : ((Map<?, ?>) term).entrySet()) {
                out.put(text(entry.getKey()), plain(entry.getValue()));
            }
            return out;
        }
        return term;
    }

    private static List<Object> plainList(List<?> list) {
        List<Object> out = new ArrayList<>(list.size());
        for (Object element : list) {
            out.add(plain(element));
        }
        return out;
    }
}
