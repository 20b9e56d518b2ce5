//! A tree keyed by topic levels, used twice: the router stores subscriptions at filter paths and
//! asks which filters match a topic; the retained store stores messages at topic paths and asks
//! which topics match a filter. Both follow [MQTT-4.7]: `+` is one level, `#` is any number of
//! levels including none, and root wildcards never match `$` topics ([MQTT-4.7.2-1]).

use std::collections::HashMap;

/// The deepest path the tree is asked to hold or walk. Matching and removal recurse once per
/// level, so this bounds their stack use; `mqtt.max_topic_levels` may not exceed it, and every
/// topic or filter is checked against that limit before it reaches a tree (client publishes and
/// subscriptions, wills, `message.publish` rewrites, the management API). Measured in a debug
/// build, a walk takes up to 465 bytes of stack per level (release builds take less), so this
/// depth needs under 0.5 MiB of a tokio worker's 2 MiB; a test walks it on a 1 MiB stack.
pub(crate) const MAX_DEPTH: usize = 1024;

/// A node: a value and children by level.
#[derive(Debug, Default)]
pub(crate) struct TopicTree<V> {
    /// Boxed: most nodes are inner levels without a value, and every node sits in its parent's
    /// map, whose table would otherwise reserve a value's room in every slot (with one
    /// subscription per client on its own topic, that was most of the router's memory).
    value: Option<Box<V>>,
    children: HashMap<Box<str>, TopicTree<V>>,
}

impl<V> TopicTree<V> {
    /// An empty tree.
    pub(crate) fn new() -> TopicTree<V> {
        TopicTree {
            value: None,
            children: HashMap::new(),
        }
    }

    /// The value at `path` (levels separated by `/`), created with `init` if missing. Callers
    /// keep `path` within [`MAX_DEPTH`] levels.
    pub(crate) fn entry(&mut self, path: &str, init: impl FnOnce() -> V) -> &mut V {
        let mut node = self;
        for level in path.split('/') {
            node = node
                .children
                .entry(level.into())
                .or_insert_with(TopicTree::new);
        }
        node.value.get_or_insert_with(|| Box::new(init()))
    }

    /// The value at `path`, if any.
    pub(crate) fn get_mut(&mut self, path: &str) -> Option<&mut V> {
        let mut node = self;
        for level in path.split('/') {
            node = node.children.get_mut(level)?;
        }
        node.value.as_deref_mut()
    }

    /// The value at `path`, if any.
    pub(crate) fn get(&self, path: &str) -> Option<&V> {
        let mut node = self;
        for level in path.split('/') {
            node = node.children.get(level)?;
        }
        node.value.as_deref()
    }

    /// Removes the value at `path` if `remove(value)` says so, pruning empty branches.
    /// Returns the removed value.
    pub(crate) fn remove_if(
        &mut self,
        path: &str,
        remove: impl FnOnce(&mut V) -> bool,
    ) -> Option<V> {
        let levels: Vec<&str> = path.split('/').collect();
        if levels.len() > MAX_DEPTH {
            // Nothing that deep is stored.
            return None;
        }
        Self::remove_at(self, &levels, remove).0
    }

    fn remove_at(
        node: &mut TopicTree<V>,
        levels: &[&str],
        remove: impl FnOnce(&mut V) -> bool,
    ) -> (Option<V>, bool) {
        let removed = match levels.split_first() {
            None => match node.value.as_mut() {
                Some(v) => {
                    if remove(v) {
                        node.value.take().map(|v| *v)
                    } else {
                        None
                    }
                }
                None => None,
            },
            Some((first, rest)) => {
                let Some(child) = node.children.get_mut(*first) else {
                    return (None, false);
                };
                let (removed, prune) = Self::remove_at(child, rest, remove);
                if prune {
                    node.children.remove(*first);
                    // Give a table back once most of it is empty (many clients left).
                    if node.children.len() * 4 < node.children.capacity() {
                        node.children.shrink_to_fit();
                    }
                }
                removed
            }
        };
        (removed, node.value.is_none() && node.children.is_empty())
    }

    /// Visits the values of every filter path that matches `topic`.
    pub(crate) fn for_each_filter_matching<'a>(
        &'a self,
        topic: &str,
        mut visit: impl FnMut(&'a V),
    ) {
        let levels: Vec<&str> = topic.split('/').collect();
        if levels.len() > MAX_DEPTH {
            // No stored filter is that deep, and walking it would only spend stack.
            return;
        }
        let dollar = topic.starts_with('$');
        self.filters_at(&levels, 0, dollar, &mut visit);
    }

    fn filters_at<'a>(
        &'a self,
        levels: &[&str],
        i: usize,
        dollar: bool,
        visit: &mut impl FnMut(&'a V),
    ) {
        let root_wildcards_allowed = !(i == 0 && dollar);
        if root_wildcards_allowed
            && let Some(hash) = self.children.get("#")
            && let Some(v) = &hash.value
        {
            // `a/#` matches `a` itself and everything below it.
            visit(v);
        }
        let Some(level) = levels.get(i) else {
            if let Some(v) = &self.value {
                visit(v);
            }
            return;
        };
        if let Some(child) = self.children.get(*level) {
            child.filters_at(levels, i + 1, dollar, visit);
        }
        if root_wildcards_allowed && let Some(plus) = self.children.get("+") {
            plus.filters_at(levels, i + 1, dollar, visit);
        }
    }

    /// Visits the values of every topic path that `filter` matches.
    pub(crate) fn for_each_topic_matching<'a>(
        &'a self,
        filter: &str,
        mut visit: impl FnMut(&'a V),
    ) {
        let levels: Vec<&str> = filter.split('/').collect();
        if levels.len() > MAX_DEPTH {
            return;
        }
        self.topics_at(&levels, 0, &mut visit);
    }

    fn topics_at<'a>(&'a self, levels: &[&str], i: usize, visit: &mut impl FnMut(&'a V)) {
        let Some(level) = levels.get(i) else {
            if let Some(v) = &self.value {
                visit(v);
            }
            return;
        };
        match *level {
            "#" => {
                if let Some(v) = &self.value {
                    visit(v);
                }
                for (name, child) in &self.children {
                    if i == 0 && name.starts_with('$') {
                        continue;
                    }
                    child.visit_all(visit);
                }
            }
            "+" => {
                for (name, child) in &self.children {
                    if i == 0 && name.starts_with('$') {
                        continue;
                    }
                    child.topics_at(levels, i + 1, visit);
                }
            }
            literal => {
                if let Some(child) = self.children.get(literal) {
                    child.topics_at(levels, i + 1, visit);
                }
            }
        }
    }

    fn visit_all<'a>(&'a self, visit: &mut impl FnMut(&'a V)) {
        if let Some(v) = &self.value {
            visit(v);
        }
        for child in self.children.values() {
            child.visit_all(visit);
        }
    }

    /// Visits every value.
    pub(crate) fn for_each<'a>(&'a self, mut visit: impl FnMut(&'a V)) {
        self.visit_all(&mut visit);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hookmq_codec::topic::matches;

    const FILTERS: &[&str] = &[
        "#",
        "+",
        "a",
        "a/#",
        "a/+",
        "+/b",
        "a/b",
        "a/b/c",
        "+/+/+",
        "$SYS/#",
        "$SYS/+",
        "a//b",
        "/#",
        "+/#",
        "a/+/c",
        "sport/tennis/#",
    ];
    const TOPICS: &[&str] = &[
        "a",
        "a/b",
        "a/b/c",
        "b",
        "$SYS/x",
        "$SYS",
        "a//b",
        "/a",
        "/",
        "sport/tennis",
        "sport/tennis/p1",
        "x/y/z",
        "$other/b",
    ];

    #[test]
    fn filter_matching_agrees_with_the_reference_matcher() {
        let mut tree = TopicTree::new();
        for f in FILTERS {
            tree.entry(f, || f.to_string());
        }
        for t in TOPICS {
            let mut got: Vec<&str> = Vec::new();
            tree.for_each_filter_matching(t, |v| got.push(v));
            got.sort();
            let mut want: Vec<&str> = FILTERS.iter().copied().filter(|f| matches(f, t)).collect();
            want.sort();
            assert_eq!(got, want, "topic {t:?}");
        }
    }

    #[test]
    fn topic_matching_agrees_with_the_reference_matcher() {
        let mut tree = TopicTree::new();
        for t in TOPICS {
            tree.entry(t, || t.to_string());
        }
        for f in FILTERS {
            let mut got: Vec<&str> = Vec::new();
            tree.for_each_topic_matching(f, |v| got.push(v));
            got.sort();
            let mut want: Vec<&str> = TOPICS.iter().copied().filter(|t| matches(f, t)).collect();
            want.sort();
            assert_eq!(got, want, "filter {f:?}");
        }
    }

    #[test]
    fn paths_of_the_deepest_allowed_level_are_walked_on_a_small_stack() {
        // Half a tokio worker's 2 MiB, in a debug build (the larger frames).
        let walk = std::thread::Builder::new()
            .stack_size(1024 * 1024)
            .spawn(|| {
                let plus = vec!["+"; MAX_DEPTH].join("/");
                let deep = vec!["a"; MAX_DEPTH].join("/");
                let hash = format!("{}/#", vec!["a"; MAX_DEPTH - 1].join("/"));
                let mut tree = TopicTree::new();
                for path in [&plus, &deep, &hash] {
                    tree.entry(path, || path.len());
                }
                let mut matched = 0;
                tree.for_each_filter_matching(&deep, |_| matched += 1);
                let mut retained = 0;
                tree.for_each_topic_matching(&plus, |_| retained += 1);
                tree.for_each_topic_matching("#", |_| retained += 1);
                let removed = tree.remove_if(&deep, |_| true);
                (matched, retained, removed.is_some())
            })
            .unwrap();
        assert_eq!(walk.join().unwrap(), (3, 6, true));
    }

    #[test]
    fn removal_prunes_empty_branches() {
        let mut tree = TopicTree::new();
        tree.entry("a/b/c", || 1);
        tree.entry("a/b", || 2);
        assert_eq!(tree.remove_if("a/b/c", |_| true), Some(1));
        assert!(tree.get("a/b").is_some());
        assert_eq!(tree.remove_if("a/b", |_| false), None);
        assert_eq!(tree.remove_if("a/b", |_| true), Some(2));
        assert!(tree.children.is_empty());
    }
}
