//! CONNACK terms of native authentication handlers, observed on the wire by in-memory clients:
//! a grant's Reason String, User Properties and overrides (session expiry, keep alive, maximum
//! QoS, receive maximum) and an assigned client id that the session really uses; a refusal's
//! texts; MQTT 3.x clients; and answers the broker must not act on (bad values, an id another
//! identity holds), which apply the handler's failure policy.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{TestClient, broker, broker_with, connect, publish_packet, subscribe_packet};
use hookmq_codec::{ConnAck, Packet, Property, Protocol, QoS, ReasonCode};
use hookmq_hooks::*;

fn spec(name: &str) -> HandlerSpec {
    HandlerSpec::new(
        name,
        "native",
        vec![PointSpec::all(HookPoint::ClientAuthenticate)],
    )
}

/// Answers by user name: `terms` lets in with every term, `assign` assigns `tenant/` + the
/// client id, `refuse` refuses with texts, `bad-*` answers something the broker cannot use.
fn terms_handler() -> Arc<dyn Handler> {
    handler_fn(|e| {
        let Event::ClientAuthenticate { clientinfo, .. } = e else {
            return Verdict::Ignore;
        };
        let grant = |connack: ConnackTerms| {
            Verdict::Stop(Value::Grant(Grant {
                connack: Box::new(connack),
                ..Grant::default()
            }))
        };
        let assign = |id: &str| ConnackTerms {
            assigned_client_id: Some(id.into()),
            ..ConnackTerms::default()
        };
        match clientinfo.username.as_deref() {
            Some("terms") => grant(ConnackTerms {
                reason_string: Some("welcome".into()),
                user_properties: vec![
                    UserProperty::new("tier", "gold"),
                    UserProperty::new("tier", "2"),
                ],
                session_expiry_interval: Some(300),
                server_keep_alive: Some(20),
                maximum_qos: Some(1),
                receive_maximum: Some(5),
                assigned_client_id: Some(format!("tenant/{}", clientinfo.clientid).into()),
            }),
            Some("assign") => grant(assign(&format!("tenant/{}", clientinfo.clientid))),
            Some("refuse") => Verdict::Stop(Value::Refuse(Refusal {
                code: ReasonCode::BANNED,
                reason_string: Some("banned until tomorrow".into()),
                user_properties: vec![UserProperty::new("until", "tomorrow")],
            })),
            Some("bad-receive-max") => grant(ConnackTerms {
                receive_maximum: Some(0),
                ..ConnackTerms::default()
            }),
            Some("bad-qos") => grant(ConnackTerms {
                maximum_qos: Some(3),
                ..ConnackTerms::default()
            }),
            Some("bad-empty-id") => grant(assign("")),
            Some("bad-control-id") => grant(assign("a\u{7}b")),
            Some("bad-nul-id") => grant(assign("a\0b")),
            Some("bad-long-id") => grant(assign(&"x".repeat(100))),
            Some("bad-refusal") => Verdict::Stop(Value::Refuse(Refusal::new(ReasonCode::SUCCESS))),
            // The id of a session that "victim" holds.
            Some("thief") => grant(assign("victim-session")),
            _ => Verdict::Ignore,
        }
    })
}

fn login(protocol: Protocol, clientid: &str, user: &str) -> hookmq_codec::Connect {
    let mut c = connect(protocol, clientid);
    c.username = Some(user.into());
    c
}

fn user_properties(ack: &ConnAck) -> Vec<(String, String)> {
    ack.properties
        .0
        .iter()
        .filter_map(|p| match p {
            Property::UserProperty(k, v) => Some((k.to_string(), v.to_string())),
            _ => None,
        })
        .collect()
}

fn has(ack: &ConnAck, want: &Property) -> bool {
    ack.properties.0.iter().any(|p| p == want)
}

fn hooks() -> Arc<Hooks> {
    let hooks = Arc::new(Hooks::new());
    hooks.register(spec("terms"), terms_handler()).unwrap();
    hooks
}

#[tokio::test]
async fn a_grant_tells_an_mqtt5_client_its_terms_and_the_broker_applies_them() {
    let b = broker_with(hooks(), |c| c.mqtt.max_keepalive = Some(60));
    let mut c = login(Protocol::V5, "dev1", "terms");
    c.keep_alive = 30;
    let (mut client, ack) = TestClient::connect(&b, c).await;
    assert_eq!(ack.reason, ReasonCode::SUCCESS);
    for want in [
        Property::ReasonString("welcome".into()),
        Property::SessionExpiryInterval(300),
        Property::ServerKeepAlive(20),
        Property::MaximumQos(1),
        Property::ReceiveMaximum(5),
        Property::AssignedClientIdentifier("tenant/dev1".into()),
    ] {
        assert!(has(&ack, &want), "{want:?} missing from {ack:?}");
    }
    assert_eq!(
        user_properties(&ack),
        [("tier".into(), "gold".into()), ("tier".into(), "2".into())]
    );
    // Maximum QoS 1: a QoS 2 subscription is granted QoS 1, a QoS 2 PUBLISH is refused.
    client.send(subscribe_packet("t/#", QoS::ExactlyOnce)).await;
    match client.recv().await {
        Some(Packet::SubAck(a)) => assert_eq!(a.reasons, [ReasonCode::GRANTED_QOS_1]),
        other => panic!("{other:?}"),
    }
    client
        .send(publish_packet("t/1", QoS::ExactlyOnce, 1))
        .await;
    match client.recv().await {
        Some(Packet::Disconnect(d)) => assert_eq!(d.reason, ReasonCode::QOS_NOT_SUPPORTED),
        other => panic!("{other:?}"),
    }
    // The session lives under the assigned id, with the expiry the handler set: the same
    // identity connecting with that id resumes it.
    // (Another user name, which the handler does not answer: the session is resumed and
    // re-authorized for it, session.owner_change = reauthorize.)
    let mut again = login(Protocol::V5, "tenant/dev1", "other");
    again.clean_start = false;
    let (_c, ack) = TestClient::connect(&b, again).await;
    assert!(ack.session_present, "{ack:?}");
}

#[tokio::test]
async fn an_assigned_id_takes_the_session_over_and_hooks_see_it() {
    let connected = Arc::new(parking_lot::Mutex::new(Vec::new()));
    let log = connected.clone();
    let hooks = hooks();
    let mut s = HandlerSpec::new(
        "seen",
        "native",
        vec![PointSpec::all(HookPoint::ClientConnected)],
    );
    s.dispatch = Dispatch::Inline;
    hooks
        .register(
            s,
            handler_fn(move |e| {
                if let Event::ClientConnected {
                    clientinfo,
                    conninfo,
                } = e
                {
                    log.lock().push((
                        clientinfo.clientid.to_string(),
                        conninfo.clientid.to_string(),
                    ));
                }
                Verdict::Ignore
            }),
        )
        .unwrap();
    let b = broker(hooks);
    let (mut first, ack) = TestClient::connect(&b, login(Protocol::V5, "d", "assign")).await;
    assert!(has(
        &ack,
        &Property::AssignedClientIdentifier("tenant/d".into())
    ));
    // A second connection assigned the same id takes the first one's place (0x8E).
    let (_second, _) = TestClient::connect(&b, login(Protocol::V5, "d", "assign")).await;
    match first.recv_within(Duration::from_secs(5)).await {
        Some(Packet::Disconnect(d)) => assert_eq!(d.reason, ReasonCode::SESSION_TAKEN_OVER),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        connected.lock()[0],
        ("tenant/d".to_string(), "tenant/d".to_string())
    );
}

#[tokio::test]
async fn an_mqtt3_client_is_assigned_its_id_silently() {
    let b = broker(hooks());
    let mut c = login(Protocol::V3_1_1, "d3", "assign");
    c.clean_start = false;
    let (client, ack) = TestClient::connect(&b, c).await;
    assert_eq!(ack.reason, ReasonCode::SUCCESS);
    assert!(ack.properties.0.is_empty());
    client.drop_connection().await;
    // Its persistent session is under the assigned id.
    let mut v5 = login(Protocol::V5, "tenant/d3", "someone");
    v5.clean_start = false;
    let (_c, ack) = TestClient::connect(&b, v5).await;
    assert!(ack.session_present, "{ack:?}");
}

#[tokio::test]
async fn a_refusal_carries_its_texts_to_mqtt5_clients_only() {
    let b = broker(hooks());
    let (_c, ack) = TestClient::connect(&b, login(Protocol::V5, "r", "refuse")).await;
    assert_eq!(ack.reason, ReasonCode::BANNED);
    assert!(has(
        &ack,
        &Property::ReasonString("banned until tomorrow".into())
    ));
    assert_eq!(user_properties(&ack), [("until".into(), "tomorrow".into())]);
    let (_c, ack) = TestClient::connect(&b, login(Protocol::V3_1_1, "r", "refuse")).await;
    assert_eq!(ack.reason, ReasonCode::NOT_AUTHORIZED);
    assert!(ack.properties.0.is_empty());
}

#[tokio::test]
async fn a_connack_above_the_clients_maximum_packet_size_loses_its_texts() {
    let b = broker(hooks());
    let mut c = login(Protocol::V5, "small", "terms");
    c.properties.push(Property::MaximumPacketSize(60));
    let (_c, ack) = TestClient::connect(&b, c).await;
    assert_eq!(ack.reason, ReasonCode::SUCCESS);
    assert!(user_properties(&ack).is_empty(), "{ack:?}");
    assert!(has(&ack, &Property::ReasonString("welcome".into())));
    assert!(has(
        &ack,
        &Property::AssignedClientIdentifier("tenant/small".into())
    ));
    let len = hookmq_codec::encoded_len(&Packet::ConnAck(ack), Protocol::V5).unwrap();
    assert!(len <= 60, "{len}");
}

#[tokio::test]
async fn answers_the_broker_cannot_use_apply_the_failure_policy() {
    let bad = [
        "bad-receive-max",
        "bad-qos",
        "bad-empty-id",
        "bad-control-id",
        "bad-nul-id",
        "bad-long-id",
        "bad-refusal",
        "thief",
    ];
    // Under "ignore" the client falls through to allow_anonymous with its own id and no terms.
    let b = broker_with(hooks(), |c| c.mqtt.max_clientid_len = 64);
    let mut victim = login(Protocol::V5, "victim-session", "victim");
    victim.properties.push(Property::SessionExpiryInterval(600));
    let (_victim, ack) = TestClient::connect(&b, victim).await;
    assert_eq!(ack.reason, ReasonCode::SUCCESS);
    for user in bad {
        let (_c, ack) = TestClient::connect(&b, login(Protocol::V5, user, user)).await;
        assert_eq!(ack.reason, ReasonCode::SUCCESS, "{user}");
        assert!(
            !ack.properties
                .0
                .iter()
                .any(|p| matches!(p, Property::AssignedClientIdentifier(_))),
            "{user}: {ack:?}"
        );
    }
    // Under "deny" each is refused with 0x87; the victim keeps its session.
    let hooks = Arc::new(Hooks::new());
    let mut s = spec("terms");
    s.failed_action = FailedAction::Deny;
    hooks.register(s, terms_handler()).unwrap();
    let b = broker_with(hooks, |c| c.mqtt.max_clientid_len = 64);
    let mut victim = login(Protocol::V5, "victim-session", "victim");
    victim.properties.push(Property::SessionExpiryInterval(600));
    let (_victim, _) = TestClient::connect(&b, victim).await;
    for user in bad {
        let (_c, ack) = TestClient::connect(&b, login(Protocol::V5, user, user)).await;
        assert_eq!(ack.reason, ReasonCode::NOT_AUTHORIZED, "{user}");
    }
}
