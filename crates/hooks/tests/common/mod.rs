//! Helpers shared by the hook tests: clients, messages, specs and simple native handlers.

// Helpers outside #[test] functions unwrap too: a failure there is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use hookmq_codec::{Protocol, QoS, TopicName};
use hookmq_hooks::*;
use parking_lot::Mutex;

pub(crate) fn client(id: &str) -> Arc<ClientInfo> {
    Arc::new(ClientInfo {
        node: NodeName::default(),
        clientid: id.into(),
        username: Some("u".into()),
        password: None,
        peer: "127.0.0.1:5000".parse::<SocketAddr>().unwrap(),
        sockport: 1883,
        protocol: Protocol::V5,
        mountpoint: None,
        is_superuser: false,
        anonymous: true,
        cn: None,
        dn: None,
        grant: None,
    })
}

pub(crate) fn message(topic: &str) -> Arc<Message> {
    Arc::new(Message::new(
        "pub".into(),
        TopicName::new(topic).unwrap(),
        Bytes::from_static(b"hello"),
        QoS::AtLeastOnce,
        false,
    ))
}

pub(crate) fn spec(name: &str, points: &[HookPoint]) -> HandlerSpec {
    HandlerSpec::new(
        name,
        "native",
        points.iter().map(|p| PointSpec::all(*p)).collect(),
    )
}

/// A native handler answering `verdict` and recording that it was called.
pub(crate) fn answering(
    log: &Arc<Mutex<Vec<String>>>,
    name: &'static str,
    verdict: Verdict,
) -> Arc<dyn Handler> {
    let log = log.clone();
    handler_fn(move |_| {
        log.lock().push(name.to_owned());
        verdict.clone()
    })
}

/// A handler that never answers.
pub(crate) fn hanging() -> Arc<dyn Handler> {
    async_handler_fn(|_| async {
        std::future::pending::<()>().await;
        Ok(Verdict::Ignore)
    })
}
