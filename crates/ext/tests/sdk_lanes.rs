//! The Rust SDK runs different clients' handlers side by side and each client's in order, on
//! one stream (pool_size = 1), driven by the broker side of the protocol: a login whose handler
//! waits does not hold up another client's login, and observe-only events whose handlers finish
//! out of order still reach each client's handler in the order they were published.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use hookmq_codec::{QoS, TopicName};
use hookmq_ext::proto::v1 as pb;
use hookmq_ext::{
    Answer, Auth, Extension, OnClientAuthenticate, OnMessagePublish, Options, Publish,
};
use hookmq_ext_client::{ExtConfig, ExtManager};
use hookmq_hooks::{AuthResult, Hooks, Message};
use tokio::sync::{Notify, mpsc};

mod common;
use common::{client, info, start_server};

/// "slow" waits until another login released it (refused after 8 s, so a stream that handles
/// one event at a time fails the test instead of hanging it).
struct Gate {
    waiting: mpsc::UnboundedSender<()>,
    released: Notify,
}

impl OnClientAuthenticate for Gate {
    async fn on_client_authenticate(&self, e: pb::ClientAuthenticate) -> Answer<Auth> {
        if e.clientinfo.unwrap_or_default().clientid == "slow" {
            let _ = self.waiting.send(());
            let released = tokio::time::timeout(Duration::from_secs(8), self.released.notified());
            if released.await.is_err() {
                return Answer::Stop(Auth::Deny);
            }
        } else {
            self.released.notify_one();
        }
        Answer::Stop(Auth::Allow)
    }
}

/// Records (publisher, payload) after a wait that differs from message to message, so that
/// handlers run side by side would finish out of order.
struct Recorder(mpsc::UnboundedSender<(String, u32)>);

impl OnMessagePublish for Recorder {
    async fn on_message_publish(&self, e: pb::MessagePublish) -> Answer<Publish> {
        let m = e.message.unwrap_or_default();
        let k: u32 = std::str::from_utf8(&m.payload).unwrap().parse().unwrap();
        let client: u32 = m.from.trim_start_matches("pub").parse().unwrap();
        let micros = u64::from((k * 7 + client * 3) % 5) * 300;
        tokio::time::sleep(Duration::from_micros(micros)).await;
        let _ = self.0.send((m.from, k));
        Answer::Ignore
    }
}

async fn load(ext: Extension, hooks: &Arc<Hooks>) -> (Arc<ExtManager>, impl Drop) {
    let (addr, stop) = start_server(ext).await;
    let mut config = ExtConfig::new("lanes", format!("http://{addr}"));
    config.pool_size = 1;
    config.request_timeout = hookmq_exhook::ConfigDuration(Duration::from_secs(20));
    let manager = ExtManager::start(vec![config], hooks.clone(), info())
        .await
        .unwrap();
    assert_eq!(manager.get("lanes").unwrap().streams_up, 1);
    (manager, Stop(Some(stop)))
}

struct Stop(Option<tokio::sync::oneshot::Sender<()>>);

impl Drop for Stop {
    fn drop(&mut self) {
        if let Some(s) = self.0.take() {
            let _ = s.send(());
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_waiting_login_does_not_hold_up_another() {
    let (waiting, mut waits) = mpsc::unbounded_channel();
    let gate = Gate {
        waiting,
        released: Notify::new(),
    };
    let ext = Extension::new("lanes").on_client_authenticate(gate, Options::new());
    let hooks = Arc::new(Hooks::new());
    let (manager, _stop) = load(ext, &hooks).await;
    let anon = AuthResult::Deny(hookmq_codec::ReasonCode::NOT_AUTHORIZED);
    let slow = tokio::spawn({
        let hooks = hooks.clone();
        async move { hooks.authenticate(client("slow", "u", b"p"), anon).await }
    });
    tokio::time::timeout(Duration::from_secs(10), waits.recv())
        .await
        .expect("slow's handler runs")
        .unwrap();
    // The same stream, while slow's handler waits: answered at once.
    let fast = tokio::time::timeout(
        Duration::from_secs(5),
        hooks.authenticate(client("fast", "u", b"p"), anon),
    )
    .await
    .expect("fast is not held up by slow");
    assert_eq!(fast, AuthResult::Allow { superuser: false });
    // fast's handler released slow's.
    let slow = tokio::time::timeout(Duration::from_secs(10), slow)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(slow, AuthResult::Allow { superuser: false });
    manager.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_clients_events_stay_in_order() {
    let (seen_tx, mut seen) = mpsc::unbounded_channel();
    let ext =
        Extension::new("lanes").on_message_publish(Recorder(seen_tx), Options::new().observe());
    let hooks = Arc::new(Hooks::new());
    let (manager, _stop) = load(ext, &hooks).await;
    let (clients, n) = (4u32, 40u32);
    for k in 0..n {
        for c in 0..clients {
            let m = Message::new(
                format!("pub{c}").into(),
                TopicName::new("order/x").unwrap(),
                Bytes::from(k.to_string()),
                QoS::AtLeastOnce,
                false,
            );
            hooks.publish(Arc::new(m)).await;
        }
    }
    let mut got = vec![Vec::new(); clients as usize];
    for _ in 0..clients * n {
        let (from, k) = tokio::time::timeout(Duration::from_secs(10), seen.recv())
            .await
            .expect("every event arrives")
            .unwrap();
        let c: usize = from.trim_start_matches("pub").parse().unwrap();
        got[c].push(k);
    }
    for (c, ks) in got.iter().enumerate() {
        assert_eq!(*ks, (0..n).collect::<Vec<_>>(), "client pub{c}");
    }
    manager.stop().await;
}
