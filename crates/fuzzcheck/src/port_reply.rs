//! The `port_reply` target: what the port drivers make of a worker's answers. The input is one
//! frame's payload; the term it holds, and the result of an `{'r', Id, Result}` reply, go
//! through `hookmq_port::verdict::verdict` at every hook point and through
//! `hookmq_port::spec::parse_init`; an error reply goes through `error_text` and `summary`.
//!
//! The verdict is checked against the table in `crates/port/src/verdict.rs`:
//! - `ok` / `undefined` is no decision; `(1, Reason)` is a failed call; anything else that is
//!   not `(0, Value)` is no decision at a notification point and a bad reply at a valued one;
//! - `(0, Value)` at `client_authenticate` / `client_check_acl`: a boolean is the decision,
//!   anything else a bad reply; at `message_publish`: `false` drops, `true` is no decision, and a
//!   message proplist or map rewrites the message, which only takes topic, payload and QoS from
//!   the answer: a topic that is not a valid topic name or a QoS other than 0, 1, 2 is a bad reply.
//!
//! - `client_subscribe` is also read against an event, as the driver does: `(0, [..])` gives one
//!   filter per filter of the SUBSCRIBE (refusals ≥ 0x80) or is a bad reply.
//!
//! A parsed `init()` answer keeps the exact bytes of its state, names each hook point once, and
//! only carries valid topic filters, only on message points.

use std::collections::HashSet;
use std::sync::Arc;

use bytes::Bytes;
use hookmq_codec::{PacketType, Properties, SubscriptionOptions, TopicFilter, topic};
use hookmq_hooks::{EnhancedAuth, Event, HookError, HookPoint, Message, PointKind, Value, Verdict};
use hookmq_port::etf::{self, RawTerm, Term};
use hookmq_port::message::Incoming;
use hookmq_port::spec::parse_init;
use hookmq_port::verdict::{error_text, event_verdict, shown, summary, verdict};

/// Checks one input (see the module documentation).
pub fn check(data: &[u8]) {
    let payload = Bytes::copy_from_slice(data);
    if let Ok(term) = etf::decode(&payload) {
        check_verdicts(&term);
        if let Ok(raw) = RawTerm::new(payload.slice(1..)) {
            check_init(&term, &raw);
        }
    }
    match Incoming::decode(&payload) {
        Ok(Incoming::Result { result, raw, .. }) => {
            check_verdicts(&result);
            check_init(&result, &raw);
        }
        Ok(Incoming::Error { error, .. } | Incoming::ErrorNoId(error)) => {
            let _ = summary(&error_text(&error));
        }
        Ok(Incoming::Call {
            module,
            function,
            args,
            ..
        }) if module.as_atom() == Some("hookmq") => check_service_call(&function, &args),
        _ => {}
    }
}

/// A worker's service call decodes to a known service (keeping the hop count given) or to a
/// typed error answered as `{hookmq, Code, Message, []}`; never a panic.
fn check_service_call(function: &Term, args: &Term) {
    use hookmq_hooks::{SERVICE_NAMES, ServiceCall};
    use hookmq_port::fuzzing::{service_call, service_error};
    match service_call(function, args, 5) {
        Ok(call) => {
            assert!(
                SERVICE_NAMES.contains(&call.name()),
                "unknown service {}",
                call.name()
            );
            if let ServiceCall::Publish(req) = &call {
                assert_eq!(req.parent_hops, 5, "the hop count in flight was not kept");
            }
        }
        Err(e) => {
            let term = service_error(&e);
            let Some([module, code, _, _]) = term.as_tuple() else {
                panic!("a service error is not a 4-tuple: {term:?}");
            };
            assert_eq!(module.as_atom(), Some("hookmq"));
            assert_eq!(code.as_atom(), Some(e.code()));
        }
    }
}

/// Longest `shown` text: the cut plus the ellipsis.
const SHOWN_MAX: usize = 300 + 3;

fn check_verdicts(result: &Term) {
    assert!(shown(result).len() <= SHOWN_MAX, "shown() is not cut");
    let original = Arc::new(crate::exhook::original_message());
    for point in HookPoint::ALL {
        let message = point.is_message().then_some(&original);
        let got = verdict(point, result, message);
        check_verdict(point, result, &original, got);
    }
    check_subscribe_answer(result);
}

/// `client_subscribe` read against an event (modify rights): `(0, [..])` gives one filter per
/// filter of the SUBSCRIBE or is a bad reply; anything else is what `verdict` says.
fn check_subscribe_answer(result: &Term) {
    let [Event::ClientAuthenticate { clientinfo, .. }, ..] = crate::exhook::events() else {
        return;
    };
    let asked: Vec<_> = ["a/b", "$share/g/c/#"]
        .into_iter()
        .filter_map(|f| TopicFilter::new(f).ok())
        .map(|f| (f, SubscriptionOptions::default()))
        .collect();
    let event = Event::ClientSubscribe {
        clientinfo,
        props: Properties::default(),
        filters: asked.clone(),
    };
    match event_verdict(&event, result) {
        Ok(Verdict::Stop(Value::Filters(f))) => {
            assert_eq!(f.len(), asked.len(), "{result}");
            for r in f {
                assert!(r.refused.is_none_or(|c| c.0 >= 0x80), "{result}: {r:?}");
            }
        }
        Err(HookError::BadReply(_)) => {}
        got => assert_eq!(
            got,
            verdict(HookPoint::ClientSubscribe, result, None),
            "{result}"
        ),
    }
}

fn check_verdict(
    point: HookPoint,
    result: &Term,
    original: &Arc<Message>,
    got: Result<Verdict, HookError>,
) {
    // `client.subscribe` is valued but, as in EMQX's port SDKs, only `(0, Filters)` and
    // `(1, Reason)` mean something there; any other answer is no opinion.
    let valued = point.kind() == PointKind::Valued && point != HookPoint::ClientSubscribe;
    if matches!(result.as_atom(), Some("ok" | "undefined")) {
        assert_eq!(got, Ok(Verdict::Ignore), "{point}: {result}");
        return;
    }
    let value = match result.as_tuple() {
        Some([code, value]) if code.as_int() == Some(0) => value,
        Some([code, _]) if code.as_int() == Some(1) => {
            assert!(
                matches!(got, Err(HookError::Failed(_))),
                "{point}: {result} gave {got:?}"
            );
            return;
        }
        _ if valued => {
            assert!(
                matches!(got, Err(HookError::BadReply(_))),
                "{point}: {result} gave {got:?}"
            );
            return;
        }
        _ => {
            assert_eq!(got, Ok(Verdict::Ignore), "{point}: {result}");
            return;
        }
    };
    match point {
        HookPoint::ClientAuthenticate | HookPoint::ClientAuthorize => match value.as_bool() {
            Some(b) => assert_eq!(got, Ok(Verdict::Stop(Value::Allow(b))), "{result}"),
            None => assert!(
                matches!(got, Err(HookError::BadReply(_))),
                "{result}: {got:?}"
            ),
        },
        HookPoint::MessagePublish if value.as_text().as_deref() == Some("consume") => {
            assert_eq!(got, Ok(Verdict::Stop(Value::Consume)), "{result}")
        }
        HookPoint::MessagePublish if value.as_text().as_deref() == Some("hold") => {
            assert_eq!(got, Ok(Verdict::Stop(Value::Hold(None))), "{result}")
        }
        HookPoint::MessagePublish
            if let Some([tag, message]) = value.as_tuple()
                && tag.as_text().as_deref() == Some("hold") =>
        {
            // A held rewrite is read like a plain one.
            let got = got.map(|v| match v {
                Verdict::Stop(Value::Hold(Some(m))) => Verdict::Stop(Value::Message(m)),
                other => other,
            });
            check_rewrite(message, original, got)
        }
        HookPoint::MessagePublish => match value.as_bool() {
            Some(false) => assert_eq!(got, Ok(Verdict::Stop(Value::Drop)), "{result}"),
            Some(true) => assert_eq!(got, Ok(Verdict::Ignore), "{result}"),
            None => check_rewrite(value, original, got),
        },
        // A bool, or one of the enhanced-auth answers; a refusal code always one CONNACK can
        // carry, so no client sees an invalid packet.
        HookPoint::ClientEnhancedAuthenticate => match (value.as_bool(), got) {
            (Some(b), got) => assert_eq!(got, Ok(Verdict::Stop(Value::Allow(b))), "{result}"),
            (
                None,
                Ok(Verdict::Stop(Value::EnhancedAuth(EnhancedAuth::Failure { reason, .. }))),
            ) => {
                assert!(
                    !reason.is_success() && reason.allowed_in(PacketType::ConnAck),
                    "{result}: refusal code {reason}"
                );
            }
            (None, Ok(Verdict::Stop(Value::EnhancedAuth(_))) | Err(HookError::BadReply(_))) => {}
            (None, got) => panic!("{result}: {got:?}"),
        },
        _ => assert_eq!(got, Ok(Verdict::Ignore), "{point}: {result}"),
    }
}

/// A returned message: invalid topics and QoS refused, only topic, payload, QoS taken.
fn check_rewrite(value: &Term, original: &Arc<Message>, got: Result<Verdict, HookError>) {
    let pairs: Vec<(&Term, &Term)> = match (value.as_list(), value.as_map()) {
        (Some(items), _) => items
            .iter()
            .filter_map(|i| match i.as_tuple() {
                Some([k, v]) => Some((k, v)),
                _ => None,
            })
            .collect(),
        (None, Some(entries)) => entries.iter().map(|(k, v)| (k, v)).collect(),
        (None, None) => Vec::new(),
    };
    let key = |k: &Term, name: &str| k.as_text().as_deref() == Some(name);
    let bad_topic = pairs
        .iter()
        .any(|(k, v)| key(k, "topic") && text(v).is_none_or(|t| topic::validate_name(&t).is_err()));
    let bad_qos = pairs
        .iter()
        .any(|(k, v)| key(k, "qos") && !matches!(v.as_int(), Some(0..=2)));
    let m = match &got {
        Ok(Verdict::Stop(Value::Message(m))) => m,
        Ok(other) => panic!("a message answer {value} gave {other:?}"),
        Err(HookError::BadReply(_)) => return,
        Err(other) => panic!("a message answer {value} gave {other}"),
    };
    assert!(
        !bad_topic,
        "an invalid topic was taken: {value} gave {}",
        m.topic
    );
    assert!(
        !bad_qos,
        "an invalid qos was taken: {value} gave {:?}",
        m.qos
    );
    if pairs
        .iter()
        .any(|(k, _)| key(k, "retain") || key(k, "properties"))
    {
        // Modify rights (issue 13): whatever was taken is something a message may carry.
        assert!(hookmq_hooks::check_message(m).is_ok() || got.is_err());
    } else {
        crate::assert_rest_kept(m, original);
    }
    if let Some((_, t)) = pairs.iter().rev().find(|(k, _)| key(k, "topic")) {
        assert_eq!(Some(m.topic.as_str().to_owned()), text(t), "{value}");
    } else {
        assert_eq!(m.topic, original.topic);
    }
}

/// Text as the driver reads a topic: UTF-8 binaries and charlists.
fn text(value: &Term) -> Option<String> {
    match value {
        Term::Binary(b) => std::str::from_utf8(b).ok().map(str::to_owned),
        Term::Atom(_) => None,
        other => other.as_charlist_string(),
    }
}

fn check_init(result: &Term, raw: &RawTerm) {
    let Ok(reply) = parse_init(result, raw) else {
        return;
    };
    let state = raw.element(1).and_then(|body| body.element(1));
    assert_eq!(
        state.as_ref(),
        Ok(&reply.state),
        "the state is not kept byte for byte"
    );
    let mut seen = HashSet::new();
    for spec in &reply.points {
        assert!(seen.insert(spec.point), "{} registered twice", spec.point);
        assert!(
            reply.targets[spec.point.index()].is_some(),
            "{} has no target",
            spec.point
        );
        assert!(spec.point.is_message() || spec.topics.is_empty());
        for f in &spec.topics {
            assert!(
                topic::validate_filter(f).is_ok(),
                "invalid filter {f:?} accepted"
            );
        }
    }
    let targets = reply.targets.iter().filter(|t| t.is_some()).count();
    assert_eq!(targets, reply.points.len(), "targets and points differ");
}
