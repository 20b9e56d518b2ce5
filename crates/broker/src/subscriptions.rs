//! A session's own list of its subscriptions by full filter, kept so the session can be stored,
//! listed by the management API and removed from the router when it ends. The router has its
//! own index for matching; this one is only looked up by exact filter, on SUBSCRIBE and
//! UNSUBSCRIBE.
//!
//! Most clients hold one to a few subscriptions for hours, so the layout is chosen for memory:
//! a sorted vector costs one allocation the size of its entries, where a `BTreeMap` allocated an
//! 11-slot node (about 500 bytes) for the first subscription of every connected client.

use bytestring::ByteString;

use crate::session::Subscription;

/// Subscriptions by filter, in filter order.
#[derive(Debug, Default)]
pub(crate) struct SubscriptionMap {
    entries: Vec<(ByteString, Subscription)>,
}

impl SubscriptionMap {
    fn find(&self, filter: &str) -> Result<usize, usize> {
        self.entries
            .binary_search_by(|(f, _)| <ByteString as AsRef<str>>::as_ref(f).cmp(filter))
    }

    /// Whether the session holds `filter`.
    pub(crate) fn contains_key(&self, filter: &str) -> bool {
        self.find(filter).is_ok()
    }

    /// Adds or replaces a subscription ([MQTT-3.8.4-3]); returns the one it replaced.
    pub(crate) fn insert(&mut self, filter: ByteString, sub: Subscription) -> Option<Subscription> {
        match self.find(&filter) {
            Ok(i) => Some(std::mem::replace(&mut self.entries[i].1, sub)),
            Err(i) => {
                // Grow by one for the first few: most clients never hold more.
                if self.entries.len() == self.entries.capacity() && self.entries.len() < 4 {
                    self.entries.reserve_exact(1);
                }
                self.entries.insert(i, (filter, sub));
                None
            }
        }
    }

    /// Removes a subscription; returns it if it was held.
    pub(crate) fn remove(&mut self, filter: &str) -> Option<Subscription> {
        let i = self.find(filter).ok()?;
        let (_, sub) = self.entries.remove(i);
        if self.entries.len() * 4 < self.entries.capacity() {
            self.entries.shrink_to_fit();
        }
        Some(sub)
    }

    /// The subscriptions in filter order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&ByteString, &Subscription)> {
        self.entries.iter().map(|(f, s)| (f, s))
    }

    /// The filters in order.
    pub(crate) fn keys(&self) -> impl Iterator<Item = &ByteString> {
        self.entries.iter().map(|(f, _)| f)
    }

    /// How many there are.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Takes them all, leaving the map empty.
    pub(crate) fn take(&mut self) -> Vec<(ByteString, Subscription)> {
        std::mem::take(&mut self.entries)
    }
}

impl<'a> IntoIterator for &'a SubscriptionMap {
    type Item = (&'a ByteString, &'a Subscription);
    type IntoIter = std::iter::Map<
        std::slice::Iter<'a, (ByteString, Subscription)>,
        fn(&'a (ByteString, Subscription)) -> (&'a ByteString, &'a Subscription),
    >;

    fn into_iter(self) -> Self::IntoIter {
        self.entries.iter().map(|(f, s)| (f, s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hookmq_codec::{QoS, SubscriptionOptions};

    fn sub(id: u32) -> Subscription {
        Subscription {
            options: SubscriptionOptions {
                qos: QoS::AtLeastOnce,
                ..Default::default()
            },
            id: Some(id),
        }
    }

    #[test]
    fn behaves_as_a_map_in_filter_order() {
        let mut m = SubscriptionMap::default();
        for (i, f) in ["b/#", "a/+", "c", "a/+"].into_iter().enumerate() {
            m.insert(f.into(), sub(i as u32));
        }
        assert_eq!(m.len(), 3);
        let order: Vec<(&str, Option<u32>)> = m.iter().map(|(f, s)| (f.as_ref(), s.id)).collect();
        assert_eq!(order, [("a/+", Some(3)), ("b/#", Some(0)), ("c", Some(2))]);
        assert!(m.contains_key("c"));
        assert_eq!(m.remove("c").and_then(|s| s.id), Some(2));
        assert!(m.remove("c").is_none());
        assert!(!m.contains_key("c"));
        assert_eq!(m.take().len(), 2);
        assert_eq!(m.len(), 0);
    }

    #[test]
    fn many_subscriptions_then_few_give_memory_back() {
        let mut m = SubscriptionMap::default();
        for i in 0..1000 {
            m.insert(format!("t/{i}").into(), sub(i));
        }
        assert_eq!(m.len(), 1000);
        for i in 0..999 {
            assert!(m.remove(&format!("t/{i}")).is_some());
        }
        assert!(m.entries.capacity() < 8);
        assert!(m.contains_key("t/999"));
    }
}
