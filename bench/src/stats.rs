//! What a run measures: the 16-byte stamp at the front of every payload (publisher, sequence
//! number, send time), latency histograms, and per-publisher sequence tracking that finds lost
//! and duplicated messages. Publishers write stamps; subscribers read them into a [`SubStats`];
//! the scenario runner merges those into a [`Tally`].

use std::time::Instant;

use anyhow::{Result, anyhow};
use hdrhistogram::Histogram;
use serde::Serialize;

/// Bytes of the stamp at the start of each payload: sequence (u32), publisher (u32), send time
/// in nanoseconds since the run's epoch (u64), all little-endian.
pub const STAMP_LEN: usize = 16;

/// The stamp of one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    /// Sequence number within the publisher, from 0.
    pub seq: u32,
    /// Publisher index.
    pub publisher: u32,
    /// Send time, nanoseconds since the run's epoch.
    pub sent_ns: u64,
}

impl Stamp {
    /// Writes the stamp into the first [`STAMP_LEN`] bytes of `payload`.
    pub fn write(&self, payload: &mut [u8]) {
        payload[0..4].copy_from_slice(&self.seq.to_le_bytes());
        payload[4..8].copy_from_slice(&self.publisher.to_le_bytes());
        payload[8..16].copy_from_slice(&self.sent_ns.to_le_bytes());
    }

    /// Reads a stamp; `None` if the payload is too short.
    pub fn read(payload: &[u8]) -> Option<Stamp> {
        let seq = u32::from_le_bytes(payload.get(0..4)?.try_into().ok()?);
        let publisher = u32::from_le_bytes(payload.get(4..8)?.try_into().ok()?);
        let sent_ns = u64::from_le_bytes(payload.get(8..16)?.try_into().ok()?);
        Some(Stamp {
            seq,
            publisher,
            sent_ns,
        })
    }
}

/// The clock every task of a run shares.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    epoch: Instant,
}

impl Clock {
    /// A clock starting now.
    pub fn start() -> Clock {
        Clock {
            epoch: Instant::now(),
        }
    }

    /// Nanoseconds since the epoch.
    pub fn now_ns(&self) -> u64 {
        self.epoch.elapsed().as_nanos() as u64
    }

    /// The instant `ns` nanoseconds after the epoch.
    pub fn at(&self, ns: u64) -> tokio::time::Instant {
        tokio::time::Instant::from_std(self.epoch + std::time::Duration::from_nanos(ns))
    }
}

/// A latency histogram in microseconds, 1 µs to 10 minutes, 3 significant digits.
pub fn latency_histogram() -> Result<Histogram<u64>> {
    Histogram::new_with_bounds(1, 600_000_000, 3).map_err(|e| anyhow!("histogram: {e}"))
}

/// Percentiles of a latency histogram, in microseconds.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Latency {
    /// Samples.
    pub count: u64,
    /// Median.
    pub p50_us: u64,
    /// 90th percentile.
    pub p90_us: u64,
    /// 99th percentile.
    pub p99_us: u64,
    /// Largest.
    pub max_us: u64,
}

impl Latency {
    /// Summarizes a histogram.
    pub fn of(h: &Histogram<u64>) -> Latency {
        if h.is_empty() {
            return Latency::default();
        }
        Latency {
            count: h.len(),
            p50_us: h.value_at_quantile(0.50),
            p90_us: h.value_at_quantile(0.90),
            p99_us: h.value_at_quantile(0.99),
            max_us: h.max(),
        }
    }
}

/// A growable bit set over sequence numbers.
#[derive(Debug, Clone, Default)]
pub struct SeqSet {
    words: Vec<u64>,
}

impl SeqSet {
    /// Marks `seq`; returns false if it was already marked (a duplicate).
    pub fn insert(&mut self, seq: u32) -> bool {
        let (w, b) = (seq as usize / 64, seq % 64);
        if w >= self.words.len() {
            self.words.resize(w + 1, 0);
        }
        let was = self.words[w] & (1 << b) != 0;
        self.words[w] |= 1 << b;
        !was
    }

    /// Marked sequence numbers.
    pub fn count(&self) -> u64 {
        self.words.iter().map(|w| u64::from(w.count_ones())).sum()
    }

    /// Marks everything `other` has marked.
    pub fn union_with(&mut self, other: &SeqSet) {
        if other.words.len() > self.words.len() {
            self.words.resize(other.words.len(), 0);
        }
        for (a, b) in self.words.iter_mut().zip(&other.words) {
            *a |= *b;
        }
    }
}

/// What one subscriber saw.
#[derive(Debug)]
pub struct SubStats {
    /// Latency of messages sent inside the measurement window, in µs.
    pub latency: Histogram<u64>,
    /// Messages received whose receive time fell inside the window.
    pub received_in_window: u64,
    /// Messages received in all.
    pub received_total: u64,
    /// Sequence numbers seen, per publisher index.
    pub seen: Vec<SeqSet>,
    /// Copies of a message this subscriber had already received.
    pub duplicates: u64,
    /// Payloads without a valid stamp.
    pub malformed: u64,
}

impl SubStats {
    /// Empty statistics for `publishers` publishers.
    pub fn new(publishers: usize) -> Result<SubStats> {
        Ok(SubStats {
            latency: latency_histogram()?,
            received_in_window: 0,
            received_total: 0,
            seen: vec![SeqSet::default(); publishers],
            duplicates: 0,
            malformed: 0,
        })
    }

    /// Records one received payload at `now_ns`; the window is `[from_ns, to_ns)`. Returns the
    /// publisher index when the stamp is valid and new.
    pub fn record(&mut self, payload: &[u8], now_ns: u64, from_ns: u64, to_ns: u64) -> Option<u32> {
        let Some(stamp) = Stamp::read(payload) else {
            self.malformed += 1;
            return None;
        };
        let Some(seen) = self.seen.get_mut(stamp.publisher as usize) else {
            self.malformed += 1;
            return None;
        };
        self.received_total += 1;
        if !seen.insert(stamp.seq) {
            self.duplicates += 1;
            return None;
        }
        if (from_ns..to_ns).contains(&now_ns) {
            self.received_in_window += 1;
        }
        if (from_ns..to_ns).contains(&stamp.sent_ns) {
            let us = now_ns.saturating_sub(stamp.sent_ns) / 1000;
            let _ = self.latency.record(us.max(1));
        }
        Some(stamp.publisher)
    }
}

/// Losses and duplicates over a whole run.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Integrity {
    /// Messages that should have arrived (at each subscriber that should get them) and did not.
    pub lost: u64,
    /// Extra copies.
    pub duplicated: u64,
    /// Payloads without a valid stamp.
    pub malformed: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stamp_reads_back_and_a_short_payload_has_none() {
        let stamp = Stamp {
            seq: 7,
            publisher: 3,
            sent_ns: 123_456_789,
        };
        let mut payload = [0u8; 20];
        stamp.write(&mut payload);
        assert_eq!(Stamp::read(&payload), Some(stamp));
        assert_eq!(Stamp::read(&payload[..15]), None);
    }

    #[test]
    fn seq_sets_count_duplicates_and_unions() {
        let mut a = SeqSet::default();
        assert!(a.insert(1));
        assert!(a.insert(200));
        assert!(!a.insert(1));
        let mut b = SeqSet::default();
        b.insert(1);
        b.insert(5);
        a.union_with(&b);
        assert_eq!(a.count(), 3);
    }

    #[test]
    fn sub_stats_count_only_the_window_and_flag_duplicates() {
        let mut s = SubStats::new(2).unwrap();
        let mut p = [0u8; 16];
        Stamp {
            seq: 0,
            publisher: 1,
            sent_ns: 50,
        }
        .write(&mut p);
        assert_eq!(s.record(&p, 2_000_050, 100, 10_000_000), Some(1));
        assert_eq!(s.received_in_window, 1);
        assert_eq!(
            s.latency.len(),
            0,
            "sent before the window: no latency sample"
        );
        assert_eq!(s.record(&p, 2_000_060, 100, 10_000_000), None);
        assert_eq!(s.duplicates, 1);
        Stamp {
            seq: 0,
            publisher: 9,
            sent_ns: 50,
        }
        .write(&mut p);
        assert_eq!(s.record(&p, 60, 100, 200), None);
        assert_eq!(s.malformed, 1);
    }
}
