//! Topic aliases the broker assigns towards an MQTT 5 client ([MQTT-3.3.2-8]): a topic sent
//! once with an alias is then sent as the alias alone. The client's Topic Alias Maximum bounds
//! how many the broker may hold; once all are in use, the least recently used one is given to
//! the new topic (sent with topic and alias, which rebinds it at the client [MQTT-3.3.2-12]), so
//! a client with more topics than aliases still saves the topic on its busy ones.
//!
//! The table is allocated on the first alias: connections that never receive a message (or
//! whose client allows no aliases) keep only the maximum.

use std::collections::HashMap;

use bytestring::ByteString;

/// The outbound aliases of one connection.
#[derive(Debug, Default)]
pub(crate) struct OutAliases {
    /// The client's Topic Alias Maximum (0: aliases off).
    max: u16,
    table: Option<Box<Table>>,
}

/// What to send for one topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Alias {
    /// The topic already has this alias: send the alias alone.
    Known(u16),
    /// Send the topic with this alias, binding it (after [`OutAliases::bind`]).
    New(u16),
}

/// Aliases in use and their order of use, as a list linked through alias numbers (0 ends it).
#[derive(Debug, Default)]
struct Table {
    by_topic: HashMap<ByteString, u16>,
    /// Index alias - 1.
    slots: Vec<Slot>,
    /// Most recently used.
    head: u16,
    /// Least recently used: the next to be reused.
    tail: u16,
}

#[derive(Debug)]
struct Slot {
    topic: ByteString,
    /// Alias used more recently (0: none).
    prev: u16,
    /// Alias used less recently (0: none).
    next: u16,
}

impl OutAliases {
    /// Aliases up to `max` (the client's Topic Alias Maximum; 0 turns them off).
    pub(crate) fn new(max: u16) -> OutAliases {
        OutAliases { max, table: None }
    }

    /// The alias to send `topic` with, if any. Nothing changes until the packet is known to fit
    /// ([`OutAliases::bind`] for a new alias, [`OutAliases::touch`] for a known one).
    pub(crate) fn lookup(&self, topic: &ByteString) -> Option<Alias> {
        if self.max == 0 || topic.is_empty() {
            return None;
        }
        let Some(t) = &self.table else {
            return Some(Alias::New(1));
        };
        if let Some(&alias) = t.by_topic.get(topic) {
            return Some(Alias::Known(alias));
        }
        if t.slots.len() < usize::from(self.max) {
            Some(Alias::New(t.slots.len() as u16 + 1))
        } else {
            Some(Alias::New(t.tail))
        }
    }

    /// Marks a known alias as just used.
    pub(crate) fn touch(&mut self, alias: u16) {
        if let Some(t) = &mut self.table {
            t.unlink(alias);
            t.push_front(alias);
        }
    }

    /// Binds `alias` (from [`OutAliases::lookup`]) to `topic`, replacing the topic it had.
    pub(crate) fn bind(&mut self, alias: u16, topic: ByteString) {
        let t = self.table.get_or_insert_with(Box::default);
        let i = usize::from(alias) - 1;
        if i < t.slots.len() {
            t.unlink(alias);
            let old = std::mem::replace(&mut t.slots[i].topic, topic.clone());
            t.by_topic.remove(&old);
        } else {
            t.slots.push(Slot {
                topic: topic.clone(),
                prev: 0,
                next: 0,
            });
        }
        t.by_topic.insert(topic, alias);
        t.push_front(alias);
    }
}

impl Table {
    fn slot(&mut self, alias: u16) -> &mut Slot {
        &mut self.slots[usize::from(alias) - 1]
    }

    fn unlink(&mut self, alias: u16) {
        let (prev, next) = {
            let s = self.slot(alias);
            (std::mem::take(&mut s.prev), std::mem::take(&mut s.next))
        };
        match prev {
            0 => self.head = next,
            p => self.slot(p).next = next,
        }
        match next {
            0 => self.tail = prev,
            n => self.slot(n).prev = prev,
        }
    }

    fn push_front(&mut self, alias: u16) {
        let old = self.head;
        {
            let s = self.slot(alias);
            s.prev = 0;
            s.next = old;
        }
        match old {
            0 => self.tail = alias,
            o => self.slot(o).prev = alias,
        }
        self.head = alias;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sends `topic` as the connection does and returns what went on the wire.
    fn send(a: &mut OutAliases, topic: &str) -> Option<Alias> {
        let topic = ByteString::from(topic);
        let got = a.lookup(&topic);
        match got {
            Some(Alias::Known(n)) => a.touch(n),
            Some(Alias::New(n)) => a.bind(n, topic),
            None => {}
        }
        got
    }

    #[test]
    fn off_without_a_maximum() {
        let mut a = OutAliases::new(0);
        assert_eq!(send(&mut a, "t"), None);
        assert!(a.table.is_none());
    }

    #[test]
    fn a_topic_keeps_its_alias() {
        let mut a = OutAliases::new(4);
        assert_eq!(send(&mut a, "a"), Some(Alias::New(1)));
        assert_eq!(send(&mut a, "b"), Some(Alias::New(2)));
        assert_eq!(send(&mut a, "a"), Some(Alias::Known(1)));
        assert_eq!(send(&mut a, "b"), Some(Alias::Known(2)));
    }

    #[test]
    fn beyond_the_maximum_the_least_recently_used_alias_is_reused() {
        let mut a = OutAliases::new(3);
        for t in ["a", "b", "c"] {
            send(&mut a, t);
        }
        // a is used again: b is now the least recently used.
        assert_eq!(send(&mut a, "a"), Some(Alias::Known(1)));
        assert_eq!(send(&mut a, "d"), Some(Alias::New(2)));
        assert_eq!(send(&mut a, "b"), Some(Alias::New(3)), "c was next");
        assert_eq!(send(&mut a, "a"), Some(Alias::Known(1)));
        assert_eq!(send(&mut a, "d"), Some(Alias::Known(2)));
        assert_eq!(send(&mut a, "c"), Some(Alias::New(3)), "b was least recent");
        assert_eq!(a.table.as_ref().map(|t| t.by_topic.len()), Some(3));
    }

    #[test]
    fn a_lookup_alone_changes_nothing() {
        let mut a = OutAliases::new(1);
        send(&mut a, "a");
        // A packet that did not fit was never sent: "a" keeps the alias.
        assert_eq!(a.lookup(&"b".into()), Some(Alias::New(1)));
        assert_eq!(send(&mut a, "a"), Some(Alias::Known(1)));
    }

    #[test]
    fn one_alias_alternating_topics() {
        let mut a = OutAliases::new(1);
        for _ in 0..3 {
            assert_eq!(send(&mut a, "x"), Some(Alias::New(1)));
            assert_eq!(send(&mut a, "x"), Some(Alias::Known(1)));
            assert_eq!(send(&mut a, "y"), Some(Alias::New(1)));
        }
    }
}
