package hookmq.javatest.handlers;

import io.hookmq.sdk.ClientInfo;
import io.hookmq.sdk.HookHandler;
import io.hookmq.sdk.Message;
import io.hookmq.sdk.Observe;

/** A handler with an observe-only hook, a deciding hook and a rewriting hook, for the batch tests. */
public class ObservingHandler extends HookHandler {
    @Override
    public Boolean onClientAuthenticate(ClientInfo client, boolean result) {
        if (client.username().equals("boom")) {
            throw new IllegalStateException("boom in authenticate");
        }
        return client.username().equals("alice");
    }

    @Override
    public Message onMessagePublish(Message message) {
        return message.withTopic("out/" + message.topic());
    }

    @Override
    @Observe
    public void onMessageDelivered(ClientInfo client, Message message) {
        System.out.println("delivered " + client.clientid() + " " + message.payloadString());
    }
}
