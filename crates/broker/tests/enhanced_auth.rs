//! MQTT 5 enhanced authentication through `client.enhanced_authenticate`, with in-memory
//! clients: the initial exchange (AUTH 0x18 until CONNACK), re-authentication (AUTH 0x19 until
//! AUTH 0x00 or DISCONNECT), the handler's state carried between steps, and every bad input:
//! no method, a switched method, a wrong reason, other packets mid-exchange, a client that never
//! answers (closed at the connect timeout while other clients are served).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use common::{TestClient, broker, broker_with, connect};
use hookmq_codec::{Auth, Packet, Properties, Property, Protocol, ReasonCode};
use hookmq_hooks::*;

const WAIT: Duration = Duration::from_secs(5);

/// A toy challenge-response method `toy`: the client names itself, the broker challenges with
/// `nonce`, the client answers `<name>:nonce`; the name travels in the handler's state.
fn toy_hooks() -> Arc<Hooks> {
    let hooks = Arc::new(Hooks::new());
    let spec = HandlerSpec::new(
        "toy",
        "native",
        vec![PointSpec::all(HookPoint::ClientEnhancedAuthenticate)],
    );
    hooks
        .register(
            spec,
            handler_fn(|e| {
                let Event::ClientEnhancedAuthenticate {
                    method,
                    data,
                    step,
                    state,
                    ..
                } = e
                else {
                    return Verdict::Ignore;
                };
                if &**method != "toy" {
                    return Verdict::Ignore;
                }
                let answer = match (step, state) {
                    (AuthStep::Initial | AuthStep::Reauthenticate, None) => {
                        EnhancedAuth::Continue {
                            data: Some(Bytes::from_static(b"nonce")),
                            state: data.clone(),
                        }
                    }
                    (AuthStep::Continue, Some(name)) => {
                        let mut expected = name.to_vec();
                        expected.extend_from_slice(b":nonce");
                        if data.as_deref() == Some(&expected[..]) {
                            EnhancedAuth::Success {
                                data: Some(Bytes::from_static(b"welcome")),
                                grant: Grant::default(),
                            }
                        } else {
                            EnhancedAuth::Failure {
                                reason: ReasonCode::BAD_USER_NAME_OR_PASSWORD,
                                reason_string: Some("wrong answer".into()),
                            }
                        }
                    }
                    _ => EnhancedAuth::not_authorized(),
                };
                Verdict::Stop(Value::EnhancedAuth(answer))
            }),
        )
        .unwrap();
    hooks
}

fn auth_props(method: Option<&str>, data: Option<&'static [u8]>) -> Properties {
    let mut p = Properties::default();
    if let Some(m) = method {
        p.push(Property::AuthenticationMethod(m.into()));
    }
    if let Some(d) = data {
        p.push(Property::AuthenticationData(Bytes::from_static(d)));
    }
    p
}

fn auth(reason: ReasonCode, method: Option<&str>, data: Option<&'static [u8]>) -> Packet {
    Packet::Auth(Auth {
        reason,
        properties: auth_props(method, data),
    })
}

fn toy_connect(id: &str, name: &'static [u8]) -> hookmq_codec::Connect {
    let mut c = connect(Protocol::V5, id);
    c.properties = auth_props(Some("toy"), Some(name));
    c
}

/// Opens a client and expects the broker's challenge.
async fn challenged(b: &Arc<hookmq_broker::Broker>, id: &str) -> TestClient {
    let mut c = TestClient::open(b, toy_connect(id, b"alice")).await;
    match c.recv_within(WAIT).await {
        Some(Packet::Auth(a)) => {
            assert_eq!(a.reason, ReasonCode::CONTINUE_AUTHENTICATION);
            assert_eq!(a.properties.authentication_method().as_deref(), Some("toy"));
            assert_eq!(
                a.properties.authentication_data().as_deref(),
                Some(&b"nonce"[..])
            );
        }
        other => panic!("expected AUTH 0x18, got {other:?}"),
    }
    c
}

async fn connack(c: &mut TestClient) -> hookmq_codec::ConnAck {
    match c.recv_within(WAIT).await {
        Some(Packet::ConnAck(a)) => a,
        other => panic!("expected CONNACK, got {other:?}"),
    }
}

async fn disconnect_code(c: &mut TestClient) -> ReasonCode {
    match c.recv_within(WAIT).await {
        Some(Packet::Disconnect(d)) => d.reason,
        other => panic!("expected DISCONNECT, got {other:?}"),
    }
}

/// A client that completed the toy exchange.
async fn logged_in(b: &Arc<hookmq_broker::Broker>, id: &str) -> TestClient {
    let mut c = challenged(b, id).await;
    c.send(auth(
        ReasonCode::CONTINUE_AUTHENTICATION,
        Some("toy"),
        Some(b"alice:nonce"),
    ))
    .await;
    let ack = connack(&mut c).await;
    assert_eq!(ack.reason, ReasonCode::SUCCESS);
    c
}

#[tokio::test]
async fn an_exchange_ends_in_connack_with_the_method_and_final_data() {
    let b = broker(toy_hooks());
    let mut c = challenged(&b, "c1").await;
    c.send(auth(
        ReasonCode::CONTINUE_AUTHENTICATION,
        Some("toy"),
        Some(b"alice:nonce"),
    ))
    .await;
    let ack = connack(&mut c).await;
    assert_eq!(ack.reason, ReasonCode::SUCCESS);
    // [MQTT-4.12.0-5] the successful CONNACK carries the method, and the final data.
    assert_eq!(
        ack.properties.authentication_method().as_deref(),
        Some("toy")
    );
    assert_eq!(
        ack.properties.authentication_data().as_deref(),
        Some(&b"welcome"[..])
    );
    c.send(Packet::PingReq).await;
    assert_eq!(c.recv_within(WAIT).await, Some(Packet::PingResp));
    assert!(b.client("c1").is_some_and(|v| v.connected));
}

#[tokio::test]
async fn a_wrong_answer_is_refused_with_the_handlers_code_and_reason_string() {
    let b = broker(toy_hooks());
    let mut c = challenged(&b, "c1").await;
    c.send(auth(
        ReasonCode::CONTINUE_AUTHENTICATION,
        Some("toy"),
        Some(b"alice:guess"),
    ))
    .await;
    let ack = connack(&mut c).await;
    assert_eq!(ack.reason, ReasonCode::BAD_USER_NAME_OR_PASSWORD);
    assert_eq!(
        ack.properties.reason_string().as_deref(),
        Some("wrong answer")
    );
    assert_eq!(c.recv_within(WAIT).await, None, "closed after the refusal");
}

#[tokio::test]
async fn a_method_nobody_handles_is_refused_with_0x8c() {
    // No handler at the point: refused before any exchange, as before enhanced auth existed.
    let b = broker(Arc::new(Hooks::new()));
    let (_c, ack) = TestClient::connect(&b, toy_connect("c1", b"alice")).await;
    assert_eq!(ack.reason, ReasonCode::BAD_AUTHENTICATION_METHOD);
    // A handler that does not know the method ignores it: the same answer.
    let b = broker(toy_hooks());
    let mut other = connect(Protocol::V5, "c2");
    other.properties = auth_props(Some("SCRAM-SHA-1"), None);
    let (_c, ack) = TestClient::connect(&b, other).await;
    assert_eq!(ack.reason, ReasonCode::BAD_AUTHENTICATION_METHOD);
}

#[tokio::test]
async fn bad_answers_during_the_initial_exchange_get_the_specs_codes() {
    let b = broker(toy_hooks());
    let cases: [(Packet, ReasonCode); 4] = [
        // §3.15.2.2.2 omitting the method is a protocol error.
        (
            auth(ReasonCode::CONTINUE_AUTHENTICATION, None, Some(b"x")),
            ReasonCode::PROTOCOL_ERROR,
        ),
        // [MQTT-4.12.0-5] another method.
        (
            auth(
                ReasonCode::CONTINUE_AUTHENTICATION,
                Some("other"),
                Some(b"alice:nonce"),
            ),
            ReasonCode::BAD_AUTHENTICATION_METHOD,
        ),
        // [MQTT-4.12.0-3] the answer is 0x18, not 0x19.
        (
            auth(
                ReasonCode::RE_AUTHENTICATE,
                Some("toy"),
                Some(b"alice:nonce"),
            ),
            ReasonCode::PROTOCOL_ERROR,
        ),
        // [MQTT-3.1.2-30] only AUTH or DISCONNECT before CONNACK.
        (Packet::PingReq, ReasonCode::PROTOCOL_ERROR),
    ];
    for (i, (packet, code)) in cases.into_iter().enumerate() {
        let mut c = challenged(&b, &format!("bad{i}")).await;
        c.send(packet).await;
        let ack = connack(&mut c).await;
        assert_eq!(ack.reason, code, "case {i}");
        assert_eq!(c.recv_within(WAIT).await, None, "case {i}: closed");
    }
    assert!(b.client("bad0").is_none());
}

#[tokio::test]
async fn a_client_that_never_answers_is_closed_at_the_connect_timeout_without_blocking_others() {
    let b = broker_with(toy_hooks(), |cfg| {
        cfg.mqtt.connect_timeout = hookmq_broker::units::HumanDuration(Duration::from_millis(500));
    });
    let mut silent = challenged(&b, "silent").await;
    // Meanwhile another client completes its own exchange and is served.
    let mut other = logged_in(&b, "other").await;
    other.send(Packet::PingReq).await;
    assert_eq!(other.recv_within(WAIT).await, Some(Packet::PingResp));
    // The silent one is closed without a CONNACK.
    assert_eq!(silent.recv_within(WAIT).await, None);
    assert!(b.client("silent").is_none());
}

#[tokio::test]
async fn reauthentication_succeeds_with_auth_0x00_and_fails_with_disconnect() {
    let b = broker(toy_hooks());
    let mut c = logged_in(&b, "c1").await;
    for _ in 0..2 {
        c.send(auth(
            ReasonCode::RE_AUTHENTICATE,
            Some("toy"),
            Some(b"alice"),
        ))
        .await;
        match c.recv_within(WAIT).await {
            Some(Packet::Auth(a)) => assert_eq!(a.reason, ReasonCode::CONTINUE_AUTHENTICATION),
            other => panic!("expected AUTH 0x18, got {other:?}"),
        }
        // Other packets keep flowing during the re-authentication (§4.12.1).
        c.send(Packet::PingReq).await;
        assert_eq!(c.recv_within(WAIT).await, Some(Packet::PingResp));
        c.send(auth(
            ReasonCode::CONTINUE_AUTHENTICATION,
            Some("toy"),
            Some(b"alice:nonce"),
        ))
        .await;
        match c.recv_within(WAIT).await {
            Some(Packet::Auth(a)) => {
                assert_eq!(a.reason, ReasonCode::SUCCESS);
                assert_eq!(a.properties.authentication_method().as_deref(), Some("toy"));
                assert_eq!(
                    a.properties.authentication_data().as_deref(),
                    Some(&b"welcome"[..])
                );
            }
            other => panic!("expected AUTH 0x00, got {other:?}"),
        }
    }
    // A failed re-authentication: DISCONNECT; 0x86 is no DISCONNECT code, so 0x87
    // ([MQTT-4.12.1-2], §3.14.2.1).
    c.send(auth(
        ReasonCode::RE_AUTHENTICATE,
        Some("toy"),
        Some(b"alice"),
    ))
    .await;
    assert!(matches!(c.recv_within(WAIT).await, Some(Packet::Auth(_))));
    c.send(auth(
        ReasonCode::CONTINUE_AUTHENTICATION,
        Some("toy"),
        Some(b"mallory"),
    ))
    .await;
    assert_eq!(disconnect_code(&mut c).await, ReasonCode::NOT_AUTHORIZED);
    assert_eq!(c.recv_within(WAIT).await, None);
}

#[tokio::test]
async fn bad_auth_packets_from_connected_clients_are_protocol_errors() {
    let b = broker(toy_hooks());
    // [MQTT-4.12.0-3] 0x18 with no exchange in progress.
    let mut c = logged_in(&b, "c1").await;
    c.send(auth(
        ReasonCode::CONTINUE_AUTHENTICATION,
        Some("toy"),
        Some(b"x"),
    ))
    .await;
    assert_eq!(disconnect_code(&mut c).await, ReasonCode::PROTOCOL_ERROR);
    // [MQTT-4.12.1-1] re-authentication with another method.
    let mut c = logged_in(&b, "c2").await;
    c.send(auth(ReasonCode::RE_AUTHENTICATE, Some("other"), None))
        .await;
    assert_eq!(disconnect_code(&mut c).await, ReasonCode::PROTOCOL_ERROR);
    // §3.15.2.2.2 without a method.
    let mut c = logged_in(&b, "c3").await;
    c.send(auth(ReasonCode::RE_AUTHENTICATE, None, None)).await;
    assert_eq!(disconnect_code(&mut c).await, ReasonCode::PROTOCOL_ERROR);
    // [MQTT-4.12.0-7] a client that connected without a method sends no AUTH.
    let (mut c, ack) = TestClient::connect(&b, connect(Protocol::V5, "plain")).await;
    assert_eq!(ack.reason, ReasonCode::SUCCESS);
    c.send(auth(ReasonCode::RE_AUTHENTICATE, Some("toy"), None))
        .await;
    assert_eq!(disconnect_code(&mut c).await, ReasonCode::PROTOCOL_ERROR);
}

#[tokio::test]
async fn a_reauthentication_left_unanswered_ends_at_the_connect_timeout() {
    let b = broker_with(toy_hooks(), |cfg| {
        cfg.mqtt.connect_timeout = hookmq_broker::units::HumanDuration(Duration::from_millis(300));
    });
    let mut c = logged_in(&b, "c1").await;
    c.send(auth(
        ReasonCode::RE_AUTHENTICATE,
        Some("toy"),
        Some(b"alice"),
    ))
    .await;
    assert!(matches!(c.recv_within(WAIT).await, Some(Packet::Auth(_))));
    assert_eq!(disconnect_code(&mut c).await, ReasonCode::NOT_AUTHORIZED);
}

#[tokio::test]
async fn the_exchange_state_and_password_reach_the_handler_and_success_grants() {
    // A one-step method: CONNECT's data is checked at once; success with superuser.
    let hooks = Arc::new(Hooks::new());
    let (connected_tx, mut connected) = tokio::sync::mpsc::unbounded_channel();
    hooks
        .register(
            HandlerSpec::new(
                "connected",
                "native",
                vec![PointSpec::all(HookPoint::ClientConnected)],
            ),
            handler_fn(move |e| {
                if let Event::ClientConnected { clientinfo, .. } = e {
                    let _ = connected_tx.send((clientinfo.is_superuser, clientinfo.anonymous));
                }
                Verdict::Ignore
            }),
        )
        .unwrap();
    let seen = Arc::new(parking_lot::Mutex::new(Vec::new()));
    let log = seen.clone();
    hooks
        .register(
            HandlerSpec::new(
                "token",
                "native",
                vec![PointSpec::all(HookPoint::ClientEnhancedAuthenticate)],
            ),
            handler_fn(move |e| {
                if let Event::ClientEnhancedAuthenticate {
                    clientinfo,
                    data,
                    step,
                    ..
                } = e
                {
                    log.lock()
                        .push((*step, clientinfo.password.clone(), data.clone()));
                    if data.as_deref() == Some(&b"good"[..]) {
                        return Verdict::Stop(Value::Grant(Grant {
                            superuser: true,
                            ..Grant::default()
                        }));
                    }
                    return Verdict::Stop(Value::Allow(false));
                }
                Verdict::Ignore
            }),
        )
        .unwrap();
    let b = broker(hooks);
    let mut good = connect(Protocol::V5, "t1");
    good.properties = auth_props(Some("token"), Some(b"good"));
    good.password = Some(Bytes::from_static(b"pw"));
    let (_c, ack) = TestClient::connect(&b, good).await;
    assert_eq!(ack.reason, ReasonCode::SUCCESS);
    assert_eq!(
        ack.properties.authentication_method().as_deref(),
        Some("token")
    );
    assert!(ack.properties.authentication_data().is_none());
    // Let in as a superuser, and not anonymous.
    let who = tokio::time::timeout(WAIT, connected.recv()).await.unwrap();
    assert_eq!(who, Some((true, false)));
    let mut bad = connect(Protocol::V5, "t2");
    bad.properties = auth_props(Some("token"), Some(b"bad"));
    let (_c, ack) = TestClient::connect(&b, bad).await;
    assert_eq!(ack.reason, ReasonCode::NOT_AUTHORIZED);
    let seen = seen.lock().clone();
    assert_eq!(
        seen,
        vec![
            (
                AuthStep::Initial,
                Some(Bytes::from_static(b"pw")),
                Some(Bytes::from_static(b"good"))
            ),
            (AuthStep::Initial, None, Some(Bytes::from_static(b"bad"))),
        ]
    );
}

#[tokio::test]
async fn auth_data_above_the_clients_maximum_packet_size_is_never_sent() {
    // [MQTT-3.1.2-24] the toy challenge does not fit a client that accepts 12-byte packets.
    let b = broker(toy_hooks());
    let mut c = toy_connect("small", b"alice");
    c.properties.push(Property::MaximumPacketSize(12));
    let mut client = TestClient::open(&b, c).await;
    let ack = connack(&mut client).await;
    assert_eq!(ack.reason, ReasonCode::NOT_AUTHORIZED);
    assert_eq!(client.recv_within(WAIT).await, None);
}

#[tokio::test]
async fn a_refusal_code_connack_cannot_carry_is_a_bad_reply() {
    // A native handler that refuses with 0x00 (success) or 0x91 (a PUBACK code): the answer is
    // a bad reply, so its failure policy applies: ignore (nobody answered: 0x8C), deny (0x87).
    for (policy, expected) in [
        (FailedAction::Ignore, ReasonCode::BAD_AUTHENTICATION_METHOD),
        (FailedAction::Deny, ReasonCode::NOT_AUTHORIZED),
    ] {
        let hooks = Arc::new(Hooks::new());
        let mut spec = HandlerSpec::new(
            "bad",
            "native",
            vec![PointSpec::all(HookPoint::ClientEnhancedAuthenticate)],
        );
        spec.failed_action = policy;
        hooks
            .register(
                spec,
                handler_fn(|_| {
                    Verdict::Stop(Value::EnhancedAuth(EnhancedAuth::Failure {
                        reason: ReasonCode(0x91),
                        reason_string: None,
                    }))
                }),
            )
            .unwrap();
        let b = broker(hooks);
        let (_c, ack) = TestClient::connect(&b, toy_connect("c", b"alice")).await;
        assert_eq!(ack.reason, expected, "{policy:?}");
    }
}
