package io.hookmq.sdk;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Marks a hook method observe-only: it records or forwards, it never decides. The broker then
 * never waits for it (its events come in batches, in each client's order), ignores what it
 * returns, and counts the events it had to drop when the handler fell behind (unless the driver's
 * {@code overflow} is {@code block}). {@link HookHandler#init()} sends {@code {observe, true}} in
 * the hook's spec.
 *
 * <pre>{@code
 * @Override
 * @Observe
 * public Message onMessagePublish(Message message) {
 *     archive.store(message);
 *     return null;
 * }
 * }</pre>
 */
@Documented
@Retention(RetentionPolicy.RUNTIME)
@Target(ElementType.METHOD)
public @interface Observe {
}
