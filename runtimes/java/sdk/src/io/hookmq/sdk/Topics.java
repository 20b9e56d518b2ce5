package io.hookmq.sdk;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Inherited;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Topic filters for message hooks: the broker calls the annotated {@code onMessage*} method only
 * for messages whose topic matches one of them. On a handler class it applies to every message
 * hook the class overrides that has no annotation of its own. Without it a message hook sees every
 * message. Only the four message hooks take it; on any other hook method {@code init} fails.
 *
 * <p>On the wire the hook spec gets a fourth element, {@code [{topics, [<<"t/#">>, ...]}]}.
 */
@Documented
@Inherited
@Retention(RetentionPolicy.RUNTIME)
@Target({ElementType.METHOD, ElementType.TYPE})
public @interface Topics {
    /** The MQTT topic filters, e.g. {@code {"sensors/#", "alerts/+"}}. */
    String[] value();
}
