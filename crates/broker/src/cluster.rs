//! The cluster seam: what a broker asks of the other nodes of its cluster ([`Cluster`]) and the
//! types that cross it. The broker defines the trait and calls it at a handful of points (local
//! interest changes, forwarding an accepted message, claiming a client id at CONNECT, saving a
//! persistent session's record, retained changes); an implementation outside the broker (the
//! `hookmq-cluster` crate, on NATS) is attached with [`Broker::attach_cluster`](crate::Broker)
//! before start. What the implementation asks back of the broker (route a message that arrived
//! from another node, hand a session over, adopt a dead node's session) is in `remote.rs`.
//!
//! Without an attached cluster every call site is one untaken branch on an empty `OnceLock`, so
//! a single node pays nothing for the seam.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;

use bytestring::ByteString;
use hookmq_codec::{LastWill, Protocol, SubscriptionOptions};
use hookmq_hooks::{ClientInfo, Message};

use crate::persist::RecoveredSession;

/// A boxed future, the return type of the seam's asynchronous calls (the trait stays
/// object-safe without an `async-trait` dependency).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What the broker needs from its cluster. Every method is called from broker tasks; the
/// synchronous ones run under broker locks and must only enqueue work.
pub trait Cluster: Send + Sync + 'static {
    /// This node's interest changed: the first local subscription on a filter appeared or the
    /// last one went, or a shared-subscription member joined or left. Called under the router's
    /// lock, in the order the changes happen, so it must not block.
    fn interest(&self, change: InterestChange);

    /// Sends a message accepted on this node (after `message.publish`) to the other nodes. The
    /// broker awaits the future before acknowledging a QoS 1/2 publisher, so an implementation
    /// resolves it once the message has left this node.
    fn forward(&self, message: Arc<Message>) -> BoxFuture<'static, ()>;

    /// Claims a client id for a connection opening here, before the local registry opens the
    /// session. Another node holding the session closes its connection and hands the session
    /// over; an error means the claim cannot be registered now and the CONNECT is refused with
    /// "server unavailable".
    fn claim(&self, request: ClaimRequest) -> BoxFuture<'static, Result<Claim, ClusterError>>;

    /// Records a session's state in the cluster (subscriptions and will of a persistent session,
    /// online or not), so another node can resume it or publish its will if this node dies.
    /// Awaited before SUBACK and CONNACK; `false` means it could not be recorded.
    fn save_session(&self, record: SessionRecord) -> BoxFuture<'static, bool>;

    /// The session of `clientid` ended on this node (clean disconnect, expiry): its record goes,
    /// unless a later claim (`epoch` is the one the session was opened under) replaced it. Fire
    /// and forget.
    fn end_session(&self, clientid: ByteString, epoch: u64);

    /// A retained message was stored (or cleared, with an empty payload) on this node.
    fn retain(&self, message: Arc<Message>);

    /// A retained message was deleted by an operator.
    fn retain_delete(&self, topic: ByteString);

    /// Membership, link state and per-node figures, for `$SYS`, `/metrics` and `hookmq ctl`.
    fn status(&self) -> ClusterStatus;

    /// Every node's clients (for `hookmq ctl clients list`); nodes that do not answer in time are
    /// left out and named in [`ClusterClients::missing`].
    fn clients(&self) -> BoxFuture<'static, ClusterClients>;
}

impl std::fmt::Debug for dyn Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Cluster")
    }
}

/// A change of this node's interest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterestChange {
    /// What the interest is in.
    pub interest: Interest,
    /// Gained (true) or lost (false).
    pub added: bool,
}

/// One unit of interest.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Interest {
    /// Some local session subscribes to this filter (without a `$share` prefix). Reported once
    /// per distinct filter: when its first subscriber arrives and when its last one leaves.
    Filter(ByteString),
    /// One local member of shared group `group` on `filter`; reported per member, so a node with
    /// three members of a group reports three, and the cluster can weigh nodes by members.
    Shared {
        /// Group name.
        group: ByteString,
        /// Filter without the `$share/<group>/` prefix.
        filter: ByteString,
    },
}

/// How a message that arrived from another node reaches this node's sessions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via<'a> {
    /// To the subscribers of these filters (the ones behind the NATS subscription it came
    /// through) whose filter matches the topic.
    Filters(&'a [ByteString]),
    /// To every matching non-shared subscription.
    AllFilters,
    /// To one local member of this shared group at this filter.
    Shared {
        /// Group name.
        group: &'a str,
        /// Filter without the `$share/<group>/` prefix.
        filter: &'a str,
    },
}

/// A CONNECT asking for a client id.
#[derive(Debug, Clone)]
pub struct ClaimRequest {
    /// The client as authenticated.
    pub clientinfo: Arc<ClientInfo>,
    /// Clean Start / Clean Session.
    pub clean_start: bool,
    /// Session expiry interval granted, in seconds.
    pub expiry: u32,
    /// The will, recorded so a survivor can publish it if this node dies.
    pub will: Option<LastWill>,
}

/// The outcome of a claim.
#[derive(Debug)]
pub struct Claim {
    /// The claim's number for this client id: it only grows. The broker keeps it with the
    /// session and passes it back with every record, so a late write of an older connection
    /// cannot overwrite what a newer claim registered.
    pub epoch: u64,
    /// `None`: no other node holds a session for this client id (or clean start discarded it
    /// there), and the local registry decides as on a single node. `Some`: another node held
    /// the session and handed it over, or it was adopted from the record of a node that died;
    /// it resumes here.
    pub moved: Option<MovedSession>,
}

/// A session that moved to this node: its subscriptions, queue, in-flight window and QoS 2
/// identifiers awaiting PUBREL, in the layout the persistence store uses.
#[derive(Debug)]
pub struct MovedSession {
    pub(crate) state: RecoveredSession,
    /// Hooks of the node it came from already ran `session.takenover`; false when it was
    /// adopted from the record of a dead node.
    pub handed_over: bool,
}

impl MovedSession {
    /// The session state read from bytes another node made with [`Broker::handover`](crate::Broker).
    pub fn decode(bytes: bytes::Bytes, handed_over: bool) -> Result<MovedSession, ClusterError> {
        crate::remote::decode_handover(bytes)
            .map(|state| MovedSession { state, handed_over })
            .map_err(|e| ClusterError::Handover(e.to_string()))
    }

    /// A session rebuilt from a record of the cluster (a dead node's client): subscriptions
    /// only, nothing queued.
    pub fn from_record(record: &SessionRecord) -> MovedSession {
        MovedSession {
            state: crate::remote::recovered_from_record(record),
            handed_over: false,
        }
    }

    /// Its subscriptions (full filters), options and identifiers.
    pub fn subscription_list(&self) -> Vec<(ByteString, SubscriptionOptions, Option<u32>)> {
        self.state.record.subscriptions.clone()
    }

    /// Milliseconds since the epoch when the session was first made.
    pub fn created_at_ms(&self) -> u64 {
        self.state.record.created_at_ms
    }

    /// Number of queued and in-flight messages it holds.
    pub fn messages(&self) -> usize {
        self.state.entries.len()
    }
}

/// What the cluster keeps of one session so it outlives its node.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionRecord {
    /// Client id.
    pub clientid: ByteString,
    /// The epoch of the claim the session was opened under (see [`Claim::epoch`]).
    pub epoch: u64,
    /// A connection is attached.
    pub online: bool,
    /// Session expiry interval in seconds (0: ends with the connection).
    pub expiry: u32,
    /// Milliseconds since the epoch when the last connection closed (0 while online).
    pub disconnected_at_ms: u64,
    /// Milliseconds since the epoch when the session was made.
    pub created_at_ms: u64,
    /// User name of the last connection.
    pub username: Option<ByteString>,
    /// Protocol of the last connection.
    pub protocol: Protocol,
    /// Peer of the last connection.
    pub peer: SocketAddr,
    /// Listener mount point.
    pub mountpoint: Option<ByteString>,
    /// Subscriptions (full filters with any `$share/<group>/` prefix), options and identifier.
    pub subscriptions: Vec<(ByteString, SubscriptionOptions, Option<u32>)>,
    /// The will while it may still have to be published: from CONNECT until the connection
    /// closes (or, with a will delay, until the delay passed).
    pub will: Option<LastWill>,
}

/// Why a cluster operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// The link to the cluster is down: nothing can be registered.
    #[error("the cluster link is down")]
    Unavailable,
    /// Another node holds the client id and did not hand it over in time.
    #[error("node {node} holds the client id and did not hand it over")]
    Unresponsive {
        /// The holding node.
        node: String,
    },
    /// The registry changed under us too many times in a row.
    #[error("the client id registry is contended")]
    Contended,
    /// A handed-over session could not be read.
    #[error("a handed-over session is unreadable: {0}")]
    Handover(String),
    /// The backend failed.
    #[error("cluster backend: {0}")]
    Backend(String),
}

/// The cluster as one node sees it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClusterStatus {
    /// Cluster name.
    pub name: String,
    /// This node.
    pub node: String,
    /// Whether the link to the cluster (NATS) is up.
    pub link_up: bool,
    /// The server this node is connected to, if any.
    pub link_server: Option<String>,
    /// Times the link was re-established.
    pub reconnects: u64,
    /// Members with a live lease, this node included.
    pub members: Vec<MemberStatus>,
    /// Messages forwarded to other nodes.
    pub forwarded: u64,
    /// Messages not forwarded because the link was down.
    pub unforwarded: u64,
    /// Messages received from other nodes.
    pub received: u64,
    /// Envelopes from other nodes that could not be read.
    pub malformed: u64,
    /// Sessions taken over from / handed to other nodes.
    pub takeovers_in: u64,
    /// Sessions handed to other nodes.
    pub takeovers_out: u64,
    /// Sessions adopted from dead nodes.
    pub adopted: u64,
    /// Wills published for clients of dead nodes.
    pub orphan_wills: u64,
}

/// One member of the cluster.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MemberStatus {
    /// Node name.
    pub node: String,
    /// Connections open on it, as of its last heartbeat.
    pub connections: i64,
    /// Sessions on it, as of its last heartbeat.
    pub sessions: u64,
    /// Milliseconds since its last heartbeat.
    pub last_seen_ms: u64,
    /// Its management API address, if it has one.
    pub api: Option<String>,
}

/// Clients of the whole cluster.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClusterClients {
    /// Every node's clients, each with the node that holds it.
    pub clients: Vec<(String, crate::ClientView)>,
    /// Nodes that did not answer.
    pub missing: Vec<String>,
}
