//! `hookmq-ext`: write hookmq extensions in Rust. An extension is a gRPC server speaking
//! hookmq's extension protocol (`proto/hookmq/ext/v1`); the broker connects to it, opens one
//! bidirectional stream per pooled connection, and sends batches of hook events, which this
//! crate hands to your handlers (each client's events in order, different clients' side by
//! side) and answers in batches as the handlers finish.
//!
//! Implement a trait per hook point ([`OnClientAuthenticate`], [`OnMessagePublish`], ...; every
//! method has a default that has no opinion), register each with [`Extension`], and [`serve`]:
//!
//! ```no_run
//! use hookmq_ext::{Answer, Auth, Extension, OnClientAuthenticate, Options, proto::v1 as pb};
//!
//! struct Users;
//!
//! impl OnClientAuthenticate for Users {
//!     async fn on_client_authenticate(&self, e: pb::ClientAuthenticate) -> Answer<Auth> {
//!         let c = e.clientinfo.unwrap_or_default();
//!         let ok = c.username.as_deref() == Some("alice") && c.password.as_deref() == Some(b"pw".as_slice());
//!         Answer::Stop(if ok { Auth::Allow } else { Auth::BadCredentials })
//!     }
//! }
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:9200").await?;
//! let ext = Extension::new("users").on_client_authenticate(Users, Options::new());
//! hookmq_ext::serve(ext, listener).await?;
//! # Ok(()) }
//! ```
//!
//! The broker's side is configured with `[[ext.servers]]` in `hookmq.toml`; the protocol and
//! its guarantees are in `docs/extension-protocol.md`.

mod answer;
mod broker;
mod extension;
mod hooks;
mod lanes;
pub mod proto;
mod service;

pub use answer::{Answer, Auth, EnhancedAuth, Publish};
pub use broker::{Broker, BrokerError};
pub use extension::{DEFAULT_CONCURRENCY, Extension, Options, PROTOCOL_VERSION};
pub use hooks::{
    OnClientAuthenticate, OnClientAuthorize, OnClientConnack, OnClientConnect, OnClientConnected,
    OnClientDisconnected, OnClientEnhancedAuthenticate, OnClientSubscribe, OnClientUnsubscribe,
    OnMessageAcked, OnMessageDelivered, OnMessageDropped, OnMessagePublish, OnSessionCreated,
    OnSessionDiscarded, OnSessionResumed, OnSessionSubscribed, OnSessionTakenover,
    OnSessionTerminated, OnSessionUnsubscribed,
};
pub use service::{ServeError, serve, serve_with_shutdown, service};
