//! Internals exposed for the micro-benchmarks in `bench/benches` and the fuzz targets in `fuzz/`
//! (with their corpus replay in `crates/fuzzcheck`) only: not part of the API, hidden from the
//! docs, and free to change with the code it wraps.

use crate::topic_tree::TopicTree;

/// The router's topic tree holding filters, as `Router::route` searches it.
#[derive(Debug, Default)]
pub struct FilterTree {
    tree: TopicTree<u32>,
    len: u32,
}

impl FilterTree {
    /// An empty tree.
    pub fn new() -> FilterTree {
        FilterTree::default()
    }

    /// Adds a filter (not validated; the router only stores validated ones).
    pub fn insert(&mut self, filter: &str) {
        let id = self.len;
        self.tree.entry(filter, || id);
        self.len += 1;
    }

    /// How many stored filters match `topic`.
    pub fn count_matches(&self, topic: &str) -> usize {
        let mut n = 0;
        self.tree.for_each_filter_matching(topic, |_| n += 1);
        n
    }

    /// The ids (0 for the first `insert`, and so on) of the stored filters that match `topic`,
    /// as the router finds them.
    pub fn ids_matching(&self, topic: &str) -> Vec<u32> {
        let mut ids = Vec::new();
        self.tree
            .for_each_filter_matching(topic, |&id| ids.push(id));
        ids
    }

    /// The ids of the stored paths, read as topic names, that `filter` matches, as the retained
    /// store finds them.
    pub fn ids_matched_by(&self, filter: &str) -> Vec<u32> {
        let mut ids = Vec::new();
        self.tree
            .for_each_topic_matching(filter, |&id| ids.push(id));
        ids
    }

    /// Removes the path, pruning empty branches; returns its id.
    pub fn remove(&mut self, path: &str) -> Option<u32> {
        self.tree.remove_if(path, |_| true)
    }
}

pub use crate::persist::{RecordKind, UnreadableRecord};

/// One record of the persistence store, decoded: what the store reads back at start
/// (`persist::recover`) from each keyspace's values.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredRecord(Decoded);

#[derive(Debug, Clone, PartialEq)]
enum Decoded {
    Retained(hookmq_hooks::Message),
    QueueEntry(crate::persist::StoredEntry),
    Session(crate::persist::StoredSession),
}

impl StoredRecord {
    /// Reads `bytes` as a stored record of `kind`, as the store does at start.
    pub fn decode(kind: RecordKind, bytes: &[u8]) -> Result<StoredRecord, UnreadableRecord> {
        let b = bytes::Bytes::copy_from_slice(bytes);
        let decoded = match kind {
            RecordKind::Retained => crate::persist::get_message(&mut { b }).map(Decoded::Retained),
            RecordKind::QueueEntry => crate::persist::get_entry(b).map(Decoded::QueueEntry),
            RecordKind::Session => crate::persist::get_session(b).map(Decoded::Session),
        };
        decoded.map(StoredRecord).map_err(|e| e.of(kind))
    }

    /// The record as the store writes it now.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = bytes::BytesMut::new();
        match &self.0 {
            Decoded::Retained(m) => crate::persist::put_message(m, &mut out),
            Decoded::QueueEntry(e) => crate::persist::put_entry(e, &mut out),
            Decoded::Session(s) => crate::persist::put_session(s, &mut out),
        }
        out.to_vec()
    }
}
