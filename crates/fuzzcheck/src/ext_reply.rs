//! The `ext_reply` target: what an extension server sends on hookmq's stream protocol. The input
//! is decoded with prost as an `ExtensionFrame`; a `ReplyBatch` goes through the stream's
//! sorting (`hookmq_ext_client::fuzzing::sort`, 16 ids issued, a limit of 8) and every accepted
//! reply through the verdict conversion for each valued point; a `Register` through the
//! registration reader.
//!
//! Checked against the documented behaviour:
//! - a batch over the limit accepts nothing and refuses every reply; otherwise an accepted id is
//!   never 0, never above the highest issued, and appears once in the batch; every reply is
//!   either accepted or refused (all copies of a repeated id count as one refusal);
//! - IGNORE is [`Verdict::Ignore`] whatever the value; FAIL is a failed call; an unknown outcome
//!   is a bad reply; CONTINUE / STOP with a value the point does not take is a bad reply;
//! - a message edit keeps every field it does not set, routes only topic names, QoS 0 to 2;
//!   an edit that changes nothing keeps the original message (no copy);
//! - a registration succeeds only with protocol version 1, known points and valid filters, and
//!   lists each point once;
//! - a `CommandBatch`'s service commands decode to a known service or a typed error (never a
//!   panic): QoS 0 to 2, a retain handling 0 to 2, a kick reason that is one byte.

use std::collections::HashMap;
use std::sync::Arc;

use hookmq_codec::{QoS, ReasonCode, topic};
use hookmq_ext_client::fuzzing::{sort, verdict};
use hookmq_ext_client::proto::v1::{self as pb, extension_frame::Kind, reply::Value as V};
use hookmq_ext_client::{ReplyError, registrations};
use hookmq_hooks::{Event, Message, Value, Verdict};
use prost::Message as _;

/// Ids issued on the stream the replies answer.
pub const ISSUED: u64 = 16;
/// The stream's `max_batch`.
pub const LIMIT: usize = 8;

/// Checks one input (see the module documentation).
pub fn check(data: &[u8]) {
    let Ok(frame) = pb::ExtensionFrame::decode(data) else {
        return;
    };
    match frame.kind {
        Some(Kind::Replies(batch)) => check_batch(batch),
        Some(Kind::Register(r)) => check_register(&r),
        Some(Kind::Commands(batch)) => check_commands(batch),
        None => {}
    }
}

fn check_commands(batch: pb::CommandBatch) {
    use hookmq_hooks::{SERVICE_NAMES, ServiceCall};
    for cmd in batch.commands {
        let Some(call) = cmd.call else { continue };
        match hookmq_ext_client::fuzzing::command(call) {
            Ok(call) => {
                assert!(
                    SERVICE_NAMES.contains(&call.name()),
                    "unknown service {}",
                    call.name()
                );
                if let ServiceCall::Subscribe { options, .. } = &call {
                    assert!(options.qos.as_u8() <= 2);
                }
            }
            Err(e) => assert!(!e.code().is_empty()),
        }
    }
}

fn check_batch(batch: pb::ReplyBatch) {
    let n = batch.replies.len();
    let mut counts: HashMap<u64, usize> = HashMap::new();
    for r in &batch.replies {
        *counts.entry(r.id).or_default() += 1;
    }
    let sorted = sort(batch, ISSUED, LIMIT);
    if n > LIMIT {
        assert!(
            sorted.accepted.is_empty(),
            "an oversized batch accepted replies"
        );
        assert_eq!(sorted.refused.len(), n);
        return;
    }
    for r in &sorted.accepted {
        assert!(r.id != 0 && r.id <= ISSUED, "accepted id {}", r.id);
        assert_eq!(counts[&r.id], 1, "accepted a repeated id {}", r.id);
    }
    let twice = counts
        .iter()
        .filter(|(id, c)| **id != 0 && **id <= ISSUED && **c > 1);
    let expected_refused = n - sorted.accepted.len() - twice.map(|(_, c)| c - 1).sum::<usize>();
    assert_eq!(
        sorted.refused.len(),
        expected_refused,
        "replies lost in sorting"
    );
    for reply in sorted.accepted {
        for event in crate::exhook::events() {
            check_verdict(&event, reply.clone());
        }
    }
}

fn check_verdict(event: &Event, reply: pb::Reply) {
    let got = verdict(event, reply.clone());
    let wrap = |v| {
        if reply.outcome == pb::Outcome::Stop as i32 {
            Verdict::Stop(v)
        } else {
            Verdict::Continue(v)
        }
    };
    match pb::Outcome::try_from(reply.outcome) {
        Ok(pb::Outcome::Ignore) => return assert_eq!(got, Ok(Verdict::Ignore)),
        Ok(pb::Outcome::Fail) => return assert!(matches!(got, Err(ReplyError::Failed(_)))),
        Err(_) => return assert!(matches!(got, Err(ReplyError::Outcome(_)))),
        Ok(_) => {}
    }
    match (event, &reply.value) {
        (Event::ClientAuthenticate { .. } | Event::ClientAuthorize { .. }, Some(V::Allow(b))) => {
            assert_eq!(got, Ok(wrap(Value::Allow(*b))));
        }
        (Event::ClientAuthenticate { .. }, Some(V::Auth(a))) => {
            let fits = a.allow
                || a.reason_code == 0
                || u8::try_from(a.reason_code)
                    .is_ok_and(|c| hookmq_hooks::connack_refusal(ReasonCode(c)).is_ok());
            assert_eq!(got.is_ok(), fits, "{a:?} gave {got:?}");
        }
        (Event::MessagePublish { .. }, Some(V::Drop(_))) => assert_eq!(got, Ok(wrap(Value::Drop))),
        (Event::MessagePublish { .. }, Some(V::Consume(_))) => {
            assert_eq!(got, Ok(wrap(Value::Consume)))
        }
        (Event::MessagePublish { .. }, Some(V::Hold(pb::Hold { message: None }))) => {
            assert_eq!(got, Ok(wrap(Value::Hold(None))))
        }
        (
            Event::MessagePublish { message },
            Some(V::Hold(pb::Hold {
                message: Some(edit),
            })),
        ) => {
            // A held edit is read like a plain one.
            let got = got.map(|v| match v {
                Verdict::Stop(Value::Hold(Some(m))) => Verdict::Stop(Value::Message(m)),
                Verdict::Continue(Value::Hold(Some(m))) => Verdict::Continue(Value::Message(m)),
                other => other,
            });
            check_edit(message, edit, got, wrap)
        }
        (Event::MessagePublish { message }, Some(V::Message(edit))) => {
            check_edit(message, edit, got, wrap)
        }
        _ => assert!(
            matches!(got, Err(ReplyError::Value { .. })),
            "a value that does not fit gave {got:?}"
        ),
    }
}

fn check_edit(
    original: &Arc<Message>,
    edit: &pb::MessageEdit,
    got: Result<Verdict, ReplyError>,
    wrap: impl Fn(Value) -> Verdict,
) {
    let qos_ok = edit.qos.is_none_or(|q| q <= 2);
    let topic_ok = edit
        .topic
        .as_ref()
        .is_none_or(|t| t == original.topic.as_str() || topic::validate_name(t).is_ok());
    if !(qos_ok && topic_ok) {
        assert!(
            matches!(got, Err(ReplyError::Invalid(_))),
            "a bad edit was not refused: {edit:?} gave {got:?}"
        );
        return;
    }
    if edit.retain.is_some() || edit.properties.is_some() {
        // Modify rights (issue 13): the retain flag as asked, and only properties a message
        // may carry, or a refusal.
        match &got {
            Ok(Verdict::Continue(Value::Message(m)) | Verdict::Stop(Value::Message(m))) => {
                assert_eq!(m.retain, edit.retain.unwrap_or(original.retain));
                assert_eq!(hookmq_hooks::check_message(m), Ok(()), "{edit:?}");
            }
            Err(ReplyError::Invalid(_)) => {}
            other => panic!("an edit with rights gave {other:?}: {edit:?}"),
        }
        return;
    }
    let Ok(Verdict::Continue(Value::Message(m)) | Verdict::Stop(Value::Message(m))) = &got else {
        panic!("a valid edit gave {got:?}: {edit:?}");
    };
    assert_eq!(got, Ok(wrap(Value::Message(m.clone()))));
    let topic = edit.topic.as_deref().unwrap_or(original.topic.as_str());
    let payload = edit
        .payload
        .clone()
        .unwrap_or_else(|| original.payload.clone());
    let qos = edit
        .qos
        .and_then(|q| QoS::from_u8(q as u8))
        .unwrap_or(original.qos);
    assert_eq!(
        (m.topic.as_str(), &m.payload, m.qos),
        (topic, &payload, qos)
    );
    if (topic, &payload, qos) == (original.topic.as_str(), &original.payload, original.qos) {
        assert!(
            Arc::ptr_eq(m, original),
            "an edit that changes nothing copied the message"
        );
    }
    crate::assert_rest_kept(m, original);
}

fn check_register(r: &pb::Register) {
    let Ok(regs) = registrations(r) else {
        return;
    };
    assert_eq!(r.protocol_version, 1);
    for (i, reg) in regs.iter().enumerate() {
        assert!(
            regs[..i].iter().all(|o| o.spec.point != reg.spec.point),
            "{} listed twice",
            reg.spec.point
        );
        assert!(
            reg.spec
                .topics
                .iter()
                .all(|t| topic::validate_filter(t).is_ok())
        );
        assert!(reg.spec.point.is_message() || reg.spec.topics.is_empty());
    }
}
