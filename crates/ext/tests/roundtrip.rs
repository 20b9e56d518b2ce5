//! The broker side against a real extension server built with the Rust SDK, over loopback:
//! load (Hello / Register), valued answers through the hook chain, observe-only and
//! notification events that nobody waits for, reload with a new registration, unload.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use hookmq_codec::{Protocol, QoS, TopicName};
use hookmq_exhook::{FailedActionConfig, Status};
use hookmq_ext::proto::v1 as pb;
use hookmq_ext::{
    Answer, Auth, Extension, OnClientAuthenticate, OnClientConnected, OnMessagePublish, Options,
    Publish,
};
use hookmq_ext_client::{ExtConfig, ExtManager};
use hookmq_hooks::{AuthResult, ConnInfo, Event, Hooks, Message, NodeName, PublishOutcome};
use tokio::sync::mpsc;

mod common;
use common::{client, info, start_server};

struct Users;

impl OnClientAuthenticate for Users {
    async fn on_client_authenticate(&self, e: pb::ClientAuthenticate) -> Answer<Auth> {
        let c = e.clientinfo.unwrap_or_default();
        match (c.username.as_deref(), c.password.as_deref()) {
            (Some("alice"), Some(b"pw")) => Answer::Stop(Auth::Allow),
            (Some("root"), Some(b"pw")) => Answer::Stop(Auth::Superuser),
            (Some("alice"), _) => Answer::Stop(Auth::BadCredentials),
            (Some("crash"), _) => Answer::Fail("database down".into()),
            _ => Answer::Ignore,
        }
    }
}

struct Rewrite;

impl OnMessagePublish for Rewrite {
    async fn on_message_publish(&self, e: pb::MessagePublish) -> Answer<Publish> {
        let m = e.message.unwrap_or_default();
        if m.topic.starts_with("drop/") {
            Answer::Stop(Publish::drop())
        } else {
            let mut payload = m.payload.to_vec();
            payload.extend_from_slice(b"+ext");
            Answer::Continue(
                Publish::unchanged()
                    .topic(format!("ext/{}", m.topic))
                    .payload(payload),
            )
        }
    }
}

struct Seen(mpsc::UnboundedSender<String>);

impl OnClientConnected for Seen {
    async fn on_client_connected(&self, e: pb::ClientConnected) {
        let _ = self.0.send(e.clientinfo.unwrap_or_default().clientid);
    }
}

fn conn(id: &str) -> Arc<ConnInfo> {
    Arc::new(ConnInfo {
        node: NodeName::default(),
        clientid: id.into(),
        username: None,
        peer: "127.0.0.1:5000".parse().unwrap(),
        sockport: 1883,
        protocol: Protocol::V5,
        keepalive: 60,
        clean_start: true,
        expiry_interval: 0,
        connected_at_ms: 0,
    })
}

fn message(topic: &str) -> Arc<Message> {
    Arc::new(Message::new(
        "pub".into(),
        TopicName::new(topic).unwrap(),
        Bytes::from_static(b"m"),
        QoS::AtLeastOnce,
        false,
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_travel_both_ways_through_the_chain() {
    let (seen_tx, mut seen) = mpsc::unbounded_channel();
    let ext = Extension::new("roundtrip")
        .on_client_authenticate(Users, Options::new())
        .on_message_publish(Rewrite, Options::new().topics(["t/#", "drop/#"]))
        .on_client_connected(Seen(seen_tx), Options::new());
    let (addr, _stop) = start_server(ext).await;
    let hooks = Arc::new(Hooks::new());
    let mut config = ExtConfig::new("rt", format!("http://{addr}"));
    config.failed_action = FailedActionConfig::Ignore;
    let manager = ExtManager::start(vec![config], hooks.clone(), info())
        .await
        .unwrap();
    let status = manager.get("rt").unwrap();
    assert_eq!(status.status, Status::Connected, "{status:?}");
    assert_eq!(status.streams_up, 2);
    assert_eq!(
        hooks.handler_names(hookmq_hooks::HookPoint::ClientAuthenticate),
        ["ext:rt"]
    );

    let anon = AuthResult::Allow { superuser: false };
    let auth = |u: &str, p: &[u8]| hooks.authenticate(client(&format!("c-{u}"), u, p), anon);
    assert_eq!(
        auth("alice", b"pw").await,
        AuthResult::Allow { superuser: false }
    );
    assert_eq!(
        auth("root", b"pw").await,
        AuthResult::Allow { superuser: true }
    );
    assert_eq!(
        auth("alice", b"no").await,
        AuthResult::Deny(hookmq_codec::ReasonCode::BAD_USER_NAME_OR_PASSWORD)
    );
    // FAIL with failed_action = ignore: the broker decides alone.
    assert_eq!(auth("crash", b"").await, anon);
    assert_eq!(auth("nobody", b"").await, anon);

    match hooks.publish(message("t/1")).await {
        PublishOutcome::Publish(m) => {
            assert_eq!(m.topic.as_str(), "ext/t/1");
            assert_eq!(&m.payload[..], b"m+ext");
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        hooks.publish(message("drop/x")).await,
        PublishOutcome::Drop { .. }
    ));
    // Not one of its filters: not sent at all.
    let other = message("other");
    assert_eq!(
        hooks.publish(other.clone()).await,
        PublishOutcome::Publish(other)
    );

    // A notification: the broker does not wait; it arrives all the same, in order.
    for i in 0..50 {
        hooks
            .notify(Event::ClientConnected {
                clientinfo: client(&format!("n{i}"), "u", b""),
                conninfo: conn(&format!("n{i}")),
            })
            .await;
    }
    for _ in 0..50 {
        tokio::time::timeout(Duration::from_secs(5), seen.recv())
            .await
            .unwrap()
            .unwrap();
    }
    let stats = manager.get("rt").unwrap().stats;
    // 5 logins, 2 publishes (the third matched no filter), 50 notifications.
    assert_eq!((stats.events, stats.replies), (57, 7), "{stats:?}");
    assert_eq!(stats.refused, 0);

    manager.disable("rt").await.unwrap();
    assert!(
        hooks
            .handler_names(hookmq_hooks::HookPoint::ClientAuthenticate)
            .is_empty()
    );
    assert_eq!(manager.get("rt").unwrap().status, Status::Disabled);
}
