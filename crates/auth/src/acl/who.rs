//! Whose requests a rule is about: everyone, anonymous clients, a user name or client id
//! (exact or a regular expression), an IP range, or a combination.

use std::net::IpAddr;

use super::Requester;

/// An IP range in CIDR notation (`10.0.0.0/8`, `::1/128`, or a single address).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpRange {
    base: IpAddr,
    prefix: u8,
}

/// IPv4-mapped IPv6 addresses compare as the IPv4 address they carry.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

impl IpRange {
    /// Reads `addr` or `addr/prefix`.
    pub fn parse(text: &str) -> Result<IpRange, String> {
        let bad = || format!("{text:?} is not an IP address or CIDR range");
        let (addr, prefix) = match text.trim().split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (text.trim(), None),
        };
        let base = canonical(addr.parse::<IpAddr>().map_err(|_| bad())?);
        let max = if base.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p.parse::<u8>().ok().filter(|p| *p <= max).ok_or_else(bad)?,
            None => max,
        };
        Ok(IpRange { base, prefix })
    }

    /// Whether `ip` is in the range.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.base, canonical(ip)) {
            (IpAddr::V4(b), IpAddr::V4(i)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(b) & mask == u32::from(i) & mask
            }
            (IpAddr::V6(b), IpAddr::V6(i)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(b) & mask == u128::from(i) & mask
            }
            _ => false,
        }
    }
}

/// Longest regular expression accepted in an ACL rule, in bytes.
const MAX_REGEX_LEN: usize = 256;

/// Compiled size limit of one regular expression (and of its lazy DFA cache).
const REGEX_SIZE_LIMIT: usize = 1 << 16;

/// A text test on a user name or client id.
#[derive(Debug, Clone)]
pub enum TextMatch {
    /// Equal.
    Exact(String),
    /// A regular expression (EMQX's `{re, "..."}`).
    Regex(regex::Regex),
}

impl PartialEq for TextMatch {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (TextMatch::Exact(a), TextMatch::Exact(b)) => a == b,
            (TextMatch::Regex(a), TextMatch::Regex(b)) => a.as_str() == b.as_str(),
            _ => false,
        }
    }
}

impl Eq for TextMatch {}

impl TextMatch {
    /// A regular expression, bounded in length and compiled size: an ACL file is reloaded
    /// while the broker runs, and a pattern such as `(a?){500}` or `\w{100}` (Unicode classes)
    /// costs tens of milliseconds to compile up to a 1 MiB limit. Patterns for user names and
    /// client ids are short; 64 KiB of compiled program is far more than they need.
    pub fn regex(text: &str) -> Result<TextMatch, String> {
        if text.len() > MAX_REGEX_LEN {
            return Err(format!(
                "regular expression longer than {MAX_REGEX_LEN} bytes ({})",
                text.len()
            ));
        }
        regex::RegexBuilder::new(text)
            .size_limit(REGEX_SIZE_LIMIT)
            .dfa_size_limit(REGEX_SIZE_LIMIT)
            .build()
            .map(TextMatch::Regex)
            .map_err(|e| format!("bad regular expression {text:?}: {e}"))
    }

    fn matches(&self, s: &str) -> bool {
        match self {
            TextMatch::Exact(e) => e == s,
            TextMatch::Regex(r) => r.is_match(s),
        }
    }
}

/// Whose requests a rule is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Who {
    /// Every client.
    All,
    /// Clients without a user name (Mosquitto's lines before any `user`).
    Anonymous,
    /// A user name.
    Username(TextMatch),
    /// A client identifier.
    ClientId(TextMatch),
    /// Peers in any of these ranges.
    Ip(Vec<IpRange>),
    /// All of these.
    And(Vec<Who>),
    /// Any of these.
    Or(Vec<Who>),
}

impl Who {
    /// Whether the requester is one of them.
    pub(crate) fn matches(&self, r: &Requester<'_>) -> bool {
        match self {
            Who::All => true,
            Who::Anonymous => r.id.username.is_none(),
            Who::Username(m) => r.id.username.is_some_and(|u| m.matches(u)),
            Who::ClientId(m) => m.matches(r.id.clientid),
            Who::Ip(ranges) => ranges.iter().any(|n| n.contains(r.ip)),
            Who::And(all) => all.iter().all(|w| w.matches(r)),
            Who::Or(any) => any.iter().any(|w| w.matches(r)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr_ranges() {
        let n = IpRange::parse("10.1.0.0/16").unwrap();
        assert!(n.contains("10.1.200.3".parse().unwrap()));
        assert!(!n.contains("10.2.0.1".parse().unwrap()));
        assert!(n.contains("::ffff:10.1.0.9".parse().unwrap()));
        let all = IpRange::parse("0.0.0.0/0").unwrap();
        assert!(all.contains("8.8.8.8".parse().unwrap()));
        let one = IpRange::parse("127.0.0.1").unwrap();
        assert!(one.contains("127.0.0.1".parse().unwrap()));
        assert!(!one.contains("127.0.0.2".parse().unwrap()));
        let v6 = IpRange::parse("fd00::/8").unwrap();
        assert!(v6.contains("fd12::1".parse().unwrap()));
        assert!(!v6.contains("10.0.0.1".parse().unwrap()));
        for bad in ["10.0.0.0/33", "x", "10.0.0/8", "::/129", "1.2.3.4/"] {
            assert!(IpRange::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn regexes_are_bounded_in_length_and_compiled_size() {
        assert!(
            TextMatch::regex("^sensor-[0-9]+$")
                .unwrap()
                .matches("sensor-42")
        );
        let long = "a".repeat(MAX_REGEX_LEN + 1);
        assert!(TextMatch::regex(&long).unwrap_err().contains("longer than"));
        // Short, but compiles to far more than the limit.
        let e = TextMatch::regex(r"\w{100}\w{100}").unwrap_err();
        assert!(e.contains("bad regular expression"), "{e}");
    }
}
