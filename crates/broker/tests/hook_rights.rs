//! Modify rights of native handlers, observed on the wire by in-memory clients:
//! `message.publish` changes properties and the retain flag or consumes the message;
//! `client.subscribe` rewrites or refuses filters; an answer the packet cannot carry applies the
//! handler's failure policy and never reaches a client.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use common::{TestClient, broker, connect};
use hookmq_codec::{
    Packet, PacketId, Properties, Property, Protocol, Publish, QoS, ReasonCode, Subscribe,
    SubscriptionOptions, TopicFilter,
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

fn publish(topic: &str, id: u16, properties: Properties) -> Packet {
    Packet::Publish(Publish {
        dup: false,
        qos: QoS::AtLeastOnce,
        retain: false,
        topic: topic.into(),
        packet_id: PacketId::new(id),
        payload: Bytes::from_static(b"x"),
        properties,
    })
}

/// `props/...`: replaces the properties and sets retain; `consume/...`: consumes;
/// `bad/...`: answers a Topic Alias, which no message may carry.
fn publisher_rights() -> Arc<dyn Handler> {
    handler_fn(|e| {
        let Event::MessagePublish { message } = e else {
            return Verdict::Ignore;
        };
        let topic = message.topic.as_str();
        if topic.starts_with("props/") {
            let mut m = (**message).clone();
            m.retain = true;
            m.properties = Properties(vec![
                Property::PayloadFormatIndicator(1),
                Property::MessageExpiryInterval(600),
                Property::ContentType("text/plain".into()),
                Property::ResponseTopic("reply/1".into()),
                Property::CorrelationData(Bytes::from_static(b"corr")),
                Property::UserProperty("k".into(), "v".into()),
            ]);
            Verdict::Continue(Value::Message(Arc::new(m)))
        } else if topic.starts_with("consume/") {
            Verdict::Stop(Value::Consume)
        } else if topic.starts_with("bad/") {
            let mut m = (**message).clone();
            m.properties.push(Property::TopicAlias(7));
            Verdict::Stop(Value::Message(Arc::new(m)))
        } else {
            Verdict::Ignore
        }
    })
}

#[tokio::test]
async fn publish_properties_and_retain_are_rewritten_and_consumed_messages_are_acked_not_routed() {
    let dropped = Arc::new(Mutex::new(Vec::new()));
    let log = dropped.clone();
    let hooks = Arc::new(Hooks::new());
    hooks
        .register(
            spec("rights", &[HookPoint::MessagePublish]),
            publisher_rights(),
        )
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
    sub.subscribe("#", QoS::AtLeastOnce).await;
    let (mut p, _) = TestClient::connect(&b, connect(Protocol::V5, "pub")).await;

    let mut given = Properties::default();
    given.push(Property::UserProperty("from".into(), "client".into()));
    p.send(publish("props/1", 1, given)).await;
    assert!(matches!(p.recv().await, Some(Packet::PubAck(a)) if a.reason == ReasonCode::SUCCESS));
    let Some(Packet::Publish(m)) = sub.recv().await else {
        panic!("no delivery")
    };
    assert_eq!(m.topic.as_ref() as &str, "props/1");
    assert_eq!(m.properties.content_type().as_deref(), Some("text/plain"));
    assert_eq!(m.properties.response_topic().as_deref(), Some("reply/1"));
    assert_eq!(
        m.properties.correlation_data().as_deref(),
        Some(&b"corr"[..])
    );
    assert_eq!(m.properties.payload_format_indicator(), Some(1));
    assert!(matches!(
        m.properties.message_expiry_interval(),
        Some(1..=600)
    ));
    let users: Vec<_> = m
        .properties
        .user_properties()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    assert_eq!(users, [("k".to_string(), "v".to_string())]);
    // The handler made it retained: a new subscriber gets it with the retain flag.
    sub.puback(m.packet_id.unwrap()).await;
    let (mut late, _) = TestClient::connect(&b, connect(Protocol::V5, "late")).await;
    late.subscribe("props/#", QoS::AtLeastOnce).await;
    match late.recv().await {
        Some(Packet::Publish(r)) => assert!(r.retain && &r.payload[..] == b"x"),
        other => panic!("{other:?}"),
    }

    // Consumed: acknowledged with success although nobody receives it, and no drop reported.
    p.send(publish("consume/1", 2, Properties::default())).await;
    assert!(matches!(p.recv().await, Some(Packet::PubAck(a)) if a.reason == ReasonCode::SUCCESS));
    // Bad answer, failure policy "ignore": the original message is routed.
    p.send(publish("bad/1", 3, Properties::default())).await;
    assert!(matches!(p.recv().await, Some(Packet::PubAck(_))));
    match sub.recv().await {
        Some(Packet::Publish(m)) => {
            assert_eq!(m.topic.as_ref() as &str, "bad/1");
            assert!(m.properties.topic_alias().is_none());
        }
        other => panic!("{other:?}"),
    }
    assert!(dropped.lock().is_empty(), "{:?}", dropped.lock());
}

#[tokio::test]
async fn a_bad_publish_answer_under_deny_drops_the_message() {
    let hooks = Arc::new(Hooks::new());
    let mut s = spec("rights", &[HookPoint::MessagePublish]);
    s.failed_action = FailedAction::Deny;
    hooks.register(s, publisher_rights()).unwrap();
    let b = broker(hooks);
    let (mut sub, _) = TestClient::connect(&b, connect(Protocol::V5, "sub")).await;
    sub.subscribe("#", QoS::AtLeastOnce).await;
    let (mut p, _) = TestClient::connect(&b, connect(Protocol::V5, "pub")).await;
    p.send(publish("bad/1", 1, Properties::default())).await;
    assert!(matches!(p.recv().await, Some(Packet::PubAck(_))));
    p.send(publish("plain/1", 2, Properties::default())).await;
    assert!(matches!(p.recv().await, Some(Packet::PubAck(_))));
    // Only the second message arrives: the first was dropped.
    match sub.recv().await {
        Some(Packet::Publish(m)) => assert_eq!(m.topic.as_ref() as &str, "plain/1"),
        other => panic!("{other:?}"),
    }
}

/// Rewrites `old/#` to `new/#` at QoS 2 with No Local, refuses `quota/...` with 0x97,
/// `secret/...` with 0x88 (not a SUBACK code: a bad answer), keeps the rest.
fn subscribe_rights() -> Arc<dyn Handler> {
    handler_fn(|e| {
        let Event::ClientSubscribe { filters, .. } = e else {
            return Verdict::Ignore;
        };
        let answer = filters
            .iter()
            .map(|(f, o)| {
                let r = FilterRequest::new(f.clone(), *o);
                match f.as_str() {
                    "old/#" => FilterRequest::new(
                        TopicFilter::new("new/#").unwrap(),
                        SubscriptionOptions {
                            qos: QoS::ExactlyOnce,
                            no_local: true,
                            ..*o
                        },
                    ),
                    t if t.starts_with("quota/") => r.refuse(ReasonCode::QUOTA_EXCEEDED),
                    t if t.starts_with("secret/") => r.refuse(ReasonCode::SERVER_UNAVAILABLE),
                    _ => r,
                }
            })
            .collect();
        Verdict::Continue(Value::Filters(answer))
    })
}

fn subscribe(filters: &[&str]) -> Packet {
    let opts = SubscriptionOptions {
        qos: QoS::AtLeastOnce,
        ..Default::default()
    };
    Packet::Subscribe(Subscribe {
        packet_id: PacketId::new(5).unwrap(),
        filters: filters
            .iter()
            .map(|f| (TopicFilter::new(*f).unwrap(), opts))
            .collect(),
        properties: Properties::default(),
    })
}

#[tokio::test]
async fn subscriptions_are_rewritten_or_refused_per_filter_with_suback_codes() {
    let hooks = Arc::new(Hooks::new());
    hooks
        .register(
            spec("subs", &[HookPoint::ClientSubscribe]),
            subscribe_rights(),
        )
        .unwrap();
    let b = broker(hooks);
    for (protocol, id, quota) in [
        (Protocol::V5, "s5", ReasonCode::QUOTA_EXCEEDED),
        (Protocol::V3_1_1, "s3", ReasonCode(0x80)),
    ] {
        let (mut c, _) = TestClient::connect(&b, connect(protocol, id)).await;
        c.send(subscribe(&["old/#", "quota/a", "keep/a"])).await;
        match c.recv().await {
            Some(Packet::SubAck(a)) => assert_eq!(
                a.reasons,
                [ReasonCode::GRANTED_QOS_2, quota, ReasonCode::GRANTED_QOS_1]
            ),
            other => panic!("{other:?}"),
        }
        let (mut p, _) = TestClient::connect(&b, connect(Protocol::V5, "p")).await;
        p.send(publish("new/1", 1, Properties::default())).await;
        assert!(matches!(p.recv().await, Some(Packet::PubAck(_))));
        match c.recv().await {
            Some(Packet::Publish(m)) => assert_eq!(m.topic.as_ref() as &str, "new/1"),
            other => panic!("{other:?}"),
        }
        // Nothing was subscribed under the refused filter.
        p.send(publish("quota/a", 2, Properties::default())).await;
        assert!(
            matches!(p.recv().await, Some(Packet::PubAck(a)) if a.reason == ReasonCode::NO_MATCHING_SUBSCRIBERS || protocol == Protocol::V3_1_1)
        );
        assert!(c.recv_within(Duration::from_millis(50)).await.is_none());
    }
    // A refusal code SUBACK cannot carry is a bad answer: under "ignore" the SUBSCRIBE goes
    // through as the client sent it.
    let (mut c, _) = TestClient::connect(&b, connect(Protocol::V5, "s")).await;
    c.send(subscribe(&["secret/a", "old/#"])).await;
    match c.recv().await {
        Some(Packet::SubAck(a)) => assert_eq!(
            a.reasons,
            [ReasonCode::GRANTED_QOS_1, ReasonCode::GRANTED_QOS_1]
        ),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_failed_subscribe_handler_under_deny_refuses_every_filter() {
    let hooks = Arc::new(Hooks::new());
    let mut s = spec("subs", &[HookPoint::ClientSubscribe]);
    s.failed_action = FailedAction::Deny;
    hooks
        .register(
            s,
            async_handler_fn(|_| async { Err(HookError::Failed("down".into())) }),
        )
        .unwrap();
    let b = broker(hooks);
    let (mut c, _) = TestClient::connect(&b, connect(Protocol::V5, "s")).await;
    c.send(subscribe(&["a/b", "c/d"])).await;
    match c.recv().await {
        Some(Packet::SubAck(a)) => assert_eq!(
            a.reasons,
            [ReasonCode::NOT_AUTHORIZED, ReasonCode::NOT_AUTHORIZED]
        ),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn authentication_refuses_with_any_connack_code_and_a_code_connack_cannot_carry_is_bad() {
    let hooks = Arc::new(Hooks::new());
    hooks
        .register(
            spec("auth", &[HookPoint::ClientAuthenticate]),
            handler_fn(|e| match e {
                Event::ClientAuthenticate { clientinfo, .. } => {
                    match clientinfo.username.as_deref() {
                        Some("banned") => {
                            Verdict::Stop(Value::Auth(AuthResult::Deny(ReasonCode::BANNED)))
                        }
                        Some("busy") => {
                            Verdict::Stop(Value::Auth(AuthResult::Deny(ReasonCode::SERVER_BUSY)))
                        }
                        // 0x8F is a SUBACK/DISCONNECT code, not a CONNACK one.
                        Some("bad") => Verdict::Stop(Value::Auth(AuthResult::Deny(
                            ReasonCode::TOPIC_FILTER_INVALID,
                        ))),
                        _ => Verdict::Ignore,
                    }
                }
                _ => Verdict::Ignore,
            }),
        )
        .unwrap();
    let b = broker(hooks);
    for (protocol, user, want) in [
        (Protocol::V5, "banned", ReasonCode::BANNED),
        (Protocol::V5, "busy", ReasonCode::SERVER_BUSY),
        // 3.x return codes: banned maps to 5, busy to 3 (server unavailable).
        (Protocol::V3_1_1, "banned", ReasonCode::NOT_AUTHORIZED),
        (Protocol::V3_1_1, "busy", ReasonCode::SERVER_UNAVAILABLE),
        // Bad answer under "ignore": allow_anonymous (true) lets the client in.
        (Protocol::V5, "bad", ReasonCode::SUCCESS),
    ] {
        let mut c = connect(protocol, user);
        c.username = Some(user.into());
        let (_c, ack) = TestClient::connect(&b, c).await;
        assert_eq!(ack.reason, want, "{protocol:?} {user}");
    }
}

#[tokio::test]
async fn a_mandatory_authenticator_that_is_down_refuses_with_0x88_and_recovers() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let down = Arc::new(AtomicBool::new(true));
    let flag = down.clone();
    let hooks = Arc::new(Hooks::new());
    let mut s = spec("auth", &[HookPoint::ClientAuthenticate]);
    s.mandatory = true;
    hooks
        .register(
            s,
            async_handler_fn(move |_| {
                let down = flag.load(Ordering::SeqCst);
                async move {
                    if down {
                        Err(HookError::Unavailable("worker down".into()))
                    } else {
                        Ok(Verdict::Ignore)
                    }
                }
            }),
        )
        .unwrap();
    // allow_anonymous is true: without `mandatory`, "ignore" would let these clients in.
    let b = broker(hooks);
    for (protocol, id) in [(Protocol::V5, "m5"), (Protocol::V3_1_1, "m3")] {
        let (_c, ack) = TestClient::connect(&b, connect(protocol, id)).await;
        // MQTT 3.x: return code 3, which the codec reads back as 0x88.
        assert_eq!(ack.reason, ReasonCode::SERVER_UNAVAILABLE, "{protocol:?}");
    }
    down.store(false, Ordering::SeqCst);
    let (_c, ack) = TestClient::connect(&b, connect(Protocol::V5, "m5")).await;
    assert_eq!(ack.reason, ReasonCode::SUCCESS);
}
