//! Every decision path of the hook chain, through the real broker with in-memory clients:
//! login refused (with each code, at each protocol level), publish and subscribe denied per
//! topic, messages rewritten and dropped, timeouts under `deny` and `ignore`, and a full
//! notification queue that never blocks publishers.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use common::{TestClient, broker, connect};
use hookmq_codec::{
    Packet, PacketId, Properties, Protocol, Publish, QoS, ReasonCode, Subscribe,
    SubscriptionOptions, TopicFilter, TopicName,
};
use hookmq_hooks::*;
use parking_lot::Mutex;

fn spec(name: &str, points: &[HookPoint]) -> HandlerSpec {
    HandlerSpec::new(
        name,
        "native",
        points.iter().map(|p| PointSpec::all(*p)).collect(),
    )
}

fn publish(topic: &str, qos: QoS, id: u16, payload: &'static [u8]) -> Packet {
    Packet::Publish(Publish {
        dup: false,
        qos,
        retain: false,
        topic: topic.into(),
        packet_id: if qos == QoS::AtMostOnce {
            None
        } else {
            PacketId::new(id)
        },
        payload: Bytes::from_static(payload),
        properties: Properties::default(),
    })
}

#[tokio::test]
async fn authentication_refusals_carry_the_handlers_reason_code() {
    let hooks = Arc::new(Hooks::new());
    hooks
        .register(
            spec("auth", &[HookPoint::ClientAuthenticate]),
            handler_fn(|e| match e {
                Event::ClientAuthenticate { clientinfo, .. } => {
                    match (
                        clientinfo.username.as_deref(),
                        clientinfo.password.as_deref(),
                    ) {
                        (Some("alice"), Some(b"secret")) => Verdict::Stop(Value::Allow(true)),
                        (Some("alice"), _) => Verdict::Stop(Value::Auth(AuthResult::Deny(
                            ReasonCode::BAD_USER_NAME_OR_PASSWORD,
                        ))),
                        _ => Verdict::Stop(Value::Allow(false)),
                    }
                }
                _ => Verdict::Ignore,
            }),
        )
        .unwrap();
    let b = broker(hooks);
    for protocol in [Protocol::V3_1_1, Protocol::V5] {
        let attempt = |user: &str, pw: &'static [u8]| {
            let mut c = connect(protocol, "c");
            c.username = Some(user.into());
            c.password = Some(Bytes::from_static(pw));
            c
        };
        let (_c, ack) = TestClient::connect(&b, attempt("alice", b"secret")).await;
        assert_eq!(ack.reason, ReasonCode::SUCCESS);
        let (mut c, ack) = TestClient::connect(&b, attempt("alice", b"wrong")).await;
        // 3.1.1 return code 4, 5.0 reason 0x86; the codec maps the same reason both ways.
        assert_eq!(
            ack.reason,
            ReasonCode::BAD_USER_NAME_OR_PASSWORD,
            "{protocol:?}"
        );
        assert_eq!(c.recv().await, None);
        let (_c, ack) = TestClient::connect(&b, attempt("mallory", b"x")).await;
        assert_eq!(ack.reason, ReasonCode::NOT_AUTHORIZED, "{protocol:?}");
    }
    assert_eq!(
        b.metrics()
            .auth_failures
            .load(std::sync::atomic::Ordering::Relaxed),
        4
    );
}

#[tokio::test]
async fn without_allow_anonymous_a_login_needs_a_handler_to_allow_it() {
    let hooks = Arc::new(Hooks::new());
    let mut cfg = hookmq_broker::BrokerConfig::default();
    cfg.listeners.tcp.clear();
    cfg.sys.enable = false;
    cfg.mqtt.allow_anonymous = false;
    let b = hookmq_broker::Broker::new(cfg, hooks.clone()).unwrap();
    let (_c, ack) = TestClient::connect(&b, connect(Protocol::V5, "nobody")).await;
    assert_eq!(ack.reason, ReasonCode::NOT_AUTHORIZED);
    hooks
        .register(
            spec("ok-if-named", &[HookPoint::ClientAuthenticate]),
            handler_fn(|e| match e {
                Event::ClientAuthenticate {
                    clientinfo, result, ..
                } => {
                    assert!(!result.is_allowed(), "the accumulator starts as refused");
                    Verdict::Continue(Value::Allow(clientinfo.username.is_some()))
                }
                _ => Verdict::Ignore,
            }),
        )
        .unwrap();
    let mut named = connect(Protocol::V5, "named");
    named.username = Some("bob".into());
    let (_c, ack) = TestClient::connect(&b, named).await;
    assert_eq!(ack.reason, ReasonCode::SUCCESS);
    let (_c, ack) = TestClient::connect(&b, connect(Protocol::V5, "anon")).await;
    assert_eq!(ack.reason, ReasonCode::NOT_AUTHORIZED);
}

fn acl() -> Arc<dyn Handler> {
    handler_fn(|e| match e {
        Event::ClientAuthorize { topic, .. } if topic.starts_with("private/") => {
            Verdict::Stop(Value::Allow(false))
        }
        _ => Verdict::Ignore,
    })
}

#[tokio::test]
async fn denied_publishes_get_0x87_in_v5_and_are_not_routed() {
    let hooks = Arc::new(Hooks::new());
    hooks
        .register(spec("acl", &[HookPoint::ClientAuthorize]), acl())
        .unwrap();
    let b = broker(hooks);
    let (mut sub, _) = TestClient::connect(&b, connect(Protocol::V5, "sub")).await;
    sub.subscribe("#", QoS::AtLeastOnce).await;
    for protocol in [Protocol::V5, Protocol::V3_1_1] {
        let (mut p, _) = TestClient::connect(&b, connect(protocol, "pub")).await;
        p.send(publish("private/x", QoS::AtLeastOnce, 1, b"no"))
            .await;
        let expected = if protocol.is_v5() {
            ReasonCode::NOT_AUTHORIZED
        } else {
            ReasonCode::SUCCESS
        };
        match p.recv().await {
            Some(Packet::PubAck(a)) => assert_eq!(a.reason, expected),
            other => panic!("{other:?}"),
        }
        p.send(publish("private/x", QoS::ExactlyOnce, 2, b"no"))
            .await;
        match p.recv().await {
            Some(Packet::PubRec(a)) => assert_eq!(a.reason, expected),
            other => panic!("{other:?}"),
        }
        p.send(publish("public/x", QoS::AtLeastOnce, 3, b"yes"))
            .await;
        assert!(matches!(p.recv().await, Some(Packet::PubAck(_))));
        match sub.recv().await {
            Some(Packet::Publish(m)) => assert_eq!(&m.payload[..], b"yes"),
            other => panic!("only the allowed message is routed: {other:?}"),
        }
    }
}

#[tokio::test]
async fn deny_action_disconnect_closes_v5_clients_with_0x87() {
    let hooks = Arc::new(Hooks::new());
    hooks
        .register(spec("acl", &[HookPoint::ClientAuthorize]), acl())
        .unwrap();
    let mut cfg = hookmq_broker::BrokerConfig::default();
    cfg.listeners.tcp.clear();
    cfg.sys.enable = false;
    cfg.authorization.deny_action = hookmq_broker::config::DenyAction::Disconnect;
    let b = hookmq_broker::Broker::new(cfg, hooks).unwrap();
    let (mut p, _) = TestClient::connect(&b, connect(Protocol::V5, "pub")).await;
    p.send(publish("private/x", QoS::AtMostOnce, 0, b"no"))
        .await;
    match p.recv().await {
        Some(Packet::Disconnect(d)) => assert_eq!(d.reason, ReasonCode::NOT_AUTHORIZED),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn denied_subscriptions_get_0x87_or_0x80_per_filter_and_share_uses_the_real_topic() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let hooks = Arc::new(Hooks::new());
    hooks
        .register(
            spec("acl", &[HookPoint::ClientAuthorize]),
            handler_fn(move |e| match e {
                Event::ClientAuthorize { topic, action, .. } => {
                    log.lock().push((action.name(), topic.to_string()));
                    Verdict::Continue(Value::Allow(!topic.starts_with("private/")))
                }
                _ => Verdict::Ignore,
            }),
        )
        .unwrap();
    let b = broker(hooks);
    for (protocol, denied) in [
        (Protocol::V5, ReasonCode::NOT_AUTHORIZED),
        (Protocol::V3_1_1, ReasonCode(0x80)),
    ] {
        let (mut c, _) = TestClient::connect(&b, connect(protocol, "s")).await;
        let opts = SubscriptionOptions {
            qos: QoS::AtLeastOnce,
            ..Default::default()
        };
        c.send(Packet::Subscribe(Subscribe {
            packet_id: PacketId::new(9).unwrap(),
            filters: vec![
                (TopicFilter::new("private/a").unwrap(), opts),
                (TopicFilter::new("$share/g/public/b").unwrap(), opts),
                (TopicFilter::new("$share/g/private/c").unwrap(), opts),
            ],
            properties: Properties::default(),
        }))
        .await;
        match c.recv().await {
            Some(Packet::SubAck(a)) => {
                assert_eq!(a.reasons, [denied, ReasonCode::GRANTED_QOS_1, denied])
            }
            other => panic!("{other:?}"),
        }
    }
    let log = seen.lock();
    assert!(
        log.iter()
            .all(|(a, t)| *a == "subscribe" && !t.starts_with("$share")),
        "{log:?}"
    );
}

fn rewriter() -> Arc<dyn Handler> {
    handler_fn(|e| match e {
        Event::MessagePublish { message } if message.topic.as_str() == "in/rewrite" => {
            let mut m = (**message).clone();
            m.topic = TopicName::new("out/rewritten").unwrap();
            m.payload = Bytes::from_static(b"changed");
            m.qos = QoS::AtMostOnce;
            Verdict::Continue(Value::Message(Arc::new(m)))
        }
        Event::MessagePublish { message } if message.topic.as_str() == "in/drop" => {
            Verdict::Stop(Value::Drop)
        }
        _ => Verdict::Ignore,
    })
}

#[tokio::test]
async fn messages_are_rewritten_or_dropped_and_drops_are_reported() {
    let dropped = Arc::new(Mutex::new(Vec::new()));
    let log = dropped.clone();
    let hooks = Arc::new(Hooks::new());
    hooks
        .register(spec("rewrite", &[HookPoint::MessagePublish]), rewriter())
        .unwrap();
    let mut s = spec("dropped", &[HookPoint::MessageDropped]);
    s.dispatch = Dispatch::Inline;
    hooks
        .register(
            s,
            handler_fn(move |e| {
                if let Event::MessageDropped { message, reason } = e {
                    log.lock().push((message.topic.to_string(), reason.name()));
                }
                Verdict::Ignore
            }),
        )
        .unwrap();
    let b = broker(hooks);
    let (mut sub, _) = TestClient::connect(&b, connect(Protocol::V5, "sub")).await;
    sub.subscribe("out/#", QoS::ExactlyOnce).await;
    let (mut p, _) = TestClient::connect(&b, connect(Protocol::V5, "pub")).await;
    p.send(publish("in/drop", QoS::AtLeastOnce, 1, b"x")).await;
    assert!(matches!(p.recv().await, Some(Packet::PubAck(_))));
    p.send(publish("in/rewrite", QoS::AtLeastOnce, 2, b"orig"))
        .await;
    assert!(matches!(p.recv().await, Some(Packet::PubAck(_))));
    match sub.recv().await {
        Some(Packet::Publish(m)) => {
            assert_eq!(
                (&*m.topic, &m.payload[..], m.qos),
                ("out/rewritten", &b"changed"[..], QoS::AtMostOnce)
            );
        }
        other => panic!("{other:?}"),
    }
    p.send(publish("nobody/listens", QoS::AtLeastOnce, 3, b"x"))
        .await;
    match p.recv().await {
        Some(Packet::PubAck(a)) => assert_eq!(a.reason, ReasonCode::NO_MATCHING_SUBSCRIBERS),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        *dropped.lock(),
        [
            ("in/drop".to_string(), "dropped_by_hook"),
            ("nobody/listens".to_string(), "no_subscribers")
        ]
    );
}

fn hanging() -> Arc<dyn Handler> {
    async_handler_fn(|_| async {
        std::future::pending::<()>().await;
        Ok(Verdict::Ignore)
    })
}

#[tokio::test(start_paused = true)]
async fn a_hanging_handler_denies_or_is_ignored_after_its_timeout() {
    for (action, allowed) in [(FailedAction::Deny, false), (FailedAction::Ignore, true)] {
        let hooks = Arc::new(Hooks::new());
        let mut s = spec(
            "slow",
            &[HookPoint::ClientAuthenticate, HookPoint::ClientAuthorize],
        );
        s.timeout = Duration::from_secs(2);
        s.failed_action = action;
        hooks.register(s, hanging()).unwrap();
        let b = broker(hooks);
        let t0 = tokio::time::Instant::now();
        let (mut c, ack) = TestClient::connect(&b, connect(Protocol::V5, "c")).await;
        assert_eq!(t0.elapsed(), Duration::from_secs(2));
        if !allowed {
            assert_eq!(ack.reason, ReasonCode::NOT_AUTHORIZED);
            continue;
        }
        assert_eq!(ack.reason, ReasonCode::SUCCESS);
        c.send(publish("t", QoS::AtLeastOnce, 1, b"x")).await;
        match c.recv().await {
            Some(Packet::PubAck(a)) => assert_eq!(a.reason, ReasonCode::NO_MATCHING_SUBSCRIBERS),
            other => panic!("{other:?}"),
        }
        assert_eq!(t0.elapsed(), Duration::from_secs(4));
    }
}

#[tokio::test]
async fn a_stuck_notification_handler_never_blocks_publishers() {
    let hooks = Arc::new(Hooks::new());
    let mut s = spec("stuck", &[HookPoint::MessageDelivered]);
    s.dispatch = Dispatch::Queued {
        shards: 1,
        capacity: 8,
    };
    s.timeout = Duration::from_secs(3600);
    // It never returns from message.delivered.
    hooks.register(s, hanging()).unwrap();
    let b = broker(hooks.clone());
    let (mut sub, _) = TestClient::connect(&b, connect(Protocol::V5, "sub")).await;
    sub.subscribe("n/#", QoS::AtMostOnce).await;
    let (mut p, _) = TestClient::connect(&b, connect(Protocol::V5, "pub")).await;
    let n = 200u16;
    let flow = async {
        for i in 1..=n {
            p.send(publish("n/t", QoS::AtLeastOnce, i, b"m")).await;
            assert!(matches!(p.recv().await, Some(Packet::PubAck(_))));
            assert!(matches!(sub.recv().await, Some(Packet::Publish(_))));
        }
    };
    tokio::time::timeout(Duration::from_secs(30), flow)
        .await
        .expect("publishers were blocked");
    let stats = hooks.handlers()[0]
        .stats
        .iter()
        .find(|s| s.point == Some(HookPoint::MessageDelivered))
        .cloned()
        .unwrap();
    // One call stuck in the handler, eight waiting behind it for the same client, eight queued.
    assert!(
        stats.dropped > 0 && stats.dropped >= u64::from(n) - 17,
        "dropped {}",
        stats.dropped
    );
}
