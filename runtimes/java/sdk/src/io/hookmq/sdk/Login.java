package io.hookmq.sdk;

import erlport.terms.Atom;
import erlport.terms.Binary;
import erlport.terms.Tuple;
import java.util.ArrayList;
import java.util.List;

/**
 * The answer of {@link HookHandler#onClientLogin}: let the client in on CONNACK terms, or refuse it
 * with any CONNACK refusal code and, for MQTT 5 clients, a reason string and user properties. The
 * overrides only tighten the broker's configuration; an assigned client id replaces the client's
 * for its session and every later hook (MQTT 3.x clients are not told). A value the CONNACK cannot
 * carry is a bad reply, and the driver's {@code failed_action} applies. See docs/hooks.md,
 * "CONNACK terms and assigned client ids".
 *
 * <pre>{@code
 * return Login.allow().assignedClientId("tenant-a/" + client.clientid()).userProperty("tier", "gold");
 * return Login.refuse(0x8A).reasonString("banned until tomorrow");
 * }</pre>
 */
public final class Login {
    private final boolean allow;
    private final int code;
    private final List<Tuple> terms = new ArrayList<>();
    private final List<Tuple> userProperties = new ArrayList<>();

    private Login(boolean allow, int code) {
        this.allow = allow;
        this.code = code;
    }

    /** Let the client in. */
    public static Login allow() {
        return new Login(true, 0);
    }

    /**
     * Refuse with {@code reasonCode}, a CONNACK refusal code ({@code 0x86} bad user name or
     * password, {@code 0x87} not authorized, {@code 0x8A} banned, ...); MQTT 3.x clients get the
     * return code it maps to.
     */
    public static Login refuse(int reasonCode) {
        return new Login(false, reasonCode);
    }

    private Login put(String key, Object value) {
        terms.add(Tuple.two(new Atom(key), value));
        return this;
    }

    private Login allowedOnly(String key, Object value) {
        if (!allow) {
            throw new IllegalStateException(key + " only goes with Login.allow()");
        }
        return put(key, value);
    }

    /** Authorization is skipped for superusers. */
    public Login superuser(boolean superuser) {
        return allowedOnly("superuser", superuser);
    }

    /** The credentials expire then (seconds since the Unix epoch): the client is disconnected. */
    public Login expireAt(long epochSeconds) {
        return allowedOnly("expire_at", epochSeconds);
    }

    /** A Reason String for an MQTT 5 client's CONNACK. */
    public Login reasonString(String text) {
        return put("reason_string", new Binary(text));
    }

    /** A User Property for an MQTT 5 client's CONNACK (may be given several times). */
    public Login userProperty(String name, String value) {
        userProperties.add(Tuple.two(new Binary(name), new Binary(value)));
        return this;
    }

    /** Session Expiry Interval (seconds) instead of the client's; at most the broker's maximum. */
    public Login sessionExpiryInterval(long seconds) {
        return allowedOnly("session_expiry_interval", seconds);
    }

    /** Server Keep Alive (seconds, 0–65535) for an MQTT 5 client. */
    public Login serverKeepAlive(int seconds) {
        return allowedOnly("server_keep_alive", seconds);
    }

    /** Maximum QoS (0–2) the client may publish with and is granted. */
    public Login maximumQos(int qos) {
        return allowedOnly("maximum_qos", qos);
    }

    /** Receive Maximum (1–65535) for an MQTT 5 client. */
    public Login receiveMaximum(int max) {
        return allowedOnly("receive_maximum", max);
    }

    /** The client id the session and every hook use instead of the client's own. */
    public Login assignedClientId(String clientId) {
        return allowedOnly("assigned_client_id", new Binary(clientId));
    }

    /**
     * The decision the broker reads: {@code true} / {@code false} (EMQX's shape) for a plain allow
     * or a plain refusal with 0x87, else {@code {allow, Terms}} or {@code {deny, Code, Terms}}.
     */
    Object toDecision() {
        if (terms.isEmpty() && userProperties.isEmpty() && (allow || code == 0x87)) {
            return allow;
        }
        return toTerm();
    }

    /** The term the broker reads: {@code {allow, Terms}} or {@code {deny, Code, Terms}}. */
    Tuple toTerm() {
        List<Tuple> all = new ArrayList<>(terms);
        if (!userProperties.isEmpty()) {
            all.add(Tuple.two(new Atom("user_properties"), userProperties));
        }
        return allow ? Tuple.two(new Atom("allow"), all) : Tuple.three(new Atom("deny"), code, all);
    }
}
