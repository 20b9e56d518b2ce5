//! State shared by every task of one broker (registry, router, retained store, hooks, metrics,
//! persistence) and the broker's own actions built on it: publish and route a message, end a
//! session, schedule session expiry. Connection tasks, the will scheduler, `$SYS` and the
//! management API all act through these methods, so a future extension protocol can call the
//! same ones.

use std::sync::atomic::AtomicU64;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use bytestring::ByteString;
use hookmq_hooks::{
    ClientInfo, DropReason, Event, Hold, HookPoint, Hooks, Message, NodeName, PublishOutcome,
};
use tokio_util::sync::CancellationToken;

use crate::cluster::Cluster;
use crate::config::BrokerConfig;
use crate::memory::MemoryGuard;
use crate::metrics::Metrics;
use crate::persist::{Op, Store};
use crate::recheck::{Authorizer, Reauthorized, recheck};
use crate::registry::Registry;
use crate::retained::{RetainOutcome, Retained};
use crate::router::Router;
use crate::session::{Control, QueueLimits, Session, Subscription};

/// How long a re-check waits for a connected client's task before checking the session itself
/// (the task may be waiting on a slow hook).
const REAUTHORIZE_WAIT: Duration = Duration::from_secs(30);

/// What publishing a message did.
#[derive(Debug)]
pub(crate) enum Published {
    /// Routed to this many sessions (and durable where it had to be); the sessions whose queue
    /// it filled under `backpressure` (the publisher waits for them).
    Routed(usize, Vec<Arc<Session>>),
    /// A `message.publish` handler dropped it.
    Dropped,
    /// A `message.publish` handler consumed it: acknowledged, routed nowhere, not a drop.
    Consumed,
    /// The store could not make it durable: do not acknowledge it.
    NotStored,
}

/// Everything one broker's tasks share.
pub(crate) struct Shared {
    pub(crate) config: BrokerConfig,
    pub(crate) node: NodeName,
    pub(crate) hooks: Arc<Hooks>,
    pub(crate) registry: Registry,
    pub(crate) router: Router,
    pub(crate) retained: Retained,
    pub(crate) metrics: Metrics,
    /// Whether memory is above `limits.memory_high_watermark`, and its counters.
    pub(crate) memory: MemoryGuard,
    pub(crate) store: Option<Store>,
    pub(crate) started: Instant,
    pub(crate) next_conn_id: AtomicU64,
    pub(crate) shutdown: CancellationToken,
    /// The cluster, once attached; empty on a single node.
    pub(crate) cluster: OnceLock<Arc<dyn Cluster>>,
    /// Messages from other nodes kept for sessions being taken over from another node.
    pub(crate) captures: crate::remote::Captures,
    /// Publishers' acknowledgements held by `message.publish` handlers, by message id.
    pub(crate) holds: Arc<crate::held::Holds>,
}

impl Shared {
    pub(crate) fn new(config: BrokerConfig, hooks: Arc<Hooks>, store: Option<Store>) -> Shared {
        Shared {
            node: NodeName::new(config.node.name.as_str()),
            router: Router::new(config.shared_subscriptions.clone()),
            retained: Retained::new(config.retained.clone()),
            config,
            hooks,
            registry: Registry::default(),
            metrics: Metrics::default(),
            memory: MemoryGuard::default(),
            store,
            started: Instant::now(),
            next_conn_id: AtomicU64::new(1),
            shutdown: CancellationToken::new(),
            cluster: OnceLock::new(),
            captures: Default::default(),
            holds: Default::default(),
        }
    }

    /// The attached cluster, if any.
    #[inline]
    pub(crate) fn cluster(&self) -> Option<&Arc<dyn Cluster>> {
        self.cluster.get()
    }

    /// The queue limits of new sessions, from the configuration.
    pub(crate) fn queue_limits(&self) -> QueueLimits {
        let cfg = &self.config.mqtt;
        QueueLimits {
            max_len: cfg.max_queue_len,
            drop: cfg.queue_drop,
            qos0_offline: cfg.queue_qos0_offline,
            persist: self.store.is_some(),
        }
    }

    /// Runs `message.publish` on an accepted message, routes what it returns, and waits until
    /// every change that makes it durable is stored (with `extra` store changes of the caller,
    /// such as the publisher's awaiting-PUBREL id). Only then may the publisher be acknowledged.
    pub(crate) async fn publish(&self, message: Arc<Message>, extra: Vec<Op>) -> Published {
        self.publish_held(message, extra).await.0
    }

    /// [`Shared::publish`] for a publisher that waits for its acknowledgement: also returns the
    /// hold a `message.publish` handler put on that acknowledgement, if any, for the caller to
    /// keep ([`crate::held`]). Callers with no acknowledgement to hold use `publish`, which
    /// routes a held message like any other.
    pub(crate) async fn publish_held(
        &self,
        message: Arc<Message>,
        extra: Vec<Op>,
    ) -> (Published, Option<Hold>) {
        let (routed, hold) = if self.hooks.has(HookPoint::MessagePublish) {
            let (m, hold) = match self.hooks.publish(message.clone()).await {
                PublishOutcome::Publish(m) => (m, None),
                PublishOutcome::Hold { message: m, hold } => (m, Some(hold)),
                PublishOutcome::Drop { by } => {
                    tracing::debug!(topic = %message.topic, handler = %by, "message dropped by hook");
                    self.report_drops(vec![(message, DropReason::DroppedByHook)]);
                    self.submit(extra);
                    return (Published::Dropped, None);
                }
                PublishOutcome::Consume { by } => {
                    tracing::debug!(topic = %message.topic, handler = %by, "message consumed by hook");
                    self.submit(extra);
                    return (Published::Consumed, None);
                }
            };
            if self.too_deep(&message, &m) {
                tracing::debug!(topic = %m.topic, "a message.publish handler rewrote the topic beyond mqtt.max_topic_levels; dropped");
                self.report_drops(vec![(message, DropReason::DroppedByHook)]);
                self.submit(extra);
                return (Published::Dropped, None);
            }
            (m, hold)
        } else {
            (message, None)
        };
        (self.publish_routed(routed, extra).await, hold)
    }

    /// Routes a message that passed `message.publish` (or skips it: hook services' direct
    /// publish), forwards it to the cluster, and waits until it is durable.
    pub(crate) async fn publish_routed(&self, message: Arc<Message>, extra: Vec<Op>) -> Published {
        // Only a cluster needs the message after routing: a single node pays no extra clone.
        let forward = self
            .cluster()
            .filter(|_| !message.is_sys())
            .map(|cluster| (cluster.clone(), message.clone()));
        let mut full = Vec::new();
        let (n, mut ops) = self.route_holding(message, &mut full);
        if let Some((cluster, message)) = forward {
            cluster.forward(message).await;
        }
        ops.extend(extra);
        match &self.store {
            Some(store) if !ops.is_empty() => {
                if store.commit(ops).await {
                    Published::Routed(n, full)
                } else {
                    Published::NotStored
                }
            }
            _ => Published::Routed(n, full),
        }
    }

    /// Whether a handler's rewrite of `original` has a topic deeper than `max_topic_levels`.
    /// Client topics were checked on the way in; only a changed topic is counted again.
    fn too_deep(&self, original: &Message, rewritten: &Message) -> bool {
        rewritten.topic != original.topic && !self.topic_depth_ok(rewritten.topic.as_str())
    }

    /// Whether `topic` is within `max_topic_levels` (for topics that did not come from a
    /// client's PUBLISH, which is checked with its own reason codes).
    pub(crate) fn topic_depth_ok(&self, topic: &str) -> bool {
        hookmq_codec::topic::levels(topic) <= self.config.mqtt.max_topic_levels
    }

    /// Routes an accepted message (after `message.publish`): stores or clears it as retained,
    /// delivers it to matching sessions, and reports drops. Returns the number of sessions it
    /// went to and the store changes that make it durable (empty without persistence).
    pub(crate) fn route(&self, message: Arc<Message>) -> (usize, Vec<Op>) {
        // Wills and `$SYS` messages have no publisher to hold back.
        self.route_holding(message, &mut Vec::new())
    }

    /// [`Shared::route`], adding to `full` the sessions whose queue the message filled under
    /// `backpressure`.
    fn route_holding(
        &self,
        message: Arc<Message>,
        full: &mut Vec<Arc<Session>>,
    ) -> (usize, Vec<Op>) {
        let mut ops = Vec::new();
        if message.retain && self.config.mqtt.retain_available {
            let outcome = self.retained.set(message.clone());
            match outcome {
                RetainOutcome::Refused => {
                    self.metrics.limit_hit(crate::metrics::Limit::MaxRetained);
                    tracing::debug!(topic = %message.topic, "retained store refused the message");
                }
                // $SYS values are published again after a restart; no need to store them.
                _ if message.is_sys() || self.store.is_none() => {}
                RetainOutcome::Stored => ops.push(Op::PutRetained((*message).clone())),
                RetainOutcome::Cleared => {
                    ops.push(Op::DelRetained(message.topic.as_bytestring().clone()))
                }
            }
            if let Some(cluster) = self.cluster()
                && outcome != RetainOutcome::Refused
                && !message.is_sys()
            {
                cluster.retain(message.clone());
            }
        }
        let mut dropped = Vec::new();
        let n = self.router.route(&message, &mut dropped, &mut ops, full);
        // A clustered message may have subscribers on other nodes, which this node cannot see.
        if n == 0 && !message.is_sys() && self.cluster().is_none() {
            dropped.push((message, DropReason::NoSubscribers));
        }
        self.report_drops(dropped);
        if self.store.is_none() {
            ops.clear();
        }
        (n, ops)
    }

    /// Queues store changes without waiting (no-op without persistence).
    pub(crate) fn submit(&self, ops: Vec<Op>) {
        if let Some(store) = &self.store {
            store.submit(ops);
        }
    }

    /// Applies store changes and waits until they are durable (true without persistence).
    pub(crate) async fn commit(&self, ops: Vec<Op>) -> bool {
        match &self.store {
            Some(store) => store.commit(ops).await,
            None => true,
        }
    }

    /// Counts dropped messages and tells `message.dropped` handlers.
    pub(crate) fn report_drops(&self, dropped: Vec<(Arc<Message>, DropReason)>) {
        for (message, reason) in dropped {
            self.metrics.dropped(reason);
            if self.hooks.has(HookPoint::MessageDropped) {
                self.hooks
                    .notify_nowait(Event::MessageDropped { message, reason });
            }
        }
    }

    /// Removes an ended session's subscriptions from the router and runs `session.terminated`.
    pub(crate) fn end_session(
        &self,
        clientinfo: Arc<ClientInfo>,
        subscriptions: Vec<(ByteString, Subscription)>,
        reason: &'static str,
    ) {
        for (filter, _) in &subscriptions {
            self.router.unsubscribe(&clientinfo.clientid, filter);
        }
        if self.hooks.has(HookPoint::SessionTerminated) {
            self.hooks.notify_nowait(Event::SessionTerminated {
                clientinfo,
                reason: reason.into(),
            });
        }
    }

    /// Re-checks a session for the client holding it: a connected client's own task does it
    /// (with its cache, which it clears first); a disconnected session is checked here with the
    /// client facts it was left with.
    pub(crate) async fn reauthorize(&self, session: &Arc<Session>) -> Reauthorized {
        let link = session.state.lock().link.clone();
        if let Some(link) = link {
            let (tx, rx) = tokio::sync::oneshot::channel();
            if link.control.send(Control::Reauthorize(tx)).is_ok()
                && let Ok(Ok(report)) = tokio::time::timeout(REAUTHORIZE_WAIT, rx).await
            {
                return report;
            }
        }
        let (clientinfo, offline) = {
            let st = session.state.lock();
            if st.terminated {
                return Reauthorized::default();
            }
            (st.clientinfo.clone(), st.link.is_none())
        };
        let mut authorizer = Authorizer {
            shared: self,
            clientinfo: &clientinfo,
            cache: None,
        };
        recheck(self, session, &mut authorizer, offline).await
    }

    /// Ends `session` after `expiry` seconds unless it is resumed meanwhile.
    pub(crate) fn schedule_expiry(
        self: &Arc<Self>,
        session: Arc<Session>,
        epoch: u64,
        expiry: u32,
    ) {
        let shared = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(u64::from(expiry))).await;
            if let Some(subs) = shared.registry.expire(&session, epoch) {
                let clientinfo = session.state.lock().clientinfo.clone();
                tracing::debug!(clientid = %session.clientid, "session expired");
                shared.submit(vec![Op::DelSession(session.clientid.clone())]);
                if let Some(cluster) = shared.cluster() {
                    let epoch = session.state.lock().cluster_epoch;
                    cluster.end_session(session.clientid.clone(), epoch);
                }
                shared.end_session(clientinfo, subs, "expired");
            }
        });
    }
}
