//! A small TTL cache of HTTP answers keyed by a SHA-256 of the rendered request (URL and body),
//! so equal requests within `cache_ttl` are answered without a round trip, and no password is
//! kept in memory as a key. When full, expired entries go first; if none expired, the new
//! answer is simply not cached.

use std::collections::HashMap;
use std::time::Duration;

use parking_lot::Mutex;
use sha2::{Digest as _, Sha256};
use std::time::Instant;

/// The cache.
pub(crate) struct Cache<V> {
    ttl: Duration,
    max: usize,
    entries: Mutex<HashMap<[u8; 32], (V, Instant)>>,
}

impl<V: Clone> Cache<V> {
    /// An empty cache.
    pub(crate) fn new(ttl: Duration, max: usize) -> Cache<V> {
        Cache {
            ttl,
            max,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// The key of a request.
    pub(crate) fn key(url: &str, body: &[u8]) -> [u8; 32] {
        Sha256::new()
            .chain_update((url.len() as u64).to_be_bytes())
            .chain_update(url.as_bytes())
            .chain_update(body)
            .finalize()
            .into()
    }

    /// An answer still fresh at `now`.
    pub(crate) fn get(&self, key: &[u8; 32], now: Instant) -> Option<V> {
        let entries = self.entries.lock();
        let (v, at) = entries.get(key)?;
        (now.saturating_duration_since(*at) < self.ttl).then(|| v.clone())
    }

    /// Stores an answer made at `now`.
    pub(crate) fn put(&self, key: [u8; 32], v: V, now: Instant) {
        let mut entries = self.entries.lock();
        if entries.len() >= self.max {
            let ttl = self.ttl;
            entries.retain(|_, (_, at)| now.saturating_duration_since(*at) < ttl);
            if entries.len() >= self.max {
                return;
            }
        }
        entries.insert(key, (v, now));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_expire_and_a_full_cache_keeps_its_fresh_entries() {
        let c = Cache::new(Duration::from_secs(10), 2);
        let t0 = Instant::now();
        let (a, b, d) = (
            Cache::<u8>::key("u", b"a"),
            Cache::<u8>::key("u", b"b"),
            Cache::<u8>::key("ub", b""),
        );
        assert_ne!(b, d);
        c.put(a, 1, t0);
        c.put(b, 2, t0);
        c.put(d, 3, t0);
        assert_eq!(
            (c.get(&a, t0), c.get(&b, t0), c.get(&d, t0)),
            (Some(1), Some(2), None)
        );
        let later = t0 + Duration::from_secs(10);
        assert_eq!(c.get(&a, later), None);
        c.put(d, 3, later);
        assert_eq!(c.get(&d, later), Some(3));
    }
}
