package erlport;

import com.erlport.erlang.term.Tuple;
import erlport.terms.Atom;
import erlport.terms.Binary;
import erlport.terms.Etf;
import java.util.ArrayList;
import java.util.List;

/**
 * hookmq's batched mode of the port protocol, spoken only when the broker asks for it (an hookmq
 * addition; erlport has no such mode, and a runtime without it answers the broker's first
 * question with an error, after which the broker sends one call per frame).
 *
 * <ul>
 * <li>{@code '$hookmq':batch(Version)} answers the version this runtime speaks (1).</li>
 * <li>{@code '$hookmq':targets(Targets, State)}, after {@code init()}: each target is
 *     {@code {Module, Function, Shapes, Observe}}. {@code Shapes} says per argument how it
 *     travels: {@code []} as itself, or a list of keys, in which case it travels as a tuple of
 *     values and is handed to the method as the proplist {@code [{Key, Value}, ...]} EMQX sent.
 *     {@code State} is appended to every call. The answer lists whether each target is
 *     observe-only.</li>
 * <li>{@code {'B', BatchId, [{Target, Args}, ...]}}: the calls, run in order. The answer is
 *     {@code {'R', BatchId, Results, Errors, Observed}}: the result of each call that is not
 *     observe-only ({@code ok} for {@code null}), {@code {Index, <<StackTrace>>}} for each call
 *     that threw, and {@code {Index, Value}} for each observe-only call that returned a value
 *     anyway (counted by the broker, never used).</li>
 * </ul>
 */
final class Batch {
    /** The version of the batched protocol this runtime speaks. */
    static final int VERSION = 1;
    /** The module of the broker's own calls (no Java class can be named so by accident). */
    static final String CONTROL = "$hookmq";

    private static final Atom REPLY = new Atom("R");

    /** One registered hook. */
    private record Target(Dispatcher.Target method, Atom[][] keys, Object state, boolean reply) {
    }

    private final Dispatcher dispatcher;
    private Target[] targets = new Target[0];

    Batch(Dispatcher dispatcher) {
        this.dispatcher = dispatcher;
    }

    /** True for a {@code {'B', BatchId, Items}} term. */
    static boolean isBatch(Object term) {
        if (!(term instanceof erlport.terms.Tuple)) {
            return false;
        }
        Object[] e = ((erlport.terms.Tuple) term).elements;
        return e.length == 3 && e[0] instanceof Atom && "B".equals(((Atom) e[0]).value);
    }

    /** Answers a {@code '$hookmq'} call. */
    Object control(String function, Object[] args) throws Throwable {
        switch (function) {
            case "batch":
                if (args.length == 1 && args[0] instanceof Integer && (Integer) args[0] >= 1) {
                    return Math.min((Integer) args[0], VERSION);
                }
                return 0;
            case "targets":
                if (args.length != 2 || !(args[0] instanceof List)) {
                    throw new IllegalArgumentException("targets(Targets, State) takes a list of targets and a state");
                }
                return register((List<?>) args[0], args[1]);
            default:
                throw new NoSuchMethodException("$hookmq." + function + "/" + args.length);
        }
    }

    private List<Boolean> register(List<?> entries, Object state) throws Throwable {
        Target[] prepared = new Target[entries.size()];
        List<Boolean> flags = new ArrayList<>(entries.size());
        for (int i = 0; i < prepared.length; i++) {
            Object entry = entries.get(i);
            if (!(entry instanceof erlport.terms.Tuple) || ((erlport.terms.Tuple) entry).elements.length != 4) {
                throw new IllegalArgumentException("a target is {Module, Function, Shapes, Observe}, not " + Etf.toText(entry));
            }
            Object[] e = ((erlport.terms.Tuple) entry).elements;
            List<?> shapes = (List<?>) e[2];
            Atom[][] keys = new Atom[shapes.size()][];
            for (int a = 0; a < keys.length; a++) {
                List<?> names = (List<?>) shapes.get(a);
                keys[a] = names.isEmpty() ? null : names.toArray(new Atom[0]);
            }
            Dispatcher.Target method = dispatcher.target(name(e[0]), name(e[1]), keys.length + 1);
            boolean observe = Boolean.TRUE.equals(e[3]);
            prepared[i] = new Target(method, keys, state, !observe);
            flags.add(observe);
        }
        targets = prepared;
        return flags;
    }

    private static String name(Object term) {
        if (term instanceof Atom) {
            return ((Atom) term).value;
        }
        throw new IllegalArgumentException("a target's module and function are atoms, not " + Etf.toText(term));
    }

    /**
     * Runs the calls of a batch; returns the answer. Throws {@link IllegalArgumentException} for a
     * batch the broker should never send (an unknown target, a malformed item).
     */
    Tuple answer(erlport.terms.Tuple request, ErrorSink errors) {
        Object id = request.elements[1];
        if (!(request.elements[2] instanceof List)) {
            throw new IllegalArgumentException("the items of a batch must be a list");
        }
        List<?> items = (List<?>) request.elements[2];
        List<Object> results = new ArrayList<>(items.size());
        List<Object> failed = new ArrayList<>();
        List<Object> observed = new ArrayList<>();
        for (int index = 0; index < items.size(); index++) {
            Target target = target(items.get(index), index);
            Object[] args = arguments(target, ((erlport.terms.Tuple) items.get(index)).elements[1]);
            try {
                Object result = dispatcher.invoke(target.method, args);
                if (target.reply) {
                    results.add(result == null ? Utils.OK : result);
                } else if (result != null) {
                    observed.add(Tuple.two(index, result));
                }
            } catch (Throwable error) {
                failed.add(Tuple.two(index, new Binary(errors.failed(target.method.toString(), error))));
                if (target.reply) {
                    results.add(Utils.OK);
                }
            }
        }
        return Tuple.wrap(new Object[] {REPLY, id, results, failed, observed});
    }

    /**
     * The answer with every result that cannot be encoded replaced by an error for its call, as a
     * single call gets; {@code batch} is the request it answers.
     */
    Tuple encodable(erlport.terms.Tuple batch, Tuple answer, ErrorSink errors) {
        List<?> items = (List<?>) batch.elements[2];
        List<?> results = (List<?>) answer.elements[2];
        List<Object> failed = new ArrayList<>((List<?>) answer.elements[3]);
        List<Object> kept = new ArrayList<>(results.size());
        int next = 0;
        for (int index = 0; index < items.size() && next < results.size(); index++) {
            if (!target(items.get(index), index).reply) {
                continue;
            }
            Object result = results.get(next++);
            try {
                Etf.encode(result);
                kept.add(result);
            } catch (IllegalArgumentException e) {
                kept.add(Utils.OK);
                failed.add(Tuple.two(index, new Binary(errors.failed("encoding a result", e))));
            }
        }
        List<Object> observed = new ArrayList<>();
        for (Object pair : (List<?>) answer.elements[4]) {
            Object[] p = ((erlport.terms.Tuple) pair).elements;
            try {
                Etf.encode(p[1]);
                observed.add(pair);
            } catch (IllegalArgumentException e) {
                failed.add(Tuple.two(p[0], new Binary(errors.failed("encoding a result", e))));
            }
        }
        failed.sort((a, b) -> Integer.compare((Integer) ((erlport.terms.Tuple) a).elements[0],
                (Integer) ((erlport.terms.Tuple) b).elements[0]));
        return Tuple.wrap(new Object[] {REPLY, answer.elements[1], kept, failed, observed});
    }

    private Target target(Object item, int index) {
        if (item instanceof erlport.terms.Tuple) {
            Object[] e = ((erlport.terms.Tuple) item).elements;
            if (e.length == 2 && e[0] instanceof Integer) {
                int t = (Integer) e[0];
                if (t >= 0 && t < targets.length) {
                    return targets[t];
                }
            }
        }
        throw new IllegalArgumentException("batch item " + index + " names no registered target: " + Etf.toText(item));
    }

    /** The method's arguments: shaped ones back as proplists, then the state. */
    private static Object[] arguments(Target target, Object wire) {
        if (!(wire instanceof List) || ((List<?>) wire).size() != target.keys.length) {
            throw new IllegalArgumentException("batch arguments do not fit their target: " + Etf.toText(wire));
        }
        List<?> values = (List<?>) wire;
        Object[] args = new Object[target.keys.length + 1];
        for (int a = 0; a < target.keys.length; a++) {
            Atom[] keys = target.keys[a];
            Object value = values.get(a);
            if (keys == null) {
                args[a] = value;
                continue;
            }
            Object[] fields = ((erlport.terms.Tuple) value).elements;
            if (fields.length != keys.length) {
                throw new IllegalArgumentException("a shaped argument has " + fields.length + " values for " + keys.length + " keys");
            }
            List<Object> pairs = new ArrayList<>(keys.length);
            for (int k = 0; k < keys.length; k++) {
                pairs.add(Tuple.two(keys[k], fields[k]));
            }
            args[a] = pairs;
        }
        args[target.keys.length] = target.state;
        return args;
    }

    /** Where a failed call's stack trace goes: stderr, and the text for its error term. */
    interface ErrorSink {
        /** Reports {@code error} of {@code what}; returns the stack trace text. */
        String failed(String what, Throwable error);
    }
}
