//! The router: every subscription of every session in one topic tree, and the routing of a
//! message to the sessions whose filters match it. Shared subscriptions (`$share/group/filter`)
//! deliver each message to one member of the group, chosen by the group's
//! [`Strategy`](crate::strategy::Strategy), preferring connected members.
//!
//! In a cluster the router also reports this node's interest (first subscriber of a filter,
//! each shared-group member) to the attached [`Cluster`], and leaves shared groups of clustered
//! messages to the cluster: a queue group across the nodes picks the node, and
//! [`Router::route_remote`] picks the member there, so each message reaches one member in the
//! whole cluster.
//!
//! Lock order: the router's lock is taken before any session's lock, never after.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use bytestring::ByteString;
use hookmq_codec::{QoS, SubscriptionOptions, TopicFilter};
use hookmq_hooks::{DropReason, Message};
use parking_lot::RwLock;

use crate::cluster::{Cluster, Interest, InterestChange, Via};
use crate::delivery::Delivery;
use crate::persist::Op;
use crate::session::Session;
use crate::strategy::{Keys, Picker, SharedSubscriptionsConfig};
use crate::topic_tree::TopicTree;

/// A session's subscription as the router keeps it.
#[derive(Debug, Clone)]
struct Subscriber {
    session: Arc<Session>,
    options: SubscriptionOptions,
    id: Option<u32>,
}

/// The members of one shared-subscription group.
#[derive(Debug)]
struct Group {
    members: Vec<(ByteString, Subscriber)>,
    picker: Picker,
}

impl Group {
    /// The member that gets `message`.
    fn pick(&self, message: &Message) -> Option<&Subscriber> {
        let keys = Keys {
            clientid: &message.from,
            topic: message.topic.as_str(),
        };
        let online = |i: usize| self.members[i].1.session.is_online();
        let i = self.picker.pick(self.members.len(), online, keys)?;
        self.members.get(i).map(|(_, s)| s)
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
#[derive(Debug)]
pub(crate) struct Router {
    tree: RwLock<TopicTree<FilterNode>>,
    count: AtomicUsize,
    /// Told of interest changes; empty on a single node.
    cluster: OnceLock<Arc<dyn Cluster>>,
    /// Which strategy a new group gets.
    strategies: SharedSubscriptionsConfig,
}

impl Router {
    pub(crate) fn new(strategies: SharedSubscriptionsConfig) -> Router {
        Router {
            tree: Default::default(),
            count: AtomicUsize::new(0),
            cluster: OnceLock::new(),
            strategies,
        }
    }

    /// Reports interest changes to `cluster` from now on; fails if one is attached already.
    pub(crate) fn attach(&self, cluster: Arc<dyn Cluster>) -> Result<(), Arc<dyn Cluster>> {
        self.cluster.set(cluster)
    }

    fn tell(&self, interest: impl FnOnce() -> Interest, added: bool) {
        if let Some(c) = self.cluster.get() {
            c.interest(InterestChange {
                interest: interest(),
                added,
            });
        }
    }

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
                let group = node
                    .groups
                    .entry(shared.group.into())
                    .or_insert_with(|| Group {
                        members: Vec::new(),
                        picker: Picker::new(self.strategies.strategy_for(shared.group)),
                    });
                match group.members.iter_mut().find(|(c, _)| *c == clientid) {
                    Some(slot) => {
                        slot.1 = sub;
                        false
                    }
                    None => {
                        group.members.push((clientid, sub));
                        self.tell(
                            || Interest::Shared {
                                group: shared.group.into(),
                                filter: shared.filter.into(),
                            },
                            true,
                        );
                        true
                    }
                }
            }
            None => {
                let node = tree.entry(filter.as_str(), FilterNode::default);
                let first = node.subscribers.is_empty();
                let is_new = node.subscribers.insert(clientid, sub).is_none();
                if first {
                    self.tell(|| Interest::Filter(filter.as_bytestring().clone()), true);
                }
                is_new
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
                        let at = grp.members.iter().position(|(c, _)| c == clientid);
                        if let Some(i) = at {
                            grp.members.remove(i);
                            grp.picker.removed(i);
                        }
                        let gone = at.is_some();
                        if grp.members.is_empty() {
                            node.groups.remove(g);
                        }
                        if gone {
                            self.tell(
                                || Interest::Shared {
                                    group: g.into(),
                                    filter: path.into(),
                                },
                                false,
                            );
                        }
                        gone
                    }
                    None => false,
                },
                None => {
                    let gone = node.subscribers.remove(clientid).is_some();
                    if gone && node.subscribers.is_empty() {
                        self.tell(|| Interest::Filter(path.into()), false);
                    }
                    gone
                }
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
    /// Messages a session could not queue are added to `dropped`; sessions whose queue went
    /// over its limit under `backpressure`, to `full`.
    pub(crate) fn route(
        &self,
        message: &Arc<Message>,
        dropped: &mut Vec<(Arc<Message>, DropReason)>,
        ops: &mut Vec<Op>,
        full: &mut Vec<Arc<Session>>,
    ) -> usize {
        let mut targets: Vec<(Arc<Session>, Delivery)> = Vec::new();
        // Clustered messages reach shared groups through the cluster's queue groups.
        let groups_here = self.cluster.get().is_none() || message.is_sys();
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
                if !groups_here {
                    return;
                }
                for group in node.groups.values() {
                    if let Some(sub) = group.pick(message) {
                        targets.push((sub.session.clone(), delivery_for(sub, message)));
                    }
                }
            });
        }
        let n = targets.len();
        for (session, delivery) in targets {
            if session.deliver(delivery, dropped, ops) {
                full.push(session);
            }
        }
        n
    }

    /// Routes a message that arrived from another node: to every matching non-shared
    /// subscription, or to one local member of the shared group the cluster chose this node for.
    pub(crate) fn route_remote(
        &self,
        message: &Arc<Message>,
        via: Via<'_>,
        dropped: &mut Vec<(Arc<Message>, DropReason)>,
        ops: &mut Vec<Op>,
    ) -> usize {
        let mut targets: Vec<(Arc<Session>, Delivery)> = Vec::new();
        {
            let tree = self.tree.read();
            match via {
                Via::AllFilters => tree.for_each_filter_matching(message.topic.as_str(), |node| {
                    remote_subscribers(&mut targets, node, message)
                }),
                Via::Filters(filters) => {
                    for filter in filters {
                        if hookmq_codec::topic::matches(filter, message.topic.as_str())
                            && let Some(node) = tree.get(filter)
                        {
                            remote_subscribers(&mut targets, node, message);
                        }
                    }
                }
                Via::Shared { group, filter } => {
                    // The queue group's subject may be wider than the filter (escaping of long
                    // filters): check the match here.
                    if hookmq_codec::topic::matches(filter, message.topic.as_str())
                        && let Some(sub) = tree
                            .get(filter)
                            .and_then(|node| node.groups.get(group))
                            .and_then(|g| g.pick(message))
                    {
                        targets.push((sub.session.clone(), delivery_for(sub, message)));
                    }
                }
            }
        }
        let n = targets.len();
        for (session, delivery) in targets {
            session.deliver(delivery, dropped, ops);
        }
        n
    }
}

impl Router {
    /// Routes a message from another node to one session only (its non-shared subscriptions),
    /// for messages kept while that session was on its way here.
    pub(crate) fn route_to(
        &self,
        clientid: &str,
        message: &Arc<Message>,
        dropped: &mut Vec<(Arc<Message>, DropReason)>,
        ops: &mut Vec<Op>,
    ) {
        let mut targets: Vec<(Arc<Session>, Delivery)> = Vec::new();
        self.tree
            .read()
            .for_each_filter_matching(message.topic.as_str(), |node| {
                if let Some(sub) = node.subscribers.get(clientid)
                    && !(sub.options.no_local && &*message.from == clientid)
                {
                    merge(&mut targets, sub, message);
                }
            });
        for (session, delivery) in targets {
            session.deliver(delivery, dropped, ops);
        }
    }
}

/// The non-shared subscribers of one filter for a message from another node.
fn remote_subscribers(
    targets: &mut Vec<(Arc<Session>, Delivery)>,
    node: &FilterNode,
    message: &Arc<Message>,
) {
    for (clientid, sub) in &node.subscribers {
        // [MQTT-3.8.3-3] No Local holds across nodes: the envelope names the publisher.
        if sub.options.no_local && *clientid == message.from {
            continue;
        }
        merge(targets, sub, message);
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
