package io.hookmq.sdk;

import erlport.terms.Atom;
import erlport.terms.Binary;
import erlport.terms.Tuple;
import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Base class of a hookmq Java hook handler. Subclass it, override the {@code on*} methods of the
 * hooks you want, and name the class as the driver's {@code init_module}; the class needs a public
 * no-argument constructor. The broker calls {@link #init()} once per worker process: it registers
 * exactly the hooks the class (or any class between it and this one) overrides.
 *
 * <p>Decisions: {@link #onClientAuthenticate} and {@link #onClientAuthorize} return
 * {@code true}/{@code false} to decide, {@code null} to leave the decision to the broker's other
 * handlers and defaults. {@link #onMessagePublish} returns the message, possibly rewritten (topic,
 * payload, QoS), {@link Message#drop()} to drop it, or {@code null} for no decision. Other hooks
 * only observe. Hook methods may throw any exception (e.g. an {@code SQLException}): the broker
 * gets an error reply, which counts as "no decision", and the runtime logs the stack trace.
 *
 * <p>MQTT properties arrive as a {@code Map} from property name (e.g. {@code Session-Expiry-Interval})
 * to a plain value: binaries and atoms as {@code String}, whole numbers as {@code Long}, tuples and
 * lists as {@code List<Object>} (a {@code User-Property} is a list of two-element lists).
 *
 * <p>A hook method annotated {@link Observe} only observes: the broker never waits for it and
 * ignores what it returns (use it for recording and forwarding).
 *
 * <p>Hook methods run one at a time, in the order the broker sends them, on the runtime's single
 * thread. {@code System.out} goes to the broker's log.
 */
public abstract class HookHandler {
    private static final Atom TOPICS = new Atom("topics");
    private static final Atom OBSERVE = new Atom("observe");

    /** Called by {@link #init()} before the hooks are registered; override for set-up. */
    protected void onLoad() throws Exception {
    }

    /** Called by {@link #deinit()} when the broker unloads the driver; override for clean-up. */
    protected void onUnload() throws Exception {
    }

    // ----- typed hooks: override the ones you need -----

    /** A client sent CONNECT (before authentication). */
    public void onClientConnect(ConnInfo conn, Map<String, Object> props) throws Exception {
    }

    /** The broker answers a CONNECT with reason {@code rc}, e.g. {@code success}, {@code not_authorized}. */
    public void onClientConnack(ConnInfo conn, String rc, Map<String, Object> props) throws Exception {
    }

    /** A client is connected. */
    public void onClientConnected(ClientInfo client) throws Exception {
    }

    /** A client disconnected for {@code reason}, e.g. {@code normal}, {@code keepalive_timeout}. */
    public void onClientDisconnected(ClientInfo client, String reason) throws Exception {
    }

    /**
     * Authenticate a client; {@code result} is the broker's decision so far.
     *
     * @return {@code true} to accept, {@code false} to refuse, {@code null} for no decision
     */
    public Boolean onClientAuthenticate(ClientInfo client, boolean result) throws Exception {
        return null;
    }

    /**
     * Authenticate a client with the terms of its CONNACK (hook {@code client_authenticate}, like
     * {@link #onClientAuthenticate}; override one of the two): a reason string, user properties,
     * overrides of session expiry, keep alive, maximum QoS and receive maximum, an assigned client
     * id, or a refusal with any CONNACK code. The default asks {@link #onClientAuthenticate}.
     *
     * @return {@link Login#allow()} or {@link Login#refuse(int)} with terms, or {@code null} for no
     *     decision
     */
    public Login onClientLogin(ClientInfo client, boolean result) throws Exception {
        Boolean verdict = onClientAuthenticate(client, result);
        if (verdict == null) {
            return null;
        }
        return verdict ? Login.allow() : Login.refuse(0x87);
    }

    /**
     * May the client publish to / subscribe to {@code topic}? (hook {@code client_check_acl})
     *
     * @param pubsub {@code publish} or {@code subscribe}
     * @param result the broker's decision so far
     * @return {@code true} to allow, {@code false} to deny, {@code null} for no decision
     */
    public Boolean onClientAuthorize(ClientInfo client, String pubsub, String topic, boolean result) throws Exception {
        return null;
    }

    /** A client sent SUBSCRIBE. */
    public void onClientSubscribe(ClientInfo client, Map<String, Object> props, List<TopicFilter> filters) throws Exception {
    }

    /** A client sent UNSUBSCRIBE. */
    public void onClientUnsubscribe(ClientInfo client, Map<String, Object> props, List<TopicFilter> filters) throws Exception {
    }

    /** A session was created. */
    public void onSessionCreated(ClientInfo client) throws Exception {
    }

    /** The session subscribed to {@code topic}. */
    public void onSessionSubscribed(ClientInfo client, String topic, SubscribeOptions opts) throws Exception {
    }

    /** The session unsubscribed from {@code topic}. */
    public void onSessionUnsubscribed(ClientInfo client, String topic) throws Exception {
    }

    /** A persistent session was resumed. */
    public void onSessionResumed(ClientInfo client) throws Exception {
    }

    /** A session was discarded (clean start). */
    public void onSessionDiscarded(ClientInfo client) throws Exception {
    }

    /** A session was taken over by a new connection with the same client id. */
    public void onSessionTakeovered(ClientInfo client) throws Exception {
    }

    /** A session ended for {@code reason}. */
    public void onSessionTerminated(ClientInfo client, String reason) throws Exception {
    }

    /**
     * A message is being published.
     *
     * @return the message to route (the same one, or a copy from {@code with*}), {@link Message#drop()}
     *     to drop it, or {@code null} for no decision
     */
    public Message onMessagePublish(Message message) throws Exception {
        return null;
    }

    /** A message was delivered to {@code client}. */
    public void onMessageDelivered(ClientInfo client, Message message) throws Exception {
    }

    /** {@code client} acknowledged a QoS 1/2 message. */
    public void onMessageAcked(ClientInfo client, Message message) throws Exception {
    }

    /** A message reached no subscriber or was discarded, for {@code reason}. */
    public void onMessageDropped(Message message, String reason) throws Exception {
    }

    /**
     * One step of an MQTT 5 enhanced authentication exchange (hookmq's own hook
     * {@code client_enhanced_authenticate}; with a method in CONNECT it replaces
     * {@link #onClientAuthenticate}).
     *
     * @param method the Authentication Method, e.g. {@code SCRAM-SHA-256}
     * @param data the client's Authentication Data in this step, or {@code null}
     * @param step {@code initial} (CONNECT), {@code continue} (AUTH 0x18) or {@code reauthenticate} (AUTH 0x19)
     * @param state what the previous step's {@link EnhancedAuth#continueWith} gave, or {@code null}
     * @return the answer, or {@code null} for no decision (a method nobody answers is refused with 0x8C)
     */
    public EnhancedAuth onClientEnhancedAuthenticate(ClientInfo client, String method, byte[] data, String step,
            byte[] state) throws Exception {
        return null;
    }

    // ----- called by the broker through the runtime -----

    /**
     * Registers the overridden hooks: returns {@code {0, {Specs, State}}} where each spec is
     * {@code {HookName, ClassName, RawMethodName}}, plus options as a fourth element:
     * {@code {topics, [Filter...]}} for a message hook with {@link Topics}, {@code {observe, true}}
     * for a hook with {@link Observe}; {@code State} is {@code {}}.
     */
    public final Object init() throws Exception {
        onLoad();
        Topics classTopics = getClass().getAnnotation(Topics.class);
        List<Tuple> specs = new ArrayList<>();
        for (Hook hook : Hook.values()) {
            Method method = getClass().getMethod(hook.method, hook.params);
            if (hook == Hook.CLIENT_AUTHENTICATE && method.getDeclaringClass() == HookHandler.class) {
                // The typed answer with CONNACK terms registers the same hook.
                method = getClass().getMethod("onClientLogin", hook.params);
            }
            if (method.getDeclaringClass() == HookHandler.class) {
                continue;
            }
            Topics topics = method.getAnnotation(Topics.class);
            if (topics != null && !hook.isMessageHook()) {
                throw new IllegalStateException("@Topics on " + method + ": only message hooks take topic filters");
            }
            if (topics == null && hook.isMessageHook()) {
                topics = classTopics;
            }
            List<Tuple> options = new ArrayList<>();
            if (topics != null) {
                options.add(topicOption(topics, method));
            }
            if (method.isAnnotationPresent(Observe.class)) {
                options.add(Tuple.two(OBSERVE, true));
            }
            String module = getClass().getName();
            if (options.isEmpty()) {
                specs.add(Tuple.three(hook.wireName, module, hook.rawMethod));
            } else {
                specs.add(Tuple.four(hook.wireName, module, hook.rawMethod, options));
            }
        }
        return Tuple.two(0, Tuple.two(specs, new Tuple(0)));
    }

    private static Tuple topicOption(Topics topics, Method method) {
        if (topics.value().length == 0) {
            throw new IllegalStateException("@Topics on " + method + " lists no topic filter");
        }
        List<Binary> filters = new ArrayList<>();
        for (String filter : topics.value()) {
            if (filter.isEmpty()) {
                throw new IllegalStateException("@Topics on " + method + " has an empty topic filter");
            }
            filters.add(new Binary(filter));
        }
        return Tuple.two(TOPICS, filters);
    }

    /** Unloads the handler; the result is ignored by the broker. */
    public final void deinit() throws Exception {
        onUnload();
    }

    // ----- raw dispatchers: decode the broker's terms, call the typed method -----

    private static Object decision(Boolean verdict) {
        return verdict == null ? null : Tuple.two(0, verdict);
    }

    /** {@code client_connect(ConnInfo, Props, State)}. */
    public final void onClientConnectRaw(Object conn, Object props, Object state) throws Exception {
        onClientConnect(ConnInfo.of(conn), Terms.properties(props));
    }

    /** {@code client_connack(ConnInfo, Rc, Props, State)}. */
    public final void onClientConnackRaw(Object conn, Object rc, Object props, Object state) throws Exception {
        onClientConnack(ConnInfo.of(conn), Terms.text(rc), Terms.properties(props));
    }

    /** {@code client_connected(ClientInfo, State)}. */
    public final void onClientConnectedRaw(Object client, Object state) throws Exception {
        onClientConnected(ClientInfo.of(client));
    }

    /** {@code client_disconnected(ClientInfo, Reason, State)}. */
    public final void onClientDisconnectedRaw(Object client, Object reason, Object state) throws Exception {
        onClientDisconnected(ClientInfo.of(client), Terms.text(reason));
    }

    /** {@code client_authenticate(ClientInfo, Result, State)} → {@code {0, Bool}} or {@code ok}. */
    public final Object onClientAuthenticateRaw(Object client, Object result, Object state) throws Exception {
        Login login = onClientLogin(ClientInfo.of(client), Terms.bool(result, "auth result"));
        return login == null ? null : Tuple.two(0, login.toDecision());
    }

    /** {@code client_check_acl(ClientInfo, PubSub, Topic, Result, State)} → {@code {0, Bool}} or {@code ok}. */
    public final Object onClientAuthorizeRaw(Object client, Object pubsub, Object topic, Object result,
            Object state) throws Exception {
        return decision(onClientAuthorize(ClientInfo.of(client), Terms.text(pubsub), Terms.text(topic),
                Terms.bool(result, "acl result")));
    }

    /** {@code client_subscribe(ClientInfo, Props, [{Topic, QoS}], State)}. */
    public final void onClientSubscribeRaw(Object client, Object props, Object filters, Object state) throws Exception {
        onClientSubscribe(ClientInfo.of(client), Terms.properties(props), TopicFilter.listOf(filters));
    }

    /** {@code client_unsubscribe(ClientInfo, Props, TopicFilters, State)}. */
    public final void onClientUnsubscribeRaw(Object client, Object props, Object filters, Object state) throws Exception {
        onClientUnsubscribe(ClientInfo.of(client), Terms.properties(props), TopicFilter.listOf(filters));
    }

    /** {@code session_created(ClientInfo, State)}. */
    public final void onSessionCreatedRaw(Object client, Object state) throws Exception {
        onSessionCreated(ClientInfo.of(client));
    }

    /** {@code session_subscribed(ClientInfo, Topic, Opts, State)}. */
    public final void onSessionSubscribedRaw(Object client, Object topic, Object opts, Object state) throws Exception {
        onSessionSubscribed(ClientInfo.of(client), Terms.text(topic), SubscribeOptions.of(opts));
    }

    /** {@code session_unsubscribed(ClientInfo, Topic, State)}. */
    public final void onSessionUnsubscribedRaw(Object client, Object topic, Object state) throws Exception {
        onSessionUnsubscribed(ClientInfo.of(client), Terms.text(topic));
    }

    /** {@code session_resumed(ClientInfo, State)}. */
    public final void onSessionResumedRaw(Object client, Object state) throws Exception {
        onSessionResumed(ClientInfo.of(client));
    }

    /** {@code session_discarded(ClientInfo, State)}. */
    public final void onSessionDiscardedRaw(Object client, Object state) throws Exception {
        onSessionDiscarded(ClientInfo.of(client));
    }

    /** {@code session_takeovered(ClientInfo, State)}. */
    public final void onSessionTakeoveredRaw(Object client, Object state) throws Exception {
        onSessionTakeovered(ClientInfo.of(client));
    }

    /** {@code session_terminated(ClientInfo, Reason, State)}. */
    public final void onSessionTerminatedRaw(Object client, Object reason, Object state) throws Exception {
        onSessionTerminated(ClientInfo.of(client), Terms.text(reason));
    }

    /**
     * {@code message_publish(Message, State)} → {@code {0, MessageProplist}}, {@code {0, false}} to
     * drop, {@code {0, hold}} to hold the acknowledgement, or {@code ok}.
     */
    public final Object onMessagePublishRaw(Object message, Object state) throws Exception {
        Message out = onMessagePublish(Message.of(message));
        if (out == null) {
            return null;
        }
        if (out.isHold()) {
            return Tuple.two(0, new Atom("hold"));
        }
        return Tuple.two(0, out.isDrop() ? (Object) Boolean.FALSE : out.toTerm());
    }

    /** {@code message_delivered(ClientInfo, Message, State)}. */
    public final void onMessageDeliveredRaw(Object client, Object message, Object state) throws Exception {
        onMessageDelivered(ClientInfo.of(client), Message.of(message));
    }

    /** {@code message_acked(ClientInfo, Message, State)}. */
    public final void onMessageAckedRaw(Object client, Object message, Object state) throws Exception {
        onMessageAcked(ClientInfo.of(client), Message.of(message));
    }

    /** {@code message_dropped(Message, Reason, State)}. */
    public final void onMessageDroppedRaw(Object message, Object reason, Object state) throws Exception {
        onMessageDropped(Message.of(message), Terms.text(reason));
    }

    /**
     * {@code client_enhanced_authenticate(ClientInfo, Method, Data, Step, ExchangeState, State)} →
     * {@code {0, {continue|success|failure, ...}}} or {@code ok}.
     */
    public final Object onClientEnhancedAuthenticateRaw(Object client, Object method, Object data, Object step,
            Object exchange, Object state) throws Exception {
        EnhancedAuth out = onClientEnhancedAuthenticate(ClientInfo.of(client), Terms.text(method), optionalBytes(data),
                Terms.text(step), optionalBytes(exchange));
        return out == null ? null : Tuple.two(0, out.toTerm());
    }

    private static byte[] optionalBytes(Object term) {
        if (term == null || (term instanceof Atom && ((Atom) term).value.equals("undefined"))) {
            return null;
        }
        return Terms.bytes(term);
    }
}
