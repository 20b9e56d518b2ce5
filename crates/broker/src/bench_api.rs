//! Internals exposed for the micro-benchmarks in `bench/benches` only: not part of the API,
//! hidden from the docs, and free to change with the code it wraps.

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
}
