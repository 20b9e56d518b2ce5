//! What the tests against a real SDK server share: broker facts, a client, serving an
//! extension on a loopback port.

#![allow(dead_code, clippy::unwrap_used)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;
use hookmq_codec::Protocol;
use hookmq_exhook::BrokerInfo;
use hookmq_ext::Extension;
use hookmq_hooks::{ClientInfo, NodeName};

/// Broker facts for `Hello`.
pub(crate) fn info() -> BrokerInfo {
    BrokerInfo {
        node: "hookmq@test".into(),
        version: "0".into(),
        sysdescr: "test".into(),
        started_at: SystemTime::now(),
        cluster_name: "test".into(),
    }
}

/// A client logging in as `user`.
pub(crate) fn client(id: &str, user: &str, password: &[u8]) -> Arc<ClientInfo> {
    let peer: SocketAddr = "127.0.0.1:5000".parse().unwrap();
    Arc::new(ClientInfo {
        node: NodeName::default(),
        clientid: id.into(),
        username: Some(user.into()),
        password: Some(Bytes::copy_from_slice(password)),
        peer,
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

/// Serves `ext` on a free loopback port until the sender is dropped.
pub(crate) async fn start_server(ext: Extension) -> (SocketAddr, tokio::sync::oneshot::Sender<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(hookmq_ext::serve_with_shutdown(ext, listener, async {
        let _ = stopped.await;
    }));
    (addr, stop)
}
