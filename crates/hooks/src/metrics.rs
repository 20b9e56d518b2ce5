//! Per handler × hook point counters and a latency histogram, updated with relaxed atomics on the
//! call path and read as [`PointStats`] snapshots by `$SYS`, the management API and `/metrics`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::handler::{HookError, Verdict};
use crate::point::HookPoint;

/// Upper bounds of the latency buckets in microseconds; the last bucket is open-ended.
pub const LATENCY_BUCKETS_US: [u64; 14] = [
    50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 1_000_000,
    5_000_000,
];

/// Counters of one handler at one hook point.
#[derive(Debug, Default)]
pub struct PointMetrics {
    calls: AtomicU64,
    ignored: AtomicU64,
    continued: AtomicU64,
    stopped: AtomicU64,
    failed: AtomicU64,
    timed_out: AtomicU64,
    dropped: AtomicU64,
    values_ignored: AtomicU64,
    skipped: AtomicU64,
    latency_sum_us: AtomicU64,
    buckets: [AtomicU64; LATENCY_BUCKETS_US.len() + 1],
}

/// A snapshot of [`PointMetrics`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PointStats {
    /// The hook point.
    pub point: Option<HookPoint>,
    /// Calls made (completed, failed or timed out).
    pub calls: u64,
    /// Answers that were [`Verdict::Ignore`] (notification answers count here too).
    pub ignored: u64,
    /// Answers that were [`Verdict::Continue`].
    pub continued: u64,
    /// Answers that were [`Verdict::Stop`].
    pub stopped: u64,
    /// Calls that failed (other than by timeout).
    pub failed: u64,
    /// Calls that timed out.
    pub timed_out: u64,
    /// Notifications and observed events dropped because the handler's queue was full (or, with
    /// the `block` policy, stayed full for the handler's whole timeout).
    pub dropped: u64,
    /// Values ([`Verdict::Continue`], [`Verdict::Stop`]) answered at an observe-only point, where
    /// they cannot count; the call itself counts in `calls` like any other.
    pub values_ignored: u64,
    /// Calls not made because the handler's circuit breaker was open (valued calls got the
    /// failure policy, notifications were not sent); not counted in `calls`.
    pub skipped: u64,
    /// Sum of call latencies in microseconds.
    pub latency_sum_us: u64,
    /// Count per latency bucket ([`LATENCY_BUCKETS_US`] plus the open-ended last one).
    pub latency_buckets: Vec<u64>,
}

impl PointMetrics {
    /// Records the outcome of one call that took `elapsed`.
    pub fn record(&self, outcome: &Result<Verdict, HookError>, elapsed: Duration) {
        self.record_call(outcome, elapsed, false);
    }

    /// Records one call; `observed` calls count a value they answer in `values_ignored`.
    pub fn record_call(
        &self,
        outcome: &Result<Verdict, HookError>,
        elapsed: Duration,
        observed: bool,
    ) {
        self.calls.fetch_add(1, Ordering::Relaxed);
        let counter = match outcome {
            Ok(Verdict::Ignore) => &self.ignored,
            Ok(Verdict::Continue(_) | Verdict::Stop(_)) if observed => &self.values_ignored,
            Ok(Verdict::Continue(_)) => &self.continued,
            Ok(Verdict::Stop(_)) => &self.stopped,
            Err(HookError::Timeout) => &self.timed_out,
            Err(_) => &self.failed,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        let us = elapsed.as_micros().min(u128::from(u64::MAX)) as u64;
        self.latency_sum_us.fetch_add(us, Ordering::Relaxed);
        let bucket = LATENCY_BUCKETS_US
            .iter()
            .position(|&b| us <= b)
            .unwrap_or(LATENCY_BUCKETS_US.len());
        self.buckets[bucket].fetch_add(1, Ordering::Relaxed);
    }

    /// Records a call that timed out before the handler was reached (queue wait).
    pub fn record_timeout(&self) {
        self.calls.fetch_add(1, Ordering::Relaxed);
        self.timed_out.fetch_add(1, Ordering::Relaxed);
    }

    /// Records a notification or observed event dropped on a full queue.
    pub fn record_dropped(&self) {
        self.dropped.fetch_add(1, Ordering::Relaxed);
    }

    /// Records a call not made because the handler's circuit breaker is open.
    pub fn record_skipped(&self) {
        self.skipped.fetch_add(1, Ordering::Relaxed);
    }

    /// Reads the counters.
    pub fn snapshot(&self, point: HookPoint) -> PointStats {
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        PointStats {
            point: Some(point),
            calls: get(&self.calls),
            ignored: get(&self.ignored),
            continued: get(&self.continued),
            stopped: get(&self.stopped),
            failed: get(&self.failed),
            timed_out: get(&self.timed_out),
            dropped: get(&self.dropped),
            values_ignored: get(&self.values_ignored),
            skipped: get(&self.skipped),
            latency_sum_us: get(&self.latency_sum_us),
            latency_buckets: self.buckets.iter().map(get).collect(),
        }
    }
}

/// Counters of one handler at every hook point.
#[derive(Debug, Default)]
pub struct HandlerMetrics {
    points: [PointMetrics; HookPoint::COUNT],
}

impl HandlerMetrics {
    /// The counters of one point.
    pub fn point(&self, point: HookPoint) -> &PointMetrics {
        &self.points[point.index()]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_land_in_their_counters_and_buckets() {
        let m = PointMetrics::default();
        m.record(&Ok(Verdict::Ignore), Duration::from_micros(40));
        m.record(&Err(HookError::Timeout), Duration::from_secs(6));
        m.record(
            &Err(HookError::Failed("x".into())),
            Duration::from_micros(600),
        );
        m.record_dropped();
        m.record_skipped();
        m.record_call(
            &Ok(Verdict::Stop(crate::Value::Drop)),
            Duration::from_micros(1),
            true,
        );
        m.record(
            &Ok(Verdict::Stop(crate::Value::Drop)),
            Duration::from_micros(1),
        );
        let s = m.snapshot(HookPoint::MessagePublish);
        assert_eq!(
            (s.calls, s.ignored, s.timed_out, s.failed, s.dropped),
            (5, 1, 1, 1, 1)
        );
        assert_eq!((s.values_ignored, s.stopped, s.continued), (1, 1, 0));
        assert_eq!(s.skipped, 1);
        assert_eq!(s.latency_buckets[0], 3);
        assert_eq!(s.latency_buckets[4], 1);
        assert_eq!(s.latency_buckets[LATENCY_BUCKETS_US.len()], 1);
    }
}
