//! Broker-wide counters (connections, packets, messages, bytes, drops by reason), updated with
//! relaxed atomics by connections and the router, read by `$SYS` and the management API.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use hookmq_hooks::DropReason;

/// Every drop reason, for per-reason counters.
pub const DROP_REASONS: [DropReason; 8] = [
    DropReason::NoSubscribers,
    DropReason::QueueFull,
    DropReason::Expired,
    DropReason::DroppedByHook,
    DropReason::NotAuthorized,
    DropReason::PacketTooLarge,
    DropReason::QosZeroOffline,
    DropReason::SessionTerminated,
];

/// Broker counters.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Connections open now (after CONNECT was accepted).
    pub connections: AtomicI64,
    /// Connections accepted since start.
    pub connections_total: AtomicU64,
    /// Connections refused (CONNACK with an error, or limit reached).
    pub connections_refused: AtomicU64,
    /// Logins refused by authentication.
    pub auth_failures: AtomicU64,
    /// Publishes and subscriptions denied by authorization.
    pub authz_denied: AtomicU64,
    /// Packets received.
    pub packets_received: AtomicU64,
    /// Packets sent.
    pub packets_sent: AtomicU64,
    /// Bytes received.
    pub bytes_received: AtomicU64,
    /// Bytes sent.
    pub bytes_sent: AtomicU64,
    /// PUBLISH packets accepted from clients.
    pub messages_received: AtomicU64,
    /// PUBLISH packets sent to clients.
    pub messages_sent: AtomicU64,
    /// Malformed packets and protocol errors from clients.
    pub protocol_errors: AtomicU64,
    /// Connections closed for not sending CONNECT in time.
    pub connect_timeouts: AtomicU64,
    /// Connections closed by keep-alive expiry.
    pub keepalive_timeouts: AtomicU64,
    /// Connections refused by `max_connections`.
    pub connection_limit_hits: AtomicU64,
    dropped: [AtomicU64; DROP_REASONS.len()],
}

impl Metrics {
    /// Adds one to a counter.
    pub fn inc(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Adds `n` to a counter.
    pub fn inc_by(counter: &AtomicU64, n: usize) {
        counter.fetch_add(n as u64, Ordering::Relaxed);
    }

    /// Counts a dropped message.
    pub fn dropped(&self, reason: DropReason) {
        if let Some(i) = DROP_REASONS.iter().position(|r| *r == reason) {
            self.dropped[i].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Messages dropped for one reason.
    pub fn dropped_count(&self, reason: DropReason) -> u64 {
        DROP_REASONS
            .iter()
            .position(|r| *r == reason)
            .map_or(0, |i| self.dropped[i].load(Ordering::Relaxed))
    }

    /// Messages dropped for any reason.
    pub fn dropped_total(&self) -> u64 {
        self.dropped.iter().map(|c| c.load(Ordering::Relaxed)).sum()
    }

    /// Reads a counter.
    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}
