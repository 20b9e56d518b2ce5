package hookmq.javatest.handlers;

import io.hookmq.sdk.ClientInfo;
import io.hookmq.sdk.HookHandler;
import io.hookmq.sdk.Message;
import io.hookmq.sdk.Topics;

/** An SDK handler that decides logins, ACL and publishes. */
public class AuthHandler extends HookHandler {
    /**
     * alice/secret is accepted, other named users refused, anonymous clients left undecided; user
     * {@code db-down} fails the way a database lookup would.
     */
    @Override
    public Boolean onClientAuthenticate(ClientInfo client, boolean result) throws java.sql.SQLException {
        if (client.username().equals("db-down")) {
            throw new java.sql.SQLException("database unreachable");
        }
        if (client.username().isEmpty()) {
            return null;
        }
        return client.username().equals("alice") && client.passwordString().equals("secret");
    }

    /** Nobody publishes under {@code forbidden/}; everything else is left to the broker. */
    @Override
    public Boolean onClientAuthorize(ClientInfo client, String pubsub, String topic, boolean result) {
        if (pubsub.equals("publish") && topic.startsWith("forbidden/")) {
            return false;
        }
        return null;
    }

    /** {@code t/drop/...} is dropped; {@code t/rewrite/X} goes to {@code rewritten/X} in upper case. */
    @Override
    @Topics({"t/#", "sensors/+/raw"})
    public Message onMessagePublish(Message message) {
        if (message.topic().startsWith("t/drop/")) {
            return Message.drop();
        }
        if (message.topic().startsWith("t/rewrite/")) {
            return message.withTopic("rewritten/" + message.topic().substring("t/rewrite/".length()))
                    .withPayload(message.payloadString().toUpperCase(java.util.Locale.ROOT));
        }
        return null;
    }

    /** Logs through {@code System.out}, which the runtime forwards to the broker. */
    @Override
    public void onClientConnected(ClientInfo client) {
        System.out.println("connected " + client.clientid());
    }
}
