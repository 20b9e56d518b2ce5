import io.hookmq.sdk.ClientInfo;
import io.hookmq.sdk.HookHandler;
import io.hookmq.sdk.Message;
import io.hookmq.sdk.Topics;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;

/**
 * Hooks for a fleet of devices, on hookmq's Java SDK.
 *
 * <ul>
 *   <li>Login: a device connects with its id as user name and its token as password, checked
 *       against {@code devices.properties} ({@code $HOOKMQ_DEVICES}, default
 *       {@code examples/java/devices.properties}). Other user names are left to the broker.
 *   <li>ACL: a device may publish only under {@code devices/<its id>/} and subscribe only to
 *       {@code devices/<its id>/commands/#}.
 *   <li>Messages: telemetry ({@code devices/+/telemetry}) is republished on
 *       {@code telemetry/<id>} as a JSON envelope; empty telemetry is dropped.
 * </ul>
 */
public class DeviceHooks extends HookHandler {
    private final Properties devices = new Properties();

    @Override
    protected void onLoad() throws Exception {
        String file = System.getenv().getOrDefault("HOOKMQ_DEVICES", "examples/java/devices.properties");
        try (Reader in = Files.newBufferedReader(Path.of(file))) {
            devices.load(in);
        }
        System.out.println("[devices] loaded " + devices.size() + " devices from " + file);
    }

    private boolean isDevice(ClientInfo client) {
        return devices.containsKey(client.username());
    }

    @Override
    public Boolean onClientAuthenticate(ClientInfo client, boolean result) {
        String token = devices.getProperty(client.username());
        if (token == null) {
            return null; // not a device: no decision
        }
        boolean ok = token.equals(client.passwordString()) && client.clientid().equals(client.username());
        System.out.println("[devices] " + client.clientid() + (ok ? " logged in" : " refused"));
        return ok;
    }

    @Override
    public Boolean onClientAuthorize(ClientInfo client, String pubsub, String topic, boolean result) {
        if (!isDevice(client)) {
            return null;
        }
        String own = "devices/" + client.clientid() + "/";
        if (pubsub.equals("publish")) {
            return topic.startsWith(own);
        }
        return topic.startsWith(own + "commands/");
    }

    @Override
    @Topics({"devices/+/telemetry"})
    public Message onMessagePublish(Message message) {
        String data = message.payloadString().trim();
        if (data.isEmpty()) {
            return Message.drop();
        }
        String device = message.topic().split("/")[1];
        String json = "{\"device\":\"" + device + "\",\"ts\":" + message.timestamp() + ",\"data\":\""
                + data.replace("\\", "\\\\").replace("\"", "\\\"") + "\"}";
        return message.withTopic("telemetry/" + device).withPayload(json);
    }

    @Override
    public void onClientConnected(ClientInfo client) {
        System.out.println("[devices] " + client.clientid() + " connected from " + client.peerhost());
    }

    @Override
    public void onClientDisconnected(ClientInfo client, String reason) {
        System.out.println("[devices] " + client.clientid() + " disconnected: " + reason);
    }
}
