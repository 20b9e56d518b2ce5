//! MQTT topics and filters as NATS subjects, and the other subjects the cluster uses.
//!
//! A topic `a/b/c` is published on `<prefix>.m.a.b.c`: one NATS token per MQTT level. A filter
//! maps the same way with `+` as `*` and `#` as `>`; since `a/#` also matches `a`, it takes two
//! subjects (`….a.>` and `….a`). NATS tokens cannot carry `.` or white space, cannot be empty,
//! and `*` / `>` alone are wildcards, so each level is escaped reversibly:
//!
//! * an empty level is the token `%` alone (an escaped level never is);
//! * inside a level, `%` `.` `*` `>` `$`, space, and every byte below 0x21 or equal to 0x7F are
//!   written `%XX` (two upper-case hex digits); everything else, UTF-8 included, stays as it is.
//!
//! `$` is escaped so that no subject of ours starts a token with `$` (NATS reserves `$SYS`, `$JS`
//! and friends). A topic whose subject would exceed [`MAX_SUBJECT`] bytes is published on
//! `<prefix>.x` instead, which every node subscribes to; a filter that long is cut to its first
//! levels and ends in `>`. Both only widen what a node receives: the receiving node's router
//! matches the real topic against its filters, so the NATS side may be coarser, never finer.

use std::fmt::Write as _;

/// The longest subject we publish or subscribe on, well inside NATS's default 4 KiB control
/// line.
pub const MAX_SUBJECT: usize = 1024;

/// The subjects of one cluster (`hookmq.<name>.…`).
#[derive(Debug, Clone)]
pub struct Subjects {
    prefix: String,
}

impl Subjects {
    /// The subjects of cluster `name`.
    pub fn new(name: &str) -> Subjects {
        Subjects {
            prefix: format!("hookmq.{name}"),
        }
    }

    /// Where a message on `topic` is published.
    pub fn topic(&self, topic: &str) -> String {
        let mut s = String::with_capacity(self.prefix.len() + 3 + topic.len() + 8);
        s.push_str(&self.prefix);
        s.push_str(".m");
        for level in topic.split('/') {
            s.push('.');
            escape_level(level, &mut s);
        }
        if s.len() > MAX_SUBJECT {
            return self.long_topics();
        }
        s
    }

    /// The subject of topics too long for [`Subjects::topic`].
    pub fn long_topics(&self) -> String {
        format!("{}.x", self.prefix)
    }

    /// The subjects to subscribe for `filter` (without `$share`): one, or two for a trailing
    /// `#`, which also matches its parent level.
    pub fn filter(&self, filter: &str) -> Vec<String> {
        let mut s = String::with_capacity(self.prefix.len() + 3 + filter.len() + 8);
        s.push_str(&self.prefix);
        s.push_str(".m");
        let mut parent = None;
        let mut levels = filter.split('/').peekable();
        while let Some(level) = levels.next() {
            if s.len() + level.len() + 2 > MAX_SUBJECT {
                // Too long: everything below what fits.
                s.push_str(".>");
                return vec![s];
            }
            match level {
                "#" if levels.peek().is_none() => {
                    if s.len() > self.prefix.len() + 2 {
                        parent = Some(s.clone());
                    }
                    s.push_str(".>");
                }
                "+" => s.push_str(".*"),
                _ => {
                    s.push('.');
                    escape_level(level, &mut s);
                }
            }
        }
        match parent {
            Some(p) => vec![s, p],
            None => vec![s],
        }
    }

    /// The NATS queue group of shared subscription `$share/<group>/<filter>`: a digest, since
    /// queue names must be plain tokens and group and filter may hold anything.
    pub fn queue(&self, group: &str, filter: &str) -> String {
        let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
        ctx.update(group.as_bytes());
        ctx.update(&[0]);
        ctx.update(filter.as_bytes());
        let digest = ctx.finish();
        let mut q = String::with_capacity(33);
        q.push('q');
        for b in &digest.as_ref()[..16] {
            let _ = write!(q, "{b:02x}");
        }
        q
    }

    /// Requests to one node (takeover, clients), by the node's key.
    pub fn node(&self, node_key: &str, what: &str) -> String {
        format!("{}.n.{node_key}.{what}", self.prefix)
    }

    /// Requests every node answers (cluster-wide queries).
    pub fn all_nodes(&self, what: &str) -> String {
        format!("{}.all.{what}", self.prefix)
    }
}

/// Appends one MQTT level as a NATS token.
pub fn escape_level(level: &str, out: &mut String) {
    if level.is_empty() {
        out.push('%');
        return;
    }
    for c in level.chars() {
        match c {
            '%' | '.' | '*' | '>' | '$' | ' ' | '\u{7f}' | '\0'..='\u{20}' => {
                let _ = write!(out, "%{:02X}", c as u32);
            }
            _ => out.push(c),
        }
    }
}

/// Reads a token written by [`escape_level`] back; `None` if it is not one.
pub fn unescape_level(token: &str) -> Option<String> {
    if token == "%" {
        return Some(String::new());
    }
    let bytes = token.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = token.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The topic of a subject made by [`Subjects::topic`] under `prefix.m`; `None` if it is not one.
pub fn topic_of(subjects: &Subjects, subject: &str) -> Option<String> {
    let rest = subject
        .strip_prefix(subjects.prefix.as_str())?
        .strip_prefix(".m.")?;
    let levels: Option<Vec<String>> = rest.split('.').map(unescape_level).collect();
    Some(levels?.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn s() -> Subjects {
        Subjects::new("c1")
    }

    #[test]
    fn topics_become_one_token_per_level_escaped() {
        assert_eq!(s().topic("a/b"), "hookmq.c1.m.a.b");
        assert_eq!(s().topic("/a//b/"), "hookmq.c1.m.%.a.%.b.%");
        assert_eq!(
            s().topic("v1.2/x y/$SYS/*/>/100%"),
            "hookmq.c1.m.v1%2E2.x%20y.%24SYS.%2A.%3E.100%25"
        );
        assert_eq!(s().topic("t\tab\r\n"), "hookmq.c1.m.t%09ab%0D%0A");
        assert_eq!(s().topic("温度/ü"), "hookmq.c1.m.温度.ü");
    }

    #[test]
    fn filters_map_wildcards_and_a_trailing_hash_takes_its_parent() {
        assert_eq!(s().filter("a/+/c"), ["hookmq.c1.m.a.*.c"]);
        assert_eq!(s().filter("a/#"), ["hookmq.c1.m.a.>", "hookmq.c1.m.a"]);
        assert_eq!(s().filter("#"), ["hookmq.c1.m.>"]);
        assert_eq!(s().filter("+/x.y"), ["hookmq.c1.m.*.x%2Ey"]);
        assert_eq!(s().filter("/"), ["hookmq.c1.m.%.%"]);
    }

    #[test]
    fn too_long_topics_and_filters_widen_never_narrow() {
        let long = "l".repeat(MAX_SUBJECT);
        assert_eq!(s().topic(&format!("a/{long}")), "hookmq.c1.x");
        let f = s().filter(&format!("a/{long}/b"));
        assert_eq!(f, ["hookmq.c1.m.a.>"]);
    }

    #[test]
    fn queue_names_are_plain_tokens_and_tell_groups_apart() {
        let q = s().queue("g", "a/b");
        assert_eq!(q.len(), 33);
        assert!(q.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(q, s().queue("g/a", "b"));
        assert_ne!(q, s().queue("g", "a/c"));
    }

    proptest! {
        #[test]
        fn escaping_is_reversible_and_yields_valid_tokens(level in "\\PC{0,12}|[ .*>$%\\t]{0,6}") {
            let mut t = String::new();
            escape_level(&level, &mut t);
            prop_assert!(!t.is_empty());
            prop_assert!(!t.contains(['.', ' ', '\t', '\r', '\n', '*', '>', '$']));
            prop_assert_eq!(unescape_level(&t), Some(level));
        }

        #[test]
        fn a_topic_comes_back_from_its_subject(levels in proptest::collection::vec("[a-z. $%*>]{0,5}", 1..6)) {
            let topic = levels.join("/");
            let subject = s().topic(&topic);
            prop_assert_eq!(topic_of(&s(), &subject), Some(topic));
        }
    }
}
