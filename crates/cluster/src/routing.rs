//! Routing between nodes: forwarding each message accepted here once on NATS, and keeping this
//! node's NATS subscriptions in step with the interest its router reports.
//!
//! Plain filters: every distinct filter maps to one or two subjects (`subject`); subjects are
//! reference-counted, since two filters can share one (`a` and `a/#` both need `….a`). A message
//! arriving on a subject goes to the subscribers of the filters behind that subject only, so a
//! message matching two of this node's subjects (say `a/+` and `a/b`) is routed once per
//! subject: a session with both filters then receives one copy per subject, as MQTT allows for
//! overlapping subscriptions ([MQTT-3.3.4-2]) and as EMQX's cluster does; sessions with one
//! matching filter receive one copy.
//!
//! Shared subscriptions: each local member of `$share/g/f` adds one queue subscription (queue
//! name from `g` and `f`) on `f`'s subjects and on the long-topic subject. NATS gives each
//! message to one subscription of the queue group in the whole cluster, uniformly, so a node
//! with two members receives twice the share of a node with one, and each member gets an equal
//! share; the receiving node then picks one of its members round robin (connected ones first).

use std::collections::HashMap;
use std::sync::Arc;

use async_nats::Subscriber;
use bytestring::ByteString;
use futures_util::StreamExt;
use hookmq_broker::cluster::{Interest, InterestChange, Via};
use hookmq_codec::QoS;
use hookmq_hooks::Message;
use parking_lot::RwLock;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::{Inner, Stats, envelope};

/// Sends a message accepted on this node to the others. QoS 1/2 messages are flushed to the
/// NATS server before the publisher is acknowledged; while the link is down, messages stay
/// local (counted as unforwarded) instead of stalling publishers.
pub(crate) async fn forward(inner: Arc<Inner>, message: Arc<Message>) {
    if !inner.link.data_up() {
        Stats::inc(&inner.stats.unforwarded);
        return;
    }
    let subject = inner.subjects.topic(message.topic.as_str());
    let payload = envelope::encode(&message);
    if let Err(e) = inner.link.data.publish(subject, payload).await {
        tracing::debug!(error = %e, "message not forwarded");
        Stats::inc(&inner.stats.unforwarded);
        return;
    }
    Stats::inc(&inner.stats.forwarded);
    if message.qos != QoS::AtMostOnce
        && let Err(e) = inner.link.data.flush().await
    {
        tracing::debug!(error = %e, "forwarded message not flushed");
    }
}

/// What the routing task is asked to do, in order.
pub(crate) enum Change {
    /// Follow an interest change of the broker.
    Interest(InterestChange),
    /// Answer once every change sent before is applied (its subscriptions sent to NATS).
    Barrier(tokio::sync::oneshot::Sender<()>),
}

/// Resolves once every interest change sent before it has been applied by the NATS server this
/// node is connected to, so messages published through that server from then on are delivered
/// to this node.
///
/// A flush is not enough: `async_nats`'s flush only writes the buffered commands to the socket
/// (it sends no PING), and the server reads each client connection on its own, so it could
/// still handle the takeover request (on the control connection) and the holder's release
/// before the data connection's SUB, and messages published in between reached neither node
/// (issue 14's lost acknowledged message). A request on the data connection is a round trip on
/// the same connection as the SUBs: the server answers it (nobody listens on the subject, so
/// with "no responders") only after it handled everything the connection sent before.
pub(crate) async fn settle(inner: &Inner) {
    let bound = inner.config.request_timeout.0;
    let (tx, rx) = tokio::sync::oneshot::channel();
    if inner.interest.send(Change::Barrier(tx)).is_ok() {
        let _ = tokio::time::timeout(bound, rx).await;
    }
    let subject = inner.subjects.node(&inner.me.key, "settle");
    let request = async_nats::Request::new().timeout(Some(bound));
    match inner.link.data.send_request(subject, request).await {
        Ok(_) => {}
        Err(e) if e.kind() == async_nats::RequestErrorKind::NoResponders => {}
        Err(e) => tracing::debug!(error = %e, "interest not confirmed by the NATS server"),
    }
}

/// One NATS subscription for plain filters and the filters behind it.
struct PlainSub {
    filters: Arc<RwLock<Vec<ByteString>>>,
    task: JoinHandle<()>,
}

/// This node's NATS subscriptions.
#[derive(Default)]
struct Subscriptions {
    plain: HashMap<String, PlainSub>,
    /// Per shared group and filter, one set of queue subscriptions per local member.
    shared: HashMap<(ByteString, ByteString), Vec<Vec<JoinHandle<()>>>>,
}

/// Subscribes the long-topic subject and starts the task that applies interest changes.
pub(crate) async fn start(inner: &Arc<Inner>, mut changes: mpsc::UnboundedReceiver<Change>) {
    let long = inner.subjects.long_topics();
    match inner.link.data.subscribe(long.clone()).await {
        Ok(sub) => {
            tokio::spawn(receive(inner.clone(), sub, Route::All));
        }
        Err(e) => tracing::warn!(subject = %long, error = %e, "cannot subscribe"),
    }
    let inner = inner.clone();
    tokio::spawn(async move {
        let mut subs = Subscriptions::default();
        loop {
            let change = tokio::select! {
                _ = inner.shutdown.cancelled() => return,
                c = changes.recv() => match c {
                    Some(c) => c,
                    None => return,
                },
            };
            let change = match change {
                Change::Interest(c) => c,
                Change::Barrier(done) => {
                    let _ = done.send(());
                    continue;
                }
            };
            match change.interest {
                Interest::Filter(filter) if change.added => subs.add_filter(&inner, filter).await,
                Interest::Filter(filter) => subs.remove_filter(&inner, &filter),
                Interest::Shared { group, filter } if change.added => {
                    subs.add_member(&inner, group, filter).await
                }
                Interest::Shared { group, filter } => subs.remove_member(group, filter),
            }
        }
    });
}

impl Subscriptions {
    async fn add_filter(&mut self, inner: &Arc<Inner>, filter: ByteString) {
        for subject in inner.subjects.filter(&filter) {
            if let Some(sub) = self.plain.get(&subject) {
                sub.filters.write().push(filter.clone());
                continue;
            }
            match inner.link.data.subscribe(subject.clone()).await {
                Ok(nats) => {
                    let filters = Arc::new(RwLock::new(vec![filter.clone()]));
                    let task = tokio::spawn(receive(
                        inner.clone(),
                        nats,
                        Route::Filters(filters.clone()),
                    ));
                    self.plain.insert(subject, PlainSub { filters, task });
                }
                Err(e) => tracing::warn!(%subject, error = %e, "cannot subscribe"),
            }
        }
    }

    fn remove_filter(&mut self, inner: &Arc<Inner>, filter: &str) {
        for subject in inner.subjects.filter(filter) {
            let Some(sub) = self.plain.get(&subject) else {
                continue;
            };
            let empty = {
                let mut filters = sub.filters.write();
                if let Some(i) = filters.iter().position(|f| f == filter) {
                    filters.swap_remove(i);
                }
                filters.is_empty()
            };
            if empty && let Some(sub) = self.plain.remove(&subject) {
                // Dropping the subscriber unsubscribes.
                sub.task.abort();
            }
        }
    }

    async fn add_member(&mut self, inner: &Arc<Inner>, group: ByteString, filter: ByteString) {
        let queue = inner.subjects.queue(&group, &filter);
        let mut subjects = inner.subjects.filter(&filter);
        subjects.push(inner.subjects.long_topics());
        let mut tasks = Vec::with_capacity(subjects.len());
        for subject in subjects {
            match inner
                .link
                .control
                .queue_subscribe(subject.clone(), queue.clone())
                .await
            {
                Ok(nats) => tasks.push(tokio::spawn(receive(
                    inner.clone(),
                    nats,
                    Route::Shared(group.clone(), filter.clone()),
                ))),
                Err(e) => tracing::warn!(%subject, error = %e, "cannot subscribe"),
            }
        }
        self.shared.entry((group, filter)).or_default().push(tasks);
    }

    fn remove_member(&mut self, group: ByteString, filter: ByteString) {
        let key = (group, filter);
        let Some(members) = self.shared.get_mut(&key) else {
            return;
        };
        for task in members.pop().into_iter().flatten() {
            task.abort();
        }
        if members.is_empty() {
            self.shared.remove(&key);
        }
    }
}

/// Where messages of one subscription go.
enum Route {
    /// The subscribers of these filters.
    Filters(Arc<RwLock<Vec<ByteString>>>),
    /// Every matching filter (the long-topic subject).
    All,
    /// One member of this shared group.
    Shared(ByteString, ByteString),
}

/// Delivers what one subscription receives until it is dropped.
async fn receive(inner: Arc<Inner>, mut sub: Subscriber, route: Route) {
    while let Some(msg) = sub.next().await {
        let message = match envelope::decode(msg.payload) {
            Ok(m) => Arc::new(m),
            Err(e) => {
                Stats::inc(&inner.stats.malformed);
                tracing::debug!(subject = %msg.subject, error = %e, "dropping a foreign message");
                continue;
            }
        };
        Stats::inc(&inner.stats.received);
        match &route {
            Route::Filters(filters) => {
                let filters = filters.read();
                inner.broker.route_remote(message, Via::Filters(&filters));
            }
            Route::All => {
                inner.broker.route_remote(message, Via::AllFilters);
            }
            Route::Shared(group, filter) => {
                inner
                    .broker
                    .route_remote(message, Via::Shared { group, filter });
            }
        }
    }
}
