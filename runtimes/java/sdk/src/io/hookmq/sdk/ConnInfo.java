package io.hookmq.sdk;

import java.util.Map;

/**
 * The connection as a client's CONNECT packet describes it ({@code client_connect},
 * {@code client_connack}).
 *
 * @param node the broker node name, e.g. {@code hookmq@127.0.0.1}
 * @param clientid the MQTT client identifier
 * @param username the user name, {@code ""} when the client sent none
 * @param peerhost the client's IP address as text
 * @param sockport the listener's local port
 * @param protoName the protocol name, {@code MQTT} (or {@code MQIsdp} for 3.1)
 * @param protoVer the protocol level: 3, 4 (3.1.1) or 5
 * @param keepalive the keep-alive interval in seconds
 */
public record ConnInfo(String node, String clientid, String username, String peerhost, int sockport,
        String protoName, int protoVer, int keepalive) {

    /** Reads the broker's 8-key proplist; missing keys get empty values, extra keys are ignored. */
    static ConnInfo of(Object term) {
        Map<String, Object> m = Terms.proplist(term, "conninfo");
        return new ConnInfo(Terms.str(m, "node"), Terms.str(m, "clientid"), Terms.str(m, "username"),
                Terms.str(m, "peerhost"), Terms.int32(m, "sockport", 0), Terms.str(m, "proto_name"),
                Terms.int32(m, "proto_ver", 0), Terms.int32(m, "keepalive", 0));
    }
}
