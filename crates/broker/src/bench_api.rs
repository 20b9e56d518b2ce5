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
