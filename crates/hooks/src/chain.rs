//! The chain: how the broker runs a hook point. Valued points fold an accumulator over the
//! handlers in order (continue replaces it, ignore keeps it, stop ends the chain; a failed call
//! applies the handler's failure policy); a handler that only observes the point is handed the
//! event at its place in the order and the fold goes on without it. Notification points tell
//! every handler and go on.

use std::sync::Arc;

use bytestring::ByteString;
use tokio::time::Instant;

use crate::event::{Action, Event};
use crate::filter_request::FilterRequest;
use crate::handler::{FailedAction, HookError, Value, Verdict};
use crate::hold::Hold;
use crate::info::ClientInfo;
use crate::message::Message;
use crate::point::HookPoint;
use crate::registry::{Hooks, Slot};
use crate::rights::{RightError, check_message, suback_refusal};
use hookmq_codec::{Properties, ReasonCode, SubscriptionOptions, TopicFilter};

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
    /// Do not route it and do not report a drop: the named handler consumed it. The publisher
    /// is acknowledged with success.
    Consume {
        /// The handler that decided.
        by: String,
    },
    /// Route this message, and hold the publisher's acknowledgement until the holding handler
    /// confirms it (see [`Hold`]).
    Hold {
        /// The message to route.
        message: Arc<Message>,
        /// Who holds it, on which terms.
        hold: Hold,
    },
}

/// How a valued point reads a handler's value into its accumulator.
pub(crate) trait Accumulator: Sized {
    fn from_value(value: Value) -> Option<Self>;
    fn denied() -> Self;
    /// The value when a mandatory handler is unavailable, for points where that matters.
    fn unavailable() -> Option<Self> {
        None
    }
    /// Whether the broker can act on the value as it is (no invalid packet may follow).
    fn check(&self) -> Result<(), RightError> {
        Ok(())
    }
    /// The client id the value assigns, for the broker's [`AssignedIdRules`].
    fn assigned_id(&self) -> Option<&str> {
        None
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

/// `message.publish` accumulator: the message, or that it was dropped or consumed, or held
/// (with the message to route, `None` for the accumulator as it stands).
enum PublishAcc {
    Message(Arc<Message>),
    Dropped,
    Consumed,
    Held(Option<Arc<Message>>),
}

impl Accumulator for PublishAcc {
    fn from_value(value: Value) -> Option<Self> {
        match value {
            Value::Message(m) => Some(PublishAcc::Message(m)),
            Value::Drop => Some(PublishAcc::Dropped),
            Value::Consume => Some(PublishAcc::Consumed),
            Value::Hold(m) => Some(PublishAcc::Held(m)),
            _ => None,
        }
    }
    fn denied() -> Self {
        PublishAcc::Dropped
    }
    fn check(&self) -> Result<(), RightError> {
        match self {
            PublishAcc::Message(m) | PublishAcc::Held(Some(m)) => check_message(m),
            _ => Ok(()),
        }
    }
}

/// `client.subscribe` accumulator: the filters, or a refusal of all of them (a failed handler
/// whose policy is to deny).
enum SubscribeAcc {
    Filters(Vec<FilterRequest>),
    Denied,
}

impl Accumulator for SubscribeAcc {
    fn from_value(value: Value) -> Option<Self> {
        match value {
            Value::Filters(f) => Some(SubscribeAcc::Filters(f)),
            _ => None,
        }
    }
    fn denied() -> Self {
        SubscribeAcc::Denied
    }
    fn check(&self) -> Result<(), RightError> {
        if let SubscribeAcc::Filters(filters) = self {
            for code in filters.iter().filter_map(|f| f.refused) {
                suback_refusal(code)?;
            }
        }
        Ok(())
    }
}

/// What the fold does after one handler.
pub(crate) enum Step<T> {
    Keep,
    Replace(T),
    Finish(T),
}

impl Hooks {
    /// Calls one handler of a valued point and maps its answer (or failure) to a fold step. An
    /// observer is only handed the event (never waited for) and keeps the accumulator.
    pub(crate) async fn step<T: Accumulator>(slot: &Slot, event: Event) -> Step<T> {
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
        let (value, last) = match outcome {
            Ok(Verdict::Ignore) => return Step::Keep,
            Ok(Verdict::Continue(v)) => (v, false),
            Ok(Verdict::Stop(v)) => (v, true),
            Err(e) => return Hooks::failed(slot, &e),
        };
        let Some(t) = T::from_value(value) else {
            tracing::debug!(handler = %name, "a value of the wrong kind for this point; ignored");
            return Step::Keep;
        };
        // A value the broker cannot act on is a bad reply: the failure policy applies, and the
        // breaker counts it like any failed call.
        if let Err(e) = t.check() {
            entry.dispatcher.breaker().bad_value(Instant::now());
            return Hooks::failed(slot, &HookError::BadReply(e.to_string()));
        }
        if last {
            Step::Finish(t)
        } else {
            Step::Replace(t)
        }
    }

    /// The fold step of a failed call: the handler's failure policy.
    pub(crate) fn failed<T: Accumulator>(slot: &Slot, error: &HookError) -> Step<T> {
        let spec = &slot.entry.spec;
        tracing::debug!(handler = %spec.name, %error, "hook call failed");
        if spec.mandatory
            && matches!(error, HookError::Unavailable(_))
            && let Some(refusal) = T::unavailable()
        {
            // Availability control: a mandatory authenticator that is down (or whose circuit
            // breaker is open) refuses, it does not let clients fall through to allow_anonymous.
            return Step::Finish(refusal);
        }
        match spec.failed_action {
            FailedAction::Ignore => Step::Keep,
            FailedAction::Deny => Step::Finish(T::denied()),
        }
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
    ///
    /// The first handler that holds the acknowledgement keeps it: a later hold is read as the
    /// message it carries (the acknowledgement is already held; one confirmation releases it),
    /// and a later drop or consume ends the hold with the chain (nothing is left to confirm).
    pub async fn publish(&self, message: Arc<Message>) -> PublishOutcome {
        if message.is_sys() {
            return PublishOutcome::Publish(message);
        }
        let table = self.table.load_full();
        let mut acc = message;
        let mut hold: Option<Hold> = None;
        let outcome = |message: Arc<Message>, hold: Option<Hold>| match hold {
            Some(hold) => PublishOutcome::Hold { message, hold },
            None => PublishOutcome::Publish(message),
        };
        for slot in &table.by_point[HookPoint::MessagePublish.index()] {
            if !slot.matches_topic(acc.topic.as_str()) {
                continue;
            }
            let event = Event::MessagePublish {
                message: acc.clone(),
            };
            let spec = &slot.entry.spec;
            let by = || spec.name.clone();
            let (answer, last) = match Hooks::step(slot, event).await {
                Step::Keep => continue,
                Step::Replace(a) => (a, false),
                Step::Finish(a) => (a, true),
            };
            match answer {
                PublishAcc::Message(m) => acc = m,
                PublishAcc::Held(m) => {
                    if hold.is_none() {
                        hold = Some(Hold {
                            id: acc.id,
                            by: by(),
                            timeout: spec.hold_timeout,
                            failed_action: spec.failed_action,
                        });
                    }
                    if let Some(m) = m {
                        acc = m;
                    }
                }
                PublishAcc::Dropped => return PublishOutcome::Drop { by: by() },
                PublishAcc::Consumed => return PublishOutcome::Consume { by: by() },
            }
            if last {
                break;
            }
        }
        outcome(acc, hold)
    }

    /// Runs `client.subscribe` on a SUBSCRIBE's filters: each handler sees the filters as
    /// rewritten so far and answers all of them (a list of another length is a bad reply). A
    /// refusal stands: a later handler cannot lift it. A failed handler whose policy is to deny
    /// refuses every filter with 0x87 Not authorized.
    pub async fn subscribe(
        &self,
        clientinfo: &Arc<ClientInfo>,
        props: &Properties,
        filters: Vec<(TopicFilter, SubscriptionOptions)>,
    ) -> Vec<FilterRequest> {
        let mut acc: Vec<FilterRequest> = filters
            .into_iter()
            .map(|(f, o)| FilterRequest::new(f, o))
            .collect();
        let table = self.table.load_full();
        for slot in &table.by_point[HookPoint::ClientSubscribe.index()] {
            let event = Event::ClientSubscribe {
                clientinfo: clientinfo.clone(),
                props: props.clone(),
                filters: acc.iter().map(|r| (r.filter.clone(), r.options)).collect(),
            };
            let (answer, last) = match Hooks::step(slot, event).await {
                Step::Keep => continue,
                Step::Replace(a) => (a, false),
                Step::Finish(a) => (a, true),
            };
            match answer {
                SubscribeAcc::Denied => {
                    for r in &mut acc {
                        r.refused.get_or_insert(ReasonCode::NOT_AUTHORIZED);
                    }
                    break;
                }
                SubscribeAcc::Filters(answer) if answer.len() != acc.len() => {
                    let e = RightError::FilterCount {
                        got: answer.len(),
                        expected: acc.len(),
                    };
                    tracing::debug!(handler = %slot.entry.spec.name, error = %e, "client.subscribe answer ignored");
                }
                SubscribeAcc::Filters(answer) => {
                    for (r, a) in acc.iter_mut().zip(answer) {
                        let refused = r.refused.or(a.refused);
                        *r = a;
                        r.refused = refused;
                    }
                }
            }
            if last {
                break;
            }
        }
        acc
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
