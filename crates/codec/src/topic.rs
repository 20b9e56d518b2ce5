//! Topic names and topic filters: validation, shared-subscription parsing and matching.
//!
//! The decoder validates every topic it reads with these types; the broker's router, retained
//! store and hook topic filters use [`matches()`] (or their own trie built on the same rules).

use std::fmt;

use bytestring::ByteString;

use crate::error::TopicError;

/// Longest topic a UTF-8 string field can carry.
pub const MAX_TOPIC_LEN: usize = 65_535;

/// The number of levels of a topic name or filter: one more than its `/` separators (an empty
/// level counts: `a//b` has three, `/a` two). Brokers bound it (`max_topic_levels`); the
/// specification does not, and topic trees walk a topic one level at a time.
pub fn levels(topic: &str) -> usize {
    topic.bytes().filter(|&b| b == b'/').count() + 1
}

/// A validated topic name: non-empty, no wildcard characters, no U+0000
/// ([MQTT-4.7.3-1], [MQTT-3.3.2-2], [MQTT-1.5.4-2]).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TopicName(ByteString);

impl TopicName {
    /// Validates `s` as a topic name.
    pub fn new(s: impl Into<ByteString>) -> Result<TopicName, TopicError> {
        let s = s.into();
        validate_name(&s)?;
        Ok(TopicName(s))
    }

    /// The topic as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The underlying shared string (cheap to clone).
    pub fn as_bytestring(&self) -> &ByteString {
        &self.0
    }

    /// Consumes the name, returning the shared string.
    pub fn into_inner(self) -> ByteString {
        self.0
    }

    /// True for topics starting with `$` (e.g. `$SYS/...`), which root wildcards do not match.
    pub fn is_dollar(&self) -> bool {
        self.0.starts_with('$')
    }
}

/// Checks the topic-name rules without building a [`TopicName`].
pub fn validate_name(s: &str) -> Result<(), TopicError> {
    if s.is_empty() {
        return Err(TopicError::Empty);
    }
    if s.len() > MAX_TOPIC_LEN {
        return Err(TopicError::TooLong);
    }
    // [MQTT-3.3.2-2] The Topic Name in the PUBLISH packet MUST NOT contain wildcard characters.
    if s.bytes().any(|b| b == b'+' || b == b'#') {
        return Err(TopicError::WildcardInName);
    }
    // [MQTT-1.5.4-2] A UTF-8 Encoded String MUST NOT include an encoding of the null character.
    if s.bytes().any(|b| b == 0) {
        return Err(TopicError::NullCharacter);
    }
    Ok(())
}

/// A validated topic filter, possibly a shared one (`$share/group/filter`).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TopicFilter(ByteString);

impl TopicFilter {
    /// Validates `s` as a topic filter ([MQTT-4.7.1-1..3]); a `$share/` filter must have a
    /// non-empty group without wildcards or `/` and a valid filter after it.
    pub fn new(s: impl Into<ByteString>) -> Result<TopicFilter, TopicError> {
        let s = s.into();
        validate_filter(&s)?;
        if s.starts_with("$share/") || &*s == "$share" {
            SharedFilter::parse(&s)?;
        }
        Ok(TopicFilter(s))
    }

    /// The filter as a string, including any `$share/group/` prefix.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The underlying shared string.
    pub fn as_bytestring(&self) -> &ByteString {
        &self.0
    }

    /// Consumes the filter, returning the shared string.
    pub fn into_inner(self) -> ByteString {
        self.0
    }

    /// The shared-subscription parts, if this is a `$share/group/filter`.
    pub fn shared(&self) -> Option<SharedFilter<'_>> {
        SharedFilter::parse(&self.0).ok()
    }

    /// The filter used for matching: the part after `$share/group/`, or the whole filter.
    pub fn real_filter(&self) -> &str {
        match self.shared() {
            Some(s) => s.filter,
            None => &self.0,
        }
    }

    /// True if the matching filter contains `+` or `#`.
    pub fn has_wildcard(&self) -> bool {
        self.real_filter().bytes().any(|b| b == b'+' || b == b'#')
    }
}

/// Checks the topic-filter rules ([MQTT-4.7.1-2], [MQTT-4.7.1-3], [MQTT-4.7.3-1]).
pub fn validate_filter(s: &str) -> Result<(), TopicError> {
    if s.is_empty() {
        return Err(TopicError::Empty);
    }
    if s.len() > MAX_TOPIC_LEN {
        return Err(TopicError::TooLong);
    }
    if s.bytes().any(|b| b == 0) {
        return Err(TopicError::NullCharacter);
    }
    let mut levels = s.split('/').peekable();
    while let Some(level) = levels.next() {
        if level.contains('#') {
            // [MQTT-4.7.1-2] `#` must be the last character and occupy a whole level.
            if level != "#" || levels.peek().is_some() {
                return Err(TopicError::MisplacedMultiLevelWildcard);
            }
        } else if level.contains('+') && level != "+" {
            // [MQTT-4.7.1-3] `+` must occupy an entire level.
            return Err(TopicError::MisplacedSingleLevelWildcard);
        }
    }
    Ok(())
}

/// The parts of a shared subscription filter `$share/{group}/{filter}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SharedFilter<'a> {
    /// Share name.
    pub group: &'a str,
    /// The topic filter subscribers of the group match against.
    pub filter: &'a str,
}

impl<'a> SharedFilter<'a> {
    /// Parses `$share/group/filter` ([MQTT-4.8.2-1], [MQTT-4.8.2-2]).
    pub fn parse(s: &'a str) -> Result<SharedFilter<'a>, TopicError> {
        let rest = s.strip_prefix("$share/").ok_or(TopicError::InvalidShare)?;
        let (group, filter) = rest.split_once('/').ok_or(TopicError::InvalidShare)?;
        if group.is_empty() || group.contains(['+', '#']) || filter.is_empty() {
            return Err(TopicError::InvalidShare);
        }
        validate_filter(filter)?;
        Ok(SharedFilter { group, filter })
    }
}

/// Whether `filter` (without any `$share/` prefix) matches `topic` ([MQTT-4.7]).
/// Filters starting with a wildcard do not match topics starting with `$` ([MQTT-4.7.2-1]).
pub fn matches(filter: &str, topic: &str) -> bool {
    if topic.starts_with('$') && (filter.starts_with('+') || filter.starts_with('#')) {
        return false;
    }
    let mut f = filter.split('/');
    let mut t = topic.split('/');
    loop {
        match (f.next(), t.next()) {
            (Some("#"), _) => return true,
            (Some("+"), Some(_)) => {}
            (Some(a), Some(b)) if a == b => {}
            (None, None) => return true,
            _ => return false,
        }
    }
}

impl fmt::Debug for TopicName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl fmt::Display for TopicName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for TopicFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl fmt::Display for TopicFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_count_empty_levels_too() {
        assert_eq!(levels("a"), 1);
        assert_eq!(levels("a/b/c"), 3);
        assert_eq!(levels("/a"), 2);
        assert_eq!(levels("a//b/"), 4);
        assert_eq!(levels("/"), 2);
        assert_eq!(levels(&"/".repeat(65_535)), 65_536);
    }

    #[test]
    fn wildcard_matching_follows_the_spec_examples() {
        assert!(matches("sport/tennis/player1/#", "sport/tennis/player1"));
        assert!(matches(
            "sport/tennis/player1/#",
            "sport/tennis/player1/ranking"
        ));
        assert!(matches("sport/#", "sport"));
        assert!(matches("+/+", "/finance"));
        assert!(matches("/+", "/finance"));
        assert!(!matches("+", "/finance"));
        assert!(matches("sport/+", "sport/"));
        assert!(!matches("sport/+", "sport"));
        assert!(!matches("#", "$SYS/brokers"));
        assert!(!matches("+/monitor/Clients", "$SYS/monitor/Clients"));
        assert!(matches("$SYS/#", "$SYS/monitor/Clients"));
        assert!(matches("$SYS/monitor/+", "$SYS/monitor/Clients"));
    }

    #[test]
    fn filter_validation_rejects_misplaced_wildcards() {
        for bad in [
            "sport/tennis#",
            "sport/tennis/#/ranking",
            "sport+",
            "a/b+/c",
            "",
            "a\0b",
        ] {
            assert!(validate_filter(bad).is_err(), "{bad:?} accepted");
        }
        for good in ["#", "+", "+/tennis/#", "sport/+/player1", "/", "a//b"] {
            assert!(validate_filter(good).is_ok(), "{good:?} rejected");
        }
    }

    #[test]
    fn shared_filters_parse_group_and_filter() {
        let f = TopicFilter::new("$share/g1/a/+/c").unwrap();
        assert_eq!(
            f.shared(),
            Some(SharedFilter {
                group: "g1",
                filter: "a/+/c"
            })
        );
        assert_eq!(f.real_filter(), "a/+/c");
        for bad in [
            "$share/g1",
            "$share//a",
            "$share/g+/a",
            "$share/g/",
            "$share",
        ] {
            assert!(TopicFilter::new(bad).is_err(), "{bad:?} accepted");
        }
    }
}
