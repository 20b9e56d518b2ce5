//! What a handler is: the [`Handler`] trait every driver implements, the [`Verdict`] it answers
//! with, and the options ([`HandlerSpec`]) it is registered with.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use crate::event::{AuthResult, Event};
use crate::message::Message;
use crate::point::HookPoint;

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
    /// `client.authorize`: allowed or not; for `client.authenticate`, true allows and false
    /// refuses with "not authorized".
    Allow(bool),
    /// `message.publish`: the message to route instead.
    Message(Arc<Message>),
    /// `message.publish`: do not route the message.
    Drop,
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
    /// wait (a full queue drops and counts the event); valued calls wait for their answer.
    Queued {
        /// Number of queues; a client's events always use the same one.
        shards: usize,
        /// Capacity of each queue.
        capacity: usize,
    },
    /// In the caller's task, awaited before the broker goes on (EMQX's behaviour).
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
}

impl PointSpec {
    /// A point without topic filters.
    pub fn all(point: HookPoint) -> PointSpec {
        PointSpec {
            point,
            topics: Vec::new(),
        }
    }
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
}

impl HandlerSpec {
    /// A spec with default options: priority 0, 5 s timeout, failures ignored, queued dispatch.
    pub fn new(name: impl Into<String>, driver: impl Into<String>, points: Vec<PointSpec>) -> Self {
        HandlerSpec {
            name: name.into(),
            driver: driver.into(),
            points,
            priority: 0,
            timeout: Duration::from_secs(5),
            failed_action: FailedAction::Ignore,
            dispatch: Dispatch::default(),
        }
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
