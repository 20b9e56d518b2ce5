package hookmq.javatest.handlers;

import io.hookmq.sdk.ClientInfo;
import io.hookmq.sdk.Message;
import io.hookmq.sdk.Topics;

/** Overrides one message hook itself; the class-level filter applies to it. */
@Topics({"audit/#"})
public class AuditHandler extends AuditBase {
    @Override
    public void onMessageDelivered(ClientInfo client, Message message) {
    }

    /** Its own filter wins over the class-level one. */
    @Override
    @Topics("acks/#")
    public void onMessageAcked(ClientInfo client, Message message) {
    }
}
