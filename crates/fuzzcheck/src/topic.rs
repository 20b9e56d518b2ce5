//! The `topic` target: topic name and filter validation, shared-subscription parsing, matching,
//! and the broker's topic tree checked against the reference matcher.
//!
//! Input: lines of text (invalid UTF-8 replaced), each tried as a topic name, a topic filter and
//! a shared filter. Properties:
//! - validation: `TopicName::new` / `TopicFilter::new` agree with `validate_name` /
//!   `validate_filter`; a valid name is non-empty, without wildcards or U+0000, and matches itself
//!   as a filter; a valid `$share/` filter parses into a group without `/` or wildcards and a
//!   valid filter, which put back together give the input;
//! - matching: every topic made from a valid filter by filling its wildcards (`+` → one level,
//!   `#` → none or two levels) matches it;
//! - differential: with the valid filters in the broker's topic tree, the filters the router finds
//!   for each topic are exactly those `topic::matches` accepts; with the topics in a tree, the
//!   topics the retained store finds for each filter likewise; and after removing half the
//!   filters (pruning branches), routing still agrees, and an emptied tree matches nothing.

use std::collections::HashSet;

use hookmq_broker::bench_api::FilterTree;
use hookmq_codec::topic::{self, SharedFilter, TopicFilter, TopicName, matches};

/// At most this many lines of an input are used, to keep the differential quadratic part cheap.
pub const MAX_LINES: usize = 64;

/// Checks one input (see the module documentation).
pub fn check(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut filters: Vec<String> = Vec::new();
    let mut topics: Vec<String> = Vec::new();
    for line in text.split('\n').take(MAX_LINES) {
        if let Some(filter) = check_filter(line) {
            for topic in instances(&filter) {
                assert!(
                    matches(&filter, &topic),
                    "{filter:?} does not match its instance {topic:?}"
                );
                topics.push(topic);
            }
            filters.push(filter);
        }
        if check_name(line) {
            topics.push(line.to_owned());
        }
    }
    let filters = distinct(filters);
    let topics = distinct(topics);
    differential(&filters, &topics);
}

/// Checks `line` as a filter; returns the filter routing uses (without `$share/group/`).
fn check_filter(line: &str) -> Option<String> {
    let shared = SharedFilter::parse(line);
    if let Ok(s) = &shared {
        assert!(
            !s.group.is_empty() && !s.group.contains(['/', '+', '#']),
            "bad share group {:?} in {line:?}",
            s.group
        );
        assert!(
            topic::validate_filter(s.filter).is_ok(),
            "bad filter in {line:?}"
        );
        assert_eq!(format!("$share/{}/{}", s.group, s.filter), line);
    }
    let filter = TopicFilter::new(line);
    let Ok(filter) = filter else {
        // TopicFilter::new is validate_filter plus the share rules.
        if topic::validate_filter(line).is_ok() {
            assert!(
                line.starts_with("$share/") || line == "$share",
                "{line:?} passes validate_filter but not TopicFilter::new"
            );
        }
        return None;
    };
    assert!(topic::validate_filter(line).is_ok());
    assert_eq!(filter.as_str(), line);
    assert_eq!(filter.shared().is_some(), line.starts_with("$share/"));
    assert_eq!(filter.shared(), shared.ok());
    let real = filter.real_filter();
    assert!(topic::validate_filter(real).is_ok(), "real filter {real:?}");
    assert_eq!(filter.has_wildcard(), real.contains(['+', '#']));
    Some(real.to_owned())
}

/// Checks `line` as a topic name; returns whether it is one.
fn check_name(line: &str) -> bool {
    let valid = topic::validate_name(line).is_ok();
    let Ok(name) = TopicName::new(line) else {
        assert!(
            !valid,
            "validate_name and TopicName::new disagree on {line:?}"
        );
        return false;
    };
    assert!(
        valid,
        "validate_name and TopicName::new disagree on {line:?}"
    );
    assert!(!line.is_empty() && !line.contains(['+', '#', '\0']));
    assert_eq!(name.is_dollar(), line.starts_with('$'));
    assert!(matches(line, line), "{line:?} does not match itself");
    true
}

/// Topic names made by filling the wildcards of `filter`; those that are valid names.
fn instances(filter: &str) -> Vec<String> {
    let fill = |hash: Option<&str>| {
        let mut levels = Vec::new();
        for level in filter.split('/') {
            match level {
                "+" => levels.push("p"),
                "#" => levels.extend(hash),
                literal => levels.push(literal),
            }
        }
        levels.join("/")
    };
    let mut out = vec![fill(None), fill(Some("h/i"))];
    out.retain(|t| topic::validate_name(t).is_ok());
    out
}

fn distinct(items: Vec<String>) -> Vec<String> {
    let mut seen = HashSet::new();
    items
        .into_iter()
        .filter(|item| seen.insert(item.clone()))
        .collect()
}

fn ids(n: usize, keep: impl Fn(usize) -> bool) -> Vec<u32> {
    (0..n).filter(|&i| keep(i)).map(|i| i as u32).collect()
}

fn sorted(mut ids: Vec<u32>) -> Vec<u32> {
    ids.sort_unstable();
    ids
}

/// The broker's tree against `topic::matches`, both directions, before and after removals.
fn differential(filters: &[String], topics: &[String]) {
    let mut router = FilterTree::new();
    for filter in filters {
        router.insert(filter);
    }
    let route = |router: &FilterTree, present: &dyn Fn(usize) -> bool| {
        for topic in topics {
            let want = ids(filters.len(), |i| present(i) && matches(&filters[i], topic));
            let got = sorted(router.ids_matching(topic));
            assert_eq!(
                got, want,
                "router and matches() disagree on {topic:?} with filters {filters:?}"
            );
        }
    };
    route(&router, &|_| true);

    let mut retained = FilterTree::new();
    for topic in topics {
        retained.insert(topic);
    }
    for filter in filters {
        let want = ids(topics.len(), |i| matches(filter, &topics[i]));
        let got = sorted(retained.ids_matched_by(filter));
        assert_eq!(
            got, want,
            "retained store and matches() disagree on {filter:?} with topics {topics:?}"
        );
    }

    for (i, filter) in filters.iter().enumerate().filter(|(i, _)| i % 2 == 1) {
        assert_eq!(router.remove(filter), Some(i as u32), "removing {filter:?}");
    }
    route(&router, &|i| i % 2 == 0);
    for (i, filter) in filters.iter().enumerate().filter(|(i, _)| i % 2 == 0) {
        assert_eq!(router.remove(filter), Some(i as u32), "removing {filter:?}");
    }
    route(&router, &|_| false);
}
