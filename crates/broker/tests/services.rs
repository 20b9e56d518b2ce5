//! Broker services called from native Rust handlers, through the real broker with in-memory
//! clients: publish (direct, through hooks, bounded by the hop limit), kick with a reason,
//! subscribe and unsubscribe on behalf of a client, queries, retained messages, authorization
//! cache invalidation, and bad input answered with typed errors. Services called from inside a
//! hook for the same client must not deadlock: every wait here is bounded.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use bytes::Bytes;
use common::{TestClient, broker, connect};
use hookmq_codec::{
    Packet, PacketId, Properties, Protocol, Publish, QoS, ReasonCode, SubscriptionOptions,
};
use hookmq_hooks::*;

const WAIT: Duration = Duration::from_secs(5);

fn spec(name: &str, point: HookPoint) -> HandlerSpec {
    HandlerSpec::new(name, "native", vec![PointSpec::all(point)])
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

/// The services a handler reaches through its registry (held weakly: the registry holds the
/// handler).
fn services_of(hooks: &Weak<Hooks>) -> Arc<dyn BrokerServices> {
    hooks.upgrade().unwrap().services().unwrap().clone()
}

async fn expect_publish(c: &mut TestClient, topic: &str) -> Publish {
    match c.recv_within(WAIT).await {
        Some(Packet::Publish(p)) if &*p.topic == topic => p,
        other => panic!("expected a PUBLISH to {topic}, got {other:?}"),
    }
}

#[tokio::test]
async fn publish_routes_directly_and_bad_input_gets_typed_errors() {
    let hooks = Arc::new(Hooks::new());
    let b = broker(hooks.clone());
    let services = b.services();
    let (mut sub, _) = TestClient::connect(&b, connect(Protocol::V5, "sub")).await;
    sub.subscribe("news/#", QoS::AtLeastOnce).await;

    let mut req = PublishRequest::new("news/1", &b"hello"[..]);
    req.qos = QoS::AtLeastOnce;
    let receipt = services.publish(req).await.unwrap();
    assert_eq!(receipt.receivers, Some(1));
    let p = expect_publish(&mut sub, "news/1").await;
    assert_eq!(&p.payload[..], b"hello");

    let err = |r: Result<PublishReceipt, ServiceError>| r.unwrap_err().code();
    assert_eq!(
        err(services.publish(PublishRequest::new("a/+", &b""[..])).await),
        "invalid_topic"
    );
    assert_eq!(
        err(services.publish(PublishRequest::new("", &b""[..])).await),
        "invalid_topic"
    );
    assert_eq!(
        err(services
            .publish(PublishRequest::new("$SYS/x", &b""[..]))
            .await),
        "not_allowed"
    );
    let big = Bytes::from(vec![0u8; 2 * 1024 * 1024]);
    assert_eq!(
        err(services.publish(PublishRequest::new("news/big", big)).await),
        "payload_too_large"
    );
    // The broker keeps serving, and nothing invalid reached the subscriber.
    assert!(sub.recv_within(Duration::from_millis(100)).await.is_none());
    services
        .publish(PublishRequest::new("news/2", &b"after"[..]))
        .await
        .unwrap();
    expect_publish(&mut sub, "news/2").await;
}

#[tokio::test]
async fn a_hook_that_republishes_what_it_sees_stops_at_the_hop_limit() {
    let hooks = Arc::new(Hooks::new());
    let weak = Arc::downgrade(&hooks);
    let seen = Arc::new(AtomicUsize::new(0));
    let refused = Arc::new(AtomicUsize::new(0));
    let (s, r) = (seen.clone(), refused.clone());
    hooks
        .register(
            spec("echo", HookPoint::MessagePublish),
            async_handler_fn(move |e| {
                let (weak, s, r) = (weak.clone(), s.clone(), r.clone());
                async move {
                    if let Event::MessagePublish { message } = &*e {
                        s.fetch_add(1, Ordering::SeqCst);
                        let mut req =
                            PublishRequest::new(message.topic.as_str(), message.payload.clone());
                        req.through_hooks = true;
                        req.parent_hops = message.headers.hops;
                        if let Err(ServiceError::LoopLimit { .. }) =
                            services_of(&weak).publish(req).await
                        {
                            r.fetch_add(1, Ordering::SeqCst);
                        }
                    }
                    Ok(Verdict::Ignore)
                }
            }),
        )
        .unwrap();
    let b = broker(hooks);
    let (mut sub, _) = TestClient::connect(&b, connect(Protocol::V5, "sub")).await;
    sub.subscribe("loop", QoS::AtMostOnce).await;
    let (mut publ, _) = TestClient::connect(&b, connect(Protocol::V5, "pub")).await;
    publ.send(publish("loop", QoS::AtMostOnce, 0, b"x")).await;
    // The client's message and one republish per hop.
    for _ in 0..=MAX_HOPS {
        expect_publish(&mut sub, "loop").await;
    }
    tokio::time::timeout(WAIT, async {
        while refused.load(Ordering::SeqCst) == 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .unwrap();
    assert!(sub.recv_within(Duration::from_millis(200)).await.is_none());
    assert_eq!(seen.load(Ordering::SeqCst), usize::from(MAX_HOPS) + 1);
    assert_eq!(refused.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn kick_from_the_clients_own_publish_hook_closes_it_with_the_reason() {
    let hooks = Arc::new(Hooks::new());
    let weak = Arc::downgrade(&hooks);
    hooks
        .register(
            spec("kicker", HookPoint::MessagePublish),
            async_handler_fn(move |e| {
                let weak = weak.clone();
                async move {
                    if let Event::MessagePublish { message } = &*e
                        && message.topic.as_str() == "kick/me"
                    {
                        // Called while the publisher's own task waits for this hook.
                        services_of(&weak)
                            .kick(&message.from, ReasonCode::NOT_AUTHORIZED)
                            .unwrap();
                    }
                    Ok(Verdict::Ignore)
                }
            }),
        )
        .unwrap();
    let b = broker(hooks);
    let services = b.services();
    let (mut c, _) = TestClient::connect(&b, connect(Protocol::V5, "victim")).await;
    c.send(publish("kick/me", QoS::AtLeastOnce, 1, b"x")).await;
    loop {
        match c.recv_within(WAIT).await {
            Some(Packet::PubAck(_)) => continue,
            Some(Packet::Disconnect(d)) => {
                assert_eq!(d.reason, ReasonCode::NOT_AUTHORIZED);
                break;
            }
            other => panic!("expected DISCONNECT 0x87, got {other:?}"),
        }
    }
    assert!(c.recv_within(WAIT).await.is_none());

    assert_eq!(
        services.kick("nobody", ReasonCode::ADMINISTRATIVE_ACTION),
        Err(ServiceError::UnknownClient("nobody".into()))
    );
    // 0x04 is for clients only, 0x8C is not a DISCONNECT code.
    for code in [0x04, 0x8C, 0x91, 0x10] {
        assert_eq!(
            services
                .kick("victim", ReasonCode(code))
                .unwrap_err()
                .code(),
            "not_allowed"
        );
    }
}

#[tokio::test]
async fn subscribe_on_behalf_from_client_connected_delivers_and_shows_in_session() {
    let hooks = Arc::new(Hooks::new());
    let weak = Arc::downgrade(&hooks);
    let granted = Arc::new(parking_lot::Mutex::new(None));
    let g = granted.clone();
    hooks
        .register(
            spec("auto-subscribe", HookPoint::ClientConnected),
            async_handler_fn(move |e| {
                let (weak, g) = (weak.clone(), g.clone());
                async move {
                    if let Event::ClientConnected { clientinfo, .. } = &*e {
                        let options = SubscriptionOptions {
                            qos: QoS::AtLeastOnce,
                            ..Default::default()
                        };
                        let filter = format!("inbox/{}", clientinfo.clientid);
                        let r = services_of(&weak)
                            .subscribe(&clientinfo.clientid, &filter, options)
                            .await;
                        *g.lock() = Some(r);
                    }
                    Ok(Verdict::Ignore)
                }
            }),
        )
        .unwrap();
    let b = broker(hooks);
    let services = b.services();
    services
        .retained_set(
            "inbox/alice",
            Bytes::from_static(b"kept"),
            QoS::AtLeastOnce,
            Properties::default(),
        )
        .await
        .unwrap();
    let (mut alice, _) = TestClient::connect(&b, connect(Protocol::V5, "alice")).await;
    // The retained message follows the subscription made on alice's behalf.
    let p = expect_publish(&mut alice, "inbox/alice").await;
    assert!(p.retain);
    assert_eq!(*granted.lock(), Some(Ok(QoS::AtLeastOnce)));
    services
        .publish(PublishRequest::new("inbox/alice", &b"direct"[..]))
        .await
        .unwrap();
    let p = expect_publish(&mut alice, "inbox/alice").await;
    assert_eq!(&p.payload[..], b"direct");

    let session = services.session("alice").unwrap();
    assert!(session.connected);
    assert_eq!(session.subscriptions.len(), 1);
    assert_eq!(session.subscriptions[0].filter, "inbox/alice");
    assert_eq!(session.subscriptions[0].options.qos, QoS::AtLeastOnce);
    assert_eq!(session.queue_len, 0);
    let client = services.client("alice").unwrap();
    assert!(client.connected);
    assert_eq!(client.proto_ver, 5);
    let page = services.clients(&ClientFilter::default(), Page::default());
    assert_eq!(page.total, 1);
    assert_eq!(page.clients[0].clientid, "alice");

    assert!(services.unsubscribe("alice", "inbox/alice").await.unwrap());
    assert!(!services.unsubscribe("alice", "inbox/alice").await.unwrap());
    assert!(services.session("alice").unwrap().subscriptions.is_empty());
    let r = services
        .subscribe("alice", "a/#/b", SubscriptionOptions::default())
        .await;
    assert_eq!(r.unwrap_err().code(), "invalid_filter");
    let r = services
        .subscribe("nobody", "a", SubscriptionOptions::default())
        .await;
    assert_eq!(r.unwrap_err().code(), "unknown_client");
    assert_eq!(
        services.session("nobody").unwrap_err().code(),
        "unknown_client"
    );
}

#[tokio::test]
async fn retained_messages_set_read_and_deleted() {
    let hooks = Arc::new(Hooks::new());
    let b = broker(hooks);
    let services = b.services();
    services
        .retained_set(
            "state/1",
            Bytes::from_static(b"on"),
            QoS::AtMostOnce,
            Properties::default(),
        )
        .await
        .unwrap();
    assert_eq!(
        &services.retained_get("state/1").unwrap().unwrap().payload[..],
        b"on"
    );
    let (mut c, _) = TestClient::connect(&b, connect(Protocol::V5, "reader")).await;
    c.subscribe("state/#", QoS::AtMostOnce).await;
    let p = expect_publish(&mut c, "state/1").await;
    assert!(p.retain);
    assert!(services.retained_delete("state/1").unwrap());
    assert!(!services.retained_delete("state/1").unwrap());
    assert_eq!(services.retained_get("state/1").unwrap(), None);
    assert_eq!(
        services.retained_get("state/+").unwrap_err().code(),
        "invalid_topic"
    );
    let r = services
        .retained_set(
            "$SYS/x",
            Bytes::from_static(b"x"),
            QoS::AtMostOnce,
            Properties::default(),
        )
        .await;
    assert_eq!(r.unwrap_err().code(), "not_allowed");
    let (mut late, _) = TestClient::connect(&b, connect(Protocol::V5, "late")).await;
    late.subscribe("state/#", QoS::AtMostOnce).await;
    assert!(late.recv_within(Duration::from_millis(100)).await.is_none());
    let metrics = services.metrics();
    assert!(metrics.iter().any(|(k, v)| k == "connections" && *v == 2));
}

#[tokio::test]
async fn authz_cache_invalidation_from_the_clients_own_authorize_hook_reauthorizes() {
    let hooks = Arc::new(Hooks::new());
    let weak = Arc::downgrade(&hooks);
    let calls = Arc::new(AtomicUsize::new(0));
    let n = calls.clone();
    hooks
        .register(
            spec("acl", HookPoint::ClientAuthorize),
            async_handler_fn(move |e| {
                let (weak, n) = (weak.clone(), n.clone());
                async move {
                    if let Event::ClientAuthorize {
                        clientinfo, topic, ..
                    } = &*e
                    {
                        n.fetch_add(1, Ordering::SeqCst);
                        if topic == "reset" {
                            // Invalidate this very client's cache from inside its own check.
                            let target = AuthzTarget::Client(clientinfo.clientid.to_string());
                            services_of(&weak)
                                .authz_cache_invalidate(target)
                                .await
                                .unwrap();
                        }
                    }
                    Ok(Verdict::Stop(Value::Allow(true)))
                }
            }),
        )
        .unwrap();
    let b = broker(hooks);
    let services = b.services();
    let (mut c, _) = TestClient::connect(&b, connect(Protocol::V5, "c")).await;
    for id in 1..=3 {
        c.send(publish("t", QoS::AtLeastOnce, id, b"x")).await;
        assert!(matches!(c.recv_within(WAIT).await, Some(Packet::PubAck(_))));
    }
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "cached after the first check"
    );
    assert_eq!(
        services
            .authz_cache_invalidate(AuthzTarget::Client("c".into()))
            .await
            .unwrap(),
        1
    );
    c.send(publish("t", QoS::AtLeastOnce, 4, b"x")).await;
    assert!(matches!(c.recv_within(WAIT).await, Some(Packet::PubAck(_))));
    assert_eq!(
        calls.load(Ordering::SeqCst),
        2,
        "asked again after invalidation"
    );

    // From inside the client's own hook: no deadlock, and the next publish is asked again.
    c.send(publish("reset", QoS::AtLeastOnce, 5, b"x")).await;
    assert!(matches!(c.recv_within(WAIT).await, Some(Packet::PubAck(_))));
    c.send(publish("t", QoS::AtLeastOnce, 6, b"x")).await;
    assert!(matches!(c.recv_within(WAIT).await, Some(Packet::PubAck(_))));
    assert_eq!(calls.load(Ordering::SeqCst), 4);
    assert_eq!(
        services
            .authz_cache_invalidate(AuthzTarget::All)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        services
            .authz_cache_invalidate(AuthzTarget::Client("nobody".into()))
            .await
            .unwrap_err()
            .code(),
        "unknown_client"
    );
}

#[tokio::test]
async fn without_a_broker_services_are_unavailable() {
    let hooks = Hooks::new();
    let r = hooks.call_service(ServiceCall::Metrics).await;
    assert_eq!(r, Err(ServiceError::Unavailable));
}
