//! The router: every subscription of every session in one topic tree, and the routing of a
//! message to the sessions whose filters match it. Shared subscriptions (`$share/group/filter`)
//! deliver each message to one member of the group, preferring connected members.
//!
//! Lock order: the router's lock is taken before any session's lock, never after.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytestring::ByteString;
use hookmq_codec::{QoS, SubscriptionOptions, TopicFilter};
use hookmq_hooks::{DropReason, Message};
use parking_lot::RwLock;

use crate::delivery::Delivery;
use crate::persist::Op;
use crate::session::Session;
use crate::topic_tree::TopicTree;

/// A session's subscription as the router keeps it.
#[derive(Debug, Clone)]
struct Subscriber {
    session: Arc<Session>,
    options: SubscriptionOptions,
    id: Option<u32>,
}

/// The members of one shared-subscription group.
#[derive(Debug, Default)]
struct Group {
    members: Vec<(ByteString, Subscriber)>,
    next: AtomicUsize,
}

impl Group {
    /// Round robin over connected members; over all members when none is connected.
    fn pick(&self) -> Option<&Subscriber> {
        let n = self.members.len();
        if n == 0 {
            return None;
        }
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        (0..n)
            .map(|k| &self.members[(start + k) % n].1)
            .find(|s| s.session.is_online())
            .or(Some(&self.members[start % n].1))
    }
}

/// What is stored at one filter path.
#[derive(Debug, Default)]
struct FilterNode {
    subscribers: HashMap<ByteString, Subscriber>,
    groups: HashMap<ByteString, Group>,
}

impl FilterNode {
    fn is_empty(&self) -> bool {
        self.subscribers.is_empty() && self.groups.is_empty()
    }
}

/// Subscriptions of all sessions.
#[derive(Debug, Default)]
pub(crate) struct Router {
    tree: RwLock<TopicTree<FilterNode>>,
    count: AtomicUsize,
}

impl Router {
    /// Adds or replaces a subscription; returns true if it is new.
    pub(crate) fn subscribe(
        &self,
        session: &Arc<Session>,
        filter: &TopicFilter,
        options: SubscriptionOptions,
        id: Option<u32>,
    ) -> bool {
        let sub = Subscriber {
            session: session.clone(),
            options,
            id,
        };
        let clientid = session.clientid.clone();
        let mut tree = self.tree.write();
        let is_new = match filter.shared() {
            Some(shared) => {
                let node = tree.entry(shared.filter, FilterNode::default);
                let group = node.groups.entry(shared.group.into()).or_default();
                match group.members.iter_mut().find(|(c, _)| *c == clientid) {
                    Some(slot) => {
                        slot.1 = sub;
                        false
                    }
                    None => {
                        group.members.push((clientid, sub));
                        true
                    }
                }
            }
            None => {
                let node = tree.entry(filter.as_str(), FilterNode::default);
                node.subscribers.insert(clientid, sub).is_none()
            }
        };
        if is_new {
            self.count.fetch_add(1, Ordering::Relaxed);
        }
        is_new
    }

    /// Removes a session's subscription; returns true if it existed.
    pub(crate) fn unsubscribe(&self, clientid: &ByteString, filter: &str) -> bool {
        let (path, group) = match hookmq_codec::SharedFilter::parse(filter) {
            Ok(s) => (s.filter, Some(s.group)),
            Err(_) => (filter, None),
        };
        let mut removed = false;
        let mut tree = self.tree.write();
        tree.remove_if(path, |node| {
            removed = match group {
                Some(g) => match node.groups.get_mut(g) {
                    Some(grp) => {
                        let before = grp.members.len();
                        grp.members.retain(|(c, _)| c != clientid);
                        let gone = grp.members.len() != before;
                        if grp.members.is_empty() {
                            node.groups.remove(g);
                        }
                        gone
                    }
                    None => false,
                },
                None => node.subscribers.remove(clientid).is_some(),
            };
            node.is_empty()
        });
        if removed {
            self.count.fetch_sub(1, Ordering::Relaxed);
        }
        removed
    }

    /// Number of subscriptions.
    pub(crate) fn len(&self) -> usize {
        self.count.load(Ordering::Relaxed)
    }

    /// Routes a message to the matching sessions; returns how many sessions it went to.
    /// Messages a session could not queue are added to `dropped`.
    pub(crate) fn route(
        &self,
        message: &Arc<Message>,
        dropped: &mut Vec<(Arc<Message>, DropReason)>,
        ops: &mut Vec<Op>,
    ) -> usize {
        let mut targets: Vec<(Arc<Session>, Delivery)> = Vec::new();
        {
            let tree = self.tree.read();
            let topic = message.topic.as_str();
            tree.for_each_filter_matching(topic, |node| {
                for (clientid, sub) in &node.subscribers {
                    // [MQTT-3.8.3-3] No Local: not to the publisher's own subscriptions.
                    if sub.options.no_local && *clientid == message.from {
                        continue;
                    }
                    merge(&mut targets, sub, message);
                }
                for group in node.groups.values() {
                    if let Some(sub) = group.pick() {
                        targets.push((sub.session.clone(), delivery_for(sub, message)));
                    }
                }
            });
        }
        let n = targets.len();
        for (session, delivery) in targets {
            session.deliver(delivery, dropped, ops);
        }
        n
    }
}

fn delivery_for(sub: &Subscriber, message: &Arc<Message>) -> Delivery {
    Delivery {
        message: message.clone(),
        qos: message.qos.min(sub.options.qos),
        // [MQTT-3.3.1-12] without Retain As Published the flag is cleared on routing.
        retain: message.retain && sub.options.retain_as_published,
        subscription_ids: sub.id.into_iter().collect(),
        seq: 0,
    }
}

/// One copy per session for overlapping subscriptions: the highest QoS and every subscription
/// identifier ([MQTT-3.3.4-2], [MQTT-3.3.4-3]).
fn merge(targets: &mut Vec<(Arc<Session>, Delivery)>, sub: &Subscriber, message: &Arc<Message>) {
    if let Some((_, d)) = targets
        .iter_mut()
        .find(|(s, _)| Arc::ptr_eq(s, &sub.session))
    {
        d.qos = d.qos.max(message.qos.min(sub.options.qos));
        d.retain |= message.retain && sub.options.retain_as_published;
        d.subscription_ids.extend(sub.id);
        return;
    }
    targets.push((sub.session.clone(), delivery_for(sub, message)));
}

/// A session's subscriptions as the management API lists them.
#[derive(Debug, Clone, PartialEq)]
pub struct SubscriptionView {
    /// Client id.
    pub clientid: String,
    /// Filter as subscribed (with any `$share/group/` prefix).
    pub filter: String,
    /// Granted QoS.
    pub qos: QoS,
    /// No Local.
    pub no_local: bool,
    /// Retain As Published.
    pub retain_as_published: bool,
    /// Retain Handling (0..2).
    pub retain_handling: u8,
    /// Subscription identifier.
    pub subscription_id: Option<u32>,
}
