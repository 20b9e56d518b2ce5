import io.hookmq.sdk.HookHandler;
import io.hookmq.sdk.Message;

/** A no-op message_publish hook for benchmarks: no change to any message. */
public class NoopPublish extends HookHandler {
    @Override
    public Message onMessagePublish(Message message) {
        return null;
    }
}
