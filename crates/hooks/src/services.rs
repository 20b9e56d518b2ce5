//! Broker services for hook code: what a handler may ask the broker to do besides answering —
//! publish, kick, subscribe a client, read clients and sessions, edit retained messages,
//! invalidate authorization caches, read counters.
//!
//! [`BrokerServices`] is defined here so that drivers (native, port, stream) depend on this crate
//! only; the broker implements it and installs it in the [`Hooks`](crate::Hooks) registry when it
//! is built ([`Hooks::set_services`](crate::Hooks::set_services)), after the drivers were
//! registered, which is why drivers look it up per call ([`Hooks::services`](crate::Hooks::services)).
//! Drivers that carry calls by name (the port protocol, the stream protocol) decode them into a
//! [`ServiceCall`](crate::ServiceCall) and run it with [`call`](crate::service_call::call).
//!
//! Ordering and loops: no service waits on a client's hook queue or connection task, so a hook
//! may call any service for the client whose event it handles. `publish` with `through_hooks`
//! runs `message.publish` again; the message carries a hop count
//! ([`MessageHeaders::hops`](crate::MessageHeaders::hops)) and a publish whose hop count would
//! exceed [`MAX_HOPS`] is refused with [`ServiceError::LoopLimit`].

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use hookmq_codec::{Properties, QoS, ReasonCode, SubscriptionOptions};

use crate::message::{Message, MessageId};

/// How many times a message may be republished through `message.publish` by hook services
/// (a hook that republishes what it sees stops after this many rounds).
pub const MAX_HOPS: u8 = 8;

/// The most clients one [`BrokerServices::clients`] page holds.
pub const MAX_PAGE: usize = 1000;

/// The future of an asynchronous service.
pub type ServiceFuture<T> = Pin<Box<dyn Future<Output = Result<T, ServiceError>> + Send + 'static>>;

/// Why a service call was refused. Every driver passes [`ServiceError::code`] and the message on
/// to the calling hook code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ServiceError {
    /// No session with this client id.
    #[error("no client {0:?}")]
    UnknownClient(String),
    /// The client has a session but no connection (kick).
    #[error("client {0:?} is not connected")]
    NotConnected(String),
    /// Not a valid topic name for a publish or a retained message.
    #[error("invalid topic {topic:?}: {reason}")]
    InvalidTopic {
        /// The topic as given.
        topic: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Not a valid topic filter.
    #[error("invalid topic filter {filter:?}: {reason}")]
    InvalidFilter {
        /// The filter as given.
        filter: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The payload would not fit in a packet of the broker's `mqtt.max_packet_size`.
    #[error("payload of {size} bytes exceeds the broker's maximum packet size of {max} bytes")]
    PayloadTooLarge {
        /// Payload size.
        size: usize,
        /// `mqtt.max_packet_size`.
        max: usize,
    },
    /// The broker's rules forbid it (a `$` topic, a reason code a server may not send, a
    /// feature switched off).
    #[error("not allowed: {0}")]
    NotAllowed(String),
    /// A republish through `message.publish` beyond [`MAX_HOPS`].
    #[error("message republished through message.publish {hops} times (limit {MAX_HOPS})")]
    LoopLimit {
        /// The hop count the message would have had.
        hops: u8,
    },
    /// No service of this name (drivers that call by name).
    #[error("unknown service {0:?}")]
    UnknownService(String),
    /// An argument of the wrong type or value (drivers that call by name).
    #[error("bad argument for {service}: {reason}")]
    BadArgument {
        /// The service called.
        service: String,
        /// What was wrong.
        reason: String,
    },
    /// No broker is attached to the hook registry (for instance under `hookmq hooks replay`).
    #[error("broker services are unavailable")]
    Unavailable,
    /// The broker could not do it (the store refused a write, the session ended meanwhile).
    #[error("service failed: {0}")]
    Failed(String),
    /// `confirm` of a message whose acknowledgement is not held: an unknown id, one already
    /// confirmed, one past its deadline, or one whose publisher has gone.
    #[error("no acknowledgement held for message {0}")]
    NotHeld(MessageId),
}

impl ServiceError {
    /// A stable snake-case name for the error, as hook code sees it.
    pub fn code(&self) -> &'static str {
        match self {
            ServiceError::UnknownClient(_) => "unknown_client",
            ServiceError::NotConnected(_) => "not_connected",
            ServiceError::InvalidTopic { .. } => "invalid_topic",
            ServiceError::InvalidFilter { .. } => "invalid_filter",
            ServiceError::PayloadTooLarge { .. } => "payload_too_large",
            ServiceError::NotAllowed(_) => "not_allowed",
            ServiceError::LoopLimit { .. } => "loop_limit",
            ServiceError::UnknownService(_) => "unknown_service",
            ServiceError::BadArgument { .. } => "bad_argument",
            ServiceError::Unavailable => "unavailable",
            ServiceError::Failed(_) => "failed",
            ServiceError::NotHeld(_) => "not_held",
        }
    }

    /// A [`ServiceError::BadArgument`].
    pub fn bad_argument(service: &str, reason: impl Into<String>) -> ServiceError {
        ServiceError::BadArgument {
            service: service.to_owned(),
            reason: reason.into(),
        }
    }
}

/// A message for [`BrokerServices::publish`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishRequest {
    /// Topic name (validated by the broker with the codec's rules; `$` topics are refused).
    pub topic: String,
    /// Payload.
    pub payload: Bytes,
    /// QoS.
    pub qos: QoS,
    /// Retain flag.
    pub retain: bool,
    /// MQTT 5 publish properties that travel with a message (user properties, content type, ...).
    pub properties: Properties,
    /// Run `message.publish` on it before routing (false: route directly).
    pub through_hooks: bool,
    /// The hop count of the message whose hook made this call (0 when none); the new message
    /// gets one more.
    pub parent_hops: u8,
}

impl PublishRequest {
    /// A QoS 0, non-retained message routed directly.
    pub fn new(topic: impl Into<String>, payload: impl Into<Bytes>) -> PublishRequest {
        PublishRequest {
            topic: topic.into(),
            payload: payload.into(),
            qos: QoS::AtMostOnce,
            retain: false,
            properties: Properties::default(),
            through_hooks: false,
            parent_hops: 0,
        }
    }
}

/// What a publish did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublishReceipt {
    /// The message's id.
    pub id: MessageId,
    /// Sessions it was delivered to on this node (0 when a hook dropped it); `None` for a
    /// publish through hooks, which is accepted before `message.publish` runs.
    pub receivers: Option<usize>,
}

/// Which sessions an authorization cache invalidation concerns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthzTarget {
    /// One client.
    Client(String),
    /// Every session.
    All,
}

/// A client (its session, and its connection if any).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientSummary {
    /// Client id.
    pub clientid: String,
    /// User name.
    pub username: Option<String>,
    /// Whether a connection is attached.
    pub connected: bool,
    /// Peer address of the last connection.
    pub peer: String,
    /// Protocol level (3, 4, 5).
    pub proto_ver: u8,
    /// Session expiry interval, seconds.
    pub expiry_interval: u32,
    /// Milliseconds since the epoch when the session was made.
    pub created_at_ms: u64,
}

/// Which clients [`BrokerServices::clients`] lists; every set field must match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientFilter {
    /// Client ids starting with this.
    pub clientid_prefix: Option<String>,
    /// This user name.
    pub username: Option<String>,
    /// Connected (true) or not (false).
    pub connected: Option<bool>,
}

/// A page of a listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    /// Entries skipped.
    pub offset: usize,
    /// At most this many (capped at [`MAX_PAGE`]).
    pub limit: usize,
}

impl Default for Page {
    fn default() -> Self {
        Page {
            offset: 0,
            limit: 100,
        }
    }
}

/// One page of clients, sorted by client id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientPage {
    /// The clients of the page.
    pub clients: Vec<ClientSummary>,
    /// How many clients matched in all.
    pub total: usize,
}

/// One subscription of a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionSubscription {
    /// The filter as the client (or the service) subscribed it, without the mount point.
    pub filter: String,
    /// Its options.
    pub options: SubscriptionOptions,
}

/// A session's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionSummary {
    /// Client id.
    pub clientid: String,
    /// Whether a connection is attached.
    pub connected: bool,
    /// Subscriptions, sorted by filter.
    pub subscriptions: Vec<SessionSubscription>,
    /// Messages queued.
    pub queue_len: usize,
    /// Messages in flight.
    pub inflight: usize,
    /// Session expiry interval, seconds.
    pub expiry_interval: u32,
}

/// The broker's services, as hook code calls them. Implemented by the broker; reached by drivers
/// through [`Hooks::services`](crate::Hooks::services). No method waits on a client's connection
/// task or hook queue.
pub trait BrokerServices: Send + Sync + 'static {
    /// Publishes a message as the broker: routed at once (resolving once routed and stored), or,
    /// when `through_hooks`, accepted at once and passed through `message.publish` in a task of
    /// its own (subject to [`MAX_HOPS`]), so the calling hook never waits on the chain.
    fn publish(&self, request: PublishRequest) -> ServiceFuture<PublishReceipt>;

    /// Closes a client's connection; MQTT 5 clients get a DISCONNECT with `reason` (a code a
    /// server may send in DISCONNECT, [MQTT 5 §3.14.2.1]).
    fn kick(&self, clientid: &str, reason: ReasonCode) -> Result<(), ServiceError>;

    /// Subscribes a client (connected, or a persistent session) to `filter` as if it had sent
    /// SUBSCRIBE, without authorization (the hook speaks for the broker); resolves to the
    /// granted QoS. Retained messages follow per the options' Retain Handling.
    fn subscribe(
        &self,
        clientid: &str,
        filter: &str,
        options: SubscriptionOptions,
    ) -> ServiceFuture<QoS>;

    /// Removes a client's subscription; resolves to whether it existed.
    fn unsubscribe(&self, clientid: &str, filter: &str) -> ServiceFuture<bool>;

    /// One client.
    fn client(&self, clientid: &str) -> Result<ClientSummary, ServiceError>;

    /// A page of clients matching `filter`.
    fn clients(&self, filter: &ClientFilter, page: Page) -> ClientPage;

    /// One client's session: subscriptions, queue length, in-flight count.
    fn session(&self, clientid: &str) -> Result<SessionSummary, ServiceError>;

    /// The retained message of a topic.
    fn retained_get(&self, topic: &str) -> Result<Option<Arc<Message>>, ServiceError>;

    /// Sets the retained message of a topic (an empty payload deletes it, [MQTT-3.3.1-6]).
    fn retained_set(
        &self,
        topic: &str,
        payload: Bytes,
        qos: QoS,
        properties: Properties,
    ) -> ServiceFuture<()>;

    /// Deletes the retained message of a topic; true if there was one.
    fn retained_delete(&self, topic: &str) -> Result<bool, ServiceError>;

    /// Forgets cached authorization decisions and re-checks the sessions (what
    /// `hookmq ctl clients reauthorize` does); the next publish asks `client.authorize` again.
    /// Resolves to the number of sessions re-checked.
    fn authz_cache_invalidate(&self, target: AuthzTarget) -> ServiceFuture<usize>;

    /// Broker counters by name.
    fn metrics(&self) -> Vec<(String, i64)>;

    /// Releases the publisher's acknowledgement a `message.publish` handler held
    /// ([`Value::Hold`](crate::Value::Hold)) for the message `id`: `ok` sends it with success,
    /// otherwise as a refusal (MQTT 5: 0x80 Unspecified error; MQTT 3.x: the connection closes
    /// without it, so the client sends the message again). Each hold is released once; an id
    /// not held ([`ServiceError::NotHeld`]) changes nothing.
    fn confirm(&self, id: MessageId, ok: bool) -> Result<(), ServiceError>;
}
