//! The broker side of hookmq's extension protocol (`proto/hookmq/ext/v1`): extension servers
//! reached over gRPC bidirectional streams, registered as hook handlers. hookmq is the gRPC
//! client; the extension (built with `sdk/python` or `sdk/rust`, or any gRPC server) answers.
//!
//! Why a crate of its own, named `hookmq-ext-client`: it is the client half of a protocol whose
//! server half is the SDK crate `hookmq-ext`; keeping both names on the protocol (`ext`) and the
//! side (`client`) says which one a user depends on. It shares the exhook client's transport
//! (HTTP/2 pool, TLS, client affinity) and configuration types rather than copying them.
//!
//! The binary starts an [`ExtManager`] from `[[ext.servers]]` ([`ExtConfig`]); the management
//! API drives it at run time. Each loaded server is one handler in the hook registry
//! (`ext:<name>`, driver `stream`), registered for the points of its `Register` answer, so the
//! registry's chain (continue / ignore / stop, `failed_action`, deadlines, metrics) applies to
//! it like to any other handler. Nothing here needs a broker: a [`Hooks`](hookmq_hooks::Hooks)
//! registry is enough.
//!
//! Modules: `config`, `registration` (the `Register` answer), `event` (events to protocol
//! messages), `reply` (replies to verdicts, with their checks), `stream` (one stream: handshake,
//! batching writer, settling reader), `handler` (the hook handler: affinity, waiting or not),
//! `server` (one server's supervisor: load, reconnect with backoff), `manager`, `status`,
//! `counters`. The protocol is documented in `docs/extension-protocol.md`.

mod command;
mod config;
mod counters;
mod event;
mod handler;
mod manager;
pub mod proto;
mod registration;
mod reply;
mod rights_reply;
mod server;
mod status;
mod stream;

pub use config::{ExtConfig, ObservePolicy, validate, validate_server};
pub use counters::StreamStats;
pub use manager::ExtManager;
pub use registration::{PROTOCOL_VERSION, RegisterError, Registration, registrations};
pub use reply::{ReplyError, Sorted};
pub use status::{ExtHookStatus, ExtStatus};
pub use stream::HandshakeError;

/// Entry points for the fuzz targets in `fuzz/` (and their corpus replay in `crates/fuzzcheck`)
/// only: not part of the API, hidden from the docs, free to change with the code they wrap.
#[doc(hidden)]
pub mod fuzzing {
    use hookmq_hooks::{Event, Verdict};

    use crate::proto::v1 as pb;
    use crate::reply::{ReplyError, Sorted};

    /// Sorts a reply batch as a stream does (`issued`: highest id sent; `limit`: max_batch).
    pub fn sort(batch: pb::ReplyBatch, issued: u64, limit: usize) -> Sorted {
        crate::reply::sort(batch, issued, limit)
    }

    /// The verdict a reply gives for `event`.
    pub fn verdict(event: &Event, reply: pb::Reply) -> Result<Verdict, ReplyError> {
        crate::reply::verdict(event, reply)
    }

    /// A command's service call, as the stream's reader decodes it.
    pub fn command(
        call: pb::command::Call,
    ) -> Result<hookmq_hooks::ServiceCall, hookmq_hooks::ServiceError> {
        crate::command::decode(call)
    }

    /// The protocol event for a hook event.
    pub fn encode(id: u64, event: &Event) -> pb::Event {
        crate::event::encode(id, false, event)
    }
}

/// Why a configuration or a management operation was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExtError {
    /// A configuration value is unusable.
    #[error("invalid configuration key {key}: {message}")]
    Config {
        /// The key, e.g. `ext.servers[0].url`.
        key: String,
        /// What is wrong.
        message: String,
    },
    /// No server has this name.
    #[error("no extension server named {0:?}")]
    NotFound(String),
    /// A server with this name exists already.
    #[error("an extension server named {0:?} already exists")]
    Duplicate(String),
    /// The operation needs an enabled server.
    #[error("extension server {0:?} is disabled")]
    Disabled(String),
}
