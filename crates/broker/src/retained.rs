//! Retained messages ([MQTT-3.3.1-5..11]): the last retained message of each topic, kept in a
//! topic tree so a new subscription finds the matching ones without scanning every topic.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use hookmq_hooks::Message;
use parking_lot::RwLock;

use crate::config::RetainedConfig;
use crate::topic_tree::TopicTree;

/// What storing a retained message did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RetainOutcome {
    /// Stored (new or replacing).
    Stored,
    /// An empty payload cleared the topic ([MQTT-3.3.1-10]).
    Cleared,
    /// Not stored: the store is full or the payload too large.
    Refused,
}

/// The retained message store.
#[derive(Debug)]
pub(crate) struct Retained {
    tree: RwLock<TopicTree<Arc<Message>>>,
    count: AtomicU64,
    bytes: AtomicU64,
    config: RetainedConfig,
}

impl Retained {
    pub(crate) fn new(config: RetainedConfig) -> Retained {
        Retained {
            tree: RwLock::new(TopicTree::new()),
            count: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            config,
        }
    }

    /// Stores, replaces or clears the retained message of the message's topic.
    pub(crate) fn set(&self, message: Arc<Message>) -> RetainOutcome {
        let topic = message.topic.as_str().to_owned();
        let mut tree = self.tree.write();
        if message.payload.is_empty() {
            // [MQTT-3.3.1-10] a zero-byte retained message removes the retained message.
            let removed = tree.remove_if(&topic, |_| true);
            if let Some(old) = removed {
                self.count.fetch_sub(1, Ordering::Relaxed);
                self.bytes
                    .fetch_sub(old.payload.len() as u64, Ordering::Relaxed);
            }
            return RetainOutcome::Cleared;
        }
        if message.payload.len() as u64 > self.config.max_payload_size.0
            || hookmq_codec::topic::levels(&topic) > crate::topic_tree::MAX_DEPTH
        {
            // Deeper topics were refused on the way in (`max_topic_levels`); one restored from
            // an older store is not worth the tree's stack.
            return RetainOutcome::Refused;
        }
        let size = message.payload.len() as u64;
        if let Some(slot) = tree.get_mut(&topic) {
            self.bytes
                .fetch_sub(slot.payload.len() as u64, Ordering::Relaxed);
            self.bytes.fetch_add(size, Ordering::Relaxed);
            *slot = message;
            return RetainOutcome::Stored;
        }
        let max = self.config.max_messages as u64;
        if max != 0 && self.count.load(Ordering::Relaxed) >= max {
            return RetainOutcome::Refused;
        }
        tree.entry(&topic, || message);
        self.count.fetch_add(1, Ordering::Relaxed);
        self.bytes.fetch_add(size, Ordering::Relaxed);
        RetainOutcome::Stored
    }

    /// Retained messages whose topic matches `filter` and that have not expired at `now_ms`.
    pub(crate) fn matching(&self, filter: &str, now_ms: u64) -> Vec<Arc<Message>> {
        let mut out = Vec::new();
        self.tree.read().for_each_topic_matching(filter, |m| {
            if !m.is_expired(now_ms) {
                out.push(m.clone());
            }
        });
        out
    }

    /// The retained message of one topic.
    pub(crate) fn get(&self, topic: &str) -> Option<Arc<Message>> {
        self.tree.read().get(topic).cloned()
    }

    /// Removes the retained message of one topic; true if there was one.
    pub(crate) fn delete(&self, topic: &str) -> bool {
        let removed = self.tree.write().remove_if(topic, |_| true);
        match removed {
            Some(old) => {
                self.count.fetch_sub(1, Ordering::Relaxed);
                self.bytes
                    .fetch_sub(old.payload.len() as u64, Ordering::Relaxed);
                true
            }
            None => false,
        }
    }

    /// Every retained message.
    pub(crate) fn all(&self) -> Vec<Arc<Message>> {
        let mut out = Vec::new();
        self.tree.read().for_each(|m| out.push(m.clone()));
        out
    }

    /// Number of retained messages.
    pub(crate) fn len(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    /// Total retained payload bytes.
    pub(crate) fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use hookmq_codec::{QoS, TopicName};

    fn msg(topic: &str, payload: &'static [u8]) -> Arc<Message> {
        Arc::new(Message::new(
            "c".into(),
            TopicName::new(topic).unwrap(),
            Bytes::from_static(payload),
            QoS::AtMostOnce,
            true,
        ))
    }

    #[test]
    fn set_replace_clear_and_match() {
        let r = Retained::new(RetainedConfig::default());
        assert_eq!(r.set(msg("a/b", b"1")), RetainOutcome::Stored);
        assert_eq!(r.set(msg("a/b", b"22")), RetainOutcome::Stored);
        assert_eq!(r.set(msg("a/c", b"3")), RetainOutcome::Stored);
        assert_eq!(r.set(msg("$SYS/x", b"4")), RetainOutcome::Stored);
        assert_eq!((r.len(), r.bytes()), (3, 4));
        assert_eq!(r.matching("a/+", 0).len(), 2);
        assert_eq!(
            r.matching("#", 0).len(),
            2,
            "root wildcard must not match $SYS"
        );
        assert_eq!(&r.get("a/b").unwrap().payload[..], b"22");
        assert_eq!(r.set(msg("a/b", b"")), RetainOutcome::Cleared);
        assert_eq!(r.matching("a/#", 0).len(), 1);
        assert!(r.delete("a/c"));
        assert!(!r.delete("a/c"));
        assert_eq!((r.len(), r.bytes()), (1, 1));
    }

    #[test]
    fn limits_refuse_new_topics_and_large_payloads() {
        let cfg = RetainedConfig {
            max_messages: 1,
            max_payload_size: crate::units::ByteSize(2),
        };
        let r = Retained::new(cfg);
        assert_eq!(r.set(msg("a", b"1")), RetainOutcome::Stored);
        assert_eq!(r.set(msg("b", b"1")), RetainOutcome::Refused);
        assert_eq!(r.set(msg("a", b"123")), RetainOutcome::Refused);
        assert_eq!(r.set(msg("a", b"12")), RetainOutcome::Stored);
    }
}
