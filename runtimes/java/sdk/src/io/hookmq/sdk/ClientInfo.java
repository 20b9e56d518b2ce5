package io.hookmq.sdk;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Map;
import java.util.Objects;

/**
 * The client as the broker knows it (every {@code client_*} hook but connect/connack, and the
 * session and delivery hooks).
 *
 * @param node the broker node name
 * @param clientid the MQTT client identifier
 * @param username the user name, {@code ""} when none
 * @param password the password bytes as sent (only during {@code client_authenticate}; empty
 *     otherwise); not printed by {@link #toString()}
 * @param peerhost the client's IP address as text
 * @param sockport the listener's local port
 * @param protocol the protocol, {@code mqtt}
 * @param mountpoint the mount point, {@code ""} when none
 * @param isSuperuser whether the client is a superuser
 * @param anonymous whether the client has not (yet) been authenticated
 */
public record ClientInfo(String node, String clientid, String username, byte[] password, String peerhost,
        int sockport, String protocol, String mountpoint, boolean isSuperuser, boolean anonymous) {

    /** Rejects {@code null} components. */
    public ClientInfo {
        Objects.requireNonNull(node, "node");
        Objects.requireNonNull(clientid, "clientid");
        Objects.requireNonNull(username, "username");
        Objects.requireNonNull(password, "password");
        Objects.requireNonNull(peerhost, "peerhost");
        Objects.requireNonNull(protocol, "protocol");
        Objects.requireNonNull(mountpoint, "mountpoint");
    }

    /** The password decoded as UTF-8 (invalid bytes become U+FFFD). */
    public String passwordString() {
        return new String(password, StandardCharsets.UTF_8);
    }

    /** Reads the broker's 10-key proplist; missing keys get empty values, extra keys are ignored. */
    static ClientInfo of(Object term) {
        Map<String, Object> m = Terms.proplist(term, "clientinfo");
        Object password = m.get("password");
        return new ClientInfo(Terms.str(m, "node"), Terms.str(m, "clientid"), Terms.str(m, "username"),
                password == null ? new byte[0] : Terms.bytes(password), Terms.str(m, "peerhost"),
                Terms.int32(m, "sockport", 0), Terms.str(m, "protocol"), Terms.str(m, "mountpoint"),
                Terms.flag(m, "is_superuser", false), Terms.flag(m, "anonymous", false));
    }

    /** Compares the password by content. */
    @Override
    public boolean equals(Object other) {
        if (!(other instanceof ClientInfo)) {
            return false;
        }
        ClientInfo o = (ClientInfo) other;
        return node.equals(o.node) && clientid.equals(o.clientid) && username.equals(o.username)
                && Arrays.equals(password, o.password) && peerhost.equals(o.peerhost) && sockport == o.sockport
                && protocol.equals(o.protocol) && mountpoint.equals(o.mountpoint)
                && isSuperuser == o.isSuperuser && anonymous == o.anonymous;
    }

    @Override
    public int hashCode() {
        return Objects.hash(node, clientid, username, Arrays.hashCode(password), peerhost, sockport, protocol,
                mountpoint, isSuperuser, anonymous);
    }

    /** Every field but the password, which shows as {@code ***} when set. */
    @Override
    public String toString() {
        return "ClientInfo[node=" + node + ", clientid=" + clientid + ", username=" + username + ", password="
                + (password.length == 0 ? "" : "***") + ", peerhost=" + peerhost + ", sockport=" + sockport
                + ", protocol=" + protocol + ", mountpoint=" + mountpoint + ", isSuperuser=" + isSuperuser
                + ", anonymous=" + anonymous + "]";
    }
}
