//! What the manager reports about its extension servers: [`ExtStatus`] per server (health,
//! streams up, registered points with their topic filters, observe-only flags and counters,
//! stream counters) for the management API and `hookmq ctl ext`.

use hookmq_exhook::{FailedActionConfig, HookMetrics, Status};
use serde::Serialize;

use crate::config::ObservePolicy;
use crate::counters::StreamStats;

/// One server as the management API lists it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExtStatus {
    /// Name.
    pub name: String,
    /// URL.
    pub url: String,
    /// Whether it is enabled.
    pub enable: bool,
    /// Health: `connected` (every stream up), `connecting` (loading, or a stream reconnecting),
    /// `disconnected` (not loaded; retried per `auto_reconnect`), `disabled`.
    pub status: Status,
    /// Streams configured and streams up.
    pub pool_size: usize,
    /// Streams open now.
    pub streams_up: usize,
    /// Whether its handler is registered with the broker.
    pub registered: bool,
    /// The points it registered in its last successful load.
    pub hooks: Vec<ExtHookStatus>,
    /// Why the last load failed, until a load succeeds.
    pub last_error: Option<String>,
    /// Its failure policy.
    pub failed_action: FailedActionConfig,
    /// What a full queue does to events nobody waits for.
    pub observe_policy: ObservePolicy,
    /// Stream counters (batches, refused replies, drops, losses).
    pub stats: StreamStats,
}

/// One registered point.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExtHookStatus {
    /// Point name, e.g. `client.authenticate`.
    pub name: String,
    /// Topic filters of a message point; empty means every topic.
    pub topics: Vec<String>,
    /// Observe only.
    pub observe: bool,
    /// Counters since the handler was registered.
    pub metrics: HookMetrics,
}
