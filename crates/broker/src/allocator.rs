//! What the broker gives back to the system after many clients leave. glibc's allocator keeps
//! freed memory in its arenas (only the top of the main heap shrinks by itself), so without help
//! a broker that once held 10,000 connections stays at that resident size after they are gone.
//! A task started by `Broker::start` watches the connection count and, after a large drop, asks
//! glibc to hand the free pages back (`malloc_trim`), on a blocking thread since it walks and
//! locks every arena. Other allocators and C libraries return memory themselves: there the task
//! is not started.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use crate::shared::Shared;

/// Fewest closed connections that make a trim worth its arena walk.
const MIN_DROP: u64 = 256;

/// When to trim: after the connection count fell from its peak since the last trim by at least
/// a quarter of that peak and at least [`MIN_DROP`] connections. Sans-IO, fed one sample per
/// tick.
#[derive(Debug, Default)]
pub(crate) struct TrimPolicy {
    peak: u64,
}

impl TrimPolicy {
    /// Takes the current connection count; true when a trim is due now.
    pub(crate) fn sample(&mut self, connections: u64) -> bool {
        self.peak = self.peak.max(connections);
        let dropped = self.peak - connections;
        if dropped >= MIN_DROP && dropped >= self.peak / 4 {
            self.peak = connections;
            return true;
        }
        false
    }
}

/// Whether this build can return memory this way.
pub(crate) fn supported() -> bool {
    cfg!(all(target_os = "linux", target_env = "gnu"))
}

/// Runs until the broker stops: one sample per `limits.memory_trim_interval`.
pub(crate) async fn watch(shared: Arc<Shared>) {
    let mut tick = tokio::time::interval(shared.config.limits.memory_trim_interval.0);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut policy = TrimPolicy::default();
    loop {
        tokio::select! {
            _ = shared.shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        let connections = shared.metrics.connections.load(Ordering::Relaxed).max(0) as u64;
        if policy.sample(connections) {
            let released = tokio::task::spawn_blocking(release).await.unwrap_or(false);
            tracing::debug!(connections, released, "returned freed memory to the system");
        }
    }
}

/// Asks glibc to return the free pages of every arena; true if it released any.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn release() -> bool {
    // SAFETY: malloc_trim takes no pointer and has no precondition; glibc serialises it with
    // every other allocator call through the arenas' locks.
    unsafe { libc::malloc_trim(0) == 1 }
}

/// Elsewhere the allocator returns memory on its own.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn release() -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::TrimPolicy;

    #[test]
    fn trims_after_a_large_drop_only() {
        let mut p = TrimPolicy::default();
        // Growth and small changes: nothing to give back.
        for n in [0, 100, 5_000, 10_000, 9_900, 9_800] {
            assert!(!p.sample(n), "at {n}");
        }
        // A quarter of the peak gone (and more than 256): trim once.
        assert!(p.sample(7_000));
        assert!(!p.sample(7_000));
        // The new peak is 7,000: a further drop to 5,000 is more than a quarter.
        assert!(p.sample(5_000));
    }

    #[test]
    fn a_small_broker_is_not_trimmed_for_a_few_clients() {
        let mut p = TrimPolicy::default();
        assert!(!p.sample(200));
        assert!(!p.sample(0), "200 closed connections are under the minimum");
        assert!(!p.sample(300));
        assert!(p.sample(0));
    }
}
