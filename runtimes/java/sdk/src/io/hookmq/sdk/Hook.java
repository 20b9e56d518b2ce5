package io.hookmq.sdk;

import java.util.List;
import java.util.Map;

/**
 * The 20 hooks of the port protocol: the name the broker knows, the typed {@link HookHandler}
 * method a handler overrides, and the raw method the broker calls (the typed method's name plus
 * {@code Raw}, taking the broker's arguments and the state, all as {@code Object}).
 */
enum Hook {
    CLIENT_CONNECT("client_connect", "onClientConnect", ConnInfo.class, Map.class),
    CLIENT_CONNACK("client_connack", "onClientConnack", ConnInfo.class, String.class, Map.class),
    CLIENT_CONNECTED("client_connected", "onClientConnected", ClientInfo.class),
    CLIENT_DISCONNECTED("client_disconnected", "onClientDisconnected", ClientInfo.class, String.class),
    CLIENT_AUTHENTICATE("client_authenticate", "onClientAuthenticate", ClientInfo.class, boolean.class),
    CLIENT_CHECK_ACL("client_check_acl", "onClientAuthorize", ClientInfo.class, String.class, String.class,
            boolean.class),
    CLIENT_SUBSCRIBE("client_subscribe", "onClientSubscribe", ClientInfo.class, Map.class, List.class),
    CLIENT_UNSUBSCRIBE("client_unsubscribe", "onClientUnsubscribe", ClientInfo.class, Map.class, List.class),
    SESSION_CREATED("session_created", "onSessionCreated", ClientInfo.class),
    SESSION_SUBSCRIBED("session_subscribed", "onSessionSubscribed", ClientInfo.class, String.class,
            SubscribeOptions.class),
    SESSION_UNSUBSCRIBED("session_unsubscribed", "onSessionUnsubscribed", ClientInfo.class, String.class),
    SESSION_RESUMED("session_resumed", "onSessionResumed", ClientInfo.class),
    SESSION_DISCARDED("session_discarded", "onSessionDiscarded", ClientInfo.class),
    SESSION_TAKEOVERED("session_takeovered", "onSessionTakeovered", ClientInfo.class),
    SESSION_TERMINATED("session_terminated", "onSessionTerminated", ClientInfo.class, String.class),
    MESSAGE_PUBLISH("message_publish", "onMessagePublish", Message.class),
    MESSAGE_DELIVERED("message_delivered", "onMessageDelivered", ClientInfo.class, Message.class),
    MESSAGE_ACKED("message_acked", "onMessageAcked", ClientInfo.class, Message.class),
    MESSAGE_DROPPED("message_dropped", "onMessageDropped", Message.class, String.class),
    CLIENT_ENHANCED_AUTHENTICATE("client_enhanced_authenticate", "onClientEnhancedAuthenticate", ClientInfo.class,
            String.class, byte[].class, String.class, byte[].class);

    /** The hook name in the hook spec, e.g. {@code client_check_acl}. */
    final String wireName;
    /** The typed method a handler overrides. */
    final String method;
    /** The typed method's parameter types. */
    final Class<?>[] params;
    /** The method the broker calls: {@code method + "Raw"}, {@code params.length + 1} Object parameters. */
    final String rawMethod;

    Hook(String wireName, String method, Class<?>... params) {
        this.wireName = wireName;
        this.method = method;
        this.params = params;
        this.rawMethod = method + "Raw";
    }

    /** Whether the hook is about a message, and so takes {@link Topics} filters. */
    boolean isMessageHook() {
        return wireName.startsWith("message_");
    }
}
