//! Connection limits: a counter of open connections per listener and one for the whole broker.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Counts open connections and refuses beyond a maximum.
#[derive(Debug)]
pub struct ConnectionLimit {
    active: AtomicUsize,
    max: usize,
}

impl ConnectionLimit {
    /// A limit of `max` (0: none).
    pub fn new(max: usize) -> Arc<ConnectionLimit> {
        Arc::new(ConnectionLimit {
            active: AtomicUsize::new(0),
            max,
        })
    }

    /// Takes a slot, or `None` when the limit is reached.
    pub fn acquire(self: &Arc<Self>) -> Option<ConnectionSlot> {
        let n = self.active.fetch_add(1, Ordering::AcqRel);
        if self.max != 0 && n >= self.max {
            self.active.fetch_sub(1, Ordering::AcqRel);
            return None;
        }
        Some(ConnectionSlot(self.clone()))
    }

    /// Connections holding a slot.
    pub fn active(&self) -> usize {
        self.active.load(Ordering::Relaxed)
    }
}

/// A taken slot; freed on drop.
#[derive(Debug)]
pub struct ConnectionSlot(Arc<ConnectionLimit>);

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        self.0.active.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_limited_and_returned() {
        let l = ConnectionLimit::new(2);
        let a = l.acquire().unwrap();
        let _b = l.acquire().unwrap();
        assert!(l.acquire().is_none());
        drop(a);
        assert!(l.acquire().is_some());
        let unlimited = ConnectionLimit::new(0);
        let held: Vec<_> = (0..100).map(|_| unlimited.acquire().unwrap()).collect();
        assert_eq!(unlimited.active(), held.len());
    }
}
