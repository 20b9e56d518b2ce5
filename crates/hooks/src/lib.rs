//! The hook system: the 20 hook points, their typed payloads, the handler chain and its metrics.
//!
//! The broker owns one [`Hooks`] registry and calls it at each hook point; drivers (native Rust
//! closures, the port drivers for Python and Java, the gRPC exhook client) implement [`Handler`]
//! and register with a [`HandlerSpec`]. Nothing here knows about sockets or processes.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! use std::sync::Arc;
//! use hookmq_hooks::{handler_fn, Event, HandlerSpec, HookPoint, Hooks, PointSpec, Value, Verdict};
//!
//! let hooks = Arc::new(Hooks::new());
//! // Deny publishing to anything under `secret/`.
//! let acl = handler_fn(|event| match event {
//!     Event::ClientAuthorize { topic, .. } if topic.starts_with("secret/") => {
//!         Verdict::Stop(Value::Allow(false))
//!     }
//!     _ => Verdict::Ignore,
//! });
//! let spec = HandlerSpec::new("acl", "native", vec![PointSpec::all(HookPoint::ClientAuthorize)]);
//! hooks.register(spec, acl).unwrap();
//! assert!(hooks.has(HookPoint::ClientAuthorize));
//! # }
//! ```

mod authz_cache;
mod breaker;
mod chain;
mod connack_terms;
mod dispatch;
mod enhanced_auth;
mod event;
mod filter_request;
mod grant;
mod handler;
mod hold;
mod info;
mod login;
mod message;
mod metrics;
mod point;
mod probe;
mod redirect;
mod registry;
mod rights;
mod service_call;
mod services;
pub mod trace;

pub use authz_cache::{AuthzCache, AuthzCacheConfig};
pub use breaker::{BREAKER_OPEN, Breaker, BreakerConfig, BreakerState, BreakerStatus};
pub use chain::PublishOutcome;
pub use connack_terms::{ConnackTerms, Refusal, UserProperty};
pub use enhanced_auth::{AuthRequest, AuthStep, EnhancedAuth};
pub use event::{Action, AuthResult, Event, SubscriptionInfo};
pub use filter_request::FilterRequest;
pub use grant::{Grant, Rights};
pub use handler::{
    DEFAULT_HOLD_TIMEOUT, Dispatch, FailedAction, Handler, HandlerSpec, HookError, HookFuture,
    Overflow, PointSpec, Value, Verdict, async_handler_fn, handler_fn,
};
pub use hold::Hold;
pub use info::{ClientInfo, ConnInfo, Identity, NodeName, peerhost_text};
pub use login::{AssignedIdRules, Login};
pub use message::{DropReason, Message, MessageHeaders, MessageId, now_ms};
pub use metrics::{HandlerMetrics, LATENCY_BUCKETS_US, PointMetrics, PointStats};
pub use point::{HookPoint, PointKind};
pub use probe::ProbeCall;
pub use redirect::Redirect;
pub use registry::{HandlerInfo, Hooks, Position, RegistryError};
pub use rights::{
    MAX_FIELD_LEN, RightError, check_assigned_client_id, check_connack_terms, check_message,
    check_refusal, connack_refusal, disconnect_reason, field_len, suback_refusal,
};
pub use service_call::{SERVICE_NAMES, ServiceCall, ServiceReply};
pub use services::{
    AuthzTarget, BrokerServices, ClientFilter, ClientPage, ClientSummary, MAX_HOPS, MAX_PAGE, Page,
    PublishReceipt, PublishRequest, ServiceError, ServiceFuture, SessionSubscription,
    SessionSummary,
};
