//! gRPC exhook: EMQX `HookProvider` servers (proto `emqx.exhook.v1`, `v2`, `v3`) registered as
//! hookmq hook handlers. hookmq is the gRPC client; user code is the server.
//!
//! The binary starts an [`ExhookManager`] from `[[exhook.servers]]` ([`ServerConfig`]) before the
//! broker accepts clients; the management API drives it at run time. Each loaded server is one
//! handler in the hook registry (`exhook:<name>`, driver `grpc`), registered for exactly the
//! hooks its `OnProviderLoaded` answer listed, so the registry's chain (continue / ignore / stop,
//! `failed_action`, deadlines, per-client ordered queues, metrics) applies to it like to any
//! other handler.
//!
//! Modules: `config` (the TOML keys), `duration`, `version` (v1/v2/v3 paths and names),
//! `request` (events to requests), `reply` (answers to verdicts), `pool` and `tls` (HTTP/2
//! connections), `client` (load / call / unload), `server` (one server's supervisor),
//! `fleet` (the list of servers and its run-time operations, shared with the stream protocol's
//! driver), `manager`, `status`. The user guide is `docs/exhook.md`.

mod client;
mod clock;
mod config;
mod duration;
mod fields;
pub mod fleet;
mod manager;
mod pool;
pub mod proto;
mod reply;
mod request;
mod server;
mod status;
mod tls;
mod version;

/// Entry points for the fuzz targets in `fuzz/` (and their corpus replay in `crates/fuzzcheck`)
/// only: not part of the API, hidden from the docs, free to change with the code they wrap.
#[doc(hidden)]
pub mod fuzzing {
    use hookmq_hooks::{Event, HookError, PointSpec, Verdict};

    use crate::ProtoVersion;
    use crate::proto::v3 as pb;

    /// A server's `ValuedResponse` to `event` as the verdict the hook chain folds.
    pub fn verdict(event: &Event, resp: pb::ValuedResponse) -> Result<Verdict, HookError> {
        crate::reply::verdict(event, resp)
    }

    /// A server's `OnProviderLoaded` answer as the hooks to register, or why the load fails.
    pub fn hook_specs(
        version: ProtoVersion,
        resp: pb::LoadedResponse,
    ) -> Result<Vec<PointSpec>, String> {
        crate::client::hook_specs(version, resp).map_err(|e| e.to_string())
    }
}

/// The HTTP/2 connections to a gRPC server (TCP or TLS, health tracked per connection) and
/// client affinity, shared with hookmq's own stream protocol driver (`hookmq-ext-client`).
pub mod transport {
    pub use crate::client::status_text;
    pub use crate::pool::{Pool, affinity};
}

#[cfg(test)]
mod test_events;
#[cfg(test)]
mod tests;

use std::time::SystemTime;

pub use config::{
    Endpoint, FailedActionConfig, NotifyMode, OverflowConfig, ProtoSetting, ServerConfig,
    SslConfig, Verify, breaker, breaker_cooldown, breaker_window, check_breaker, check_endpoint,
    check_url, server_name, server_url, valid_name, validate, validate_server,
};
pub use duration::{AutoReconnect, ConfigDuration, DurationError};
pub use hookmq_hooks::Position;
pub use manager::{ExhookManager, parse_position};
pub use status::{HookMetrics, HookStatus, ServerStats, ServerStatus, Status};
pub use version::ProtoVersion;

/// Facts about the broker sent in `OnProviderLoaded` and every `RequestMeta`.
#[derive(Debug, Clone)]
pub struct BrokerInfo {
    /// Node name.
    pub node: String,
    /// Broker version.
    pub version: String,
    /// Description.
    pub sysdescr: String,
    /// Start time.
    pub started_at: SystemTime,
    /// Cluster name.
    pub cluster_name: String,
}

/// Why a configuration or a management operation was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExhookError {
    /// A configuration value is unusable.
    #[error("invalid configuration key {key}: {message}")]
    Config {
        /// The key, e.g. `exhook.servers[0].url`.
        key: String,
        /// What is wrong.
        message: String,
    },
    /// No server has this name.
    #[error("no exhook server named {0:?}")]
    NotFound(String),
    /// A server with this name exists already.
    #[error("an exhook server named {0:?} already exists")]
    Duplicate(String),
    /// The operation needs an enabled server.
    #[error("exhook server {0:?} is disabled")]
    Disabled(String),
    /// A position is not `front`, `rear`, `before:<name>` or `after:<name>`.
    #[error("{0:?} is not a position (front, rear, before:<name>, after:<name>)")]
    Position(String),
}
