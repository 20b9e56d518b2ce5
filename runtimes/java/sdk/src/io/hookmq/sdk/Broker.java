package io.hookmq.sdk;

import erlport.Erlang;
import erlport.terms.Atom;
import erlport.terms.Binary;
import erlport.terms.Tuple;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The broker's services for hook code (docs/services.md): publish, kick, subscribe on behalf of a
 * client, queries, retained messages, authorization cache invalidation, counters. Each method is
 * one call through the port ({@code hookmq:Service(Args)}), answered before any hook runs for
 * what it did, so a hook may call it also for the client whose event it handles. Call it from
 * the hook's own thread. A refused call throws {@link BrokerException} with the error's code.
 *
 * <pre>{@code
 * Broker broker = Broker.get();
 * broker.subscribe(client.clientid(), "inbox/" + client.clientid(), 1);
 * broker.publish("presence/" + client.clientid(), "online".getBytes(), 1, true, false);
 * }</pre>
 */
public final class Broker {
    private static final Broker INSTANCE = new Broker();
    private static final String MODULE = "hookmq";

    /** A service call the broker refused. */
    public static final class BrokerException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        /** The error's stable name: {@code invalid_topic}, {@code unknown_client}, ... */
        public final String code;

        BrokerException(String code, String message) {
            super(code + ": " + message);
            this.code = code;
        }
    }

    private Broker() {
    }

    /** The broker of this worker. */
    public static Broker get() {
        return INSTANCE;
    }

    private static Object call(String service, Object... args) {
        try {
            return Erlang.call(MODULE, service, new ArrayList<>(Arrays.asList(args)));
        } catch (Erlang.ErlangError e) {
            if (e.error instanceof Tuple) {
                Object[] parts = ((Tuple) e.error).elements;
                if (parts.length == 4 && parts[0] instanceof Atom && MODULE.equals(((Atom) parts[0]).value)) {
                    throw new BrokerException(Terms.text(parts[1]), Terms.text(parts[2]));
                }
            }
            throw e;
        }
    }

    private static Binary bin(String text) {
        return new Binary(text.getBytes(StandardCharsets.UTF_8));
    }

    private static Tuple opt(String key, Object value) {
        return Tuple.two(new Atom(key), value);
    }

    /** A proplist answer as a map with plain values (text as String, payload as byte[]). */
    @SuppressWarnings("unchecked")
    static Object plain(Object term, String key) {
        if (term instanceof List && !((List<?>) term).isEmpty()
                && ((List<Object>) term).stream().allMatch(
                        e -> e instanceof Tuple && ((Tuple) e).elements.length == 2
                                && ((Tuple) e).elements[0] instanceof Atom)) {
            Map<String, Object> out = new LinkedHashMap<>();
            for (Object e : (List<Object>) term) {
                Object[] pair = ((Tuple) e).elements;
                String k = ((Atom) pair[0]).value;
                out.put(k, plain(pair[1], k));
            }
            return out;
        }
        if (term instanceof List) {
            List<Object> out = new ArrayList<>();
            for (Object e : (List<Object>) term) {
                out.add(plain(e, null));
            }
            return out;
        }
        if (term instanceof Binary) {
            return "payload".equals(key) ? ((Binary) term).raw : ((Binary) term).asString();
        }
        if (term instanceof Atom && "undefined".equals(((Atom) term).value)) {
            return null;
        }
        return term;
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> map(Object term) {
        Object p = plain(term, null);
        return p instanceof Map ? (Map<String, Object>) p : null;
    }

    /**
     * Publishes a message as the broker; {@code throughHooks} runs {@code message.publish} on it
     * first (bounded by the broker's hop limit). Returns {@code id} and {@code receivers}.
     */
    public Map<String, Object> publish(String topic, byte[] payload, int qos, boolean retain, boolean throughHooks) {
        List<Object> opts = List.of(opt("qos", qos), opt("retain", retain), opt("through_hooks", throughHooks));
        return map(call("publish", bin(topic), new Binary(payload), opts));
    }

    /** Disconnects a client; MQTT 5 clients get DISCONNECT with {@code reasonCode}. */
    public void kick(String clientid, int reasonCode) {
        call("kick", bin(clientid), reasonCode);
    }

    /**
     * Releases the publisher's acknowledgement that {@link Message#hold()} kept back for the
     * message {@code id} ({@link Message#id()}): {@code ok} acknowledges with success, otherwise
     * it is refused (MQTT 5: 0x80; MQTT 3.x: the connection closes). An id that is not held
     * throws {@link BrokerException} with code {@code not_held}.
     */
    public void confirm(String id, boolean ok) {
        call("confirm", bin(id), ok);
    }

    /** Subscribes a connected client or a persistent session; the granted QoS. */
    public int subscribe(String clientid, String filter, int qos) {
        return ((Number) call("subscribe", bin(clientid), bin(filter), List.of(opt("qos", qos)))).intValue();
    }

    /** Removes a client's subscription; whether it existed. */
    public boolean unsubscribe(String clientid, String filter) {
        return Boolean.TRUE.equals(call("unsubscribe", bin(clientid), bin(filter)));
    }

    /** One client: clientid, username, connected, peer, proto_ver, expiry_interval, created_at. */
    public Map<String, Object> client(String clientid) {
        return map(call("client", bin(clientid)));
    }

    /** Clients whose id starts with {@code prefix} ({@code null}: all): clients, total. */
    public Map<String, Object> clients(String prefix) {
        List<Object> opts = prefix == null ? List.of() : List.of(opt("clientid_prefix", bin(prefix)));
        return map(call("clients", opts));
    }

    /** A client's session: connected, subscriptions, queue_len, inflight, expiry_interval. */
    public Map<String, Object> session(String clientid) {
        return map(call("session", bin(clientid)));
    }

    /** The retained message of a topic (topic, payload as byte[], qos, ...) or {@code null}. */
    public Map<String, Object> retainedGet(String topic) {
        return map(call("retained_get", bin(topic)));
    }

    /** Sets the retained message of a topic (an empty payload deletes it). */
    public void retainedSet(String topic, byte[] payload, int qos) {
        call("retained_set", bin(topic), new Binary(payload), List.of(opt("qos", qos)));
    }

    /** Deletes the retained message of a topic; whether there was one. */
    public boolean retainedDelete(String topic) {
        return Boolean.TRUE.equals(call("retained_delete", bin(topic)));
    }

    /** Makes the broker authorize a client ({@code null}: every client) again; sessions re-checked. */
    public long authzCacheInvalidate(String clientid) {
        Object target = clientid == null ? new Atom("all") : bin(clientid);
        return ((Number) call("authz_cache_invalidate", target)).longValue();
    }

    /** The broker's counters by name. */
    public Map<String, Object> metrics() {
        return map(call("metrics"));
    }
}
