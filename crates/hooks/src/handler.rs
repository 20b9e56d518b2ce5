//! What a handler is: the [`Handler`] trait every driver implements, the [`Verdict`] it answers
//! with, and the options ([`HandlerSpec`]) it is registered with.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use crate::breaker::BreakerConfig;
use crate::connack_terms::Refusal;
use crate::enhanced_auth::EnhancedAuth;
use crate::event::{AuthResult, Event};
use crate::filter_request::FilterRequest;
use crate::grant::Grant;
use crate::message::Message;
use crate::point::HookPoint;
use crate::redirect::Redirect;

/// The future a handler returns. It owns what it needs (`'static`) so the registry can keep
/// several calls in flight or queue them.
pub type HookFuture = Pin<Box<dyn Future<Output = Result<Verdict, HookError>> + Send + 'static>>;

/// A handler's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// No opinion: the chain goes on with the accumulator unchanged.
    Ignore,
    /// Replace the accumulator and go on to the next handler.
    Continue(Value),
    /// Replace the accumulator and end the chain.
    Stop(Value),
}

/// A value a handler returns for a valued hook point.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// `client.authenticate`: the full result (superuser flag, refusal reason).
    Auth(AuthResult),
    /// `client.authenticate`: let the client in on these terms (expiry, rights, CONNACK terms
    /// and an assigned client id).
    Grant(Grant),
    /// `client.authenticate`: refuse the login with a CONNACK refusal code, and for MQTT 5
    /// clients a Reason String and User Properties.
    Refuse(Refusal),
    /// `client.authenticate`: refuse the login and send the client to another server (MQTT 5:
    /// CONNACK 0x9C or 0x9D with a Server Reference; MQTT 3.x: return code 3).
    Redirect(Redirect),
    /// `client.authorize`: allowed or not; for `client.authenticate`, true allows and false
    /// refuses with "not authorized".
    Allow(bool),
    /// `message.publish`: the message to route instead.
    Message(Arc<Message>),
    /// `message.publish`: do not route the message; it is reported dropped (`message.dropped`
    /// with `dropped_by_hook`) and the publisher still gets a success acknowledgement.
    Drop,
    /// `message.publish`: accept and consume: acknowledge the publisher, route nothing, and do
    /// not report a drop (the hook took the message, e.g. into a database).
    Consume,
    /// `message.publish`: route the message (this one, or the accumulator as it stands when
    /// `None`) but hold the publisher's PUBACK / PUBREC until the handler confirms it by message
    /// id (the `confirm` service) or its [`HandlerSpec::hold_timeout`] passes, when its
    /// [`FailedAction`] decides. QoS 0 messages, and messages no client waits on, are routed as
    /// with [`Value::Message`].
    Hold(Option<Arc<Message>>),
    /// `client.subscribe`: the SUBSCRIBE's filters, one per filter of the packet in its order,
    /// each kept, rewritten or refused.
    Filters(Vec<FilterRequest>),
    /// `client.enhanced_authenticate`: continue the exchange, let the client in, or refuse it.
    EnhancedAuth(EnhancedAuth),
}

/// Why a handler call failed. The chain applies the handler's [`FailedAction`] to valued hooks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HookError {
    /// No answer before the deadline.
    #[error("timed out")]
    Timeout,
    /// The handler cannot take calls (worker down, server disconnected, queue closed).
    #[error("handler unavailable: {0}")]
    Unavailable(String),
    /// The handler's code failed (an exception, an error status).
    #[error("handler failed: {0}")]
    Failed(String),
    /// The handler answered something that cannot be understood.
    #[error("bad reply: {0}")]
    BadReply(String),
}

/// A hook handler: native Rust code, a port worker pool, a gRPC server.
pub trait Handler: Send + Sync + 'static {
    /// Handles one event. Notification events' verdicts are ignored.
    fn call(&self, event: Arc<Event>) -> HookFuture;

    /// True if `call` fixes the order of events before it returns (for instance by writing the
    /// request to an ordered pipe); the registry then keeps several calls in flight per client
    /// queue instead of awaiting each before the next.
    fn pipelined(&self) -> bool {
        false
    }
}

/// What a failed call means for a valued hook.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FailedAction {
    /// Behave as if the handler had answered [`Verdict::Ignore`].
    #[default]
    Ignore,
    /// End the chain with a refusal: login refused, publish/subscribe denied, message dropped.
    Deny,
}

/// How events reach the handler.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dispatch {
    /// Through bounded per-client-ordered queues served by background tasks. Notifications never
    /// wait (a full queue applies the handler's [`Overflow`]); valued calls wait for their answer.
    Queued {
        /// Number of queues; a client's events always use the same one.
        shards: usize,
        /// Capacity of each queue.
        capacity: usize,
    },
    /// In the caller's task, awaited before the broker goes on (EMQX's behaviour). Observe-only
    /// points of such a handler still go through queues (of the default shape), since the
    /// broker must not wait for them; their order against the inline calls is not kept.
    Inline,
}

impl Default for Dispatch {
    fn default() -> Self {
        Dispatch::Queued {
            shards: 8,
            capacity: 4096,
        }
    }
}

/// One hook point a handler registers for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PointSpec {
    /// The point.
    pub point: HookPoint,
    /// Topic filters for `message.*` points; empty means every topic.
    pub topics: Vec<String>,
    /// The handler only observes this point (it records or forwards, it never decides): the
    /// broker never waits for it. Its events travel like notifications, through the handler's
    /// queues and under its [`Overflow`] policy; on a valued point it takes no part in the fold,
    /// sees the accumulator as it stands at its place in the chain, and a value it answers is
    /// ignored and counted (`values_ignored`). Drivers that batch may send these events without
    /// asking for an answer.
    pub observe: bool,
}

impl PointSpec {
    /// A point without topic filters.
    pub fn all(point: HookPoint) -> PointSpec {
        PointSpec {
            point,
            topics: Vec::new(),
            observe: false,
        }
    }

    /// An observe-only point without topic filters.
    pub fn observed(point: HookPoint) -> PointSpec {
        PointSpec {
            observe: true,
            ..PointSpec::all(point)
        }
    }

    /// The same point limited to `topics` (meaningful for `message.*` points only).
    pub fn with_topics<I, S>(mut self, topics: I) -> PointSpec
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.topics = topics.into_iter().map(Into::into).collect();
        self
    }
}

/// What happens to an event the broker does not wait for — a notification, or an event of an
/// observe-only point — when the handler's queue for that client is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Overflow {
    /// Drop the event and count it (`dropped`); the broker never waits.
    #[default]
    Drop,
    /// For handlers that must see everything: the client's task waits for room, up to the
    /// handler's timeout (then the event is dropped and counted, so a stuck handler cannot stall
    /// the broker for good). Where the broker cannot wait (events raised inside locks:
    /// `message.delivered`, `message.acked`, `message.dropped`, `session.terminated`), the event
    /// is queued beyond the bound instead of dropped; the clients that cause them are the ones
    /// that wait, which keeps the excess bounded.
    Block,
}

/// How a handler is registered.
#[derive(Debug, Clone)]
pub struct HandlerSpec {
    /// Unique name, e.g. `python3`, `exhook:auth`, `native:acl`.
    pub name: String,
    /// The kind of driver, for metrics and listings: `native`, `python3`, `java`, `grpc`.
    pub driver: String,
    /// The points it handles.
    pub points: Vec<PointSpec>,
    /// Higher runs first; equal priorities run in registration order.
    pub priority: i32,
    /// Deadline of each call.
    pub timeout: Duration,
    /// What a failed call means for valued hooks.
    pub failed_action: FailedAction,
    /// How events reach it.
    pub dispatch: Dispatch,
    /// What a full queue does to notifications and observed events.
    pub overflow: Overflow,
    /// The broker cannot do without this handler's `client.authenticate`: while the handler is
    /// unavailable ([`HookError::Unavailable`]: worker down, server disconnected), new clients
    /// are refused with 0x88 Server unavailable (MQTT 3.x: return code 3), whatever its
    /// `failed_action`, instead of falling through to `allow_anonymous`. The same holds while
    /// its circuit breaker is open.
    pub mandatory: bool,
    /// When the registry stops calling the handler after failures, and for how long
    /// (`crate::breaker`); disabled by default.
    pub breaker: BreakerConfig,
    /// How long a publisher's acknowledgement held by this handler ([`Value::Hold`]) waits for
    /// its confirmation before the handler's [`FailedAction`] decides it.
    pub hold_timeout: Duration,
}

/// The default [`HandlerSpec::hold_timeout`].
pub const DEFAULT_HOLD_TIMEOUT: Duration = Duration::from_secs(5);

impl HandlerSpec {
    /// A spec with default options: priority 0, 5 s timeout, failures ignored, queued dispatch,
    /// full queues drop, not mandatory, no circuit breaker, held acknowledgements wait 5 s.
    pub fn new(name: impl Into<String>, driver: impl Into<String>, points: Vec<PointSpec>) -> Self {
        HandlerSpec {
            name: name.into(),
            driver: driver.into(),
            points,
            priority: 0,
            timeout: Duration::from_secs(5),
            failed_action: FailedAction::Ignore,
            dispatch: Dispatch::default(),
            overflow: Overflow::Drop,
            mandatory: false,
            breaker: BreakerConfig::DEFAULT,
            hold_timeout: DEFAULT_HOLD_TIMEOUT,
        }
    }

    /// Whether any point is observe-only.
    pub fn observes(&self) -> bool {
        self.points.iter().any(|p| p.observe)
    }
}

struct FnHandler<F>(F);

impl<F> Handler for FnHandler<F>
where
    F: Fn(&Event) -> Verdict + Send + Sync + 'static,
{
    fn call(&self, event: Arc<Event>) -> HookFuture {
        let verdict = (self.0)(&event);
        Box::pin(std::future::ready(Ok(verdict)))
    }

    fn pipelined(&self) -> bool {
        true
    }
}

/// A native handler from a synchronous closure. It runs where the registry calls it, so keep it
/// quick; use [`async_handler_fn`] for anything that waits.
pub fn handler_fn<F>(f: F) -> Arc<dyn Handler>
where
    F: Fn(&Event) -> Verdict + Send + Sync + 'static,
{
    Arc::new(FnHandler(f))
}

struct AsyncFnHandler<F>(F);

impl<F, Fut> Handler for AsyncFnHandler<F>
where
    F: Fn(Arc<Event>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Verdict, HookError>> + Send + 'static,
{
    fn call(&self, event: Arc<Event>) -> HookFuture {
        Box::pin((self.0)(event))
    }
}

/// A native handler from an async closure.
pub fn async_handler_fn<F, Fut>(f: F) -> Arc<dyn Handler>
where
    F: Fn(Arc<Event>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Verdict, HookError>> + Send + 'static,
{
    Arc::new(AsyncFnHandler(f))
}
