package io.hookmq.sdk;

import erlport.terms.Tuple;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * One topic filter of a SUBSCRIBE or UNSUBSCRIBE ({@code client_subscribe},
 * {@code client_unsubscribe}).
 *
 * @param topic the filter, e.g. {@code sensors/+/temp}
 * @param qos the requested QoS (0 for unsubscribe)
 */
public record TopicFilter(String topic, int qos) {

    /**
     * Reads the broker's {@code [{Topic, QoS}]}; an element may also be {@code {Topic, Opts}} with
     * a {@code qos} option, or a bare topic.
     */
    static List<TopicFilter> listOf(Object term) {
        List<TopicFilter> out = new ArrayList<>();
        if (!(term instanceof List)) {
            throw new IllegalArgumentException("topic filters are not a list: " + erlport.terms.Etf.toText(term));
        }
        for (Object element : (List<?>) term) {
            if (element instanceof Tuple && ((Tuple) element).elements.length >= 1) {
                Object[] parts = ((Tuple) element).elements;
                int qos = 0;
                if (parts.length >= 2 && parts[1] instanceof Number) {
                    qos = ((Number) parts[1]).intValue();
                } else if (parts.length >= 2 && (parts[1] instanceof List || parts[1] instanceof Map)) {
                    qos = Terms.int32(Terms.proplist(parts[1], "topic filter options"), "qos", 0);
                }
                out.add(new TopicFilter(Terms.text(parts[0]), qos));
            } else {
                out.add(new TopicFilter(Terms.text(element), 0));
            }
        }
        return out;
    }
}
