//! A per-client cache of `client.authorize` results, like EMQX's ACL cache: each connection owns
//! one, consults it before running the chain, and drops it when the client disconnects, so a
//! decision never outlives the connection it was made for (and never leaks to a client that takes
//! over the same client id).

use std::collections::HashMap;
use std::time::Duration;

use bytestring::ByteString;
use tokio::time::Instant;

use crate::event::Action;

/// Cache settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuthzCacheConfig {
    /// Whether results are cached at all.
    pub enable: bool,
    /// Entries per client.
    pub max_size: usize,
    /// How long a result stays valid.
    pub ttl: Duration,
}

impl Default for AuthzCacheConfig {
    fn default() -> Self {
        AuthzCacheConfig {
            enable: true,
            max_size: 32,
            ttl: Duration::from_secs(60),
        }
    }
}

/// One client's cached authorization results.
#[derive(Debug)]
pub struct AuthzCache {
    config: AuthzCacheConfig,
    entries: HashMap<(Action, ByteString), (bool, Instant)>,
}

impl AuthzCache {
    /// An empty cache.
    pub fn new(config: AuthzCacheConfig) -> AuthzCache {
        AuthzCache {
            config,
            entries: HashMap::new(),
        }
    }

    /// A cached result still valid at `now`.
    pub fn get(&self, action: Action, topic: &ByteString, now: Instant) -> Option<bool> {
        if !self.config.enable {
            return None;
        }
        let (allowed, at) = self.entries.get(&(action, topic.clone()))?;
        (now.duration_since(*at) < self.config.ttl).then_some(*allowed)
    }

    /// Stores a result made at `now`, evicting expired entries, then the oldest, when full.
    pub fn put(&mut self, action: Action, topic: ByteString, allowed: bool, now: Instant) {
        if !self.config.enable || self.config.max_size == 0 {
            return;
        }
        if self.entries.len() >= self.config.max_size {
            let ttl = self.config.ttl;
            self.entries
                .retain(|_, (_, at)| now.duration_since(*at) < ttl);
        }
        if self.entries.len() >= self.config.max_size {
            let oldest = self
                .entries
                .iter()
                .min_by_key(|(_, (_, at))| *at)
                .map(|(k, _)| k.clone());
            if let Some(k) = oldest {
                self.entries.remove(&k);
            }
        }
        self.entries.insert((action, topic), (allowed, now));
    }

    /// Forgets everything.
    pub fn clear(&mut self) {
        self.entries.clear();
    }

    /// Number of cached entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_expire_and_the_oldest_is_evicted_when_full() {
        let cfg = AuthzCacheConfig {
            enable: true,
            max_size: 2,
            ttl: Duration::from_secs(10),
        };
        let mut c = AuthzCache::new(cfg);
        let t0 = Instant::now();
        let (a, b, d) = (
            ByteString::from("a"),
            ByteString::from("b"),
            ByteString::from("d"),
        );
        c.put(Action::Publish, a.clone(), true, t0);
        c.put(
            Action::Publish,
            b.clone(),
            false,
            t0 + Duration::from_secs(1),
        );
        assert_eq!(
            c.get(Action::Publish, &a, t0 + Duration::from_secs(9)),
            Some(true)
        );
        assert_eq!(c.get(Action::Subscribe, &a, t0), None);
        assert_eq!(
            c.get(Action::Publish, &a, t0 + Duration::from_secs(10)),
            None
        );
        c.put(
            Action::Publish,
            d.clone(),
            true,
            t0 + Duration::from_secs(2),
        );
        assert_eq!(c.len(), 2);
        assert_eq!(
            c.get(Action::Publish, &a, t0 + Duration::from_secs(2)),
            None
        );
        assert_eq!(
            c.get(Action::Publish, &b, t0 + Duration::from_secs(2)),
            Some(false)
        );
    }
}
