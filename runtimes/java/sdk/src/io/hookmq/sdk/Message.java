package io.hookmq.sdk;

import erlport.terms.Atom;
import erlport.terms.Binary;
import erlport.terms.Tuple;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A PUBLISH message ({@code message_*} hooks). Records are immutable: to rewrite a message in
 * {@link HookHandler#onMessagePublish}, return a copy made with {@link #withTopic},
 * {@link #withPayload(byte[])} or {@link #withQos}; to drop it, return {@link #drop()}.
 *
 * @param node the broker node name
 * @param id the message id (32 hex digits)
 * @param qos the QoS, 0–2
 * @param from the publisher's client id
 * @param topic the topic name
 * @param payload the payload bytes (not copied; do not modify)
 * @param timestamp when the broker received it, in milliseconds since the Unix epoch
 */
public record Message(String node, String id, int qos, String from, String topic, byte[] payload,
        long timestamp) {
    private static final Message DROP = new Message("", "", 0, "", "", new byte[0], 0);
    private static final Message HOLD = new Message("", "", 0, "", "", new byte[0], 0);

    /** Rejects {@code null} components. */
    public Message {
        Objects.requireNonNull(node, "node");
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(from, "from");
        Objects.requireNonNull(topic, "topic");
        Objects.requireNonNull(payload, "payload");
    }

    /**
     * The answer of {@link HookHandler#onMessagePublish} that drops the message: it reaches no
     * subscriber. On the wire the hook then replies {@code {0, false}}.
     */
    public static Message drop() {
        return DROP;
    }

    /** True for the {@link #drop()} marker. */
    public boolean isDrop() {
        return this == DROP;
    }

    /**
     * The answer of {@link HookHandler#onMessagePublish} that routes the message unchanged but
     * holds the publisher's PUBACK / PUBREC until {@link Broker#confirm} releases it with this
     * message's {@link #id()} (or the driver's {@code hold_timeout} passes and its
     * {@code failed_action} decides). On the wire the hook then replies {@code {0, hold}}.
     */
    public static Message hold() {
        return HOLD;
    }

    /** True for the {@link #hold()} marker. */
    public boolean isHold() {
        return this == HOLD;
    }

    /** The payload decoded as UTF-8 (invalid bytes become U+FFFD). */
    public String payloadString() {
        return new String(payload, StandardCharsets.UTF_8);
    }

    /** This message with another topic. */
    public Message withTopic(String newTopic) {
        return new Message(node, id, qos, from, newTopic, payload, timestamp);
    }

    /** This message with another payload. */
    public Message withPayload(byte[] newPayload) {
        return new Message(node, id, qos, from, topic, newPayload, timestamp);
    }

    /** This message with another payload, encoded as UTF-8. */
    public Message withPayload(String newPayload) {
        return withPayload(newPayload.getBytes(StandardCharsets.UTF_8));
    }

    /** This message with another QoS (0–2). */
    public Message withQos(int newQos) {
        if (newQos < 0 || newQos > 2) {
            throw new IllegalArgumentException("QoS must be 0, 1 or 2, not " + newQos);
        }
        return new Message(node, id, newQos, from, topic, payload, timestamp);
    }

    /** Reads the broker's 7-key proplist; missing keys get empty values, extra keys are ignored. */
    static Message of(Object term) {
        Map<String, Object> m = Terms.proplist(term, "message");
        Object payload = m.get("payload");
        return new Message(Terms.str(m, "node"), Terms.str(m, "id"), Terms.int32(m, "qos", 0),
                Terms.str(m, "from"), Terms.str(m, "topic"), payload == null ? new byte[0] : Terms.bytes(payload),
                Terms.int64(m, "timestamp", 0));
    }

    /** The broker's proplist shape: node (atom), id, qos, from, topic, payload, timestamp. */
    List<Tuple> toTerm() {
        return List.of(
                Tuple.two(new Atom("node"), new Atom(node)),
                Tuple.two(new Atom("id"), new Binary(id)),
                Tuple.two(new Atom("qos"), qos),
                Tuple.two(new Atom("from"), new Binary(from)),
                Tuple.two(new Atom("topic"), new Binary(topic)),
                Tuple.two(new Atom("payload"), new Binary(payload)),
                Tuple.two(new Atom("timestamp"), timestamp));
    }

    /** Compares the payload by content; {@link #drop()} equals only itself. */
    @Override
    public boolean equals(Object other) {
        if (!(other instanceof Message) || isDrop() || ((Message) other).isDrop() || isHold()
                || ((Message) other).isHold()) {
            return this == other;
        }
        Message o = (Message) other;
        return node.equals(o.node) && id.equals(o.id) && qos == o.qos && from.equals(o.from)
                && topic.equals(o.topic) && Arrays.equals(payload, o.payload) && timestamp == o.timestamp;
    }

    @Override
    public int hashCode() {
        return Objects.hash(node, id, qos, from, topic, Arrays.hashCode(payload), timestamp);
    }

    /** Every field, the payload as text when it is printable UTF-8. */
    @Override
    public String toString() {
        if (isDrop()) {
            return "Message[drop]";
        }
        if (isHold()) {
            return "Message[hold]";
        }
        return "Message[node=" + node + ", id=" + id + ", qos=" + qos + ", from=" + from + ", topic=" + topic
                + ", payload=" + new Binary(payload) + ", timestamp=" + timestamp + "]";
    }
}
