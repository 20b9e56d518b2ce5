package hookmq.javatest;

import static hookmq.javatest.Check.equal;
import static hookmq.javatest.Shapes.clientInfo;
import static hookmq.javatest.Shapes.connInfo;
import static hookmq.javatest.Shapes.kv;
import static hookmq.javatest.Shapes.message;
import static hookmq.javatest.Shapes.state;

import erlport.terms.Atom;
import erlport.terms.Binary;
import erlport.terms.Etf;
import erlport.terms.Tuple;
import hookmq.javatest.handlers.AuditHandler;
import hookmq.javatest.handlers.AuthHandler;
import hookmq.javatest.handlers.BadTopicsHandler;
import hookmq.javatest.handlers.RecordingHandler;
import io.hookmq.sdk.ClientInfo;
import io.hookmq.sdk.ConnInfo;
import io.hookmq.sdk.Message;
import io.hookmq.sdk.SubscribeOptions;
import io.hookmq.sdk.TopicFilter;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** The hookmq Java SDK: registration, decoding, results; in process and through the runtime. */
public class SdkTest {
    private static final String AUTH = AuthHandler.class.getName();

    private static Tuple spec(String hook, Class<?> module, String function) {
        return Tuple.three(hook, module.getName(), function);
    }

    private static Tuple spec(String hook, Class<?> module, String function, String... topics) {
        List<Object> filters = new ArrayList<>();
        for (String topic : topics) {
            filters.add(new Binary(topic));
        }
        return Tuple.four(hook, module.getName(), function, List.of(Tuple.two(new Atom("topics"), filters)));
    }

    private static Tuple initReply(Tuple... specs) {
        return Tuple.two(0, Tuple.two(List.of(specs), state()));
    }

    public void testInitRegistersOnlyTheOverriddenHooksWithTheirTopics() throws Exception {
        equal(initReply(
                spec("client_connected", AuthHandler.class, "onClientConnectedRaw"),
                spec("client_authenticate", AuthHandler.class, "onClientAuthenticateRaw"),
                spec("client_check_acl", AuthHandler.class, "onClientAuthorizeRaw"),
                spec("message_publish", AuthHandler.class, "onMessagePublishRaw", "t/#", "sensors/+/raw")),
                new AuthHandler().init());
    }

    public void testOverridesInIntermediateClassesCountAndClassTopicsApply() throws Exception {
        equal(initReply(
                spec("client_connected", AuditHandler.class, "onClientConnectedRaw"),
                spec("session_created", AuditHandler.class, "onSessionCreatedRaw"),
                spec("message_delivered", AuditHandler.class, "onMessageDeliveredRaw", "audit/#"),
                spec("message_acked", AuditHandler.class, "onMessageAckedRaw", "acks/#")),
                new AuditHandler().init());
    }

    public void testTopicsOnANonMessageHookFailInit() throws Exception {
        Check.raises(IllegalStateException.class, () -> new BadTopicsHandler().init());
    }

    public void testAllNineteenHooksDecodeTheBrokerShapes() throws Exception {
        RecordingHandler h = new RecordingHandler();
        ClientInfo client = new ClientInfo(Shapes.NODE, "c1", "alice", "pw".getBytes(), "127.0.0.1", 1883, "mqtt", "",
                false, true);
        Message msg = new Message(Shapes.NODE, "0005A9C5B2E4F1A2F4400000F0E10002", 1, "pub-1", "t/1",
                "hi".getBytes(), Shapes.TIMESTAMP);
        List<Object> props = List.of(kv("Session-Expiry-Interval", 30));

        h.onClientConnectRaw(connInfo("c1"), props, state());
        equal(List.of(new ConnInfo(Shapes.NODE, "c1", "alice", "127.0.0.1", 1883, "MQTT", 5, 60),
                Map.of("Session-Expiry-Interval", 30L)), h.last());
        h.onClientConnackRaw(connInfo("c1"), new Atom("success"), List.of(), state());
        equal("success", h.last().get(1));
        h.onClientConnectedRaw(clientInfo("c1", "alice", "pw"), state());
        equal(List.of(client), h.last());
        h.onClientDisconnectedRaw(clientInfo("c1", "alice", "pw"), new Binary("normal"), state());
        equal(List.of(client, "normal"), h.last());
        equal(Tuple.two(0, true), h.onClientAuthenticateRaw(clientInfo("c1", "alice", "pw"), false, state()));
        equal(null, h.onClientAuthorizeRaw(clientInfo("c1", "alice", "pw"), new Atom("publish"), new Binary("a/b"),
                true, state()));
        equal(List.of(client, "publish", "a/b", true), h.last());
        h.onClientSubscribeRaw(clientInfo("c1", "alice", "pw"), List.of(),
                List.of(Tuple.two(new Binary("a/#"), 1), Tuple.two(new Binary("b"), 2)), state());
        equal(List.of(new TopicFilter("a/#", 1), new TopicFilter("b", 2)), h.last().get(2));
        h.onClientUnsubscribeRaw(clientInfo("c1", "alice", "pw"), List.of(), List.of(), state());
        equal(List.of(), h.last().get(2));
        h.onSessionCreatedRaw(clientInfo("c1", "alice", "pw"), state());
        h.onSessionSubscribedRaw(clientInfo("c1", "alice", "pw"), new Binary("a/#"), Shapes.subOpts(), state());
        equal(new SubscribeOptions(true, 0, 1, 0, 0, null, null, Map.of()), h.last().get(2));
        h.onSessionUnsubscribedRaw(clientInfo("c1", "alice", "pw"), new Binary("a/#"), state());
        h.onSessionResumedRaw(clientInfo("c1", "alice", "pw"), state());
        h.onSessionDiscardedRaw(clientInfo("c1", "alice", "pw"), state());
        h.onSessionTakeoveredRaw(clientInfo("c1", "alice", "pw"), state());
        h.onSessionTerminatedRaw(clientInfo("c1", "alice", "pw"), new Binary("takenover"), state());
        equal(List.of(client, "takenover"), h.last());
        h.onMessagePublishRaw(message("t/1", "hi"), state());
        equal(List.of(msg), h.last());
        h.onMessageDeliveredRaw(clientInfo("c1", "alice", "pw"), message("t/1", "hi"), state());
        h.onMessageAckedRaw(clientInfo("c1", "alice", "pw"), message("t/1", "hi"), state());
        equal(List.of(client, msg), h.last());
        h.onMessageDroppedRaw(message("t/1", "hi"), new Binary("no_subscribers"), state());
        equal(List.of(msg, "no_subscribers"), h.last());
        equal(19, h.calls.size());
    }

    public void testDecodingToleratesExtraKeysOtherOrderAtomsAndLongTimestamps() throws Exception {
        RecordingHandler h = new RecordingHandler();
        List<Object> client = new ArrayList<>(List.of(kv("extra", new Binary("x")), kv("clientid", new Atom("c2")),
                kv("username", "bob"), kv("sockport", BigInteger.valueOf(8883)), kv("is_superuser", new Atom("true"))));
        h.onClientConnectedRaw(client, state());
        ClientInfo info = (ClientInfo) h.last().get(0);
        equal("c2", info.clientid());
        equal("bob", info.username());
        equal(8883, info.sockport());
        equal(true, info.isSuperuser());
        equal(0, info.password().length);
        List<Object> msg = message("t/1", "hi");
        msg.set(6, kv("timestamp", Shapes.TIMESTAMP));
        msg.add(kv("headers", List.of()));
        h.onMessagePublishRaw(msg, state());
        equal(Shapes.TIMESTAMP, ((Message) h.last().get(0)).timestamp());
        List<Object> opts = new ArrayList<>(Shapes.subOpts());
        opts.add(kv("share", new Binary("g1")));
        opts.add(kv("subid", 9));
        opts.add(kv("future", new Binary("v")));
        h.onSessionSubscribedRaw(clientInfo("c", "u", ""), new Binary("t"), opts, state());
        equal(new SubscribeOptions(true, 0, 1, 0, 0, "g1", 9L, Map.of("future", "v")), h.last().get(2));
    }

    public void testPublishResultsRewriteDropOrNoDecision() throws Exception {
        AuthHandler h = new AuthHandler();
        Object rewritten = h.onMessagePublishRaw(message("t/rewrite/x", "hello"), state());
        List<Object> expected = message("rewritten/x", "HELLO");
        expected.set(6, kv("timestamp", Shapes.TIMESTAMP));
        equal(Tuple.two(0, expected), rewritten);
        // as the broker sees it: topic and payload binaries, timestamp SMALL_BIG_EXT
        equal(Tuple.two(0, message("rewritten/x", "HELLO")), Etf.decode(Etf.encode(rewritten)));
        equal(Tuple.two(0, false), h.onMessagePublishRaw(message("t/drop/x", "bye"), state()));
        equal(null, h.onMessagePublishRaw(message("t/other", "x"), state()));
    }

    public void testAuthenticationDecisions() throws Exception {
        AuthHandler h = new AuthHandler();
        equal(Tuple.two(0, true), h.onClientAuthenticateRaw(clientInfo("c", "alice", "secret"), false, state()));
        equal(Tuple.two(0, false), h.onClientAuthenticateRaw(clientInfo("c", "alice", "nope"), true, state()));
        equal(null, h.onClientAuthenticateRaw(clientInfo("c", "", ""), true, state()));
        equal(Tuple.two(0, false), h.onClientAuthorizeRaw(clientInfo("c", "a", ""), new Atom("publish"),
                new Binary("forbidden/x"), true, state()));
        equal(null, h.onClientAuthorizeRaw(clientInfo("c", "a", ""), new Atom("subscribe"),
                new Binary("forbidden/x"), true, state()));
    }

    public void testLoginAnswersCarryConnackTermsAndRegisterTheHook() throws Exception {
        io.hookmq.sdk.HookHandler h = new io.hookmq.sdk.HookHandler() {
            @Override
            public io.hookmq.sdk.Login onClientLogin(ClientInfo client, boolean result) {
                if (client.username().equals("banned")) {
                    return io.hookmq.sdk.Login.refuse(0x8A).reasonString("no");
                }
                return io.hookmq.sdk.Login.allow().maximumQos(1).userProperty("k", "v")
                        .assignedClientId("t/" + client.clientid());
            }
        };
        Tuple init = (Tuple) h.init();
        Check.that(init.toString().contains("client_authenticate"), init.toString());
        equal(Tuple.two(0, Tuple.two(new Atom("allow"), List.of(
                Tuple.two(new Atom("maximum_qos"), 1),
                Tuple.two(new Atom("assigned_client_id"), new Binary("t/c")),
                Tuple.two(new Atom("user_properties"), List.of(Tuple.two(new Binary("k"), new Binary("v"))))))),
                h.onClientAuthenticateRaw(clientInfo("c", "alice", ""), false, state()));
        equal(Tuple.two(0, Tuple.three(new Atom("deny"), 0x8A, List.of(
                Tuple.two(new Atom("reason_string"), new Binary("no"))))),
                h.onClientAuthenticateRaw(clientInfo("c", "banned", ""), false, state()));
        // Overrides only go with allow().
        Check.raises(IllegalStateException.class, () -> io.hookmq.sdk.Login.refuse(0x87).maximumQos(1));
    }

    public void testRecordsHideThePasswordAndCompareBytesByContent() throws Exception {
        ClientInfo a = new ClientInfo("n", "c", "u", "secret".getBytes(), "h", 1, "mqtt", "", false, false);
        ClientInfo b = new ClientInfo("n", "c", "u", "secret".getBytes(), "h", 1, "mqtt", "", false, false);
        equal(a, b);
        Check.that(!a.toString().contains("secret"), a.toString());
        Check.that(Message.drop().isDrop(), "drop marker");
        Check.that(!Message.drop().withTopic("x").isDrop(), "a copy of the marker is a message");
        Check.raises(IllegalArgumentException.class, () -> Message.drop().withQos(3));
    }

    public void testThroughTheRuntimeInitAuthenticatePublishDrop() throws Exception {
        try (PortProcess port = PortProcess.start()) {
            Tuple init = (Tuple) port.call(1, AUTH, "init");
            equal(0, init.get(0));
            List<?> specs = (List<?>) ((Tuple) init.get(1)).get(0);
            equal(4, specs.size());
            equal(spec("client_authenticate", AuthHandler.class, "onClientAuthenticateRaw"), specs.get(1));
            Object stateTerm = ((Tuple) init.get(1)).get(1);
            equal(state(), stateTerm);

            // the reference's authenticate reply, byte for byte: {r, 3, {0, true}}
            port.sendCall(3, AUTH, "onClientAuthenticateRaw", clientInfo("c1", "alice", "secret"), false, stateTerm);
            Check.bytes(Check.unhex("83 68 03 64 0001 72 61 03 68 02 61 00 64 0004 74727565"), port.nextReplyBytes());

            equal(Tuple.two(0, false), port.call(4, AUTH, "onClientAuthorizeRaw", clientInfo("c1", "alice", ""),
                    new Atom("publish"), new Binary("forbidden/1"), true, stateTerm));
            equal(new Atom("ok"), port.call(5, AUTH, "onClientAuthorizeRaw", clientInfo("c1", "alice", ""),
                    new Atom("subscribe"), new Binary("forbidden/1"), true, stateTerm));
            equal(Tuple.two(0, message("rewritten/a", "LOUD")),
                    port.call(6, AUTH, "onMessagePublishRaw", message("t/rewrite/a", "loud"), stateTerm));
            equal(Tuple.two(0, false), port.call(7, AUTH, "onMessagePublishRaw", message("t/drop/a", "x"), stateTerm));
            equal(new Atom("ok"), port.call(8, AUTH, "onMessagePublishRaw", message("t/a", "x"), stateTerm));
            equal(new Atom("ok"), port.call(9, AUTH, "onClientConnectedRaw", clientInfo("c9", "u", ""), stateTerm));
            equal(List.of("connected c9\n"), port.printed());
            equal(new Atom("ok"), port.call(10, AUTH, "deinit"));

            // a malformed argument is an error reply, and the handler keeps serving
            port.sendCall(11, AUTH, "onClientAuthenticateRaw", new Atom("junk"), false, stateTerm);
            Tuple error = port.nextReply();
            equal(new Atom("e"), error.get(0));
            equal(11, error.get(1));
            Check.that(((Binary) error.get(2)).asString().contains("clientinfo is not a proplist"),
                    error.get(2).toString());
            // an exception from a typed hook method is an error reply too
            port.sendCall(13, AUTH, "onClientAuthenticateRaw", clientInfo("c1", "db-down", ""), false, stateTerm);
            Tuple failed = port.nextReply();
            equal(Tuple.three(new Atom("e"), 13, failed.get(2)), failed);
            Check.that(((Binary) failed.get(2)).asString().startsWith("java.sql.SQLException: database unreachable"),
                    failed.get(2).toString());
            equal(Tuple.two(0, true), port.call(12, AUTH, "onClientAuthenticateRaw",
                    clientInfo("c1", "alice", "secret"), false, stateTerm));
            equal(0, port.closeAndWait());
        }
    }
}
