package io.hookmq.sdk;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * The options of a subscription the session has just made ({@code session_subscribed}).
 *
 * @param isNew whether the subscription is new (false when it replaced an existing one)
 * @param nl MQTT 5 No Local (0 or 1)
 * @param qos the granted maximum QoS
 * @param rap MQTT 5 Retain As Published (0 or 1)
 * @param rh MQTT 5 Retain Handling (0, 1 or 2)
 * @param share the shared-subscription group, or {@code null} when not shared
 * @param subid the MQTT 5 subscription identifier, or {@code null} when none
 * @param extra every other option the broker sent, as plain values (see {@link HookHandler})
 */
public record SubscribeOptions(boolean isNew, int nl, int qos, int rap, int rh, String share, Long subid,
        Map<String, Object> extra) {
    private static final Set<String> KNOWN = Set.of("is_new", "nl", "qos", "rap", "rh", "share", "subid");

    /** Reads the broker's option proplist (sorted by key); unknown keys go to {@link #extra()}. */
    static SubscribeOptions of(Object term) {
        Map<String, Object> m = Terms.proplist(term, "subscribe options");
        Map<String, Object> extra = new LinkedHashMap<>();
        for (Map.Entry<String, Object> entry : m.entrySet()) {
            if (!KNOWN.contains(entry.getKey())) {
                extra.put(entry.getKey(), Terms.plain(entry.getValue()));
            }
        }
        Object share = m.get("share");
        Object subid = m.get("subid");
        return new SubscribeOptions(Terms.flag(m, "is_new", false), Terms.int32(m, "nl", 0),
                Terms.int32(m, "qos", 0), Terms.int32(m, "rap", 0), Terms.int32(m, "rh", 0),
                share == null ? null : Terms.text(share), subid == null ? null : Terms.integer(subid, "subid"),
                Collections.unmodifiableMap(extra));
    }
}
