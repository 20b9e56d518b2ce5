package hookmq.javatest.handlers;

import io.hookmq.sdk.ClientInfo;
import io.hookmq.sdk.ConnInfo;
import io.hookmq.sdk.HookHandler;
import io.hookmq.sdk.Message;
import io.hookmq.sdk.SubscribeOptions;
import io.hookmq.sdk.TopicFilter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Overrides all 19 hooks and records what each typed method received. */
public class RecordingHandler extends HookHandler {
    /** One entry per call: the method name followed by its arguments. */
    public final List<List<Object>> calls = new ArrayList<>();

    private void record(String name, Object... args) {
        List<Object> call = new ArrayList<>();
        call.add(name);
        call.addAll(java.util.Arrays.asList(args));
        calls.add(call);
    }

    /** The arguments of the last call, after the name. */
    public List<Object> last() {
        List<Object> call = calls.get(calls.size() - 1);
        return call.subList(1, call.size());
    }

    @Override
    public void onClientConnect(ConnInfo conn, Map<String, Object> props) {
        record("onClientConnect", conn, props);
    }

    @Override
    public void onClientConnack(ConnInfo conn, String rc, Map<String, Object> props) {
        record("onClientConnack", conn, rc, props);
    }

    @Override
    public void onClientConnected(ClientInfo client) {
        record("onClientConnected", client);
    }

    @Override
    public void onClientDisconnected(ClientInfo client, String reason) {
        record("onClientDisconnected", client, reason);
    }

    @Override
    public Boolean onClientAuthenticate(ClientInfo client, boolean result) {
        record("onClientAuthenticate", client, result);
        return !result;
    }

    @Override
    public Boolean onClientAuthorize(ClientInfo client, String pubsub, String topic, boolean result) {
        record("onClientAuthorize", client, pubsub, topic, result);
        return null;
    }

    @Override
    public void onClientSubscribe(ClientInfo client, Map<String, Object> props, List<TopicFilter> filters) {
        record("onClientSubscribe", client, props, filters);
    }

    @Override
    public void onClientUnsubscribe(ClientInfo client, Map<String, Object> props, List<TopicFilter> filters) {
        record("onClientUnsubscribe", client, props, filters);
    }

    @Override
    public void onSessionCreated(ClientInfo client) {
        record("onSessionCreated", client);
    }

    @Override
    public void onSessionSubscribed(ClientInfo client, String topic, SubscribeOptions opts) {
        record("onSessionSubscribed", client, topic, opts);
    }

    @Override
    public void onSessionUnsubscribed(ClientInfo client, String topic) {
        record("onSessionUnsubscribed", client, topic);
    }

    @Override
    public void onSessionResumed(ClientInfo client) {
        record("onSessionResumed", client);
    }

    @Override
    public void onSessionDiscarded(ClientInfo client) {
        record("onSessionDiscarded", client);
    }

    @Override
    public void onSessionTakeovered(ClientInfo client) {
        record("onSessionTakeovered", client);
    }

    @Override
    public void onSessionTerminated(ClientInfo client, String reason) {
        record("onSessionTerminated", client, reason);
    }

    @Override
    public Message onMessagePublish(Message message) {
        record("onMessagePublish", message);
        return message;
    }

    @Override
    public void onMessageDelivered(ClientInfo client, Message message) {
        record("onMessageDelivered", client, message);
    }

    @Override
    public void onMessageAcked(ClientInfo client, Message message) {
        record("onMessageAcked", client, message);
    }

    @Override
    public void onMessageDropped(Message message, String reason) {
        record("onMessageDropped", message, reason);
    }
}
