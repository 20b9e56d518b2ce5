package hookmq.javatest.handlers;

import io.hookmq.sdk.ClientInfo;
import io.hookmq.sdk.HookHandler;
import io.hookmq.sdk.Topics;

/** Puts a topic filter on a hook that is not about messages: init must fail. */
public class BadTopicsHandler extends HookHandler {
    @Override
    @Topics("t/#")
    public void onClientConnected(ClientInfo client) {
    }
}
