//! What the manager reports about its servers: [`ServerStatus`] per server (health, protocol
//! version, hooks with their topic filters and counters) for the management API and
//! `hookmq ctl exhook`.

use std::fmt;

use hookmq_hooks::PointStats;
use serde::Serialize;

use crate::config::{FailedActionConfig, NotifyMode, OverflowConfig};
use crate::version::ProtoVersion;

/// A server's health.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Loaded and every connection of its pool is up.
    Connected,
    /// A load handshake is running.
    Connecting,
    /// Not loaded (never was, or its connections were lost); retried per `auto_reconnect`.
    Disconnected,
    /// `enable = false` or disabled through the management API.
    Disabled,
}

impl Status {
    /// `connected`, `connecting`, `disconnected` or `disabled`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Connected => "connected",
            Status::Connecting => "connecting",
            Status::Disconnected => "disconnected",
            Status::Disabled => "disabled",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ProtoVersion {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// One server as the management API lists it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServerStatus {
    /// Name.
    pub name: String,
    /// URL.
    pub url: String,
    /// Whether it is enabled.
    pub enable: bool,
    /// Health.
    pub status: Status,
    /// The protocol version in use (found by the last successful load).
    pub proto: Option<ProtoVersion>,
    /// Whether its hooks are registered with the broker (true while reconnecting after a loss,
    /// so `failed_action` applies).
    pub registered: bool,
    /// The hooks it asked for in its last successful load, in its version's spelling.
    pub hooks: Vec<HookStatus>,
    /// Why the last load failed, until a load succeeds.
    pub last_error: Option<String>,
    /// Its failure policy.
    pub failed_action: FailedActionConfig,
    /// How notifications reach it.
    pub notify: NotifyMode,
    /// What its full queues do to notifications and observed events.
    pub overflow: OverflowConfig,
}

/// One hook of a server.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HookStatus {
    /// Hook name, e.g. `client.authorize` (`client.check_acl` for a v1 server).
    pub name: String,
    /// Topic filters of a message hook; empty means every topic.
    pub topics: Vec<String>,
    /// Observe-only (listed in the server's `observe`).
    pub observe: bool,
    /// Counters since the hook was registered.
    pub metrics: HookMetrics,
}

/// Counters of one server × hook, from the hook registry's per-handler metrics.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct HookMetrics {
    /// Calls made.
    pub calls: u64,
    /// Calls answered with gRPC OK (EMQX's `succeed`).
    pub succeed: u64,
    /// Calls that failed or timed out (EMQX's `failed`).
    pub failed: u64,
    /// Of `failed`, those that timed out.
    pub timed_out: u64,
    /// Notifications dropped because the server's queue was full (async notify only).
    pub dropped: u64,
    /// Answers that were IGNORE (and every notification answer).
    pub ignored: u64,
    /// Answers that were CONTINUE.
    pub continued: u64,
    /// Answers that were STOP_AND_RETURN.
    pub stopped: u64,
    /// Values answered (CONTINUE, STOP_AND_RETURN) at observe-only hooks, ignored.
    pub values_ignored: u64,
    /// Sum of call latencies in microseconds.
    pub latency_sum_us: u64,
    /// Calls per latency bucket (`hookmq_hooks::LATENCY_BUCKETS_US`, then the open-ended one).
    pub latency_buckets: Vec<u64>,
}

impl From<&PointStats> for HookMetrics {
    fn from(s: &PointStats) -> Self {
        HookMetrics {
            calls: s.calls,
            succeed: s.ignored + s.continued + s.stopped + s.values_ignored,
            failed: s.failed + s.timed_out,
            timed_out: s.timed_out,
            dropped: s.dropped,
            ignored: s.ignored,
            continued: s.continued,
            stopped: s.stopped,
            values_ignored: s.values_ignored,
            latency_sum_us: s.latency_sum_us,
            latency_buckets: s.latency_buckets.clone(),
        }
    }
}

impl HookMetrics {
    /// Adds another hook's counters (for per-server totals).
    pub fn add(&mut self, o: &HookMetrics) {
        self.calls += o.calls;
        self.succeed += o.succeed;
        self.failed += o.failed;
        self.timed_out += o.timed_out;
        self.dropped += o.dropped;
        self.ignored += o.ignored;
        self.continued += o.continued;
        self.stopped += o.stopped;
        self.values_ignored += o.values_ignored;
        self.latency_sum_us += o.latency_sum_us;
        if self.latency_buckets.len() < o.latency_buckets.len() {
            self.latency_buckets.resize(o.latency_buckets.len(), 0);
        }
        for (a, b) in self.latency_buckets.iter_mut().zip(&o.latency_buckets) {
            *a += b;
        }
    }
}

/// One server's counters (`stats`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServerStats {
    /// Server name.
    pub name: String,
    /// Per hook.
    pub hooks: Vec<HookStatus>,
    /// Sum over its hooks.
    pub total: HookMetrics,
}
