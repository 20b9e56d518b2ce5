//! Broker-wide counters (connections, packets, messages, bytes, drops by reason), updated with
//! relaxed atomics by connections and the router, read by `$SYS` and the management API.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use hookmq_hooks::DropReason;

/// Every drop reason, for per-reason counters.
pub const DROP_REASONS: [DropReason; 8] = DropReason::ALL;

/// The limits whose hits are counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Limit {
    /// `listeners.max_connections` or a listener's `max_connections`.
    MaxConnections,
    /// `mqtt.max_packet_size`.
    MaxPacketSize,
    /// `mqtt.max_subscriptions`.
    MaxSubscriptions,
    /// `mqtt.max_topic_levels`.
    MaxTopicLevels,
    /// `retained.max_messages` / `retained.max_payload_size`.
    MaxRetained,
    /// `mqtt.max_publish_rate`.
    PublishRate,
    /// `mqtt.receive_maximum` / `mqtt.max_awaiting_rel`.
    MaxAwaitingRel,
    /// `mqtt.connect_timeout`.
    ConnectTimeout,
    /// Keep-alive expiry.
    KeepAlive,
    /// `mqtt.queue_drop = "backpressure"`: a publisher held back by a full queue.
    Backpressure,
    /// `mqtt.slow_consumer_timeout`: a subscriber disconnected as a slow consumer (0x97).
    SlowConsumer,
    /// `limits.memory_high_watermark`: a connection refused or a publisher paused.
    MemoryHighWatermark,
}

/// Every limit, for per-limit counters.
pub const LIMITS: [Limit; 12] = [
    Limit::MaxConnections,
    Limit::MaxPacketSize,
    Limit::MaxSubscriptions,
    Limit::MaxTopicLevels,
    Limit::MaxRetained,
    Limit::PublishRate,
    Limit::MaxAwaitingRel,
    Limit::ConnectTimeout,
    Limit::KeepAlive,
    Limit::Backpressure,
    Limit::SlowConsumer,
    Limit::MemoryHighWatermark,
];

impl Limit {
    /// The label used in metrics.
    pub fn name(self) -> &'static str {
        match self {
            Limit::MaxConnections => "max_connections",
            Limit::MaxPacketSize => "max_packet_size",
            Limit::MaxSubscriptions => "max_subscriptions",
            Limit::MaxTopicLevels => "max_topic_levels",
            Limit::MaxRetained => "max_retained",
            Limit::PublishRate => "max_publish_rate",
            Limit::MaxAwaitingRel => "max_awaiting_rel",
            Limit::ConnectTimeout => "connect_timeout",
            Limit::KeepAlive => "keepalive",
            Limit::Backpressure => "backpressure",
            Limit::SlowConsumer => "slow_consumer",
            Limit::MemoryHighWatermark => "memory_high_watermark",
        }
    }
}

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
    dropped: [AtomicU64; DROP_REASONS.len()],
    limits: [AtomicU64; LIMITS.len()],
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

    /// Counts a limit hit.
    pub fn limit_hit(&self, limit: Limit) {
        if let Some(i) = LIMITS.iter().position(|l| *l == limit) {
            self.limits[i].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Hits of one limit.
    pub fn limit_hits(&self, limit: Limit) -> u64 {
        LIMITS
            .iter()
            .position(|l| *l == limit)
            .map_or(0, |i| self.limits[i].load(Ordering::Relaxed))
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
