//! The global memory cap (`limits.memory_high_watermark`): a task samples the broker's resident
//! memory; above the watermark the broker refuses new connections (CONNACK 0x89 Server busy,
//! MQTT 3.x return code 3) and stops reading from clients whose next packet is a PUBLISH, so
//! acknowledgements and subscribers keep flowing and memory can drain. Below 95 % of the
//! watermark everything resumes. Each episode is logged once when it starts and once when it
//! ends, counted in the metrics and shown in `$SYS`.
//!
//! Resident memory comes from `VmRSS` in `/proc/self/status`: it is what the kernel's OOM killer
//! and a container's limit count (allocator fragmentation, the store's caches and memory-mapped
//! files included), it needs no allocator hooks, and one read costs a few microseconds, so
//! sampling every 100 ms is free. Allocation counters would miss fragmentation and memory the
//! store's own allocator holds. `status` is read rather than `statm` because it is in kB, so no
//! page-size query is needed. Without `/proc` (not Linux) the cap is off and says so at start.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

use crate::shared::Shared;

/// Resume below this share of the watermark, so a broker hovering at the line does not flap.
const RESUME_PERCENT: u64 = 95;

/// The memory state every connection consults: one relaxed load per check.
#[derive(Debug, Default)]
pub(crate) struct MemoryGuard {
    high: AtomicBool,
    /// Last sampled resident memory in bytes (0 before the first sample or when off).
    resident: AtomicU64,
    /// Episodes of being above the watermark since start.
    pub(crate) episodes: AtomicU64,
    /// Connections refused because memory was high.
    pub(crate) refused: AtomicU64,
    /// Times a publisher's reading was paused because memory was high.
    pub(crate) paused: AtomicU64,
    released: Notify,
}

impl MemoryGuard {
    /// Whether memory is above the watermark now.
    pub(crate) fn is_high(&self) -> bool {
        self.high.load(Ordering::Relaxed)
    }

    /// The last sampled resident memory in bytes.
    pub(crate) fn resident(&self) -> u64 {
        self.resident.load(Ordering::Relaxed)
    }

    /// Resolves once memory is below the resume level.
    pub(crate) async fn wait_low(&self) {
        loop {
            let released = self.released.notified();
            tokio::pin!(released);
            // Registered before the check, so a release between the two is not missed.
            released.as_mut().enable();
            if !self.is_high() {
                return;
            }
            released.await;
        }
    }

    /// Records a sample against `watermark`; returns the change of state, if any.
    fn sample(&self, resident: u64, watermark: u64) -> Option<bool> {
        self.resident.store(resident, Ordering::Relaxed);
        let high = self.is_high();
        if !high && resident > watermark {
            self.high.store(true, Ordering::Relaxed);
            self.episodes.fetch_add(1, Ordering::Relaxed);
            return Some(true);
        }
        if high && resident < watermark / 100 * RESUME_PERCENT {
            self.high.store(false, Ordering::Relaxed);
            self.released.notify_waiters();
            return Some(false);
        }
        None
    }
}

/// Resident memory of this process in bytes (`VmRSS` of `/proc/self/status`), or `None` where
/// there is no procfs.
pub(crate) fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find_map(|l| l.strip_prefix("VmRSS:"))?;
    let kb: u64 = line.trim().trim_end_matches("kB").trim().parse().ok()?;
    Some(kb * 1024)
}

/// Samples memory every `limits.memory_check_interval` until the broker stops.
pub(crate) async fn watch(shared: Arc<Shared>) {
    let limits = &shared.config.limits;
    let watermark = limits.memory_high_watermark.0;
    if resident_bytes().is_none() {
        tracing::warn!(
            "limits.memory_high_watermark is set but /proc/self/status cannot be read; the memory cap is off"
        );
        return;
    }
    let mut tick = tokio::time::interval(limits.memory_check_interval.0);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let guard = &shared.memory;
    let mut since = Instant::now();
    let mut counts = (0, 0);
    loop {
        tokio::select! {
            _ = shared.shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        let Some(resident) = resident_bytes() else {
            continue;
        };
        match guard.sample(resident, watermark) {
            Some(true) => {
                since = Instant::now();
                counts = (
                    guard.refused.load(Ordering::Relaxed),
                    guard.paused.load(Ordering::Relaxed),
                );
                tracing::warn!(
                    resident_mb = resident >> 20,
                    watermark_mb = watermark >> 20,
                    "memory above limits.memory_high_watermark: refusing new connections and pausing publishers"
                );
            }
            Some(false) => {
                let refused = guard.refused.load(Ordering::Relaxed) - counts.0;
                let paused = guard.paused.load(Ordering::Relaxed) - counts.1;
                tracing::info!(
                    resident_mb = resident >> 20,
                    after = ?Duration::from_millis(since.elapsed().as_millis() as u64),
                    refused,
                    paused,
                    "memory back under limits.memory_high_watermark: accepting and reading again"
                );
            }
            None => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn high_above_the_watermark_and_low_again_below_95_percent() {
        let g = MemoryGuard::default();
        assert_eq!(g.sample(900, 1000), None);
        assert_eq!(g.sample(1001, 1000), Some(true));
        assert!(g.is_high());
        assert_eq!(
            g.sample(990, 1000),
            None,
            "between 95 % and the watermark: still high"
        );
        assert_eq!(g.sample(900, 1000), Some(false));
        assert!(!g.is_high());
        assert_eq!(g.episodes.load(Ordering::Relaxed), 1);
        assert_eq!(g.resident(), 900);
    }

    #[test]
    fn resident_memory_is_read() {
        let bytes = resident_bytes().unwrap();
        assert!(bytes > 1 << 20, "{bytes}");
    }

    #[tokio::test]
    async fn waiters_are_released() {
        let g = Arc::new(MemoryGuard::default());
        g.sample(2000, 1000);
        let waiter = tokio::spawn({
            let g = g.clone();
            async move { g.wait_low().await }
        });
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished());
        g.sample(10, 1000);
        tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .unwrap()
            .unwrap();
    }
}
