//! What a server's streams count, beyond the per point counters of the hook registry: batches,
//! replies refused and why, events dropped on a full queue, calls failed by a lost stream,
//! reconnections. Relaxed atomics on the call path; read as [`StreamStats`] by the management
//! API and `hookmq ctl ext`.

use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;

/// Counters of one extension server, kept across reloads.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) events: AtomicU64,
    pub(crate) event_batches: AtomicU64,
    pub(crate) replies: AtomicU64,
    pub(crate) reply_batches: AtomicU64,
    pub(crate) refused: AtomicU64,
    pub(crate) unmatched: AtomicU64,
    pub(crate) dropped: AtomicU64,
    pub(crate) failed_on_loss: AtomicU64,
    pub(crate) losses: AtomicU64,
    pub(crate) reconnects: AtomicU64,
    pub(crate) commands: AtomicU64,
}

/// Adds `n` to a counter.
pub(crate) fn add(counter: &AtomicU64, n: u64) {
    counter.fetch_add(n, Ordering::Relaxed);
}

/// A snapshot of a server's stream counters.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct StreamStats {
    /// Events sent.
    pub events: u64,
    /// Event batches sent (`events / event_batches` is the mean batch size).
    pub event_batches: u64,
    /// Replies received.
    pub replies: u64,
    /// Reply batches received.
    pub reply_batches: u64,
    /// Replies refused (batch over the limit, unknown id, id twice, value that does not fit);
    /// each failed its call, so the failure policy applied.
    pub refused: u64,
    /// Replies to no call waiting: late (after the deadline), a second answer in a later
    /// batch, or an answer to an event that expected none.
    pub unmatched: u64,
    /// Notification and observe-only events dropped because a stream's queue was full.
    pub dropped: u64,
    /// Calls in flight failed at once because their stream was lost.
    pub failed_on_loss: u64,
    /// Streams lost.
    pub losses: u64,
    /// Streams opened again after a loss.
    pub reconnects: u64,
    /// Commands received from the extension.
    pub commands: u64,
}

impl Counters {
    /// Reads the counters.
    pub(crate) fn snapshot(&self) -> StreamStats {
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        StreamStats {
            events: get(&self.events),
            event_batches: get(&self.event_batches),
            replies: get(&self.replies),
            reply_batches: get(&self.reply_batches),
            refused: get(&self.refused),
            unmatched: get(&self.unmatched),
            dropped: get(&self.dropped),
            failed_on_loss: get(&self.failed_on_loss),
            losses: get(&self.losses),
            reconnects: get(&self.reconnects),
            commands: get(&self.commands),
        }
    }
}
