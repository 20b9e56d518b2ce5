//! The chain: how the broker runs a hook point. Valued points fold an accumulator over the
//! handlers in order (continue replaces it, ignore keeps it, stop ends the chain; a failed call
//! applies the handler's failure policy); a handler that only observes the point is handed the
//! event at its place in the order and the fold goes on without it. Notification points tell
//! every handler and go on.

use std::sync::Arc;

use bytestring::ByteString;
use tokio::time::Instant;

use crate::enhanced_auth::{AuthRequest, EnhancedAuth};
use crate::event::{Action, AuthResult, Event};
use crate::grant::Grant;
use crate::handler::{FailedAction, Value, Verdict};
use crate::info::{ClientInfo, Identity};
use crate::message::Message;
use crate::point::HookPoint;
use crate::redirect::Redirect;
use crate::registry::{Hooks, Slot};
use hookmq_codec::ReasonCode;

/// The result of `message.publish`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublishOutcome {
    /// Route this message (the original or a handler's rewrite).
    Publish(Arc<Message>),
    /// Do not route it; the named handler dropped it.
    Drop {
        /// The handler that decided.
        by: String,
    },
}

/// How a valued point reads a handler's value into its accumulator.
trait Accumulator: Sized {
    fn from_value(value: Value) -> Option<Self>;
    fn denied() -> Self;
}

/// The outcome of `client.authenticate`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Login {
    /// Let in or refused.
    pub result: AuthResult,
    /// Whether a handler gave the result (a client let in by a handler is not anonymous).
    pub decided: bool,
    /// The terms of the handler that let the client in, if it gave any.
    pub grant: Option<Grant>,
    /// Where the handler that refused the client sends it, if it did.
    pub redirect: Option<Redirect>,
}

/// `client.authenticate` accumulator: a later handler's value replaces the whole of it, grant
/// and redirection included.
struct AuthAcc(AuthResult, Option<Grant>, Option<Redirect>);

impl Accumulator for AuthAcc {
    fn from_value(value: Value) -> Option<Self> {
        match value {
            Value::Auth(r) => Some(AuthAcc(r, None, None)),
            Value::Grant(g) => Some(AuthAcc(
                AuthResult::Allow {
                    superuser: g.superuser,
                },
                Some(g),
                None,
            )),
            Value::Redirect(r) => Some(AuthAcc(AuthResult::Deny(r.reason_code()), None, Some(r))),
            Value::Allow(true) => Some(AuthAcc(AuthResult::Allow { superuser: false }, None, None)),
            Value::Allow(false) => Some(AuthAcc(
                AuthResult::Deny(ReasonCode::NOT_AUTHORIZED),
                None,
                None,
            )),
            _ => None,
        }
    }
    fn denied() -> Self {
        AuthAcc(AuthResult::Deny(ReasonCode::NOT_AUTHORIZED), None, None)
    }
}

impl Accumulator for bool {
    fn from_value(value: Value) -> Option<Self> {
        match value {
            Value::Allow(b) => Some(b),
            _ => None,
        }
    }
    fn denied() -> Self {
        false
    }
}

/// `message.publish` accumulator: the message, or who dropped it.
enum PublishAcc {
    Message(Arc<Message>),
    Dropped,
}

impl Accumulator for PublishAcc {
    fn from_value(value: Value) -> Option<Self> {
        match value {
            Value::Message(m) => Some(PublishAcc::Message(m)),
            Value::Drop => Some(PublishAcc::Dropped),
            _ => None,
        }
    }
    fn denied() -> Self {
        PublishAcc::Dropped
    }
}

/// `client.enhanced_authenticate` accumulator. Besides its own value, a handler may answer as it
/// would `client.authenticate`: a grant or allow(true) lets the client in without final data,
/// allow(false) refuses it with 0x87.
impl Accumulator for EnhancedAuth {
    fn from_value(value: Value) -> Option<Self> {
        match value {
            Value::EnhancedAuth(a) => Some(a),
            Value::Grant(grant) => Some(EnhancedAuth::Success { data: None, grant }),
            Value::Allow(true) => Some(EnhancedAuth::Success {
                data: None,
                grant: Grant::default(),
            }),
            Value::Allow(false) => Some(EnhancedAuth::not_authorized()),
            _ => None,
        }
    }
    fn denied() -> Self {
        EnhancedAuth::not_authorized()
    }
}

/// What the fold does after one handler.
enum Step<T> {
    Keep,
    Replace(T),
    Finish(T),
}

impl Hooks {
    /// Calls one handler of a valued point and maps its answer (or failure) to a fold step. An
    /// observer is only handed the event (never waited for) and keeps the accumulator.
    async fn step<T: Accumulator>(slot: &Slot, event: Event) -> Step<T> {
        let entry = &slot.entry;
        if slot.observe {
            entry
                .dispatcher
                .notify(&entry.handler, &entry.metrics, Arc::new(event), true)
                .await;
            return Step::Keep;
        }
        let deadline = Instant::now() + entry.spec.timeout;
        let outcome = entry
            .dispatcher
            .call(&entry.handler, &entry.metrics, Arc::new(event), deadline)
            .await;
        let name = &entry.spec.name;
        match outcome {
            Ok(Verdict::Ignore) => Step::Keep,
            Ok(Verdict::Continue(v)) => match T::from_value(v) {
                Some(t) => Step::Replace(t),
                None => {
                    tracing::debug!(handler = %name, "continue with a value of the wrong kind; ignored");
                    Step::Keep
                }
            },
            Ok(Verdict::Stop(v)) => match T::from_value(v) {
                Some(t) => Step::Finish(t),
                None => {
                    tracing::debug!(handler = %name, "stop with a value of the wrong kind; ignored");
                    Step::Keep
                }
            },
            Err(e) => {
                tracing::debug!(handler = %name, error = %e, "hook call failed");
                match entry.spec.failed_action {
                    FailedAction::Ignore => Step::Keep,
                    FailedAction::Deny => Step::Finish(T::denied()),
                }
            }
        }
    }

    /// Runs `client.authenticate`. `initial` is what the broker decides on its own
    /// (`allow_anonymous`); the result decides the CONNACK.
    pub async fn authenticate(
        &self,
        clientinfo: Arc<ClientInfo>,
        initial: AuthResult,
    ) -> AuthResult {
        self.authenticate_decided(clientinfo, initial).await.0
    }

    /// Like [`Hooks::authenticate`], also saying whether a handler gave a value (a client let in
    /// by a handler is no longer anonymous).
    pub async fn authenticate_decided(
        &self,
        clientinfo: Arc<ClientInfo>,
        initial: AuthResult,
    ) -> (AuthResult, bool) {
        let login = self.login(clientinfo, None, initial).await;
        (login.result, login.decided)
    }

    /// Runs `client.authenticate` and returns the whole outcome, with the terms
    /// ([`Grant`]) of the handler that let the client in. `previous_owner` is the owner of the
    /// session the client id already has, if any, which handlers see.
    pub async fn login(
        &self,
        clientinfo: Arc<ClientInfo>,
        previous_owner: Option<Identity>,
        initial: AuthResult,
    ) -> Login {
        let table = self.table.load_full();
        let mut acc = AuthAcc(initial, None, None);
        let mut decided = false;
        for slot in &table.by_point[HookPoint::ClientAuthenticate.index()] {
            let event = Event::ClientAuthenticate {
                clientinfo: clientinfo.clone(),
                result: acc.0,
                previous_owner: previous_owner.clone(),
            };
            match Hooks::step(slot, event).await {
                Step::Keep => {}
                Step::Replace(r) => {
                    acc = r;
                    decided = true;
                }
                Step::Finish(r) => {
                    acc = r;
                    decided = true;
                    break;
                }
            }
        }
        let AuthAcc(result, grant, redirect) = acc;
        Login {
            result,
            decided,
            // A grant only means something for a client that is let in.
            grant: grant.filter(|_| result.is_allowed()),
            redirect: redirect.filter(|_| !result.is_allowed()),
        }
    }

    /// Runs `client.enhanced_authenticate` for one step of an AUTH exchange. Starts from
    /// [`EnhancedAuth::unhandled`] (0x8C Bad authentication method), so a method no handler
    /// answers is refused; the broker acts on the result.
    pub async fn enhanced_authenticate(
        &self,
        clientinfo: Arc<ClientInfo>,
        request: AuthRequest,
    ) -> EnhancedAuth {
        let table = self.table.load_full();
        let mut acc = EnhancedAuth::unhandled();
        for slot in &table.by_point[HookPoint::ClientEnhancedAuthenticate.index()] {
            let event = Event::ClientEnhancedAuthenticate {
                clientinfo: clientinfo.clone(),
                method: request.method.clone(),
                data: request.data.clone(),
                step: request.step,
                state: request.state.clone(),
                result: acc.clone(),
            };
            match Hooks::step(slot, event).await {
                Step::Keep => {}
                Step::Replace(r) => acc = r,
                Step::Finish(r) => return r,
            }
        }
        acc
    }

    /// Runs `client.authorize` for `topic` (for subscriptions: the filter without any
    /// `$share/group/` prefix). `initial` is the broker's default (`no_match`).
    pub async fn authorize(
        &self,
        clientinfo: &Arc<ClientInfo>,
        action: Action,
        topic: &ByteString,
        initial: bool,
    ) -> bool {
        let table = self.table.load_full();
        let mut acc = initial;
        for slot in &table.by_point[HookPoint::ClientAuthorize.index()] {
            let event = Event::ClientAuthorize {
                clientinfo: clientinfo.clone(),
                action,
                topic: topic.clone(),
                result: acc,
            };
            match Hooks::step(slot, event).await {
                Step::Keep => {}
                Step::Replace(r) => acc = r,
                Step::Finish(r) => return r,
            }
        }
        acc
    }

    /// Runs `message.publish`. Handlers whose topic filters do not match the message's current
    /// topic are skipped, as are `$SYS` messages.
    pub async fn publish(&self, message: Arc<Message>) -> PublishOutcome {
        if message.is_sys() {
            return PublishOutcome::Publish(message);
        }
        let table = self.table.load_full();
        let mut acc = message;
        for slot in &table.by_point[HookPoint::MessagePublish.index()] {
            if !slot.matches_topic(acc.topic.as_str()) {
                continue;
            }
            let event = Event::MessagePublish {
                message: acc.clone(),
            };
            let by = || slot.entry.spec.name.clone();
            match Hooks::step(slot, event).await {
                Step::Keep => {}
                Step::Replace(PublishAcc::Message(m)) => acc = m,
                Step::Finish(PublishAcc::Message(m)) => return PublishOutcome::Publish(m),
                Step::Replace(PublishAcc::Dropped) | Step::Finish(PublishAcc::Dropped) => {
                    return PublishOutcome::Drop { by: by() };
                }
            }
        }
        PublishOutcome::Publish(acc)
    }

    /// Tells every handler of the event's point. Queued handlers never make this wait (but a full
    /// queue under `Overflow::Block` does); inline ones are awaited in order. Message events for `$SYS` topics, and those whose topic a
    /// handler's filters do not match, are not sent.
    pub async fn notify(&self, event: Event) {
        let point = event.point();
        if !self.has(point) || event.message().is_some_and(|m| m.is_sys()) {
            return;
        }
        let table = self.table.load_full();
        let event = Arc::new(event);
        for slot in Hooks::listeners(&table.by_point[point.index()], &event) {
            let entry = &slot.entry;
            entry
                .dispatcher
                .notify(&entry.handler, &entry.metrics, event.clone(), slot.observe)
                .await;
        }
    }

    /// Like [`Hooks::notify`] for callers that cannot wait (inside a lock, in a sync function):
    /// queued handlers get the event at once; inline handlers are called on a spawned task.
    pub fn notify_nowait(self: &Arc<Self>, event: Event) {
        let point = event.point();
        if !self.has(point) || event.message().is_some_and(|m| m.is_sys()) {
            return;
        }
        let table = self.table.load_full();
        let event = Arc::new(event);
        for slot in Hooks::listeners(&table.by_point[point.index()], &event) {
            let entry = slot.entry.clone();
            let queued = entry
                .dispatcher
                .enqueue(&entry.metrics, event.clone(), slot.observe);
            if let Some(event) = queued {
                tokio::spawn(async move {
                    entry
                        .dispatcher
                        .notify(&entry.handler, &entry.metrics, event, false)
                        .await;
                });
            }
        }
    }

    /// The slots of a notification point that want this event (topic filters of message hooks).
    fn listeners<'a>(slots: &'a [Slot], event: &'a Event) -> impl Iterator<Item = &'a Slot> + 'a {
        slots.iter().filter(move |slot| match event.message() {
            Some(m) => slot.matches_topic(m.topic.as_str()),
            None => true,
        })
    }
}
