//! Shared-subscription strategies: which member of a `$share/<group>/<filter>` group receives a
//! message. The router keeps one [`Picker`] per group, chosen from `[shared_subscriptions]` when
//! the group's first member subscribes, and asks it for a member index on every message. Picking
//! is sans-IO (members are a slice, whether one is connected is a closure) so each strategy's
//! distribution is tested here.
//!
//! Every strategy prefers connected members and falls back to any member (the message then waits
//! in that member's persistent session) when none is connected.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};

use rand::Rng;
use serde::{Deserialize, Serialize};

/// How a shared-subscription group picks the member for a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    /// Each member in turn.
    #[default]
    RoundRobin,
    /// A member chosen at random for each message.
    Random,
    /// The same member for all messages of one publisher (by its client id), so a device's
    /// messages stay in order at one consumer.
    HashClientid,
    /// The same member for all messages of one topic.
    HashTopic,
    /// One member until it unsubscribes or disconnects, then another.
    Sticky,
    /// Members on the publisher's node first (in a cluster); round robin among them.
    Local,
}

/// `[shared_subscriptions]`: the strategy of each group.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct SharedSubscriptionsConfig {
    /// Strategy of groups that `groups` does not name.
    pub strategy: Strategy,
    /// Strategy by group name; a key ending in `*` applies to every group whose name starts
    /// with the rest (the longest such prefix wins; an exact name wins over any prefix).
    pub groups: BTreeMap<String, Strategy>,
}

impl SharedSubscriptionsConfig {
    /// The strategy for the group named `group`.
    pub fn strategy_for(&self, group: &str) -> Strategy {
        if let Some(s) = self.groups.get(group) {
            return *s;
        }
        self.groups
            .iter()
            .filter_map(|(k, s)| Some((k.strip_suffix('*')?, s)))
            .filter(|(prefix, _)| group.starts_with(prefix))
            .max_by_key(|(prefix, _)| prefix.len())
            .map_or(self.strategy, |(_, s)| *s)
    }

    /// A key that can never match a group name, if any (for configuration errors).
    pub(crate) fn bad_key(&self) -> Option<&str> {
        self.groups
            .keys()
            .find(|k| {
                let name = k.strip_suffix('*').unwrap_or(k);
                // [MQTT-4.8.2-2] a ShareName has no `/`, `+` or `#`.
                k.is_empty() || name.contains(['/', '+', '#', '*'])
            })
            .map(String::as_str)
    }
}

/// What a strategy may key on in the message being routed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Keys<'a> {
    /// The publisher's client id.
    pub(crate) clientid: &'a str,
    /// The topic name.
    pub(crate) topic: &'a str,
}

/// Sticky member not chosen yet (or gone).
const NONE: usize = usize::MAX;

/// One group's strategy and its state.
#[derive(Debug)]
pub(crate) struct Picker {
    strategy: Strategy,
    /// Round robin: the next start. Sticky: the chosen member's index, or [`NONE`].
    cursor: AtomicUsize,
}

impl Picker {
    pub(crate) fn new(strategy: Strategy) -> Picker {
        let cursor = match strategy {
            Strategy::Sticky => NONE,
            _ => 0,
        };
        Picker {
            strategy,
            cursor: AtomicUsize::new(cursor),
        }
    }

    /// The index of the member in `0..n` that gets the message, or `None` without members.
    /// Called under the router's read lock: state changes are atomic.
    pub(crate) fn pick(
        &self,
        n: usize,
        online: impl Fn(usize) -> bool,
        keys: Keys<'_>,
    ) -> Option<usize> {
        if n == 0 {
            return None;
        }
        let from = |start: usize| {
            (0..n)
                .map(|k| (start + k) % n)
                .find(|&i| online(i))
                .unwrap_or(start % n)
        };
        Some(match self.strategy {
            Strategy::RoundRobin | Strategy::Local => {
                from(self.cursor.fetch_add(1, Ordering::Relaxed))
            }
            Strategy::Random => {
                let connected = (0..n).filter(|&i| online(i)).count();
                if connected == 0 {
                    rand::rng().random_range(0..n)
                } else {
                    let k = rand::rng().random_range(0..connected);
                    (0..n).filter(|&i| online(i)).nth(k).unwrap_or(0)
                }
            }
            Strategy::HashClientid => from(hash(keys.clientid)),
            Strategy::HashTopic => from(hash(keys.topic)),
            Strategy::Sticky => {
                let current = self.cursor.load(Ordering::Relaxed);
                if current < n && online(current) {
                    return Some(current);
                }
                let chosen = from(rand::rng().random_range(0..n));
                // Two routers choosing at once: the first choice sticks for both.
                match self.cursor.compare_exchange(
                    current,
                    chosen,
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => chosen,
                    Err(other) if other < n => other,
                    Err(_) => chosen,
                }
            }
        })
    }

    /// Member `index` left the group (the members after it moved down by one). Called under the
    /// router's write lock.
    pub(crate) fn removed(&self, index: usize) {
        if self.strategy == Strategy::Sticky {
            let current = self.cursor.load(Ordering::Relaxed);
            let next = match current {
                NONE => NONE,
                c if c == index => NONE,
                c if c > index => c - 1,
                c => c,
            };
            self.cursor.store(next, Ordering::Relaxed);
        }
    }
}

/// FNV-1a: stable across runs and nodes (unlike the standard library's hasher), so a key keeps
/// its member after a restart with the same members.
fn hash(key: &str) -> usize {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in key.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys<'a>(clientid: &'a str, topic: &'a str) -> Keys<'a> {
        Keys { clientid, topic }
    }

    fn picks(p: &Picker, n: usize, online: &[bool], k: Keys<'_>, times: usize) -> Vec<usize> {
        (0..times)
            .map(|_| p.pick(n, |i| online[i], k).unwrap())
            .collect()
    }

    #[test]
    fn round_robin_takes_connected_members_in_turn() {
        let p = Picker::new(Strategy::RoundRobin);
        let got = picks(&p, 3, &[true, false, true], keys("a", "t"), 4);
        assert_eq!(got, vec![0, 2, 2, 0]);
        assert_eq!(p.pick(0, |_| true, keys("a", "t")), None);
    }

    #[test]
    fn every_strategy_falls_back_to_some_member_when_none_is_connected() {
        for s in [
            Strategy::RoundRobin,
            Strategy::Random,
            Strategy::HashClientid,
            Strategy::HashTopic,
            Strategy::Sticky,
            Strategy::Local,
        ] {
            let p = Picker::new(s);
            assert!(p.pick(2, |_| false, keys("a", "t")).unwrap() < 2, "{s:?}");
        }
    }

    #[test]
    fn random_reaches_every_connected_member_and_no_other() {
        let p = Picker::new(Strategy::Random);
        let got = picks(&p, 4, &[true, true, false, true], keys("a", "t"), 400);
        for i in [0, 1, 3] {
            assert!(got.contains(&i), "member {i} never picked");
        }
        assert!(!got.contains(&2));
    }

    #[test]
    fn hashes_are_stable_per_key_and_spread_keys() {
        let by_client = Picker::new(Strategy::HashClientid);
        let by_topic = Picker::new(Strategy::HashTopic);
        let on = [true; 4];
        let mut members = std::collections::HashSet::new();
        for k in 0..32 {
            let id = format!("device-{k}");
            let a = picks(&by_client, 4, &on, keys(&id, "x"), 1)[0];
            // Other topics, same publisher: same member.
            assert_eq!(picks(&by_client, 4, &on, keys(&id, "y/z"), 5), vec![a; 5]);
            members.insert(a);
            let t = picks(&by_topic, 4, &on, keys("p", &id), 1)[0];
            assert_eq!(picks(&by_topic, 4, &on, keys("q", &id), 5), vec![t; 5]);
        }
        assert_eq!(members.len(), 4, "32 keys over 4 members reach all of them");
    }

    #[test]
    fn sticky_stays_until_its_member_goes() {
        let p = Picker::new(Strategy::Sticky);
        let mut online = vec![true; 3];
        let first = picks(&p, 3, &online, keys("a", "t"), 1)[0];
        assert_eq!(picks(&p, 3, &online, keys("b", "u"), 10), vec![first; 10]);
        online[first] = false;
        let second = picks(&p, 3, &online, keys("a", "t"), 1)[0];
        assert_ne!(second, first);
        // The first member coming back does not take it back.
        online[first] = true;
        assert_eq!(picks(&p, 3, &online, keys("a", "t"), 5), vec![second; 5]);
        // A member before the chosen one leaving shifts indexes, not the choice.
        if second > 0 {
            p.removed(0);
            assert_eq!(p.pick(2, |_| true, keys("a", "t")), Some(second - 1));
        } else {
            p.removed(0);
            assert!(p.pick(2, |_| true, keys("a", "t")).is_some());
        }
    }

    #[test]
    fn group_names_and_prefixes_choose_the_strategy() {
        let mut c = SharedSubscriptionsConfig::default();
        c.groups.insert("jobs".into(), Strategy::Sticky);
        c.groups.insert("dev*".into(), Strategy::HashClientid);
        c.groups.insert("devices-*".into(), Strategy::HashTopic);
        assert_eq!(c.strategy_for("jobs"), Strategy::Sticky);
        assert_eq!(c.strategy_for("jobs2"), Strategy::RoundRobin);
        assert_eq!(c.strategy_for("dev"), Strategy::HashClientid);
        assert_eq!(c.strategy_for("devices-eu"), Strategy::HashTopic);
        assert_eq!(c.bad_key(), None);
        c.groups.insert("a/b".into(), Strategy::Random);
        assert_eq!(c.bad_key(), Some("a/b"));
    }
}
