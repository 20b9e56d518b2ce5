//! hookmq's cluster on NATS: several hookmq nodes act as one broker. It implements the broker's
//! [`Cluster`] seam; the binary starts it with [`NatsCluster::start`] when `[cluster] enable` is
//! set. Design, guarantees and failure behaviour: `docs/cluster.md`.
//!
//! * Routing (`routing`): each node subscribes on NATS for the distinct filters its sessions hold
//!   (`subject` maps topics and filters to subjects) and publishes every message accepted
//!   locally once, in an `envelope`. Shared subscriptions are NATS queue groups.
//! * Client-id registry (`registry`): a JetStream key-value bucket maps each client id to the
//!   node holding its session, written with compare-and-set; a CONNECT elsewhere asks that node
//!   to hand the session over (`handover`).
//! * Membership (`membership`): leases in a bucket; when one lapses a survivor publishes the
//!   dead node's wills and adopts its persistent sessions.
//! * Retained messages (`retained`) live in a bucket every node mirrors.
//!
//! NATS connections: `data` (no echo) publishes messages and holds the plain route
//! subscriptions, so a node never receives its own messages back; `control` carries queue
//! groups (where a node's own message must reach its own members), key-value traffic and
//! node-to-node requests.

mod config;
pub mod envelope;
mod handover;
mod keys;
mod link;
mod membership;
mod registry;
mod retained;
mod routing;
pub mod subject;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytestring::ByteString;
use hookmq_broker::Broker;
use hookmq_broker::cluster::{
    BoxFuture, Claim, ClaimRequest, Cluster, ClusterClients, ClusterError, ClusterStatus,
    InterestChange, SessionRecord,
};
use hookmq_hooks::Message;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

pub use config::{ClusterConfig, ConfigError};

/// Why the cluster could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The configuration is unusable.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// No NATS server could be reached in `connect_timeout`.
    #[error("cannot connect to NATS ({servers}): {message}")]
    Connect {
        /// The servers tried.
        servers: String,
        /// The last error.
        message: String,
    },
    /// A key-value bucket could not be opened or made (is JetStream enabled?).
    #[error("key-value bucket {bucket}: {message}")]
    Bucket {
        /// The bucket.
        bucket: String,
        /// The cause.
        message: String,
    },
    /// Another live node uses this node's name.
    #[error("node name {0} is in use by a live node of the cluster")]
    NameTaken(String),
}

/// This node as the cluster knows it.
#[derive(Debug, Clone)]
pub(crate) struct NodeId {
    /// `[node] name`.
    pub(crate) name: String,
    /// The name as a subject token and key.
    pub(crate) key: String,
    /// Random per process start: tells a restarted node from its dead predecessor.
    pub(crate) incarnation: u64,
}

/// Counters shown in the cluster status.
#[derive(Debug, Default)]
pub(crate) struct Stats {
    pub(crate) forwarded: AtomicU64,
    pub(crate) unforwarded: AtomicU64,
    pub(crate) received: AtomicU64,
    pub(crate) malformed: AtomicU64,
    pub(crate) takeovers_in: AtomicU64,
    pub(crate) takeovers_out: AtomicU64,
    pub(crate) adopted: AtomicU64,
    pub(crate) orphan_wills: AtomicU64,
}

impl Stats {
    pub(crate) fn inc(c: &AtomicU64) {
        c.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn get(c: &AtomicU64) -> u64 {
        c.load(Ordering::Relaxed)
    }
}

/// Everything the cluster's tasks share.
pub(crate) struct Inner {
    pub(crate) config: ClusterConfig,
    pub(crate) me: NodeId,
    pub(crate) api: parking_lot::Mutex<Option<SocketAddr>>,
    pub(crate) subjects: subject::Subjects,
    pub(crate) link: link::Link,
    pub(crate) buckets: keys::Buckets,
    pub(crate) broker: Arc<Broker>,
    pub(crate) interest: mpsc::UnboundedSender<routing::Change>,
    pub(crate) members: membership::Members,
    pub(crate) registry: registry::Owned,
    pub(crate) handovers: handover::Pending,
    pub(crate) retained: mpsc::UnboundedSender<retained::Change>,
    pub(crate) stats: Stats,
    pub(crate) shutdown: CancellationToken,
}

/// The NATS-backed cluster attached to a broker.
#[derive(Clone)]
pub struct NatsCluster {
    inner: Arc<Inner>,
}

impl NatsCluster {
    /// Connects to NATS, opens the buckets, takes this node's lease (waiting out a dead
    /// predecessor's), loads the retained messages, subscribes, and attaches itself to
    /// `broker`, which must not be started yet.
    pub async fn start(
        config: ClusterConfig,
        node: &str,
        broker: Arc<Broker>,
    ) -> Result<NatsCluster, StartError> {
        config.validate()?;
        let me = NodeId {
            name: node.to_owned(),
            key: keys::node_key(node),
            incarnation: rand::random::<u64>() | 1,
        };
        let link = link::Link::connect(&config, node).await?;
        let buckets = keys::Buckets::open(&link, &config).await?;
        membership::take_name(&buckets, &me, config.lease.0).await?;
        let (tx, rx) = mpsc::unbounded_channel();
        let (retained_tx, retained_rx) = mpsc::unbounded_channel();
        let inner = Arc::new(Inner {
            subjects: subject::Subjects::new(&config.name),
            config,
            me,
            api: parking_lot::Mutex::new(None),
            link,
            buckets,
            broker: broker.clone(),
            interest: tx,
            members: membership::Members::default(),
            registry: registry::Owned::default(),
            handovers: handover::Pending::default(),
            retained: retained_tx,
            stats: Stats::default(),
            shutdown: CancellationToken::new(),
        });
        membership::start(&inner).await?;
        retained::start(&inner, retained_rx).await?;
        routing::start(&inner, rx).await;
        handover::start(&inner).await;
        link::watch(&inner);
        tokio::spawn(registry::sweep_orphans(inner.clone(), None));
        let cluster = NatsCluster { inner };
        broker.attach_cluster(Arc::new(cluster.clone()));
        tracing::info!(
            cluster = %cluster.inner.config.name,
            node = %cluster.inner.me.name,
            "joined the cluster"
        );
        Ok(cluster)
    }

    /// Shows this node's management API address to the other members.
    pub fn set_api(&self, addr: SocketAddr) {
        *self.inner.api.lock() = Some(addr);
    }

    /// Leaves the cluster: gives up the lease (so survivors act at once instead of after it
    /// lapses) and stops the cluster's tasks. Bounded by the request timeout, for a NATS that
    /// is gone.
    pub async fn stop(&self) {
        self.inner.shutdown.cancel();
        let inner = &self.inner;
        let leave = async {
            membership::leave(inner).await;
            let _ = inner.link.data.flush().await;
            let _ = inner.link.control.flush().await;
        };
        if tokio::time::timeout(inner.config.request_timeout.0, leave)
            .await
            .is_err()
        {
            tracing::warn!("left the cluster without giving up the lease (NATS unreachable)");
        }
    }
}

impl Cluster for NatsCluster {
    fn interest(&self, change: InterestChange) {
        let _ = self.inner.interest.send(routing::Change::Interest(change));
    }

    fn forward(&self, message: Arc<Message>) -> BoxFuture<'static, ()> {
        Box::pin(routing::forward(self.inner.clone(), message))
    }

    fn claim(&self, request: ClaimRequest) -> BoxFuture<'static, Result<Claim, ClusterError>> {
        Box::pin(registry::claim(self.inner.clone(), request))
    }

    fn save_session(&self, record: SessionRecord) -> BoxFuture<'static, bool> {
        Box::pin(registry::save(self.inner.clone(), record))
    }

    fn end_session(&self, clientid: ByteString, epoch: u64) {
        tokio::spawn(registry::end(self.inner.clone(), clientid, epoch));
    }

    fn retain(&self, message: Arc<Message>) {
        retained::store(&self.inner, message);
    }

    fn retain_delete(&self, topic: ByteString) {
        retained::delete(&self.inner, topic);
    }

    fn status(&self) -> ClusterStatus {
        let i = &self.inner;
        ClusterStatus {
            name: i.config.name.clone(),
            node: i.me.name.clone(),
            link_up: i.link.is_up(),
            link_server: i.link.server(),
            reconnects: i.link.reconnects(),
            members: {
                let mut members = i.members.view(&i.me);
                let stats = i.broker.stats();
                if let Some(me) = members.first_mut() {
                    me.connections = stats.connections;
                    me.sessions = stats.sessions as u64;
                    me.api = i.api.lock().map(|a| a.to_string());
                }
                members
            },
            forwarded: Stats::get(&i.stats.forwarded),
            unforwarded: Stats::get(&i.stats.unforwarded),
            received: Stats::get(&i.stats.received),
            malformed: Stats::get(&i.stats.malformed),
            takeovers_in: Stats::get(&i.stats.takeovers_in),
            takeovers_out: Stats::get(&i.stats.takeovers_out),
            adopted: Stats::get(&i.stats.adopted),
            orphan_wills: Stats::get(&i.stats.orphan_wills),
        }
    }

    fn clients(&self) -> BoxFuture<'static, ClusterClients> {
        Box::pin(handover::clients(self.inner.clone()))
    }
}
