package io.hookmq.sdk;

import erlport.terms.Atom;
import erlport.terms.Binary;
import erlport.terms.Tuple;

/**
 * The answer of {@link HookHandler#onClientEnhancedAuthenticate} to one step of an MQTT 5
 * enhanced authentication exchange (hook {@code client_enhanced_authenticate}): send the client
 * more data, let it in, or refuse it. See docs/hooks.md, "Enhanced authentication".
 */
public final class EnhancedAuth {
    private final Tuple term;

    private EnhancedAuth(Tuple term) {
        this.term = term;
    }

    private static Object bin(byte[] data) {
        return data == null ? null : new Binary(data);
    }

    /**
     * Send the client AUTH 0x18 (continue authentication) with {@code data}; {@code state} comes
     * back as the {@code state} argument of the client's next step, so the handler keeps no
     * per-client memory.
     */
    public static EnhancedAuth continueWith(byte[] data, byte[] state) {
        return new EnhancedAuth(Tuple.three(new Atom("continue"), bin(data), bin(state)));
    }

    /** Let the client in (CONNACK 0x00, or AUTH 0x00 after a re-authentication) with final {@code data}. */
    public static EnhancedAuth success(byte[] data, boolean superuser) {
        return new EnhancedAuth(Tuple.three(new Atom("success"), bin(data), superuser));
    }

    /**
     * Refuse with a CONNACK refusal code ({@code 0x86} bad user name or password, {@code 0x87} not
     * authorized, {@code 0x8C} bad authentication method, ...) and an optional reason string.
     */
    public static EnhancedAuth failure(int reasonCode, String reason) {
        return new EnhancedAuth(Tuple.three(new Atom("failure"), reasonCode, reason == null ? null : new Binary(reason)));
    }

    /** The term the broker reads: {@code {continue|success|failure, ...}}. */
    Tuple toTerm() {
        return term;
    }
}
