//! Replies to verdicts. A `ReplyBatch` from the extension is first sorted ([`sort`]): a batch
//! over the limit is refused whole, ids that were never issued or that appear twice are refused
//! one by one. Each accepted reply then becomes the [`Verdict`] the chain folds ([`verdict`]):
//! IGNORE ignores, CONTINUE and STOP carry a value that must fit the event's point, FAIL fails
//! the call. Unlike EMQX's exhook, a value of the wrong kind is not quietly ignored: it is a bad
//! reply, so the failure policy applies and the fault shows in the counters and the log.

use std::collections::HashSet;
use std::sync::Arc;

use bytestring::ByteString;
use hookmq_codec::{PacketType, QoS, ReasonCode, TopicName};
use hookmq_hooks::{
    AuthResult, EnhancedAuth, Event, Grant, HookError, HookPoint, Message, Value, Verdict,
};

use crate::proto::v1::{self as pb, reply::Value as V};

/// Why a reply (or a whole batch) was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplyError {
    /// The batch holds more replies than `max_batch`.
    #[error("a batch of {got} replies exceeds max_batch {limit}")]
    TooLarge {
        /// Replies in the batch.
        got: usize,
        /// The limit sent in `Hello`.
        limit: usize,
    },
    /// Id 0 is never issued.
    #[error("reply without an id")]
    NoId,
    /// The id was never issued on this stream.
    #[error("reply to id {0}, which was never sent")]
    UnknownId(u64),
    /// The batch answers the same id more than once.
    #[error("id {0} answered twice in one batch")]
    Twice(u64),
    /// The outcome is not one the protocol defines.
    #[error("unknown outcome {0}")]
    Outcome(i32),
    /// CONTINUE or STOP without a value, or with one the point does not take.
    #[error("{outcome} with {got} does not fit {point}")]
    Value {
        /// CONTINUE or STOP.
        outcome: &'static str,
        /// What came.
        got: &'static str,
        /// The event's point.
        point: HookPoint,
    },
    /// The extension answered FAIL: its handler failed.
    #[error("the extension failed: {0}")]
    Failed(String),
    /// A value that cannot be used (a topic with wildcards, QoS 3, a refusal code CONNACK
    /// cannot carry).
    #[error("{0}")]
    Invalid(String),
}

impl From<ReplyError> for HookError {
    fn from(e: ReplyError) -> Self {
        match e {
            ReplyError::Failed(why) => HookError::Failed(why),
            other => HookError::BadReply(other.to_string()),
        }
    }
}

/// A batch after sorting: replies to settle, and refusals with the ids they name.
#[derive(Debug, Default)]
pub struct Sorted {
    /// Replies whose ids were issued and appear once.
    pub accepted: Vec<pb::Reply>,
    /// Refused replies: the id named (0 if none) and why.
    pub refused: Vec<(u64, ReplyError)>,
}

/// Sorts a batch: `issued` is the highest id sent on the stream so far, `limit` the most
/// replies a batch may hold. A batch over the limit is refused whole (each named id fails).
pub(crate) fn sort(batch: pb::ReplyBatch, issued: u64, limit: usize) -> Sorted {
    let mut sorted = Sorted::default();
    let got = batch.replies.len();
    if got > limit {
        sorted.refused = batch
            .replies
            .iter()
            .map(|r| (r.id, ReplyError::TooLarge { got, limit }))
            .collect();
        return sorted;
    }
    let mut seen = HashSet::with_capacity(got);
    let mut twice = HashSet::new();
    for r in &batch.replies {
        if !seen.insert(r.id) {
            twice.insert(r.id);
        }
    }
    for r in batch.replies {
        let id = r.id;
        if id == 0 {
            sorted.refused.push((0, ReplyError::NoId));
        } else if id > issued {
            sorted.refused.push((id, ReplyError::UnknownId(id)));
        } else if twice.contains(&id) {
            // Every copy is refused: which one the extension meant cannot be known.
            if !sorted.refused.iter().any(|(i, _)| *i == id) {
                sorted.refused.push((id, ReplyError::Twice(id)));
            }
        } else {
            sorted.accepted.push(r);
        }
    }
    sorted
}

/// The verdict a reply gives for `event`.
pub(crate) fn verdict(event: &Event, reply: pb::Reply) -> Result<Verdict, ReplyError> {
    let point = event.point();
    let stop = match pb::Outcome::try_from(reply.outcome) {
        Ok(pb::Outcome::Ignore) => return Ok(Verdict::Ignore),
        Ok(pb::Outcome::Fail) => {
            // A peer's text goes to the log: keep it short.
            return Err(ReplyError::Failed(reply.error.chars().take(512).collect()));
        }
        Ok(pb::Outcome::Continue) => false,
        Ok(pb::Outcome::Stop) => true,
        Err(_) => return Err(ReplyError::Outcome(reply.outcome)),
    };
    let outcome = if stop { "STOP" } else { "CONTINUE" };
    let wrong = |got| ReplyError::Value {
        outcome,
        got,
        point,
    };
    let value = match (event, reply.value) {
        (Event::ClientAuthenticate { .. }, Some(V::Auth(a))) => Value::Auth(auth(a)?),
        (Event::ClientAuthenticate { .. } | Event::ClientAuthorize { .. }, Some(V::Allow(b))) => {
            Value::Allow(b)
        }
        (Event::MessagePublish { message }, Some(V::Message(edit))) => edited(message, edit)?,
        (Event::MessagePublish { .. }, Some(V::Drop(_))) => Value::Drop,
        (Event::MessagePublish { .. }, Some(V::Consume(_))) => Value::Consume,
        (Event::MessagePublish { message }, Some(V::Hold(h))) => match h.message {
            None => Value::Hold(None),
            Some(edit) => match edited(message, edit)? {
                Value::Message(m) => Value::Hold(Some(m)),
                other => other,
            },
        },
        (Event::ClientSubscribe { filters, .. }, Some(V::Filters(f))) => {
            Value::Filters(crate::rights_reply::filters(f, filters)?)
        }
        (Event::ClientEnhancedAuthenticate { .. }, Some(V::EnhancedAuth(a))) => {
            Value::EnhancedAuth(enhanced(a)?)
        }
        (Event::ClientEnhancedAuthenticate { .. }, Some(V::Allow(b))) => Value::Allow(b),
        // Notifications take no value: their answers are ignored whatever they say.
        (e, _) if e.point().kind() == hookmq_hooks::PointKind::Notification => {
            return Ok(Verdict::Ignore);
        }
        (_, None) => return Err(wrong("no value")),
        (_, Some(V::Auth(_))) => return Err(wrong("auth")),
        (_, Some(V::Allow(_))) => return Err(wrong("allow")),
        (_, Some(V::Message(_))) => return Err(wrong("message")),
        (_, Some(V::Drop(_))) => return Err(wrong("drop")),
        (_, Some(V::Consume(_))) => return Err(wrong("consume")),
        (_, Some(V::Hold(_))) => return Err(wrong("hold")),
        (_, Some(V::Filters(_))) => return Err(wrong("filters")),
        (_, Some(V::EnhancedAuth(_))) => return Err(wrong("enhanced_auth")),
    };
    Ok(if stop {
        Verdict::Stop(value)
    } else {
        Verdict::Continue(value)
    })
}

/// An `AuthResult` value: a refusal carries a code CONNACK may carry (MQTT 5 §3.2.2.2: 0x86
/// bad credentials, 0x87 not authorized, 0x88 server unavailable, 0x8A banned, ...; 0 means
/// 0x87); 3.x clients get the return-code mapping (4, 5, or 3 for the rest).
fn auth(a: pb::AuthResult) -> Result<AuthResult, ReplyError> {
    if a.allow {
        return Ok(AuthResult::Allow {
            superuser: a.superuser,
        });
    }
    match a.reason_code {
        0 => Ok(AuthResult::Deny(ReasonCode::NOT_AUTHORIZED)),
        other => u8::try_from(other)
            .ok()
            .map(ReasonCode)
            .and_then(|code| hookmq_hooks::connack_refusal(code).ok())
            .map(AuthResult::Deny)
            .ok_or_else(|| {
                ReplyError::Invalid(format!(
                    "refusal reason code {other:#04x} is not one CONNACK can carry"
                ))
            }),
    }
}

/// An `EnhancedAuth` value. A refusal must be a code CONNACK can carry (MQTT 5 §3.2.2.2, 0x80
/// or above; 0 means 0x87); an answer without any of the three is a bad reply.
fn enhanced(a: pb::EnhancedAuth) -> Result<EnhancedAuth, ReplyError> {
    use pb::enhanced_auth::Answer;
    match a.answer {
        Some(Answer::ContinueAuth(c)) => Ok(EnhancedAuth::Continue {
            data: c.data,
            state: c.state,
        }),
        Some(Answer::Success(s)) => Ok(EnhancedAuth::Success {
            data: s.data,
            grant: Grant {
                superuser: s.superuser,
                expire_at_ms: (s.expire_at_ms != 0).then_some(s.expire_at_ms),
                ..Grant::default()
            },
        }),
        Some(Answer::Failure(f)) => {
            let code = match f.reason_code {
                0 => ReasonCode::NOT_AUTHORIZED,
                c => u8::try_from(c)
                    .ok()
                    .map(ReasonCode)
                    .filter(|r| !r.is_success() && r.allowed_in(PacketType::ConnAck))
                    .ok_or_else(|| {
                        ReplyError::Invalid(format!(
                            "refusal reason code {c:#04x} is not one CONNACK can carry"
                        ))
                    })?,
            };
            Ok(EnhancedAuth::Failure {
                reason: code,
                // A peer's text goes to a client: keep it short.
                reason_string: f
                    .reason_string
                    .map(|t| ByteString::from(t.chars().take(256).collect::<String>())),
            })
        }
        None => Err(ReplyError::Invalid(
            "enhanced_auth without continue_auth, success or failure".into(),
        )),
    }
}

/// Applies a `MessageEdit`: fields set replace the message's, the rest is kept. A topic must be
/// a topic name ([MQTT-3.3.2-2]: no wildcards), QoS 0, 1 or 2, and properties those a message
/// carries ([`crate::rights_reply::message_properties`]).
fn edited(original: &Arc<Message>, edit: pb::MessageEdit) -> Result<Value, ReplyError> {
    let qos = match edit.qos {
        None => None,
        Some(q) => Some(
            u8::try_from(q)
                .ok()
                .and_then(QoS::from_u8)
                .ok_or_else(|| ReplyError::Invalid(format!("qos {q} is not 0, 1 or 2")))?,
        ),
    };
    let topic = match edit.topic {
        Some(t) if t != original.topic.as_str() => {
            Some(TopicName::new(t.clone()).map_err(|e| {
                ReplyError::Invalid(format!("topic {t:?} is not a topic name: {e}"))
            })?)
        }
        _ => None,
    };
    let payload = edit.payload.filter(|p| *p != original.payload);
    let qos = qos.filter(|q| *q != original.qos);
    let retain = edit.retain.filter(|r| *r != original.retain);
    let properties = edit
        .properties
        .map(crate::rights_reply::message_properties)
        .transpose()?;
    if topic.is_none()
        && payload.is_none()
        && qos.is_none()
        && retain.is_none()
        && properties.is_none()
    {
        return Ok(Value::Message(original.clone()));
    }
    let mut message = Message::clone(original);
    if let Some(t) = topic {
        message.topic = t;
    }
    if let Some(p) = payload {
        message.payload = p;
    }
    if let Some(q) = qos {
        message.qos = q;
    }
    if let Some(r) = retain {
        message.retain = r;
    }
    if let Some(p) = properties {
        message.properties = p;
        crate::rights_reply::check(&message)?;
    }
    Ok(Value::Message(Arc::new(message)))
}
